"""The Gradio chat: the respond logic as plain Python, then the real Gradio server through gradio_client."""
from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from bot.errors import FeedbackStoreError, UsageError
from bot.feedback import FeedbackStore
from bot.settings import Settings
from bot.web import render
from bot.web.chat_ui import (ASKED_AGAIN, GENERIC_ERROR, ChatResponder, asked_again, history_of, messages_of,
                             not_answered, saved_turns)
from bot.web.ratings import Ratings
from tests.web.fake_pipeline import SUTONG_QUOTE, FakePipeline, no_filter_match_answer

SUTONG = "When did the Sutong Bridge open to traffic?"


class FakeFeedback:
    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def add(self, *, rating: str, question: str, answer: dict, history: Sequence = (), comment: str = "") -> int:
        self.rows.append({"rating": rating, "question": question, "answer": answer, "history": list(history)})
        return len(self.rows)

    def remove(self, feedback_id: int) -> bool:
        raise AssertionError("not withdrawn in these tests")


def _ask(responder: ChatResponder, question: str, turns: list[dict[str, Any]]) -> list[tuple]:
    return list(responder.respond(question, turns))


def test_streams_question_first_then_growing_text_then_the_cited_answer() -> None:
    views = _ask(ChatResponder(FakePipeline()), SUTONG, [])
    first_messages, first_turns, first_sources, box = views[0]
    assert [m["role"] for m in first_messages] == ["user", "assistant"]
    assert "Sutong Bridge open to traffic" in first_messages[0]["content"]
    assert "Searching the articles" in first_messages[1]["content"]
    assert first_turns == [] and box == ""
    streamed = [view[0][-1]["content"] for view in views[1:-1]]
    assert len(streamed) == len(SUTONG_QUOTE.split()) + 1  # one update per streamed piece
    assert all("nb-streaming" in s for s in streamed)
    assert "June" in streamed[3] and "2008" not in streamed[2]
    messages, turns, sources, _ = views[-1]
    assert len(messages) == 2 and len(turns) == 1
    assert 'class="nb-cite" href="#nb-src-0-1"' in messages[1]["content"]
    assert "<mark>" in sources and "June 30, 2008" in sources
    assert turns[0]["answer"]["citations"][0]["quote"] == SUTONG_QUOTE


def test_follow_up_passes_the_conversation_as_history() -> None:
    pipeline = FakePipeline()
    responder = ChatResponder(pipeline)
    turns = _ask(responder, SUTONG, [])[-1][1]
    turns = _ask(responder, "And how busy is it now?", turns)[-1][1]
    assert pipeline.calls[0]["history"] == []
    assert pipeline.calls[1]["history"] == [
        {"role": "user", "content": SUTONG},
        {"role": "assistant", "content": f"{SUTONG_QUOTE} [1]"},
    ]
    assert len(turns) == 2 and turns[1]["history"] == pipeline.calls[1]["history"]


def test_abstention_looks_different_and_cites_nothing() -> None:
    messages, turns, sources, _ = _ask(ChatResponder(FakePipeline()), "Who won the 1990 world cup?", [])[-1]
    assert "nb-abstain" in messages[-1]["content"] and render.ABSTAIN_LABEL in messages[-1]["content"]
    assert "nb-cite" not in messages[-1]["content"]
    assert "<mark>" not in sources and "No passage answers this question" in sources
    assert turns[0]["answer"]["abstained"] is True


def test_document_html_is_escaped_in_chat_and_sources() -> None:
    messages, _, sources, _ = _ask(ChatResponder(FakePipeline()), "<img src=x onerror=alert(1)> canteen?", [])[-1]
    everything = "".join(m["content"] for m in messages) + sources
    assert "<script" not in everything and "<img" not in everything
    assert "&lt;script&gt;" in messages[-1]["content"]
    assert "&lt;img src&#61;x onerror&#61;alert&#40;1&#41;&gt;" in messages[0]["content"]
    assert "&lt;img src&#61;x onerror&#61;&quot;window.&#95;&#95;xss&#61;1&quot;&gt;" in sources


