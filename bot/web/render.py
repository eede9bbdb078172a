"""Answers and their evidence as safe HTML for the Gradio chat.

Every piece of model or document text is escaped before it is placed in markup (the characters
`html.escape` handles, plus the ones Markdown acts on), so an article containing `<script>` or
`<img onerror=...>` is shown as those characters and never runs. The only markup in the output is the
markup written here. No gradio or fastapi import: this is plain strings.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

logger = logging.getLogger(__name__)

# `[1]`, `[2, 3]` or `[2,3]` in answer text: the citation markers the answerers write.
_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")
# Besides the HTML specials, the characters Markdown acts on become numeric entities, so document text
# stays literal even where the chatbot's Markdown renderer sees it (CommonMark never parses entities).
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
_ENTITIES.update({ch: f"&#{ord(ch)};" for ch in "\\`*_{}[]()#+-!|~$="})
_SPECIAL = re.compile("[" + re.escape("".join(_ENTITIES)) + "]")

_SPACES = re.compile(r"\s+")
_BLANK_LINES = re.compile(r"\n\s*\n\s*")

ABSTAIN_LABEL = "Not in the articles"
# On every element holding a question or document text: the browser sets right-to-left text (Arabic, Hebrew) right
# to left from its first letter, where the chat's left-to-right layout would put its punctuation at the wrong end.
_AUTO = ' dir="auto"'
# The reply when search filters were given and no article passes them: nothing was asked of any article.
NO_MATCH_LABEL = "No matching articles"


# Under a decline of a question written without a Latin letter (in Chinese, say): the articles, and the questions the
# bot can answer, are in English.
ENGLISH_HINT = "I answer questions in English, the language of the articles: please ask in English."
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
# A line of a reply that is an item of a list ("- title (date)", as in the list of articles).
_ITEM = "- "
NEWLINE = "\n"


def needs_english_hint(question: object) -> bool:
    """Is `question` written without a single Latin letter (and not blank)? Then a decline says to ask in English."""
    text = "" if question is None else str(question)
    return bool(text.strip()) and _LATIN.search(text) is None


def esc(text: object) -> str:
    """Text as inert HTML: markup and Markdown characters become entities; newlines become spaces."""
    value = _SPACES.sub(" ", "" if text is None else str(text))
    return _SPECIAL.sub(lambda m: _ENTITIES[m.group(0)], value)


def _attr(text: object) -> str:
    """Text as an inert attribute value that keeps its line breaks (as `&#10;`, so no blank line ends the block)."""
    lines = ("" if text is None else str(text)).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "&#10;".join(_SPECIAL.sub(lambda m: _ENTITIES[m.group(0)], line) for line in lines)


def _copy(text: str) -> str:
    """The `data-copy` attribute: the plain text the chat's copy button puts on the clipboard. The chatbot copies a
    message's source, which is this HTML; chat.js hands the clipboard this attribute instead."""
    return f' data-copy="{_attr(text.strip())}"'


def _text_with_breaks(text: str) -> str:
    # Paragraph breaks as <br>: the output never holds a blank line, which would end the HTML block
    # and hand the rest to the Markdown renderer.
    paragraphs = _BLANK_LINES.split(str(text).replace("\r\n", "\n"))
    return "<br><br>".join("<br>".join(esc(line) for line in p.split("\n")) for p in paragraphs)


def _text_with_lists(text: str) -> str:
    """As `_text_with_breaks`, but each run of lines starting with "- " is a list (`<ul>`), each item escaped."""
    lines = str(text).replace("\r\n", "\n").strip().split("\n")
    if not any(line.startswith(_ITEM) for line in lines):
        return _text_with_breaks(text)
    blocks: list[tuple[bool, list[str]]] = []  # (a list?, its lines)
    for line in lines:
        item = line.startswith(_ITEM)
        if blocks and blocks[-1][0] == item:
            blocks[-1][1].append(line)
        else:
            blocks.append((item, [line]))
    html = []
    for item, run in blocks:
        if item:
            items = "".join(f"<li>{esc(line[len(_ITEM):])}</li>" for line in run)
            html.append(f'<ul class="nb-list">{items}</ul>')
        elif "".join(run).strip():
            html.append(f'<p class="nb-par">{_text_with_breaks(NEWLINE.join(run).strip())}</p>')
    return "".join(html)


def format_date(published: str | None) -> str:
    """An ISO date as `May 14, 2024`; anything unparseable is returned as it is."""
    if not published:
        return ""
    try:
        parsed = datetime.fromisoformat(str(published).replace("Z", "+00:00"))
    except ValueError:
        return str(published)
    return f"{parsed:%B} {parsed.day}, {parsed.year}"


