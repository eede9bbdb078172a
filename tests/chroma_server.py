"""A real `chroma run` server on a free loopback port, for tests that need the HTTP store (reusable helper).

    with running_chroma_server(tmp_path / "chroma") as url:
        Settings(chroma_url=url, ...)

The server is started from the virtualenv's `chroma` script, waited for with a bounded heartbeat loop (a failure
shows the server's own output), and stopped by its process id: terminate, wait, then kill.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

STARTUP_SECONDS = 60.0
STOP_SECONDS = 10.0


class ChromaServerError(RuntimeError):
    """The server did not start (its output is in the message)."""


def chroma_executable() -> str:
    """The `chroma` script next to this interpreter (the venv's), else the one on PATH."""
    beside = Path(sys.executable).with_name("chroma")
    if beside.is_file():
        return str(beside)
    found = shutil.which("chroma")
    if found is None:
        raise ChromaServerError(f"No `chroma` script beside {sys.executable} or on PATH; install chromadb.")
    return found


def free_port(host: str = "127.0.0.1") -> int:
    # Port 0 asks the kernel for an unused port; the tiny race until the server binds it is acceptable in tests.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _heartbeat(host: str, port: int) -> bool:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    try:
        chromadb.HttpClient(host=host, port=port, settings=ChromaSettings(anonymized_telemetry=False)).heartbeat()
    except Exception:  # connection refused / reset while the server starts: not up yet
        return False
    return True


def _output(log_path: Path) -> str:
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return "(no output)"
    return text[-4000:] or "(no output)"


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate the server by its pid, wait, and kill it if it does not exit."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_SECONDS)


@contextlib.contextmanager
def running_chroma_server(
    path: Path, *, host: str = "127.0.0.1", port: int | None = None, startup_seconds: float = STARTUP_SECONDS
) -> Iterator[str]:
    """Start `chroma run --path PATH --host HOST --port PORT`, yield its URL, stop it on exit."""
    path.mkdir(parents=True, exist_ok=True)
    port = port or free_port(host)
    log_path = path.parent / f"{path.name}-server.log"
    command = [chroma_executable(), "run", "--path", str(path), "--host", host, "--port", str(port)]
    env = dict(os.environ, ANONYMIZED_TELEMETRY="False")
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   env=env)
    try:
        deadline = time.monotonic() + startup_seconds
        while not _heartbeat(host, port):
            if process.poll() is not None:
                raise ChromaServerError(f"`{' '.join(command)}` exited with status {process.returncode} before "
                                        f"answering. Its output:\n{_output(log_path)}")
            if time.monotonic() > deadline:
                raise ChromaServerError(f"`{' '.join(command)}` did not answer a heartbeat within "
                                        f"{startup_seconds:.0f}s. Its output:\n{_output(log_path)}")
            time.sleep(0.2)
        url = f"http://{host}:{port}"
        log.info("chroma server %s is up (pid %d)", url, process.pid)
        yield url
    finally:
        stop_process(process)
