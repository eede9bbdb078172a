"""The SQLite feedback store and its export as a `bot eval` question set."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
import yaml

from bot.errors import UsageError
from bot.evaluate import load_cases
from bot.feedback import FeedbackStore


def answer(text: str, *, abstained: bool = False, titles: tuple[str, ...] = ()) -> dict:
    citations = [{"n": i + 1, "title": t, "quote": "q", "source": "s.txt"} for i, t in enumerate(titles)]
    return {"question": "q", "answer": text, "abstained": abstained, "citations": citations, "timings_ms": {}}


def test_nothing_is_created_until_first_use(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "data" / "feedback.sqlite3")
    assert not (tmp_path / "data").exists()
    assert store.count() == 0
    assert store.path.is_file()


def test_add_and_read_back(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    first = store.add(rating="up", question=" When? ", answer=answer("In 2008 [1].", titles=("Bridge",)),
                      history=["Earlier?", {"role": "assistant", "content": "Yes."}], comment="nice")
    second = store.add(rating="down", question="Why?", answer=answer("The articles do not say.", abstained=True))
    assert (first, second) == (1, 2)
    rows = store.rows()
    assert [(r["rating"], r["question"], r["abstained"]) for r in rows] == [("up", "When?", False),
                                                                          ("down", "Why?", True)]
    assert rows[0]["history"] == ["Earlier?", {"role": "assistant", "content": "Yes."}]
    assert rows[0]["citations"][0]["title"] == "Bridge"
    assert rows[0]["created_at"].endswith("+00:00")


@pytest.mark.parametrize(("rating", "question", "phrase"), [("meh", "q", "'meh'"), ("up", "  ", "empty")])
def test_bad_input_names_the_problem(tmp_path: Path, rating: str, question: str, phrase: str) -> None:
    with pytest.raises(UsageError, match=phrase):
        FeedbackStore(tmp_path / "fb.sqlite3").add(rating=rating, question=question, answer=answer("a"))


def test_export_question_set(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.add(rating="up", question="When did it open?", answer=answer("In 2008 [1][2].", titles=("A", "B", "A")),
              history=["Which bridge?"])
    store.add(rating="down", question="Who built it?", answer=answer("The articles do not say.", abstained=True),
              comment="It is in the second article.\nSecond line.")
    out = tmp_path / "out" / "feedback.yaml"
    assert store.export_question_set(out) == 2
    text = out.read_text(encoding="utf-8")
    assert "# rated down - fill in expected" in text
    assert "#   The articles do not say." in text  # the rated-down answer, for whoever fills in the case
    assert "#   It is in the second article." in text
    cases = yaml.safe_load(text)["cases"]
    assert cases == [
        {"id": "feedback-1", "question": "When did it open?", "history": ["Which bridge?"], "answerable": True,
         "reference": "In 2008 [1][2].", "sources": ["A", "B"]},
        # A thumbs-down on a decline: the user wanted an answer, so the case is answerable.
        {"id": "feedback-2", "question": "Who built it?", "history": [], "answerable": True},
    ]
    # `bot eval` reads it as it is.
    loaded = load_cases(out)
    assert [(c.id, c.answerable, c.sources, c.reference) for c in loaded] == [
        ("feedback-1", True, ("A", "B"), "In 2008 [1][2]."), ("feedback-2", True, (), None)]
    assert loaded[0].history == ("Which bridge?",)


def test_thumbs_up_on_an_abstention_has_no_gold_sources(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.add(rating="up", question="Who won the 1930 World Cup?", answer=answer("Not covered.", abstained=True))
    out = tmp_path / "fb.yaml"
    store.export_question_set(out)
    assert [(c.answerable, c.sources) for c in load_cases(out)] == [(False, ())]


def test_thumbs_down_on_a_decline_asks_for_the_answer_not_for_declining(tmp_path: Path) -> None:
    """The user rated the decline as wrong ("should say 12 billion"): exporting it as `answerable: false` would
    score declining as correct. It is an answerable case whose `expected` the comment asks to fill in."""
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.add(rating="down", question="How much did the bridge cost?",
              answer=answer("The articles do not say.", abstained=True), comment="should say 12 billion")
    out = tmp_path / "fb.yaml"
    assert store.export_question_set(out) == 1
    text = out.read_text(encoding="utf-8")
    assert "# rated down - fill in expected: the bot declined and the user wanted an answer." in text
    assert "Add `expected:`" in text and "#   should say 12 billion" in text
    [case] = load_cases(out)
    assert (case.answerable, case.expected, case.sources) == (True, (), ())
    # Filled in as the comment says, it is an ordinary case.
    out.write_text(text.replace("answerable: true", "answerable: true\n    expected: ['12 billion']"),
                   encoding="utf-8")
    assert load_cases(out)[0].expected == ("12 billion",)


def test_thumbs_down_on_an_answer_says_how_to_mark_it_unanswerable(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.add(rating="down", question="Who won?", answer=answer("Nantong [1].", titles=("A",)))
    out = tmp_path / "fb.yaml"
    store.export_question_set(out)
    text = out.read_text(encoding="utf-8")
    assert "# rated down - fill in expected (or set `answerable: false` if the articles do not say)." in text
    assert "#   Nantong [1]." in text
    assert [(c.answerable, c.sources, c.reference) for c in load_cases(out)] == [(True, (), None)]


def test_export_of_an_empty_store_writes_nothing(tmp_path: Path) -> None:
    """`bot eval` refuses a set without cases, so an empty export would be an unusable file."""
    out = tmp_path / "empty.yaml"
    with pytest.raises(UsageError, match="Nothing to export: no answer has been rated yet"):
        FeedbackStore(tmp_path / "data" / "fb.sqlite3").export_question_set(out)
    assert not out.exists()
    assert not (tmp_path / "data").exists()  # nor is an empty database created on the way
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    assert store.count() == 0
    with pytest.raises(UsageError, match="Nothing to export"):
        store.export_question_set(out)
    assert not out.exists()


def test_export_to_an_unwritable_path_is_a_usage_error(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.add(rating="up", question="When?", answer=answer("In 2008."))
    with pytest.raises(UsageError, match=f"Cannot write {tmp_path}"):
        store.export_question_set(tmp_path)  # a folder


def test_safe_from_several_threads(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    errors: list[BaseException] = []

    def rate(n: int) -> None:
        try:
            for i in range(10):
                store.add(rating="up" if i % 2 else "down", question=f"q{n}-{i}", answer=answer("a"))
        except BaseException as exc:  # collected so the main thread fails the test
            errors.append(exc)

    threads = [threading.Thread(target=rate, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.count() == 80
    assert sorted(r["id"] for r in store.rows()) == list(range(1, 81))
