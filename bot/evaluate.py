"""`bot eval`: run a scripted question set through the pipeline and score the answers.

A question set is YAML (a list of cases, or `{"cases": [...]}`) or JSONL (one case per line, also RAGAS-style rows
with `user_input` / `reference` / `reference_contexts`). Each case is judged on its own (`Verdicts`), and the
metrics are computed from the same per-case rows that `write_results` stores, so `compare_results` can recompute
them from two results files without the question set.
"""
from __future__ import annotations

import json
import logging
import math
import os
import re
import statistics
import string
import sys
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from bot.errors import ConfigError, IndexMismatchError, IndexMissingError, StoreUnavailableError, UsageError
from bot.schema import CITATION_MARKER, Answer, Passage
from bot.small_talk import small_talk_kind

log = logging.getLogger(__name__)

# A conversation turn, as `Pipeline.ask` takes it: an earlier user question or {"role", "content"}.
Turn = str | Mapping[str, str]
# Facts that must all appear in the answer; an item that is a tuple is a set of alternatives (any one suffices).
Expected = tuple[str | tuple[str, ...], ...]

CASE_KEYS = ("id", "question", "history", "expected", "unexpected", "sources", "answerable", "small_talk",
             "reference", "reference_contexts", "split", "kind")
# The fields of a RAGAS sample (single- or multi-turn, or a generated test set). A row with `user_input` may have
# these and the case keys above (`answerable`, `expected`, ... are honoured as in any case).
RAGAS_KEYS = ("user_input", "reference", "reference_contexts", "retrieved_contexts", "response", "multi_responses",
              "rubrics", "synthesizer_name", "reference_tool_calls", "reference_topics")
ROLES = ("user", "assistant")
# A transcript's system turns (OpenAI-style) instruct a model; the bot has none to instruct, so they are left out.
IGNORED_ROLES = ("system",)
# RAGAS multi-turn samples name the speakers this way.
RAGAS_ROLES = {"human": "user", "user": "user", "ai": "assistant", "assistant": "assistant"}
# Failures of the whole set-up, not of one case: stopping beats recording the same error for every case.
RUN_STOPPERS = (IndexMissingError, IndexMismatchError, StoreUnavailableError, ConfigError)
# Threshold comparisons forgive float noise (17/20 vs 0.85).
EPSILON = 1e-9


class AskingPipeline(Protocol):
    def ask(self, question: str, *, history: Sequence[Turn] | None = None, k: int | None = None) -> Answer: ...


@dataclass(frozen=True)
class EvalCase:
    id: str
    question: str
    history: tuple[Turn, ...] = ()
    expected: Expected = ()
    # Texts that must not be in the answer (a wrong answer rated down): any one found makes the answer wrong.
    unexpected: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    answerable: bool = True
    # The reply should be small talk or the list of articles (a greeting, "What articles do you have?"), as
    # `small_talk` marks it in the answer: such a reply is no abstention, and only such a case expects it.
    small_talk: bool = False
    reference: str | None = None
    # RAGAS's gold passages: a retrieved passage holding one is gold, as one from a `sources` article is.
    reference_contexts: tuple[str, ...] = ()
    split: str | None = None
    # A free label for breakdowns (e.g. "date", "follow-up", "off-topic"); not used in scoring.
    kind: str | None = None


# ---------------------------------------------------------------------------------------------------------------
# Matching rules


_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\uff0c": ","})
# Hyphens and dashes read as spaces, so "Su Tong" matches "Su-Tong" (and "2008–2010" holds "2008").
_DASHES = str.maketrans(dict.fromkeys("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212", " "))
# A comma between digits is a thousands separator (90,000 is 90000); any other comma is a pause, like a space.
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
# Letters and digits of the scripts that put spaces between words: a fact may not begin or end inside one of their
# words ("9" is not in "19", "Wu" not in "Wuxi"). Chinese or Japanese text has no spaces to go by, so a fact in it
# matches anywhere, as before.
_WORD_CHARS = "0-9a-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff"


def normalise_for_match(text: str) -> str:
    """Case-insensitive, thousands separators dropped (90000 matches 90,000), other commas and hyphens read as spaces,
    runs of spaces collapsed, curly quotes straight."""
    text = _THOUSANDS.sub("", text.translate(_QUOTES).translate(_DASHES)).replace(",", " ")
    return " ".join(text.lower().split())


def without_markers(text: str) -> str:
    """The answer without its [n] citation markers: "[1]" holds no fact ("1"), and is no word of the answer."""
    return CITATION_MARKER.sub("", text)


def _fact_pattern(fact: str) -> re.Pattern[str]:
    """The normalised fact as a whole: a word not inside a longer word ("Wu" is not in "Wuxi"), a number not inside
    a longer number ("9" is not in "19", nor "5" in "5.2"). A number ends where its digits do: "November 8" is in
    "November 8th", "5" in "5km"."""
    before = after = ""
    if fact[:1].isdigit():
        before = r"(?<!\d)(?<!\d\.)"
    elif re.match(f"[{_WORD_CHARS}]", fact):
        before = f"(?<![{_WORD_CHARS}])"
    if fact[-1:].isdigit():
        after = r"(?!\d)(?!\.\d)"
    elif re.search(f"[{_WORD_CHARS}]$", fact):
        after = f"(?![{_WORD_CHARS}])"
    return re.compile(before + re.escape(fact) + after)


def contains_fact(text: str, item: str | Sequence[str]) -> bool:
    """Whether `text` contains the fact `item` (a string, or alternatives of which any one suffices), as whole words
    and numbers: "Nantong" is in "Nantong's", "9" is not in "19"."""
    haystack = normalise_for_match(text)
    alternatives = (item,) if isinstance(item, str) else tuple(item)
    facts = [normalise_for_match(alternative) for alternative in alternatives]
    return any(fact and _fact_pattern(fact).search(haystack) for fact in facts)


def missing_facts(text: str, expected: Expected) -> tuple[str, ...]:
    """The expected items not found in `text`, alternatives shown joined by ' | '."""
    return tuple(_show_item(item) for item in expected if not contains_fact(text, item))


def found_unwanted(text: str, unexpected: Sequence[str]) -> tuple[str, ...]:
    """The unexpected items found in `text` (matched as expected items are)."""
    return tuple(item for item in unexpected if contains_fact(text, item))


def matches_source(title: str, source: str, wanted: Iterable[str]) -> bool:
    """Whether any wanted substring occurs in the title or the source (case-insensitive)."""
    title_n, source_n = normalise_for_match(title), normalise_for_match(source)
    return any(normalise_for_match(w) in title_n or normalise_for_match(w) in source_n for w in wanted)


# A sentence of a reference context this long, found in a passage, makes it a gold passage: a context longer than a
# chunk (or cut across two) is not in any one passage whole, yet one of its sentences is in the passage that holds it.
# Shorter sentences ("It did.") are in too many passages to tell.
CONTEXT_SENTENCE_WORDS = 6
_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f])\s+")


def _flat(text: str) -> str:
    return " ".join(text.translate(_QUOTES).lower().split())


