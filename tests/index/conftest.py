"""Real parts for the index tests: the packaged MiniLM (loaded once per session), embedded Chroma under tmp, and a
real `chroma run` server (started once per session, one collection per test)."""
from __future__ import annotations

import hashlib
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bot.settings import Settings
from index.embedder import Embedder
from tests.chroma_server import running_chroma_server

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
BACKENDS = ("embedded", "server")


class CountingEmbedder(Embedder):
    """The session's real model, counting every chunk text it encodes. It can report another model name, and can
    raise KeyboardInterrupt on a given call (to simulate Ctrl-C in the middle of `bot index`)."""

    def __init__(self, shared: Embedder, *, name: str | None = None, interrupt_on_call: int | None = None) -> None:
        super().__init__(batch_size=shared.batch_size)
        self._shared = shared
        self._name = name
        self.interrupt_on_call = interrupt_on_call
        self.calls = 0
        self.encoded: list[str] = []

    @property
    def name(self) -> str:
        return self._name or self._shared.name

    @property
    def model(self) -> Any:
        return self._shared.model

    def encode_chunks(
        self, texts: Sequence[str], sentence_spans: Sequence[Sequence[tuple[int, int]]]
    ) -> tuple[np.ndarray, list[np.ndarray]]:
        self.calls += 1
        if self.interrupt_on_call is not None and self.calls >= self.interrupt_on_call:
            raise KeyboardInterrupt
        self.encoded.extend(texts)
        return super().encode_chunks(texts, sentence_spans)


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The packaged all-MiniLM-L6-v2, loaded once for the whole session."""
    shared = Embedder()
    shared.warm_up()
    return shared


@pytest.fixture
def counting(embedder: Embedder) -> Callable[..., CountingEmbedder]:
    def make(**options: Any) -> CountingEmbedder:
        return CountingEmbedder(embedder, **options)

    return make


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `chroma run` server on a free loopback port for the session."""
    with running_chroma_server(tmp_path_factory.mktemp("chroma-server") / "db") as url:
        yield url


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A private copy of seeds/ (tests edit and delete its files)."""
    target = tmp_path / "corpus"
    shutil.copytree(SEEDS, target)
    return target


@pytest.fixture(params=BACKENDS)
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    """Settings for a fresh index on one backend: embedded Chroma under tmp, or the session's server with a
    collection of its own (the BM25 sidecar lives in the tmp data dir either way)."""
    data_dir = tmp_path / "data"
    if request.param == "embedded":
        return Settings(data_dir=data_dir)
    url = request.getfixturevalue("chroma_url")
    # Chroma collection names: 3-512 of [a-zA-Z0-9._-]; one per test keeps the tests independent.
    name = "t-" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:16]
    return Settings(data_dir=data_dir, chroma_url=url, collection=name)
