"""Shared test set-up: no test may reach beyond loopback, and nothing may download a model."""
from __future__ import annotations

import ipaddress
import os
import socket

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
