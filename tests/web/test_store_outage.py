"""The web faces when the store fails while the server runs (a real `chroma run` stopped, paused or restarted
empty), when a model folder goes wrong, and when the server is open to the network without keys."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from bot.indexing import open_store
from bot.retrieval import HybridRetriever
from bot.schema import Answer
from bot.settings import Origin, Settings
from bot.web.api import MODEL_UNAVAILABLE
from bot.web.app import open_to_the_network
from bot.web.chat_ui import ChatResponder
from index.embedder import Embedder
from index.errors import ModelError
from index.store import IndexSignature
from tests.index.chroma_process import ChromaProcess
from tests.web.fake_pipeline import FakePipeline

SUTONG = "When did the Sutong Bridge open?"
ENDPOINTS = ("/api/ask", "/api/ask/stream", "/v1/chat/completions")


class StoreBacked(FakePipeline):
    """The fake's answers, after a look at a real store (as the real pipeline's retrieval does first), with a real
    retriever for /api/health to check the store through."""

    def __init__(self, settings: Settings) -> None:
        super().__init__()
        store = open_store(settings)
        store.open_for_writing(IndexSignature("fake-model", "fake-chunker"))
        store.upsert(["a-0", "a-1"], np.eye(2, 4, dtype=np.float32), ["one", "two"], [{"source": "a"}] * 2)
        # (The embedder is never loaded: only the store is used.)
        self.retriever = HybridRetriever(store=store, embedder=Embedder(), bm25_dir=settings.bm25_dir)

    def _answer(self, method: str, question: str, history: Sequence[Any] | None, k: int | None,
                filters: Mapping[str, Any] | None) -> Answer:
        self.retriever.store.count()
        return super()._answer(method, question, history, k, filters)


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaProcess]:
    with ChromaProcess(tmp_path / "db") as process:
        yield process


def _asked(url: str, path: str) -> httpx.Response:
    body = ({"messages": [{"role": "user", "content": SUTONG}]} if path.startswith("/v1") else {"question": SUTONG})
    return httpx.post(f"{url}{path}", json=body, timeout=60)


def _chat_error(pipeline: Any) -> str | None:
    *_, (_, turns, _, _) = ChatResponder(pipeline).respond(SUTONG, [])
    return turns[-1]["error"]


@pytest.mark.integration
@pytest.mark.slow
def test_a_lost_chroma_server_is_a_503_naming_it_and_health_says_so(
        api_server: Callable[..., str], chroma: ChromaProcess, tmp_path: Path) -> None:
    """It was a 500 "Internal error" (the chat: "Sorry, something went wrong"), with /api/health "ok" meanwhile."""
    settings = Settings(data_dir=tmp_path / "data", chroma_url=chroma.url, chroma_timeout=3)
    pipeline = StoreBacked(settings)
    url = api_server(pipeline=pipeline, chroma_timeout=3)
    assert httpx.get(f"{url}/api/health").json()["status"] == "ok"
    assert all(_asked(url, path).status_code == 200 for path in ENDPOINTS)

    chroma.stop()
    lost = (f"The Chroma server at {chroma.url} stopped answering (connection refused). Start it again with `chroma "
            f"run --path DIR --host 127.0.0.1 --port {chroma.port}`, then try again.")
    for path in ENDPOINTS:
        response = _asked(url, path)
        assert (response.status_code, response.json()["detail"]) == (503, lost), path
    health = httpx.get(f"{url}/api/health")
    assert (health.status_code, health.json()) == (503, {"status": "unavailable", "detail": lost})
    assert _chat_error(pipeline) == lost

    chroma.start()  # back: answers again, no restart of the bot
    assert _asked(url, "/api/ask").status_code == 200 and httpx.get(f"{url}/api/health").status_code == 200

    with chroma.paused():  # stuck: health answers fast anyway; a question waits chroma_timeout, not for ever
        started = time.monotonic()
        health = httpx.get(f"{url}/api/health", timeout=30)
        assert time.monotonic() - started < 5
        assert health.status_code == 503 and "did not answer a heartbeat within 2 s" in health.json()["detail"]
        started = time.monotonic()
        response = _asked(url, "/api/ask")
        assert time.monotonic() - started < 10
        assert response.status_code == 503 and "did not answer within 3 s" in response.json()["detail"]

    chroma.start(tmp_path / "empty")  # a lost volume: the keyword index in memory still counts the old chunks
    health = httpx.get(f"{url}/api/health")
    assert health.status_code == 503
    assert health.json()["detail"].startswith(f"No index in collection news on {chroma.url} yet.")


class ModelGone(FakePipeline):
    def _answer(self, *args: Any) -> Answer:
        raise ModelError("Embedding model folder /srv/private/model does not exist. Set model_path ...")

    def stats(self) -> dict[str, Any]:
        raise ModelError("Embedding model folder /srv/private/model does not exist. Set model_path ...")


def test_a_model_that_fails_after_start_up_is_a_503_without_the_servers_paths(
        api_server: Callable[..., str], caplog: pytest.LogCaptureFixture) -> None:
    """It was a 500 naming the server's folder to any client (and health is open even with API keys)."""
    url = api_server(pipeline=ModelGone())
    for path in ENDPOINTS:
        response = _asked(url, path)
        assert response.status_code == 503 and response.json()["detail"] == MODEL_UNAVAILABLE, path
    health = httpx.get(f"{url}/api/health")
    assert (health.status_code, health.json()) == (503, {"status": "unavailable", "detail": MODEL_UNAVAILABLE})
    assert _chat_error(ModelGone()) == MODEL_UNAVAILABLE
    assert "/srv/private/model" in caplog.text  # for the operator, in the log


@pytest.mark.parametrize(("host", "keys", "origins", "warned"), [
    ("127.0.0.1", (), {}, None),
    ("localhost", (), {}, None),
    ("::1", (), {}, None),
    ("0.0.0.0", ("k",), {}, None),
    ("0.0.0.0", (), {}, "Listening on 0.0.0.0:7860 with no API keys: anyone who can reach it can use the API (/api, "
                        "/v1). Set BOT_API_KEYS (or api_keys in bot.toml) to require a key, or listen on 127.0.0.1."),
    ("bot.intranet", (), {"api_keys": Origin(variable="BOT_API_KEYS")},
     "Listening on bot.intranet:7860 with no API keys (BOT_API_KEYS is set, but to no key): anyone who can reach it "
     "can use the API (/api, /v1). Set BOT_API_KEYS to require a key, or listen on 127.0.0.1."),
])
def test_serving_beyond_this_machine_without_keys_is_warned(host: str, keys: tuple[str, ...],
                                                            origins: dict[str, Origin], warned: str | None) -> None:
    settings = Settings(api_keys=keys, origins=origins)
    assert open_to_the_network(settings, host, 7860) == warned
