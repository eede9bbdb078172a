"""Fast checks of tests/eval/dev.yaml against the seed articles (no model, no index).

The answer is extractive (one to three of the articles' own sentences), so every expected fact must literally
occur - under the same matching rules `bot eval` uses - within three consecutive sentences of its gold article.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from bot.evaluate import EvalCase, contains_fact, load_cases, normalise_for_match

ROOT = Path(__file__).resolve().parents[2]
DEV_SET = ROOT / "tests" / "eval" / "dev.yaml"
SEEDS = ROOT / "seeds"
# The answerer quotes at most this many sentences (Settings.max_answer_sentences).
WINDOW = 3
SPLITS = ("tune", "heldout")


def _articles() -> dict[str, str]:
    """Title -> body for the seed files: an article starts at a file's first line or at a headline line repeated."""
    articles: dict[str, str] = {}
    for path in sorted(SEEDS.glob("*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        starts = [0] + [i for i in range(1, len(lines) - 1) if lines[i].strip() and lines[i] == lines[i + 1]]
        for n, start in enumerate(starts):
            end = starts[n + 1] if n + 1 < len(starts) else len(lines)
            title = lines[start]
            body_start = start + (2 if n else 1)
            articles[title] = "\n".join(lines[body_start:end])
    return articles


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?])\s+|\n+", text) if s.strip()]


ARTICLES = _articles()
CASES = load_cases(DEV_SET)


def _gold_titles(case: EvalCase) -> list[str]:
    return [t for t in ARTICLES if any(normalise_for_match(s) in normalise_for_match(t) for s in case.sources)]


def test_seed_articles_are_found() -> None:
    assert len(ARTICLES) == 7


def test_set_size_and_shape() -> None:
    answerable = [c for c in CASES if c.answerable]
    unanswerable = [c for c in CASES if not c.answerable]
    assert len(CASES) >= 64
    assert len(unanswerable) >= 14
    assert all(c.expected and c.sources for c in answerable)
    assert any(c.history for c in answerable)
    assert {c.split for c in CASES} == set(SPLITS)


def test_splits_are_balanced_by_kind() -> None:
    counts = Counter((c.kind, c.split) for c in CASES)
    for kind in {c.kind for c in CASES}:
        assert kind is not None
        assert abs(counts[(kind, "tune")] - counts[(kind, "heldout")]) <= 1, kind


def test_questions_are_not_repeated() -> None:
    questions = Counter(normalise_for_match(c.question) for c in CASES)
    assert [q for q, n in questions.items() if n > 1] == []


@pytest.mark.parametrize("case", [c for c in CASES if c.answerable], ids=lambda c: c.id)
def test_expected_facts_occur_in_the_gold_article(case: EvalCase) -> None:
    titles = _gold_titles(case)
    assert len(titles) == 1, f"sources {case.sources} match {len(titles)} article titles"
    sentences = _sentences(ARTICLES[titles[0]])
    for item in case.expected:
        assert any(contains_fact(s, item) for s in sentences), f"{item!r} is in no sentence of {titles[0]!r}"
    windows = [" ".join(sentences[i:i + WINDOW]) for i in range(len(sentences))]
    assert any(all(contains_fact(w, item) for item in case.expected) for w in windows), (
        f"the expected facts {case.expected} are not within {WINDOW} consecutive sentences"
    )
