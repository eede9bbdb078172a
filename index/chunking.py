"""Sentence splitting and sentence-packed chunks that the embedding model sees whole.

MiniLM silently truncates past 256 word pieces (incl. [CLS]/[SEP]), so chunks are bounded in the embedding
model's word pieces, never in characters; a sentence longer than the bound is split at clauses, then words.
"""
from __future__ import annotations

import bisect
import logging
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

logger = logging.getLogger(__name__)

CHUNKER_VERSION = "sentences-v1"  # bump when chunk boundaries change (the index records it)

Span = tuple[int, int]


@dataclass(frozen=True)
class Chunk:
    index: int
    text: str
    start: int  # body[start:end] == text
    end: int
    sentences: tuple[Span, ...]  # sentence spans relative to `text`
    n_tokens: int  # tiktoken cl100k
    n_wordpieces: int  # embedding-model word pieces (without [CLS]/[SEP])
    page: int | None  # 1-based PDF page where the chunk starts


# --------------------------------------------------------------------------------------------- sentences

_CLOSERS = "\"'”’)]»」』"
# A run of sentence terminators, possibly mixed with closing quotes/brackets: `.`, `?"`, `."."`, `!)`.
_TERMINATOR_RUN = re.compile(r"[.?!…。？！]+[" + re.escape(_CLOSERS) + r".?!…。？！]*")
# Two sentences glued by the source: "the countryJiangsu is", "linkedThe plenary" (a lowercase word of 4+
# letters directly followed by Capital+lowercase; "LinkedIn", "PowerPoint" start with a capital, so stay whole).
_GLUED_WORDS = re.compile(r"(?<![^\W\d_])[a-z]{4,}(?=[A-Z][a-z])")
_WORD_BEFORE = re.compile(r"([^\W\d_][\w.'’-]*)$")
_ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "ft", "vs", "al", "inc", "ltd", "co", "corp",
    "gov", "gen", "col", "lt", "sgt", "capt", "cmdr", "adm", "rep", "sen", "rev", "hon", "pres", "supt", "messrs",
    "mme", "mlle", "dept", "est", "approx", "e.g", "i.e", "cf", "ph.d", "a.k.a", "u.s", "u.k", "u.n", "u.s.a",
    "e.u", "d.c", "viz",
})
# Abbreviations that only precede a number: "No. 1", "Jan. 5", "Vol. 3", "Fig. 2", "pp. 4".
_NUMBER_ABBREVIATIONS = frozenset({
    "no", "nos", "vol", "vols", "fig", "figs", "pp", "p", "art", "sec", "ch", "chap", "para", "ref", "op", "ed",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
})
# A web address (with a scheme, "www.", or a domain and a path; ASCII, so CJK text after one keeps its full stops),
# without the punctuation after it. Its dots are not sentence ends ("example.org/News.Today"), and its last letter
# is no initial: "see https://example.org/x. Ships".
# (It starts only where a word starts, and takes its body greedily, the punctuation after it trimmed in Python: a
# lazy body with a lookahead, tried at every dot, took seconds on 10 KB of "a.a.a.".)
_URL = re.compile(r"(?<![a-z0-9+.-])(?:[a-z][a-z0-9+.-]*://|www\.|(?:[a-z0-9-]+\.)+[a-z]{2,}/)[!#-;=?-~]*",
                  re.IGNORECASE)
_URL_TRAILING = ".,;:!?)]'"


def _url_spans(text: str) -> list[tuple[int, int]]:
    """Where each web address starts and ends, without the punctuation after it ("(see https://x.org/a)." ->
    "https://x.org/a")."""
    return [(m.start(), m.start() + len(m.group(0).rstrip(_URL_TRAILING))) for m in _URL.finditer(text)]
_STRUCTURAL_LINE = re.compile(r"^\s*(?:#{1,6}\s|[-*+•]\s|\d{1,3}[.)]\s|\|)")


