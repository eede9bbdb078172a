"""One FastAPI app for every web face: REST API (/api), OpenAI-compatible API (/v1), widget, Gradio chat (/).

All faces share one pipeline object and one feedback store, both passed in (or built once here).
"""
from __future__ import annotations

import logging
import secrets
import socket
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.errors import FeedbackStoreError, UsageError
from bot.feedback import FeedbackStore
from bot.prompts import PromptLibrary
from bot.settings import Settings
from bot.web import api, openai_compat, widget
from bot.web.ratings import Ratings
from bot.web.security import AccessControl, TokenBucket, send_json_error, error_body

if TYPE_CHECKING:
    from bot.chain import Pipeline

logger = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    *,
    pipeline: Pipeline | None = None,
    feedback: FeedbackStore | None = None,
    chat: bool = True,
) -> FastAPI:
    """The app. `pipeline` None -> `bot.chain.build_pipeline(settings)` (which loads its model on first use).

    `chat=False` leaves out the Gradio chat (the API alone starts faster, e.g. for tests and benchmarks).
    """
    if pipeline is None:
        from bot.chain import build_pipeline  # the real pipeline only when none is given

        pipeline = build_pipeline(settings)
    if feedback is None:
        feedback = FeedbackStore(settings.feedback_db)
    # The chat's and the API's: one key for the receipts that withdraw a rating, kept with the ratings.
    ratings = Ratings(feedback, key=_receipt_key(feedback))
    limiter = TokenBucket(rate_per_minute=settings.rate_limit_per_minute)
    # The pipeline's own templates when it has them (a test's fake may not): one set of prompt files read once.
    prompts = getattr(pipeline, "prompts", None) or PromptLibrary(settings.prompts_dir)

    app = FastAPI(
        title="newsbot",
        summary="Answers questions about news articles, quoting its evidence.",
        version=api.app_version(),
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.pipeline = pipeline
    app.state.feedback = feedback
    app.state.ratings = ratings
    app.state.limiter = limiter

    # Declared for the OpenAPI docs only (their "Authorize" button); AccessControl does the checking.
    key_docs = [Security(APIKeyHeader(name="X-API-Key", auto_error=False))] if settings.api_keys else []
    app.include_router(api.create_router(pipeline=pipeline, ratings=ratings, settings=settings, prompts=prompts),
                       prefix="/api", dependencies=key_docs)
    app.include_router(openai_compat.create_router(pipeline=pipeline, settings=settings, prompts=prompts),
                       prefix="/v1", dependencies=key_docs)
    _add_api_fallback(app)
    _add_exception_handlers(app)
    # Added first = innermost: failures inside the app become a JSON 500 that still gets CORS headers.
    app.add_middleware(CatchAll)
    app.add_middleware(AccessControl, settings=settings, limiter=limiter, max_body_bytes=api.MAX_BODY_BYTES)

    app.include_router(widget.create_router(settings))
    if chat:
        import gradio as gr

        from bot.web import chat_ui

        blocks = chat_ui.build_chat(pipeline, ratings=ratings, settings=settings)
        # Last, at "/": routes registered before it (/api, /v1, /docs, widget) take precedence. No Gradio footer
        # links, and no per-browser run history of other people's questions. Gradio's status line for screen readers
        # says "common.complete" after each answer (a key its own translations lack): it says "Done" instead.
        gr.mount_gradio_app(app, blocks, path="/", footer_links=[], run_history=False,
                            i18n=gr.I18n(en={"common.complete": "Done"}))
    return app


def serve(settings: Settings, *, host: str | None = None, port: int | None = None) -> None:
    """Run the app under uvicorn until interrupted."""
    import uvicorn

    from bot.indexing import check_models

    host = host or settings.host
    port = port or settings.port
    sock = bind_socket(host, port)
    # A model folder that cannot work refuses the start, as the CLI refuses the question (it used to say "ready",
    # then answer every question with a 500 naming the server's paths); no index yet only warns (below).
    check_models(settings)
    app = create_app(settings)
    problem = _warm_up(app.state.pipeline)
    print(f"Chat ready at http://{_url_host(host)}:{port}/  (widget demo: /widget/demo, API docs: /docs)",
          flush=True)
    if problem:
        print(f"Warning: {problem}", flush=True)
    exposed = open_to_the_network(settings, host, port)
    if exposed:
        print(f"Warning: {exposed}", flush=True)
    config = uvicorn.Config(app, host=host, port=port, log_level="info", timeout_graceful_shutdown=5)
    make_server(config).run(sockets=[sock])


def open_to_the_network(settings: Settings, host: str, port: int) -> str | None:
    """A warning when the server listens beyond this machine with no API keys: anyone who reaches the port can use
    /api and /v1 (the chat at "/" is open by design). None on a loopback address, or with keys."""
    import ipaddress

    if settings.api_keys:
        return None
    try:
        if host == "localhost" or ipaddress.ip_address(host.strip("[]")).is_loopback:
            return None
    except ValueError:  # a host name: it may well be reachable from elsewhere
        pass
    named = settings.named("api_keys")
    # (BOT_API_KEYS=$KEY with $KEY unset is set, to nothing.)
    empty = f" ({named} is set, but to no key)" if "api_keys" in settings.origins else ""
    if not empty:
        named = "BOT_API_KEYS (or api_keys in bot.toml)"
    return (f"Listening on {host}:{port} with no API keys{empty}: anyone who can reach it can use the API (/api, "
            f"/v1). Set {named} to require a key, or listen on 127.0.0.1.")


def make_server(config: Any) -> Any:
    """A uvicorn server (for `config`, a uvicorn.Config of this app) that stops at once with chat pages open.

    Each open chat page holds a connection (Gradio's heartbeat) that ends only when Gradio is told to stop, which a
    mounted Gradio app is not: uvicorn waited the whole graceful timeout for them, then cancelled them with a traceback
    in the log. This server tells Gradio first, so they end as it stops."""
    import uvicorn

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: Any = None) -> None:
            end_chat_streams(config.app)
            await super().shutdown(sockets=sockets)

    return Server(config)