def anchor_id(turn: int, n: int) -> str:
    """The element id of citation `n` of answer `turn` in the sources panel."""
    return f"nb-src-{turn}-{n}"


def _citations(answer: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    return list(answer.get("citations") or [])


def quote_span(citation: Mapping[str, Any]) -> tuple[int, int] | None:
    """Where the quote sits in the passage: the given offsets when they are valid, else a plain search."""
    text = str(citation.get("text") or "")
    start, end = citation.get("quote_start", -1), citation.get("quote_end", -1)
    if isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text):
        return start, end
    quote = str(citation.get("quote") or "").strip()
    if quote:
        found = text.find(quote)
        if found >= 0:
            return found, found + len(quote)
    return None


def passage_html(citation: Mapping[str, Any]) -> str:
    """The passage with the quoted sentence wrapped in `<mark>`; all text escaped."""
    text = str(citation.get("text") or "")
    span = quote_span(citation)
    if span is None:
        return _text_with_breaks(text)
    start, end = span
    return (
        f"{_text_with_breaks(text[:start])}<mark>{_text_with_breaks(text[start:end])}</mark>"
        f"{_text_with_breaks(text[end:])}"
    )


def _link_markers(text: str, numbers: set[int], turn: int) -> str:
    """Escaped answer text with each known `[n]` turned into a link to its passage."""
    pieces: list[str] = []
    last = 0
    for match in _MARKER.finditer(text):
        parts = [int(p) for p in match.group(1).split(",")]
        if not all(p in numbers for p in parts):
            continue  # not one of ours: left as literal text
        pieces.append(_text_with_breaks(text[last:match.start()]))
        # The chatbot's sanitizer drops aria-label: a screen reader hears "Source 1" from text only it reads.
        links = ",".join(
            f'<a class="nb-cite" href="#{anchor_id(turn, p)}"'
            f' title="Show source {p}"><span class="nb-sr">Source </span>{p}</a>'
            for p in parts
        )
        pieces.append(f'<sup class="nb-cites">{links}</sup>')
        last = match.end()
    pieces.append(_text_with_breaks(text[last:]))
    return "".join(pieces)


def source_line(citation: Mapping[str, Any]) -> str:
    """One cited passage as a line of plain text: `[1] Title (May 14, 2024) — source: “quote”`."""
    date = format_date(citation.get("published"))
    line = f"[{int(citation.get('n', 0))}] {' '.join(str(citation.get('title') or 'Untitled article').split())}"
    if date:
        line += f" ({date})"
    if citation.get("source"):
        line += f" — {citation['source']}"
    quote = " ".join(str(citation.get("quote") or "").split())
    return f"{line}: “{quote}”" if quote else line


def answer_text(answer: Mapping[str, Any]) -> str:
    """A final answer as plain text (what copying it gives): its text with the `[n]` markers, then its sources."""
    text = str(answer.get("answer") or "").strip()
    cites = [] if answer.get("small_talk") or answer.get("abstained") else _citations(answer)
    if not cites:
        return text
    return text + "\n\nSources:\n" + "\n".join(source_line(c) for c in cites)


def answer_html(answer: Mapping[str, Any], *, turn: int) -> str:
    """One chat message for a final answer: cited answers link each `[n]` to the sources panel;
    an abstention is set apart (muted, labelled) and shows no sources as support, as is the reply saying no article
    passes the search filters (labelled as such: no article was asked); a reply to small talk ("hi") is plain text.
    Each carries its plain text for the copy button."""
    text = str(answer.get("answer") or "")
    copy = _copy(answer_text(answer))
    if answer.get("small_talk"):
        return f'<div class="nb-msg nb-small-talk"{_AUTO}{copy}>{_text_with_lists(text)}</div>'
    if answer.get("no_filter_match") or answer.get("abstained"):
        kind, label = (" nb-no-match", NO_MATCH_LABEL) if answer.get("no_filter_match") else ("", ABSTAIN_LABEL)
        hint = ""
        if not answer.get("no_filter_match") and needs_english_hint(answer.get("question")):
            hint = f'<div class="nb-hint">{esc(ENGLISH_HINT)}</div>'
        return (
            f'<div class="nb-msg nb-abstain{kind}"{copy}><span class="nb-abstain-label">{esc(label)}</span>'
            f'<div class="nb-abstain-text"{_AUTO}>{_text_with_breaks(text)}</div>{hint}</div>'
        )
    numbers = {int(c.get("n", 0)) for c in _citations(answer)}
    body = _link_markers(text.strip(), numbers, turn)
    count = len(numbers)
    footer = ""
    if count:
        plural = "source" if count == 1 else "sources"
        footer = f'<div class="nb-msg-foot">{count} {plural} · click a number to read the passage</div>'
    return f'<div class="nb-msg nb-answer"{_AUTO}{copy}>{body}{footer}</div>'


