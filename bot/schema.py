"""The answer and its evidence: one small typed object, serialised the same way by every face."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

# An answer's "[n]" marker, with the space before it.
CITATION_MARKER = re.compile(r"\s*\[\d+\]")


@dataclass(frozen=True)
class Citation:
    """One cited passage. `text` is the passage, `quote` the sentence(s) of it that support the answer."""

    n: int
    title: str
    published: str | None
    source: str
    chunk_id: str
    text: str
    quote: str
    score: float
    # Character offsets of `quote` inside `text`, for highlighting; (-1, -1) when not found.
    quote_start: int = -1
    quote_end: int = -1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Passage:
    """A retrieved passage (a chunk of an article) with its fused retrieval score and rank."""

    chunk_id: str
    text: str
    metadata: dict[str, Any]
    score: float
    rank: int
    dense_score: float | None = None
    bm25_score: float | None = None

    @property
    def title(self) -> str:
        return str(self.metadata.get("title", ""))

    @property
    def source(self) -> str:
        return str(self.metadata.get("source", ""))

    @property
    def published(self) -> str | None:
        value = self.metadata.get("published")
        return str(value) if value else None


@dataclass(frozen=True)
class Answer:
    """What the pipeline returns for one question."""

    question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    timings_ms: dict[str, float]
    # The question as used for retrieval (a follow-up resolved against the conversation).
    standalone_question: str = ""
    # The message was only a greeting, thanks or goodbye: the reply searched and cited nothing (and, answering
    # nothing from the articles, counts as abstained).
    small_talk: bool = False
    # Search filters were given and no article passes them: the reply says so, rather than "the articles do not
    # answer" (nothing was asked of any article). Counts as abstained.
    no_filter_match: bool = False
    # Everything retrieved, cited or not (used by `bot eval` for hit@k and MRR); not part of to_dict().
    passages: list[Passage] = field(default_factory=list, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The public JSON shape shared by `bot ask --json`, the REST API and `bot eval` results."""
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "small_talk": self.small_talk,
            "no_filter_match": self.no_filter_match,
            "citations": [c.to_dict() for c in self.citations],
            "timings_ms": dict(self.timings_ms),
        }


@dataclass(frozen=True)
class AnswerDelta:
    """A piece of answer text, produced while streaming; the stream ends with the full Answer."""

    text: str