class RefusingPipeline(FakePipeline):
    """Refuses questions over 50 characters, as the real one refuses those over max_question_chars."""

    def stream(self, question: str, **kwargs: Any) -> Iterator[Any]:
        if len(question) > 50:
            raise UsageError(f"Your question is {len(question)} characters long;\nthe limit is 50. Please shorten it.")
        yield from super().stream(question, **kwargs)


def test_usage_error_becomes_its_one_line_message_and_the_question_goes_back_in_the_box() -> None:
    question = "When did the Sutong Bridge open? " * 3
    views = _ask(ChatResponder(RefusingPipeline()), question, [])
    assert views[0][3] == ""  # the box empties while the question is asked...
    messages, turns, _, box = views[-1]
    assert "nb-error" in messages[-1]["content"]
    assert "Your question is 99 characters long; the limit is 50. Please shorten it." in messages[-1]["content"]
    assert turns[-1]["error"] and turns[-1]["answer"] is None
    assert history_of(turns) == []  # failed turns are not sent back as conversation
    assert box == question  # ...and gets the refused question back, whole, to be shortened


def test_half_a_character_pair_is_not_asked_and_is_shown_replaced() -> None:
    pipeline = FakePipeline()
    views = _ask(ChatResponder(pipeline), "Sutong \ud800?", [])
    messages, turns, _, box = views[-1]
    assert pipeline.calls == []
    assert turns[0]["question"] == box == "Sutong \ufffd?"  # text the page can show and send back
    assert render.esc("Your question holds a broken character (half of a UTF-16 character pair, character 8)") in \
        messages[-1]["content"]
    for messages, _, sources, box in views:  # nothing sent to the page holds the half pair (it breaks its JSON)
        for text in (*(m["content"] for m in messages), sources, box):
            text.encode("utf-8")


@pytest.mark.parametrize("blank", ["", "   ", " \n\t ", None])
def test_a_blank_question_is_ignored(blank: str | None) -> None:
    pipeline = FakePipeline()
    responder = ChatResponder(pipeline)
    turns = _ask(responder, SUTONG, [])[-1][1]
    assert _ask(responder, blank, turns) == []  # type: ignore[arg-type]
    assert len(pipeline.calls) == 1  # not asked


def test_the_chat_leaves_the_screen_as_it_is_for_a_blank_question() -> None:
    import gradio as gr

    from bot.web.chat_ui import build_chat

    pipeline = FakePipeline()
    blocks = build_chat(pipeline, settings=Settings())  # type: ignore[arg-type]
    ask = next(fn for fn in blocks.fns.values() if fn.name == "ask").fn
    program = gr.Request(headers={})  # no API keys set: no key needed
    assert list(ask("  \n ", [], program)) == [(gr.skip(),) * 4]  # no empty bubble, no error, box untouched
    assert pipeline.calls == []
    assert list(ask(SUTONG, [], program))[-1][1][0]["question"] == SUTONG


def test_the_question_box_does_not_cut_long_questions() -> None:
    import gradio as gr

    from bot.web.chat_ui import build_chat

    blocks = build_chat(FakePipeline(), settings=Settings(max_question_chars=100))  # type: ignore[arg-type]
    box = next(b for b in blocks.blocks.values() if isinstance(b, gr.Textbox) and b.elem_id == "nb-question")
    assert box.max_length is None  # a longer paste reaches the pipeline whole, which refuses it with a message


def test_unexpected_error_shows_a_generic_line_not_the_details(caplog: pytest.LogCaptureFixture) -> None:
    messages, _, _, _ = _ask(ChatResponder(FakePipeline()), "boom", [])[-1]
    assert render.esc(GENERIC_ERROR) in messages[-1]["content"]
    assert "secret" not in messages[-1]["content"] and "Traceback" not in messages[-1]["content"]
    assert "secret internal detail" in caplog.text  # ...but the server log has it


