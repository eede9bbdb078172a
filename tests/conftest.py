"""Shared test set-up: no test may reach beyond loopback, nothing may download a model, and `lock` makes a path
unreadable even to root."""
from __future__ import annotations

import ctypes
import ipaddress
import os
import signal
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

# Set before any test imports huggingface_hub, gradio or chromadb (which read them when first used).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0] if isinstance(address, tuple) else address
    if host in ("localhost", "", None):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


class NetworkBlocked(RuntimeError):
    pass


def _guard(address: object) -> None:
    if not _is_loopback(address):
        raise NetworkBlocked(f"Test tried to reach {address!r}; tests may only use loopback.")


@pytest.fixture(autouse=True, scope="session")
def ctrl_c_interrupts() -> Iterator[None]:
    """Ctrl-C interrupts, as at a terminal, even when the suite was started in the background by a shell without job
    control (`make test &` in a script), which starts it with SIGINT ignored: the tests of Ctrl-C during indexing,
    `bot eval` and `bot serve` (the latter two in a child process, which inherits an ignored SIGINT) then failed."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.fixture(autouse=True)
def block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail loudly on any non-loopback connection (a hidden download, telemetry, a share link)."""

    def connect(self: socket.socket, address: object) -> None:
        _guard(address)
        return _real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        _guard(address)
        return _real_connect_ex(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


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
