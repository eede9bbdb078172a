"""Who may call the API: allowed browser origins (CORS), API keys, and a per-client rate limit.

A plain ASGI middleware (not BaseHTTPMiddleware) so streamed answers pass through untouched.
"""
from __future__ import annotations

import hmac
import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.settings import Settings

logger = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}
_ALLOW_METHODS = "GET, POST, DELETE, OPTIONS"
_ALLOW_HEADERS = "Content-Type, X-API-Key, Authorization, X-Feedback-Token"


class TokenBucket:
    """Per-client token buckets: `rate_per_minute` tokens refill evenly; a full minute's worth may burst."""

    def __init__(
        self,
        *,
        rate_per_minute: int,
        burst: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = 10_000,
    ) -> None:
        if rate_per_minute <= 0:
            raise ValueError(f"rate_per_minute must be greater than 0, got {rate_per_minute}.")
        self.rate_per_second = rate_per_minute / 60.0
        self.capacity = float(burst if burst is not None else rate_per_minute)
        self._clock = clock
        self._max_clients = max_clients
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, last refill time)
        self._lock = threading.Lock()

    def take(self, client: str) -> float:
        """Spend one token for `client`: 0.0 when allowed, else the seconds until a token is available."""
        with self._lock:
            now = self._clock()
            tokens, last = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate_per_second)
            if tokens >= 1.0:
                self._buckets[client] = (tokens - 1.0, now)
                if len(self._buckets) > self._max_clients:
                    self._prune(now)
                return 0.0
            self._buckets[client] = (tokens, now)
            return (1.0 - tokens) / self.rate_per_second

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()

    def _prune(self, now: float) -> None:
        # A bucket that has refilled completely holds no information; dropping it bounds memory.
        full_after = self.capacity / self.rate_per_second
        for client, (_, last) in list(self._buckets.items()):
            if now - last >= full_after:
                del self._buckets[client]


def normalize_origin(origin: str) -> str:
    """`https://Example.com:443/` -> `https://example.com` (scheme://host[:port], default port dropped)."""
    text = origin.strip().rstrip("/")
    if text == "*" or text == "null":
        return text
    parts = urlsplit(text)
    if not parts.scheme or not parts.hostname:
        return text.lower()
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        return text.lower()
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    return f"{parts.scheme.lower()}://{host}"


def request_api_key(headers: Headers | Mapping[str, str]) -> str | None:
    """The key from `X-API-Key`, else from `Authorization: Bearer KEY` (what OpenAI clients send)."""
    key = headers.get("x-api-key")
    if key:
        return key.strip()
    auth = headers.get("authorization", "")
    scheme, _, value = auth.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


# The programmatic APIs: the REST API, the OpenAI-compatible one, and Gradio's API for programs (its REST calls, the
# description gradio_client starts from, its OpenAPI and MCP). The chat page needs none of Gradio's: it talks to the
# server through Gradio's queue (/gradio_api/queue/...) and runs its quick steps at /gradio_api/run/NAME, which stay
# open, as the page does; /gradio_api/run/ask is the program's endpoint, not the page's.
API_PREFIXES = ("/api", "/v1", "/gradio_api/call", "/gradio_api/api", "/gradio_api/run/ask", "/gradio_api/info",
                "/gradio_api/openapi.json", "/gradio_api/mcp")
MISSING_KEY = "This API needs an API key: send it as the X-API-Key header or as 'Authorization: Bearer KEY'."
WRONG_KEY = "The API key is not valid. Use one of the keys the server is configured with (its api_keys setting)."


def key_problem(keys: Iterable[str], headers: Headers | Mapping[str, str]) -> str | None:
    """Why a request may not use an API guarded by `keys` (none: anyone may): its key is missing or not one of them."""
    keys = [k for k in keys if k]
    if not keys:
        return None
    key = request_api_key(headers)
    if key is None:
        return MISSING_KEY
    # Constant-time comparison against every key, so timing reveals nothing about a near miss.
    matches = [hmac.compare_digest(key.encode(), k.encode()) for k in keys]
    return None if any(matches) else WRONG_KEY


