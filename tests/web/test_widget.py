"""The widget routes serve the script, the iframe page and the demo page, with the right types."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bot.settings import Settings
from bot.web.widget import STATIC_DIR, create_router


def _client(settings: Settings | None = None) -> TestClient:
    app = FastAPI()
    app.include_router(create_router(settings or Settings()))
    return TestClient(app)


def test_widget_js_is_served_as_javascript() -> None:
    response = _client().get("/widget.js")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/javascript; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "attachShadow" in response.text and "/api/ask/stream" in response.text


def test_widget_js_builds_the_dom_from_text_only() -> None:
    source = (STATIC_DIR / "widget.js").read_text(encoding="utf-8")
    code = re.sub(r"^\s*(//|/?\*).*$", "", source, flags=re.MULTILINE)  # comments may mention the words
    for forbidden in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert forbidden not in code, forbidden
    for needed in ("textContent", "createTextNode", "sessionStorage", '"X-API-Key"', 'role: "dialog"',
                   '"aria-live": "polite"', "Escape", "getReader"):
        assert needed in code, needed
    assert '"X-Feedback-Token"' in code and "?token=" not in code  # the withdraw token never goes in the URL
    assert "http://" not in code.replace("http://www.w3.org/2000/svg", "")  # no external resources
    assert "https://" not in code


def test_widget_js_cuts_no_question_and_names_the_origin_setting() -> None:
    source = (STATIC_DIR / "widget.js").read_text(encoding="utf-8")
    assert "maxlength" not in source.lower()  # a long paste reaches the bot, which says what the limit is
    assert "BOT_ALLOWED_ORIGINS" in source  # told to the site owner (console) when the bot refuses the page


def test_demo_page_has_hostile_css_and_the_widget_tag() -> None:
    response = _client().get("/widget/demo")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert "* { font: 20px serif; color: red; }" in page
    assert '<script src="http://testserver/widget.js" data-bot-url="http://testserver"' in page
    assert "data-primary-color=" in page and "data-position=" in page
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert "requires an API key" not in page


def test_demo_page_says_when_a_key_is_needed() -> None:
    page = _client(Settings(api_keys=("k1",))).get("/widget/demo").text
    assert "requires an API key" in page and "k1" not in page  # never publishes a key


def test_embed_page_loads_the_widget_always_open() -> None:
    response = _client().get("/embed", params={"title": "Team news", "primary_color": "#0f766e"})
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    page = response.text
    assert 'src="http://testserver/widget.js"' in page and 'data-mode="embed"' in page
    assert 'data-title="Team news"' in page and 'data-primary-color="#0f766e"' in page
    assert "data-api-key" not in page and "data-greeting" not in page


@pytest.mark.parametrize("field", ["title", "greeting", "primary_color", "api_key"])
def test_embed_parameters_are_escaped(field: str) -> None:
    page = _client().get("/embed", params={field: '"><script>alert(1)</script>'}).text
    assert "<script>alert(1)</script>" not in page
    assert "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_embed_rejects_oversized_parameters() -> None:
    response = _client().get("/embed", params={"title": "x" * 500})
    assert response.status_code == 422


def test_static_pages_reference_only_our_own_origin() -> None:
    for name in ("embed.html", "demo.html"):
        text = Path(STATIC_DIR / name).read_text(encoding="utf-8")
        assert "https://" not in text and "http://" not in text  # the bot URL is filled in per request


def test_the_app_serves_the_widget_routes(tmp_path: Path) -> None:
    from bot.web.app import create_app
    from tests.web.fake_pipeline import FakePipeline

    app = create_app(Settings(data_dir=tmp_path / "data"), pipeline=FakePipeline(), chat=False)  # type: ignore[arg-type]
    client = TestClient(app)
    assert client.get("/widget.js").headers["content-type"].startswith("application/javascript")
    assert client.get("/widget/demo").headers["content-type"].startswith("text/html")
    assert client.get("/embed").headers["content-type"].startswith("text/html")
