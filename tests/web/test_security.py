"""Origins (CORS), API keys and the rate limit, against a real server on 127.0.0.1."""
from __future__ import annotations

import json

import httpx
import pytest

from bot.web.security import TokenBucket, normalize_origin
from tests.web.fake_pipeline import FakePipeline

ALLOWED = "https://news.example.org"
EVIL = "https://evil.example.com"


def preflight(url: str, origin: str) -> httpx.Response:
    return httpx.options(f"{url}/api/ask", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-api-key",
    })


def test_allowed_origin_gets_cors_on_preflight_and_request(api_server) -> None:
    url = api_server(allowed_origins=(ALLOWED,))
    response = preflight(url, ALLOWED)
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "DELETE" in response.headers["access-control-allow-methods"]  # the widget withdraws a rating
    assert "X-API-Key" in response.headers["access-control-allow-headers"]
    assert "X-Feedback-Token" in response.headers["access-control-allow-headers"]  # the widget withdraws with it
    actual = httpx.post(f"{url}/api/ask", json={"question": "When?"}, headers={"Origin": ALLOWED})
    assert actual.status_code == 200
    assert actual.headers["access-control-allow-origin"] == ALLOWED
    assert "Origin" in actual.headers["vary"]


def test_refused_origin_gets_403_naming_origin_and_setting(api_server, fake_pipeline: FakePipeline) -> None:
    url = api_server(allowed_origins=(ALLOWED,))
    for response in (preflight(url, EVIL),
                     httpx.post(f"{url}/api/ask", json={"question": "When?"}, headers={"Origin": EVIL}),
                     httpx.post(f"{url}/v1/chat/completions", headers={"Origin": EVIL},
                                json={"messages": [{"role": "user", "content": "When?"}]})):
        assert response.status_code == 403
        detail = response.json()["detail"]
        assert EVIL in detail and "BOT_ALLOWED_ORIGINS" in detail
        assert "access-control-allow-origin" not in response.headers
    assert fake_pipeline.calls == []


def test_no_origin_and_own_origin_are_allowed_without_cors_headers(api_server) -> None:
    url = api_server()  # no allowed origins at all
    plain = httpx.post(f"{url}/api/ask", json={"question": "When?"})
    own = httpx.post(f"{url}/api/ask", json={"question": "When?"}, headers={"Origin": url})
    assert (plain.status_code, own.status_code) == (200, 200)
    assert "access-control-allow-origin" not in own.headers


def test_api_keys(api_server) -> None:
    url = api_server(api_keys=("k-one", "k-two"))
    missing = httpx.post(f"{url}/api/ask", json={"question": "When?"})
    assert missing.status_code == 401
    assert "X-API-Key" in missing.json()["detail"]
    wrong = httpx.post(f"{url}/api/ask", json={"question": "When?"}, headers={"X-API-Key": "nope"})
    assert wrong.status_code == 401
    assert "not valid" in wrong.json()["detail"]
    assert httpx.post(f"{url}/api/ask", json={"question": "When?"},
                      headers={"X-API-Key": "k-two"}).status_code == 200
    assert httpx.post(f"{url}/api/ask", json={"question": "When?"},
                      headers={"Authorization": "Bearer k-one"}).status_code == 200
    assert httpx.post(f"{url}/v1/chat/completions", json={"messages": []}).status_code == 401
    assert httpx.get(f"{url}/api/health").status_code == 200  # health stays open for monitors
    # The docs page offers an "Authorize" button for the key.
    assert "X-API-Key" in str(httpx.get(f"{url}/openapi.json").json()["components"]["securitySchemes"])


