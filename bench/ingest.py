"""Ingest benchmark: `bot index` throughput against the raw encode throughput of the same model on the same texts.

    .venv/bin/python bench/ingest.py                  # 2,000 generated articles (a few minutes on 2 cores)
    .venv/bin/python bench/ingest.py --articles 300   # a quick look
    .venv/bin/python bench/ingest.py --cli            # also time the real `bot index` command (a second full run)
    .venv/bin/python bench/ingest.py --move           # also time re-indexing the corpus after moving its folder

1. Generates a corpus deterministically from seeds/ (see `generate_corpus`): article j copies seed article
   j mod 7 with a numbered headline and a date, and a body of "Bench copy j." plus that article's sentences,
   rotated by j // 7, cut to about one chunk, and shuffled with random.Random(j) - so every chunk text differs.
2. Indexes it in-process with the real Indexer (fresh data dir, embedded Chroma, progress off; the model is
   loaded before the clock starts), timing where the time goes: plan (read + parse + chunk), encode, store
   writes, store reads, BM25.
3. Reads back the exact chunk texts that were embedded (from the store) and times the raw
   `SentenceTransformer.encode(texts, batch_size=64)` of those texts with the same model object (and with
   --encode-chunks, `Embedder.encode_chunks`, i.e. encode + per-sentence pooling, on the same texts).
4. Prints chunks/s for each and the ratio (target: `bot index` >= 0.85 x raw encode), by wall time and by process
   CPU time (steadier when other work shares the CPUs), and writes bench/out/ingest.json.
Not a test: the numbers depend on the machine and on what else runs on it.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script from anywhere

SEEDS = ROOT / "seeds"
OUT = ROOT / "bench" / "out"
TARGET_RATIO = 0.85
# About one chunk per article: the chunker's bound is 200 word pieces, ~1.3 word pieces per English word.
BODY_WORDS = 120
FIRST_DATE = datetime.date(2024, 1, 1)


def seed_articles() -> list[tuple[str, list[str]]]:
    """(title, sentences) for each article of seeds/, in file order."""
    from index.articles import split_articles
    from index.chunking import split_sentences
    from index.loaders import discover_files, load_file

    articles = []
    for file in discover_files([SEEDS]):
        for article in split_articles(load_file(file)):
            sentences = [" ".join(article.body[s:e].split()) for s, e in split_sentences(article.body)]
            articles.append((article.title, [s for s in sentences if s]))
    return articles


def generate_corpus(directory: Path, count: int) -> int:
    """Write `count` one-article files (a00000.txt ...) in the seeds' first-article format; returns bytes written.

    Article j: seed article s = j mod 7; headline "<seed title> (bench copy j)"; "Release time:" FIRST_DATE + j
    days; body = the sentence "Bench copy j." then s's sentences rotated left by j // 7, taken in order while the
    body fits in BODY_WORDS words, shuffled with random.Random(j), two sentences per paragraph. (The numbered
    sentence makes every chunk text distinct even where a short seed article's windows and shuffles repeat.)"""
    seeds = seed_articles()
    directory.mkdir(parents=True, exist_ok=True)
    total = 0
    for j in range(count):
        title, sentences = seeds[j % len(seeds)]
        shift = (j // len(seeds)) % len(sentences)
        body = _fill([f"Bench copy {j}.", *sentences[shift:], *sentences[:shift]])
        random.Random(j).shuffle(body)
        paragraphs = "\n\n".join(" ".join(body[i:i + 2]) for i in range(0, len(body), 2))
        day = FIRST_DATE + datetime.timedelta(days=j)
        released = f"{day:%B} {day.day}, {day.year} 06:53 AM"
        text = f"{title} (bench copy {j})\n\nRelease time:{released}\n\n{paragraphs}\n"
        (directory / f"a{j:05d}.txt").write_text(text, encoding="utf-8")
        total += len(text.encode("utf-8"))
    return total


def _fill(sentences: Sequence[str]) -> list[str]:
    body: list[str] = []
    words = 0
    for sentence in sentences:
        n = len(sentence.split())
        if body and words + n > BODY_WORDS:
            break
        body.append(sentence)
        words += n
    return body


class Stopwatch:
    """Accumulated seconds per label; `wrap` times every call of a function under a label."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)

    def wrap(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started
                self.calls[label] += 1

        return timed


def _clocks() -> tuple[float, float]:
    # Wall time is what a user waits; process CPU time (all threads) is steadier when other work shares the CPUs.
    return time.perf_counter(), time.process_time()


def _since(clocks: tuple[float, float]) -> tuple[float, float]:
    wall, cpu = _clocks()
    return wall - clocks[0], cpu - clocks[1]


def index_in_process(
    corpus: Path, data_dir: Path, embedder: Any
) -> tuple[Any, tuple[float, float], Stopwatch, list[str]]:
    from bot.indexing import make_indexer
    from bot.settings import Settings

    settings = Settings(data_dir=data_dir)
    indexer = make_indexer(settings, embedder=embedder, progress=False)
    watch = Stopwatch()
    # Instance attributes shadow the methods, so every call made by Indexer.run is timed.
    indexer._plan_file = watch.wrap("plan: read + parse + chunk", indexer._plan_file)
    indexer._existing_files = watch.wrap("store reads (existing files)", indexer._existing_files)
    indexer.embedder.encode_chunks = watch.wrap("encode (encode_chunks)", indexer.embedder.encode_chunks)
    indexer.store.upsert = watch.wrap("store writes (upsert)", indexer.store.upsert)
    indexer.store.delete = watch.wrap("store writes (delete)", indexer.store.delete)
    indexer.sync_bm25 = watch.wrap("BM25 rebuild + save", indexer.sync_bm25)
    indexer._vector_donors = watch.wrap("store reads (moved texts)", indexer._vector_donors)
    indexer.store.vectors = watch.wrap("store reads (moved vectors)", indexer.store.vectors)
    started = _clocks()
    summary = indexer.run([corpus])
    elapsed = _since(started)
    del indexer.embedder.encode_chunks  # later passes time the plain method
    texts = [chunk.text for chunk in indexer.store.iter_chunks()]
    return summary, elapsed, watch, texts


def time_raw_encode(model: Any, texts: Sequence[str]) -> tuple[float, float]:
    started = _clocks()
    model.encode(list(texts), batch_size=64, show_progress_bar=False)
    return _since(started)


def time_encode_chunks(embedder: Any, texts: Sequence[str]) -> tuple[float, float]:
    from index.chunking import split_sentences

    spans = [split_sentences(t) for t in texts]
    started = _clocks()
    embedder.encode_chunks(list(texts), spans)
    return _since(started)


def time_cli(corpus: Path, data_dir: Path) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")} | {"HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "bot", "--data-dir", str(data_dir), "index", "--quiet",
                             str(corpus)], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"bot index failed ({result.returncode}): {result.stderr.strip()}")
    return seconds, result.stdout.strip()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=2000, help="articles to generate (default 2000)")
    parser.add_argument("--out", type=Path, default=OUT, help="where the corpus, index and results go")
    parser.add_argument("--encode-chunks", action="store_true",
                        help="also time Embedder.encode_chunks alone on the same texts (one more encode pass)")
    parser.add_argument("--cli", action="store_true", help="also time `bot index` as a command (a second run)")
    parser.add_argument("--move", action="store_true",
                        help="also rename the corpus folder and time `bot index` of it (vectors move, none embedded)")
    parser.add_argument("--keep", action="store_true", help="keep the generated corpus and index")
    args = parser.parse_args(argv)
    if not 7 <= args.articles <= 50_000:
        parser.error("--articles must be between 7 and 50000")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

    work = args.out / "ingest"
    if work.exists():
        shutil.rmtree(work)
    corpus, data_dir = work / "corpus", work / "data"
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    size = generate_corpus(corpus, args.articles)
    print(f"corpus: {args.articles} articles, {size / 1e6:.1f} MB in {corpus} "
          f"({time.perf_counter() - started:.1f}s)", flush=True)

    import torch

    from index.embedder import Embedder

    embedder = Embedder()
    started = time.perf_counter()
    embedder.warm_up()
    load_seconds = time.perf_counter() - started
    # One full batch first, so neither timed pass pays torch's one-time set-up for batch shapes.
    embedder.model.encode([p.read_text(encoding="utf-8") for p in sorted(corpus.glob("*.txt"))[:64]],
                          batch_size=64, show_progress_bar=False)
    print(f"model: {embedder.name} loaded in {load_seconds:.1f}s, torch threads {torch.get_num_threads()}",
          flush=True)

    summary, (index_wall, index_cpu), watch, texts = index_in_process(corpus, data_dir, embedder)
    print(summary.line(), flush=True)
    if summary.articles != args.articles or summary.chunks_embedded != len(texts):
        print(f"warning: expected {args.articles} articles and {len(texts)} embedded chunks", file=sys.stderr)
    raw_wall, raw_cpu = time_raw_encode(embedder.model, texts)
    print(f"raw encode done in {raw_wall:.1f}s", flush=True)
    late = time_encode_chunks(embedder, texts) if args.encode_chunks else None
    cli_seconds, cli_line = time_cli(corpus, work / "data-cli") if args.cli else (None, "")
    moved = None
    if args.move:
        corpus = corpus.rename(work / "corpus-moved")
        moved_summary, moved_clocks, moved_watch, _ = index_in_process(corpus, data_dir, embedder)
        moved = (moved_summary, *moved_clocks, moved_watch)

    n = len(texts)
    ratio, cpu_ratio = raw_wall / index_wall, raw_cpu / index_cpu
    print()
    print(f"chunks: {n} ({len(set(texts))} distinct texts), {summary.articles} articles, "
          f"mean {sum(map(len, texts)) / n:.0f} chars")
    print(f"{'':32} {'wall':>8} {'chunks/s':>9} {'cpu':>8} {'chunks/cpu-s':>13}")
    rows = [("bot index (in-process)", index_wall, index_cpu), ("raw encode (batch_size=64)", raw_wall, raw_cpu)]
    if late is not None:
        rows.append(("encode_chunks alone", *late))
    for label, wall, cpu in rows:
        print(f"{label:<32} {wall:7.1f}s {n / wall:9.1f} {cpu:7.1f}s {n / cpu:13.1f}")
    def verdict(value: float) -> str:
        return "met" if value >= TARGET_RATIO else "NOT met"

    print(f"ratio bot index / raw encode (target >= {TARGET_RATIO}): wall {ratio:.2f} ({verdict(ratio)}), "
          f"cpu {cpu_ratio:.2f} ({verdict(cpu_ratio)})")
    if cli_seconds is not None:
        print(f"bot index (CLI, incl. start-up and model load): {cli_seconds:.1f}s  {n / cli_seconds:.1f} chunks/s")
        print(f"  {cli_line}")
    if moved is not None:
        print(f"bot index after moving the folder: {moved[1]:.1f}s wall, {moved[1] / raw_wall:.2f}x the raw encode "
              f"time ({moved[0].chunks_reused} of {moved[0].chunks_added} chunks took their old vectors)")
        print(f"  {moved[0].line()}")
        for label, seconds in sorted(moved[3].seconds.items(), key=lambda item: -item[1]):
            print(f"  {label:<32} {seconds:7.1f}s  ({moved[3].calls[label]} calls)")
    print("\nwhere the in-process run's wall time went:")
    for label, seconds in sorted(watch.seconds.items(), key=lambda item: -item[1]):
        print(f"  {label:<32} {seconds:7.1f}s  {100 * seconds / index_wall:5.1f}%  ({watch.calls[label]} calls)")
    other = index_wall - sum(watch.seconds.values())
    print(f"  {'other (discovery, glue)':<32} {other:7.1f}s  {100 * other / index_wall:5.1f}%")
    load_after = os.getloadavg()[0]
    print(f"\n1-min load average: {load_before:.1f} before, {load_after:.1f} after, on {os.cpu_count()} CPUs "
          "(above the CPU count, other work shared them: trust the cpu ratio more)")

    results = {
        "articles": summary.articles, "chunks": n, "distinct_texts": len(set(texts)),
        "model_load_seconds": load_seconds, "index_seconds": index_wall, "index_cpu_seconds": index_cpu,
        "raw_encode_seconds": raw_wall, "raw_encode_cpu_seconds": raw_cpu,
        "encode_chunks_seconds": late[0] if late else None, "encode_chunks_cpu_seconds": late[1] if late else None,
        "cli_seconds": cli_seconds, "moved_index_seconds": moved[1] if moved else None,
        "moved_summary": moved[0].to_dict() if moved else None,
        "index_chunks_per_s": n / index_wall, "raw_chunks_per_s": n / raw_wall,
        "ratio": ratio, "cpu_ratio": cpu_ratio, "target_ratio": TARGET_RATIO,
        "breakdown_seconds": dict(watch.seconds), "load_average": [load_before, load_after], "cpus": os.cpu_count(),
        "summary": summary.to_dict(),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "ingest.json").write_text(json.dumps(results, indent=2))
    if not args.keep:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
