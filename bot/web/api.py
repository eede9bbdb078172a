"""The REST API under /api: ask, ask/stream (server-sent events), health, feedback."""
from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import date
from importlib import metadata
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError
from starlette.concurrency import run_in_threadpool

from bot import chain, errors
from bot.errors import BotError, UsageError
from bot.prompts import PromptLibrary
from bot.schema import Answer, AnswerDelta
from bot.settings import Settings
from bot.web.ratings import Ratings
from index import store as index_store
from index.errors import IndexingError, ModelError

if TYPE_CHECKING:  # the web layer only calls ask/stream; importing the chain here would load its stack
    from bot.chain import Pipeline

logger = logging.getLogger(__name__)

INTERNAL_ERROR = "Internal error; see the server log."
# A model folder that went wrong after start-up (`bot serve` checks them before it starts): the message names the
# server's paths, so it goes to the log and the client hears this.
MODEL_UNAVAILABLE = "The bot's model cannot be loaded on the server; its log says why."
# How long /api/health waits for a Chroma server's heartbeat: a monitor must hear "unavailable" fast, not hang.
HEALTH_TIMEOUT = 2.0
# A request body larger than this is refused with 413 before it is parsed.
MAX_BODY_BYTES = 1_000_000
_SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


# A string that is not valid Unicode: half of a UTF-16 surrogate pair, which JSON can carry ("\\ud800").
INVALID_TEXT = "not valid text: it holds half of a UTF-16 character pair ({char}, character {position})"


def valid_text(value: str) -> str:
    """`value`, or a 422 when it is not valid Unicode: Python keeps a lone surrogate from JSON, and it would fail
    later, when searched, stored or sent back, as an internal error."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PydanticCustomError("invalid_text", INVALID_TEXT,
                                  {"char": f"\\u{ord(value[exc.start]):04x}", "position": exc.start + 1}) from None
    return value


# A string from a client, checked to be valid Unicode.
Text = Annotated[str, AfterValidator(valid_text)]


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str  # checked with the whole history (inside `str | Turn`, a failure would be reported twice)


def valid_history(history: list[str | Turn]) -> list[str | Turn]:
    for turn in history:
        valid_text(turn if isinstance(turn, str) else turn.content)
    return history


# Earlier turns from a client, each checked to be valid Unicode.
History = Annotated[list[str | Turn], AfterValidator(valid_history)]


class Filters(BaseModel):
    """Only these keys: an unknown one (`since`, say) would otherwise be dropped, and every article searched."""

    model_config = ConfigDict(extra="forbid")

    source: Text | None = Field(None, description="Substring or exact path of the source file.")
    published_from: date | None = Field(None, description="ISO date; only articles published on or after it.")
    published_to: date | None = Field(None, description="ISO date; only articles published on or before it.")


class AskRequest(BaseModel):
    question: Text = Field(..., description="The question (1 to max_question_chars characters).")
    history: History = Field(
        default_factory=list, max_length=100,
        description="Earlier user questions, or {role, content} turns, oldest first.",
    )
    k: int | None = Field(None, ge=1, le=50, description="How many passages to retrieve (default: setting k).")
    filters: Filters | None = None


class Receipt(BaseModel):
    id: int
    token: str = Field(..., max_length=100)


class FeedbackRequest(BaseModel):
    rating: Literal["up", "down"]
    question: Text = Field(..., min_length=1)
    answer: dict[str, Any] = Field(..., description="The answer object as returned by /api/ask.")
    history: History = Field(default_factory=list, max_length=100)
    comment: Text = Field("", max_length=4000)
    replaces: Receipt | None = Field(None, description="The {id, token} an earlier rating of the same answer "
                                                       "returned: it is withdrawn once this one is stored.")

    @field_validator("answer")
    @classmethod
    def _answer_is_text(cls, answer: dict[str, Any]) -> dict[str, Any]:
        """Every string in the answer object (it is stored as it came)."""
        pending: list[Any] = [answer]
        while pending:
            value = pending.pop()
            if isinstance(value, str):
                valid_text(value)
            elif isinstance(value, dict):
                pending += [*value.keys(), *value.values()]
            elif isinstance(value, list):
                pending += value
        return answer


def check_question(question: str, *, settings: Settings, prompts: PromptLibrary) -> str:
    """The stripped question, or 422 with the same message the pipeline and the CLI give (the same check)."""
    try:
        return chain.check_question(question, prompts=prompts, max_chars=settings.max_question_chars)
    except UsageError as exc:
        raise HTTPException(422, str(exc)) from None


def plain_history(history: list[str | Turn]) -> list[str | dict[str, str]]:
    return [t if isinstance(t, str) else {"role": t.role, "content": t.content} for t in history]


def plain_filters(filters: Filters | None) -> dict[str, Any] | None:
    if filters is None:
        return None
    values = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in filters.model_dump().items()}
    return {k: v for k, v in values.items() if v not in (None, "")} or None


FEEDBACK_UNAVAILABLE = "Ratings cannot be stored right now; the server's log says why."
WITHDRAW_UNAVAILABLE = "Ratings cannot be withdrawn right now; the server's log says why."
NO_SUCH_RATING = ("There is no rating {id} with this token to withdraw: it was withdrawn already, or the token is not "
                  "the one storing it returned.")
# Expected failures whose message is meant for the user (the index raises its own classes; bot never wraps them).
EXPECTED_ERRORS = (BotError, IndexingError)
# "Not ready" rather than "broken": no index yet, an index built differently, or the Chroma server is down.
_UNAVAILABLE = (
    errors.IndexMissingError, errors.IndexMismatchError, errors.StoreUnavailableError,
    index_store.IndexMissingError, index_store.IndexMismatchError, index_store.StoreUnavailableError,
)


def error_status(exc: BaseException) -> int:
    """The HTTP status for an exception raised by the pipeline."""
    if isinstance(exc, UsageError):
        return 400
    if isinstance(exc, (*_UNAVAILABLE, ModelError)):
        return 503
    return 500


def error_message(exc: BaseException) -> str:
    """The one-line message a client may see: an expected error's text, never internals of other exceptions (nor
    the server's model folders)."""
    if isinstance(exc, ModelError):
        return MODEL_UNAVAILABLE
    if isinstance(exc, EXPECTED_ERRORS):
        return " ".join(str(exc).split()) or type(exc).__name__
    return INTERNAL_ERROR


