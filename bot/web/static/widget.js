/* Newsbot chat widget: one <script> tag puts a launcher button and a chat panel on any page.
 *
 *   <script src="http://BOT/widget.js" data-bot-url="http://BOT" data-title="Ask the news"
 *           data-position="bottom-right" data-primary-color="#4f46e5" data-api-key="..."
 *           data-greeting="Hi! Ask me about the news." async></script>
 *
 * Plain JavaScript, no build step, no external resources. Everything lives in a Shadow DOM, so the
 * host page's CSS does not reach in and ours does not leak out. All text (answers, article titles,
 * passages) is inserted with textContent / createTextNode, never as HTML.
 * data-mode="embed" shows the panel always open and full size (used by /embed in an iframe).
 */
(function () {
  "use strict";

  var script = document.currentScript || (function () {
    var found = document.querySelectorAll('script[src*="widget.js"]');
    return found[found.length - 1] || null;
  })();
  var data = (script && script.dataset) || {};
  var scriptOrigin = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  var botUrl = (data.botUrl || scriptOrigin).replace(/\/+$/, "");
  var embed = data.mode === "embed";
  var instanceKey = "__newsbotWidget:" + botUrl;
  if (window[instanceKey]) return; // the tag was included twice
  window[instanceKey] = true;

  var config = {
    title: data.title || "Ask the news",
    subtitle: data.subtitle || "Answers from the news articles, with sources",
    greeting: data.greeting ||
      "Hi! Ask me a question about the news articles. I answer only from them and show the sentence each answer comes from.",
    position: data.position === "bottom-left" ? "bottom-left" : "bottom-right",
    primary: safeColor(data.primaryColor) || "#4f46e5",
    apiKey: data.apiKey || "",
    historyTurns: 6
  };
  // The conversation kept for the browser session, per chat as the reader sees it: the same launcher on every page
  // of a site goes on with it, while an /embed page (always open) or a chat under another title has its own.
  var storeKey = "newsbot-widget:" + botUrl + (embed ? ":embed:" : ":launcher:") + config.title;
  var ICONS = {
    chat: "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01z",
    up: "M1 21h4V9H1v12zm22-11c0-1.1-.9-2-2-2h-6.31l.95-4.57.03-.32c0-.41-.17-.79-.44-1.06L14.17 1 7.59 7.59C7.22 7.95 7 8.45 7 9v10c0 1.1.9 2 2 2h9c.83 0 1.54-.5 1.84-1.22l3.02-7.05c.09-.23.14-.47.14-.73v-2z",
    down: "M15 3H6c-.83 0-1.54.5-1.84 1.22l-3.02 7.05c-.09.23-.14.47-.14.73v2c0 1.1.9 2 2 2h6.31l-.95 4.57-.03.32c0 .41.17.79.44 1.06L9.83 23l6.59-6.59c.36-.36.58-.86.58-1.41V5c0-1.1-.9-2-2-2zm4 0v12h4V3h-4z"
  };


  var STYLES = [
    ":host { all: initial; }",
    ".root { --nb-primary: #4f46e5; --nb-on-primary: #fff;",
    "  --nb-soft: color-mix(in srgb, var(--nb-primary) 10%, #fff);",
    "  --nb-border: #e5e7eb; --nb-text: #1f2937; --nb-muted: #6b7280;",
    "  font: 400 15px/1.55 system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif;",
    "  color: var(--nb-text); letter-spacing: normal; text-align: left; text-transform: none; }",
    ".root *, .root *::before, .root *::after { box-sizing: border-box; font: inherit; color: inherit;",
    "  letter-spacing: inherit; text-transform: none; }",
    "button, textarea { margin: 0; }",
    ".launcher { position: fixed; bottom: 20px; z-index: 2147483000; width: 56px; height: 56px; border: 0;",
    "  border-radius: 50%; background: var(--nb-primary); color: var(--nb-on-primary); cursor: pointer;",
    "  display: grid; place-items: center; box-shadow: 0 6px 20px rgba(0,0,0,.22); padding: 0; }",
    ".launcher:hover { filter: brightness(1.08); }",
    ".launcher:focus-visible, .root button:focus-visible, .root summary:focus-visible {",
    "  outline: 3px solid color-mix(in srgb, var(--nb-primary) 45%, #fff); outline-offset: 2px; }",
    ".launcher svg { width: 26px; height: 26px; fill: currentColor; }",
    ".pos-right .launcher { right: 20px; } .pos-left .launcher { left: 20px; }",
    ".panel { position: fixed; bottom: 88px; z-index: 2147483001; width: min(420px, calc(100vw - 40px));",
    "  height: min(620px, calc(100vh - 108px)); display: flex; flex-direction: column; background: #fff;",
    "  border: 1px solid var(--nb-border); border-radius: 16px; overflow: hidden;",
    // Clipped, not a scroll container: bringing a passage into view (scrollIntoView, a screen reader) scrolls only
    // the log, never the panel, whose header would be scrolled out of reach.
    "  overflow: clip;",
    "  box-shadow: 0 18px 50px rgba(0,0,0,.18), 0 2px 6px rgba(0,0,0,.08); }",
    ".panel[hidden] { display: none; }",
    ".pos-right .panel { right: 20px; } .pos-left .panel { left: 20px; }",
    ".embed .panel { inset: 0; width: auto; height: auto; border: 0; border-radius: 0; box-shadow: none; }",
    ".head { display: flex; align-items: center; gap: 8px; padding: 12px 12px 12px 16px;",
    "  background: var(--nb-primary); color: var(--nb-on-primary); }",
    ".head-text { flex: 1; min-width: 0; }",
    ".title { margin: 0; font-size: 16px; font-weight: 650; line-height: 1.3; }",
    ".subtitle { margin: 1px 0 0; font-size: 12.5px; opacity: .85; }",
    ".head button { border: 0; background: transparent; color: inherit; cursor: pointer; border-radius: 8px;",
    "  padding: 6px 8px; font-size: 13px; line-height: 1; }",
    ".head button:hover { background: rgba(255,255,255,.18); }",
    // A touch target of at least 44x44 px.
    ".head .close { min-width: 44px; min-height: 44px; margin: -8px -6px -8px 0; font-size: 24px; padding: 0; }",
    ".log { flex: 1; overflow-y: auto; padding: 14px 14px 6px; background: #fafafa; scroll-behavior: smooth; }",
    ".msg { margin: 0 0 12px; max-width: 92%; padding: 9px 12px; border-radius: 14px; white-space: pre-wrap;",
    "  overflow-wrap: anywhere; }",
    ".user { margin-left: auto; width: fit-content; background: var(--nb-primary); color: var(--nb-on-primary);",
    "  border-bottom-right-radius: 4px; }",
    ".bot { background: #fff; border: 1px solid var(--nb-border); border-bottom-left-radius: 4px; }",
    ".greeting { color: var(--nb-text); }",
    ".pending { color: var(--nb-muted); }",
    ".caret { display: inline-block; width: 7px; height: 1em; margin-left: 2px; vertical-align: text-bottom;",
    "  background: currentColor; opacity: .35; animation: nb-blink 1s steps(2) infinite; }",
    "@keyframes nb-blink { 50% { opacity: 0; } }",
    ".abstain { background: transparent; border: 1px dashed #cbd5e1; color: var(--nb-muted); }",
    ".abstain .text { font-style: italic; }",
    ".hint { margin-top: 4px; font-size: 13px; }",
    ".list { margin: 4px 0; padding-left: 20px; white-space: normal; list-style: disc; }",
    ".list li { margin: 2px 0; }",
    ".badge { display: inline-block; margin-bottom: 4px; padding: 1px 8px; border-radius: 999px;",
    "  border: 1px solid #cbd5e1; font-size: 11px; font-weight: 650; letter-spacing: .04em; text-transform: uppercase;",
    "  font-style: normal; }",
    ".error { background: #fef2f2; border: 1px solid #fecaca; color: #991b1b; }",
    ".cite { display: inline-block; min-width: 20px; margin: 0 1px; padding: 0 5px; border: 0; border-radius: 6px;",
    "  background: var(--nb-soft); color: var(--nb-primary); font-size: 11.5px; font-weight: 700; line-height: 18px;",
    "  vertical-align: 2px; cursor: pointer; }",
    ".cite:hover { background: var(--nb-primary); color: var(--nb-on-primary); }",
    ".sources { margin-top: 8px; white-space: normal; }",
    ".sources-label { margin: 6px 0 4px; font-size: 11px; font-weight: 700; letter-spacing: .06em;",
    "  text-transform: uppercase; color: var(--nb-muted); }",
    "details { margin: 6px 0 0; border: 1px solid var(--nb-border); border-radius: 10px; background: #fff; }",
    "details.flash { animation: nb-flash 1.4s ease-out; }",
    "@keyframes nb-flash { from { box-shadow: 0 0 0 3px color-mix(in srgb, var(--nb-primary) 55%, #fff); } to { box-shadow: none; } }",
    "summary { display: flex; gap: 8px; padding: 8px 10px; cursor: pointer; list-style: none; border-radius: 10px; }",
    "summary::-webkit-details-marker { display: none; }",
    ".n { flex: none; display: grid; place-items: center; width: 22px; height: 22px; border-radius: 50%;",
    "  background: var(--nb-soft); color: var(--nb-primary); font-size: 12px; font-weight: 700; }",
    ".src-head { min-width: 0; flex: 1; }",
    ".src-title { display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 2; overflow: hidden;",
    "  font-weight: 650; font-size: 13.5px; line-height: 1.35; }",
    "details[open] .src-title { display: block; }",
    ".src-meta { display: block; margin-top: 1px; font-size: 12px; color: var(--nb-muted); overflow: hidden;",
    "  text-overflow: ellipsis; white-space: nowrap; }",
    ".src-quote { display: block; margin-top: 5px; font-size: 13px; line-height: 1.45; }",
    "details[open] .src-quote { display: none; }",
    ".more { display: block; margin-top: 4px; font-size: 12px; color: var(--nb-primary); }",
    "details[open] .more { display: none; }",
    ".passage { margin: 0; padding: 0 12px 10px 40px; font-size: 13px; line-height: 1.6; white-space: pre-wrap;",
    "  max-height: 240px; overflow-y: auto; color: #374151; }",
    "mark { background: #fde68a; color: inherit; border-radius: 3px; padding: 0 2px; }",
    ".rate { display: flex; gap: 4px; margin-top: 8px; white-space: normal; }",
    ".rate button { border: 1px solid var(--nb-border); background: #fff; border-radius: 999px; padding: 4px 10px;",
    "  font-size: 13px; line-height: 1.4; cursor: pointer; color: var(--nb-muted); }",
    ".rate svg { width: 14px; height: 14px; fill: currentColor; display: block; }",
    ".rate button:hover { color: var(--nb-text); }",
    ".rate button[aria-pressed='true'] { border-color: var(--nb-primary); color: var(--nb-primary); background: var(--nb-soft); }",
    ".rate .thanks { font-size: 12px; color: var(--nb-muted); align-self: center; margin-left: 4px; }",
    ".form { display: flex; gap: 8px; align-items: flex-end; padding: 10px 12px 12px; border-top: 1px solid var(--nb-border);",
    "  background: #fff; }",
    // 16px: a smaller font makes iOS Safari zoom the page into the box on focus.
    ".input { flex: 1; min-height: 40px; max-height: 120px; resize: none; padding: 8px 12px;",
    "  border: 1px solid #d1d5db; border-radius: 12px; background: #fff; color: var(--nb-text); outline: none;",
    "  font-size: 16px; line-height: 1.4; }",
    ".input:focus { border-color: var(--nb-primary); box-shadow: 0 0 0 3px color-mix(in srgb, var(--nb-primary) 20%, transparent); }",
    ".send { height: 40px; padding: 0 16px; border: 0; border-radius: 12px; background: var(--nb-primary);",
    "  color: var(--nb-on-primary); font-weight: 650; cursor: pointer; }",
    ".send:disabled { opacity: .55; cursor: default; }",
    ".sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden;",
    "  clip: rect(0,0,0,0); white-space: nowrap; border: 0; }",
    "@media (prefers-reduced-motion: reduce) { .caret, details.flash { animation: none; } .log { scroll-behavior: auto; } }"
  ].join("\n");

  // ---- small DOM helpers: text only goes in through textContent / createTextNode ----
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        if (name === "text") node.textContent = attrs[name];
        else if (name === "className") node.className = attrs[name];
        else node.setAttribute(name, attrs[name]);
      });
    }
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function safeColor(value) {
    if (!value) return null;
    return window.CSS && CSS.supports && CSS.supports("color", value) ? value : null;
  }

  function formatDate(value) {
    if (!value) return "";
    var date = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? value + "T00:00:00Z" : value);
    if (isNaN(date.getTime())) return String(value);
    return date.toLocaleDateString("en-US", { year: "numeric", month: "long", day: "numeric", timeZone: "UTC" });
  }

  function quoteSpan(citation) {
    var text = String(citation.text || "");
    var start = citation.quote_start, end = citation.quote_end;
    if (typeof start === "number" && typeof end === "number" && start >= 0 && start < end && end <= text.length) {
      return [start, end];
    }
    var quote = String(citation.quote || "").trim();
    var found = quote ? text.indexOf(quote) : -1;
    return found >= 0 ? [found, found + quote.length] : null;
  }

  // ---- state: the conversation for this browser session ----
  // `asking`: the question sent and not yet answered. A page left or reloaded before its answer came in (a link
  // followed on the site) cuts the answer off; the next page asks it again, once (`askedAgain`): a page that reloads
  // itself sooner than the answer comes shows it as not answered then, to be sent again.
  function load() {
    try {
      var saved = JSON.parse(sessionStorage.getItem(storeKey) || "{}");
      return { turns: Array.isArray(saved.turns) ? saved.turns : [], open: !!saved.open,
               asking: typeof saved.asking === "string" ? saved.asking : null, askedAgain: saved.askedAgain === true };
    } catch (e) {
      return { turns: [], open: false, asking: null, askedAgain: false };
    }
  }
  var state = load();
  function save() {
    try {
      sessionStorage.setItem(storeKey, JSON.stringify({ turns: state.turns.slice(-30), open: state.open,
                                                        asking: state.asking, askedAgain: state.askedAgain }));
    } catch (e) { /* storage full or disabled: the conversation just won't survive a reload */ }
  }
  function historyFor() {
    var history = [];
    state.turns.filter(function (t) { return t.answer; }).slice(-config.historyTurns).forEach(function (t) {
      history.push({ role: "user", content: t.question });
      history.push({ role: "assistant", content: String(t.answer.answer || "") });
    });
    return history;
  }

  // ---- build the widget ----
  var host = el("div", { id: "newsbot-widget" });
  // Inline `all: initial` outranks the host page's own rules (e.g. `* { font: 20px serif }`) on the host element.
  host.style.cssText = "all: initial !important;";
  var shadow = host.attachShadow({ mode: "open" });
  shadow.appendChild(el("style", { text: STYLES }));

  var root = el("div", { className: "root " + (config.position === "bottom-left" ? "pos-left" : "pos-right") + (embed ? " embed" : "") });
  root.style.setProperty("--nb-primary", config.primary);
  shadow.appendChild(root);

  var uid = "nb" + Math.random().toString(36).slice(2, 8);
  var launcher = el("button", {
    className: "launcher", type: "button", "aria-label": "Open chat: " + config.title,
    "aria-expanded": "false", "aria-controls": uid + "-panel", "aria-haspopup": "dialog"
  });
  launcher.appendChild(icon("chat"));

  var titleEl = el("h2", { className: "title", id: uid + "-title", text: config.title });
  var newButton = el("button", { type: "button", className: "new", "aria-label": "Start a new conversation", title: "New conversation", text: "New" });
  var closeButton = el("button", { type: "button", className: "close", "aria-label": "Close chat", title: "Close", text: "\u00d7" });
  var headChildren = [el("div", { className: "head-text" }, [titleEl, el("p", { className: "subtitle", text: config.subtitle })]), newButton];
  if (!embed) headChildren.push(closeButton);
  var log = el("div", { className: "log", role: "log", "aria-live": "polite", "aria-label": "Conversation" });
  var input = el("textarea", {
    className: "input", id: uid + "-input", rows: "1", placeholder: "Ask a question\u2026", autocomplete: "off",
    dir: "auto"
  });
  var send = el("button", { type: "submit", className: "send", text: "Ask", "aria-label": "Send question" });
  var form = el("form", { className: "form" }, [el("label", { className: "sr-only", "for": uid + "-input", text: "Your question" }), input, send]);
  var panel = el("section", {
    className: "panel", id: uid + "-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": uid + "-title"
  }, [el("header", { className: "head" }, headChildren), log, form]);

  if (!embed) root.appendChild(launcher);
  root.appendChild(panel);

  // Icons are inline SVG (no icon font, no emoji font needed on the reader's machine).
  function icon(name) {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("d", ICONS[name]);
    svg.appendChild(path);
    return svg;
  }

  // Text on the primary colour: white on dark colours, near-black on light ones.
  function readableOn(color) {
    var probe = el("span");
    probe.style.color = color;
    root.appendChild(probe);
    var rgb = (getComputedStyle(probe).color.match(/\d+(\.\d+)?/g) || [0, 0, 0]).map(Number);
    root.removeChild(probe);
    var lum = [rgb[0], rgb[1], rgb[2]].map(function (c) {
      c /= 255;
      return c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    });
    var l = 0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2];
    return l > 0.45 ? "#111827" : "#ffffff";
  }

  // ---- rendering messages ----
  function scrollDown() { log.scrollTop = log.scrollHeight; }

  function addUser(question) {
    // dir="auto": right-to-left text (Arabic, Hebrew) is set right to left; "You: " has its own dir, so the
    // question's first letter decides.
    log.appendChild(el("div", { className: "msg user", dir: "auto" },
      [el("span", { className: "sr-only", dir: "ltr", text: "You: " }), question]));
  }

  function addGreeting() {
    log.appendChild(el("div", { className: "msg bot greeting", dir: "auto", text: config.greeting }));
  }

  function renderAnswer(bubble, turn, index) {
    var answer = turn.answer;
    bubble.textContent = "";
    bubble.className = "msg bot";
    bubble.removeAttribute("dir"); // set while streaming; now each text part has its own
    if (answer.small_talk) {
      // A reply to "hi" or "thanks": nothing was looked up, so no badge and no sources.
      bubble.appendChild(textWithLists(String(answer.answer || "")));
      return;
    }
    if (answer.no_filter_match) {
      // No article passes the search filters: none was asked, so not "not in the articles", and nothing to rate.
      bubble.classList.add("abstain", "no-match");
      bubble.appendChild(el("span", { className: "badge", text: "No matching articles" }));
      bubble.appendChild(el("div", { className: "text", dir: "auto", text: String(answer.answer || "") }));
      return;
    }
    if (answer.abstained) {
      bubble.classList.add("abstain");
      bubble.appendChild(el("span", { className: "badge", text: "Not in the articles" }));
      bubble.appendChild(el("div", { className: "text", dir: "auto", text: String(answer.answer || "") }));
      // Asked without a single Latin letter (in Chinese, say): the articles, and the answers, are in English.
      if (!/[A-Za-z\u00c0-\u024f]/.test(turn.question)) {
        bubble.appendChild(el("div", { className: "hint", text: ENGLISH_HINT }));
      }
      bubble.appendChild(rating(turn));
      return;
    }
    var citations = Array.isArray(answer.citations) ? answer.citations : [];
    var byNumber = {};
    citations.forEach(function (c) { byNumber[c.n] = c; });
    var text = el("div", { className: "text", dir: "auto" });
    var source = String(answer.answer || "");
    var marker = /\[(\d+(?:\s*,\s*\d+)*)\]/g, last = 0, match;
    while ((match = marker.exec(source))) {
      var numbers = match[1].split(",").map(function (s) { return parseInt(s, 10); });
      if (!numbers.every(function (n) { return byNumber[n]; })) continue;
      text.appendChild(document.createTextNode(source.slice(last, match.index)));
      numbers.forEach(function (n) {
        var button = el("button", { type: "button", className: "cite", "aria-label": "Show source " + n, text: String(n) });
        button.addEventListener("click", function () { openCitation(index, n); });
        text.appendChild(button);
      });
      last = match.index + match[0].length;
    }
    text.appendChild(document.createTextNode(source.slice(last)));
    bubble.appendChild(text);
    if (citations.length) {
      var list = el("div", { className: "sources" }, [el("div", { className: "sources-label", text: "Sources" })]);
      citations.forEach(function (c) { list.appendChild(citationItem(c, index)); });
      bubble.appendChild(list);
    }
    bubble.appendChild(rating(turn));
  }

  // A reply's text, each run of lines starting with "- " (the list of articles) as a list; all of it as text.
  function textWithLists(source) {
    var text = el("div", { className: "text", dir: "auto" }), list = null, plain = [];
    function flush() {
      if (plain.length) text.appendChild(document.createTextNode(plain.join("\n").replace(/^\n+|\n+$/g, "")));
      plain = [];
    }
    source.replace(/\r\n/g, "\n").split("\n").forEach(function (line) {
      if (line.indexOf("- ") === 0) {
        flush();
        if (!list) list = text.appendChild(el("ul", { className: "list" }));
        list.appendChild(el("li", { text: line.slice(2) }));
      } else {
        if (list && !line.trim()) return; // the blank line after a list: the list's margin stands for it
        list = null;
        plain.push(line);
      }
    });
    flush();
    return text;
  }

  function citationItem(citation, index) {
    var span = quoteSpan(citation);
    var passageText = String(citation.text || "");
    var quote = span ? passageText.slice(span[0], span[1]) : String(citation.quote || "");
    var meta = [formatDate(citation.published), String(citation.source || "")].filter(Boolean).join(" \u00b7 ");
    var head = el("span", { className: "src-head" }, [
      el("span", { className: "src-title", dir: "auto", text: String(citation.title || "Untitled article") }),
      el("span", { className: "src-meta", text: meta, title: String(citation.source || "") })
    ]);
    if (quote) {
      head.appendChild(el("span", { className: "src-quote", dir: "auto" },
        ["\u201c", el("mark", { text: quote }), "\u201d"]));
    }
    head.appendChild(el("span", { className: "more", text: "Show the passage" }));
    var passage = el("p", { className: "passage", dir: "auto" });
    if (span) {
      passage.appendChild(document.createTextNode(passageText.slice(0, span[0])));
      passage.appendChild(el("mark", { text: passageText.slice(span[0], span[1]) }));
      passage.appendChild(document.createTextNode(passageText.slice(span[1])));
    } else {
      passage.textContent = passageText;
    }
    return el("details", { id: uid + "-src-" + index + "-" + citation.n, "data-n": String(citation.n) }, [
      el("summary", { "aria-label": "Source " + citation.n + ": " + String(citation.title || "") }, [
        el("span", { className: "n", "aria-hidden": "true", text: String(citation.n) }), head
      ]),
      passage
    ]);
  }

  function openCitation(index, n) {
    var item = shadow.getElementById(uid + "-src-" + index + "-" + n);
    if (!item) return;
    item.open = true;
    item.classList.remove("flash");
    void item.offsetWidth; // restart the highlight animation
    item.classList.add("flash");
    // The passage scrolls within its box: bring the highlighted quote into it, a little below its top edge.
    var passage = item.querySelector(".passage"), mark = passage && passage.querySelector("mark");
    if (mark) passage.scrollTop += mark.getBoundingClientRect().top - passage.getBoundingClientRect().top - 24;
    item.scrollIntoView({ block: "nearest" });
    item.querySelector("summary").focus({ preventScroll: true });
  }

  // Thumbs: the pressed one clicked again withdraws the rating, the other one replaces it. The bot hands back a
  // receipt ({id, token}) for each rating stored, kept with the turn: withdrawing or replacing the rating needs it.
  function rating(turn) {
    var row = el("div", { className: "rate" });
    var up = el("button", { type: "button", "aria-label": "Helpful answer", "aria-pressed": "false",
                            title: "Helpful" }, [icon("up")]);
    var down = el("button", { type: "button", "aria-label": "Not a helpful answer", "aria-pressed": "false",
                              title: "Not helpful" }, [icon("down")]);
    var thanks = el("span", { className: "thanks", role: "status" });
    var sending = Promise.resolve(); // one request at a time: each needs the receipt the one before got
    function show() {
      up.setAttribute("aria-pressed", String(turn.rating === "up"));
      down.setAttribute("aria-pressed", String(turn.rating === "down"));
    }
    function store(value) {
      return fetch(botUrl + "/api/feedback", {
        method: "POST", headers: headers(),
        body: JSON.stringify({ rating: value, question: turn.question, answer: turn.answer, history: turn.history || [],
                               replaces: turn.receipt || null })
      }).then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      }).then(function (receipt) {
        turn.receipt = { id: receipt.id, token: receipt.token };
        save();
        thanks.textContent = "Thanks for the feedback";
      });
    }
    function withdraw() {
      var receipt = turn.receipt;
      if (!receipt) { thanks.textContent = ""; return Promise.resolve(); }
      var url = botUrl + "/api/feedback/" + encodeURIComponent(receipt.id);
      var sent = headers();
      sent["X-Feedback-Token"] = String(receipt.token); // a header, not the URL: access logs keep URLs
      return fetch(url, { method: "DELETE", headers: sent }).then(function (r) {
        // 404: the receipt withdraws nothing (withdrawn already, or the bot restarted since): nothing is stored
        if (!r.ok && r.status !== 404) throw new Error("HTTP " + r.status);
        turn.receipt = null;
        save();
        thanks.textContent = "Feedback withdrawn";
      });
    }
    function vote(value) {
      turn.rating = turn.rating === value ? null : value;
      save();
      show();
      var wanted = turn.rating;
      sending = sending.then(function () {
        if (turn.rating !== wanted) return null; // clicked again meanwhile: the later click's request decides
        return wanted ? store(wanted) : withdraw();
      }).catch(function () {
        thanks.textContent = wanted ? "Feedback not saved" : "Feedback not withdrawn";
      });
    }
    up.addEventListener("click", function () { vote("up"); });
    down.addEventListener("click", function () { vote("down"); });
    show();
    row.appendChild(up); row.appendChild(down); row.appendChild(thanks);
    return row;
  }

  function renderError(bubble, message) {
    bubble.textContent = "";
    bubble.className = "msg error";
    bubble.removeAttribute("dir");
    bubble.setAttribute("role", "alert");
    bubble.textContent = message;
  }

  function renderAll() {
    log.textContent = "";
    addGreeting();
    state.turns.forEach(function (turn, index) {
      addUser(turn.question);
      var bubble = el("div", { className: "msg bot" });
      log.appendChild(bubble);
      if (turn.answer) renderAnswer(bubble, turn, index);
      else renderError(bubble, turn.error || "No answer.");
    });
    scrollDown();
  }

  // ---- talking to the bot ----
  function headers() {
    var h = { "Content-Type": "application/json", "Accept": "text/event-stream" };
    if (config.apiKey) h["X-API-Key"] = config.apiKey;
    return h;
  }

  function parseEvent(block) {
    var event = "message", lines = [];
    block.split("\n").forEach(function (line) {
      if (!line || line.charAt(0) === ":") return;
      var colon = line.indexOf(":");
      var field = colon < 0 ? line : line.slice(0, colon);
      var value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") lines.push(value);
    });
    return { event: event, data: lines.join("\n") };
  }

  var busy = false, controller = null;

  function ask(question, again) {
    if (busy) return;
    question = question.trim();
    if (!question) { input.focus(); return; }
    busy = true;
    send.disabled = true;
    log.setAttribute("aria-busy", "true");
    state.asking = question;
    state.askedAgain = !!again;
    save();
    var turn = { question: question, answer: null, error: null, history: historyFor() };
    addUser(question);
    var bubble = el("div", { className: "msg bot pending" }, ["Searching the articles", el("span", { className: "caret" })]);
    log.appendChild(bubble);
    scrollDown();
    var index = state.turns.length;
    controller = window.AbortController ? new AbortController() : null;

    stream(question, turn.history, bubble).then(function (answer) {
      turn.answer = answer;
      renderAnswer(bubble, turn, index);
    }, function (error) {
      if (error && error.name === "AbortError") { bubble.remove(); return; }
      turn.error = error && error.shown ? error.message : "The connection to the chatbot was lost. Please try again.";
      renderError(bubble, turn.error);
      // A question the bot refused (too long, say) goes back in the box, to be shortened there.
      if (error && error.status === 422 && !input.value) { input.value = question; autosize(); }
    }).then(function () {
      if (turn.answer || turn.error) state.turns.push(turn);
      state.asking = null; // answered, failed, or the conversation was started anew
      save();
      busy = false;
      send.disabled = false;
      log.removeAttribute("aria-busy");
      scrollDown();
    });
  }

  var NOT_AVAILABLE = "The chat is not available here.";
  var ENGLISH_HINT = "I answer questions in English, the language of the articles: please ask in English.";
  var notAnswered = "Not answered: the page reloaded while this question was being answered. Please send it again.";

  function shown(message, status) { var e = new Error(message); e.shown = true; e.status = status; return e; }

  // fetch() fails without a response both when the bot cannot be reached and when the browser withholds the
  // bot's reply because the bot does not allow this page's origin (CORS); the page is not told which. A no-cors
  // request for the widget script (which any origin may load) tells them apart.
  function notReached() {
    var site = location.origin;
    if (new URL(botUrl, location.href).origin === site) {
      return Promise.resolve(shown("Could not reach the chatbot. Please try again."));
    }
    return fetch(botUrl + "/widget.js", { mode: "no-cors", cache: "no-store" }).then(function () {
      console.warn("Newsbot widget: the chatbot at " + botUrl + " is running but does not allow this site (" + site +
        "). To allow it, add " + site + " to BOT_ALLOWED_ORIGINS on the chatbot's server and restart it.");
      return shown("The chatbot may not accept questions from this site.");
    }, function () {
      console.warn("Newsbot widget: could not reach the chatbot at " + botUrl + ". Check that it is running and " +
        "reachable from this page; if it is, add " + site + " to BOT_ALLOWED_ORIGINS on the chatbot's server.");
      return shown("Could not reach the chatbot. It may be offline, or not allowed on this site.");
    }).then(function (error) { throw error; });
  }

  function stream(question, history, bubble) {
    var body = JSON.stringify({ question: question, history: history });
    var options = { method: "POST", headers: headers(), body: body };
    if (controller) options.signal = controller.signal;
    return fetch(botUrl + "/api/ask/stream", options).then(function (response) {
      if (!response.ok) {
        return response.json().catch(function () { return {}; }).then(function (payload) {
          var detail = payload && (payload.detail || payload.message);
          var message = typeof detail === "string" ? detail : "The chatbot could not answer (HTTP " + response.status + ").";
          if (response.status === 401) {
            // The bot wants an API key (BOT_API_KEYS): the reader can do nothing about it, the page's owner can.
            console.warn("Newsbot widget: " + message + " The chatbot at " + botUrl + " requires an API key: give " +
              "the widget one with data-api-key (readers of the page can see it), or link to the chat at " + botUrl +
              "/ instead.");
            throw shown(NOT_AVAILABLE, 401);
          }
          throw shown(message, response.status);
        });
      }
      var reader = response.body.getReader(), decoder = new TextDecoder(), buffer = "", text = "", textNode = null;
      function handle(evt) {
        var payload;
        try { payload = evt.data ? JSON.parse(evt.data) : {}; } catch (e) { return null; }
        if (evt.event === "delta") {
          if (!textNode) {
            bubble.textContent = "";
            bubble.className = "msg bot streaming";
            bubble.dir = "auto";
            textNode = document.createTextNode("");
            bubble.appendChild(textNode);
            bubble.appendChild(el("span", { className: "caret" }));
          }
          text += String(payload.text || "");
          textNode.nodeValue = text;
          scrollDown();
        } else if (evt.event === "answer") {
          return { answer: payload };
        } else if (evt.event === "error") {
          throw shown(String(payload.message || "The chatbot could not answer."));
        }
        return null;
      }
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) throw shown("The answer was cut off. Please try again.");
          // CRLF split across two chunks is rejoined here before it is normalised.
          buffer = (buffer + decoder.decode(chunk.value, { stream: true })).replace(/\r\n/g, "\n");
          var cut;
          while ((cut = buffer.indexOf("\n\n")) >= 0) {
            var block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            var result = handle(parseEvent(block));
            if (result) { reader.cancel().catch(function () {}); return result.answer; }
          }
          return pump();
        });
      }
      return pump();
    }, function (error) {
      if (error && error.name === "AbortError") throw error;
      return notReached();
    });
  }

  // ---- opening, closing, keyboard ----
  function setOpen(open, focus) {
    state.open = open;
    save();
    if (embed) return;
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    launcher.setAttribute("aria-label", (open ? "Close chat: " : "Open chat: ") + config.title);
    if (focus) (open ? input : launcher).focus();
    if (open) scrollDown();
  }

  launcher.addEventListener("click", function () { setOpen(panel.hidden, true); });
  closeButton.addEventListener("click", function () { setOpen(false, true); });
  newButton.addEventListener("click", function () {
    if (controller) controller.abort();
    state.turns = [];
    state.asking = null;
    save();
    renderAll();
    input.focus();
  });
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var question = input.value;
    if (busy || !question.trim()) return;
    input.value = "";
    autosize();
    ask(question);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit", { cancelable: true }));
    }
  });
  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 120) + "px";
  }
  input.addEventListener("input", autosize);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !embed) {
      event.stopPropagation();
      setOpen(false, true);
    }
  });
  // Keys typed in the widget's text fields stay in it: leaving the Shadow DOM they would seem to come from the
  // widget's host element, not from a text field, and set off the page's single-key shortcuts ("/" to search, say).
  // Stopped at the shadow root, after the widget's own handlers (Escape above) have had them. Only those: with the
  // keyboard on the launcher or a button, the page's shortcuts work as on any button of the page, and the keyup of
  // a key pressed outside the widget (a page shortcut that opened it, say) reaches the page.
  var typedKeys = {};
  function inTextField(event) {
    var target = event.composedPath ? event.composedPath()[0] : event.target;
    return !!target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT");
  }
  shadow.addEventListener("keydown", function (event) {
    if (!inTextField(event)) return;
    typedKeys[event.code || event.key] = true;
    event.stopPropagation();
  });
  shadow.addEventListener("keypress", function (event) {
    if (inTextField(event)) event.stopPropagation();
  });
  shadow.addEventListener("keyup", function (event) {
    var key = event.code || event.key;
    if (!typedKeys[key]) return;
    delete typedKeys[key];
    if (inTextField(event)) event.stopPropagation();
  });

  // Public hooks for the host page (e.g. an intranet "Ask" link): NewsbotWidget.open() / .close() / .ask(q).
  window.NewsbotWidget = window.NewsbotWidget || {
    open: function () { setOpen(true, true); },
    close: function () { setOpen(false, true); },
    ask: function (question) { setOpen(true, false); ask(String(question || "")); }
  };

  function mount() {
    document.body.appendChild(host);
    root.style.setProperty("--nb-on-primary", readableOn(config.primary)); // needs the host in the page
    renderAll();
    if (embed) { panel.hidden = false; input.focus(); }
    else setOpen(state.open, false);
    if (state.asking && !state.askedAgain) ask(state.asking, true); // its answer was cut off by leaving the page before
    else if (state.asking) { // cut off again: not asked a third time
      state.turns.push({ question: state.asking, answer: null, error: notAnswered, history: [] });
      state.asking = null;
      state.askedAgain = false;
      save();
      renderAll();
    }
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
