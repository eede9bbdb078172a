"""A `chroma run` server a test can stop, restart on the same port, pause (SIGSTOP: a stuck server) and resume: the
store's failures mid-run. (tests/chroma_server.py's context manager keeps its process to itself.)

    with ChromaProcess(tmp_path / "db") as chroma:
        ... chroma.url ...; chroma.stop(); chroma.start(); with chroma.paused(): ...

Every process it starts is stopped by its id when the block ends.
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

from tests.chroma_server import (STARTUP_SECONDS, ChromaServerError, _heartbeat, chroma_executable, free_port,
                                 stop_process)

HOST = "127.0.0.1"


class ChromaProcess:
    def __init__(self, path: Path, *, port: int | None = None) -> None:
        self.path = path
        self.port = port or free_port(HOST)
        self.url = f"http://{HOST}:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, path: Path | None = None) -> ChromaProcess:
        """Start it (again), on `path` (another folder: a server restarted on a lost volume) or its own."""
        self.stop()
        folder = path or self.path
        folder.mkdir(parents=True, exist_ok=True)
        log_path = folder.parent / f"{folder.name}-server.log"
        command = [chroma_executable(), "run", "--path", str(folder), "--host", HOST, "--port", str(self.port)]
        with log_path.open("ab") as log_file:
            self.process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL,
                                            env=dict(os.environ, ANONYMIZED_TELEMETRY="False"))
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _heartbeat(HOST, self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise ChromaServerError(f"`{' '.join(command)}` did not come up; see {log_path}.")
            time.sleep(0.2)
        return self

    def stop(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGCONT)  # (a paused one cannot take SIGTERM)
            stop_process(self.process)
            self.process = None

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """SIGSTOP for the block: connections are taken by the kernel, and never answered."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.process.pid, signal.SIGCONT)

    def __enter__(self) -> ChromaProcess:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
