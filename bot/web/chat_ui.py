"""The Gradio chat: a conversation on the left, the cited passages of the latest answer on the right.

`ChatResponder` is the whole behaviour as plain Python (no Gradio objects, no server) so it can be
tested directly; `build_chat` only lays out components and wires events to it. All HTML comes from
`bot.web.render`, which escapes every piece of model or document text.
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import gradio as gr

from bot.errors import BotError, FeedbackStoreError, UsageError
from index.errors import IndexingError
from bot.schema import Answer, AnswerDelta
from bot.settings import Settings
from bot.web import render

if TYPE_CHECKING:
    from bot.chain import Pipeline

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
EXAMPLE_QUESTIONS = (
    "When did the Sutong Bridge open to traffic?",
    "How many cooperation parks have Nantong, Shanghai and Southern Jiangsu built?",
    "When did Jiaxing start holding folk culture festivals?",
)
# Earlier question/answer pairs sent with a follow-up (the widget sends the same number).
HISTORY_TURNS = 6
GENERIC_ERROR = "Sorry, something went wrong while answering. Please try again in a moment."
# Half of a UTF-16 pair: in a Python str, any surrogate code point stands alone (JSON decoding joins whole pairs).
_SURROGATE = re.compile("[\ud800-\udfff]")

# A turn of the conversation as kept in the session state: the question, then either the final
# answer (Answer.to_dict()) or a one-line error, plus the history the question was asked with.
Turn = dict[str, Any]
# (chat messages, turns, sources panel HTML, question box value): one update of the screen.
ChatView = tuple[list[dict[str, str]], list[Turn], str, str]


class FeedbackSink(Protocol):
    def add(self, *, rating: str, question: str, answer: dict, history: Sequence = (), comment: str = "") -> int: ...


@dataclass(frozen=True)
class ChatResponder:
    """Answers questions for the chat and records thumbs up/down; Gradio-free."""

    pipeline: Any  # bot.chain.Pipeline; typed loosely so tests can pass a small fake
    feedback: FeedbackSink | None = None

    def respond(self, question: str, turns: Sequence[Turn] | None) -> Iterator[ChatView]:
        """Stream one answer: the question and a placeholder at once, then the growing answer text,
        then the final answer with linked citations and the sources panel.

        A blank question yields nothing (as in the widget, it is not asked: no empty bubble, no error). A question
        the pipeline refuses (too long, say) is put back in the question box, to be shortened there; so is one
        holding half of a UTF-16 pair, which is not asked."""
        if is_blank(question):
            return
        broken = broken_text_message(question)
        if broken:  # not asked; shown with U+FFFD, which the page can display, unlike half of a UTF-16 pair
            question = _SURROGATE.sub("\ufffd", question)
        turns = [dict(t) for t in (turns or [])]
        history = history_of(turns)
        turn: Turn = {"question": question, "answer": None, "error": None, "history": history}
        pending = [*turns, turn]
        yield messages_of(turns, pending=(question, render.pending_html())), turns, _searching_html(), ""
        text = ""
        box = ""
        try:
            if broken:
                raise UsageError(broken)
            for item in self.pipeline.stream(question, history=history or None):
                if isinstance(item, AnswerDelta):
                    text += item.text
                    yield messages_of(turns, pending=(question, render.streaming_html(text))), turns, \
                        _searching_html(), ""
                elif isinstance(item, Answer):
                    turn["answer"] = item.to_dict()
        except (BotError, IndexingError) as exc:  # UsageError, IndexMissingError...: meant for the user
            turn["error"] = _one_line(str(exc))
            if isinstance(exc, UsageError):
                box = question
        except Exception:  # anything else is our bug: log it, show a generic line, never a traceback
            logger.exception("The chat failed to answer %r", question)
            turn["error"] = GENERIC_ERROR
        if turn["answer"] is None and turn["error"] is None:
            logger.error("The pipeline stream ended without a final Answer for %r", question)
            turn["error"] = GENERIC_ERROR
        yield messages_of(pending), pending, render.sources_html(pending), box

    def rate(self, turns: Sequence[Turn], message_index: int, liked: bool | str) -> int | None:
        """Store a thumbs up/down on the answer shown at chat message `message_index`."""
        if self.feedback is None or isinstance(liked, str):
            return None
        turn_index = message_index // 2  # each turn is a question message then an answer message
        if not 0 <= turn_index < len(turns) or turns[turn_index].get("answer") is None:
            return None
        turn = turns[turn_index]
        # A reply to "thanks!" is no answer to rate, nor is "no article passes your filters": no article was asked
        # (and the rating, stored without the filters, would export as a question the articles cannot answer).
        if turn["answer"].get("small_talk") or turn["answer"].get("no_filter_match"):
            return None
        try:
            return self.feedback.add(
                rating="up" if liked else "down",
                question=turn["question"],
                answer=turn["answer"],
                history=list(turn.get("history") or []),
            )
        except FeedbackStoreError as exc:  # the chat goes on; the log says why the rating was lost
            logger.error("A rating was not stored: %s", exc)
            return None


def is_blank(question: str | None) -> bool:
    return not (question or "").strip()


def broken_text_message(question: str) -> str | None:
    """What is wrong when `question` holds half of a UTF-16 character pair (a browser can send one; nothing can
    encode it, so it would break the answer and the page), else None."""
    found = _SURROGATE.search(question)
    if found is None:
        return None
    return (f"Your question holds a broken character (half of a UTF-16 character pair, character "
            f"{found.start() + 1}), shown as \ufffd. Please remove it or type it again.")


def history_of(turns: Sequence[Turn]) -> list[dict[str, str]]:
    """The recent conversation as `{"role", "content"}` turns for the pipeline (errors left out)."""
    history: list[dict[str, str]] = []
    answered = [turn for turn in turns if turn.get("answer") is not None]
    for turn in answered[-HISTORY_TURNS:]:
        history.append({"role": "user", "content": turn["question"]})
        history.append({"role": "assistant", "content": turn["answer"].get("answer", "")})
    return history


def messages_of(turns: Sequence[Turn], *, pending: tuple[str, str] | None = None) -> list[dict[str, str]]:
    """The chatbot's messages, rebuilt from the turns (the chatbot only displays; the turns are the truth)."""
    messages: list[dict[str, str]] = []
    for index, turn in enumerate(turns):
        messages.append({"role": "user", "content": render.question_html(turn["question"])})
        if turn.get("answer") is not None:
            content = render.answer_html(turn["answer"], turn=index)
        else:
            content = render.error_html(turn.get("error") or GENERIC_ERROR)
        messages.append({"role": "assistant", "content": content})
    if pending is not None:
        question, content = pending
        messages.append({"role": "user", "content": render.question_html(question)})
        messages.append({"role": "assistant", "content": content})
    return messages


