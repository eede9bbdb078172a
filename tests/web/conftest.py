"""Real servers on loopback for the web tests, over the fake pipeline of tests/web/fake_pipeline.py."""
from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from bot.settings import Settings
from bot.web.app import make_server
from tests.web.fake_pipeline import FakePipeline


class LiveServer:
    """uvicorn in a background thread on a 127.0.0.1 port; `stop()` asks it to exit and waits."""

    def __init__(self, app: Any, port: int = 0) -> None:
        """`port` 0: a free one; another: that one (a restarted server, on the port its pages know)."""
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                timeout_graceful_shutdown=2)  # lifespan on: Gradio starts its queue there
        self.server = make_server(config)  # as `bot serve` runs it
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
