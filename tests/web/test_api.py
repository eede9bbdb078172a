"""The REST API against a real uvicorn server on 127.0.0.1 (fake pipeline, plus one real-pipeline test)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.errors import IndexMissingError, UsageError
from bot.feedback import FeedbackStore
from bot.settings import Settings
from bot.web.app import bind_socket, create_app
from index import store as index_store
from tests.web.fake_pipeline import (
    NO_MATCH_SOURCE,
    NO_MATCH_TEXT,
    SECRET,
    SUTONG_QUOTE,
    SUTONG_TEXT,
    FakePipeline,
)

SUTONG = "When did the Sutong Bridge open?"


def parse_sse(text: str) -> list[tuple[str, Any]]:
    """[(event, decoded data)] from a text/event-stream body."""
    events = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((fields.get("event", "message"), json.loads(fields["data"])))
    return events


def test_ask_returns_the_answer_object(api_server, fake_pipeline: FakePipeline) -> None:
    url = api_server()
    response = httpx.post(f"{url}/api/ask", json={"question": f"  {SUTONG} "})
    assert response.status_code == 200
    body = response.json()
    assert body["answer"] == SUTONG_TEXT
    assert body["abstained"] is False and body["no_filter_match"] is False
    assert body["citations"][0]["quote"] == SUTONG_QUOTE
    assert set(body) == {"question", "answer", "abstained", "small_talk", "no_filter_match", "citations",
                         "timings_ms"}
    assert fake_pipeline.calls[0]["question"] == SUTONG


def test_ask_passes_history_k_and_filters(api_server, fake_pipeline: FakePipeline) -> None:
    url = api_server()
    payload = {
        "question": "And its length?",
        "history": ["When did the bridge open?", {"role": "assistant", "content": "In 2008."}],
        "k": 3,
        "filters": {"source": "000_", "published_from": "2024-01-01"},
        "unknown_field": "ignored",
    }
    assert httpx.post(f"{url}/api/ask", json=payload).status_code == 200
    call = fake_pipeline.calls[0]
    assert call["history"] == ["When did the bridge open?", {"role": "assistant", "content": "In 2008."}]
    assert call["k"] == 3
    assert call["filters"] == {"source": "000_", "published_from": "2024-01-01"}


def test_filters_no_article_passes_are_said_apart_from_an_abstention(api_server) -> None:
    url = api_server()
    payload = {"question": SUTONG, "filters": {"source": NO_MATCH_SOURCE}}
    body = httpx.post(f"{url}/api/ask", json=payload).json()
    with httpx.stream("POST", f"{url}/api/ask/stream", json=payload) as response:
        streamed = parse_sse(response.read().decode())[-1]
    assert streamed[0] == "answer"
    for answer in (body, streamed[1]):
        assert (answer["answer"], answer["no_filter_match"], answer["abstained"]) == (NO_MATCH_TEXT, True, True)
        assert answer["citations"] == []


def test_stream_sends_deltas_then_one_answer(api_server) -> None:
    url = api_server()
    with httpx.stream("POST", f"{url}/api/ask/stream", json={"question": SUTONG}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = parse_sse(response.read().decode())
    kinds = [kind for kind, _ in events]
    assert kinds == ["delta"] * len(SUTONG_TEXT.split(" ")) + ["answer"]
    assert "".join(data["text"] for kind, data in events if kind == "delta") == SUTONG_TEXT
    assert events[-1][1]["citations"][0]["n"] == 1


def test_health(api_server) -> None:
    body = httpx.get(f"{api_server()}/api/health").json()
    assert body["status"] == "ok"
    assert (body["chunks"], body["articles"], body["model"]) == (3, 2, "fake-model")
    assert body["version"]


def test_feedback_is_stored(api_server, web_settings: Settings) -> None:
    url = api_server()
    answer = httpx.post(f"{url}/api/ask", json={"question": SUTONG}).json()
    response = httpx.post(f"{url}/api/feedback", json={
        "rating": "up", "question": SUTONG, "answer": answer, "history": ["Earlier?"], "comment": "good",
    })
    assert response.status_code == 200
    rows = FeedbackStore(web_settings.feedback_db).rows()
    assert [(r["id"], r["rating"], r["answer"], r["comment"]) for r in rows] == [
        (response.json()["id"], "up", SUTONG_TEXT, "good")
    ]
    assert rows[0]["history"] == ["Earlier?"]
    bad = httpx.post(f"{url}/api/feedback", json={"rating": "meh", "question": "q", "answer": answer})
    assert bad.status_code == 422
    assert "rating" in bad.json()["detail"]


def test_a_rating_is_withdrawn_with_its_receipt_and_only_with_it(api_server, web_settings: Settings) -> None:
    url = api_server()
    answer = httpx.post(f"{url}/api/ask", json={"question": SUTONG}).json()
    receipt = httpx.post(f"{url}/api/feedback", json={"rating": "up", "question": SUTONG, "answer": answer}).json()
    assert set(receipt) == {"id", "token", "replaced"} and receipt["replaced"] is False
    store = FeedbackStore(web_settings.feedback_db)
    for token in ("", "0" * 32, receipt["token"][:-1] + "x", "é"):  # another client cannot take it back by its id
        refused = httpx.delete(f"{url}/api/feedback/{receipt['id']}", headers={"X-Feedback-Token": token.encode()})
        assert refused.status_code == 404 and "no rating" in refused.json()["detail"]
    # the token goes in a header, never the URL (access logs keep URLs): in the query string it withdraws nothing
    in_url = httpx.delete(f"{url}/api/feedback/{receipt['id']}", params={"token": receipt["token"]})
    assert in_url.status_code == 404 and store.count() == 1
    assert httpx.delete(f"{url}/api/feedback/{receipt['id']}").status_code == 404  # no token at all
    assert store.count() == 1
    withdrawn = httpx.delete(f"{url}/api/feedback/{receipt['id']}", headers={"X-Feedback-Token": receipt["token"]})
    assert withdrawn.status_code == 200 and withdrawn.json() == {"id": receipt["id"], "withdrawn": True}
    assert store.count() == 0
    again = httpx.delete(f"{url}/api/feedback/{receipt['id']}", headers={"X-Feedback-Token": receipt["token"]})
    assert again.status_code == 404 and "withdrawn already" in again.json()["detail"]
    assert "restart" not in again.json()["detail"]  # receipts outlast a restart: no hint that they do not


def test_a_receipt_still_withdraws_its_rating_after_the_server_restarts(api_server, web_settings: Settings) -> None:
    first = api_server()
    answer = httpx.post(f"{first}/api/ask", json={"question": SUTONG}).json()
    receipt = httpx.post(f"{first}/api/feedback", json={"rating": "up", "question": SUTONG, "answer": answer}).json()
    restarted = api_server()  # a new app over the same data dir: the key is kept with the ratings
    withdrawn = httpx.delete(f"{restarted}/api/feedback/{receipt['id']}",
                             headers={"X-Feedback-Token": receipt["token"]})
    assert withdrawn.status_code == 200 and FeedbackStore(web_settings.feedback_db).count() == 0


def test_a_rating_replaces_the_one_whose_receipt_it_carries(api_server, web_settings: Settings) -> None:
    url = api_server()
    answer = httpx.post(f"{url}/api/ask", json={"question": SUTONG}).json()
    rate = {"question": SUTONG, "answer": answer}
    first = httpx.post(f"{url}/api/feedback", json={"rating": "up", **rate}).json()
    second = httpx.post(f"{url}/api/feedback", json={
        "rating": "down", **rate, "replaces": {"id": first["id"], "token": first["token"]}}).json()
    assert second["replaced"] is True
    assert [(r["id"], r["rating"]) for r in FeedbackStore(web_settings.feedback_db).rows()] == [(second["id"], "down")]
    forged = httpx.post(f"{url}/api/feedback", json={"rating": "up", **rate,
                                                     "replaces": {"id": second["id"], "token": "forged"}}).json()
    assert forged["replaced"] is False and FeedbackStore(web_settings.feedback_db).count() == 2


def test_a_damaged_feedback_database_is_a_503_without_the_servers_path(api_server, tmp_path: Path, caplog) -> None:
    junk = tmp_path / "feedback.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    url = api_server(data_dir=tmp_path)
    answer = httpx.post(f"{url}/api/ask", json={"question": SUTONG}).json()
    response = httpx.post(f"{url}/api/feedback", json={"rating": "up", "question": SUTONG, "answer": answer})
    assert response.status_code == 503
    assert response.json()["detail"] == "Ratings cannot be stored right now; the server's log says why."
    assert str(tmp_path) not in response.text and str(junk) in caplog.text  # the log names the file
    assert junk.read_bytes() == b"not a database at all" * 100  # left as it was


@pytest.mark.parametrize(
    ("content", "headers", "status", "phrase"),
    [
        (b'{"question": ""}', {}, 422, "it was empty"),
        (b'{"question": "   \\n "}', {}, 422, "it was empty"),
        (json.dumps({"question": "x" * 2001}).encode(), {}, 422, "the limit is 2000"),
        (b'{"question": "When?"', {}, 400, "not valid JSON"),
        (b"", {}, 400, "body is empty"),
        (b'["When?"]', {}, 400, "must be a JSON object"),
        (b'{"history": []}', {}, 422, "question: Field required"),
        (b'{"question": "When?", "k": 0}', {}, 422, "k: Input should be greater than or equal to 1"),
        (b"question=When", {"content-type": "application/x-www-form-urlencoded"}, 400, "JSON object"),
        # Half of a UTF-16 pair is valid JSON but not text: refused before it fails deep inside as a 500.
        (b'{"question": "Sutong \\ud800"}', {}, 422,
         "question: not valid text: it holds half of a UTF-16 character pair (\\ud800, character 8)"),
        (b'{"question": "When?", "history": ["Sutong \\udfff"]}', {}, 422, "history: not valid text"),
        (b'{"question": "When?", "history": [{"role": "user", "content": "\\ud83d"}]}', {}, 422,
         "history: not valid text"),
        (b'{"question": "When?", "filters": {"source": "\\ud800"}}', {}, 422, "filters.source: not valid text"),
    ],
)
def test_bad_requests_get_one_line_messages(api_server, fake_pipeline: FakePipeline, content: bytes,
                                            headers: dict[str, str], status: int, phrase: str) -> None:
    url = api_server()
    sent_headers = {"content-type": "application/json", **headers}
    for path in ("/api/ask", "/api/ask/stream"):
        response = httpx.post(f"{url}{path}", content=content, headers=sent_headers)
        assert response.status_code == status, response.text
        detail = response.json()["detail"]
        assert isinstance(detail, str) and phrase in detail and "\n" not in detail
    assert fake_pipeline.calls == []


def test_a_whole_surrogate_pair_is_text(api_server, fake_pipeline: FakePipeline) -> None:
    response = httpx.post(f"{api_server()}/api/ask", content=b'{"question": "Sutong \\ud83c\\udf09?"}',
                          headers={"content-type": "application/json"})
    assert response.status_code == 200
    assert fake_pipeline.calls[0]["question"] == "Sutong \N{BRIDGE AT NIGHT}?"


@pytest.mark.parametrize(("body", "where"), [
    (b'{"rating": "up", "question": "Sutong \\ud800", "answer": {}}', "question"),
    # ... anywhere it would be stored: the history, the answer object (it gave 500 there).
    (b'{"rating": "up", "question": "Q", "answer": {}, "history": ["Sutong \\ud800"]}', "history"),
    (b'{"rating": "up", "question": "Q", "answer": {"answer": "x", "citations": [{"quote": "\\ud800"}]}}', "answer"),
])
def test_feedback_with_half_a_character_pair_says_so(api_server, body: bytes, where: str) -> None:
    response = httpx.post(f"{api_server()}/api/feedback", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith(f"Invalid request: {where}") and "half of a UTF-16 character pair" in detail


def test_oversized_body_is_refused_with_a_message(api_server, fake_pipeline: FakePipeline) -> None:
    response = httpx.post(f"{api_server()}/api/ask", json={"question": "x" * 1_100_000})
    assert response.status_code == 413
    assert "the limit is 1000000" in response.json()["detail"]
    assert fake_pipeline.calls == []


def test_unexpected_failure_leaks_no_stack_trace(api_server, caplog: pytest.LogCaptureFixture) -> None:
    url = api_server()
    with caplog.at_level("ERROR"):
        response = httpx.post(f"{url}/api/ask", json={"question": "boom"})  # the fake fails
        assert response.status_code == 500
        assert response.json() == {"detail": "Internal error; see the server log."}
        with httpx.stream("POST", f"{url}/api/ask/stream", json={"question": "boom now"}) as stream:
            events = parse_sse(stream.read().decode())
    assert events == [("delta", {"text": "boom "}),  # it fails once the answer has started
                      ("error", {"message": "Internal error; see the server log.", "status": 500})]
    assert SECRET not in response.text
    # The traceback is in the server log instead.
    assert any(SECRET in (r.exc_text or "") or (r.exc_info and SECRET in str(r.exc_info[1]))
               for r in caplog.records)


@pytest.mark.parametrize("error", [IndexMissingError, index_store.IndexMissingError])
def test_expected_errors_become_their_message(api_server, error: type[Exception]) -> None:
    class NoIndex(FakePipeline):
        def ask(self, question: str, **_: Any):  # type: ignore[override]
            raise error("There is no index in /tmp/x. Run `bot index` first.")

        def stream(self, question: str, **_: Any):  # type: ignore[override]
            raise error("There is no index in /tmp/x. Run `bot index` first.")

    url = api_server(pipeline=NoIndex())
    for path in ("/api/ask", "/api/ask/stream"):
        response = httpx.post(f"{url}{path}", json={"question": "When?"})
        assert response.status_code == 503
        assert response.json() == {"detail": "There is no index in /tmp/x. Run `bot index` first."}


def test_a_stream_without_its_answer_is_reported(api_server) -> None:
    class Truncated(FakePipeline):
        def stream(self, question: str, **_: Any):  # type: ignore[override]
            yield from list(super().stream(question))[:-1]

    with httpx.stream("POST", f"{api_server(pipeline=Truncated())}/api/ask/stream", json={"question": "q"}) as r:
        events = parse_sse(r.read().decode())
    assert events[-1] == ("error", {"message": "Internal error; see the server log.", "status": 500})


def test_a_slow_answer_does_not_block_other_requests(api_server) -> None:
    release = threading.Event()

    class Slow(FakePipeline):
        def ask(self, question: str, **kwargs: Any):  # type: ignore[override]
            release.wait(timeout=10)
            return super().ask(question, **kwargs)

    url = api_server(pipeline=Slow())
    with ThreadPoolExecutor(max_workers=2) as pool:
        slow = pool.submit(httpx.post, f"{url}/api/ask", json={"question": "q"}, timeout=20)
        time.sleep(0.2)
        started = time.monotonic()
        assert httpx.get(f"{url}/api/health", timeout=5).status_code == 200
        assert time.monotonic() - started < 2  # answered while the slow question still runs
        assert not slow.done()
        release.set()
        assert slow.result().status_code == 200


def test_docs_and_openapi(api_server) -> None:
    url = api_server()
    assert httpx.get(f"{url}/docs").status_code == 200
    paths = httpx.get(f"{url}/openapi.json").json()["paths"]
    assert {"/api/ask", "/api/ask/stream", "/api/health", "/api/feedback", "/v1/chat/completions"} <= set(paths)


@pytest.mark.integration
@pytest.mark.slow
def test_real_pipeline_cites_the_sutong_bridge_opening(live_server, tmp_path: Path) -> None:
    chain = pytest.importorskip("bot.chain")
    if not hasattr(chain, "build_pipeline"):
        pytest.skip("bot.chain.build_pipeline does not exist yet")
    from bot.indexing import make_indexer

    seeds = Path(__file__).resolve().parents[2] / "seeds"
    settings = Settings(data_dir=tmp_path / "data", corpus=(seeds,))
    assert make_indexer(settings, progress=False).run(settings.corpus).chunks_total > 0
    url = live_server(create_app(settings, chat=False))
    response = httpx.post(f"{url}/api/ask", json={"question": "When did the Sutong Bridge open to traffic?"},
                          timeout=300)
    assert response.status_code == 200, response.text
    quotes = [c["quote"] for c in response.json()["citations"]]
    assert any("June 30, 2008" in q for q in quotes), quotes



@pytest.mark.slow
def test_one_app_serves_every_face(live_server, web_settings: Settings, fake_pipeline: FakePipeline) -> None:
    """The whole app (with the Gradio chat and the widget, when present) on one port."""
    import importlib.util

    url = live_server(create_app(web_settings, pipeline=fake_pipeline))
    expected = {"/docs": 200, "/api/health": 200, "/v1/models": 200}
    if importlib.util.find_spec("bot.web.chat_ui"):
        expected["/"] = 200
    if importlib.util.find_spec("bot.web.widget"):
        expected.update({"/widget.js": 200, "/widget/demo": 200, "/embed": 200})
    assert {path: httpx.get(url + path).status_code for path in expected} == expected
    assert httpx.post(f"{url}/api/ask", json={"question": SUTONG}).json()["answer"] == SUTONG_TEXT


def test_busy_port_is_a_usage_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        with pytest.raises(UsageError, match=f"127.0.0.1:{port}.*--port"):
            bind_socket("127.0.0.1", port)


@pytest.mark.integration
@pytest.mark.slow
def test_bot_serve_without_an_index_says_how_to_build_one(tmp_path: Path) -> None:
    """`bot serve` as a user starts it: real pipeline, no index yet -> 503 naming the fix, not a traceback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    command = [sys.executable, "-m", "bot", "--data-dir", str(tmp_path / "data"), "serve", "--port", str(port)]
    server = subprocess.Popen(command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True)
    try:
        first_line = server.stdout.readline()  # type: ignore[union-attr]
        assert first_line.startswith(f"Chat ready at http://127.0.0.1:{port}/"), first_line
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while True:
            try:
                health = httpx.get(f"{url}/api/health", timeout=5)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, "bot serve did not come up"
                time.sleep(0.3)
        assert health.status_code in (200, 503)
        response = httpx.post(f"{url}/api/ask", json={"question": "When did the Sutong Bridge open?"}, timeout=120)
        assert response.status_code == 503
        assert "bot index" in response.json()["detail"]
        assert "Traceback" not in response.text
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.mark.parametrize("chat", [False, True])
def test_a_wrong_method_or_path_under_the_api_says_so(api_server, chat: bool) -> None:
    url = api_server(chat=chat)  # with the chat mounted at "/", these were its bare "Not Found"
    wrong_method = httpx.get(f"{url}/api/ask")
    assert wrong_method.status_code == 405 and wrong_method.headers["allow"] == "POST"
    assert wrong_method.json() == {"detail": "/api/ask does not take GET; use POST."}
    openai_shaped = httpx.get(f"{url}/v1/chat/completions")
    assert openai_shaped.status_code == 405
    assert openai_shaped.json()["error"]["message"] == "/v1/chat/completions does not take GET; use POST."
    missing = httpx.post(f"{url}/api/answer", json={"question": SUTONG})
    assert missing.status_code == 404
    assert missing.json() == {"detail": "There is no /api/answer; the API's endpoints are listed at /docs."}
    assert httpx.post(f"{url}/api/ask", json={"question": SUTONG}).status_code == 200


