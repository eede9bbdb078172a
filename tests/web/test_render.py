"""bot.web.render: every piece of document or model text comes out as inert, literal text."""
from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import pytest

from bot.web import render
from tests.web.fake_pipeline import (
    INJECTION_PASSAGE,
    INJECTION_QUOTE,
    INJECTION_TITLE,
    NO_MATCH_TEXT,
    SUTONG_QUOTE,
    abstain_answer,
    injection_answer,
    no_filter_match_answer,
    small_talk_answer,
    sutong_answer,
)

NASTY = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "\"'><svg onload=alert(1)>",
    "[click](javascript:alert(1)) **bold** `code` # heading",
    "&lt;already escaped&gt; &amp; more",
]


def _tags(markup: str) -> set[str]:
    return {m.lower() for m in re.findall(r"<\s*([a-zA-Z][\w-]*)", markup)}


class _CopyText(HTMLParser):
    """The data-copy attribute of the first element, as a browser reads it."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.value: str | None = None
        self.feed(markup)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.value is None:
            self.value = dict(attrs).get("data-copy") or ""


def test_an_answer_copies_as_plain_text_with_its_markers_then_its_sources() -> None:
    answer = sutong_answer("q").to_dict()
    expected = (f"{SUTONG_QUOTE} [1]\n\nSources:\n[1] Why does Nantong frequently mention the Yangtze River "
                f"Estuary? (May 14, 2024) — seeds/000_f5096a39126c624c.txt: “{SUTONG_QUOTE}”")
    assert render.answer_text(answer) == expected
    markup = render.answer_html(answer, turn=0)
    assert _CopyText(markup).value == expected
    assert "\n" not in markup  # the line breaks travel as &#10;


@pytest.mark.parametrize(("markup", "expected"), [
    (render.question_html("  Two\nlines <b>?</b> "), "Two\nlines <b>?</b>"),
    (render.error_html("Please type a question."), "Please type a question."),
    (render.answer_html(abstain_answer("q").to_dict(), turn=0), "The articles do not say."),
    (render.answer_html(small_talk_answer("hi").to_dict(), turn=0), "Hello! Ask me about the articles."),
    (render.answer_html(no_filter_match_answer("q").to_dict(), turn=0), NO_MATCH_TEXT),
])
def test_every_message_copies_as_its_plain_text(markup: str, expected: str) -> None:
    assert _CopyText(markup).value == expected


def test_copy_text_of_an_injection_article_stays_inert() -> None:
    markup = render.answer_html(injection_answer("q").to_dict(), turn=0)
    assert _tags(markup) <= {"div", "sup", "a", "span", "br"}
    assert "onerror=" not in markup.replace("onerror&#61;", "")
    copied = _CopyText(markup).value or ""
    assert copied.startswith(INJECTION_QUOTE + " [1]") and INJECTION_TITLE in copied  # literal text, as shown


@pytest.mark.parametrize("text", NASTY)
def test_esc_leaves_no_markup_and_round_trips(text: str) -> None:
    escaped = render.esc(text)
    assert "<" not in escaped and ">" not in escaped and '"' not in escaped
    assert not re.search(r"[*`\[\]()#_]", re.sub(r"&#?\w+;", "", escaped))  # nothing Markdown acts on
    assert html.unescape(escaped) == text


def test_text_keeps_paragraphs_without_blank_lines() -> None:
    out = render.answer_html({"answer": "First line.\nSecond.\n\nNew paragraph.", "abstained": False,
                              "citations": []}, turn=0)
    assert "First line.<br>Second.<br><br>New paragraph." in out
    assert "\n" not in out  # a blank line would end the HTML block and hand the rest to Markdown


def test_answer_links_each_known_marker_to_its_passage() -> None:
    answer = sutong_answer("q").to_dict()
    answer["answer"] = "Opened in 2008 [1]. See also [2] and [1, 1]."
    out = render.answer_html(answer, turn=3)
    assert out.count('href="#nb-src-3-1"') == 3
    assert out.count('<span class="nb-sr">Source </span>1</a>') == 3  # a screen reader hears "Source 1", not "1"
    assert "&#91;2&#93;" in out  # [2] is not a citation of this answer: left as text
    assert "1 source" in out


def test_a_reply_to_small_talk_has_no_label_and_no_sources() -> None:
    reply = {"answer": "Hello! <b>Ask</b> me.", "abstained": True, "small_talk": True, "citations": []}
    out = render.answer_html(reply, turn=0)
    assert "nb-small-talk" in out and render.ABSTAIN_LABEL not in out and "&lt;b&gt;" in out
    assert "Nothing was looked up" in render.sources_html([{"question": "hi", "answer": reply}])


def test_abstention_is_marked_and_has_no_links() -> None:
    out = render.answer_html(abstain_answer("q").to_dict(), turn=0)
    assert "nb-abstain" in out and render.ABSTAIN_LABEL in out
    assert "nb-cite" not in out


def test_no_article_passing_the_filters_is_labelled_as_such_not_as_an_abstention() -> None:
    answer = no_filter_match_answer("When did the Sutong Bridge open?").to_dict()
    assert answer["abstained"] is True  # as the pipeline sends it
    out = render.answer_html(answer, turn=0)
    assert render.NO_MATCH_LABEL in out and render.ABSTAIN_LABEL not in out
    assert "nb-no-match" in out and "nb-cite" not in out  # set apart like an abstention; the CSS hides its thumbs
    sources = render.sources_html([{"question": "q", "answer": answer}])
    assert "No article passes the search filters" in sources and "No passage answers" not in sources


def test_right_to_left_text_is_set_in_its_own_direction() -> None:
    question = "متى افتتح جسر سوتونغ؟"
    answer = sutong_answer(question).to_dict()
    sources = render.sources_html([{"question": question, "answer": answer}])
    for markup, cls in ((render.question_html(question), "nb-question"), (render.streaming_html("…"), "nb-streaming"),
                        (render.answer_html(answer, turn=0), "nb-answer"),
                        (render.answer_html(abstain_answer(question).to_dict(), turn=0), "nb-abstain-text"),
                        (sources, "nb-turn-q"), (sources, "nb-src-title"), (sources, "nb-src-quote"),
                        (sources, "nb-src-passage")):
        assert re.search(f'class="[^"]*{cls}[^"]*" dir="auto"', markup), cls


def test_passage_highlights_the_quote_by_offsets() -> None:
    citation = sutong_answer("q").citations[0].to_dict()
    out = render.passage_html(citation)
    assert f"<mark>{render.esc(SUTONG_QUOTE)}</mark>" in out


def test_passage_falls_back_to_finding_the_quote() -> None:
    citation = {"text": "Alpha. Beta gamma. Delta.", "quote": "Beta gamma.", "quote_start": -1, "quote_end": -1}
    assert render.passage_html(citation) == "Alpha. <mark>Beta gamma.</mark> Delta."
    citation["quote"] = "not there"
    assert "<mark>" not in render.passage_html(citation)


def test_injection_article_stays_text_everywhere() -> None:
    answer = injection_answer("What about the canteen?").to_dict()
    turns = [{"question": "<b>q</b>", "answer": answer}]
    for markup in (render.answer_html(answer, turn=0), render.sources_html(turns),
                   render.question_html("<img src=x onerror=alert(1)>")):
        assert _tags(markup) <= {"div", "span", "sup", "a", "br", "mark", "details", "summary", "h3", "p"}
        assert "onerror=" not in markup.replace("onerror&#61;", "")
    sources = render.sources_html(turns)
    assert render.esc(INJECTION_TITLE) in sources
    assert html.unescape(render.esc(INJECTION_PASSAGE)) == INJECTION_PASSAGE
    assert "&lt;script&gt;window.&#95;&#95;xss &#61; 2&lt;/script&gt;" in sources


def test_sources_panel_shows_latest_answer_and_keeps_earlier_ones_reachable() -> None:
    turns = [
        {"question": "first", "answer": sutong_answer("first").to_dict()},
        {"question": "second", "answer": abstain_answer("second").to_dict()},
    ]
    out = render.sources_html(turns)
    latest = out.index("second")
    earlier = out.index("Earlier answers")
    assert latest < earlier
    assert 'id="nb-src-0-1"' in out  # the first answer's [1] link still has a target
    assert "No passage answers this question" in out


def test_empty_sources_panel_explains_itself() -> None:
    assert "Ask a question" in render.sources_html([])


@pytest.mark.parametrize(("value", "expected"), [
    ("2024-05-14", "May 14, 2024"), ("2024-01-30T08:00:00Z", "January 30, 2024"), ("spring 2024", "spring 2024"),
    (None, ""),
])
def test_format_date(value: str | None, expected: str) -> None:
    assert render.format_date(value) == expected