def holds_context(passage: str, contexts: Iterable[str]) -> bool:
    """Whether the passage text holds a reference context (RAGAS `reference_contexts`): the context whole, a
    sentence of it of CONTEXT_SENTENCE_WORDS words or more, or the passage is itself a part of the context. Case,
    curly quotes and runs of white space are ignored."""
    text = _flat(passage)
    if not text:
        return False
    for context in contexts:
        flat = _flat(context)
        if not flat:
            continue
        if flat in text or (len(text.split()) >= CONTEXT_SENTENCE_WORDS and text in flat):
            return True
        if any(len(s.split()) >= CONTEXT_SENTENCE_WORDS and s in text for s in _SENTENCE_END.split(flat)):
            return True
    return False


def is_gold(case: EvalCase, title: str, source: str, text: str) -> bool:
    """A retrieved or cited passage is gold when its article is one of the case's `sources` or it holds one of its
    `reference_contexts`."""
    return bool(case.sources and matches_source(title, source, case.sources)) or bool(
        case.reference_contexts and holds_context(text, case.reference_contexts))


def _show_item(item: str | Sequence[str]) -> str:
    return item if isinstance(item, str) else " | ".join(item)


_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)


def _squad_normalise(text: str) -> list[str]:
    text = "".join(ch for ch in text.translate(_QUOTES).lower() if ch not in _PUNCTUATION)
    return _ARTICLES.sub(" ", text).split()


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style token F1 (lower case, punctuation and articles removed, bag of tokens)."""
    predicted, gold = _squad_normalise(prediction), _squad_normalise(reference)
    if not predicted or not gold:
        return float(predicted == gold)
    same = sum((Counter(predicted) & Counter(gold)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(predicted), same / len(gold)
    return 2 * precision * recall / (precision + recall)


# ---------------------------------------------------------------------------------------------------------------
# Judging one case


@dataclass(frozen=True)
class Verdicts:
    """How one case went. `None` means the check does not apply to the case."""

    passed: bool
    answerable: bool
    # Declined ("the articles do not answer"). A small-talk reply or the article list is not a decline.
    abstained: bool
    # Answerable case with `expected` or `unexpected`: not abstained, every expected item in the answer and no
    # unexpected one.
    correct: bool | None
    missing: tuple[str, ...]
    unexpected_found: tuple[str, ...]
    # Answerable case with `sources`: 1-based rank of the first retrieved passage from a gold source, None if none.
    retrieval_judged: bool
    gold_rank: int | None
    gold_cited: bool | None
    cited: int
    # Answerable case with `expected`: how many cited passages contain every expected item.
    cited_with_facts: int | None
    f1: float | None
    # The case expects small talk or the article list (its `small_talk: true`); the answer's `small_talk` says
    # whether the reply was one.
    small_talk_expected: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "answerable": self.answerable,
            "abstained": self.abstained,
            "correct": self.correct,
            "missing": list(self.missing),
            "unexpected_found": list(self.unexpected_found),
            "retrieval_judged": self.retrieval_judged,
            "gold_rank": self.gold_rank,
            "gold_cited": self.gold_cited,
            "cited": self.cited,
            "cited_with_facts": self.cited_with_facts,
            "f1": self.f1,
            "small_talk_expected": self.small_talk_expected,
        }


def judge(case: EvalCase, answer: Answer | None) -> Verdicts:
    """Score one answer (None: the pipeline raised, which counts as a wrong, non-abstaining answer).

    A small-talk reply or the article list (the answer's `small_talk`) is no abstention. It is the right kind of
    reply only for a case with `small_talk: true`, and then the only right one; a reply of the wrong kind holds none
    of the case's facts."""
    small_talk = bool(answer is not None and answer.small_talk)
    abstained = bool(answer is not None and answer.abstained and not small_talk)
    fitting = answer is not None and small_talk == case.small_talk
    text = without_markers(answer.answer) if fitting else ""
    citations = list(answer.citations) if answer is not None else []
    judged = case.answerable

    correct: bool | None = None
    missing: tuple[str, ...] = ()
    unexpected_found: tuple[str, ...] = ()
    cited_with_facts: int | None = None
    if judged and (case.expected or case.unexpected):
        answered = fitting and not abstained
        missing = missing_facts(text, case.expected) if answered else tuple(map(_show_item, case.expected))
        unexpected_found = found_unwanted(text, case.unexpected) if answered else ()
        correct = answered and not missing and not unexpected_found
    if judged and case.expected:
        cited_with_facts = sum(
            1 for c in citations if all(contains_fact(c.text, item) for item in case.expected)
        )

    retrieval_judged = judged and bool(case.sources or case.reference_contexts)
    gold_rank: int | None = None
    gold_cited: bool | None = None
    if retrieval_judged:
        passages = sorted(answer.passages, key=lambda p: p.rank) if answer is not None else []
        gold_rank = next((i for i, p in enumerate(passages, 1) if is_gold(case, p.title, p.source, p.text)), None)
        gold_cited = any(is_gold(case, c.title, c.source, c.text) for c in citations)

    f1: float | None = None
    # (A blank reference gives no F1: an abstention scored 1.0 against it, on a case that failed.)
    if case.reference is not None and case.reference.strip():
        f1 = token_f1("" if abstained else text, case.reference)

    if answer is None or not fitting:
        passed = False
    elif case.small_talk:
        passed = correct is not False
    elif not case.answerable:
        passed = abstained
    else:
        passed = not abstained and correct is not False and gold_cited is not False
    return Verdicts(
        passed=passed,
        answerable=case.answerable,
        abstained=abstained,
        correct=correct,
        missing=missing,
        unexpected_found=unexpected_found,
        retrieval_judged=retrieval_judged,
        gold_rank=gold_rank,
        gold_cited=gold_cited,
        cited=len(citations),
        cited_with_facts=cited_with_facts,
        f1=f1,
        small_talk_expected=case.small_talk,
    )


@dataclass(frozen=True)
class CaseResult:
    case: EvalCase
    answer: Answer | None
    error: str | None = None
    # The conversation the question was asked in: the case's history, with the bot's own answers between the
    # earlier questions when the case gave only those (see `replay`).
    history: tuple[Turn, ...] = ()
    # Passages retrieved per question in the run (None: the pipeline's default, not known here).
    k: int | None = None
    verdicts: Verdicts = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "verdicts", judge(self.case, self.answer))

    @property
    def retrieved(self) -> list[Passage]:
        return sorted(self.answer.passages, key=lambda p: p.rank) if self.answer is not None else []

    def to_dict(self) -> dict[str, Any]:
        """One line of the results file: the answer's public JSON shape plus id, the run's k, what was retrieved,
        the conversation, the case's own definition (so a results file can be broken down by split or judged again
        without the question set), verdicts and any error."""
        case = self.case
        if self.answer is not None:
            body = self.answer.to_dict()
        else:
            body = {"question": case.question, "answer": "", "abstained": False, "small_talk": False,
                    "no_filter_match": False, "citations": [], "timings_ms": {}}
        row: dict[str, Any] = {"id": case.id, **body, "k": self.k}
        row["retrieved"] = [{"rank": p.rank, "title": p.title, "source": p.source, "chunk_id": p.chunk_id}
                            for p in self.retrieved]
        row["history"] = [t if isinstance(t, str) else dict(t) for t in self.history]
        for key, value in (("split", case.split), ("kind", case.kind), ("reference", case.reference)):
            if value is not None:
                row[key] = value
        if case.expected:
            row["expected"] = [item if isinstance(item, str) else list(item) for item in case.expected]
        for key, values in (("unexpected", case.unexpected), ("sources", case.sources),
                            ("reference_contexts", case.reference_contexts)):
            if values:
                row[key] = list(values)
        row["verdicts"] = self.verdicts.to_dict()
        if self.error is not None:
            row["error"] = self.error
        return row


