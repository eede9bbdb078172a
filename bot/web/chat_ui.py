"""The Gradio chat: a conversation on the left, the cited passages of the latest answer on the right.

`ChatResponder` is the whole behaviour as plain Python (no Gradio objects, no server) so it can be
tested directly; `build_chat` only lays out components and wires events to it. All HTML comes from
`bot.web.render`, which escapes every piece of model or document text.
"""
from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gradio as gr

from bot.errors import BotError, FeedbackStoreError, UsageError
from index.errors import IndexingError, ModelError
from bot.schema import Answer, AnswerDelta
from bot.settings import Settings
from bot.web import render
from bot.web.ratings import Ratings
from bot.web.api import error_message
from bot.web.security import key_problem

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
# At most this many questions, sent and not answered when the page reloaded, are asked again: the one being answered
# and one sent meanwhile, with one to spare. Each is asked again once: a page reloading over its answer again (one
# that reloads itself every few seconds, say) finds it shown as not answered, to be sent again by the reader.
ASKED_AGAIN = 3
NOT_ANSWERED = "Not answered: the page reloaded while this question was being answered. Please send it again."
# An answer waits at most this long for the session's answer before it (a question asked again after a reload, say).
ANSWER_WAIT_SECONDS = 300.0
GENERIC_ERROR = "Sorry, something went wrong while answering. Please try again in a moment."
# Half of a UTF-16 pair: in a Python str, any surrogate code point stands alone (JSON decoding joins whole pairs).
_SURROGATE = re.compile("[\ud800-\udfff]")

# A turn of the conversation as kept in the session state: the question, then either the final
# answer (Answer.to_dict()) or a one-line error, plus the history the question was asked with, and once the answer
# is rated, `rating`: {"value": "up" or "down", "id", "token"} (the receipt that withdraws it).
Turn = dict[str, Any]
# (chat messages, turns, sources panel HTML, question box value): one update of the screen.
ChatView = tuple[list[dict[str, str]], list[Turn], str, str]


@dataclass(frozen=True)
class ChatResponder:
    """Answers questions for the chat and records thumbs up/down; Gradio-free."""

    pipeline: Any  # bot.chain.Pipeline; typed loosely so tests can pass a small fake
    ratings: Ratings | None = None

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
        # The earlier turns themselves, not copies: a rating given while this answer streams is kept on its turn.
        turns = list(turns or [])
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
            if isinstance(exc, ModelError):  # (its message names the server's folders: the log has it)
                logger.warning("The chat could not answer: %s", exc)
            turn["error"] = _one_line(error_message(exc))
            if isinstance(exc, UsageError):
                box = question
        except Exception:  # anything else is our bug: log it, show a generic line, never a traceback
            logger.exception("The chat failed to answer %r", question)
            turn["error"] = GENERIC_ERROR
        if turn["answer"] is None and turn["error"] is None:
            logger.error("The pipeline stream ended without a final Answer for %r", question)
            turn["error"] = GENERIC_ERROR
        yield messages_of(pending), pending, render.sources_html(pending), box

    def respond_again(self, questions: Sequence[str], turns: Sequence[Turn] | None) -> Iterator[ChatView]:
        """Several questions in order, each with the conversation before it, as `respond` streams them: the ones the
        page sent and got no answer to before it reloaded (see `asked_again`), or sent while an answer streamed."""
        current = list(turns or [])
        for question in questions:
            for view in self.respond(question, current):
                yield view
                current = view[1]

    def rate(self, turns: Sequence[Turn], message_index: int, liked: bool | str) -> int | None:
        """The thumbs on the answer shown at chat message `message_index`: Like or Dislike (True or False) stores
        the rating, replacing the answer's earlier one; "" (the pressed thumb clicked again) withdraws it. The
        turn keeps the stored rating's receipt (`rating`, changed in place). Returns the stored rating's id."""
        if self.ratings is None or (isinstance(liked, str) and liked):  # no store, or not a thumb
            return None
        turn = _rateable(turns, message_index)
        if turn is None:
            return None
        earlier = turn.get("rating")  # dropped only once the store has taken the change: else it is still stored
        try:
            if isinstance(liked, str):
                if earlier and not self.ratings.withdraw(earlier.get("id"), earlier.get("token")):
                    logger.warning("The rating %s of %r was not withdrawn: its receipt is not valid (any more).",
                                   earlier.get("id"), turn["question"])
                turn.pop("rating", None)
                return None
            value = "up" if liked else "down"
            receipt = self.ratings.add(rating=value, question=turn["question"], answer=turn["answer"],
                                       history=list(turn.get("history") or []), replaces=earlier)
        except FeedbackStoreError as exc:  # the chat goes on; the log says why the rating was lost
            logger.error("A rating was not stored or withdrawn: %s", exc)
            return None
        if earlier and not receipt["replaced"]:
            logger.warning("The rating %s of %r was not replaced: its receipt is not valid (any more).",
                           earlier.get("id"), turn["question"])
        turn["rating"] = {"value": value, "id": receipt["id"], "token": receipt["token"]}
        return int(receipt["id"])