def sse(event: str, data: Any) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


_END = object()


def _next_item(iterator: Iterator[Any]) -> Any:
    # StopIteration cannot cross the thread boundary, so the end is signalled with a sentinel.
    return next(iterator, _END)


async def stream_in_threadpool(iterator: Iterator[Any]) -> AsyncIterator[Any]:
    """Pull the first item now (so early failures become a plain HTTP error), then the rest lazily, each in
    the threadpool so the event loop stays free."""
    first = await run_in_threadpool(_next_item, iterator)

    async def items() -> AsyncIterator[Any]:
        item = first
        while item is not _END:
            yield item
            item = await run_in_threadpool(_next_item, iterator)

    return items()


class IncompleteStreamError(RuntimeError):
    """The pipeline's stream ended without its final Answer (a bug, reported to the client as internal)."""


def create_router(
    *, pipeline: Pipeline, ratings: Ratings, settings: Settings, prompts: PromptLibrary
) -> APIRouter:
    router = APIRouter(tags=["api"], max_body_size=MAX_BODY_BYTES)

    @router.post("/ask", summary="Answer a question with cited passages")
    async def ask(body: AskRequest) -> dict[str, Any]:
        question = check_question(body.question, settings=settings, prompts=prompts)
        answer = await run_in_threadpool(
            pipeline.ask, question, history=plain_history(body.history), k=body.k,
            filters=plain_filters(body.filters),
        )
        return answer.to_dict()

    @router.post(
        "/ask/stream",
        summary="Answer a question as server-sent events",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}},
                         "description": "event: delta {text} (repeated), then event: answer <answer> "
                                        "or event: error {message, status}"}},
    )
    async def ask_stream(body: AskRequest) -> StreamingResponse:
        question = check_question(body.question, settings=settings, prompts=prompts)
        iterator = await run_in_threadpool(
            lambda: iter(pipeline.stream(question, history=plain_history(body.history), k=body.k,
                                         filters=plain_filters(body.filters)))
        )
        items = await stream_in_threadpool(iterator)
        return StreamingResponse(_answer_events(items), media_type="text/event-stream", headers=_SSE_HEADERS)

    @router.api_route("/health", methods=["GET", "HEAD"], summary="Index size, model and version",
                      responses={503: {"description": '{"status": "unavailable", "detail": why}: no index, or the '
                                                      "Chroma server cannot be reached"}})
    async def health() -> JSONResponse:
        try:
            info = await run_in_threadpool(_health_info, pipeline, min(HEALTH_TIMEOUT, settings.chroma_timeout))
        except EXPECTED_ERRORS as exc:
            return JSONResponse({"status": "unavailable", "detail": error_message(exc)}, status_code=503)
        return JSONResponse({"status": "ok", **info, "version": app_version()})

    @router.post("/feedback", summary="Rate an answer (thumbs up/down)")
    async def add_feedback(body: FeedbackRequest) -> dict[str, Any]:
        """Returns `{id, token, replaced}`: `DELETE /api/feedback/{id}` with the header `X-Feedback-Token: <token>`
        withdraws the rating (the token is never put in the URL, which access logs keep), and sending
        `{id, token}` as `replaces` with another rating of the same answer replaces it."""
        try:
            return await run_in_threadpool(
                ratings.add, rating=body.rating, question=body.question, answer=body.answer,
                history=plain_history(body.history), comment=body.comment,
                replaces=body.replaces.model_dump() if body.replaces else None,
            )
        except errors.FeedbackStoreError as exc:
            # The message names the server's file: it goes to the log, the client hears only that it failed.
            logger.error("A rating was not stored: %s", exc)
            raise HTTPException(503, FEEDBACK_UNAVAILABLE) from None

    @router.delete("/feedback/{feedback_id}", summary="Withdraw a rating (the thumb clicked again)")
    async def withdraw_feedback(
        feedback_id: int,
        token: Annotated[str, Header(alias="X-Feedback-Token", max_length=100,
                                     description="The token storing the rating returned.")] = "",
    ) -> dict[str, Any]:
        try:
            withdrawn = await run_in_threadpool(ratings.withdraw, feedback_id, token)
        except errors.FeedbackStoreError as exc:
            logger.error("A rating was not withdrawn: %s", exc)
            raise HTTPException(503, WITHDRAW_UNAVAILABLE) from None
        if not withdrawn:
            raise HTTPException(404, NO_SUCH_RATING.format(id=feedback_id))
        return {"id": feedback_id, "withdrawn": True}

    return router