# ---------------------------------------------------------------------------------------------------------------
# Loading question sets


def _read_text(path: Path, what: str, *, missing: str, folder: str) -> str:
    """The file's text, or a UsageError naming it ("Question set x.yaml does not exist. Check the path.")."""
    try:
        return path.read_text(encoding="utf-8-sig")  # (a byte-order mark, as some Windows editors write, is no text)
    except FileNotFoundError:
        raise UsageError(f"{what} {path} does not exist. {missing}") from None
    except IsADirectoryError:
        raise UsageError(f"{what} {path} is a folder. {folder}") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{what} {path} is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    except OSError as exc:
        raise UsageError(f"Cannot read {what.lower()} {path}: {exc.strerror or exc}.") from None


def load_cases(path: Path, *, split: str | None = None, max_question_chars: int | None = None) -> list[EvalCase]:
    """Read a question set (YAML or JSONL, see the module doc; `-` reads stdin, JSONL or YAML as its text shows);
    malformed input raises UsageError saying where. A question longer than `max_question_chars` is malformed too."""
    path = Path(path)
    if path.suffix.lower() in (".csv", ".tsv", ".xlsx", ".xls"):  # (YAML reads a CSV as one string)
        raise UsageError(f"Question set {path} is a spreadsheet ({path.suffix}); bot eval reads YAML or JSONL "
                         "question sets. Save the cases as JSONL, one {\"question\": ...} object a line.")
    if is_std_stream(path):
        text, path = _read_stdin(), Path("stdin")  # (named so in the messages)
    else:
        text = _read_text(path, "Question set", missing="Check the path.", folder="Give a .yaml or .jsonl file.")

    entries = _read_jsonl(path, text) if _is_jsonl(path, text) else _read_yaml(path, text)
    cases = [_parse_case(obj, where=where, number=n, max_chars=max_question_chars)
             for n, (where, obj) in enumerate(entries, 1)]
    if not cases:
        raise UsageError(f"Question set {path} has no cases. Add at least one case with a question.")

    first_seen: dict[str, str] = {}
    for (where, obj), case in zip(entries, cases):
        if case.id in first_seen:
            if obj.get("id") is None:  # the id is the one made from its position: the case did not give it
                raise UsageError(f"{where}: this case has no `id`, and its automatic id {case.id!r} (from its "
                                 f"position) is already used at {first_seen[case.id]}. Give the cases ids.")
            raise UsageError(
                f"{where}: duplicate id {case.id!r} (already used at {first_seen[case.id]}). Give each case its own id."
            )
        first_seen[case.id] = where

    if split is not None:
        chosen = [case for case in cases if case.split == split]
        if not chosen:
            known = sorted({case.split for case in cases if case.split is not None})
            hint = f"Splits in the file: {', '.join(known)}." if known else "No case in the file has a split."
            raise UsageError(f"No case in {path} has split {split!r}. {hint}")
        cases = chosen
    return cases


def is_std_stream(path: Path | str | None) -> bool:
    """Whether a file argument is `-`: the question set read from stdin, or results or a report written to stdout."""
    return path is not None and str(path) == "-"


def _read_stdin() -> str:
    stream = sys.stdin
    if stream is None or stream.isatty():  # (it would wait for typing, with no prompt)
        raise UsageError("`bot eval -` reads the question set from stdin, which is a terminal. Pipe a set into it: "
                         "`cat set.jsonl | bot eval -`.")
    data = stream.buffer.read() if hasattr(stream, "buffer") else stream.read().encode("utf-8")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UsageError(f"The question set on stdin is not UTF-8 text ({exc.reason} at byte {exc.start}).") from None


def _is_jsonl(path: Path, text: str) -> bool:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return True
    if suffix in (".yaml", ".yml"):
        return False
    # Otherwise sniff: JSONL starts with a line that is a JSON object by itself: a case, not one holding the
    # `cases` (JSON on one line, which YAML reads).
    first = next((line for line in text.splitlines() if line.strip()), "")
    try:
        obj = json.loads(first)
    except (ValueError, RecursionError):
        return False
    return isinstance(obj, dict) and not ("cases" in obj and "question" not in obj and "user_input" not in obj)


def _read_jsonl(path: Path, text: str) -> list[tuple[str, Any]]:
    entries: list[tuple[str, Any]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise UsageError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno}).") from None
        except RecursionError:
            raise UsageError(f"{where}: nested too deeply to be a case.") from None
        case_id = obj.get("id") if isinstance(obj, Mapping) else None
        entries.append((where + (f" (id {case_id!r})" if case_id is not None else ""), obj))
    return entries


def _read_yaml(path: Path, text: str) -> list[tuple[str, Any]]:
    import yaml  # only `bot eval` needs it

    try:
        data = yaml.safe_load(text)
    except RecursionError:
        raise UsageError(f"{path}: not valid YAML (nested too deeply to be a question set).") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        at = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise UsageError(f"{path}{at}: not valid YAML ({problem}).") from None
    if isinstance(data, Mapping):
        if "cases" not in data:
            raise UsageError(f"{path}: a YAML question set is a list of cases or a mapping with a `cases:` list.")
        data = data["cases"]
    if data is None:
        data = []
    if isinstance(data, (str, int, float)):  # plain text, not YAML written to hold cases
        raise UsageError(f"{path}: neither JSONL (one case a line) nor a YAML list of cases; it reads as plain "
                         "text. See `bot eval` in the README for the format.")
    if not isinstance(data, list):
        raise UsageError(f"{path}: the cases must be a YAML list, not {_type_name(data)}.")
    entries = []
    for n, obj in enumerate(data, 1):
        case_id = obj.get("id") if isinstance(obj, Mapping) else None
        where = f"{path}, case {n}" + (f" (id {case_id!r})" if case_id is not None else "")
        entries.append((where, obj))
    return entries


def _type_name(value: Any) -> str:
    names = {dict: "a mapping", list: "a list", str: "a string", int: "a number", float: "a number",
             bool: "true/false", type(None): "empty"}
    return names.get(type(value), type(value).__name__)


def _unknown_key(obj: Mapping[str, Any], known: Sequence[str], *, where: str, what: str) -> None:
    """Refuse a key no case has: a misspelt one (`refrence_contexts`) would be dropped without a word."""
    import difflib

    for key in obj:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.75)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UsageError(f"{where}: unknown key {key!r}.{hint} Known keys{what}: {', '.join(known)}.")


def _check_length(question: str, *, limit: int | None, where: str, what: str) -> None:
    """Refuse, on loading, a question longer than `bot ask` takes (it would fail only when its turn came)."""
    length = len(question.strip())
    if limit is not None and length > limit:
        raise UsageError(f"{where}: {what} is {length} characters long; `bot ask` takes at most {limit} (the "
                         "max_question_chars setting). Shorten it.")


