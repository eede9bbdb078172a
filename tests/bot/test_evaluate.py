"""`bot eval` with a fake pipeline whose answers are fixed, so every metric is simple arithmetic."""
from __future__ import annotations

import io
import json
import re
from dataclasses import replace
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from bot.errors import IndexMissingError, UsageError
from bot.evaluate import (
    CaseResult,
    EvalCase,
    ResultsWriter,
    check_output_paths,
    check_thresholds,
    compare_results,
    compute_metrics,
    contains_fact,
    failure_reasons,
    format_metrics,
    holds_context,
    iter_cases,
    load_cases,
    matches_source,
    missing_facts,
    results_metrics,
    run_cases,
    token_f1,
    validate_thresholds,
    write_report,
    write_results,
)
from bot.schema import Answer, Citation, Passage

# ------------------------------------------------------------------------------------------------ fakes


def passage(title: str, rank: int, text: str = "text") -> Passage:
    return Passage(chunk_id=f"{title}-{rank}", text=text, metadata={"title": title, "source": f"seeds/{title}.txt"},
                   score=1.0 / rank, rank=rank)


def citation(n: int, title: str, text: str, quote: str | None = None) -> Citation:
    return Citation(n=n, title=title, published=None, source=f"seeds/{title}.txt", chunk_id=f"{title}-c{n}",
                    text=text, quote=quote or text, score=0.5)


def answer(
    text: str,
    *,
    abstained: bool = False,
    citations: Sequence[Citation] = (),
    passages: Sequence[Passage] = (),
    total: float = 100.0,
    question: str = "q",
) -> Answer:
    return Answer(question=question, answer=text, abstained=abstained, citations=list(citations),
                  timings_ms={"retrieve": 1.0, "answer": 1.0, "total": total}, standalone_question=question,
                  passages=list(passages))


class FakePipeline:
    """Answers each question from a fixed table; an exception in the table is raised instead."""

    def __init__(self, table: Mapping[str, Answer | BaseException]) -> None:
        self.table = table
        self.calls: list[dict[str, Any]] = []

    def ask(self, question: str, *, history: Sequence[Any] | None = None, k: int | None = None) -> Answer:
        self.calls.append({"question": question, "history": history, "k": k})
        reply = self.table[question]
        if isinstance(reply, BaseException):  # (KeyboardInterrupt too: Ctrl-C part-way)
            raise reply
        return reply


# Seven cases whose metrics are worked out by hand in test_metrics_arithmetic.
CASES = [
    EvalCase(id="c1", question="q1", expected=("90000",), sources=("Bridge",)),
    EvalCase(id="c2", question="q2", expected=("2008", ("Sutong", "Su-Tong")), sources=("Bridge",)),
    EvalCase(id="c3", question="q3", expected=("Wu Xinming",), sources=("Interview",)),
    EvalCase(id="c4", question="q4", answerable=False),
    EvalCase(id="c5", question="q5", answerable=False),
    EvalCase(id="c6", question="q6", expected=("x",), sources=("Bridge",)),
    EvalCase(id="c7", question="q7", reference="the bridge opened in 2008"),
]
TABLE: dict[str, Answer | Exception] = {
    "q1": answer("Traffic exceeded 90,000 vehicles.", total=100,
                 citations=[citation(1, "Bridge news", "Daily traffic exceeded 90,000 vehicles.")],
                 passages=[passage("Bridge news", 1), passage("Other", 2)]),
    "q2": answer("It opened in 2008.", total=200,
                 citations=[citation(1, "Bridge news", "The Sutong Bridge opened in 2008."),
                            citation(2, "Other", "Unrelated.")],
                 passages=[passage("Other", 1), passage("Bridge news", 2)]),
    "q3": answer("The articles do not say.", abstained=True, total=300, passages=[passage("Other", 1)]),
    "q4": answer("The articles do not say.", abstained=True, total=400),
    "q5": answer("The bridge cost a lot.", total=500, citations=[citation(1, "Bridge news", "The bridge.")]),
    "q6": RuntimeError("model exploded"),
    "q7": answer("The bridge opened in 2008 in Nantong.", total=600),
}
# A real pipeline echoes the question it was asked.
TABLE = {q: replace(a, question=q) if isinstance(a, Answer) else a for q, a in TABLE.items()}


@pytest.fixture()
def results() -> list[CaseResult]:
    return run_cases(FakePipeline(TABLE), CASES, progress=False)


# ------------------------------------------------------------------------------------------------ matching


def test_facts_ignore_case_commas_and_spaces() -> None:
    assert contains_fact("Traffic exceeded 90,000 vehicles", "90000")
    assert contains_fact("traffic exceeded 90000 vehicles", "90,000")
    assert contains_fact("opened on June  30,\n2008.", "june 30, 2008")
    assert contains_fact("Nantong’s transport", "Nantong's")
    assert not contains_fact("opened in 2009", "2008")


def test_alternatives_any_one_suffices_and_every_item_is_needed() -> None:
    assert contains_fact("the Su-Tong crossing", ("Sutong", "Su-Tong"))
    assert missing_facts("It opened in 2008.", ("2008", ("Sutong", "Su-Tong"))) == ("Sutong | Su-Tong",)
    assert missing_facts("Su-Tong opened in 2008.", ("2008", ("Sutong", "Su-Tong"))) == ()


def test_sources_match_title_or_source_case_insensitively() -> None:
    assert matches_source("The Sutong Bridge story", "seeds/a.txt", ["sutong bridge"])
    assert matches_source("Other", "seeds/003_ea76.txt", ["003_"])
    assert not matches_source("Other", "seeds/a.txt", ["Sutong"])


def test_token_f1_is_squad_style() -> None:
    assert token_f1("The bridge opened in 2008 in Nantong.", "the bridge opened in 2008") == pytest.approx(0.8)
    assert token_f1("A Bridge!", "bridge") == 1.0
    assert token_f1("nothing shared", "bridge") == 0.0
    assert token_f1("", "") == 1.0
    # ... but a blank reference is none: a decline scored 1.0 against it on a case that failed.
    declined = CaseResult(EvalCase(id="c", question="q", reference="  "), answer("No.", abstained=True))
    assert declined.verdicts.f1 is None and not declined.verdicts.passed


# ------------------------------------------------------------------------------------------------ running


def test_run_passes_history_and_k_and_records_a_raising_case(results: list[CaseResult]) -> None:
    pipeline = FakePipeline(TABLE)
    given = ({"role": "user", "content": "q2"}, {"role": "assistant", "content": "As written."})
    cases = [EvalCase(id="a", question="q6"), EvalCase(id="b", question="q1", history=given)]
    got = run_cases(pipeline, cases, k=3, progress=False)
    assert [r.case.id for r in got] == ["a", "b"]
    assert got[0].answer is None and got[0].error == "RuntimeError: model exploded"
    assert got[1].answer is TABLE["q1"] and got[1].error is None
    # A history with the assistant's turns is used as written.
    assert pipeline.calls == [{"question": "q6", "history": None, "k": 3},
                              {"question": "q1", "history": list(given), "k": 3}]
    assert got[1].history == given and got[1].to_dict()["history"] == list(given)
    assert got[0].to_dict()["history"] == []  # every row has one, empty when the case had none