@pytest.mark.integration
def test_api_keys_guard_gradios_api_for_programs_and_leave_the_chat_page_open(api_server) -> None:
    from gradio_client import Client

    url = api_server(chat=True, api_keys=("k-one",))
    for path in ("/gradio_api/info", "/gradio_api/openapi.json"):
        assert httpx.get(f"{url}{path}").status_code == 401, path
    call = httpx.post(f"{url}/gradio_api/call/ask", json={"data": ["When did the Sutong Bridge open?"]})
    assert call.status_code == 401 and "X-API-Key" in call.json()["detail"]  # the precise message, for programs
    assert httpx.post(f"{url}/gradio_api/call/ask", json={"data": ["When did the Sutong Bridge open?"]},
                      headers={"X-API-Key": "k-one"}).status_code == 200
    # Gradio's direct REST call of `/ask` too: a 401 saying how to send the key, not Gradio's 500.
    for path in ("/gradio_api/run/ask", "/gradio_api/run/ask/"):
        run = httpx.post(f"{url}{path}", json={"data": ["When did the Sutong Bridge open?", []]})
        assert run.status_code == 401 and run.headers["www-authenticate"] == "Bearer", path
        assert "X-API-Key" in run.json()["detail"], path
    run = httpx.post(f"{url}/gradio_api/run/ask", json={"data": ["When did the Sutong Bridge open?", []]},
                     headers={"X-API-Key": "k-one"})
    assert run.status_code == 200 and "When did the Sutong Bridge open?" in json.dumps(run.json())  # answering
    # The pages for people stay open: the chat, and what it needs to start.
    assert httpx.get(f"{url}/").status_code == 200 and httpx.get(f"{url}/config").status_code == 200
    with pytest.raises(Exception, match="401|API key"):
        Client(url + "/", verbose=False, download_files=False)  # a program without the key
    client = Client(url + "/", verbose=False, download_files=False, headers={"X-API-Key": "k-one"})
    try:
        messages, _, _ = client.predict("When did the Sutong Bridge open?", api_name="/ask")
        assert "June 30, 2008" in messages[1]["content"][0]["text"]
    finally:
        client.close()


def test_gradios_ask_endpoint_needs_the_key_however_it_is_reached() -> None:
    """Gradio's queue serves any of the app's functions to a program that names it, not only through its REST calls:
    the `/ask` endpoint checks the key itself."""
    import gradio as gr

    from bot.settings import Settings
    from bot.web.chat_ui import build_chat
    from bot.web.security import MISSING_KEY, WRONG_KEY, key_problem

    assert key_problem((), {}) is None
    assert key_problem(("k",), {}) == MISSING_KEY
    assert key_problem(("k",), {"x-api-key": "no"}) == WRONG_KEY
    assert key_problem(("k",), {"authorization": "Bearer k"}) is None
    blocks = build_chat(FakePipeline(), settings=Settings(api_keys=("k",)))  # type: ignore[arg-type]
    ask = next(fn.fn for fn in blocks.fns.values() if fn.name == "ask")
    with pytest.raises(gr.Error, match="needs an API key"):
        next(ask("When did the Sutong Bridge open?", [], gr.Request(headers={})))
    views = list(ask("When did the Sutong Bridge open?", [], gr.Request(headers={"x-api-key": "k"})))
    assert "June 30, 2008" in views[-1][0][-1]["content"]


def test_key_errors_carry_cors_headers_so_the_widget_can_read_them(api_server) -> None:
    url = api_server(api_keys=("k",), allowed_origins=(ALLOWED,))
    response = httpx.post(f"{url}/api/ask", json={"question": "When?"}, headers={"Origin": ALLOWED})
    assert response.status_code == 401
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert preflight(url, ALLOWED).status_code == 204  # preflights carry no key


def test_rate_limit_per_client(api_server) -> None:
    url = api_server(rate_limit_per_minute=2, api_keys=("a", "b"))
    statuses = [httpx.post(f"{url}/api/ask", json={"question": "When?"}, headers={"X-API-Key": "a"}).status_code
                for _ in range(2)]
    limited = httpx.post(f"{url}/api/ask", json={"question": "When?"}, headers={"X-API-Key": "a"})
    assert statuses == [200, 200]
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 30
    assert "2 per minute" in limited.json()["detail"]
    assert "Retry after" in limited.json()["detail"]
    # Another key is another client.
    assert httpx.post(f"{url}/api/ask", json={"question": "When?"}, headers={"X-API-Key": "b"}).status_code == 200


def test_token_bucket_arithmetic() -> None:
    now = [100.0]
    bucket = TokenBucket(rate_per_minute=60, burst=2, clock=lambda: now[0])  # one token per second
    assert [bucket.take("c"), bucket.take("c")] == [0.0, 0.0]
    assert bucket.take("c") == pytest.approx(1.0)
    assert bucket.take("other") == 0.0
    now[0] += 0.5
    assert bucket.take("c") == pytest.approx(0.5)
    now[0] += 0.5
    assert bucket.take("c") == 0.0


@pytest.mark.parametrize(("raw", "expected"), [
    ("https://News.Example.org/", "https://news.example.org"),
    ("https://news.example.org:443", "https://news.example.org"),
    ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
    ("null", "null"),
])
def test_normalize_origin(raw: str, expected: str) -> None:
    assert normalize_origin(raw) == expected