def test_thumbs_are_stored_with_question_answer_and_history() -> None:
    feedback = FakeFeedback()
    responder = ChatResponder(FakePipeline(), ratings=Ratings(feedback))
    turns = _ask(responder, SUTONG, [])[-1][1]
    turns = _ask(responder, "And the canteen?", turns)[-1][1]
    assert responder.rate(turns, 3, False) == 1  # message 3 = the second answer
    assert responder.rate(turns, 1, True) == 2
    assert responder.rate(turns, 1, "Other") is None  # not a thumb
    assert responder.rate(turns, 9, True) is None  # no such message
    down, up = feedback.rows
    assert down["rating"] == "down" and down["question"] == "And the canteen?"
    assert down["history"] == [{"role": "user", "content": SUTONG},
                               {"role": "assistant", "content": f"{SUTONG_QUOTE} [1]"}]
    assert up == {"rating": "up", "question": SUTONG, "answer": turns[0]["answer"], "history": []}
    assert up["answer"]["citations"][0]["n"] == 1  # Answer.to_dict() shape


def test_the_pressed_thumb_clicked_again_withdraws_the_rating(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    responder = ChatResponder(FakePipeline(), ratings=Ratings(store))
    turns = _ask(responder, SUTONG, [])[-1][1]
    assert responder.rate(turns, 1, True) is not None and store.count() == 1
    assert turns[0]["rating"]["value"] == "up"
    assert responder.rate(turns, 1, "") is None  # what the chat sends when "Liked" is clicked again
    assert store.count() == 0 and "rating" not in turns[0]
    assert responder.rate(turns, 1, "") is None and store.count() == 0  # nothing left to withdraw


def test_the_other_thumb_replaces_the_rating(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    responder = ChatResponder(FakePipeline(), ratings=Ratings(store))
    turns = _ask(responder, SUTONG, [])[-1][1]
    turns = _ask(responder, "And the canteen?", turns)[-1][1]
    responder.rate(turns, 1, True)
    responder.rate(turns, 3, True)
    down = responder.rate(turns, 1, False)
    assert [(r["id"], r["rating"], r["question"]) for r in store.rows()] == [
        (down - 1, "up", "And the canteen?"), (down, "down", SUTONG)]


def test_a_rating_given_while_an_answer_streams_is_kept(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3")
    responder = ChatResponder(FakePipeline(), ratings=Ratings(store))
    turns = _ask(responder, SUTONG, [])[-1][1]
    streaming = responder.respond("And the canteen?", turns)
    next(streaming)
    responder.rate(turns, 1, True)  # the session's turns, while the next answer streams
    final_turns = list(streaming)[-1][1]
    assert final_turns[0]["rating"]["value"] == "up"  # ...so the thumb can still be taken back
    responder.rate(final_turns, 1, "")
    assert store.count() == 0


def test_the_pages_copy_of_the_conversation_is_taken_only_in_the_shape_the_chat_makes() -> None:
    turns = list(ChatResponder(FakePipeline()).respond(SUTONG, []))[-1][1]
    turns[0]["rating"] = {"value": "up", "id": 3, "token": "t"}
    assert saved_turns(json.loads(json.dumps(turns))) == turns
    junk = [None, "x", {"question": 5}, {"question": "q"}, {"question": "q", "answer": "text"},
            {"question": "q", "answer": {"answer": "a", "citations": ["not a citation"]}}]
    assert saved_turns(junk) == [] and saved_turns({"turns": turns}) == [] and saved_turns(None) == []
    error = {"question": "q", "answer": None, "error": "Too long.", "history": [{"role": "user"}, "x"]}
    assert saved_turns([error]) == [{"question": "q", "answer": None, "error": "Too long.", "history": []}]


def test_questions_to_ask_again_are_the_pages_non_blank_strings_the_last_few() -> None:
    assert asked_again(["  ", 5, None, "When?", {"q": 1}, "And then?"]) == ["When?", "And then?"]
    assert asked_again([f"q{i}" for i in range(10)]) == [f"q{i}" for i in range(10 - ASKED_AGAIN, 10)]
    assert asked_again("When?") == [] and asked_again(None) == [] and asked_again({"asked": ["q"]}) == []


def test_a_question_asked_again_once_is_not_asked_again_but_shown_as_not_answered() -> None:
    asked = ["When?", {"question": "And then?", "tries": 0}, {"question": "Why?", "tries": 1},
             {"question": "How?", "tries": 2}]
    assert asked_again(asked) == ["And then?"] and not_answered(asked) == ["Why?", "How?"]  # the last few only
    assert asked_again(asked[:2]) == ["When?", "And then?"] and not_answered(asked[:2]) == []
    assert asked_again([{"question": "  ", "tries": 0}, {"question": "When?", "tries": "0"}, {"tries": 0}]) == []


def test_a_sessions_answers_are_given_one_at_a_time_each_on_the_turns_before_it() -> None:
    """A question asked again after a reload and the one the reader types meanwhile: the second waits for the first
    and is answered after it; neither overwrites the other's turn."""
    from bot.web.chat_ui import _one_at_a_time

    responder = ChatResponder(FakePipeline())
    conversation: dict[str, Any] = {"number": 0}
    first = _one_at_a_time(conversation, [], lambda turns: responder.respond(SUTONG, turns))
    next(first)  # streaming
    second_views: list[tuple] = []
    # The typed question's event read the (still empty) turns as it started.
    second = threading.Thread(target=lambda: second_views.extend(
        _one_at_a_time(conversation, [], lambda turns: responder.respond("And the canteen?", turns))))
    second.start()
    second.join(0.3)
    assert second.is_alive() and second_views == []  # waits for the answer before it
    first_views = list(first)
    second.join(10)
    assert [t["question"] for t in first_views[-1][1]] == [SUTONG]
    assert [t["question"] for t in second_views[-1][1]] == [SUTONG, "And the canteen?"]
    assert second_views[-1][1][1]["history"][0] == {"role": "user", "content": SUTONG}
    conversation["number"] += 1  # a new conversation: the old one's turns are not taken up again
    views = list(_one_at_a_time(conversation, [], lambda turns: responder.respond("hello", turns)))
    assert [t["question"] for t in views[-1][1]] == ["hello"]


def _run_page_js(script: str, args: list[Any], storage: dict[str, str],
                 failing: str | None = None) -> tuple[Any, dict[str, str]]:
    """Runs one of the chat's page scripts in node with a session storage holding `storage` (writing key `failing`
    throws, as a full storage does); returns what it returned and the storage after."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    program = """
const store = new Map(Object.entries(STORAGE));
globalThis.sessionStorage = {
  getItem: (key) => store.has(key) ? store.get(key) : null,
  setItem: (key, value) => {
    if (key === FAILING) throw new Error("QuotaExceededError");
    store.set(key, String(value));
  },
  removeItem: (key) => { store.delete(key); },
};
globalThis.window = globalThis;  // a page without chat.js, and without a question box
globalThis.document = { querySelector: () => null };
const result = (SCRIPT)(...ARGS);
process.stdout.write(JSON.stringify([result === undefined ? null : result, Object.fromEntries(store)]));
""".replace("STORAGE", json.dumps(storage)).replace("FAILING", json.dumps(failing)).replace(
        "ARGS", json.dumps(args)).replace("SCRIPT", script)
    done = subprocess.run(["node", "-e", program], capture_output=True, text=True, timeout=30, check=True)
    result, after = json.loads(done.stdout)
    return result, after


def test_the_page_prunes_an_answered_question_found_anywhere_in_the_stored_turns() -> None:
    from bot.web.chat_ui import _STORE_SAVED_JS

    # Two answers stored out of order (the later-stored one already in the page's copy): both are pruned.
    turns = [{"question": "hello"}, {"question": SUTONG}, {"question": "And the canteen?"}]
    storage = {"newsbot-chat": json.dumps([turns[0], turns[2]]),
               "newsbot-chat-asked": json.dumps([{"question": SUTONG, "tries": 1}, "Still waiting?"])}
    _, after = _run_page_js(_STORE_SAVED_JS, [turns], storage)
    assert json.loads(after["newsbot-chat"]) == turns
    assert json.loads(after["newsbot-chat-asked"]) == ["Still waiting?"]
    # A storage too full for the conversation still drops the answered question.
    _, after = _run_page_js(_STORE_SAVED_JS, [turns], storage, failing="newsbot-chat")
    assert json.loads(after["newsbot-chat-asked"]) == ["Still waiting?"]


def test_the_page_counts_each_question_it_asks_again() -> None:
    from bot.web.chat_ui import _LOAD_SAVED_JS, _TAKE_QUESTION_JS

    take = f"(question) => {{ ({_TAKE_QUESTION_JS})(question); return window.__nbSent || []; }}"
    taken, after = _run_page_js(take, [" When? "], {"newsbot-chat-draft": " When? "})
    assert taken == [" When? "]  # sent as it was in the box, to the answer's request (_HAND_QUESTIONS_JS)
    assert json.loads(after["newsbot-chat-asked"]) == [{"question": "When?", "tries": 0}]
    assert "newsbot-chat-draft" not in after
    # The next question, typed since: still the draft.
    assert _run_page_js(_TAKE_QUESTION_JS, ["When?"], {"newsbot-chat-draft": "Wh"})[1]["newsbot-chat-draft"] == "Wh"
    _, again = _run_page_js(_TAKE_QUESTION_JS, ["When?"], after)
    assert again == after  # Enter pressed twice: sent once
    assert _run_page_js(take, ["  "], {}) == ([], {"newsbot-chat-asked": "[]"})  # blank: not sent, not noted
    storage = {"newsbot-chat-asked": json.dumps(["Old?", {"question": "When?", "tries": 0},
                                                 {"question": "Why?", "tries": 1}])}
    result, after = _run_page_js(_LOAD_SAVED_JS, [[], [], ""], storage)
    saved, asked, draft = result
    assert saved == [] and draft == ""
    assert asked_again(asked) == ["Old?", "When?"] and not_answered(asked) == ["Why?"]
    assert json.loads(after["newsbot-chat-asked"]) == [{"question": "Old?", "tries": 1},
                                                       {"question": "When?", "tries": 1},
                                                       {"question": "Why?", "tries": 2}]


def test_the_pages_answer_takes_every_question_sent_and_not_yet_taken_in_order() -> None:
    from bot.web.chat_ui import _HAND_QUESTIONS_JS, _TAKE_QUESTION_JS

    script = f"""(a, b, c) => {{
      const take = {_TAKE_QUESTION_JS}, hand = {_HAND_QUESTIONS_JS};
      take(a); take(" "); take(b);
      const first = hand(null, "turns", "saved", "conversation");
      take(c);
      return [first, hand(null, 1, 2, 3), hand(null, 1, 2, 3)];
    }}"""
    (first, second, third), _ = _run_page_js(script, ["Q1", "Q2", "Q3"], {})
    assert first == [["Q1", "Q2"], "turns", "saved", "conversation"]
    assert second == [["Q3"], 1, 2, 3] and third == [[], 1, 2, 3]  # each taken once; none left: nothing asked


def test_the_page_answers_questions_sent_together_in_order() -> None:
    """What the page's answer takes (see _HAND_QUESTIONS_JS): each question answered, in order, on the ones before;
    blank ones and none at all leave the screen as it is."""
    from bot.web.chat_ui import build_chat

    pipeline = FakePipeline()
    blocks = build_chat(pipeline, settings=Settings())  # type: ignore[arg-type]
    ask_on_page = next(fn.fn for fn in blocks.fns.values() if fn.name == "ask_on_page")
    conversation: dict[str, Any] = {"number": 0}
    views = list(ask_on_page(["When did the Sutong Bridge open?", "  ", "And the canteen?"], [], [], conversation))
    assert [turn["question"] for turn in views[-1][1]] == ["When did the Sutong Bridge open?", "And the canteen?"]
    assert [c["question"] for c in pipeline.calls] == ["When did the Sutong Bridge open?", "And the canteen?"]
    assert pipeline.calls[1]["history"][0]["content"] == "When did the Sutong Bridge open?"
    for nothing in ([], [" "], None):
        assert list(ask_on_page(nothing, [], [], conversation)) == [({"__type__": "update"},) * 4]  # gr.skip()
    assert len(pipeline.calls) == 2


def test_a_refused_question_put_back_in_the_box_is_kept_as_the_draft() -> None:
    from bot.web.chat_ui import _KEEP_DRAFT_JS

    _, after = _run_page_js(_KEEP_DRAFT_JS, ["A very long question"], {})
    assert after == {"newsbot-chat-draft": "A very long question"}
    _, after = _run_page_js(_KEEP_DRAFT_JS, [""], {"newsbot-chat-draft": "typed"})
    assert after == {"newsbot-chat-draft": "typed"}


def test_questions_asked_again_are_answered_in_order_each_with_the_conversation_before_it() -> None:
    pipeline = FakePipeline()
    responder = ChatResponder(pipeline)
    earlier = _ask(responder, "hello", [])[-1][1]
    views = list(responder.respond_again([SUTONG, "And the canteen?"], earlier))
    messages, turns, sources, box = views[-1]
    assert [t["question"] for t in turns] == ["hello", SUTONG, "And the canteen?"]
    assert len(messages) == 6 and "canteen reopens" in messages[-1]["content"] and box == ""
    assert [c["question"] for c in pipeline.calls] == ["hello", SUTONG, "And the canteen?"]
    assert pipeline.calls[1]["history"][0] == {"role": "user", "content": "hello"}
    assert pipeline.calls[2]["history"][2] == {"role": "user", "content": SUTONG}
    assert list(responder.respond_again([], earlier)) == []


def test_an_answer_coming_in_after_a_new_conversation_started_is_dropped() -> None:
    import gradio as gr

    from bot.web.chat_ui import _in_conversation

    conversation = {"number": 0}
    views = _in_conversation(ChatResponder(FakePipeline()).respond(SUTONG, []), conversation)
    first = next(views)
    assert "Searching the articles" in first[0][-1]["content"]
    conversation["number"] += 1  # "New conversation", as the chat's clear() does
    rest = list(views)
    assert rest == [(gr.skip(),) * 4]  # one view that changes nothing: the new conversation stays on the screen


def test_a_damaged_feedback_database_loses_the_rating_not_the_chat(tmp_path: Path, caplog) -> None:
    junk = tmp_path / "feedback.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    responder = ChatResponder(FakePipeline(), ratings=Ratings(FeedbackStore(junk)))
    turns = _ask(responder, SUTONG, [])[-1][1]
    assert responder.rate(turns, 1, True) is None
    assert "A rating was not stored" in caplog.text


def test_a_reply_to_small_talk_is_not_rated() -> None:
    feedback = FakeFeedback()
    responder = ChatResponder(FakePipeline(), ratings=Ratings(feedback))
    turns = _ask(responder, "hello", [])[-1][1]
    assert turns[0]["answer"]["small_talk"] is True
    assert responder.rate(turns, 1, False) is None and feedback.rows == []


def test_a_reply_that_no_article_passes_the_filters_is_not_rated() -> None:
    feedback = FakeFeedback()
    responder = ChatResponder(FakePipeline(), ratings=Ratings(feedback))
    answer = no_filter_match_answer(SUTONG).to_dict()
    turns = [{"question": SUTONG, "answer": answer, "error": None, "history": []}]
    assert responder.rate(turns, 1, True) is None and feedback.rows == []  # no article was asked


def test_an_error_is_not_rated() -> None:
    feedback = FakeFeedback()
    responder = ChatResponder(RefusingPipeline(), ratings=Ratings(feedback))
    turns = _ask(responder, "x" * 60, [])[-1][1]
    assert turns[0]["error"]
    assert responder.rate(turns, 1, True) is None and feedback.rows == []


def test_rating_without_a_store_does_nothing() -> None:
    responder = ChatResponder(FakePipeline())
    turns = _ask(responder, SUTONG, [])[-1][1]
    assert responder.rate(turns, 1, True) is None


def test_history_keeps_the_recent_turns_and_skips_errors() -> None:
    answered = [{"question": f"q{i}", "answer": {"answer": f"a{i}"}} for i in range(8)]
    turns = [*answered[:4], {"question": "bad", "answer": None, "error": "x"}, *answered[4:]]
    history = history_of(turns)
    assert len(history) == 12
    assert history[0] == {"role": "user", "content": "q2"} and history[-1] == {"role": "assistant", "content": "a7"}


@pytest.mark.integration
def test_real_gradio_server_answers_through_gradio_client(
    live_server: Callable[[Any], str], tmp_path: Any
) -> None:
    from gradio_client import Client

    from bot.web.app import create_app

    feedback = FakeFeedback()
    app = create_app(Settings(data_dir=tmp_path / "data"), pipeline=FakePipeline(), feedback=feedback)  # type: ignore[arg-type]
    url = live_server(app)
    client = Client(url + "/", verbose=False, download_files=False)
    try:
        messages, sources, box = client.predict(SUTONG, api_name="/ask")
        assert box == ""
        assert [m["role"] for m in messages] == ["user", "assistant"]
        answer = messages[1]["content"][0]["text"]
        assert "June 30, 2008" in answer and 'href="#nb-src-0-1"' in answer
        assert "<mark>On June 30, 2008" in sources
        # The client's session keeps the conversation; the document's HTML arrives only as escaped text.
        messages, sources, _ = client.predict("What about the canteen?", api_name="/ask")
        assert len(messages) == 4
        assert "&lt;script&gt;" in messages[3]["content"][0]["text"] and "<script" not in sources
    finally:
        client.close()



def test_chat_answers_share_the_configured_concurrency() -> None:
    from bot.web.chat_ui import build_chat

    blocks = build_chat(FakePipeline(), settings=Settings(chat_concurrency=3))  # type: ignore[arg-type]
    answering = [fn for fn in blocks.fns.values() if fn.name in ("ask", "ask_on_page", "ask_example")]
    assert len(answering) == 3
    assert {(fn.concurrency_limit, fn.concurrency_id) for fn in answering} == {(3, "answer")}


class MeetingPipeline(FakePipeline):
    """Each answer waits until a second one is being answered too: served one at a time, both would time out."""

    def __init__(self) -> None:
        super().__init__()
        self.meeting = threading.Barrier(2, timeout=20)

    def stream(self, question: str, **kwargs: Any) -> Iterator[Any]:
        self.meeting.wait()
        yield from super().stream(question, **kwargs)


@pytest.mark.integration
def test_two_people_are_answered_at_the_same_time(live_server: Callable[[Any], str], tmp_path: Any) -> None:
    from gradio_client import Client

    from bot.web.app import create_app

    settings = Settings(data_dir=tmp_path / "data", chat_concurrency=2)
    app = create_app(settings, pipeline=MeetingPipeline())  # type: ignore[arg-type]
    url = live_server(app)
    clients = [Client(url + "/", verbose=False, download_files=False) for _ in range(2)]
    try:
        jobs = [client.submit(SUTONG, api_name="/ask") for client in clients]
        for job in jobs:
            messages, _, _ = job.result(timeout=60)
            assert "June 30, 2008" in messages[1]["content"][0]["text"]
    finally:
        for client in clients:
            client.close()


class BrokenRemoveStore(FeedbackStore):
    """Stores ratings, but cannot delete them (a locked database, say)."""

    def remove(self, feedback_id: int) -> bool:
        raise FeedbackStoreError("database is locked")


class BrokenAddStore(FeedbackStore):
    """Deletes ratings, but cannot store new ones."""

    broken = False

    def add(self, **kwargs: Any) -> int:
        if self.broken:
            raise FeedbackStoreError("database is locked")
        return super().add(**kwargs)


def test_a_withdrawal_that_fails_keeps_the_receipt_of_the_rating_still_stored(tmp_path: Path, caplog) -> None:
    store = BrokenRemoveStore(tmp_path / "feedback.sqlite3")
    responder = ChatResponder(FakePipeline(), ratings=Ratings(store))
    turns = _ask(responder, SUTONG, [])[-1][1]
    first = responder.rate(turns, 1, True)
    receipt = dict(turns[0]["rating"])
    assert responder.rate(turns, 1, "") is None and "A rating was not stored or withdrawn" in caplog.text
    assert store.count() == 1 and turns[0]["rating"] == receipt  # still stored: its receipt is kept
    assert [r["id"] for r in store.rows()] == [first]


def test_a_replacement_that_cannot_be_stored_keeps_the_earlier_receipt(tmp_path: Path) -> None:
    store = BrokenAddStore(tmp_path / "feedback.sqlite3")
    responder = ChatResponder(FakePipeline(), ratings=Ratings(store))
    turns = _ask(responder, SUTONG, [])[-1][1]
    responder.rate(turns, 1, True)
    receipt = dict(turns[0]["rating"])
    store.broken = True
    assert responder.rate(turns, 1, False) is None
    assert turns[0]["rating"] == receipt and store.count() == 1
    store.broken = False
    responder.rate(turns, 1, "")  # ...so it can still be taken back
    assert store.count() == 0 and "rating" not in turns[0]


def test_a_replaced_rating_that_cannot_be_withdrawn_still_gives_the_new_receipt(tmp_path: Path, caplog) -> None:
    store = BrokenRemoveStore(tmp_path / "feedback.sqlite3")
    ratings = Ratings(store)
    first = ratings.add(rating="up", question=SUTONG, answer={"answer": "a"})
    second = ratings.add(rating="down", question=SUTONG, answer={"answer": "a"}, replaces=first)
    assert second["replaced"] is False and second["token"] == ratings.token(second["id"])
    assert [r["id"] for r in store.rows()] == [first["id"], second["id"]]
    assert "was not withdrawn" in caplog.text and "database is locked" in caplog.text


@pytest.mark.parametrize("n", ["x", None, 1.5, True, [1]])
def test_a_saved_answer_whose_citation_number_is_not_a_number_is_not_restored(n: object) -> None:
    turns = list(ChatResponder(FakePipeline()).respond(SUTONG, []))[-1][1]
    saved = json.loads(json.dumps(turns))
    saved[0]["answer"]["citations"][0]["n"] = n
    good = json.loads(json.dumps(turns))
    restored = saved_turns([saved[0], good[0]])
    assert restored == [turns[0]]  # the damaged turn is left out, the others are restored
    render.sources_html(restored)  # ...and shown: nothing raises on page load
    messages_of(restored)


@pytest.mark.integration
def test_the_server_stops_at_once_with_a_chat_page_open(tmp_path: Any, capfd: pytest.CaptureFixture[str]) -> None:
    import time

    import httpx

    from bot.web.app import create_app
    from tests.web.conftest import LiveServer

    server = LiveServer(create_app(Settings(data_dir=tmp_path / "data"), pipeline=FakePipeline())).start()
    opened = threading.Event()

    def chat_page() -> None:  # what an open chat tab holds: Gradio's heartbeat stream
        with httpx.stream("GET", f"{server.url}/gradio_api/heartbeat/tab1", timeout=30) as response:
            for _ in response.iter_lines():
                opened.set()

    tab = threading.Thread(target=chat_page, daemon=True)
    tab.start()
    assert opened.wait(10)
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.5  # not the whole graceful timeout (2 s here)
    tab.join(5)
    assert not tab.is_alive()  # its stream ended cleanly
    logged = capfd.readouterr().err
    assert "Traceback" not in logged and "graceful shutdown exceeded" not in logged