def test_earlier_questions_are_replayed_with_the_bots_answers() -> None:
    """A history of questions only is the conversation a chat user has: each earlier question is asked in turn
    with the conversation so far, and the bot's answers go between them."""
    pipeline = FakePipeline(TABLE)
    [result] = run_cases(pipeline, [EvalCase(id="f", question="q1", history=("q2", "q7"))], k=2, progress=False)
    conversation = [{"role": "user", "content": "q2"}, {"role": "assistant", "content": TABLE["q2"].answer},
                    {"role": "user", "content": "q7"}, {"role": "assistant", "content": TABLE["q7"].answer}]
    assert pipeline.calls == [{"question": "q2", "history": None, "k": 2},
                              {"question": "q7", "history": conversation[:2], "k": 2},
                              {"question": "q1", "history": conversation, "k": 2}]
    assert result.history == tuple(conversation) and result.to_dict()["history"] == conversation
    # The case is judged on its own question's answer; the replayed answers are not scored.
    assert result.answer is TABLE["q1"] and result.verdicts.passed


def test_a_failing_replayed_question_fails_its_case_only() -> None:
    got = run_cases(FakePipeline(TABLE), [EvalCase(id="f", question="q1", history=("q6",)),
                                          EvalCase(id="g", question="q1")], progress=False)
    assert got[0].error == "RuntimeError: model exploded" and got[0].answer is None
    assert got[1].error is None


def test_a_missing_index_stops_the_run() -> None:
    pipeline = FakePipeline({"q": IndexMissingError("No index. Run `bot index` first.")})
    with pytest.raises(IndexMissingError):
        run_cases(pipeline, [EvalCase(id="a", question="q")], progress=False)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_goes_to_stderr_on_a_terminal(monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    run_cases(FakePipeline(TABLE), CASES[:1], progress=True)
    assert capsys.readouterr().out == "" and "1/1" in terminal.getvalue()


def test_no_progress_bar_in_a_redirected_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    """As with `bot index`: a log file or a pipe gets only the real messages, not the bar's redraws."""
    run_cases(FakePipeline(TABLE), CASES[:1], progress=True)
    assert capsys.readouterr() == ("", "")


def test_verdicts_per_case(results: list[CaseResult]) -> None:
    v = {r.case.id: r.verdicts for r in results}
    assert (v["c1"].passed, v["c1"].correct, v["c1"].gold_rank, v["c1"].gold_cited) == (True, True, 1, True)
    assert (v["c2"].passed, v["c2"].correct, v["c2"].missing, v["c2"].gold_rank) == (False, False,
                                                                                     ("Sutong | Su-Tong",), 2)
    assert (v["c2"].cited, v["c2"].cited_with_facts) == (2, 1)
    assert (v["c3"].passed, v["c3"].abstained, v["c3"].gold_rank, v["c3"].gold_cited) == (False, True, None, False)
    assert v["c4"].passed and not v["c5"].passed
    assert (v["c6"].passed, v["c6"].correct, v["c6"].gold_cited) == (False, False, False)
    assert v["c7"].passed and v["c7"].correct is None and v["c7"].f1 == pytest.approx(0.8)


# ------------------------------------------------------------------------------------------------ metrics


def test_metrics_arithmetic(results: list[CaseResult]) -> None:
    m = compute_metrics(results)
    assert (m["cases"], m["errors"], m["passed"], m["answerable"], m["unanswerable"], m["abstained"]) == (
        7, 1, 3, 5, 2, 2)
    assert m["accuracy"] == 1 / 4 and m["accuracy_cases"] == 4          # c1 right; c2, c3, c6 wrong
    assert m["hit_at_k"] == 2 / 4 and m["retrieval_cases"] == 4         # c1 rank 1, c2 rank 2, c3 and c6 none
    assert m["mrr"] == (1 + 1 / 2 + 0 + 0) / 4
    assert m["gold_cited"] == 2 / 4
    assert m["citation_precision"] == 2 / 3 and m["cited_passages"] == 3  # c1 1/1, c2 1/2; c5 is unanswerable
    assert m["abstention_precision"] == 1 / 2                          # abstained on c3 (wrong) and c4 (right)
    assert m["abstention_recall"] == 1 / 2                             # c4 abstained, c5 answered
    assert m["false_abstention_rate"] == 1 / 5                         # c3 of five answerable
    assert m["token_f1"] == pytest.approx(0.8) and m["f1_cases"] == 1
    assert m["latency_p50_ms"] == 350.0                                # 100..600 without the error case
    assert m["latency_p95_ms"] == pytest.approx(575.0)                 # 500 + 0.75 * 100
    assert m["answer_words_median"] == 4.5                             # 4, 4, 5, 7 (abstentions left out)


def test_metrics_without_their_cases_are_absent() -> None:
    only = run_cases(FakePipeline(TABLE), [CASES[0]], progress=False)
    m = compute_metrics(only)
    for key in ("abstention_precision", "abstention_recall", "token_f1"):
        assert key not in m
    assert "n/a" in format_metrics(m)


def test_format_metrics_names_every_metric(results: list[CaseResult]) -> None:
    text = format_metrics(compute_metrics(results))
    assert "answer accuracy" in text and "0.250" in text and "(over 4 cases)" in text
    assert "latency p95 (ms)" in text and "575" in text


def test_thresholds() -> None:
    metrics = {"accuracy": 0.85, "abstention_recall": 0.5}
    assert check_thresholds(metrics, min_accuracy=0.85, min_abstention=None) == []
    problems = check_thresholds(metrics, min_accuracy=0.9, min_abstention=0.8)
    assert problems == ["answer accuracy 0.850 is below --min-accuracy 0.900.",
                        "abstention recall 0.500 is below --min-abstention 0.800."]
    missing = check_thresholds({}, min_accuracy=None, min_abstention=0.5)
    assert len(missing) == 1 and "answerable: false" in missing[0]
    with pytest.raises(UsageError, match="--min-accuracy must be between 0 and 1"):
        check_thresholds(metrics, min_accuracy=85, min_abstention=None)


def test_thresholds_are_validated_before_any_run() -> None:
    validate_thresholds(min_accuracy=0.0, min_abstention=1.0)
    validate_thresholds(min_accuracy=None, min_abstention=None)
    with pytest.raises(UsageError, match=r"--min-abstention must be between 0 and 1. Currently, it is -0.1"):
        validate_thresholds(min_accuracy=0.5, min_abstention=-0.1)


# ------------------------------------------------------------------------------------------------ files


def test_results_file_rows(results: list[CaseResult], tmp_path: Path) -> None:
    path = tmp_path / "out" / "results.jsonl"
    write_results(results, path)
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [row["id"] for row in rows] == [c.id for c in CASES]
    first = rows[0]
    assert set(TABLE["q1"].to_dict()) <= set(first) and first["verdicts"]["passed"] is True
    assert first["citations"][0]["title"] == "Bridge news" and "error" not in first
    error_row = rows[5]
    assert error_row["error"] == "RuntimeError: model exploded" and error_row["question"] == "q6"
    assert set(TABLE["q1"].to_dict()) <= set(error_row)  # the same shape as an answered case
    assert error_row["verdicts"]["passed"] is False


def test_report_lists_metrics_and_every_failed_case(results: list[CaseResult], tmp_path: Path) -> None:
    path = tmp_path / "report.md"
    write_report(compute_metrics(results), results, path)
    text = path.read_text(encoding="utf-8")
    assert "| answer accuracy | 0.250 | 4 cases |" in text
    failed = text.split("## Failed cases (4)")[1]
    for case_id in ("c2", "c3", "c5", "c6"):
        assert f"### {case_id}" in failed
    for case_id in ("c1", "c4", "c7"):
        assert f"### {case_id}" not in failed
    assert "It opened in 2008." in failed and "missing 'Sutong | Su-Tong'" in failed
    assert '[1] Bridge news — "The Sutong Bridge opened in 2008."' in failed
    assert "abstained on an answerable question" in failed
    assert "answered a question the articles do not answer" in failed
    assert "RuntimeError: model exploded" in failed


def test_report_shows_the_conversation_a_follow_up_was_asked_in(tmp_path: Path) -> None:
    results = run_cases(FakePipeline(TABLE), [EvalCase(id="f", question="q3", history=("q2",))], progress=False)
    path = tmp_path / "report.md"
    write_report(compute_metrics(results), results, path)
    assert "- **History:** user: q2 / assistant: It opened in 2008." in path.read_text(encoding="utf-8")


def test_compare_names_cases_that_got_worse_and_better(results: list[CaseResult], tmp_path: Path) -> None:
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    write_results(results, old)
    table = dict(TABLE)
    table["q1"] = answer("No idea.", abstained=True, question="q1")  # c1: passed -> failed
    table["q5"] = answer("The articles do not say.", abstained=True, question="q5")  # c5: failed -> passed
    write_results(run_cases(FakePipeline(table), CASES[:6], progress=False), new)
    text = compare_results(old, new)
    assert "Got worse (1):\n  c1: q1 -- abstained on an answerable question" in text
    assert "Got better (1):\n  c5: q5" in text
    assert f"Only in {old} (1): c7" in text
    assert "6 cases in both: 1 worse, 1 better, 1 still passing, 3 still failing." in text
    assert "answer accuracy" in text


def test_compare_rejects_files_that_are_not_results(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "question": "q", "answer": "", "abstained": false, "verdicts": {}}\n'
                   '{"question": "q"}\n', encoding="utf-8")
    with pytest.raises(UsageError, match=r"bad.jsonl, line 1: not a `bot eval` results row \(it has no "
                                         r"`verdicts.passed`\)"):
        compare_results(bad, bad)
    bad.write_text('{"question": "q"}\n', encoding="utf-8")
    with pytest.raises(UsageError, match=r"bad.jsonl, line 1: not a `bot eval` results row"):
        compare_results(bad, bad)
    with pytest.raises(UsageError, match="does not exist"):
        compare_results(tmp_path / "nope.jsonl", bad)
    with pytest.raises(UsageError, match=f"Results file {tmp_path} is a folder"):
        compare_results(tmp_path, bad)