def _parse_case(obj: Any, *, where: str, number: int, max_chars: int | None = None) -> EvalCase:
    if not isinstance(obj, Mapping):
        raise UsageError(f"{where}: a case must be a mapping with at least a `question`, not {_type_name(obj)}.")
    history: tuple[Turn, ...]
    if "user_input" in obj:
        if "question" in obj:
            raise UsageError(f"{where}: give the question as `question` or as RAGAS's `user_input`, not both.")
        known = (*(k for k in CASE_KEYS if k != "question"), *(k for k in RAGAS_KEYS if k not in CASE_KEYS))
        _unknown_key(obj, known, where=where, what=" (RAGAS fields and case keys)")
        question, history = _parse_ragas_input(obj, where=where)
    else:
        _unknown_key(obj, CASE_KEYS, where=where, what="")
        question = obj.get("question")
        if question is None:
            raise UsageError(f"{where}: missing `question`. Every case needs the question to ask.")
        if not isinstance(question, str):
            raise UsageError(f"{where}: `question` must be text, not {_type_name(question)}.")
        if not question.strip():
            raise UsageError(f"{where}: `question` is empty. Every case needs the question to ask.")
        history = _parse_history(obj.get("history"), where=where)

    case_id = _parse_id(obj.get("id"), where=where, number=number)
    answerable = obj.get("answerable", True)
    if not isinstance(answerable, bool):
        raise UsageError(f"{where}: `answerable` must be true or false, not {answerable!r}.")
    expected = _parse_expected(obj.get("expected"), where=where)
    unexpected = _parse_unexpected(obj.get("unexpected"), where=where)
    sources = _parse_strings(obj.get("sources"), key="sources", where=where)
    contexts = obj.get("reference_contexts")
    if contexts is not None and not (isinstance(contexts, list) and all(isinstance(c, str) for c in contexts)):
        raise UsageError(f"{where}: `reference_contexts` must be a list of texts, not {_type_name(contexts)}.")
    contexts = tuple(c for c in contexts or () if c.strip())
    if not answerable and (expected or sources or contexts):
        key = "expected" if expected else "sources" if sources else "reference_contexts"
        raise UsageError(f"{where}: a case with `answerable: false` cannot have `{key}`. Remove one of them.")
    small_talk = obj.get("small_talk", False)
    if not isinstance(small_talk, bool):
        raise UsageError(f"{where}: `small_talk` must be true or false, not {small_talk!r}.")
    if small_talk and (not answerable or sources or contexts):
        key = "answerable: false" if not answerable else "sources" if sources else "reference_contexts"
        raise UsageError(f"{where}: a case with `small_talk: true` expects a reply that searches and cites nothing, "
                         f"so it cannot have `{key}`. Remove one of them.")
    _check_length(question, limit=max_chars, where=where, what="the question")
    if replays(history):  # (its questions are asked too)
        for n, turn in enumerate(history, 1):
            _check_length(_turn_text(turn), limit=max_chars, where=where, what=f"history question {n}")
    return EvalCase(
        id=case_id,
        question=question,
        history=history,
        expected=expected,
        unexpected=unexpected,
        sources=sources,
        answerable=answerable,
        small_talk=small_talk,
        reference=_parse_optional_text(obj.get("reference"), key="reference", where=where),
        reference_contexts=contexts,
        split=_parse_optional_text(obj.get("split"), key="split", where=where),
        kind=_parse_optional_text(obj.get("kind"), key="kind", where=where),
    )


def _parse_ragas_input(obj: Mapping[str, Any], *, where: str) -> tuple[str, tuple[Turn, ...]]:
    """A RAGAS row's question and conversation. Its `response`, `retrieved_contexts` and the like are another run's
    output (or a judge's rubrics), not read: the bot answers the question itself."""
    user_input = obj["user_input"]
    if isinstance(user_input, list):
        if obj.get("history") is not None:
            raise UsageError(f"{where}: a multi-turn `user_input` holds the conversation; remove `history`.")
        # A multi-turn sample: the last human message is the question, the rest is the conversation.
        turns = _parse_ragas_turns(user_input, where=where)
        if not turns or turns[-1]["role"] != "user":
            raise UsageError(f"{where}: a multi-turn `user_input` must end with a human message.")
        return turns[-1]["content"], tuple(turns[:-1])
    if not isinstance(user_input, str):
        raise UsageError(f"{where}: `user_input` must be text (or a list of messages), not {_type_name(user_input)}.")
    if not user_input.strip():
        raise UsageError(f"{where}: `user_input` is empty. Every case needs the question to ask.")
    return user_input, _parse_history(obj.get("history"), where=where)


def _parse_ragas_turns(items: list[Any], *, where: str) -> list[dict[str, str]]:
    turns = []
    for n, item in enumerate(items, 1):
        speaker = item.get("type", item.get("role")) if isinstance(item, Mapping) else None
        content = item.get("content") if isinstance(item, Mapping) else None
        if speaker in IGNORED_ROLES and isinstance(content, str):
            continue
        if speaker not in RAGAS_ROLES or not isinstance(content, str):
            raise UsageError(
                f"{where}: `user_input` message {n} must be {{type: human|ai, content: text}}, not {item!r}."
            )
        turns.append({"role": RAGAS_ROLES[speaker], "content": content})
    return turns


def _parse_id(value: Any, *, where: str, number: int) -> str:
    if value is None:
        return f"case-{number}"
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not str(value).strip():
        raise UsageError(f"{where}: `id` must be non-empty text, not {value!r}.")
    return str(value).strip()