def _searching_html() -> str:
    return '<div class="nb-sources"><h3>Sources</h3><p class="nb-dim">Searching the articles…</p></div>'


def _one_line(message: str) -> str:
    return " ".join(message.split()) or GENERIC_ERROR


def _header_html() -> str:
    return (
        '<header class="nb-header"><h1>Ask the news</h1>'
        "<p>Answers come only from the indexed news articles, each claim with the sentence it is quoted "
        "from. When the articles don't say, it tells you so.</p></header>"
    )


def _assets_js() -> str:
    """The page script for the sources panel's js_on_load: the chat stylesheet and the citation links.

    Gradio 6 takes page CSS only in launch()/mount_gradio_app(); the app mounts us without it, so the
    panel adds the stylesheet itself (once per page)."""
    css = (STATIC_DIR / "chat.css").read_text(encoding="utf-8")
    script = (STATIC_DIR / "chat.js").read_text(encoding="utf-8")
    return f"const NB_CHAT_CSS = {json.dumps(css)};\n{script}"


def build_chat(pipeline: Pipeline, *, feedback: FeedbackSink | None = None, settings: Settings) -> gr.Blocks:
    """The chat page. Event `ask` (the question box) is also the Gradio API endpoint `/ask`."""
    responder = ChatResponder(pipeline, feedback=feedback)

    def ask(question: str, turns: list[Turn] | None) -> Iterator[ChatView | tuple[Any, ...]]:
        if is_blank(question):  # ignored: the screen stays as it is
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        yield from responder.respond(question, turns)

    def ask_example(turns: list[Turn] | None, evt: gr.SelectData) -> Iterator[ChatView]:
        value = evt.value
        question = value.get("text", "") if isinstance(value, Mapping) else str(value or "")
        yield from responder.respond(question, turns)

    def rate(turns: list[Turn] | None, evt: gr.LikeData) -> None:
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        responder.rate(turns or [], int(index), evt.liked)

    def clear() -> ChatView:
        return [], [], render.sources_html([]), ""

    with gr.Blocks(title="Ask the news", analytics_enabled=False) as blocks:
        turns = gr.State([])
        gr.HTML(_header_html(), elem_id="nb-header", js_on_load=None, padding=False)
        with gr.Row(equal_height=False, elem_id="nb-main"):
            with gr.Column(scale=3, min_width=360, elem_id="nb-chat-col"):
                chatbot = gr.Chatbot(
                    label="Conversation",
                    show_label=False,
                    elem_id="nb-chat",
                    height=560,
                    layout="bubble",
                    sanitize_html=True,
                    render_markdown=True,
                    buttons=["copy"],
                    feedback_options=("Like", "Dislike") if feedback is not None else None,
                    examples=[{"text": q} for q in EXAMPLE_QUESTIONS],
                    placeholder="**Ask a question about the news articles**<br>or start with one of these:",
                )
                question = gr.Textbox(
                    label="Your question",
                    show_label=False,
                    placeholder="Ask about the news articles…",
                    lines=1,
                    max_lines=4,
                    submit_btn="Ask",
                    autofocus=True,
                    elem_id="nb-question",
                )  # no max_length: the box would cut a long paste silently; the pipeline refuses it with a message
                new_chat = gr.Button("New conversation", size="sm", variant="secondary", elem_id="nb-new")
            with gr.Column(scale=2, min_width=300, elem_id="nb-sources-col"):
                sources = gr.HTML(
                    render.sources_html([]),
                    elem_id="nb-sources-panel",
                    js_on_load=_assets_js(),
                    padding=False,
                )
        outputs = [chatbot, turns, sources, question]
        # Answers share one limit; the pipeline is thread-safe (the REST API calls it from many threads too).
        question.submit(ask, [question, turns], outputs, api_name="ask", concurrency_limit=settings.chat_concurrency,
                        concurrency_id="answer")
        chatbot.example_select(ask_example, [turns], outputs, api_visibility="private",
                               concurrency_limit=settings.chat_concurrency, concurrency_id="answer")
        new_chat.click(clear, None, outputs, api_visibility="private")
        chatbot.clear(clear, None, outputs, api_visibility="private")
        if feedback is not None:
            chatbot.like(rate, [turns], None, api_visibility="private")
    return blocks
