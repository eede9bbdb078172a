"""Answerers turn a question and retrieved passages into a cited answer, or an honest abstention.

The default, `ExtractiveAnswerer`, quotes the one to three sentences that best answer the question. It abstains
on evidence rather than on a cosine threshold (which cannot separate answerable from unanswerable questions on
news text): the chosen sentence must cover the question's key terms and names, hold the kind of answer asked for
(a "when" needs a date, a "how many" a number), and the dense and keyword scores must agree on its passage.
Generative answerers (llama.cpp, OpenAI-compatible endpoints) implement the same `Answerer` protocol.
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from bot.schema import Citation, Passage
from index.bm25 import analyze
from index.build import unpack_vectors


@dataclass(frozen=True)
class Draft:
    """An answer before the pipeline stamps timings on it."""

    text: str
    abstained: bool
    citations: list[Citation]
    evidence: dict[str, float] = field(default_factory=dict)


class Answerer(Protocol):
    def answer(self, question: str, passages: Sequence[Passage], *, query_vector: np.ndarray | None,
               idf: IdfLookup, standalone_question: str | None = None) -> Draft: ...


class IdfLookup(Protocol):
    def idf(self, term: str) -> float: ...


# --- what kind of answer the question asks for --------------------------------------------------------------

MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december|"
          "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_DATE = re.compile(rf"\b(?:(?:{MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?|\d{{4}}-\d{{2}}-\d{{2}}|"
                   rf"(?:in|since|by|from|of|until|before|after|early|late|mid)\s+(?:(?:{MONTHS})\s+)?(?:1[89]|20)\d{{2}}|"
                   rf"(?:1[89]|20)\d{{2}}|(?:last|this|next)\s+(?:year|month|week)|"
                   rf"(?:{MONTHS})\s+(?:1[89]|20)\d{{2}}|(?:four|three|two|five|six|ten)\s+years\s+ago)\b",
                   re.IGNORECASE)
_NUMBER = re.compile(r"\b\d[\d,.]*\b|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|twenty|"
                     r"thirty|forty|fifty|hundred|thousand|million|billion|trillion|half|dozens?|tens)\b",
                     re.IGNORECASE)
_YEAR_ONLY = re.compile(r"^(?:1[89]|20)\d{2}$")
_MONEY = re.compile(r"\b(?:yuan|rmb|dollars?|usd|euros?|\$|¥|€)|\b\d[\d,.]*\s*(?:million|billion|trillion)\b",
                    re.IGNORECASE)
_DURATION = re.compile(r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|half|nearly|about)\b[\w\s-]{0,20}?"
                       r"\b(?:minutes?|hours?|days?|weeks?|months?|years?|decades?)\b", re.IGNORECASE)
_PERCENT = re.compile(r"\d+(?:\.\d+)?\s*(?:%|percent)|\b\d+/\d+\b", re.IGNORECASE)
_PROPER = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+(?:[\s-][A-Z][a-z]+)*")


@dataclass(frozen=True)
class AnswerKind:
    name: str  # date | number | money | percent | duration | person | place | any

    def found_in(self, sentence: str, question: str) -> bool:
        """Does the sentence hold an answer of this kind (not merely one the question already states)?"""
        question_lower = question.lower()

        def new(matches: list[str]) -> bool:
            return any(m.strip().lower() not in question_lower for m in matches)

        if self.name == "date":
            return new(_DATE.findall(sentence))
        if self.name == "number":
            numbers = [m for m in _NUMBER.findall(sentence) if not _YEAR_ONLY.match(m.replace(",", ""))]
            return new(numbers)
        if self.name == "money":
            return bool(_MONEY.search(sentence))
        if self.name == "percent":
            return new(_PERCENT.findall(sentence))
        if self.name == "duration":
            return new(_DURATION.findall(sentence)) or new(_DATE.findall(sentence))
        if self.name in ("person", "place"):
            return new(_PROPER.findall(sentence))
        return True


_KIND_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern, re.IGNORECASE))
    for name, pattern in (
        ("money", r"\bhow much (?:money|did .* cost|does .* cost|was .* invest)|\b(?:cost|price|budget|spent|"
                  r"spend|investment|invested|worth|funding|salary|revenue)\b"),
        ("percent", r"\b(?:what|which) (?:percentage|proportion|share|fraction)\b|\bpercent|\bhow large a share"),
        ("duration", r"\bhow long\b|\bfor how many (?:years|months|days)\b"),
        ("date", r"^\s*when\b|\bwhat (?:year|date|day|month|time)\b|\bin which (?:year|month)\b|\bsince when\b|"
                 r"\bwhich year\b|\bwhen (?:did|was|were|is|will|does)\b"),
        ("number", r"\bhow (?:many|much|big|large|high|far|fast|old)\b|\bwhat (?:is|was) the (?:number|total|"
                   r"amount|size|area|population|volume|scale)\b|\bnumber of\b|\bhow (?:heavy|tall|wide)\b"),
        ("person", r"^\s*(?:who|whom|whose)\b|\bwhich (?:person|official|secretary|leader|engineer|director|mayor)\b"),
        ("place", r"^\s*where\b|\bin which (?:city|province|county|town|district|country)\b|"
                  r"\bwhich (?:city|province|county|town|district|country)\b"),
    )
)


def answer_kind(question: str) -> AnswerKind:
    for name, pattern in _KIND_RULES:
        if pattern.search(question):
            return AnswerKind(name)
    return AnswerKind("any")


# --- the extractive answerer --------------------------------------------------------------------------------

_QUESTION_WORDS = frozenset(analyze("what which who whom whose when where why how many much did does do is are was "
                                    "were will would can could tell me about please kind sort happen happened "
                                    "according article articles say said", keep_stopwords=True))


@dataclass(frozen=True)
class Candidate:
    passage: Passage
    start: int
    end: int
    text: str
    score: float
    dense: float
    coverage: float
    context_coverage: float
    kind_ok: bool
    key_missing: tuple[str, ...]


@dataclass(frozen=True)
class ExtractiveConfig:
    max_sentences: int = 3
    # Weights of the sentence score; tuned on the tuning half of tests/eval/dev.yaml.
    w_dense: float = 1.0
    w_coverage: float = 1.0
    w_context: float = 0.35
    w_kind: float = 0.35
    w_rank: float = 0.15
    # Abstain when the best sentence's evidence is below these.
    min_coverage: float = 0.45
    min_context_coverage: float = 0.6
    min_dense: float = 0.2
    # A further sentence joins the answer only when it scores this close to the best one.
    extra_sentence_ratio: float = 0.92


class ExtractiveAnswerer:
    """Quotes the best-supported sentences of the passages, each followed by its [n]."""

    def __init__(self, *, abstain_message: str, config: ExtractiveConfig | None = None, dimension: int = 384) -> None:
        self.abstain_message = abstain_message
        self.config = config or ExtractiveConfig()
        self.dimension = dimension

    def answer(
        self,
        question: str,
        passages: Sequence[Passage],
        *,
        query_vector: np.ndarray | None,
        idf: IdfLookup,
        standalone_question: str | None = None,
    ) -> Draft:
        candidates = self.rank_sentences(question, passages, query_vector=query_vector, idf=idf,
                                         standalone_question=standalone_question)
        if not candidates:
            return Draft(self.abstain_message, True, [], {"candidates": 0})
        best = candidates[0]
        evidence = {"score": best.score, "dense": best.dense, "coverage": best.coverage,
                    "context_coverage": best.context_coverage, "kind_ok": float(best.kind_ok),
                    "key_missing": float(len(best.key_missing))}
        if not self._supported(best):
            return Draft(self.abstain_message, True, [], evidence)
        chosen = [best]
        for candidate in candidates[1:]:
            if len(chosen) >= self.config.max_sentences:
                break
            if candidate.score < best.score * self.config.extra_sentence_ratio or not self._supported(candidate):
                break
            if any(_overlaps(candidate, c) for c in chosen):
                continue
            chosen.append(candidate)
        return self._cite(chosen, evidence)

    def _supported(self, c: Candidate) -> bool:
        cfg = self.config
        return (c.kind_ok and not c.key_missing and c.coverage >= cfg.min_coverage
                and c.context_coverage >= cfg.min_context_coverage and c.dense >= cfg.min_dense)

    def rank_sentences(
        self,
        question: str,
        passages: Sequence[Passage],
        *,
        query_vector: np.ndarray | None,
        idf: IdfLookup,
        standalone_question: str | None = None,
    ) -> list[Candidate]:
        cfg = self.config
        kind = answer_kind(question)
        terms = _content_terms(question)
        context_terms = [t for t in _content_terms(standalone_question or question) if t not in terms]
        weights = {t: idf.idf(t) for t in terms + context_terms}
        key_terms = _key_terms(question, terms, weights)
        total = sum(weights[t] for t in terms) or 1.0
        candidates: list[Candidate] = []
        for passage in passages:
            spans = _sentence_spans(passage)
            vectors = self._sentence_vectors(passage, len(spans))
            passage_terms = set(analyze(f"{passage.title}\n{passage.text}"))
            context_total = sum(weights[t] for t in terms + context_terms) or 1.0
            context_cov = sum(weights[t] for t in terms + context_terms if t in passage_terms) / context_total
            rank_bonus = 1.0 / passage.rank
            for j, (start, end) in enumerate(spans):
                sentence = passage.text[start:end]
                if len(sentence.split()) < 4:
                    continue
                sentence_terms = set(analyze(sentence))
                # The sentence before often names the subject ("the Sutong Bridge ... opened. Its daily traffic").
                window_terms = sentence_terms | set(analyze(passage.text[spans[j - 1][0]:spans[j - 1][1]])) \
                    if j > 0 else sentence_terms
                window_terms |= set(analyze(passage.title))
                coverage = sum(weights[t] for t in terms if t in sentence_terms) / total
                window_cov = sum(weights[t] for t in terms if t in window_terms) / total
                dense = float(vectors[j] @ query_vector) if vectors is not None and query_vector is not None \
                    else float(passage.dense_score or 0.0)
                kind_ok = kind.found_in(sentence, question)
                missing = tuple(t for t in key_terms if t not in window_terms and t not in passage_terms)
                score = (cfg.w_dense * dense + cfg.w_coverage * (0.6 * coverage + 0.4 * window_cov)
                         + cfg.w_context * context_cov + cfg.w_kind * float(kind_ok) + cfg.w_rank * rank_bonus)
                candidates.append(Candidate(passage, start, end, sentence, score, dense, window_cov, context_cov,
                                            kind_ok, missing))
        candidates.sort(key=lambda c: -c.score)
        return candidates

    def _sentence_vectors(self, passage: Passage, count: int) -> np.ndarray | None:
        packed = passage.metadata.get("sentvecs")
        if not packed:
            return None
        vectors = unpack_vectors(str(packed), self.dimension)
        return vectors if len(vectors) == count else None

    def _cite(self, chosen: Sequence[Candidate], evidence: dict[str, float]) -> Draft:
        numbers: dict[str, int] = {}
        grouped: dict[str, list[Candidate]] = {}
        for c in chosen:
            numbers.setdefault(c.passage.chunk_id, len(numbers) + 1)
            grouped.setdefault(c.passage.chunk_id, []).append(c)
        # Keep the passage's own order of sentences, so a quote reads as in the article.
        parts = [f"{c.text.strip()} [{numbers[c.passage.chunk_id]}]"
                 for c in sorted(chosen, key=lambda c: (numbers[c.passage.chunk_id], c.start))]
        citations = []
        for chunk_id, n in numbers.items():
            group = sorted(grouped[chunk_id], key=lambda c: c.start)
            passage = group[0].passage
            start, end = group[0].start, group[-1].end
            citations.append(Citation(n=n, title=passage.title, published=passage.published, source=passage.source,
                                      chunk_id=chunk_id, text=passage.text, quote=passage.text[start:end],
                                      score=round(max(c.score for c in group), 4), quote_start=start, quote_end=end))
        return Draft(" ".join(parts), False, citations, evidence)


def _content_terms(question: str) -> list[str]:
    seen: dict[str, None] = {}
    for term in analyze(question):
        if term not in _QUESTION_WORDS:
            seen.setdefault(term, None)
    return list(seen)


def _key_terms(question: str, terms: Sequence[str], weights: dict[str, float]) -> tuple[str, ...]:
    """Names and rare words the answer must be about: proper nouns of the question, and terms much rarer than
    the rest. A passage missing one of them is about something else."""
    proper = {t for m in _PROPER.findall(question) for t in analyze(m)}
    if not weights:
        return ()
    ceiling = max(weights.values())
    rare = {t for t in terms if weights[t] >= 0.8 * ceiling and ceiling > 2.0}
    return tuple(t for t in terms if t in proper or t in rare)


def _sentence_spans(passage: Passage) -> list[tuple[int, int]]:
    raw = passage.metadata.get("sentences")
    if raw:
        try:
            return [(int(s), int(e)) for s, e in json.loads(str(raw))]
        except (ValueError, TypeError):
            pass
    return [(m.start(), m.end()) for m in re.finditer(r"[^.!?]+[.!?]*", passage.text) if m.group(0).strip()]


def _overlaps(a: Candidate, b: Candidate) -> bool:
    if a.passage.chunk_id == b.passage.chunk_id:
        return a.start < b.end and b.start < a.end
    return a.text.strip() == b.text.strip()