@pytest.mark.parametrize(("change", "problem"), [
    (lambda row: row["verdicts"].pop("answerable"), "it has no `verdicts.answerable`"),
    (lambda row: row.pop("abstained"), "it has no `abstained`"),
    (lambda row: row["verdicts"].update(gold_rank="first"), "its `verdicts.gold_rank` is a string"),
    (lambda row: row["verdicts"].update(cited=True), "its `verdicts.cited` is true/false"),
    (lambda row: row.update(id=["a"]), "its `id` is a list"),
])
def test_compare_names_what_a_damaged_results_row_lacks(results: list[CaseResult], tmp_path: Path,
                                                        change: Any, problem: str) -> None:
    """A row missing a field the metrics read was a KeyError (or a TypeError) with no line number."""
    good, damaged = tmp_path / "good.jsonl", tmp_path / "damaged.jsonl"
    write_results(results, good)
    rows = [json.loads(line) for line in good.read_text(encoding="utf-8").splitlines()]
    change(rows[1])
    damaged.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    for call in (lambda: compare_results(good, damaged), lambda: results_metrics(damaged)):
        with pytest.raises(UsageError) as caught:
            call()
        assert str(caught.value) == (f"{damaged}, line 2: not a `bot eval` results row ({problem}). Compare files "
                                     "written by `bot eval --output`.")


def test_files_with_a_byte_order_mark_are_read(results: list[CaseResult], tmp_path: Path) -> None:
    """Windows editors (and PowerShell 5's `Out-File -Encoding utf8`) start UTF-8 files with a byte-order mark."""
    bom = "\ufeff"
    jsonl = write(tmp_path, "set.jsonl", bom + '{"id": "a", "question": "q1"}\n')
    untyped = write(tmp_path, "set.txt", bom + '{"id": "a", "question": "q1"}\n')
    yaml_set = write(tmp_path, "set.yaml", bom + "- id: a\n  question: q1\n")
    for path in (jsonl, untyped, yaml_set):
        assert [(c.id, c.question) for c in load_cases(path)] == [("a", "q1")]
    good, marked = tmp_path / "good.jsonl", tmp_path / "marked.jsonl"
    write_results(results, good)
    marked.write_text(bom + good.read_text(encoding="utf-8"), encoding="utf-8")
    assert results_metrics(marked) == results_metrics(good)
    assert "0 worse, 0 better" in compare_results(good, marked)


def test_a_set_nested_too_deeply_is_one_usage_error(tmp_path: Path) -> None:
    """Python's parsers give up with a RecursionError, which reached the user as "RecursionError: maximum recursion
    depth exceeded"."""
    deep = "[" * 100_000 + "]" * 100_000
    cases = (("s.yaml", deep + "\n", r"s.yaml: not valid YAML \(nested too deeply"),
             ("s.jsonl", '{"question": "q", "expected": ' + deep + "}\n", r"s.jsonl, line 1: nested too deeply"))
    for name, text, message in cases:
        with pytest.raises(UsageError, match=message):
            load_cases(write(tmp_path, name, text))
    results = write(tmp_path, "r.jsonl", '{"id": "a", "verdicts": ' + deep + "}\n")
    with pytest.raises(UsageError, match=r"r.jsonl, line 1: nested too deeply"):
        results_metrics(results)


def test_outputs_that_would_overwrite_the_set_or_cannot_be_written_are_refused(tmp_path: Path) -> None:
    """Checked before the run: found after it, the results were lost (or the question set overwritten)."""
    question_set = write(tmp_path, "set.yaml", "- question: q\n")
    (tmp_path / "out").mkdir()
    refusals = [
        ({"--output": question_set}, f"--output {question_set} is the question set"),
        ({"--report": tmp_path / "out" / ".." / "set.yaml"}, "is the question set"),
        ({"--output": tmp_path / "r.md", "--report": tmp_path / "r.md"},
         f"--report {tmp_path / 'r.md'} is the file given with --output"),
        ({"--output": tmp_path / "out"}, f"--output {tmp_path / 'out'} is a folder"),
        ({"--report": question_set / "r.md"}, f"{question_set} is a file, not a folder"),
    ]
    for outputs, message in refusals:
        with pytest.raises(UsageError, match=re.escape(message)):
            check_output_paths(question_set, outputs)
    check_output_paths(question_set, {"--output": tmp_path / "new" / "r.jsonl", "--report": None})
    assert question_set.read_text(encoding="utf-8") == "- question: q\n"


@pytest.mark.parametrize("text", ["", "\n  \n"], ids=["zero-bytes", "blank-lines"])
def test_compare_refuses_a_results_file_without_cases(results: list[CaseResult], tmp_path: Path,
                                                      text: str) -> None:
    """Not "0 cases in both": an empty results file is a run that went wrong, and the error names it."""
    good, empty = tmp_path / "good.jsonl", tmp_path / "empty.jsonl"
    write_results(results, good)
    empty.write_text(text, encoding="utf-8")
    for old, new in ((good, empty), (empty, good)):
        with pytest.raises(UsageError, match=f"Results file {empty} has no cases"):
            compare_results(old, new)
    with pytest.raises(UsageError, match="has no cases"):
        results_metrics(empty)


