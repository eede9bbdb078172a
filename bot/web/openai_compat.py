"""An OpenAI-compatible chat API under /v1, so OpenAI clients and tools can use the bot as a "model".

The last user message is the question; earlier user/assistant messages are the history; system messages are
ignored. Citations travel twice: as numbered footnotes appended to the text, and as a `citations` field.
There is one model, listed as "newsbot" and by its full id ("newsbot-extractive": the answerer); a completion
accepts any model name (tools often insist on sending one) and reports the full id.
"""
from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, HTTPException
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool

from bot.prompts import PromptLibrary
from bot.schema import Answer, AnswerDelta, Citation
from bot.settings import Settings
from bot.web.api import (
    EXPECTED_ERRORS,
    MAX_BODY_BYTES,
    Filters,
    IncompleteStreamError,
    check_question,
    error_message,
    plain_filters,
    stream_in_threadpool,
    valid_text,
)

if TYPE_CHECKING:
    from bot.chain import Pipeline

logger = logging.getLogger(__name__)

FOOTNOTES_START = "\n\n[1] "


class ChatMessage(BaseModel):
    role: str
    content: str | list[dict[str, Any]] | None = None

    @field_validator("content")
    @classmethod
    def _content_is_text(cls, content: str | list[dict[str, Any]] | None) -> str | list[dict[str, Any]] | None:
        parts = content if isinstance(content, list) else [{"text": content}]
        for part in parts:
            if isinstance(part.get("text"), str):
                valid_text(part["text"])
        return content


class ChatRequest(BaseModel):
    model: str | None = Field(None, description="Any name: there is one model (see GET /v1/models), which answers "
                                                "whatever name is sent.")
    messages: list[ChatMessage] = Field(..., min_length=1, max_length=200)
    stream: bool = False
    # Extensions beyond OpenAI's schema (send with the client's extra_body).
    k: int | None = Field(None, ge=1, le=50)
    filters: Filters | None = None


# The model's short name, as in the README's example; it stands for the full id, which names the answerer.
MODEL_ALIAS = "newsbot"


def model_id(settings: Settings) -> str:
    return f"newsbot-{settings.answerer}"


def message_text(message: ChatMessage) -> str:
    """The text of a message whose content is a string or a list of parts (only text parts count)."""
    if message.content is None:
        return ""
    if isinstance(message.content, str):
        return message.content
    return "".join(str(p.get("text", "")) for p in message.content if p.get("type") == "text")


def split_messages(messages: Sequence[ChatMessage]) -> tuple[str, list[dict[str, str]]]:
    """(question, history): the last user message and the user/assistant turns before it."""
    last_user = max((i for i, m in enumerate(messages) if m.role == "user"), default=None)
    if last_user is None:
        raise HTTPException(400, "messages has no message with role 'user'; the last user message is the question.")
    content = messages[last_user].content
    if isinstance(content, list) and content and not any(p.get("type") == "text" for p in content):
        kinds = ", ".join(sorted({str(p.get("type")) for p in content}))
        raise HTTPException(400, f"The last user message has no text part (only {kinds}); this model reads text "
                                 "only: send the question as a part of type 'text'.")
    history: list[dict[str, str]] = []
    for message in messages[:last_user]:
        if message.role not in ("user", "assistant"):
            continue
        text = message_text(message)
        if message.role == "assistant":
            # Our own earlier answers come back with footnotes; the conversation needs only the answer.
            text = text.split(FOOTNOTES_START, 1)[0]
        if text.strip():
            history.append({"role": message.role, "content": text})
    return message_text(messages[last_user]), history


def footnote(citation: Citation | dict[str, Any]) -> str:
    c = citation.to_dict() if isinstance(citation, Citation) else citation
    date = f" ({c['published']})" if c.get("published") else ""
    quote = " ".join(str(c.get("quote") or "").split())
    return f"[{c['n']}] {c['title']}{date} — {c['source']}: \"{quote}\""