def _rateable(turns: Sequence[Turn], message_index: int) -> Turn | None:
    """The turn whose answer is chat message `message_index`, when that answer can be rated."""
    turn_index = message_index // 2  # each turn is a question message then an answer message
    if not 0 <= turn_index < len(turns) or turns[turn_index].get("answer") is None:
        return None
    turn = turns[turn_index]
    # A reply to "thanks!" is no answer to rate, nor is "no article passes your filters": no article was asked
    # (and the rating, stored without the filters, would export as a question the articles cannot answer).
    if turn["answer"].get("small_talk") or turn["answer"].get("no_filter_match"):
        return None
    return turn


def saved_turns(saved: object) -> list[Turn]:
    """The conversation as the page keeps it (a hidden copy of the session's turns), for a session the server no
    longer has: it restarted. Only turns of the shape `respond` makes are taken (the page could send anything)."""
    if not isinstance(saved, list):
        return []
    turns: list[Turn] = []
    for turn in saved:
        if not isinstance(turn, dict) or not isinstance(turn.get("question"), str):
            continue
        answer, error = turn.get("answer"), turn.get("error")
        if answer is None and not isinstance(error, str):
            continue
        if answer is not None and not _answer_shaped(answer):
            continue
        history = turn.get("history")
        kept: Turn = {"question": turn["question"], "answer": answer, "error": None if answer is not None else error,
                      "history": [h for h in history if _history_shaped(h)] if isinstance(history, list) else []}
        rating = turn.get("rating")
        if isinstance(rating, dict) and rating.get("value") in ("up", "down"):
            kept["rating"] = {"value": rating["value"], "id": rating.get("id"), "token": rating.get("token")}
        turns.append(kept)
    return turns


def _asked(asked: object) -> list[tuple[str, int]]:
    """The last few questions the page kept as sent and not yet answered, each with how many times a reloaded page
    asked it again already: `{"question", "tries"}` (a plain string: not asked again yet). Only non-blank ones."""
    if not isinstance(asked, list):
        return []
    kept: list[tuple[str, int]] = []
    for entry in asked:
        question, tries = (entry, 0) if isinstance(entry, str) else (None, 0)
        if isinstance(entry, dict):
            question, tries = entry.get("question"), entry.get("tries", 0)
        if isinstance(question, str) and not is_blank(question) and type(tries) is int:
            kept.append((question, tries))
    return kept[-ASKED_AGAIN:]


def asked_again(asked: object) -> list[str]:
    """The questions the page kept as sent and not yet answered when it (re)loads, to be asked again: its answer was
    cut off by the reload, or the question never reached the server. Only the ones not asked again before."""
    return [question for question, tries in _asked(asked) if tries < 1]


def not_answered(asked: object) -> list[str]:
    """The questions the page kept as sent and not yet answered that a reloaded page asked again already: the reload
    cut that answer off too; they are shown as not answered, not asked a third time."""
    return [question for question, tries in _asked(asked) if tries >= 1]


def _answer_shaped(answer: object) -> bool:
    if not isinstance(answer, dict) or not isinstance(answer.get("answer", ""), str):
        return False
    citations = answer.get("citations") or []
    return isinstance(citations, list) and all(_citation_shaped(c) for c in citations)


