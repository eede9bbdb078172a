"""Load test for `bot serve`: single-client latency, then many concurrent clients, on loopback only.

    .venv/bin/python bench/load.py                 # index seeds/ into a temp dir, start `bot serve`, measure
    .venv/bin/python bench/load.py --url http://127.0.0.1:7860   # measure a server that is already running

Prints errors (must be 0), requests/s, p50/p95 latency, and the concurrent p50 as a multiple of the
single-client p50 measured in the same run. Not a test: numbers depend on the machine.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
DEV_SET = ROOT / "tests" / "eval" / "dev.yaml"
FALLBACK_QUESTIONS = (
    "When did the Sutong Bridge open to traffic?",
    "Who is the Secretary of the Nantong Municipal Party Committee?",
    "What is the Yangtze River Estuary Industrial Innovation Collaborative Zone?",
    "Where was the metaverse exhibition held?",
    "What did Jiangsu's provincial party committee say about the two national strategies?",
    "Who won the 1998 football World Cup?",
)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="a running server on loopback (default: start one over seeds/)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=20, help="questions per concurrent client")
    parser.add_argument("--single", type=int, default=20, help="sequential requests for the single-client p50")
    parser.add_argument("--max-seconds", type=float, default=600.0, help="stop the concurrent phase after this")
    parser.add_argument("--api-key", default=None, help="sent as X-API-Key when the server needs one")
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= 200 and 1 <= args.requests <= 100 and 1 <= args.single <= 200):
        parser.error("keep it bounded: clients 1-200, requests 1-100, single 1-200")

    questions = load_questions()
    if args.url:
        if urlsplit(args.url).hostname not in LOOPBACK:
            parser.error(f"--url must be on loopback ({', '.join(LOOPBACK)}), not {args.url}")
        return run(args.url.rstrip("/"), questions, args)
    with tempfile.TemporaryDirectory(prefix="newsbot-load-") as tmp:
        with started_server(Path(tmp)) as url:
            return run(url, questions, args)


def load_questions() -> list[tuple[str, list[Any]]]:
    """(question, history) pairs: the dev set when present, else a small built-in list."""
    if DEV_SET.is_file():
        from bot.evaluate import load_cases

        cases = load_cases(DEV_SET)
        return [(c.question, list(c.history)) for c in cases]
    return [(q, []) for q in FALLBACK_QUESTIONS]


class started_server:
    """`bot serve` in a child process over an index of seeds/ in `data_dir`, rate limit raised for the run."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir / "server.log"

    def __enter__(self) -> str:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
               "ANONYMIZED_TELEMETRY": "False", "BOT_DATA_DIR": str(self.data_dir / "data"),
               "BOT_RATE_LIMIT_PER_MINUTE": "1000000000"}
        bot = [sys.executable, "-m", "bot"]
        print("Indexing seeds/ ...", flush=True)
        indexed = subprocess.run([*bot, "index", str(ROOT / "seeds")], env=env, cwd=self.data_dir,
                                 capture_output=True, text=True, timeout=600)
        if indexed.returncode != 0:
            raise SystemExit(f"`bot index` failed:\n{indexed.stderr[-3000:]}")
        port = free_port()
        with self.log.open("wb") as log:
            self.process = subprocess.Popen([*bot, "serve", "--host", "127.0.0.1", "--port", str(port)],
                                            env=env, cwd=self.data_dir, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise SystemExit(f"The server did not start; its log:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/api/health", timeout=2).status_code == 200:
                    return url
            except httpx.TransportError:
                pass
            time.sleep(0.5)

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # our own child, by its handle
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run(url: str, questions: list[tuple[str, list[Any]]], args: argparse.Namespace) -> int:
    return asyncio.run(measure(url, questions, args))


async def measure(url: str, questions: list[tuple[str, list[Any]]], args: argparse.Namespace) -> int:
    headers = {"X-API-Key": args.api_key} if args.api_key else {}
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(base_url=url, headers=headers, limits=limits, timeout=120) as client:
        # Warm-up: the first question loads the model and the indexes.
        for question, history in questions[:3]:
            await ask(client, question, history)

        single = [await ask(client, *questions[i % len(questions)]) for i in range(args.single)]
        single_ok = [t for t, status in single if status == 200]
        if not single_ok:
            print(f"Every single-client request failed: {Counter(s for _, s in single)}")
            return 1
        single_p50 = statistics.median(single_ok)

        async def one_client(n: int) -> list[tuple[float, int]]:
            results = []
            for i in range(args.requests):
                question, history = questions[(n * args.requests + i) % len(questions)]
                results.append(await ask(client, question, history))
            return results

        started = time.perf_counter()
        try:
            per_client = await asyncio.wait_for(
                asyncio.gather(*(one_client(n) for n in range(args.clients))), timeout=args.max_seconds)
        except TimeoutError:
            print(f"Stopped: the concurrent phase took longer than {args.max_seconds:.0f} s.")
            return 1
        elapsed = time.perf_counter() - started

    results = [r for rs in per_client for r in rs]
    latencies = sorted(t for t, _ in results)
    statuses = Counter(status for _, status in results)
    errors = sum(n for status, n in statuses.items() if status != 200)
    p50 = statistics.median(latencies)
    p95 = latencies[min(len(latencies) - 1, int(round(0.95 * len(latencies))) - 1)]
    print(f"server:          {url}")
    print(f"single client:   {len(single)} requests, p50 {single_p50 * 1000:.0f} ms")
    print(f"concurrent:      {args.clients} clients x {args.requests} questions = {len(results)} requests "
          f"in {elapsed:.1f} s")
    print(f"errors:          {errors}" + (f"  (statuses: {dict(statuses)})" if errors else ""))
    print(f"throughput:      {len(results) / elapsed:.1f} requests/s")
    print(f"latency:         p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms")
    print(f"p50 vs single:   {p50 / single_p50:.1f}x the single-client p50")
    return 0 if errors == 0 else 1


async def ask(client: httpx.AsyncClient, question: str, history: list[Any]) -> tuple[float, int]:
    """(seconds, HTTP status); a transport failure counts as status 0."""
    started = time.perf_counter()
    try:
        response = await client.post("/api/ask", json={"question": question, "history": history})
        status = response.status_code
    except httpx.HTTPError:
        status = 0
    return time.perf_counter() - started, status


if __name__ == "__main__":
    sys.exit(main())
