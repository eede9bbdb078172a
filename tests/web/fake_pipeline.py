"""The one fake pipeline of the web tests: canned answers chosen by keyword, streamed word by word.

The conftest's `fake_pipeline` fixture and the chat and widget tests all use `FakePipeline`; tests that need other
behaviour (a slow, refusing or truncated pipeline) subclass it.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from bot.errors import UsageError
from bot.schema import Answer, AnswerDelta, Citation

SUTONG_TITLE = "Why does Nantong frequently mention the Yangtze River Estuary?"
SUTONG_SOURCE = "seeds/000_f5096a39126c624c.txt"
SUTONG_PASSAGE = (
    "Nantong both benefits from and is hindered by the Yangtze River. "
    "On June 30, 2008, the Sutong Bridge, the first cross-river bridge in Nantong, was opened to traffic. "
    "In recent years, the daily traffic volume has exceeded 90,000 vehicles."
)
SUTONG_QUOTE = "On June 30, 2008, the Sutong Bridge, the first cross-river bridge in Nantong, was opened to traffic."
SUTONG_TEXT = f"{SUTONG_QUOTE} [1]"
INJECTION_TITLE = 'Intranet <img src=x onerror="window.__xss=1"> notice'
INJECTION_PASSAGE = (
    "Maintenance notice. <script>window.__xss = 2</script> The canteen reopens on Monday. "
    '<img src=x onerror="window.__xss=3"> Bring your badge.'
)
INJECTION_QUOTE = "<script>window.__xss = 2</script> The canteen reopens on Monday."
ABSTAIN_TEXT = "The articles do not say."
# A `source` filter no article passes: the pipeline says so instead of answering.
NO_MATCH_SOURCE = "no-such-article"
NO_MATCH_TEXT = (f'No article matches your filter (source "{NO_MATCH_SOURCE}"), so there is nothing to answer from. '
                 "Widen the filter or remove it.")
# What "boom" fails with: an internal detail that must never reach a client.
SECRET = "secret internal detail /srv/private/path"


def _citation(n: int, title: str, published: str, source: str, text: str, quote: str) -> Citation:
    start = text.index(quote)
    return Citation(n=n, title=title, published=published, source=source, chunk_id=f"{source}#{n}",
                    text=text, quote=quote, score=0.9, quote_start=start, quote_end=start + len(quote))


def sutong_answer(question: str) -> Answer:
    cite = _citation(1, SUTONG_TITLE, "2024-05-14", SUTONG_SOURCE, SUTONG_PASSAGE, SUTONG_QUOTE)
    return Answer(question=question, answer=SUTONG_TEXT, abstained=False, citations=[cite],
                  timings_ms={"retrieve": 1.0, "answer": 1.0, "total": 2.0})


def injection_answer(question: str) -> Answer:
    cite = _citation(1, INJECTION_TITLE, "2024-01-30", "tmp/<b>injection</b>.txt", INJECTION_PASSAGE,
                     INJECTION_QUOTE)
    return Answer(question=question, answer=f"{INJECTION_QUOTE} [1]", abstained=False, citations=[cite],
                  timings_ms={"retrieve": 1.0, "answer": 1.0, "total": 2.0})


def abstain_answer(question: str) -> Answer:
    return Answer(question=question, answer=ABSTAIN_TEXT, abstained=True, citations=[],
                  timings_ms={"retrieve": 1.0, "answer": 0.0, "total": 1.0})


def small_talk_answer(question: str) -> Answer:
    return Answer(question=question, answer="Hello! Ask me about the articles.", abstained=True, citations=[],
                  timings_ms={"retrieve": 0.0, "answer": 0.0, "total": 0.0}, small_talk=True)


LIBRARY_TEXT = ("I have 3 articles, newest first:\n- Sutong Bridge <b>opens</b> (June 30, 2008)\n- Canteen notice\n"
                "- and 1 more.\n\nAsk me about any of them.")


def library_answer(question: str) -> Answer:
    """The reply to "What articles do you have?": a list, one article a line."""
    return Answer(question=question, answer=LIBRARY_TEXT, abstained=True, citations=[],
                  timings_ms={"retrieve": 0.0, "answer": 0.0, "total": 0.0}, small_talk=True)


def no_filter_match_answer(question: str) -> Answer:
    return Answer(question=question, answer=NO_MATCH_TEXT, abstained=True, citations=[],
                  timings_ms={"retrieve": 1.0, "answer": 0.0, "total": 1.0}, no_filter_match=True)


class SecretError(RuntimeError):
    pass


class FakePipeline:
    """Answers by keyword: "Sutong" -> a cited answer, "canteen" -> the HTML-injection article, "boom" -> an
    unexpected error (while streaming: after the first word), "hello" -> small talk, "What articles do you have?" ->
    the list of articles, a `source` filter of
    NO_MATCH_SOURCE -> no article passes the filters, anything else -> an abstention.

    Records every call (method, question, history, k, filters); thread-safe, as servers call it from many threads."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def _answer(self, method: str, question: str, history: Sequence[Any] | None, k: int | None,
                filters: Mapping[str, Any] | None) -> Answer:
        with self._lock:
            self.calls.append({"method": method, "question": question, "history": list(history or []),
                               "k": k, "filters": filters})
        if not question.strip():
            raise UsageError("The question is empty. Type a question about the news articles.")
        if "boom" in question:
            raise SecretError(SECRET)
        if (filters or {}).get("source") == NO_MATCH_SOURCE:
            return no_filter_match_answer(question)
        if "sutong" in question.lower():
            return sutong_answer(question)
        if "canteen" in question.lower():
            return injection_answer(question)
        if question.strip().lower() == "hello":
            return small_talk_answer(question)
        if question.strip().lower() == "what articles do you have?":
            return library_answer(question)
        return abstain_answer(question)

    def ask(self, question: str, *, history: Sequence[Any] | None = None, k: int | None = None,
            filters: Mapping[str, Any] | None = None) -> Answer:
        return self._answer("ask", question, history, k, filters)

    def stream(self, question: str, *, history: Sequence[Any] | None = None, k: int | None = None,
               filters: Mapping[str, Any] | None = None) -> Iterator[AnswerDelta | Answer]:
        try:
            answer = self._answer("stream", question, history, k, filters)
        except SecretError:
            yield AnswerDelta(question.split(" ")[0] + " ")  # fails after the answer has started
            raise
        words = answer.answer.split(" ")
        for i, word in enumerate(words):
            yield AnswerDelta(word if i == 0 else " " + word)
        yield answer

    def stats(self) -> dict[str, Any]:
        return {"chunks": 3, "articles": 2, "model": "fake-model"}