def _parse_optional_text(value: Any, *, key: str, where: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise UsageError(f"{where}: `{key}` must be text, not {_type_name(value)}.")


def _fact_text(value: Any) -> str | None:
    """Numbers are accepted as facts (YAML reads `90000` as an int); true/false are not."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value
    return None


def _parse_expected(value: Any, *, where: str) -> Expected:
    if value is None:
        return ()
    items = [value] if not isinstance(value, list) else value
    parsed: list[str | tuple[str, ...]] = []
    for n, item in enumerate(items, 1):
        if isinstance(item, list):
            alternatives = [_fact_text(a) for a in item]
            if not alternatives or any(a is None for a in alternatives):
                raise UsageError(
                    f"{where}: `expected` item {n} must be a non-empty list of texts (alternatives), not {item!r}."
                )
            parsed.append(tuple(a for a in alternatives if a is not None))
            continue
        text = _fact_text(item)
        if text is None:
            raise UsageError(
                f"{where}: `expected` item {n} must be non-empty text or a list of alternatives, not {item!r}."
            )
        parsed.append(text)
    return tuple(parsed)


def _parse_unexpected(value: Any, *, where: str) -> tuple[str, ...]:
    """Texts the answer must not hold. (A case may have them with `answerable: false` too: they agree with it.)"""
    if value is None:
        return ()
    items = [value] if not isinstance(value, list) else value
    parsed: list[str] = []
    for n, item in enumerate(items, 1):
        text = _fact_text(item)
        if text is None:
            raise UsageError(f"{where}: `unexpected` item {n} must be non-empty text, not {item!r}.")
        parsed.append(text)
    return tuple(parsed)


def _parse_strings(value: Any, *, key: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(i, str) and i.strip() for i in items):
        raise UsageError(f"{where}: `{key}` must be a list of non-empty texts, not {value!r}.")
    return tuple(items)


def _parse_history(value: Any, *, where: str) -> tuple[Turn, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise UsageError(f"{where}: `history` must be a list of earlier questions, not {_type_name(value)}.")
    turns: list[Turn] = []
    for n, item in enumerate(value, 1):
        if isinstance(item, str) and item.strip():
            turns.append(item)
        elif (
            isinstance(item, Mapping)
            and set(item) == {"role", "content"}
            and item["role"] in (*ROLES, *IGNORED_ROLES)
            and isinstance(item["content"], str)
        ):
            if item["role"] in ROLES:
                turns.append({"role": item["role"], "content": item["content"]})
        else:
            raise UsageError(
                f"{where}: `history` item {n} must be a question or {{role: user|assistant|system, content: text}}, "
                f"not {item!r}."
            )
    return tuple(turns)


# ---------------------------------------------------------------------------------------------------------------
# Running


def iter_cases(
    pipeline: AskingPipeline,
    cases: Sequence[EvalCase],
    *,
    k: int | None = None,
    progress: bool = True,
) -> Iterator[CaseResult]:
    """Ask every case, yielding each result as it is done (so a run stopped part-way keeps the cases it finished);
    a case that raises is recorded as an error (a wrong answer) and the run goes on.

    The progress bar shows only when stderr is a terminal (as `bot index`'s does), not in a log or a pipe."""
    from tqdm import tqdm  # only `bot eval` needs it

    # disable=None: tqdm turns the bar off by itself when stderr is not a terminal. The `with` ends the bar's line
    # on Ctrl-C too, before the message saying what was kept.
    with tqdm(cases, desc="bot eval", unit="case", file=sys.stderr, disable=None if progress else True) as bar:
        for case in bar:
            history = tuple(case.history)
            try:
                history = replay(pipeline, case.history, k=k)
                answer = pipeline.ask(case.question, history=list(history) or None, k=k)
            except RUN_STOPPERS:
                raise
            except Exception as exc:  # noqa: BLE001 - one broken case must not cost the whole run
                log.warning("Case %s raised %s: %s", case.id, type(exc).__name__, exc)
                yield CaseResult(case, None, error=f"{type(exc).__name__}: {exc}", history=history, k=k)
                continue
            yield CaseResult(case, answer, history=history, k=k)


def run_cases(
    pipeline: AskingPipeline,
    cases: Sequence[EvalCase],
    *,
    k: int | None = None,
    progress: bool = True,
) -> list[CaseResult]:
    """Every case's result (see `iter_cases`)."""
    return list(iter_cases(pipeline, cases, k=k, progress=progress))


def replays(history: Sequence[Turn]) -> bool:
    """Whether `replay` asks the history's questions: it gives none of the assistant's turns."""
    return not any(not isinstance(t, str) and t.get("role") == "assistant" for t in history)


def _turn_text(turn: Turn) -> str:
    return turn if isinstance(turn, str) else str(turn.get("content", ""))


def replay(pipeline: AskingPipeline, history: Sequence[Turn], *, k: int | None = None) -> tuple[Turn, ...]:
    """The conversation a person in the chat would have had. A history of earlier questions only is asked in
    turn, each with the conversation so far, and the bot's answers go between them: a follow-up can lean on what
    the bot said ("his city" after "Who is Xu Xiaoyu?"). A history that gives the assistant's turns is used as it
    is written."""
    if not replays(history):
        return tuple(history)
    conversation: list[Turn] = []
    for turn in history:
        question = _turn_text(turn)
        answer = pipeline.ask(question, history=list(conversation) or None, k=k)
        conversation += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.answer}]
    return tuple(conversation)


# ---------------------------------------------------------------------------------------------------------------
# Metrics


# (key, label, key of the count it is computed over)
METRICS: tuple[tuple[str, str, str | None], ...] = (
    ("accuracy", "answer accuracy", "accuracy_cases"),
    ("hit_at_k", "retrieval hit@k", "retrieval_cases"),
    ("mrr", "retrieval MRR", "retrieval_cases"),
    ("gold_cited", "gold cited", "gold_cited_cases"),
    ("citation_precision", "citation precision", "cited_passages"),
    ("abstention_precision", "abstention precision", "abstained"),
    ("abstention_recall", "abstention recall", "unanswerable"),
    ("false_abstention_rate", "false-abstention rate", "answerable"),
    ("small_talk_given", "small talk / article list", "small_talk_cases"),
    ("token_f1", "token F1", "f1_cases"),
    ("latency_p50_ms", "latency p50 (ms)", "timed_cases"),
    ("latency_p95_ms", "latency p95 (ms)", "timed_cases"),
    ("answer_words_median", "answer length median (words)", "answered"),
    ("cases", "cases", None),
    ("errors", "errors", None),
)
# What a metric is computed over, when not cases (citation precision: the citations of the cases with facts).
COUNT_UNITS = {"cited_passages": ("citation", "citations")}


def _over(count_key: str, count: Any) -> str:
    """A metric's count with its unit: "8 cases", "9 citations"."""
    one, many = COUNT_UNITS.get(count_key, ("case", "cases"))
    return f"{count} {one if count == 1 else many}"


def compute_metrics(results: Sequence[CaseResult]) -> dict[str, float | int]:
    """Set-level metrics. A metric whose count is 0 (e.g. abstention recall with no unanswerable case) is absent."""
    return _metrics_from_rows([result.to_dict() for result in results])


def _metrics_from_rows(rows: Sequence[Mapping[str, Any]]) -> dict[str, float | int]:
    # A small-talk reply or the article list is no abstention (results files written before said it was), and a
    # case expecting one (`small_talk: true`) is scored apart from the abstention metrics.
    verdicts = [dict(row["verdicts"], abstained=row["verdicts"]["abstained"] and not row.get("small_talk"))
                for row in rows]
    ok_rows = [row for row in rows if "error" not in row]
    chatting = [row for row in rows if row["verdicts"].get("small_talk_expected")]
    scored = [v for v in verdicts if not v.get("small_talk_expected")]  # (for the abstention metrics)
    answerable = [v for v in scored if v["answerable"]]
    unanswerable = [v for v in scored if not v["answerable"]]
    abstained = [v for v in scored if v["abstained"]]
    metrics: dict[str, float | int] = {
        "cases": len(rows),
        "errors": len(rows) - len(ok_rows),
        "passed": sum(1 for v in verdicts if v["passed"]),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "abstained": len(abstained),
    }

    def share(key: str, values: Sequence[float | bool], count_key: str) -> None:
        if values:
            metrics[key] = sum(values) / len(values)
            metrics[count_key] = len(values)

    share("accuracy", [v["correct"] for v in verdicts if v["correct"] is not None], "accuracy_cases")
    ranks = [v["gold_rank"] for v in verdicts if v["retrieval_judged"]]
    share("hit_at_k", [rank is not None for rank in ranks], "retrieval_cases")
    share("mrr", [1 / rank if rank else 0.0 for rank in ranks], "retrieval_cases")
    share("gold_cited", [v["gold_cited"] for v in verdicts if v["gold_cited"] is not None], "gold_cited_cases")
    fact_cases = [v for v in verdicts if v["cited_with_facts"] is not None]
    cited = sum(v["cited"] for v in fact_cases)
    if cited:
        metrics["citation_precision"] = sum(v["cited_with_facts"] for v in fact_cases) / cited
        metrics["cited_passages"] = cited
    if abstained:
        metrics["abstention_precision"] = sum(1 for v in abstained if not v["answerable"]) / len(abstained)
    if unanswerable:
        metrics["abstention_recall"] = sum(1 for v in unanswerable if v["abstained"]) / len(unanswerable)
    if answerable:
        metrics["false_abstention_rate"] = sum(1 for v in answerable if v["abstained"]) / len(answerable)
    share("small_talk_given", [bool(row.get("small_talk")) for row in chatting], "small_talk_cases")
    share("token_f1", [v["f1"] for v in verdicts if v["f1"] is not None], "f1_cases")

    totals = [(row.get("timings_ms") or {}).get("total") for row in ok_rows]
    latencies = [float(total) for total in totals if total is not None]
    if latencies:
        metrics["latency_p50_ms"] = _percentile(latencies, 0.50)
        metrics["latency_p95_ms"] = _percentile(latencies, 0.95)
        metrics["timed_cases"] = len(latencies)
    # Length of real answers only: the abstention message is a fixed template, the article list no answer.
    words = [len(str(row["answer"]).split()) for row in ok_rows if not row["abstained"] and not row.get("small_talk")]
    if words:
        metrics["answer_words_median"] = statistics.median(words)
        metrics["answered"] = len(words)
    return metrics