async def _answer_events(items: AsyncIterator[Any]) -> AsyncIterator[str]:
    try:
        async for item in items:
            if isinstance(item, AnswerDelta):
                yield sse("delta", {"text": item.text})
            elif isinstance(item, Answer):
                yield sse("answer", item.to_dict())
                return
        raise IncompleteStreamError("The pipeline's stream ended without an Answer.")
    except Exception as exc:  # the response has started: report in-band, keep the traceback in the log
        if isinstance(exc, EXPECTED_ERRORS):
            logger.warning("Streaming failed: %s", exc)
        else:
            logger.exception("Streaming failed")
        yield sse("error", {"message": error_message(exc), "status": error_status(exc)})


def _health_info(pipeline: Pipeline, timeout: float) -> dict[str, Any]:
    """What /api/health reports, once the store has answered: a Chroma server within `timeout` seconds, and an index
    in it. (The keyword index in memory said "ok" while the server was down, or restarted empty.) A pipeline
    without a retriever that can check its store (a test's stand-in) reports its stats alone."""
    check = getattr(getattr(pipeline, "retriever", None), "check_store", None)
    if callable(check):
        check(timeout=timeout)
    return _pipeline_info(pipeline)


def _pipeline_info(pipeline: Pipeline) -> dict[str, Any]:
    """chunks / articles / model from the pipeline's `stats()` when it has one."""
    stats = getattr(pipeline, "stats", None)
    info = dict(stats()) if callable(stats) else {}
    return {"chunks": info.get("chunks"), "articles": info.get("articles"), "model": info.get("model")}


def app_version() -> str:
    try:
        return metadata.version("newsbot")
    except metadata.PackageNotFoundError:
        return "unknown"
