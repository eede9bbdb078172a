"""The held-out half of the development set through the REAL pipeline (MiniLM, Chroma, BM25) over seeds/.

The targets are accuracy 0.90, gold cited 0.95, abstention recall 0.90, false abstention 0.05. The held-out half
(217 cases) has seven parts. Its 61 cases written with the answerer (whose failures were studied) meet the targets:
0.92 / 0.98 / 1.00 / 0.02. The three latest blind batches (i-*, j-*, k-*: 76 cases written from the articles alone
by authors who saw neither the bot nor the other cases) meet the accuracy target, narrowly miss gold cited and false
abstentions, and fall well short on abstention: 0.90 / 0.94 / 0.72 / 0.06 (k-* holds only near misses the articles
do not answer, 7 of 12 declined). The earlier blind batches do not: f-* 0.67 / 0.87 / 1.00 / 0.13, g-* 0.56 /
0.72 / 1.00 / 0.28, h-* 0.58 / 0.73 / 0.80 / 0.19. All 217: 0.78 / 0.88 / 0.84 / 0.11. The floors sit a little
under what is measured, so a real regression fails the build; raise them towards the targets as the answerer
improves.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from bot.evaluate import compute_metrics, failure_reasons, format_metrics, judge, load_cases, run_cases, write_report

DEV_SET = Path(__file__).resolve().parent / "dev.yaml"
log = logging.getLogger(__name__)


@pytest.mark.integration
@pytest.mark.slow
def test_heldout_half_meets_the_floors(seeds_pipeline: Any, tmp_path: Path) -> None:
    cases = load_cases(DEV_SET, split="heldout")
    results = run_cases(seeds_pipeline, cases, progress=False)
    metrics = compute_metrics(results)
    report = tmp_path / "report.md"
    write_report(metrics, results, report)
    failed = [f"  {r.case.id}: {'; '.join(failure_reasons(r.to_dict()))}" for r in results if not r.verdicts.passed]
    summary = "\n".join(["", format_metrics(metrics), f"failed ({len(failed)}, details in {report}):", *failed])
    log.info("%s", summary)

    assert metrics["errors"] == 0, summary
    assert metrics["accuracy"] >= 0.76, summary
    assert metrics["gold_cited"] >= 0.85, summary
    assert metrics["abstention_recall"] >= 0.80, summary
    assert metrics["false_abstention_rate"] <= 0.13, summary


@pytest.mark.integration
@pytest.mark.slow
def test_stand_alone_questions_keep_their_verdict_mid_conversation(seeds_pipeline: Any) -> None:
    """In a chat, a new question follows questions about something else. Each stand-alone held-out case is asked
    alone and right after the previous one (when that is about another article), as in a chat; the follow-up
    machinery must not take the earlier subject into a question that names its own. Measured: 3 of 195 get worse
    (9 of 159 tuning cases, and 11 of 155 held-out, did before the condenser learned clauses, idioms and own names)."""
    cases = [c for c in load_cases(DEV_SET, split="heldout") if not c.history]
    alone = {c.id: seeds_pipeline.ask(c.question) for c in cases}
    worse = []
    for previous, case in zip(cases, cases[1:]):
        if previous.sources == case.sources:
            continue
        history = [{"role": "user", "content": previous.question},
                   {"role": "assistant", "content": alone[previous.id].answer}]
        if judge(case, alone[case.id]).passed and not judge(case, seeds_pipeline.ask(case.question,
                                                                                    history=history)).passed:
            worse.append(case.id)
    log.info("worse mid-conversation (%d of %d): %s", len(worse), len(cases), worse)
    assert len(worse) <= 4, worse
