"""A small fake pipeline for the chat and widget tests: canned answers, streamed word by word."""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from bot.errors import UsageError
from bot.schema import Answer, AnswerDelta, Citation

SUTONG_PASSAGE = (
    "Nantong both benefits from and is hindered by the Yangtze River. "
    "On June 30, 2008, the Sutong Bridge, the first cross-river bridge in Nantong, was opened to traffic. "
    "In recent years, the daily traffic volume has exceeded 90,000 vehicles."
)
SUTONG_QUOTE = "On June 30, 2008, the Sutong Bridge, the first cross-river bridge in Nantong, was opened to traffic."
INJECTION_TITLE = 'Intranet <img src=x onerror="window.__xss=1"> notice'
INJECTION_PASSAGE = (
    "Maintenance notice. <script>window.__xss = 2</script> The canteen reopens on Monday. "
    '<img src=x onerror="window.__xss=3"> Bring your badge.'
)
INJECTION_QUOTE = "<script>window.__xss = 2</script> The canteen reopens on Monday."


def _citation(n: int, title: str, published: str, source: str, text: str, quote: str) -> Citation:
    start = text.index(quote)
    return Citation(n=n, title=title, published=published, source=source, chunk_id=f"{source}#{n}",
                    text=text, quote=quote, score=0.9, quote_start=start, quote_end=start + len(quote))


def sutong_answer(question: str) -> Answer:
    cite = _citation(1, "Why does Nantong frequently mention the Yangtze River Estuary?", "2024-05-14",
                     "seeds/000_f5096a39126c624c.txt", SUTONG_PASSAGE, SUTONG_QUOTE)
    return Answer(question=question, answer=f"{SUTONG_QUOTE} [1]", abstained=False, citations=[cite],
                  timings_ms={"retrieve": 1.0, "answer": 1.0, "total": 2.0})


def injection_answer(question: str) -> Answer:
    cite = _citation(1, INJECTION_TITLE, "2024-01-30", "tmp/<b>injection</b>.txt", INJECTION_PASSAGE,
                     INJECTION_QUOTE)
    return Answer(question=question, answer=f"{INJECTION_QUOTE} [1]", abstained=False, citations=[cite],
                  timings_ms={"retrieve": 1.0, "answer": 1.0, "total": 2.0})


def abstain_answer(question: str) -> Answer:
    return Answer(question=question, answer="The articles do not say.", abstained=True, citations=[],
                  timings_ms={"retrieve": 1.0, "answer": 0.0, "total": 1.0})


def small_talk_answer(question: str) -> Answer:
    return Answer(question=question, answer="Hello! Ask me about the articles.", abstained=True, citations=[],
                  timings_ms={"retrieve": 0.0, "answer": 0.0, "total": 0.0}, small_talk=True)


class FakePipeline:
    """Answers by keyword: "Sutong" -> a cited answer, "canteen" -> the HTML-injection article,
    "boom" -> an unexpected error, "hello" -> small talk, anything else -> an abstention. Records every call."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def _answer(self, question: str, history: Sequence[Any] | None) -> Answer:
        self.calls.append({"question": question, "history": list(history or [])})
        if not question.strip():
            raise UsageError("The question is empty. Type a question about the news articles.")
        if "boom" in question:
            raise RuntimeError("secret internal detail /srv/app.py line 42")
        if "sutong" in question.lower():
            return sutong_answer(question)
        if "canteen" in question.lower():
            return injection_answer(question)
        if question.strip().lower() == "hello":
            return small_talk_answer(question)
        return abstain_answer(question)

    def ask(self, question: str, *, history: Sequence[Any] | None = None, k: int | None = None,
            filters: Mapping[str, Any] | None = None) -> Answer:
        return self._answer(question, history)

    def stream(self, question: str, *, history: Sequence[Any] | None = None, k: int | None = None,
               filters: Mapping[str, Any] | None = None) -> Iterator[AnswerDelta | Answer]:
        answer = self._answer(question, history)
        words = answer.answer.split(" ")
        for i, word in enumerate(words):
            yield AnswerDelta(word if i == 0 else " " + word)
        yield answer
