"""Small fakes for the unit tests (hand-made passages, an idf with obvious arithmetic), and the real parts for the
integration tests: the packaged MiniLM loaded once, and an embedded Chroma index of seeds/ built once per session in
a temporary data dir."""
from __future__ import annotations

import inspect
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from bot.schema import Passage
from bot.settings import Settings

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
PROMPTS = Path(__file__).resolve().parents[2] / "prompts"
SUTONG_QUESTION = "When did the Sutong Bridge open to traffic?"
SUTONG_FOLLOW_UP = "How many vehicles use it every day?"
OFF_TOPIC_QUESTION = "What is the recipe for chocolate cake?"


class FakeIdf:
    """idf 1.0 for every term unless told otherwise: each key term then weighs sqrt(1) = 1 in coverage."""

    def __init__(self, weights: Mapping[str, float] | None = None, *, default: float = 1.0) -> None:
        self.weights = dict(weights or {})
        self.default = default

    def idf(self, term: str) -> float:
        return self.weights.get(term, self.default)


def sentence_spans(text: str) -> list[list[int]]:
    """[start, end] of each sentence, as the chunker stores them in the `sentences` metadata (a full stop between
    digits, "12.8", ends none)."""
    return [[m.start(), m.end()] for m in re.finditer(r"[^\s.!?](?:[^.!?]|\.(?=\d))*[.!?]*", text)]


def make_passage(
    text: str,
    *,
    chunk_id: str = "p1",
    title: str = "Sutong Bridge opens",
    published: str = "2008-07-01",
    source: str = "bridges.txt",
    rank: int = 1,
    dense: float = 0.8,
    spans: Sequence[Sequence[int]] | None = None,
    **metadata: Any,
) -> Passage:
    """A retrieved passage without sentence vectors: the answerer then uses `dense` as every sentence's similarity."""
    meta = {"title": title, "published": published, "source": source,
            "sentences": json.dumps([list(s) for s in (spans if spans is not None else sentence_spans(text))])}
    meta.update(metadata)
    return Passage(chunk_id=chunk_id, text=text, metadata=meta, score=1.0 / rank, rank=rank, dense_score=dense)


@pytest.fixture
def fake_idf() -> FakeIdf:
    return FakeIdf()


# --- real parts for the integration tests ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def shared_embedder() -> Any:
    """The packaged all-MiniLM-L6-v2, loaded once for the session."""
    from index.embedder import Embedder

    embedder = Embedder()
    embedder.warm_up()
    return embedder


@pytest.fixture(scope="session")
def seeds_settings(tmp_path_factory: pytest.TempPathFactory, shared_embedder: Any) -> Settings:
    """Settings whose data dir holds a fresh embedded Chroma index (and BM25 sidecar) of seeds/."""
    from bot.indexing import make_indexer

    settings = Settings(data_dir=tmp_path_factory.mktemp("bot-seeds") / "data", corpus=(SEEDS,))
    summary = make_indexer(settings, embedder=shared_embedder, progress=False).run([SEEDS])
    assert summary.articles == 7 and summary.chunks_total > 20, summary.line()
    return settings


@pytest.fixture(scope="session")
def seeds_pipeline(seeds_settings: Settings, shared_embedder: Any) -> Any:
    """The real pipeline over the seeds index. Tests must not change it: build a new HybridRetriever instead."""
    from bot.chain import build_pipeline

    pipeline = build_pipeline(seeds_settings, embedder=shared_embedder)
    pipeline.warm_up()
    return pipeline


@pytest.fixture(scope="session")
def seeds_hybrid(seeds_pipeline: Any) -> Any:
    """The pipeline's HybridRetriever (k=5, candidates=20, no MMR, no reranker)."""
    return seeds_pipeline.retriever


def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> None:
    # LangChain's standard retriever suite has one `async def` test and expects pytest-asyncio's auto mode; the
    # project runs strict mode, so mark just those coroutine tests (pytest-asyncio reads marks at collection).
    if (isinstance(collector, pytest.Class) and collector.path.name == "test_langchain_standard.py"
            and name.startswith("test_") and inspect.iscoroutinefunction(obj)
            and not any(m.name == "asyncio" for m in getattr(obj, "pytestmark", []))):
        pytest.mark.asyncio(obj)