def test_results_metrics_are_those_of_the_run(results: list[CaseResult], tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    write_results(results, path)
    assert results_metrics(path) == compute_metrics(results)


# ------------------------------------------------------------------------------------------------ loading


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_yaml_list_with_every_field(tmp_path: Path) -> None:
    path = write(tmp_path, "set.yaml", """
- id: open
  question: When did it open?
  history: ["What is the Sutong Bridge?", {role: assistant, content: A bridge.}]
  expected: [90000, [Sutong, Su-Tong]]
  sources: Nantong
  reference: It opened in 2008.
  split: tune
  kind: date
- question: Who won the World Cup?
  answerable: false
""")
    first, second = load_cases(path)
    assert first == EvalCase(id="open", question="When did it open?",
                             history=("What is the Sutong Bridge?", {"role": "assistant", "content": "A bridge."}),
                             expected=("90000", ("Sutong", "Su-Tong")), sources=("Nantong",),
                             reference="It opened in 2008.", split="tune", kind="date")
    assert second == EvalCase(id="case-2", question="Who won the World Cup?", answerable=False)


def test_load_yaml_mapping_and_split_filter(tmp_path: Path) -> None:
    path = write(tmp_path, "set.yml", "cases:\n  - {question: a, split: tune}\n  - {question: b, split: heldout}\n")
    assert [c.question for c in load_cases(path, split="heldout")] == ["b"]
    with pytest.raises(UsageError, match="No case in .* has split 'test'. Splits in the file: heldout, tune."):
        load_cases(path, split="test")


def test_load_jsonl_and_ragas_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "set.jsonl", "\n".join([
        json.dumps({"id": "x", "question": "q1", "expected": ["2008"]}),
        "",
        json.dumps({"user_input": "q2", "reference": "It opened in 2008.", "reference_contexts": ["ctx"],
                    "response": "ignored"}),
        json.dumps({"user_input": [{"type": "human", "content": "first?"}, {"type": "ai", "content": "yes"},
                                   {"type": "human", "content": "and then?"}]}),
    ]))
    one, two, three = load_cases(path)
    assert one == EvalCase(id="x", question="q1", expected=("2008",))
    assert two == EvalCase(id="case-2", question="q2", reference="It opened in 2008.", reference_contexts=("ctx",))
    assert three.question == "and then?" and three.history == (
        {"role": "user", "content": "first?"}, {"role": "assistant", "content": "yes"})
    assert three.answerable and three.expected == ()


def test_jsonl_is_sniffed_without_the_suffix(tmp_path: Path) -> None:
    path = write(tmp_path, "set.txt", '{"question": "q1"}\n{"question": "q2"}\n')
    assert [c.id for c in load_cases(path)] == ["case-1", "case-2"]