def test_an_unknown_filter_is_refused_naming_the_filters(api_server, fake_pipeline: FakePipeline) -> None:
    url = api_server()
    for path in ("/api/ask", "/api/ask/stream"):
        refused = httpx.post(f"{url}{path}", json={"question": SUTONG, "filters": {"since": "2030-01-01"}})
        assert refused.status_code == 400
        assert refused.json() == {"detail": "Unknown filter since: the filters are source, published_from, "
                                            "published_to."}
    assert fake_pipeline.calls == []  # nothing asked with the filter dropped
    kept = httpx.post(f"{url}/api/ask", json={"question": SUTONG, "filters": {"published_from": "2024-01-01"}})
    assert kept.status_code == 200 and fake_pipeline.calls[-1]["filters"] == {"published_from": "2024-01-01"}


@pytest.mark.parametrize("chat", [False, True])
def test_head_answers_as_get_does(api_server, chat: bool) -> None:
    url = api_server(chat=chat)
    for path in ("/widget.js", "/embed", "/widget/demo", "/api/health"):
        get, head = httpx.get(f"{url}{path}"), httpx.head(f"{url}{path}")
        assert (head.status_code, head.headers["content-type"]) == (get.status_code, get.headers["content-type"]), path
        assert get.status_code == 200 and head.content == b"", path
