// Loaded by the sources panel (gr.HTML js_on_load; `element` is the panel). Runs once per page:
// adds the chat stylesheet, and makes each [n] in an answer open its passage in the sources panel.
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
})();
