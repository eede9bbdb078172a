"""Real servers on loopback for the web tests, and a small fake pipeline with obvious output."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from bot.schema import Answer, AnswerDelta, Citation
from bot.settings import Settings

FAKE_TEXT = "The bridge opened on June 30, 2008 [1]."
FAKE_PASSAGE = "The Sutong Bridge opened to traffic on June 30, 2008. It spans the Yangtze."
FAKE_QUOTE = "The Sutong Bridge opened to traffic on June 30, 2008."


def fake_answer(question: str) -> Answer:
    citation = Citation(
        n=1, title="Sutong Bridge opens", published="2008-06-30", source="bridges.txt", chunk_id="c1",
        text=FAKE_PASSAGE, quote=FAKE_QUOTE, score=0.9, quote_start=0, quote_end=len(FAKE_QUOTE),
    )
    return Answer(question=question, answer=FAKE_TEXT, abstained=False, citations=[citation],
                  timings_ms={"retrieve": 1.0, "answer": 2.0, "total": 3.0})


class FakePipeline:
    """Always the same answer with one citation; `stream` yields it in three pieces then the Answer."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def _record(self, method: str, question: str, history: Any, k: Any, filters: Any) -> None:
        with self._lock:
            self.calls.append({"method": method, "question": question, "history": list(history or []),
                               "k": k, "filters": filters})

    def ask(self, question: str, *, history: Sequence[Any] | None = None, k: int | None = None,
            filters: Mapping[str, Any] | None = None) -> Answer:
        self._record("ask", question, history, k, filters)
        return fake_answer(question)

    def stream(self, question: str, *, history: Sequence[Any] | None = None, k: int | None = None,
               filters: Mapping[str, Any] | None = None) -> Iterator[AnswerDelta | Answer]:
        self._record("stream", question, history, k, filters)
        for piece in ("The bridge opened ", "on June 30, 2008", " [1]."):
            yield AnswerDelta(piece)
        yield fake_answer(question)

    def stats(self) -> dict[str, Any]:
        return {"chunks": 3, "articles": 2, "model": "fake-model"}


class SecretError(RuntimeError):
    pass


class RaisingPipeline:
    """Fails with an internal-looking message that must never reach a client."""

    def ask(self, question: str, **_: Any) -> Answer:
        raise SecretError("secret internal detail /srv/private/path")

    def stream(self, question: str, **_: Any) -> Iterator[AnswerDelta | Answer]:
        yield AnswerDelta("The bridge ")
        raise SecretError("secret internal detail /srv/private/path")


class LiveServer:
    """uvicorn in a background thread on a free 127.0.0.1 port; `stop()` asks it to exit and waits."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                timeout_graceful_shutdown=2)  # lifespan on: Gradio starts its queue there
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)

    def start(self, timeout: float = 30.0) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn did not start on {self.url}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.sock.close()


@pytest.fixture
def live_server() -> Iterator[Callable[[Any], str]]:
    """`live_server(app)` -> base URL of a real uvicorn server running `app`; stopped after the test."""
    servers: list[LiveServer] = []

    def start(app: Any) -> str:
        server = LiveServer(app).start()
        servers.append(server)
        return server.url

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def web_settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def fake_pipeline() -> FakePipeline:
    return FakePipeline()


@pytest.fixture
def api_server(live_server: Callable[[Any], str], web_settings: Settings,
               fake_pipeline: FakePipeline) -> Callable[..., str]:
    """`api_server(**setting_changes)` -> URL of the API app (no Gradio chat) over the fake pipeline."""
    from bot.web.app import create_app

    def start(*, pipeline: Any = None, chat: bool = False, **changes: Any) -> str:
        settings = web_settings.replace(**changes)
        return live_server(create_app(settings, pipeline=pipeline or fake_pipeline, chat=chat))

    return start