def _percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def check_thresholds(
    metrics: Mapping[str, float | int],
    *,
    min_accuracy: float | None,
    min_abstention: float | None,
) -> list[str]:
    """One line per missed threshold; an empty list means every given threshold is met."""
    validate_thresholds(min_accuracy=min_accuracy, min_abstention=min_abstention)
    checks = (
        ("accuracy", "answer accuracy", "--min-accuracy", min_accuracy,
         "no answerable case has `expected` or `unexpected` facts"),
        ("abstention_recall", "abstention recall", "--min-abstention", min_abstention,
         "no case has `answerable: false`"),
    )
    problems = []
    for key, label, option, threshold, why_absent in checks:
        if threshold is None:
            continue
        value = metrics.get(key)
        if value is None:
            problems.append(f"{label} cannot be checked against {option} {threshold:.3f}: {why_absent}.")
        elif value < threshold - EPSILON:
            problems.append(f"{label} {value:.3f} is below {option} {threshold:.3f}.")
    return problems


def validate_thresholds(*, min_accuracy: float | None, min_abstention: float | None) -> None:
    """Refuse a threshold outside 0..1 (checked before a run, not after it)."""
    for option, threshold in (("--min-accuracy", min_accuracy), ("--min-abstention", min_abstention)):
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise UsageError(f"{option} must be between 0 and 1. Currently, it is {threshold}.")


def _format_value(key: str, value: float | int | None) -> str:
    if value is None:
        return "n/a"
    if key.endswith("_ms"):
        return f"{value:.0f}"
    if isinstance(value, int) or key == "answer_words_median":
        return f"{value:g}"
    return f"{value:.3f}"


def format_metrics(metrics: Mapping[str, float | int]) -> str:
    """A short aligned table for the terminal."""
    lines = []
    for key, label, count_key in METRICS:
        value = metrics.get(key)
        over = f"  (over {_over(count_key, metrics.get(count_key, 0))})" if count_key and value is not None else ""
        lines.append(f"{label:<30}{_format_value(key, value):>8}{over}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Files


class ResultsWriter:
    """Writes the results file a line per case as each finishes, flushed at once: a run stopped part-way (Ctrl-C, a
    CI job's time limit, a crash) leaves every finished case on disk. The file is created with the first line, so a
    run stopped before any case finished leaves an earlier file there as it was. Given no path, it writes nothing;
    given `-`, it writes to stdout."""

    def __init__(self, path: Path | None) -> None:
        self.path = Path(path) if path is not None else None
        self.written = 0
        self._file: Any = None

    def write(self, result: CaseResult) -> None:
        if self.path is None:
            return
        if is_std_stream(self.path):  # (a reader that left raises BrokenPipeError, which `bot` takes as the end)
            sys.stdout.write(json.dumps(result.to_dict(), ensure_ascii=not _takes_unicode(sys.stdout)) + "\n")
            sys.stdout.flush()
            self.written += 1
            return
        line = json.dumps(result.to_dict(), ensure_ascii=False) + "\n"
        try:
            if self._file is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._file = self.path.open("w", encoding="utf-8")
            self._file.write(line)
            self._file.flush()
        except OSError as exc:
            raise UsageError(f"Cannot write {self.path}: {exc.strerror}. Choose a writable path.") from None
        self.written += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> ResultsWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def write_results(results: Sequence[CaseResult], path: Path) -> None:
    """One JSON object per case: the answer's public shape plus id, verdicts and (if it raised) error."""
    if not results:
        _write_text(Path(path), "")
        return
    with ResultsWriter(path) as writer:
        for result in results:
            writer.write(result)


# Terminal escape sequences (colours, cursor moves, window titles) and other control characters: a question pasted
# from a terminal may hold them, and in report.md they are noise or garble whoever `cat`s it.
_ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])"
                      r"|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _plain(text: object) -> str:
    """The text without escape sequences or control characters (line breaks and tabs stay)."""
    return _ESCAPES.sub("", str(text))


def _inline(text: object) -> str:
    """The text on one Markdown line: a multi-line question ("...\\n## Also, who built it?") would otherwise start a
    heading or a list of its own inside the report."""
    return " ".join(_plain(text).split())


def _cell(text: object) -> str:
    """The text in one Markdown table cell: a `|` in it would split the cell."""
    return _inline(text).replace("|", "\\|")


def write_report(
    metrics: Mapping[str, float | int],
    results: Sequence[CaseResult],
    path: Path,
    *,
    k: int | None = None,
    total: int | None = None,
) -> None:
    """A Markdown report: the metrics, a breakdown by split and kind, then every failed case with its evidence.

    `k` is the number of passages retrieved per question; `total`, when more than the results, the number of cases
    the set has (a run interrupted part-way): the report says it is partial."""
    failed = [result for result in results if not result.verdicts.passed]
    partial = total is not None and total > len(results)
    out = ["# Evaluation report" + (" (partial)" if partial else ""), ""]
    if partial:
        out += [f"**Partial: interrupted after {len(results)} of {total} cases.** The metrics and failed cases below "
                f"cover only the {len(results)} cases that finished.", ""]
    errors = sum(1 for result in results if result.error is not None)
    out.append(f"{len(results)} cases: {len(results) - len(failed)} passed, {len(failed)} failed "
               f"(of which {errors} raised an error).")
    if k is not None:
        out.append(f"Passages retrieved per question: k = {k}.")
    out += ["", "## Metrics", "", "| metric | value | over |", "|---|---:|---:|"]
    for key, label, count_key in METRICS:
        over = _over(count_key, metrics[count_key]) if count_key and key in metrics else ""
        out.append(f"| {label} | {_format_value(key, metrics.get(key))} | {over} |")
    for attribute in ("split", "kind"):
        out += _breakdown(results, attribute)
    out += ["", f"## Failed cases ({len(failed)})", ""]
    if not failed:
        out.append("No failed cases.")
    for result in failed:
        out += _report_case(result)
    _write_text(Path(path), "\n".join(out).rstrip() + "\n")


def _breakdown(results: Sequence[CaseResult], attribute: str) -> list[str]:
    """The report's table of cases and passes by split (or kind): every case is in a row, those without one in
    "(none)", and a total row ends it. No table when no case has one."""
    groups: dict[str, list[CaseResult]] = {}
    for result in results:
        value = getattr(result.case, attribute)
        if value is not None:
            groups.setdefault(value, []).append(result)
    if not groups:
        return []
    rows = [(_cell(name), groups[name]) for name in sorted(groups)]
    without = [result for result in results if getattr(result.case, attribute) is None]
    if without:
        rows.append(("(none)", without))
    rows.append(("**total**", list(results)))
    out = ["", f"## By {attribute}", "", f"| {attribute} | cases | passed |", "|---|---:|---:|"]
    for name, members in rows:
        out.append(f"| {name} | {len(members)} | {sum(1 for r in members if r.verdicts.passed)} |")
    return out


