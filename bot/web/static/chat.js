// Loaded by the sources panel (gr.HTML js_on_load; `element` is the panel). Runs once per page:
// adds the chat stylesheet, makes each [n] in an answer open its passage in the sources panel, keeps what is typed
// in the question box for the tab, and makes the chatbot's "copy message" button copy plain text.
(function () {
  if (!document.getElementById("nb-chat-style")) {
    var style = document.createElement("style");
    style.id = "nb-chat-style";
    style.textContent = NB_CHAT_CSS;
    document.head.appendChild(style);
  }
  if (window.__nbChatWired) return;
  window.__nbChatWired = true;

  function reveal(target) {
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") node.open = true;
    }
    // The passage scrolls within its box: bring the highlighted quote into it, a little below its top edge (as the
    // widget does).
    var passage = target.querySelector(".nb-src-passage"), mark = passage && passage.querySelector("mark");
    if (mark) passage.scrollTop += mark.getBoundingClientRect().top - passage.getBoundingClientRect().top - 24;
    target.scrollIntoView({ behavior: "smooth", block: "nearest" });
    target.classList.remove("nb-flash");
    void target.offsetWidth; // restart the highlight animation
    target.classList.add("nb-flash");
    var summary = target.querySelector("summary");
    if (summary) summary.focus({ preventScroll: true });
  }

  // Capture phase, so the chatbot's own link handling (open in a new tab) never sees our anchors.
  document.addEventListener("click", function (event) {
    var link = event.target && event.target.closest ? event.target.closest("a.nb-cite") : null;
    if (!link) return;
    var id = (link.getAttribute("href") || "").replace(/^#/, "");
    var target = id ? document.getElementById(id) : null;
    event.preventDefault();
    event.stopPropagation();
    if (target) reveal(target);
  }, true);

  // What is typed in the question box, kept for the tab: a reload empties the box, and Gradio reloads the page when it
  // finds the server again after losing it (meanwhile Enter sends nothing). The reloaded page puts it back.
  // Only what the reader types: the box emptied as a question is taken keeps it as the draft until it is sent.
  document.addEventListener("input", function (event) {
    var box = event.target;
    if (!event.isTrusted || !box || box.tagName !== "TEXTAREA" || !box.closest("#nb-question")) return;
    try { sessionStorage.setItem("newsbot-chat-draft", box.value); } catch (e) { /* full or disabled */ }
  }, true);

  // The question is taken from the box as Enter is pressed (or Ask clicked), and the box emptied, there and then:
  // Gradio reads the box for its submit event a few milliseconds later, by when the first keys of the next question
  // may be in it (and the box, emptied later, would lose them). The question box's submit event takes each in turn
  // (window.__nbTakeQuestion). Capture phase: before the box's own handler, which submits on keypress.
  var taken = [];
  function setBox(box, value) {
    box.value = value;
    box.dispatchEvent(new Event("input", { bubbles: true })); // Gradio's copy of the value follows
  }
  function take(box) {
    var entry = { question: box.value };
    taken.push(entry);
    if (!entry.question.trim()) return; // blank: not asked, the box left as it is
    setBox(box, "");
    // Not taken by a submit event soon (Gradio sends nothing while it has lost the server): back in the box, unless
    // the reader has typed there meanwhile.
    setTimeout(function () {
      var at = taken.indexOf(entry);
      if (at < 0) return;
      taken.splice(at, 1);
      if (!box.value) setBox(box, entry.question);
    }, 1500);
  }
  window.__nbTakeQuestion = function () {
    var entry = taken.shift();
    return entry ? entry.question : "";
  };
  document.addEventListener("keypress", function (event) {
    var box = event.target;
    if (!box || box.tagName !== "TEXTAREA" || !box.closest("#nb-question")) return;
    if (event.key === "Enter" && !event.shiftKey) take(box);
  }, true);
  document.addEventListener("click", function (event) {
    var button = event.target && event.target.closest ? event.target.closest("#nb-question .submit-button") : null;
    var box = button && document.querySelector("#nb-question textarea");
    if (box) take(box);
  }, true);

  // The chatbot's copy button copies a message's source, which is our HTML. Each message carries its plain text
  // (the answer with its [n] markers, then its sources) in data-copy: the clipboard gets that instead. Parsed in
  // an inert document (DOMParser runs no script and loads nothing); any other text is copied unchanged.
  function plainText(text) {
    if (typeof text !== "string" || text.trim().indexOf('<div class="nb-msg') !== 0) return text;
    var message = new DOMParser().parseFromString(text, "text/html").body.firstElementChild;
    if (!message) return text;
    var copy = message.getAttribute("data-copy");
    return copy !== null ? copy : message.textContent.trim();
  }

  // With the Clipboard API (https, or http on localhost) the chatbot calls navigator.clipboard.writeText...
  var clipboard = navigator.clipboard;
  if (clipboard && typeof clipboard.writeText === "function") {
    var writeText = clipboard.writeText.bind(clipboard);
    clipboard.writeText = function (text) { return writeText(plainText(text)); };
  }
  // ...elsewhere (plain http) it selects the text in a hidden textarea and runs the "copy" command.
  document.addEventListener("copy", function (event) {
    var field = document.activeElement && document.activeElement.tagName === "TEXTAREA"
      ? document.activeElement : event.target;
    if (!field || field.tagName !== "TEXTAREA" || !event.clipboardData) return;
    var selected = field.value.slice(field.selectionStart, field.selectionEnd);
    var plain = plainText(selected);
    if (plain === selected) return;
    event.clipboardData.setData("text/plain", plain);
    event.preventDefault();
  }, true);
})();