def _citation_shaped(citation: object) -> bool:
    """A citation as `Answer.to_dict()` makes it, as far as showing it needs: its number `n` an int (not a bool)."""
    return isinstance(citation, dict) and type(citation.get("n", 0)) is int


def _history_shaped(turn: object) -> bool:
    return isinstance(turn, dict) and turn.get("role") in ("user", "assistant") and isinstance(turn.get("content"), str)


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


_THUMBS = {"up": "Like", "down": "Dislike"}
# The tab's session storage keeps the page's copy of the conversation ("newsbot-chat"), the questions sent and not
# yet in it ("newsbot-chat-asked"), and what is typed in the question box ("newsbot-chat-draft", kept by chat.js): a
# reload (the reader's, or Gradio's when it finds the server again after losing it) cuts an answer off, or finds a
# question that never reached the server, and empties the box. The reloaded page asks those questions again and puts
# the draft back. Gradio takes what a script returns as the list of the event's inputs.
# Each question kept as sent is counted as asked again once more as the page loads (see `asked_again`).
_LOAD_SAVED_JS = """(saved, asked, draft) => {
  const read = (key) => { try { return JSON.parse(sessionStorage.getItem(key) || "[]"); } catch (e) { return []; } };
  let typed = "";
  try { typed = sessionStorage.getItem("newsbot-chat-draft") || ""; } catch (e) { /* disabled */ }
  const sent = read("newsbot-chat-asked");
  const pending = (Array.isArray(sent) ? sent : []).map((entry) => typeof entry === "string"
    ? {question: entry, tries: 0} : entry).filter((entry) => entry && typeof entry === "object");
  const tried = pending.map((entry) => ({question: entry.question, tries: (Number(entry.tries) || 0) + 1}));
  try { sessionStorage.setItem("newsbot-chat-asked", JSON.stringify(tried)); } catch (e) { /* full or disabled */ }
  return [read("newsbot-chat"), pending, typed];
}"""
# Run in the page as the question is sent, before anything reaches the server (which may be gone): the question joins
# the page's questions sent and not yet handed to the server (window.__nbSent), in the order they were sent; an answer
# takes them all (_HAND_QUESTIONS_JS). The question is the one chat.js took from the box as Enter was pressed (or Ask
# clicked), emptying the box there and then: Gradio reads the box a few milliseconds later, by when the first keys of
# the next question may be in it. Without chat.js (not loaded yet), the box as Gradio read it, and the box is emptied
# now. A blank one is not sent.
_TAKE_QUESTION_JS = """(question) => {
  let sent = window.__nbTakeQuestion ? window.__nbTakeQuestion() : undefined;
  if (typeof sent !== "string") {
    sent = String(question || "");
    const box = document.querySelector("#nb-question textarea");
    if (box && sent.trim() && box.value === sent) {
      box.value = "";
      box.dispatchEvent(new Event("input", {bubbles: true}));
    }
  }
  const text = sent.trim();
  if (text) (window.__nbSent = Array.isArray(window.__nbSent) ? window.__nbSent : []).push(sent);
  try {
    const asked = JSON.parse(sessionStorage.getItem("newsbot-chat-asked") || "[]");
    const last = asked[asked.length - 1];
    const lastText = last && typeof last === "object" ? last.question : last;
    if (text && lastText !== text) asked.push({question: text, tries: 0});  // Enter pressed twice: sent once
    sessionStorage.setItem("newsbot-chat-asked", JSON.stringify(asked.slice(-ASKED_AGAIN)));
    if (text && sessionStorage.getItem("newsbot-chat-draft") === sent) {
      sessionStorage.removeItem("newsbot-chat-draft");  // taken from the box
    }
  } catch (e) { /* full or disabled */ }
}""".replace("ASKED_AGAIN", str(ASKED_AGAIN))
# Run in the page as an answer's request leaves: it takes every question sent and not yet taken, to be answered in
# order. Gradio runs one answer of the page at a time and, asked for more meanwhile, one more when it is done (however
# many questions were sent meanwhile): that one takes them all, so none is dropped and a blank Enter drops none.
_HAND_QUESTIONS_JS = """(sent, ...rest) => {
  const questions = Array.isArray(window.__nbSent) ? window.__nbSent : [];
  window.__nbSent = [];
  return [questions, ...rest];
}"""
# A question is in the conversation once a turn holding it, anywhere, is stored (as the server keeps it: trimmed here,
# half of a UTF-16 pair shown as U+FFFD). Pruned first and on its own: a conversation too big to store is no reason to
# ask an answered question again.
_STORE_SAVED_JS = """(turns) => {
  try {
    const same = (text) => String(text || "").trim()
      .replace(/[\\ud800-\\udbff][\\udc00-\\udfff]|[\\ud800-\\udfff]/g, (c) => c.length === 2 ? c : "\\ufffd");
    const stored = new Set((Array.isArray(turns) ? turns : []).map((turn) => same(turn && turn.question)));
    const asked = JSON.parse(sessionStorage.getItem("newsbot-chat-asked") || "[]");
    const pending = (Array.isArray(asked) ? asked : []).filter((entry) =>
      !stored.has(same(entry && typeof entry === "object" ? entry.question : entry)));
    sessionStorage.setItem("newsbot-chat-asked", JSON.stringify(pending));
  } catch (e) { /* full or disabled */ }
  try { sessionStorage.setItem("newsbot-chat", JSON.stringify(turns || [])); } catch (e) { /* full or disabled */ }
}"""
# A question the server refused is put back in the question box by the answer, not typed (no input event for chat.js):
# kept as the draft here, as typed text is.
_KEEP_DRAFT_JS = """(question) => {
  try {
    if (String(question || "").trim()) sessionStorage.setItem("newsbot-chat-draft", question);
  } catch (e) { /* full or disabled */ }
}"""
# A new conversation drops the questions sent and waiting for the answer it stops (as the click leaves: before that
# answer's end hands them to the next).
_DROP_SENT_JS = """(conversation) => {
  window.__nbSent = [];
  return [conversation];
}"""
# A new conversation: nothing of the old one is asked again, and the box it emptied stays empty.
_FORGET_ASKED_JS = """() => {
  try { ["newsbot-chat-asked", "newsbot-chat-draft"].forEach((key) => sessionStorage.removeItem(key)); } catch (e) {}
}"""