def end_chat_streams(app: Any) -> None:
    """Tell the Gradio chat mounted in `app` (if any) that the server stops: its open heartbeat streams end."""
    for route in getattr(app, "routes", []):
        stop = getattr(getattr(route, "app", None), "stop_event", None)
        if stop is not None:
            stop.set()


def _receipt_key(feedback: Any) -> bytes:
    """The key kept with the ratings (`FeedbackStore.secret`); a key for this run alone when the store cannot give
    one (a damaged database: rating then fails in one line anyway, as before) or is a test's stand-in."""
    try:
        return bytes(feedback.secret())
    except (AttributeError, FeedbackStoreError) as exc:
        logger.warning("Receipts for withdrawing a rating last until the server stops: %s", exc)
        return secrets.token_bytes(32)


def _warm_up(pipeline: Pipeline) -> str | None:
    """Load the model and indexes before the first question. Without an index the server still starts (and says
    how to build one): returns that message."""
    from index.errors import IndexingError

    try:
        pipeline.warm_up()
    except IndexingError as exc:
        return str(exc)
    return None


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket, bound before the slow start-up so a busy port fails at once with a clear message."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"Cannot listen on {host}:{port} ({exc.strerror}). Stop whatever uses the port, "
            f"or pick another with --port (or BOT_PORT)."
        ) from None
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


class CatchAll:
    """Any unexpected exception: traceback to the server log, `{"detail": "Internal error; ..."}` to the client."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("Unhandled error in %s %s", scope.get("method"), scope.get("path"))
            if not started:
                await send_json_error(send, 500, api.INTERNAL_ERROR, path=scope.get("path", ""))


def _add_api_fallback(app: FastAPI) -> None:
    """Under /api and /v1, a path the API does not have is a 404 naming /docs, and a method a path does not take a
    405 naming those it takes. Without this route (added after the API's own) the chat, mounted at "/", would take
    both and answer a bare "Not Found": `GET /api/ask` would read as if there were no such endpoint."""
    routes = list(app.router.routes)  # the API's own, before the fallback

    def methods_of(path: str) -> list[str]:
        probes = ({"type": "http", "path": path, "root_path": "", "method": method, "headers": []}
                  for method in _METHODS)
        return [probe["method"] for probe in probes if any(r.matches(probe)[0] == Match.FULL for r in routes)]

    async def fallback(request: Request) -> None:
        path = request.url.path
        methods = methods_of(path)
        if methods:
            raise StarletteHTTPException(405, f"{path} does not take {request.method}; use {' or '.join(methods)}.",
                                         headers={"Allow": ", ".join(methods)})
        raise StarletteHTTPException(404, f"There is no {path}; the API's endpoints are listed at /docs.")

    for prefix in ("/api", "/v1"):
        app.add_api_route(prefix + "/{rest:path}", fallback, methods=list(_METHODS), include_in_schema=False)


_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def _add_exception_handlers(app: FastAPI) -> None:
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        status, message = validation_message(exc.errors())
        return JSONResponse(error_body(status, message, path=request.url.path), status_code=status)

    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        return JSONResponse(error_body(exc.status_code, message, path=request.url.path),
                            status_code=exc.status_code, headers=exc.headers)

    async def bot_error(request: Request, exc: Exception) -> JSONResponse:
        status = api.error_status(exc)
        logger.warning("%s on %s: %s", type(exc).__name__, request.url.path, exc)
        return JSONResponse(error_body(status, api.error_message(exc), path=request.url.path), status_code=status)

    app.add_exception_handler(RequestValidationError, validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, http_error)  # type: ignore[arg-type]
    for expected in api.EXPECTED_ERRORS:
        app.add_exception_handler(expected, bot_error)


INVALID_UNICODE = "not valid text: it holds half of a UTF-16 character pair"


def validation_message(errors: Sequence[Any]) -> tuple[int, str]:
    """(status, one line) for pydantic/FastAPI request errors: 400 when the body is not JSON, else 422."""
    example = 'Send a JSON object such as {"question": "..."} with Content-Type: application/json.'
    for error in errors:
        loc = tuple(error.get("loc", ()))
        if error.get("type") == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "JSON decode error")
            position = f" at character {loc[1]}" if len(loc) > 1 else ""
            return 400, f"The request body is not valid JSON ({reason}{position}). {example}"
        if loc == ("body",):
            if error.get("type") == "missing":
                return 400, f"The request body is empty. {example}"
            return 400, f"The request body must be a JSON object. {example}"
    unknown = [str(e.get("loc", ())[-1]) for e in errors
               if e.get("type") == "extra_forbidden" and tuple(e.get("loc", ()))[:2] == ("body", "filters")]
    if unknown:
        known = ", ".join(api.Filters.model_fields)
        return 400, f"Unknown filter {', '.join(unknown)}: the filters are {known}."
    parts = []
    for error in errors[:3]:
        loc = [str(p) for p in error.get("loc", ()) if p != "body"]
        where = ".".join(loc) or "body"
        # pydantic's own check of a constrained string, in words like ours (api.valid_text) for the other fields
        message = INVALID_UNICODE if error.get("type") == "string_unicode" else error.get("msg", "invalid value")
        parts.append(f"{where}: {message}")
    more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
    return 422, "Invalid request: " + "; ".join(parts) + more + "."
