"""Real parts for the index tests: the packaged MiniLM (loaded once per session), embedded Chroma under tmp, and a
real `chroma run` server (started once per session, one collection per test)."""
from __future__ import annotations

import ctypes
import hashlib
import os
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


# Linux capabilities that let root read and list what chmod forbids (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH).
_PERMISSION_OVERRIDE = (1 << 1) | (1 << 2)
_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _set_permission_override(on: bool) -> bool:
    """Raise or lower root's permission override in this thread's effective capabilities (it stays permitted, so it
    can be raised again). False when capabilities cannot be read or set here."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        header, data = _CapHeader(_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
        if libc.capget(ctypes.byref(header), data) != 0:
            return False
        if on:
            data[0].effective |= data[0].permitted & _PERMISSION_OVERRIDE
        else:
            data[0].effective &= ~_PERMISSION_OVERRIDE
        return libc.capset(ctypes.byref(header), data) == 0
    except (OSError, AttributeError):  # no libc capget (not Linux)
        return False


@pytest.fixture
def lock() -> Iterator[Callable[[Path], None]]:
    """lock(path): chmod 000 for the rest of the test (undone after), biting even when the tests run as root: this
    thread then gives up root's permission override, as `setpriv --inh-caps=-dac_override,-dac_read_search` does for
    a process. (The indexer reads the corpus in this thread.) Skips the test as root where that cannot be done."""
    locked: list[tuple[Path, int]] = []
    lowered = False

    def lock_path(path: Path) -> None:
        nonlocal lowered
        if os.geteuid() == 0 and not lowered:
            if not _set_permission_override(False):
                pytest.skip("running as root, and root's permission override cannot be dropped here, so chmod 000 "
                            "would not stop the indexer")
            lowered = True
        locked.append((path, path.stat().st_mode))
        path.chmod(0)

    try:
        yield lock_path
    finally:
        if lowered:
            _set_permission_override(True)
        for path, mode in reversed(locked):
            path.chmod(mode)
