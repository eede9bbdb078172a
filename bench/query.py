"""Warm `ask` latency against its floor, measured in the same run.

The floor is what any dense question-answering over this index must pay: one query embedding plus one Chroma
query. For each dev-set question (with its history), the floor and a full `Pipeline.ask` are timed back to back,
so both see the same machine load; the figures are p50/p95 of each and their ratio.

    .venv/bin/python bench/query.py                 # indexes seeds/ into a temporary data dir first
    .venv/bin/python bench/query.py --data-dir .bot # an existing index
    .venv/bin/python bench/query.py --rounds 5

Not a test: it prints figures and asserts nothing.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="use this index instead of building one from seeds/")
    parser.add_argument("--questions", type=Path, default=ROOT / "tests" / "eval" / "dev.yaml")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    sys.path.insert(0, str(ROOT))

    from bot.chain import build_pipeline
    from bot.evaluate import load_cases
    from bot.indexing import make_indexer
    from bot.settings import Settings
    from index.embedder import Embedder

    temporary = None
    if args.data_dir is None:
        temporary = tempfile.TemporaryDirectory(prefix="bench-query-")
        args.data_dir = Path(temporary.name)
    settings = Settings(data_dir=args.data_dir)
    embedder = Embedder(model_path=settings.model_path)
    if temporary is not None:
        make_indexer(settings, embedder=embedder, progress=False).run([ROOT / "seeds"])
    pipeline = build_pipeline(settings, embedder=embedder)
    pipeline.warm_up()
    cases = load_cases(args.questions)
    store, retriever = pipeline.retriever.store, pipeline.retriever

    def floor(question: str) -> float:
        started = time.perf_counter()
        vector = embedder.encode_query(question)
        store.query(vector, n=retriever.candidates)
        return (time.perf_counter() - started) * 1000

    def ask(case: object) -> float:
        started = time.perf_counter()
        pipeline.ask(case.question, history=case.history)
        return (time.perf_counter() - started) * 1000

    for case in cases:  # warm: model, keyword index, passage analysis cache
        ask(case)
    floors: list[float] = []
    asks: list[float] = []
    stages: dict[str, list[float]] = {"retrieve": [], "answer": []}
    for _ in range(args.rounds):
        for case in cases:
            floors.append(floor(case.question))
            asks.append(ask(case))
            answer = pipeline.ask(case.question, history=case.history)
            for stage in stages:
                stages[stage].append(answer.timings_ms[stage])

    f50, f95 = percentile(floors, 0.5), percentile(floors, 0.95)
    a50, a95 = percentile(asks, 0.5), percentile(asks, 0.95)
    print(f"questions: {len(cases)} x {args.rounds} rounds (warm)")
    print(f"floor (1 query embedding + 1 Chroma query): p50 {f50:6.1f} ms   p95 {f95:6.1f} ms")
    print(f"ask   (condense, hybrid retrieve, answer):  p50 {a50:6.1f} ms   p95 {a95:6.1f} ms")
    print(f"ratio ask/floor: p50 {a50 / f50:.2f}x   p95 {a95 / f95:.2f}x   (target: p50 <= 2x and < 60 ms)")
    print("stages (p50): " + ", ".join(f"{k} {statistics.median(v):.1f} ms" for k, v in stages.items()))
    if temporary is not None:
        temporary.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