def split_sentences(text: str, *, soft_breaks: Collection[int] = ()) -> list[Span]:
    """Sentence spans (start, end) in text, surrounding whitespace excluded. `soft_breaks`: offsets of line breaks
    known to be soft wraps, whatever the width of their line (one a Markdown link's target was taken out of)."""
    cuts = set(_terminator_cuts(text))
    cuts.update(match.end() for match in _GLUED_WORDS.finditer(text))
    soft = set(soft_breaks)
    cuts.update(cut for cut in _newline_cuts(text) if cut not in soft)
    spans: list[Span] = []
    previous = 0
    for cut in sorted(cuts) + [len(text)]:
        if cut <= previous:
            continue
        span = _trim(text, previous, cut)
        if span is not None:
            spans.append(span)
        previous = cut
    return spans


def _trim(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if start < end else None


def _terminator_cuts(text: str) -> list[int]:
    cuts: list[int] = []
    urls = _url_spans(text)
    url_starts = [start for start, _ in urls]
    for match in _TERMINATOR_RUN.finditer(text):
        end = match.end()
        run = match.group()
        url = bisect.bisect_right(url_starts, match.start()) - 1
        if url >= 0 and match.start() < urls[url][1]:
            continue  # a dot inside a web address
        after_url = url >= 0 and match.start() == urls[url][1]
        if end >= len(text) or any(c in "。？！" for c in run):
            cuts.append(end)  # CJK text puts no space after its full-width terminators
            continue
        following = text[end]
        if following.isspace():
            rest = text[end:].lstrip()
            if not rest:
                cuts.append(end)
                continue
            nxt = rest[0]
            if nxt.islower():
                continue  # "the U.S. economy", '"Why?" he asked'
            if run[0] == "." and not after_url and _is_abbreviation(text, match.start(), nxt):
                continue
            cuts.append(end)
        elif following.isupper() or (following in "\"“‘«「『" and end + 1 < len(text) and text[end + 1].isupper()):
            # Glued by the source: "powerful.Hand", '?"In accordance', '"people-oriented".At present'.
            if any(c in _CLOSERS for c in run) or _glued_period(text, match.start()):
                cuts.append(end)
    return cuts


def _is_abbreviation(text: str, dot: int, nxt: str) -> bool:
    """Is the "." at `dot` part of an abbreviation or initial rather than a sentence end?"""
    found = _WORD_BEFORE.search(text, max(0, dot - 20), dot)
    if not found:
        return False
    word = found.group(1).lower().strip("'’-")
    last = word.rsplit(".", 1)[-1]
    if len(last) == 1 and last.isalpha():
        return True  # an initial or initialism: "J. Smith", "U.S. President"
    if word in _ABBREVIATIONS or last in _ABBREVIATIONS:
        return True
    return (word in _NUMBER_ABBREVIATIONS or last in _NUMBER_ABBREVIATIONS) and nxt.isdigit()


def _glued_period(text: str, dot: int) -> bool:
    """A terminator directly followed by a capital ends a sentence after a word or number, not in "U.S.A"."""
    if dot == 0:
        return False
    before = text[dot - 1]
    if before.isdigit() or before in _CLOSERS:
        return True  # "in 2024.The", '"people-oriented".At present'
    if not before.isalpha():
        return False
    found = _WORD_BEFORE.search(text, max(0, dot - 20), dot)
    word = found.group(1).lower() if found else ""
    last = word.rsplit(".", 1)[-1]
    return len(last) >= 2 and "." not in word and word not in _ABBREVIATIONS


PARAGRAPH = re.compile(r"[^\n]+(?:\n[ \t]*[^\s][^\n]*)*")


def _newline_cuts(text: str) -> list[int]:
    """Line breaks that end a sentence: blank lines, headings/list items, short lines; not soft wraps."""
    cuts: list[int] = []
    for paragraph in PARAGRAPH.finditer(text):
        lines = paragraph.group().split("\n")
        position = paragraph.start()
        for current, wrapped in zip(lines, soft_wraps(lines)):
            position += len(current) + 1
            if not wrapped:
                cuts.append(position - 1)
        cuts.append(paragraph.end())
    return cuts


def soft_wraps(lines: Sequence[str], widths: Sequence[int] | None = None) -> list[bool]:
    """For each line break of a paragraph (between lines[k] and lines[k + 1]): does the text go on across it? It
    does when the line is about as wide as the paragraph's widest (in `widths`, when the lines were laid out wider
    than their text is now), at most 200 characters, and neither it nor the next is a heading, list item or table
    row."""
    shown = [len(line.rstrip()) for line in lines]
    widths = shown if widths is None else widths
    widest = max(widths)
    return [widths[k] >= 0.7 * widest and shown[k] <= 200 and not _STRUCTURAL_LINE.match(lines[k])
            and not _STRUCTURAL_LINE.match(lines[k + 1]) for k in range(len(lines) - 1)]


# --------------------------------------------------------------------------------------------- chunks

_CLAUSE_END = re.compile(r"[,;:，；：)\]—–]+[" + re.escape(_CLOSERS) + r"]*(?=\s)|\s[-–—]+(?=\s)")


class Chunker:
    """Packs whole sentences into chunks of at most `max_wordpieces` embedding-model word pieces."""

    def __init__(
        self,
        *,
        count_wordpieces: Callable[[str], int],
        count_tokens: Callable[[str], int],
        max_wordpieces: int = 200,
        overlap_sentences: int = 1,
        count_wordpieces_many: Callable[[Sequence[str]], list[int]] | None = None,
    ) -> None:
        if not callable(count_wordpieces) or not callable(count_tokens):
            raise ValueError("count_wordpieces and count_tokens must be functions that take a text and return an int.")
        if isinstance(max_wordpieces, bool) or not isinstance(max_wordpieces, int) or max_wordpieces < 1:
            raise ValueError(
                f"max_wordpieces must be a whole number greater than 0. Currently, it is {max_wordpieces!r}."
            )
        if isinstance(overlap_sentences, bool) or not isinstance(overlap_sentences, int) or overlap_sentences < 0:
            raise ValueError(
                f"overlap_sentences must be a whole number, 0 or more. Currently, it is {overlap_sentences!r}."
            )
        self.count_wordpieces = count_wordpieces
        # Counting an article's sentences in one batched call is several times faster than one call each.
        self.count_wordpieces_many = count_wordpieces_many or (lambda texts: [count_wordpieces(t) for t in texts])
        self.count_tokens = count_tokens
        self.max_wordpieces = max_wordpieces
        self.overlap_sentences = overlap_sentences

    def chunk(self, body: str, *, page_starts: Sequence[int] = (), soft_breaks: Collection[int] = ()) -> list[Chunk]:
        """`soft_breaks`: offsets of line breaks in `body` that are soft wraps, whatever their line's width."""
        units = self._units(body, soft_breaks)
        spans = [span for span, _ in units]
        counts = [count for _, count in units]
        chunks: list[Chunk] = []
        first = 0
        while first < len(spans):
            last, pieces = self._pack(body, spans, counts, first)
            start, end = spans[first][0], spans[last][1]
            text = body[start:end]
            chunks.append(Chunk(
                index=len(chunks),
                text=text,
                start=start,
                end=end,
                sentences=tuple((s - start, e - start) for s, e in spans[first:last + 1]),
                n_tokens=self.count_tokens(text),
                n_wordpieces=pieces,
                page=max(1, bisect.bisect_right(page_starts, start)) if page_starts else None,
            ))
            if last + 1 >= len(spans):
                break
            following = last + 1
            # Overlap: start the next chunk on the last sentences of this one, if they fit with the next one.
            for overlap in range(min(self.overlap_sentences, last - first), 0, -1):
                candidate = following - overlap
                if (sum(counts[candidate:following + 1]) <= self.max_wordpieces
                        and self._count(body, spans[candidate][0], spans[following][1]) <= self.max_wordpieces):
                    following = candidate
                    break
            first = following
        return chunks

    def _count(self, body: str, start: int, end: int) -> int:
        return self.count_wordpieces(body[start:end])

    def _pack(self, body: str, spans: Sequence[Span], counts: Sequence[int], first: int) -> tuple[int, int]:
        """The last unit index of the chunk starting at `first`, and the chunk's word-piece count."""
        return _pack(spans, counts, first, self.max_wordpieces, lambda s, e: self._count(body, s, e))

    def _units(self, body: str, soft_breaks: Collection[int] = ()) -> list[tuple[Span, int]]:
        """Sentences with their counts; a sentence over the limit is split at clauses, then words, then characters."""
        units: list[tuple[Span, int]] = []
        sentences = split_sentences(body, soft_breaks=soft_breaks)
        counts = self.count_wordpieces_many([body[start:end] for start, end in sentences])
        for (start, end), count in zip(sentences, counts, strict=True):
            if count <= self.max_wordpieces:
                units.append(((start, end), count))
            else:
                units.extend(self._split_long(body, start, end))
        return units

    def _split_long(self, body: str, start: int, end: int) -> list[tuple[Span, int]]:
        cuts = [m.end() + start for m in _CLAUSE_END.finditer(body[start:end])]
        pieces: list[tuple[Span, int]] = []
        for clause in _split_at(body, start, end, cuts):
            count = self._count(body, *clause)
            if count <= self.max_wordpieces:
                pieces.append((clause, count))
            else:
                pieces.extend(self._split_words(body, *clause))
        return self._merge(body, pieces)

    def _split_words(self, body: str, start: int, end: int) -> list[tuple[Span, int]]:
        cuts = [m.start() + start for m in re.finditer(r"\s+", body[start:end])]
        pieces: list[tuple[Span, int]] = []
        for word in _split_at(body, start, end, cuts):
            count = self._count(body, *word)
            if count <= self.max_wordpieces:
                pieces.append((word, count))
            else:
                pieces.extend(self._split_chars(body, *word))
        return self._merge(body, pieces)

    def _split_chars(self, body: str, start: int, end: int) -> list[tuple[Span, int]]:
        """A single "word" over the limit (a long URL or code): the longest prefixes that fit."""
        pieces: list[tuple[Span, int]] = []
        while start < end:
            low, high = start + 1, end
            while low < high:  # the largest cut with body[start:cut] within the limit (at least one character)
                middle = (low + high + 1) // 2
                if self._count(body, start, middle) <= self.max_wordpieces:
                    low = middle
                else:
                    high = middle - 1
            pieces.append(((start, low), self._count(body, start, low)))
            start = low
        return pieces

    def _merge(self, body: str, pieces: Sequence[tuple[Span, int]]) -> list[tuple[Span, int]]:
        """Join neighbouring pieces of one long sentence while the joined text still fits."""
        spans = [span for span, _ in pieces]
        counts = [count for _, count in pieces]
        merged: list[tuple[Span, int]] = []
        first = 0
        while first < len(spans):
            last, count = _pack(spans, counts, first, self.max_wordpieces, lambda s, e: self._count(body, s, e))
            merged.append(((spans[first][0], spans[last][1]), count))
            first = last + 1
        return merged


def _pack(
    spans: Sequence[Span], counts: Sequence[int], first: int, limit: int, count: Callable[[int, int], int],
) -> tuple[int, int]:
    """Greedy packing from `first`: extend while the summed counts fit, then check the joined text for real.

    Word-piece counts add up across whitespace, so the sum is usually exact and one real count confirms it; text
    glued without a space ("countryJiangsu") tokenizes differently, so the real count has the last word.
    """
    last, total = first, counts[first]
    while last + 1 < len(spans) and total + counts[last + 1] <= limit:
        last += 1
        total += counts[last]
    while last > first:
        actual = count(spans[first][0], spans[last][1])
        if actual <= limit:
            return last, actual
        last -= 1
    return first, counts[first]


def _split_at(body: str, start: int, end: int, cuts: Sequence[int]) -> list[Span]:
    spans: list[Span] = []
    previous = start
    for cut in [*cuts, end]:
        if cut <= previous:
            continue
        span = _trim(body, previous, min(cut, end))
        if span is not None:
            spans.append(span)
        previous = cut
    return spans