def _leave_the_box(views: Iterator[ChatView], *, take: bool = True) -> Iterator[tuple[Any, ...]]:
    """The views of one answer, the question box emptied by the first (the question is taken from it; `take` False:
    it was not, the box is left as it is) and given back by the last when the question is refused; in between the
    box is the reader's: what they type meanwhile stays."""
    for step, (messages, turns, sources, box) in enumerate(views):
        yield messages, turns, sources, box if (step == 0 and take) or box else gr.skip()


def _in_conversation(views: Iterator[Any], conversation: dict[str, int]) -> Iterator[Any]:
    """The views of one answer while its conversation lasts: once "New conversation" starts another (numbered in
    place in `conversation`), the rest is dropped; shown, it would bring the old conversation back on the screen.
    The last view is then one that changes nothing: Gradio shows an event's last view again when it ends."""
    number = conversation.get("number")
    for view in views:
        if conversation.get("number") != number:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        yield view


def _one_at_a_time(conversation: dict[str, Any], turns: list[Turn] | None,
                   answer: Callable[[list[Turn] | None], Iterator[Any]]) -> Iterator[Any]:
    """The views of `answer(turns)`, given once the session's answer before it is done, and then on the turns that
    answer left: the questions a reloaded page asks again and the one the reader types meanwhile are answered one at
    a time, none losing another's turn (the turns an event is given are read as it starts, not as it waits).
    `conversation` (the session's, changed in place) keeps the lock, and the latest turns of the conversation it
    numbers; after `ANSWER_WAIT_SECONDS` the answer goes ahead anyway."""
    lock = conversation.setdefault("lock", threading.Lock())
    number = conversation.get("number")
    held = lock.acquire(timeout=ANSWER_WAIT_SECONDS)
    try:
        latest = conversation.get("latest")
        if isinstance(latest, tuple) and latest[0] == number:
            turns = latest[1]
        for view in answer(turns):
            if conversation.get("number") == number and isinstance(view[1], list):
                conversation["latest"] = (number, view[1])
            yield view
    finally:
        if held:
            lock.release()