class AccessControl:
    """Origin check + CORS, API keys and rate limit for the paths under `prefixes`; other paths pass through.

    Order: refused origin (403) -> CORS preflight (204) -> missing/wrong key (401) -> rate limit (429) -> app.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        limiter: TokenBucket,
        prefixes: Iterable[str] = API_PREFIXES,
        open_paths: Iterable[str] = ("/api/health",),
        max_body_bytes: int | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.limiter = limiter
        self.prefixes = tuple(p.rstrip("/") for p in prefixes)
        self.open_paths = frozenset(open_paths)
        self.allowed_origins = frozenset(normalize_origin(o) for o in settings.allowed_origins)
        self.api_keys = tuple(k for k in settings.api_keys if k)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not self._protected(path):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        cors: list[tuple[bytes, bytes]] = []
        if origin is not None and not self._same_origin(origin, headers, scope):
            if not self._origin_allowed(origin):
                message = (
                    f"Origin {origin!r} is not allowed to call this API. To allow it, add it to "
                    f"BOT_ALLOWED_ORIGINS (setting allowed_origins, comma-separated) and restart the server."
                )
                await send_json_error(send, 403, message, path=path)
                return
            cors = [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-expose-headers", b"Retry-After"),
                (b"vary", b"Origin"),
            ]
        if scope["method"] == "OPTIONS" and origin is not None and "access-control-request-method" in headers:
            preflight = [
                (b"access-control-allow-methods", _ALLOW_METHODS.encode()),
                (b"access-control-allow-headers", _ALLOW_HEADERS.encode()),
                (b"access-control-max-age", b"600"),
            ]
            await send({"type": "http.response.start", "status": 204, "headers": cors + preflight})
            await send({"type": "http.response.body", "body": b""})
            return
        length = headers.get("content-length", "")
        if self.max_body_bytes is not None and length.isdigit() and int(length) > self.max_body_bytes:
            message = (f"The request body is {int(length)} bytes; the limit is {self.max_body_bytes}. "
                       "Send a shorter question, history or comment.")
            await send_json_error(send, 413, message, path=path, headers=cors)
            return
        if path not in self.open_paths:
            key = request_api_key(headers)
            problem = key_problem(self.api_keys, headers)
            if problem:
                await send_json_error(send, 401, problem, path=path,
                                      headers=cors + [(b"www-authenticate", b"Bearer")])
                return
            # Keys identify clients only when keys are enforced; otherwise a made-up key would dodge the limit.
            client = f"key:{key}" if self.api_keys else f"ip:{_client_host(scope)}"
            wait = self.limiter.take(client)
            if wait > 0:
                retry_after = max(1, math.ceil(wait))
                limit = round(self.limiter.rate_per_second * 60)
                message = (
                    f"Too many requests: the limit is {limit} per minute per client. "
                    f"Retry after {retry_after} seconds (setting rate_limit_per_minute)."
                )
                await send_json_error(send, 429, message, path=path,
                                 headers=cors + [(b"retry-after", str(retry_after).encode())])
                return
        if not cors:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": list(message.get("headers", [])) + cors}
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _protected(self, path: str) -> bool:
        return any(path == p or path.startswith(p + "/") for p in self.prefixes)

    def _origin_allowed(self, origin: str) -> bool:
        return "*" in self.allowed_origins or normalize_origin(origin) in self.allowed_origins

    @staticmethod
    def _same_origin(origin: str, headers: Headers, scope: Scope) -> bool:
        host = headers.get("host")
        if not host:
            return False
        own = normalize_origin(f"{scope.get('scheme', 'http')}://{host}")
        return normalize_origin(origin) == own


def _client_host(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def error_body(status: int, message: str, *, path: str) -> dict[str, object]:
    """`{"detail": message}`; under /v1 also OpenAI's `{"error": {...}}` so OpenAI clients show the message."""
    body: dict[str, object] = {"detail": message}
    if path == "/v1" or path.startswith("/v1/"):
        body["error"] = {"message": message, "type": _error_type(status), "code": status, "param": None}
    return body


def _error_type(status: int) -> str:
    if status == 401:
        return "authentication_error"
    if status == 403:
        return "permission_error"
    if status == 429:
        return "rate_limit_error"
    if status >= 500:
        return "server_error"
    return "invalid_request_error"


async def send_json_error(
    send: Send, status: int, message: str, *, path: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(error_body(status, message, path=path)).encode()
    response_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *(headers or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": response_headers})
    await send({"type": "http.response.body", "body": body})