def _reply_kind(row: Mapping[str, Any]) -> str | None:
    """"small talk" or "article list" for a reply the answer marks `small_talk` (told apart as the pipeline tells
    them, by the message), None for an answer or a decline."""
    if not row.get("small_talk"):
        return None
    return "small talk" if small_talk_kind(str(row.get("question", "")).strip()) else "article list"


def _report_case(result: CaseResult) -> list[str]:
    case, answer, v = result.case, result.answer, result.verdicts
    labels = ", ".join(_inline(x) for x in (case.split, case.kind) if x)
    out = [f"### {_inline(case.id)}" + (f" ({labels})" if labels else ""), ""]
    out.append(f"- **Question:** {_inline(case.question)}")
    if result.history or case.history:
        turns = [t if isinstance(t, str) else f"{t['role']}: {t['content']}" for t in result.history or case.history]
        out.append(f"- **History:** {' / '.join(_inline(t) for t in turns)}")
    if answer is not None and answer.standalone_question and answer.standalone_question != case.question:
        out.append(f"- **Standalone question:** {_inline(answer.standalone_question)}")
    out.append(f"- **Why it failed:** {_inline('; '.join(failure_reasons(result.to_dict())))}")
    if case.expected:
        out.append(f"- **Expected:** {_inline('; '.join(_show_item(i) for i in case.expected))}")
    if case.unexpected:
        out.append(f"- **Unexpected:** {_inline('; '.join(case.unexpected))}")
    where = f"rank {v.gold_rank}" if v.gold_rank else "not retrieved"
    if case.sources:
        out.append(f"- **Gold source:** {_inline('; '.join(case.sources))} ({where})")
    if case.reference_contexts:
        shown = "; ".join(_inline(c)[:200] for c in case.reference_contexts)
        out.append(f"- **Gold contexts:** {shown} ({where})")
    if case.reference is not None:
        out.append(f"- **Reference:** {_inline(case.reference)}")
    if answer is not None:
        # What was retrieved, best first: a retrieval miss shows what came up instead of the gold passage.
        k = f" (k = {result.k})" if result.k is not None else ""
        if result.retrieved:
            out.append(f"- **Retrieved{k}:**")
            out += [f"  {p.rank}. {_inline(p.title) or '(no title)'} — {_inline(p.source)}" for p in result.retrieved]
        else:
            out.append(f"- **Retrieved{k}:** nothing")
        reply = _reply_kind(result.to_dict())
        out.append(f"- **Reply ({reply}):**" if reply else "- **Answer (abstained):**" if answer.abstained
                   else "- **Answer:**")
        lines = _plain(answer.answer or "(empty)").splitlines()
        out += ["", *[f"  > {line}" for line in lines], ""]
        if answer.citations:
            out.append("- **Citations:**")
            for c in answer.citations:
                out.append(f"  - [{c.n}] {_inline(c.title)} — \"{_inline(c.quote)}\"")
    out.append("")
    return out


def failure_reasons(row: Mapping[str, Any]) -> list[str]:
    """Why a results row did not pass, in words."""
    v = row["verdicts"]
    if "error" in row:
        return [f"error: {row['error']}"]
    reply = _reply_kind(row)
    if v.get("small_talk_expected") and reply is None:
        done = "declined" if row["abstained"] else "answered from the articles"
        return [f"{done}, not with small talk or the article list as expected"]
    if reply is not None and not v.get("small_talk_expected"):
        shown = "small talk" if reply == "small talk" else f"the {reply}"
        return [f"replied with {shown} instead of " + ("answering" if v["answerable"] else "declining")]
    if not v["answerable"]:
        return [] if v["abstained"] else ["answered a question the articles do not answer"]
    if v["abstained"]:
        return ["abstained on an answerable question"]
    reasons = []
    if v["missing"]:
        reasons.append(f"missing {', '.join(repr(m) for m in v['missing'])}")
    if v.get("unexpected_found"):  # (absent from results files written before `unexpected`)
        reasons.append(f"holds unexpected {', '.join(repr(m) for m in v['unexpected_found'])}")
    if v["gold_cited"] is False:
        gold = "gold passage" if row.get("reference_contexts") and not row.get("sources") else "gold article"
        reasons.append(f"{gold} not cited" + ("" if v["gold_rank"] else " (nor retrieved)"))
    return reasons


def check_output_paths(question_set: Path, outputs: Mapping[str, Path | None]) -> None:
    """Refuse, before a run, an output that would overwrite the question set or another output, or that cannot be
    written (a folder, a path through a file, a read-only place)."""
    written: dict[Path, str] = {} if is_std_stream(question_set) else {Path(question_set).resolve(): "the question set"}
    to_stdout = [option for option, given in outputs.items() if is_std_stream(given)]
    if len(to_stdout) > 1:
        raise UsageError(f"{' and '.join(to_stdout)} are both `-`: only one of them can be written to stdout.")
    for option, given in outputs.items():
        if given is None or is_std_stream(given):
            continue
        path = Path(given)
        resolved = path.resolve()
        if resolved in written:
            raise UsageError(f"{option} {path} is {written[resolved]}: writing it would overwrite that. "
                             "Give another file.")
        written[resolved] = f"the file given with {option}"
        if path.is_dir():
            raise UsageError(f"{option} {path} is a folder. Give a file path, e.g. {path / 'results.jsonl'}.")
        existing = next((p for p in (resolved, *resolved.parents) if p.exists()), None)
        if existing is not None and existing != resolved and not existing.is_dir():
            raise UsageError(f"{option} {path} cannot be written: {existing} is a file, not a folder.")
        if existing is not None and not os.access(existing, os.W_OK):
            raise UsageError(f"{option} {path} cannot be written (permission denied). Choose a writable path.")


def _takes_unicode(stream: Any) -> bool:
    """Whether the stream encodes every character: else JSON escapes them (\\u2019), as "?" would change the data."""
    import codecs

    try:
        return codecs.lookup(getattr(stream, "encoding", None) or "ascii").name.startswith("utf")
    except LookupError:
        return False


def _write_text(path: Path, text: str) -> None:
    if is_std_stream(path):
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"Cannot write {path}: {exc.strerror}. Choose a writable path.") from None


# What the metrics and the comparison read from each results row and its verdicts, and the types they must have.
_ROW_FIELDS: tuple[tuple[str, tuple[type, ...]], ...] = (("question", (str,)), ("answer", (str,)),
                                                        ("abstained", (bool,)))
_VERDICT_FIELDS: tuple[tuple[str, tuple[type, ...]], ...] = (
    ("passed", (bool,)), ("answerable", (bool,)), ("abstained", (bool,)), ("correct", (bool, type(None))),
    ("missing", (list,)), ("retrieval_judged", (bool,)), ("gold_rank", (int, type(None))),
    ("gold_cited", (bool, type(None))), ("cited", (int,)), ("cited_with_facts", (int, type(None))),
    ("f1", (int, float, type(None))),
)


