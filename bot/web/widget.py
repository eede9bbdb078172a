"""Routes for the embeddable widget: the script, an iframe-ready page, and a sample intranet page.

    GET /widget.js     the widget (plain JS; one <script> tag on any page)
    GET /embed         the same chat as a full page for an <iframe> (?title=&primary_color=&greeting=&api_key=)
    GET /widget/demo   a fake intranet page with hostile CSS and the widget tag, to see it at work
"""
from __future__ import annotations

import logging
from pathlib import Path

import jinja2
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from bot.settings import Settings

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
DEFAULT_TITLE = "Ask the news"

# The widget page loads only our own script; styles are inline (the widget's live in its Shadow DOM).
_PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'"
)


def _bot_url(request: Request) -> str:
    # base_url includes any root_path, so the tag works when the app is mounted under a prefix.
    return str(request.base_url).rstrip("/")


def create_router(settings: Settings) -> APIRouter:
    """The widget routes. Pages are rendered with Jinja2 autoescaping, so query values stay text."""
    router = APIRouter(tags=["widget"])
    templates = jinja2.Environment(
        loader=jinja2.FileSystemLoader(STATIC_DIR), autoescape=True, undefined=jinja2.StrictUndefined
    )

    @router.api_route("/widget.js", methods=["GET", "HEAD"], include_in_schema=False)
    def widget_js() -> Response:
        body = (STATIC_DIR / "widget.js").read_text(encoding="utf-8")
        return Response(
            body,
            media_type="application/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
        )

    @router.api_route("/embed", methods=["GET", "HEAD"], response_class=HTMLResponse, include_in_schema=False)
    def embed(
        request: Request,
        title: str = Query(DEFAULT_TITLE, max_length=120),
        primary_color: str = Query("", max_length=40),
        greeting: str = Query("", max_length=500),
        api_key: str = Query("", max_length=200),
    ) -> HTMLResponse:
        page = templates.get_template("embed.html").render(
            bot_url=_bot_url(request), title=title, primary_color=primary_color, greeting=greeting,
            api_key=api_key,
        )
        return HTMLResponse(page, headers={"Content-Security-Policy": _PAGE_CSP})

    @router.api_route("/widget/demo", methods=["GET", "HEAD"], response_class=HTMLResponse,
                      include_in_schema=False)
    def demo(request: Request) -> HTMLResponse:
        bot_url = _bot_url(request)
        page = templates.get_template("demo.html").render(
            bot_url=bot_url, title=DEFAULT_TITLE, keys_required=bool(settings.api_keys),
        )
        return HTMLResponse(page, headers={"Content-Security-Policy": _PAGE_CSP + "; frame-ancestors 'self'"})

    return router
