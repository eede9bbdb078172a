"""Origins (CORS), API keys and the rate limit, against a real server on 127.0.0.1."""
from __future__ import annotations

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