def build_chat(pipeline: Pipeline, *, ratings: Ratings | None = None, settings: Settings) -> gr.Blocks:
    """The chat page, and the Gradio API endpoint `/ask` (the question box's event, for API clients).

    The conversation lives in the session's state on the server and in a hidden copy on the page, which the tab's
    session storage keeps: a restarted server forgets every session, and a reload (Gradio's own too, when it finds
    the server restarted) starts a new one. A question, an example or a thumb finding the session's state empty goes
    on from the page's copy, and a (re)loaded page shows it: the conversation stays on the screen and follow-ups keep
    their context, as in the widget. A question sent and not answered before the page reloaded (the answer cut off,
    or the server away when it was sent) is asked again by the reloaded page.
    """
    responder = ChatResponder(pipeline, ratings=ratings)

    def restore(turns: list[Turn] | None, saved: object) -> list[Turn]:
        return turns or saved_turns(saved)

    def keep(turns: list[Turn] | None) -> list[Turn]:
        return turns or []

    def ask_on_page(sent: object, turns: list[Turn] | None, saved: object,
                    conversation: dict[str, int]) -> Iterator[ChatView | tuple[Any, ...]]:
        """The question box's questions, for the page: the ones sent since the page's last answer took them (see
        _HAND_QUESTIONS_JS), answered in order, each once. Each as the page took it from the box at Enter (which
        emptied the box there and then: what is typed meanwhile is the reader's next question, never changed here,
        unless one is refused and goes back in the box)."""
        questions = [q for q in sent if isinstance(q, str) and not is_blank(q)] if isinstance(sent, list) else []
        if not questions:  # a blank Enter: the screen stays as it is
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        yield from _in_conversation(_one_at_a_time(
            conversation, restore(turns, saved),
            lambda current: _leave_the_box(responder.respond_again(questions, current), take=False)), conversation)

    def ask(question: str, turns: list[Turn] | None, request: gr.Request) -> Iterator[ChatView | tuple[Any, ...]]:
        """The Gradio API endpoint `/ask`: as the page's, with the box's value ("", or a refused question) at the
        end, not Gradio's "leave it" marker. For programs only (the page never calls it): with API keys set, it
        needs one, however it is called (Gradio's REST call, its queue, gradio_client)."""
        problem = key_problem(settings.api_keys, request.headers)
        if problem:
            raise gr.Error(problem, print_exception=False)
        if is_blank(question):
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        yield from responder.respond(question, turns)

    def ask_example(turns: list[Turn] | None, saved: object, conversation: dict[str, int],
                    evt: gr.SelectData) -> Iterator[ChatView]:
        value = evt.value
        question = value.get("text", "") if isinstance(value, Mapping) else str(value or "")
        yield from _in_conversation(_one_at_a_time(
            conversation, restore(turns, saved), lambda current: _leave_the_box(responder.respond(question, current))),
            conversation)

    def rate(turns: list[Turn] | None, saved: object, evt: gr.LikeData) -> list[Turn]:
        """Rates in place on the session's turns (or the page's copy): returned for the page's copy."""
        index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        current = restore(turns, saved)
        responder.rate(current, int(index), evt.liked)
        return current

    def show(saved: object, asked: object, draft: object) -> tuple[Any, ...]:
        """The conversation the tab kept, on the screen and in the session's state when the page (re)loads, the
        questions it sent that are still to be answered (those asked again already shown as not answered), and what
        was typed in the question box."""
        turns = saved_turns(saved)
        turns += [{"question": q, "answer": None, "error": NOT_ANSWERED, "history": []} for q in not_answered(asked)]
        again = asked_again(asked)
        box = draft if isinstance(draft, str) and not is_blank(draft) else gr.skip()
        if not turns:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), again, box
        pressed = [_THUMBS.get((turn.get("rating") or {}).get("value")) for turn in turns]  # thumbs as they were
        chat = gr.Chatbot(messages_of(turns), feedback_value=pressed)
        return turns, chat, turns, render.sources_html(turns), again, box

    def ask_again(asked: object, turns: list[Turn] | None,
                  conversation: dict[str, int]) -> Iterator[ChatView | tuple[Any, ...]]:
        """After a (re)load, the questions sent and not answered: they were not typed into this page's box, which
        is left as it is."""
        questions = asked_again(asked)
        if not questions:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        def answer(current: list[Turn] | None) -> Iterator[tuple[Any, ...]]:
            return _leave_the_box(responder.respond_again(questions, current), take=False)

        yield from _in_conversation(_one_at_a_time(conversation, turns, answer), conversation)

    def clear(conversation: dict[str, int]) -> tuple[Any, ...]:
        conversation["number"] = conversation.get("number", 0) + 1  # in place: an answer coming in sees it
        return [], [], render.sources_html([]), "", []

    with gr.Blocks(title="Ask the news", analytics_enabled=False) as blocks:
        turns = gr.State([])
        conversation = gr.State({"number": 0})  # counts the session's conversations (see _in_conversation)
        saved = gr.JSON([], visible=False)  # the page's copy of `turns`
        asked = gr.JSON([], visible=False)  # the questions the page sent that are not in `turns` yet
        sent = gr.JSON([], visible=False)  # the questions an answer takes, each as it was in the box at Enter
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
                    feedback_options=("Like", "Dislike") if ratings is not None else None,
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
        quick: dict[str, Any] = {"queue": False, "api_visibility": "private", "show_progress": "hidden"}

        def remember(event: Any) -> None:
            """After `event` has set the page's copy, store it in the tab's session storage: a reload, or Gradio
            reloading the page when the server restarted, finds the conversation there, as the widget does."""
            event.then(None, [saved], None, js=_STORE_SAVED_JS, **quick)

        # Answers share one limit; the pipeline is thread-safe (the REST API calls it from many threads too).
        answering: dict[str, Any] = {"concurrency_limit": settings.chat_concurrency, "concurrency_id": "answer"}
        # The question is taken from the box in the page, as Enter is pressed (see _TAKE_QUESTION_JS): read on the
        # server, it would be the box as it is when the request leaves, with the first keys of the next question.
        # Every Enter counts ("multiple"): each takes the question chat.js took for it, in order. The answer runs one
        # at a time ("always_last": questions sent while one streams are asked when it is done), and takes every
        # question sent and not yet taken (_HAND_QUESTIONS_JS): Gradio runs only one more, however many were sent.
        typed = question.submit(None, [question], None, js=_TAKE_QUESTION_JS, trigger_mode="multiple", **quick).then(
            ask_on_page, [sent, turns, saved, conversation], outputs, js=_HAND_QUESTIONS_JS, api_visibility="private",
            trigger_mode="always_last", **answering)
        remember(typed.then(keep, [turns], [saved], **quick))
        typed.then(None, [question], None, js=_KEEP_DRAFT_JS, **quick)
        # The API endpoint has no place on the page: a button nobody sees triggers it.
        gr.Button(visible=False).click(ask, [question, turns], outputs, api_name="ask", **answering)
        example = chatbot.example_select(ask_example, [turns, saved, conversation], outputs, api_visibility="private",
                                         **answering)
        remember(example.then(keep, [turns], [saved], **quick))
        loaded = blocks.load(show, [saved, asked, question], [saved, chatbot, turns, sources, asked, question],
                             js=_LOAD_SAVED_JS, **quick)
        again = loaded.then(ask_again, [asked, turns, conversation], outputs, api_visibility="private",
                            show_progress="hidden", **answering)
        remember(again.then(keep, [turns], [saved], **quick))
        # A new conversation stops the answer coming in (and drops a question waiting for it to end).
        for start_over in (new_chat.click, chatbot.clear):
            cleared = start_over(clear, [conversation], [*outputs, saved], js=_DROP_SENT_JS, api_visibility="private",
                                 cancels=[typed, example, again])
            remember(cleared.then(None, None, None, js=_FORGET_ASKED_JS, **quick))
        if ratings is not None:
            # Every click counts (Gradio drops a click made while the one before is handled, by default), queued and
            # one at a time: a quick second click waits for the receipt of the first.
            remember(chatbot.like(rate, [turns, saved], [saved], api_visibility="private", show_progress="hidden",
                                  trigger_mode="multiple"))
    return blocks
