"""The SQLite feedback store and its export as a `bot eval` question set."""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.errors import BotError, FeedbackStoreError, UsageError
from bot.evaluate import judge, load_cases, run_cases
from bot.feedback import FeedbackStore
from tests.bot.conftest import SUTONG_QUESTION


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


def _damaged_copy(tmp_path: Path) -> Path:
    """A real feedback database cut in half, as a full disk or a crash of the machine can leave one."""
    whole = FeedbackStore(tmp_path / "whole.sqlite3")
    for n in range(200):
        whole.add(rating="up", question=f"When did bridge {n} open? " + "x" * 500, answer=answer("In 2008."))
    data = whole.path.read_bytes()
    damaged = tmp_path / "cut.sqlite3"
    damaged.write_bytes(data[: len(data) // 2])
    return damaged


def _operations(out: Path) -> dict[str, Callable[[FeedbackStore], object]]:
    return {"add": lambda s: s.add(rating="up", question="When?", answer=answer("In 2008.")),
            "rows": FeedbackStore.rows, "count": FeedbackStore.count,
            "export": lambda s: s.export_question_set(out)}


def test_a_damaged_database_is_a_feedback_store_error_naming_it_and_nothing_is_lost(tmp_path: Path) -> None:
    """Every face catches BotError: the CLI prints the line, the web API can send it (see bot/web/api.py)."""
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"this is not SQLite" * 100)
    foreign = tmp_path / "foreign.sqlite3"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE feedback (note TEXT)")
    conn.close()
    cases = [(junk, "is damaged (file is not a database). Move it aside; new ratings then start a new one."),
             (_damaged_copy(tmp_path), "is damaged (database disk image is malformed). Move it aside"),
             (foreign, "is not one this version can use (")]
    out = tmp_path / "out.yaml"
    for path, problem in cases:
        before = path.read_bytes()
        for name, operation in _operations(out).items():
            if path == foreign and name == "count":
                continue  # (its rows can be counted: it has a table called feedback)
            with pytest.raises(FeedbackStoreError) as caught:
                operation(FeedbackStore(path))
            assert isinstance(caught.value, BotError), name
            message = str(caught.value)
            assert message.startswith(f"The feedback database {path} {problem}"), (name, message)
            assert "\n" not in message and caught.value.__cause__ is None
        assert path.read_bytes() == before  # never repaired or replaced behind the user's back
    assert not out.exists()


def test_a_folder_or_a_file_in_the_way_is_a_feedback_store_error(tmp_path: Path) -> None:
    folder = tmp_path / "feedback.sqlite3"
    folder.mkdir()
    blocker = tmp_path / "data"
    blocker.write_text("not a folder", encoding="utf-8")
    for path, problem in ((folder, "is a folder, not a file."), (blocker / "fb.sqlite3", "cannot be made: a file is "
                                                                                       "in the way of its folder.")):
        for name, operation in _operations(tmp_path / "out.yaml").items():
            if name == "export" and path.parent == blocker:
                continue  # nothing there to export: "Nothing to export", as before
            with pytest.raises(FeedbackStoreError, match=f"^The feedback database {path} {problem}"):
                operation(FeedbackStore(path))
    assert blocker.read_text(encoding="utf-8") == "not a folder" and not any(folder.iterdir())



def test_thumbs_down_on_an_answer_exports_its_quotes_as_unexpected(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    quoted = [{"n": 1, "title": "A", "quote": "The bridge opened\nin 2010.", "source": "a.txt"},
              {"n": 2, "title": "B", "quote": "It cost 12 billion yuan.", "source": "b.txt"},
              {"n": 3, "title": "A", "quote": "The bridge opened in 2010.", "source": "a.txt"}]
    store.add(rating="down", question="When did it open?", answer={
        "answer": "The bridge opened in 2010. [1] It cost 12 billion yuan. [2]", "abstained": False,
        "citations": quoted})
    # An answer from the article's byline quotes "Reviewer: ...", which its text does not show: the answer is used.
    store.add(rating="down", question="Who reviewed it?", answer={
        "answer": "The article was reviewed by Zhang Xiang. [1]", "abstained": False,
        "citations": [{"n": 1, "title": "A", "quote": "Reviewer: Zhang Xiang", "source": "a.txt"}]})
    store.add(rating="up", question="When?", answer=answer("In 2008 [1].", titles=("A",)))
    out = tmp_path / "fb.yaml"
    store.export_question_set(out)
    text = out.read_text(encoding="utf-8")
    assert "# `unexpected` holds what the answer quoted (drop any sentence that was right): the" in text
    assert [(c.id, c.answerable, c.unexpected, c.expected) for c in load_cases(out)] == [
        ("feedback-1", True, ("The bridge opened in 2010.", "It cost 12 billion yuan."), ()),
        ("feedback-2", True, ("The article was reviewed by Zhang Xiang.",), ()),
        ("feedback-3", True, (), ())]
    # Marked unanswerable as the comment offers, it still loads.
    out.write_text(text.replace("answerable: true", "answerable: false", 1), encoding="utf-8")
    assert load_cases(out)[0].answerable is False


@pytest.mark.integration
def test_an_exported_thumbs_down_fails_while_the_bot_repeats_the_answer(tmp_path: Path, seeds_pipeline: Any) -> None:
    """The real pipeline's answer, rated down and exported, is a case the same pipeline fails; another answer to
    the question passes it."""
    question = SUTONG_QUESTION
    given = seeds_pipeline.ask(question)
    assert not given.abstained and given.citations
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.add(rating="down", question=question, answer=given.to_dict())
    out = tmp_path / "rated.yaml"
    store.export_question_set(out)
    [case] = load_cases(out)
    assert case.unexpected and all(q in given.answer for q in case.unexpected)
    [again] = run_cases(seeds_pipeline, [case], progress=False)
    assert (again.verdicts.passed, again.verdicts.correct) == (False, False)
    assert again.verdicts.unexpected_found == case.unexpected
    other = seeds_pipeline.ask("How many vehicles use the Sutong Bridge every day?")
    assert not other.abstained and judge(case, other).passed


def test_an_exported_history_is_one_bot_eval_reads(tmp_path: Path) -> None:
    """A client may send an empty earlier question or a "system" turn; exported as they were, `bot eval` refused the
    whole set over that one case."""
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    store.add(rating="up", question="How many vehicles use it every day?", answer=answer("About 90,000. [1]"),
              history=["", {"role": "system", "content": "Be brief."}, SUTONG_QUESTION,
                       {"role": "assistant", "content": "In 2008."}])
    out = tmp_path / "rated.yaml"
    assert store.export_question_set(out) == 1
    [case] = load_cases(out)
    assert case.history == (SUTONG_QUESTION, {"role": "assistant", "content": "In 2008."})


def test_remove_deletes_one_rating(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    first = store.add(rating="up", question="q1", answer=answer("a1"))
    second = store.add(rating="down", question="q2", answer=answer("a2"))
    assert store.remove(first) is True and store.remove(first) is False
    assert [row["id"] for row in store.rows()] == [second]


def test_the_secret_is_made_once_and_kept_with_the_ratings(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    key = store.secret()
    assert len(key) == 32 and FeedbackStore(tmp_path / "feedback.sqlite3").secret() == key
    assert FeedbackStore(tmp_path / "other.sqlite3").secret() != key
    assert store.rows() == []  # not a rating