def test_json_holding_the_cases_on_one_line_is_no_jsonl(tmp_path: Path) -> None:
    """`{"cases": [...]}` written by a JSON tool on one line was read as one JSONL case with an unknown key."""
    path = write(tmp_path, "set.json", json.dumps({"cases": [{"id": "a", "question": "q1"}, {"question": "q2"}]}))
    assert [(c.id, c.question) for c in load_cases(path)] == [("a", "q1"), ("case-2", "q2")]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("s.yaml", "- question: a\n- id: two\n  expected: [x]\n",
         r"s.yaml, case 2 \(id 'two'\): missing `question`"),
        ("s.yaml", "- question: a\n  expected: {x: 1}\n", r"s.yaml, case 1: `expected` item 1 must be"),
        ("s.yaml", "- question: a\n  expected: [true]\n", r"case 1: `expected` item 1 must be"),
        ("s.yaml", "- {id: a, question: q}\n- {id: a, question: r}\n",
         r"case 2 \(id 'a'\): duplicate id 'a' \(already used at .*case 1"),
        ("s.yaml", "- question: a\n  expected: [x\n- question: b\n", r"s.yaml, line \d+, column \d+: not valid YAML"),
        ("s.yaml", "- question: a\n  expect: [x]\n", r"case 1: unknown key 'expect'"),
        ("s.yaml", "- question: a\n  answerable: 'no'\n", r"`answerable` must be true or false"),
        ("s.yaml", "- question: a\n  history: [{role: bot, content: x}]\n", r"`history` item 1 must be"),
        ("s.yaml", "- question: a\n  answerable: false\n  expected: [x]\n",
         r"`answerable: false` cannot have `expected`"),
        ("s.yaml", "- question: 42\n", r"`question` must be text, not a number"),
        ("s.yaml", "- just a string\n", r"case 1: a case must be a mapping"),
        ("s.yaml", "title: no cases key\n", r"a list of cases or a mapping with a `cases:` list"),
        ("s.yaml", "", r"has no cases"),
        ("s.jsonl", '{"question": "a"}\n\n{"question": "b",}\n', r"s.jsonl, line 3: not valid JSON"),
        ("s.jsonl", '{"question": "a"}\n{"id": "b"}\n', r"s.jsonl, line 2 \(id 'b'\)|s.jsonl, line 2: missing"),
        ("s.jsonl", '{"question": "a", "sources": [1]}\n', r"line 1: `sources` must be a list of non-empty texts"),
        ("s.jsonl", '{"user_input": ""}\n', r"line 1: `user_input` is empty"),
        ("s.jsonl", '["question"]\n', r"line 1: a case must be a mapping"),
    ],
)
def test_malformed_sets_say_where_and_what(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        load_cases(write(tmp_path, name, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="does not exist"):
        load_cases(tmp_path / "none.yaml")


# ------------------------------------------------------------------------------------------------ unexpected

WRONG = "The Sutong Bridge opened to traffic in 2010."


def test_unexpected_fails_an_answer_that_repeats_the_wrong_one(tmp_path: Path) -> None:
    """A thumbs-down on a wrong answer: the case must fail while the bot says it again, however spaced or cased."""
    cases = [EvalCase(id="again", question="q1", unexpected=(WRONG,)),
             EvalCase(id="other", question="q2", unexpected=(WRONG,)),
             EvalCase(id="declined", question="q3", unexpected=(WRONG,)),
             EvalCase(id="both", question="q4", expected=("2008",), unexpected=("2010", "1999")),
             EvalCase(id="unanswerable", question="q5", answerable=False, unexpected=(WRONG,))]
    table = {"q1": answer("the sutong bridge  opened to traffic in 2,010. [1]", question="q1"),
             "q2": answer("The Sutong Bridge opened to traffic on June 30, 2008. [1]", question="q2"),
             "q3": answer("The articles do not say.", abstained=True, question="q3"),
             "q4": answer("It opened in 2008, not 2010. [1]", question="q4"),
             "q5": answer("The articles do not say.", abstained=True, question="q5")}
    results = run_cases(FakePipeline(table), cases, progress=False)
    v = {r.case.id: r.verdicts for r in results}
    assert (v["again"].passed, v["again"].correct, v["again"].unexpected_found) == (False, False, (WRONG,))
    assert (v["other"].passed, v["other"].correct, v["other"].unexpected_found) == (True, True, ())
    assert (v["declined"].passed, v["declined"].correct, v["declined"].unexpected_found) == (False, False, ())
    assert (v["both"].passed, v["both"].missing, v["both"].unexpected_found) == (False, (), ("2010",))
    assert v["both"].cited_with_facts == 0 and v["other"].cited_with_facts is None  # (only `expected` facts)
    assert (v["unanswerable"].passed, v["unanswerable"].correct) == (True, None)
    metrics = compute_metrics(results)
    assert (metrics["accuracy"], metrics["accuracy_cases"]) == (1 / 4, 4)  # "other" right; "again", "declined",
    # "both" wrong; the unanswerable case counts for abstention, not accuracy
    assert check_thresholds({}, min_accuracy=0.5, min_abstention=None) == [
        "answer accuracy cannot be checked against --min-accuracy 0.500: no answerable case has `expected` or "
        "`unexpected` facts."]

    out, report = tmp_path / "results.jsonl", tmp_path / "report.md"
    write_results(results, out)
    rows = {row["id"]: row for row in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    assert rows["again"]["verdicts"]["unexpected_found"] == [WRONG] and rows["other"]["verdicts"]["correct"]
    assert results_metrics(out)["accuracy"] == 1 / 4
    write_report(compute_metrics(results), results, report)
    text = report.read_text(encoding="utf-8")
    assert f"- **Why it failed:** holds unexpected '{WRONG}'" in text
    assert "- **Why it failed:** holds unexpected '2010'" in text and "- **Unexpected:** 2010; 1999" in text


def test_a_results_file_from_before_unexpected_still_compares(results: list[CaseResult], tmp_path: Path) -> None:
    old, new = tmp_path / "old.jsonl", tmp_path / "new.jsonl"
    write_results(results, new)
    rows = [json.loads(line) for line in new.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        del row["verdicts"]["unexpected_found"]
    old.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    assert "0 worse, 0 better" in compare_results(new, old)
    assert results_metrics(old) == results_metrics(new)


def test_load_unexpected_from_yaml_and_jsonl(tmp_path: Path) -> None:
    yaml_set = write(tmp_path, "set.yaml", f"""
- id: one
  question: When did it open?
  unexpected: "{WRONG}"
- id: two
  question: How many vehicles?
  expected: ["90,000"]
  unexpected: [70000, "80,000"]
- id: three
  question: How much did it cost?
  answerable: false
  unexpected: ["12 billion"]
""")
    one, two, three = load_cases(yaml_set)
    assert (one.unexpected, two.unexpected, two.expected) == ((WRONG,), ("70000", "80,000"), ("90,000",))
    assert (three.answerable, three.unexpected) == (False, ("12 billion",))
    jsonl_set = write(tmp_path, "set.jsonl", json.dumps({"id": "j", "question": "q", "unexpected": [WRONG]}) + "\n")
    assert load_cases(jsonl_set) == [EvalCase(id="j", question="q", unexpected=(WRONG,))]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("s.yaml", "- question: a\n  unexpected: [[x, y]]\n",
         r"^.*s.yaml, case 1: `unexpected` item 1 must be non-empty text, not \['x', 'y'\]\.$"),
        ("s.yaml", "- id: b\n  question: a\n  unexpected: {x: 1}\n",
         r"s.yaml, case 1 \(id 'b'\): `unexpected` item 1 must be non-empty text, not \{'x': 1\}\.$"),
        ("s.yaml", "- question: a\n  unexpected: [x, '  ']\n", r"case 1: `unexpected` item 2 must be non-empty text"),
        ("s.yaml", "- question: a\n  unexpected: [true]\n", r"case 1: `unexpected` item 1 must be non-empty text"),
        ("s.jsonl", '{"question": "a"}\n{"question": "b", "unexpected": [null]}\n',
         r"s.jsonl, line 2: `unexpected` item 1 must be non-empty text, not None\.$"),
        ("s.jsonl", '{"question": "a", "unexpected": ""}\n', r"s.jsonl, line 1: `unexpected` item 1 must be"),
    ],
)
def test_malformed_unexpected_says_which_case(tmp_path: Path, name: str, text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        load_cases(write(tmp_path, name, text))


# ------------------------------------------------------------------------------------------------ tester_e's report


def test_citation_markers_hold_no_facts_and_no_words() -> None:
    """"How many passages?" expected ["1"] passed on "there are three ... [1]", and `unexpected: ["1"]` failed every
    cited answer: the marker was matched as part of the answer (and counted as a token in F1)."""
    cases = [EvalCase(id="count", question="q1", expected=("1",)),
             EvalCase(id="unexp", question="q2", expected=("2008",), unexpected=("1",)),
             EvalCase(id="f1", question="q3", reference="The Sutong Bridge opened to traffic on June 30, 2008.")]
    opened = "The Sutong Bridge opened to traffic on June 30, 2008."
    table = {"q1": answer("At present, there are three river-crossing passages in Nantong. [1]", question="q1"),
             "q2": answer(f"{opened} [1]", question="q2"),
             "q3": answer(f"{opened} [1][2]", question="q3")}
    v = {r.case.id: r.verdicts for r in run_cases(FakePipeline(table), cases, progress=False)}
    assert (v["count"].passed, v["count"].missing) == (False, ("1",))
    assert (v["unexp"].passed, v["unexp"].unexpected_found) == (True, ())
    assert v["f1"].f1 == 1.0


def test_facts_match_whole_words_and_numbers_only() -> None:
    """"9" passed on "19 cooperation parks", "20" on "2008", "5" on "50" or "5.2"; hyphens did not match spaces."""
    assert not contains_fact("They jointly built 19 cooperation parks.", "9")
    assert not contains_fact("It opened in 2008 and 2022.", "20")
    assert not contains_fact("50 parks, 5.2 square kilometers", "5")
    assert not contains_fact("It covers 5.2 square kilometers", "2")
    assert contains_fact("It covers 5.2 square kilometers", "5.2")
    assert contains_fact("They jointly built 19 cooperation parks.", "19 cooperation  PARKS")
    assert contains_fact("Nantong's transport", "Nantong") and contains_fact("Nantong’s transport", "Nantong's")
    assert contains_fact("The Su-Tong second passage", "Su Tong second passage")
    assert contains_fact("The Su Tong second passage", "Su-Tong")
    assert contains_fact("Traffic exceeded 90,000 vehicles.", "90000") and contains_fact("on June 30, 2008.", "2008")
    assert contains_fact("Nantong, Shanghai and Suzhou", "Nantong Shanghai")
    # A comma in a list of numbers is no thousands separator: "1,2 and 3" holds "1, 2 and 3".
    assert contains_fact("Items 1,2 and 3 are done.", "1, 2 and 3") and not contains_fact("Items 1,2 and 3", "12")
    assert not contains_fact("Wuxi is near", "Wu")
    # A number ends where its digits do: an ordinal or a unit after it does not hide it.
    assert contains_fact("On November 8th last year", "November 8") and contains_fact("a 5km road", "5")


def test_ragas_rows_refuse_unknown_keys_and_honour_case_keys(tmp_path: Path) -> None:
    """`answerable: false` on a RAGAS row was ignored (scored as answerable), and `refrence_contexts` was accepted
    without a word."""
    typo = write(tmp_path, "typo.jsonl", json.dumps({"user_input": "When?", "reference": "2008",
                                                      "refrence_contexts": ["x"], "response": "bogus"}) + "\n")
    with pytest.raises(UsageError, match=r"typo.jsonl, line 1: unknown key 'refrence_contexts'\. Did you mean "
                                         r"'reference_contexts'\?"):
        load_cases(typo)
    native = write(tmp_path, "native.yaml", "- qestion: When?\n")
    with pytest.raises(UsageError, match=r"unknown key 'qestion'\. Did you mean 'question'\?"):
        load_cases(native)
    rows = [{"user_input": "How much did it cost?", "answerable": False, "id": "cost", "split": "heldout"},
            {"user_input": "When?", "expected": ["2008"], "sources": ["Bridge"], "kind": "date",
             "retrieved_contexts": ["another run's"], "response": "another run's answer", "rubrics": {"a": "b"},
             "multi_responses": ["x"], "synthesizer_name": "single_hop"}]
    path = write(tmp_path, "set.jsonl", "".join(json.dumps(row) + "\n" for row in rows))
    cost, when = load_cases(path)
    assert cost == EvalCase(id="cost", question="How much did it cost?", answerable=False, split="heldout")
    assert when == EvalCase(id="case-2", question="When?", expected=("2008",), sources=("Bridge",), kind="date")
    both = write(tmp_path, "both.jsonl", json.dumps({"user_input": "a", "question": "b"}) + "\n")
    with pytest.raises(UsageError, match="give the question as `question` or as RAGAS's `user_input`, not both"):
        load_cases(both)
    refused = write(tmp_path, "r.jsonl", json.dumps({"user_input": "a", "answerable": False,
                                                     "reference_contexts": ["c"]}) + "\n")
    with pytest.raises(UsageError, match="`answerable: false` cannot have `reference_contexts`"):
        load_cases(refused)


SUTONG = ("On June 30, 2008, the Sutong Bridge, the first cross-river bridge in Nantong, was opened to traffic. "
          "Its daily traffic now exceeds 90,000 vehicles.")


def test_holds_context_whole_in_part_or_by_a_sentence() -> None:
    passage_text = f"Release time: May 14, 2024. {SUTONG} The second passage will start soon."
    assert holds_context(passage_text, ["the  first cross-river bridge in\nNantong"])
    # A context longer than the chunk: one sentence of it (six words or more) is in the passage.
    longer = f"{SUTONG} Eight more crossings are planned for the next ten years and beyond."
    assert holds_context(passage_text, [longer])
    # A passage that is itself a part of a context.
    assert holds_context(SUTONG, [f"Earlier text. {SUTONG} Later text."])
    assert not holds_context(passage_text, ["It did.  Eight more crossings are planned for the next decade."])
    assert not holds_context("", [SUTONG]) and not holds_context(passage_text, [""])


def test_reference_contexts_judge_retrieval() -> None:
    """RAGAS sets carry their gold passages in `reference_contexts`, which were read and then never used: no hit@k,
    no MRR."""
    gold = passage("Bridge news", 2, text=f"Some lead. {SUTONG}")
    case = EvalCase(id="r", question="q", reference="It opened in 2008.", reference_contexts=(SUTONG,))
    cited = answer("It opened in 2008. [1]", question="q", passages=[passage("Other", 1), gold],
                   citations=[citation(1, "Bridge news", gold.text)])
    [result] = run_cases(FakePipeline({"q": cited}), [case], progress=False)
    v = result.verdicts
    assert (v.retrieval_judged, v.gold_rank, v.gold_cited, v.passed) == (True, 2, True, True)
    m = compute_metrics([result])
    assert (m["hit_at_k"], m["mrr"], m["retrieval_cases"]) == (1.0, 0.5, 1)
    missed = answer("It opened in 2008. [1]", question="q", passages=[passage("Other", 1)],
                    citations=[citation(1, "Other", "Unrelated.")])
    [result] = run_cases(FakePipeline({"q": missed}), [case], progress=False)
    assert (result.verdicts.gold_rank, result.verdicts.gold_cited, result.verdicts.passed) == (None, False, False)
    assert failure_reasons(result.to_dict()) == ["gold passage not cited (nor retrieved)"]


def test_results_rows_carry_the_case_k_and_what_was_retrieved(results: list[CaseResult], tmp_path: Path) -> None:
    """Rows had no `history` when the case had none, and no split, expected, sources, reference or k: results could
    not be broken down by split or judged again, and a retrieval miss showed nothing of what was retrieved."""
    case = EvalCase(id="full", question="q2", expected=("2008", ("Sutong", "Su-Tong")), unexpected=("2010",),
                    sources=("Bridge",), reference="It opened in 2008.", split="heldout", kind="date")
    [result] = run_cases(FakePipeline(TABLE), [case], k=3, progress=False)
    path = tmp_path / "r.jsonl"
    write_results([result, *results], path)
    full, first, *_ = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert (full["k"], full["history"], full["split"], full["kind"]) == (3, [], "heldout", "date")
    assert full["expected"] == ["2008", ["Sutong", "Su-Tong"]] and full["unexpected"] == ["2010"]
    assert (full["sources"], full["reference"]) == (["Bridge"], "It opened in 2008.")
    assert full["retrieved"] == [{"rank": 1, "title": "Other", "source": "seeds/Other.txt", "chunk_id": "Other-1"},
                                 {"rank": 2, "title": "Bridge news", "source": "seeds/Bridge news.txt",
                                  "chunk_id": "Bridge news-2"}]
    assert first["history"] == [] and first["k"] is None and "split" not in first and "reference" not in first


def test_report_states_k_and_lists_what_a_failed_case_retrieved(tmp_path: Path) -> None:
    """"Gold source: ... (not retrieved)" said nothing of what was retrieved instead, and k appeared nowhere."""
    results = run_cases(FakePipeline(TABLE), CASES, k=2, progress=False)
    path = tmp_path / "report.md"
    write_report(compute_metrics(results), results, path, k=2)
    text = path.read_text(encoding="utf-8")
    assert "Passages retrieved per question: k = 2." in text and "(partial)" not in text
    c2 = text.split("### c2")[1].split("###")[0]
    assert "- **Retrieved (k = 2):**\n  1. Other — seeds/Other.txt\n  2. Bridge news — seeds/Bridge news.txt" in c2
    assert "- **Retrieved (k = 2):** nothing" in text.split("### c5")[1]


def test_report_escapes_markdown_and_strips_terminal_codes(tmp_path: Path) -> None:
    """A multi-line question added a heading inside its case, `split: "a|b"` broke the table, and ANSI colour codes
    were written as they were."""
    case = EvalCase(id="nl", question="When did it open?\n## Also, who built it?\x1b[31m red\x1b[0m",
                    expected=("builder",), split="a|b")
    results = run_cases(FakePipeline({case.question: answer("It opened in 2008.", question=case.question)}),
                        [case], progress=False)
    path = tmp_path / "report.md"
    write_report(compute_metrics(results), results, path)
    text = path.read_text(encoding="utf-8")
    assert "| a\\|b | 1 | 0 |" in text
    assert "- **Question:** When did it open? ## Also, who built it? red\n" in text
    assert "\x1b" not in text and not any(line.startswith("## Also") for line in text.splitlines())


def test_results_are_written_as_each_case_finishes_and_an_interrupted_run_keeps_them(tmp_path: Path) -> None:
    """Ctrl-C (or a CI time limit) part-way through `bot eval` lost every finished case: results were written only
    at the end. Each line is on disk (flushed) as its case finishes, and the report says it is partial."""
    path, report = tmp_path / "out" / "results.jsonl", tmp_path / "report.md"
    table: dict[str, Answer | BaseException] = dict(TABLE)
    table["q3"] = KeyboardInterrupt()
    done: list[CaseResult] = []
    with pytest.raises(KeyboardInterrupt), ResultsWriter(path) as writer:
        for result in iter_cases(FakePipeline(table), CASES, progress=False):
            done.append(result)
            writer.write(result)
            # On disk already, not in a buffer: a kill -9 now would keep it.
            assert len(path.read_text(encoding="utf-8").splitlines()) == len(done)
    assert [json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines()] == ["c1", "c2"]
    write_report(compute_metrics(done), done, report, k=5, total=len(CASES))
    text = report.read_text(encoding="utf-8")
    assert text.startswith("# Evaluation report (partial)\n\n**Partial: interrupted after 2 of 7 cases.**")
    assert "2 cases: 1 passed, 1 failed" in text
    # A run stopped before any case finished leaves an earlier results file as it was.
    with ResultsWriter(path):
        pass
    assert len(path.read_text(encoding="utf-8").splitlines()) == 2


def test_compare_warns_of_changed_questions_disjoint_sets_and_another_k(
    results: list[CaseResult], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Positional ids (case-1, case-2 ...) shift when a row is inserted, and an edited question keeps its id: the
    comparison paired different questions as one case, "got worse", without a word."""
    old, new, other = tmp_path / "old.jsonl", tmp_path / "new.jsonl", tmp_path / "other.jsonl"
    write_results(results, old)
    changed = [replace(c, question="q2") if c.id == "c1" else c for c in CASES]
    write_results(run_cases(FakePipeline(TABLE), changed, k=3, progress=False), new)
    caplog.clear()
    with caplog.at_level("WARNING", logger="bot.evaluate"):
        text = compare_results(old, new)
    assert "Changed, not compared (1): c1" in text and "6 cases in both" in text
    # (The old run recorded no k, so there is no k to differ.)
    assert [r.getMessage() for r in caplog.records] == [
        f"1 case has the same id in {old} and {new} but a different question or expected facts, so it is not "
        "compared: c1 ('q1' then 'q2')."]
    write_results([CaseResult(EvalCase(id="x", question="q1"), TABLE["q1"], k=1)], other)  # type: ignore[arg-type]
    caplog.clear()
    with caplog.at_level("WARNING", logger="bot.evaluate"):
        compare_results(new, other)
    assert [r.getMessage() for r in caplog.records] == [
        f"{new} and {other} have no case id in common: they are runs of different question sets, so no case is "
        "compared.",
        f"The runs retrieved different numbers of passages: k = 3 in {new}, k = 1 in {other}."]


def test_results_with_null_timings_or_duplicate_ids(results: list[CaseResult], tmp_path: Path) -> None:
    """`"timings_ms": null` leaked "AttributeError: 'NoneType' object has no attribute 'get'", and a file joined
    with itself (`cat r.jsonl r.jsonl`) counted every case twice without a word."""
    good, edited = tmp_path / "good.jsonl", tmp_path / "edited.jsonl"
    write_results(results, good)
    rows = [json.loads(line) for line in good.read_text(encoding="utf-8").splitlines()]
    rows[0]["timings_ms"] = None
    edited.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    assert results_metrics(edited)["timed_cases"] == results_metrics(good)["timed_cases"] - 1
    rows[0]["timings_ms"] = {"total": "fast"}
    edited.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    with pytest.raises(UsageError, match=r"edited.jsonl, line 1: not a `bot eval` results row \(its "
                                         r"`timings_ms.total` is a string\)"):
        results_metrics(edited)
    # A `k` that is no number is named, not "TypeError: unhashable type: 'list'".
    rows[0]["timings_ms"], rows[0]["k"] = None, [5]
    edited.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    with pytest.raises(UsageError, match=r"edited.jsonl, line 1: not a `bot eval` results row \(its `k` is a list\)"):
        compare_results(good, edited)
    doubled = tmp_path / "doubled.jsonl"
    doubled.write_text(good.read_text(encoding="utf-8") * 2, encoding="utf-8")
    with pytest.raises(UsageError, match=r"doubled.jsonl, line 8: duplicate id 'c1' \(already at line 1\)"):
        compare_results(good, doubled)


def test_misleading_messages_say_what_is_wrong(results: list[CaseResult], tmp_path: Path) -> None:
    """"`question` must be non-empty text, not a string"; "the cases must be a YAML list, not a string" for a CSV;
    "line 2: duplicate id 'case-2'" for a line with no id; "not valid JSON" for a question set given to --compare."""
    empty = write(tmp_path, "e.jsonl", '{"question": ""}\n')
    with pytest.raises(UsageError, match=r"e.jsonl, line 1: `question` is empty\. Every case needs"):
        load_cases(empty)
    csv = write(tmp_path, "cases.csv", "id,question\na,When?\n")
    with pytest.raises(UsageError, match=r"cases.csv is a spreadsheet \(.csv\); bot eval reads YAML or JSONL"):
        load_cases(csv)
    text = write(tmp_path, "notes.txt", "id,question\na,When?\n")
    with pytest.raises(UsageError, match=r"notes.txt: neither JSONL .* nor a YAML list of cases"):
        load_cases(text)
    clash = write(tmp_path, "c.jsonl", '{"id": "case-2", "question": "a"}\n{"user_input": "b"}\n')
    with pytest.raises(UsageError, match=r"c.jsonl, line 2: this case has no `id`, and its automatic id 'case-2' "
                                         r"\(from its position\) is already used at .*line 1"):
        load_cases(clash)
    good = tmp_path / "good.jsonl"
    write_results(results, good)
    yaml_set = write(tmp_path, "set.yaml", "- id: a\n  question: When?\n")
    with pytest.raises(UsageError, match=r"set.yaml, line 1: not valid JSON .* It looks like a question set"):
        compare_results(good, yaml_set)
    jsonl_set = write(tmp_path, "set.jsonl", '{"id": "a", "question": "When?"}\n')
    with pytest.raises(UsageError, match=r"set.jsonl, line 1: not a `bot eval` results row \(it is a case of a "
                                         r"question set"):
        compare_results(good, jsonl_set)


# ------------------------------------------------------------------------------------------------ leftovers


def reply(question: str, text: str) -> Answer:
    """The pipeline's small-talk reply or list of articles: abstained, nothing cited, marked `small_talk`."""
    return Answer(question=question, answer=text, abstained=True, citations=[], timings_ms={"total": 1.0},
                  standalone_question=question, small_talk=True)


LISTING = "I have 2 articles, newest first:\n\n- Metaverse exhibition held in Kunshan (May 1)\n- Jiaxing (May 2)"
CHAT_TABLE: dict[str, Answer | BaseException] = {
    "What articles do you have?": reply("What articles do you have?", LISTING),
    "hi": reply("hi", "Hello! Ask me about the news."),
    "hello": answer("The articles do not say.", abstained=True, question="hello"),
    "List the articles": reply("List the articles", LISTING),
    "bye": reply("bye", "Goodbye!"),
}
CHAT_CASES = [
    EvalCase(id="lib", question="What articles do you have?", small_talk=True, expected=("Kunshan",)),
    EvalCase(id="hi", question="hi", small_talk=True),
    EvalCase(id="hello", question="hello", small_talk=True),
    EvalCase(id="list", question="List the articles", expected=("Kunshan",)),
    EvalCase(id="bye", question="bye", answerable=False),
]


def test_small_talk_and_the_article_list_are_scored_apart_from_abstentions(tmp_path: Path) -> None:
    """The article list and "hi" counted as abstentions: a set could cover them only as `answerable: false`, and
    the report labelled the list "Answer (abstained)". A case with `small_talk: true` expects such a reply."""
    results = run_cases(FakePipeline(CHAT_TABLE), CHAT_CASES, progress=False)
    v = {r.case.id: r.verdicts for r in results}
    assert (v["lib"].passed, v["lib"].correct, v["lib"].abstained) == (True, True, False)
    assert v["hi"].passed and not v["hi"].abstained and v["hi"].small_talk_expected
    assert (v["hello"].passed, v["hello"].abstained) == (False, True)  # declined where a greeting was due
    # A reply of the wrong kind holds none of the case's facts, and is no abstention either.
    assert (v["list"].passed, v["list"].correct, v["list"].missing, v["list"].abstained) == (
        False, False, ("Kunshan",), False)
    assert (v["bye"].passed, v["bye"].abstained) == (False, False)  # not a correct decline

    m = compute_metrics(results)
    assert m["small_talk_given"] == 2 / 3 and m["small_talk_cases"] == 3
    assert (m["answerable"], m["unanswerable"], m["abstained"]) == (1, 1, 0)  # the small-talk cases apart
    assert m["false_abstention_rate"] == 0 and m["abstention_recall"] == 0 and "abstention_precision" not in m
    assert m["accuracy"] == 1 / 2 and "answer_words_median" not in m  # the list is no answer's length
    assert "small talk / article list" in format_metrics(m)

    reasons = {r.case.id: failure_reasons(r.to_dict()) for r in results}
    assert reasons["hello"] == ["declined, not with small talk or the article list as expected"]
    assert reasons["list"] == ["replied with the article list instead of answering"]
    assert reasons["bye"] == ["replied with small talk instead of declining"]
    path = tmp_path / "report.md"
    write_report(m, results, path)
    text = path.read_text(encoding="utf-8")
    assert "- **Reply (article list):**" in text and "- **Reply (small talk):**" in text
    assert "Answer (abstained)" in text.split("### hello")[1].split("###")[0]

    # A results file written before kept `abstained: true` in the verdicts of such a reply: not an abstention.
    old = tmp_path / "old.jsonl"
    rows = [r.to_dict() for r in results]
    for row in rows:
        row["verdicts"]["abstained"] = row["abstained"]
    old.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    assert results_metrics(old)["abstained"] == 0


def test_load_small_talk_cases(tmp_path: Path) -> None:
    path = write(tmp_path, "set.yaml", "- {id: hi, question: hi, small_talk: true}\n"
                                       "- {question: q, small_talk: false}\n")
    assert [c.small_talk for c in load_cases(path)] == [True, False]
    for text, message in (("- {question: hi, small_talk: 'yes'}\n", r"`small_talk` must be true or false"),
                          ("- {question: hi, small_talk: true, answerable: false}\n",
                           r"case 1: a case with `small_talk: true` .* cannot have `answerable: false`"),
                          ("- {question: hi, small_talk: true, sources: [Nantong]}\n", r"cannot have `sources`")):
        with pytest.raises(UsageError, match=message):
            load_cases(write(tmp_path, "bad.yaml", text))


def test_by_split_counts_every_case_and_ends_with_a_total(results: list[CaseResult], tmp_path: Path) -> None:
    """The "By split" table left out the cases without a split (500 of 1,000) and had no total."""
    cases = [replace(c, split="heldout" if c.id in ("c1", "c2") else None, kind="date" if c.id == "c1" else None)
             for c in CASES]
    run = run_cases(FakePipeline(TABLE), cases, progress=False)
    path = tmp_path / "report.md"
    write_report(compute_metrics(run), run, path)
    text = path.read_text(encoding="utf-8")
    by_split = text.split("## By split")[1].split("##")[0]
    assert "| heldout | 2 | 1 |\n| (none) | 5 | 2 |\n| **total** | 7 | 3 |" in by_split
    assert "| date | 1 | 1 |\n| (none) | 6 | 2 |\n| **total** | 7 | 3 |" in text.split("## By kind")[1]


def test_metric_counts_say_their_unit(results: list[CaseResult], tmp_path: Path) -> None:
    """"citation precision 0.889 (over 9)" counted citations, every other row cases, and nothing said so."""
    metrics = compute_metrics(results)
    text = format_metrics(metrics)
    assert re.search(r"^citation precision +0\.667  \(over 3 citations\)$", text, re.MULTILINE)
    assert re.search(r"^token F1 +0\.800  \(over 1 case\)$", text, re.MULTILINE)
    path = tmp_path / "report.md"
    write_report(metrics, results, path)
    assert "| citation precision | 0.667 | 3 citations |" in path.read_text(encoding="utf-8")


class Stdin(io.TextIOWrapper):
    def __init__(self, text: str, *, tty: bool = False) -> None:
        super().__init__(io.BytesIO(text.encode("utf-8")), encoding="utf-8")
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize("text", ['{"id": "a", "question": "q1"}\n{"question": "q2"}\n',
                                  "- id: a\n  question: q1\n- question: q2\n"], ids=["jsonl", "yaml"])
def test_a_set_on_stdin_is_read_as_its_text_shows(monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    monkeypatch.setattr("sys.stdin", Stdin(text))
    assert [(c.id, c.question) for c in load_cases(Path("-"))] == [("a", "q1"), ("case-2", "q2")]


def test_stdin_errors_name_it_and_a_terminal_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", Stdin('{"question": "a"}\n{"question": 1}\n'))
    with pytest.raises(UsageError, match=r"^stdin, line 2: `question` must be text"):
        load_cases(Path("-"))
    monkeypatch.setattr("sys.stdin", Stdin("", tty=True))
    with pytest.raises(UsageError, match=r"reads the question set from stdin, which is a terminal"):
        load_cases(Path("-"))


def test_results_and_report_written_to_stdout(results: list[CaseResult], tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    with ResultsWriter(Path("-")) as writer:
        for result in results:
            writer.write(result)
    out = capsys.readouterr().out
    assert [json.loads(line)["id"] for line in out.splitlines()] == [c.id for c in CASES]
    assert not (Path.cwd() / "-").exists()
    write_report(compute_metrics(results), results, Path("-"))
    assert capsys.readouterr().out.startswith("# Evaluation report\n")
    # `-` is no file that the question set (or the other output) could be.
    questions = write(tmp_path, "set.yaml", "- question: q\n")
    check_output_paths(Path("-"), {"--output": Path("-"), "--report": tmp_path / "report.md"})
    check_output_paths(questions, {"--output": Path("-"), "--report": None})
    with pytest.raises(UsageError, match=r"--output and --report are both `-`"):
        check_output_paths(questions, {"--output": Path("-"), "--report": Path("-")})


def test_an_over_long_question_is_refused_when_the_set_is_loaded(tmp_path: Path) -> None:
    """A 3,000-character question was run and recorded as an error case; `bot ask` refuses it, so the set is
    malformed."""
    long = "When did the bridge open? " + "x" * 2000
    path = write(tmp_path, "set.jsonl", json.dumps({"question": "ok"}) + "\n" + json.dumps({"id": "long",
                                                                                           "question": long}) + "\n")
    assert len(load_cases(path)) == 2  # (no limit given: as before)
    with pytest.raises(UsageError, match=rf"set.jsonl, line 2 \(id 'long'\): the question is {len(long)} "
                                         r"characters long; `bot ask` takes at most 2000 \(the max_question_chars"):
        load_cases(path, max_question_chars=2000)
    asked = write(tmp_path, "h.yaml", f"- question: ok\n  history: [hi, '{long}']\n")
    with pytest.raises(UsageError, match=r"h.yaml, case 1: history question 2 is \d+ characters long"):
        load_cases(asked, max_question_chars=2000)
    # A history that gives the assistant's turns is not asked again: its length is no matter.
    given = write(tmp_path, "g.yaml", f"- question: ok\n  history: [{{role: user, content: '{long}'}}, "
                                      "{role: assistant, content: x}]\n")
    assert len(load_cases(given, max_question_chars=2000)) == 1
    # The limit is on the question as `bot ask` takes it: stripped.
    padded = write(tmp_path, "p.jsonl", json.dumps({"question": "  " + "y" * 10 + "  "}) + "\n")
    assert len(load_cases(padded, max_question_chars=10)) == 1


def test_system_turns_of_a_transcript_are_left_out(tmp_path: Path) -> None:
    """OpenAI-style transcripts open with `role: system`, which was refused."""
    system = {"role": "system", "content": "You are a helpful assistant."}
    path = write(tmp_path, "set.jsonl", "\n".join([
        json.dumps({"id": "a", "question": "q", "history": [system, {"role": "user", "content": "first?"},
                                                             {"role": "assistant", "content": "yes"}]}),
        json.dumps({"id": "b", "user_input": [system, {"role": "user", "content": "then?"}]}),
        json.dumps({"id": "c", "question": "q", "history": [{"role": "system", "content": 5}]}),
    ]))
    with pytest.raises(UsageError, match=r"line 3 \(id 'c'\): `history` item 1 must be a question or \{role: "
                                         r"user\|assistant\|system, content: text\}"):
        load_cases(path)
    path.write_text("\n".join(path.read_text(encoding="utf-8").splitlines()[:2]), encoding="utf-8")
    a, b = load_cases(path)
    assert a.history == ({"role": "user", "content": "first?"}, {"role": "assistant", "content": "yes"})
    assert (b.question, b.history) == ("then?", ())