def streaming_html(text: str) -> str:
    """The partial answer while it streams in (markers are linked once the final answer arrives)."""
    return f'<div class="nb-msg nb-streaming"{_AUTO}>{_text_with_breaks(text)}<span class="nb-caret"></span></div>'


def pending_html() -> str:
    return '<div class="nb-msg nb-streaming"><span class="nb-dim">Searching the articles</span><span class="nb-caret"></span></div>'


def error_html(message: str) -> str:
    return f'<div class="nb-msg nb-error"{_copy(message)}>{_text_with_breaks(message)}</div>'


def question_html(question: str) -> str:
    return f'<div class="nb-msg nb-question"{_AUTO}{_copy(question)}>{_text_with_breaks(question)}</div>'


def citation_html(citation: Mapping[str, Any], *, turn: int, open_: bool = False) -> str:
    """One cited passage: a `<details>` with title, date and source, the quote, and the passage."""
    n = int(citation.get("n", 0))
    date = format_date(citation.get("published"))
    source = str(citation.get("source") or "")
    meta = " · ".join(esc(part) for part in (date, source) if part)
    quote = str(citation.get("quote") or "").strip()
    quote_line = f'<span class="nb-src-quote"{_AUTO}>“{esc(quote)}”</span>' if quote else ""
    return (
        f'<details class="nb-src" id="{anchor_id(turn, n)}"{" open" if open_ else ""}>'
        f'<summary><span class="nb-src-n">{n}</span><span class="nb-src-head">'
        f'<span class="nb-src-title"{_AUTO}>{esc(citation.get("title") or "Untitled article")}</span>'
        f'<span class="nb-src-meta">{meta}</span>{quote_line}</span></summary>'
        f'<div class="nb-src-passage"{_AUTO}>{passage_html(citation)}</div></details>'
    )


def sources_html(turns: Iterable[Mapping[str, Any]]) -> str:
    """The sources panel: the latest answer's cited passages; earlier answers' stay reachable from
    their `[n]` links but are tucked under one collapsed group."""
    answered = [(i, t) for i, t in enumerate(turns) if t.get("answer") is not None]
    if not answered:
        return (
            '<div class="nb-sources nb-sources-empty"><h3>Sources</h3>'
            "<p>Ask a question: the passages each answer relies on appear here, "
            "with the quoted sentence highlighted.</p></div>"
        )
    latest_turn, latest = answered[-1]
    parts = ['<div class="nb-sources"><h3>Sources</h3>']
    parts.append(_turn_sources(latest_turn, latest))
    earlier = [_turn_sources(i, t) for i, t in reversed(answered[:-1]) if _citations(t["answer"])]
    if earlier:
        parts.append(
            '<details class="nb-earlier"><summary>Earlier answers</summary>' + "".join(earlier) + "</details>"
        )
    parts.append("</div>")
    return "".join(parts)


def _turn_sources(turn: int, record: Mapping[str, Any]) -> str:
    answer = record["answer"]
    head = f'<div class="nb-turn-q"{_AUTO}>{esc(record.get("question") or answer.get("question") or "")}</div>'
    if answer.get("small_talk"):
        return (f'<div class="nb-turn" data-turn="{turn}">{head}<p class="nb-none">Nothing was looked up for this '
                "message.</p></div>")
    if answer.get("no_filter_match"):
        return (f'<div class="nb-turn" data-turn="{turn}">{head}<p class="nb-none">No article passes the search '
                "filters, so none was searched.</p></div>")
    if answer.get("abstained"):
        return (
            f'<div class="nb-turn" data-turn="{turn}">{head}<p class="nb-none">No passage answers this '
            "question, so nothing is cited.</p></div>"
        )
    cites = _citations(answer)
    if not cites:
        return f'<div class="nb-turn" data-turn="{turn}">{head}<p class="nb-none">No sources cited.</p></div>'
    body = "".join(citation_html(c, turn=turn, open_=(i == 0)) for i, c in enumerate(cites))
    return f'<div class="nb-turn" data-turn="{turn}">{head}{body}</div>'