def footnotes(answer: Answer) -> str:
    """The text appended to the answer: a blank line, then one footnote per citation ("" when none)."""
    if not answer.citations:
        return ""
    return "\n\n" + "\n".join(footnote(c) for c in answer.citations)


def create_router(*, pipeline: Pipeline, settings: Settings, prompts: PromptLibrary) -> APIRouter:
    router = APIRouter(tags=["openai"], max_body_size=MAX_BODY_BYTES)
    name = model_id(settings)
    created = int(time.time())
    cards = {model: {"id": model, "object": "model", "created": created, "owned_by": "newsbot"}
             for model in (MODEL_ALIAS, name)}

    @router.get("/models", summary="The one model this server offers, by its short name and its full id")
    async def list_models() -> dict[str, Any]:
        return {"object": "list", "data": list(cards.values())}

    @router.get("/models/{model:path}", summary="One model", response_model=None)
    async def get_model(model: str) -> dict[str, Any] | JSONResponse:
        if model not in cards:
            message = f"The model {model!r} does not exist; this server offers {' and '.join(map(repr, cards))}."
            error = {"message": message, "type": "invalid_request_error", "param": "model", "code": "model_not_found"}
            return JSONResponse({"detail": message, "error": error}, status_code=404)  # OpenAI's codes, our detail
        return cards[model]

    @router.post("/chat/completions", summary="OpenAI-compatible chat completion (streaming or not)",
                 response_model=None)
    async def chat_completions(body: ChatRequest) -> dict[str, Any] | StreamingResponse:
        question, history = split_messages(body.messages)
        question = check_question(question, settings=settings, prompts=prompts)
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        now = int(time.time())
        filters = plain_filters(body.filters)
        if not body.stream:
            answer = await run_in_threadpool(pipeline.ask, question, history=history, k=body.k, filters=filters)
            return {
                "id": completion_id,
                "object": "chat.completion",
                "created": now,
                "model": name,
                "choices": [{
                    "index": 0,
                    "message": {"role": "assistant", "content": answer.answer + footnotes(answer)},
                    "finish_reason": "stop",
                }],
                "citations": [c.to_dict() for c in answer.citations],
                "abstained": answer.abstained,
                "small_talk": answer.small_talk,
                "no_filter_match": answer.no_filter_match,
            }
        iterator = await run_in_threadpool(
            lambda: iter(pipeline.stream(question, history=history, k=body.k, filters=filters))
        )
        items = await stream_in_threadpool(iterator)
        chunk = _ChunkMaker(completion_id=completion_id, created=now, model=name)
        return StreamingResponse(_chunks(items, chunk), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    return router


class _ChunkMaker:
    def __init__(self, *, completion_id: str, created: int, model: str) -> None:
        self.base = {"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": model}

    def __call__(self, delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> str:
        data = {**self.base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}], **extra}
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _chunks(items: AsyncIterator[Any], chunk: _ChunkMaker) -> AsyncIterator[str]:
    yield chunk({"role": "assistant", "content": ""})
    try:
        async for item in items:
            if isinstance(item, AnswerDelta) and item.text:
                yield chunk({"content": item.text})
            elif isinstance(item, Answer):
                notes = footnotes(item)
                if notes:
                    yield chunk({"content": notes})
                yield chunk({}, "stop", citations=[c.to_dict() for c in item.citations], abstained=item.abstained,
                            small_talk=item.small_talk, no_filter_match=item.no_filter_match)
                break
        else:
            raise IncompleteStreamError("The pipeline's stream ended without an Answer.")
    except Exception as exc:  # the response has started: OpenAI's in-band error shape, traceback in the log
        if isinstance(exc, EXPECTED_ERRORS):
            logger.warning("Streaming failed: %s", exc)
        else:
            logger.exception("Streaming failed")
        error = {"message": error_message(exc), "type": "server_error", "code": None, "param": None}
        yield f"data: {json.dumps({'error': error}, ensure_ascii=False)}\n\n"
    yield "data: [DONE]\n\n"