def _row_problem(row: Any) -> str | None:
    """What makes `row` no `bot eval` results row, or None."""
    if isinstance(row, dict) and "verdicts" not in row and ("question" in row or "user_input" in row):
        return "it is a case of a question set, with no `verdicts`: run `bot eval` on the set with --output first"
    if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("verdicts"), dict):
        return "needs `id` and `verdicts`"
    if isinstance(row["id"], bool) or not isinstance(row["id"], (str, int)):
        return f"its `id` is {_type_name(row['id'])}"
    for where, fields in ((row, _ROW_FIELDS), (row["verdicts"], _VERDICT_FIELDS)):
        for key, types in fields:
            name = key if where is row else f"verdicts.{key}"
            if key not in where:
                return f"it has no `{name}`"
            value = where[key]
            if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                return f"its `{name}` is {_type_name(value)}"
    # Optional: older files lack them, and a hand-edited row may say null (read as "not timed").
    timings = row.get("timings_ms")
    if timings is not None and not isinstance(timings, dict):
        return f"its `timings_ms` is {_type_name(timings)}"
    k = row.get("k")
    if k is not None and (isinstance(k, bool) or not isinstance(k, int)):
        return f"its `k` is {_type_name(k)}"
    total = (timings or {}).get("total")
    if total is not None and (isinstance(total, bool) or not isinstance(total, (int, float))):
        return f"its `timings_ms.total` is {_type_name(total)}"
    return None


def _read_results(path: Path) -> list[dict[str, Any]]:
    path = Path(path)
    lines = _read_text(path, "Results file", missing="Write one with `bot eval FILE --output ...`.",
                       folder="Give a file written by `bot eval --output`.").splitlines()
    rows = []
    first_seen: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            looks_like_yaml = path.suffix.lower() in (".yaml", ".yml") or re.match(r"\s*(- |#|[\w-]+:)", line)
            hint = (" It looks like a question set; compare the results files `bot eval SET --output FILE` writes."
                    if looks_like_yaml else "")
            raise UsageError(f"{path}, line {number}: not valid JSON ({exc.msg}).{hint}") from None
        except RecursionError:
            raise UsageError(f"{path}, line {number}: nested too deeply to be a results row.") from None
        if (problem := _row_problem(row)) is not None:
            raise UsageError(
                f"{path}, line {number}: not a `bot eval` results row ({problem}). "
                "Compare files written by `bot eval --output`."
            )
        row["id"] = str(row["id"])
        if row["id"] in first_seen:  # (two files joined by `cat`?) a case would count twice in the metrics
            raise UsageError(f"{path}, line {number}: duplicate id {row['id']!r} (already at line "
                             f"{first_seen[row['id']]}). A file `bot eval --output` writes has each case once.")
        first_seen[row["id"]] = number
        rows.append(row)
    if not rows:
        raise UsageError(f"Results file {path} has no cases (it is empty). Compare files written by "
                         "`bot eval FILE --output ...`.")
    return rows


def results_metrics(path: Path) -> dict[str, float | int]:
    """The metrics of a results file, recomputed from its rows (e.g. to apply thresholds to a compared run)."""
    return _metrics_from_rows(_read_results(path))


# How many cases a warning about a comparison names before it says "and N more".
SHOWN_IN_WARNING = 5


def compare_results(old: Path, new: Path) -> str:
    """Text saying which cases got worse or better between two results files, with metrics side by side.

    What makes the comparison doubtful is logged as a warning (one line each): no case in common, a case id whose
    question differs (not compared: positional ids shift when a case is inserted), runs with different k."""
    old_rows, new_rows = _read_results(old), _read_results(new)
    old_by_id = {row["id"]: row for row in old_rows}
    new_by_id = {row["id"]: row for row in new_rows}
    common = [case_id for case_id in old_by_id if case_id in new_by_id]
    changed = [i for i in common if _case_changed(old_by_id[i], new_by_id[i])]
    both = [i for i in common if i not in changed]
    if not common:
        log.warning("%s and %s have no case id in common: they are runs of different question sets, so no case is "
                    "compared.", old, new)
    if changed:
        shown = ", ".join(f"{i} ({_clip(old_by_id[i]['question'])!r} then {_clip(new_by_id[i]['question'])!r})"
                          for i in changed[:SHOWN_IN_WARNING])
        more = f", and {len(changed) - SHOWN_IN_WARNING} more" if len(changed) > SHOWN_IN_WARNING else ""
        log.warning("%d %s the same id in %s and %s but a different question or expected facts, so %s not "
                    "compared: %s%s.", len(changed), "case has" if len(changed) == 1 else "cases have", old, new,
                    "it is" if len(changed) == 1 else "they are", shown, more)
    old_k = {row.get("k") for row in old_rows} - {None}
    new_k = {row.get("k") for row in new_rows} - {None}
    if old_k and new_k and old_k != new_k:
        log.warning("The runs retrieved different numbers of passages: k = %s in %s, k = %s in %s.",
                    _ks(old_k), old, _ks(new_k), new)

    worse = [i for i in both if old_by_id[i]["verdicts"]["passed"] and not new_by_id[i]["verdicts"]["passed"]]
    better = [i for i in both if not old_by_id[i]["verdicts"]["passed"] and new_by_id[i]["verdicts"]["passed"]]
    still_passing = sum(1 for i in both if old_by_id[i]["verdicts"]["passed"] and new_by_id[i]["verdicts"]["passed"])
    still_failing = len(both) - len(worse) - len(better) - still_passing
    only_old = [i for i in old_by_id if i not in new_by_id]
    only_new = [i for i in new_by_id if i not in old_by_id]

    old_metrics, new_metrics = _metrics_from_rows(old_rows), _metrics_from_rows(new_rows)
    out = [f"{'metric':<30}{'old':>8}{'new':>8}"]
    for key, label, _ in METRICS:
        if key in old_metrics or key in new_metrics:
            out.append(f"{label:<30}{_format_value(key, old_metrics.get(key)):>8}"
                       f"{_format_value(key, new_metrics.get(key)):>8}")
    out += ["", f"Got worse ({len(worse)}):"]
    out += [f"  {i}: {new_by_id[i]['question']} -- {'; '.join(failure_reasons(new_by_id[i]))}" for i in worse]
    out += ["", f"Got better ({len(better)}):"]
    out += [f"  {i}: {new_by_id[i]['question']}" for i in better]
    if changed:
        out += ["", f"Changed, not compared ({len(changed)}): {', '.join(changed)}"]
    if only_old:
        out += ["", f"Only in {old} ({len(only_old)}): {', '.join(only_old)}"]
    if only_new:
        out += ["", f"Only in {new} ({len(only_new)}): {', '.join(only_new)}"]
    out += ["", f"{len(both)} cases in both: {len(worse)} worse, {len(better)} better, "
                f"{still_passing} still passing, {still_failing} still failing."]
    return "\n".join(out)


def _case_changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether two rows with one id are different cases: another question, or other expected facts (rows written
    before results carried `expected` are compared by question alone)."""
    if " ".join(old["question"].split()) != " ".join(new["question"].split()):
        return True
    return "expected" in old and "expected" in new and old["expected"] != new["expected"]


def _clip(text: str, width: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 3] + "..."


def _ks(values: set[Any]) -> str:
    return ", ".join(str(v) for v in sorted(values, key=str))
