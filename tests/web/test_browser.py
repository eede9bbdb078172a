"""Real headless Chromium against the real app (create_app) over the real pipeline and a real index.

The index holds `seeds/` plus one extra article whose title and body contain `<script>` and
`<img onerror>`: it must show up as literal text, and no script may run. Screenshots go to
tests/web/artifacts/ (git-ignored) for a person to look at.
"""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.conftest import LiveServer
from tests.web.fake_pipeline import FakePipeline

pytestmark = [pytest.mark.integration, pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]
SUTONG = "When did the Sutong Bridge open to traffic?"
RTL_QUESTION = "متى افتتح جسر سوتونغ؟ (Sutong)"
CANTEEN = "When does the canteen reopen?"
INJECTION_ARTICLE = """Canteen maintenance notice <img src=x onerror="window.__xss=1">

Release time:March 4, 2024 09:00 AM

The staff canteen will be closed for maintenance on Friday. <script>window.__xss = 2</script> The canteen reopens on Monday, March 11, 2024, with a new menu. <img src=x onerror="window.__xss=3"> Please bring your badge.
"""
API_KEY = "widget-test-key"
WIDGET = "#newsbot-widget"  # the widget's Shadow DOM host; Playwright's CSS locators pierce open shadow roots


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The real app on 127.0.0.1 over an index of seeds/ plus the HTML-injection article."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"No Chromium at {CHROMIUM}")
    from bot.chain import build_pipeline
    from bot.feedback import FeedbackStore
    from bot.indexing import make_indexer
    from bot.settings import Settings
    from bot.web.app import create_app
    from index.embedder import Embedder

    base = tmp_path_factory.mktemp("browser")
    extra = base / "intranet"
    extra.mkdir()
    (extra / "canteen_notice.txt").write_text(INJECTION_ARTICLE, encoding="utf-8")
    settings = Settings(data_dir=base / "data")
    embedder = Embedder(model_path=settings.model_path, batch_size=settings.embed_batch_size)  # loaded once
    make_indexer(settings, embedder=embedder, progress=False).run([ROOT / "seeds", extra])
    pipeline = build_pipeline(settings, embedder=embedder)
    pipeline.ask(SUTONG)  # warm up: the first question loads the indexes
    feedback = FeedbackStore(base / "feedback.sqlite3")
    server = LiveServer(create_app(settings, pipeline=pipeline, feedback=feedback)).start(timeout=60)
    # The same pipeline behind API keys (no Gradio chat: the widget needs only the API).
    keyed = LiveServer(create_app(settings.replace(api_keys=(API_KEY,)), pipeline=pipeline, feedback=feedback,
                                  chat=False)).start(timeout=60)
    try:
        yield {"url": server.url, "keyed_url": keyed.url, "feedback": feedback}
    finally:
        keyed.stop()
        server.stop()


@pytest.fixture(scope="module")
def app_url(served: dict[str, Any]) -> str:
    return str(served["url"])


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page (own sessionStorage) that records dialogs and page errors."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.errors = []  # type: ignore[attr-defined]
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.set_default_timeout(30_000)
    try:
        yield page
    finally:
        context.close()


def _shot(page: Any, name: str, **options: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), **options)


def _widget_ask(page: Any, question: str) -> Any:
    """Type a question into the open widget, press Enter, and return the finished answer bubble."""
    before = page.locator(f"{WIDGET} .msg.bot").count()
    box = page.locator(f"{WIDGET} textarea")
    box.fill(question)
    box.press("Enter")
    bubble = page.locator(f"{WIDGET} .msg.bot, {WIDGET} .msg.error").nth(before)
    page.wait_for_function(
        """([n]) => { const root = document.querySelector('#newsbot-widget').shadowRoot;
                      const log = root.querySelector('.log');
                      return root.querySelectorAll('.msg.bot, .msg.error').length > n
                             && !log.hasAttribute('aria-busy'); }""",
        arg=[before],
    )
    return bubble


# --- the widget ------------------------------------------------------------------------------------------------


def test_widget_on_the_demo_page_answers_with_a_highlighted_citation(page: Any, app_url: str) -> None:
    page.goto(f"{app_url}/widget/demo")
    launcher = page.locator(f"{WIDGET} button.launcher")
    launcher.wait_for()
    _shot(page, "widget_demo_closed")

    # The host page's `* { font: 20px serif; color: red }` reaches the page, not the widget.
    assert "serif" in page.evaluate("getComputedStyle(document.querySelector('main p')).fontFamily")
    launcher.click()
    panel = page.locator(f"{WIDGET} [role=dialog]")
    assert panel.is_visible()
    title_style = page.locator(f"{WIDGET} .title").evaluate(
        "e => [getComputedStyle(e).fontFamily, getComputedStyle(e).fontSize]")
    assert "serif" not in title_style[0].replace("sans-serif", "") and title_style[1] == "16px"
    greeting_color = page.locator(f"{WIDGET} .greeting").evaluate("e => getComputedStyle(e).color")
    assert greeting_color != "rgb(255, 0, 0)"
    assert page.evaluate("document.activeElement.id") == "newsbot-widget"  # focus moved into the widget
    assert page.locator(f"{WIDGET} textarea").evaluate("e => e.getRootNode().activeElement === e")

    bubble = _widget_ask(page, SUTONG)
    assert "June 30, 2008" in bubble.locator(".text").inner_text()
    cite = bubble.locator("button.cite").first
    assert cite.get_attribute("aria-label") == "Show source 1"
    source = bubble.locator("details").first
    assert "Nantong" in source.locator(".src-title").inner_text()
    assert "May 14, 2024" in source.locator(".src-meta").inner_text()
    _shot(page, "widget_answer")
    cite.click()
    assert source.evaluate("e => e.open")
    mark = source.locator(".passage mark")
    assert "June 30, 2008" in mark.inner_text()
    assert mark.evaluate("e => getComputedStyle(e).backgroundColor") != "rgb(0, 0, 0)"  # host `mark` CSS kept out
    _shot(page, "widget_citation_open")

    # Escape closes the panel and gives focus back to the launcher.
    page.keyboard.press("Escape")
    assert not panel.is_visible()
    assert launcher.evaluate("e => e.getRootNode().activeElement === e")
    assert launcher.get_attribute("aria-expanded") == "false"
    assert page.dialogs == [] and page.errors == []


def test_widget_keeps_the_conversation_and_sends_it_as_history(page: Any, app_url: str) -> None:
    page.goto(f"{app_url}/widget/demo")
    page.locator(f"{WIDGET} button.launcher").click()
    _widget_ask(page, SUTONG)
    bodies: list[dict[str, Any]] = []
    page.on("request", lambda request: bodies.append(json.loads(request.post_data or "{}"))
            if request.url.endswith("/api/ask/stream") else None)
    _widget_ask(page, "How busy is it now?")
    assert bodies and bodies[0]["question"] == "How busy is it now?"
    assert bodies[0]["history"][0] == {"role": "user", "content": SUTONG}
    assert "June 30, 2008" in bodies[0]["history"][1]["content"]

    page.reload()
    page.locator(f"{WIDGET} [role=dialog]").wait_for()  # it was open: it stays open for the session
    assert page.locator(f"{WIDGET} .msg.user").all_text_contents() == [f"You: {SUTONG}", "You: How busy is it now?"]
    assert page.locator(f"{WIDGET} button.cite").count() >= 1


def test_widget_keyboard_only(page: Any, app_url: str) -> None:
    page.goto(f"{app_url}/widget/demo")
    page.locator(f"{WIDGET} button.launcher").wait_for()
    page.locator(f"{WIDGET} button.launcher").focus()
    page.keyboard.press("Enter")
    assert page.locator(f"{WIDGET} [role=dialog]").is_visible()
    page.keyboard.type(SUTONG)
    page.keyboard.press("Enter")
    page.locator(f"{WIDGET} button.cite").first.wait_for()
    page.locator(f"{WIDGET} button.cite").first.focus()
    page.keyboard.press("Enter")
    assert page.locator(f"{WIDGET} details[open] .passage mark").first.is_visible()
    page.keyboard.press("Escape")
    assert not page.locator(f"{WIDGET} [role=dialog]").is_visible()


def test_widget_abstention_is_set_apart_and_can_be_rated(page: Any, served: dict[str, Any]) -> None:
    page.goto(f"{served['url']}/widget/demo")
    page.locator(f"{WIDGET} button.launcher").click()
    question = "Who won the 1990 football world cup?"
    bubble = _widget_ask(page, question)
    assert "abstain" in (bubble.get_attribute("class") or "")
    assert (bubble.locator(".badge").text_content() or "").lower() == "not in the articles"
    assert bubble.locator("details").count() == 0 and bubble.locator("button.cite").count() == 0
    before = served["feedback"].count()
    bubble.get_by_role("button", name="Not a helpful answer").click()
    bubble.get_by_text("Thanks for the feedback").wait_for()
    assert served["feedback"].count() == before + 1
    row = served["feedback"].rows()[-1]
    assert row["rating"] == "down" and row["question"] == question and row["abstained"]
    _shot(page, "widget_abstention")


def test_widget_says_when_no_article_passes_the_filters(page: Any, app_url: str) -> None:
    # The widget sends no filters itself; a page (or a later widget option) may: add one that no article passes.
    def with_filter(route: Any) -> None:
        body = json.loads(route.request.post_data or "{}")
        route.continue_(post_data=json.dumps({**body, "filters": {"source": "no-such-article"}}))

    page.route("**/api/ask/stream", with_filter)
    page.goto(f"{app_url}/widget/demo")
    page.locator(f"{WIDGET} button.launcher").click()
    bubble = _widget_ask(page, SUTONG)
    assert "abstain" in (bubble.get_attribute("class") or "")  # set apart like a decline...
    assert (bubble.locator(".badge").text_content() or "").lower() == "no matching articles"  # ...but said apart
    assert bubble.locator(".text").inner_text().startswith('No article matches your filter (source "no-such-article")')
    assert bubble.locator("button").count() == 0  # nothing to rate: no article was asked
    assert page.errors == []
    _shot(page, "widget_no_filter_match")


def test_widget_sets_right_to_left_text_right_to_left(page: Any, app_url: str) -> None:
    page.goto(f"{app_url}/widget/demo")
    page.locator(f"{WIDGET} button.launcher").click()
    box = page.locator(f"{WIDGET} textarea")
    box.fill(RTL_QUESTION)
    assert box.evaluate("e => getComputedStyle(e).direction") == "rtl"  # as typed
    _widget_ask(page, RTL_QUESTION)
    asked = page.locator(f"{WIDGET} .msg.user").last
    assert asked.evaluate("e => getComputedStyle(e).direction") == "rtl"  # "You: " for screen readers does not count
    assert page.locator(f"{WIDGET} .greeting").evaluate("e => getComputedStyle(e).direction") == "ltr"
    _widget_ask(page, "hello שלום")  # left to right from its first letter
    assert page.locator(f"{WIDGET} .msg.user").last.evaluate("e => getComputedStyle(e).direction") == "ltr"


def test_widget_header_stays_when_a_passage_is_scrolled_into_view(page: Any, app_url: str) -> None:
    page.goto(f"{app_url}/widget/demo")
    page.locator(f"{WIDGET} button.launcher").click()
    for question in ("Tell me about the Sutong Bridge", "How many vehicles use it every day?", "Who is Xu Xiaoyu?",
                     "What is his city?", "hello", "ok", "Who is Xu Xiaoyu?", "ok"):
        _widget_ask(page, question)
    # Playwright scrolls the first [n], far up the log, into view before clicking it, as a screen reader may: only
    # the log scrolls; the panel (overflow hidden) once scrolled too, its header out of reach and a gap below.
    page.locator(f"{WIDGET} button.cite").first.click()
    assert page.locator(f"{WIDGET} .panel").evaluate("e => e.scrollTop") == 0
    assert page.locator(f"{WIDGET} details[open]").first.is_visible()
    head = page.locator(f"{WIDGET} .head").bounding_box()
    panel = page.locator(f"{WIDGET} .panel").bounding_box()
    assert head and panel and head["y"] == panel["y"] + 1  # below the panel's 1px border
    assert page.errors == []


def test_widget_replies_to_a_greeting_without_a_badge(page: Any, app_url: str) -> None:
    page.goto(f"{app_url}/widget/demo")
    page.locator(f"{WIDGET} button.launcher").click()
    bubble = _widget_ask(page, "hello")
    assert (bubble.text_content() or "").startswith("Hello! Ask me a question about the news articles")
    assert "abstain" not in (bubble.get_attribute("class") or "")
    assert bubble.locator(".badge").count() == 0 and bubble.locator("button").count() == 0
    assert page.errors == []


def test_widget_sends_its_api_key_and_shows_refusals_as_one_line(page: Any, served: dict[str, Any]) -> None:
    keyed = served["keyed_url"]
    warnings = _warnings(page)
    page.goto(f"{keyed}/embed")
    bubble = _widget_ask(page, SUTONG)
    assert "error" in (bubble.get_attribute("class") or "")
    assert bubble.inner_text() == "The chat is not available here."  # for the reader, not the developer's message
    assert any("X-API-Key" in w and "data-api-key" in w for w in warnings), warnings  # that one in the console
    page.goto(f"{keyed}/embed?api_key={API_KEY}")
    page.evaluate("sessionStorage.clear()")
    page.reload()
    bubble = _widget_ask(page, SUTONG)
    assert "June 30, 2008" in bubble.inner_text()


def test_widget_shows_html_in_articles_as_text(page: Any, app_url: str) -> None:
    page.goto(f"{app_url}/widget/demo")
    page.locator(f"{WIDGET} button.launcher").click()
    bubble = _widget_ask(page, CANTEEN)
    assert "<script>window.__xss = 2</script>" in bubble.locator(".text").inner_text()
    source = bubble.locator("details").first
    assert '<img src=x onerror="window.__xss=1">' in source.locator(".src-title").inner_text()
    bubble.locator("button.cite").first.click()
    assert '<img src=x onerror="window.__xss=3">' in source.locator(".passage").inner_text()
    shadow_tags = page.evaluate(
        "[...document.querySelector('#newsbot-widget').shadowRoot.querySelectorAll('img, script')].length")
    assert shadow_tags == 0
    page.wait_for_timeout(300)  # give an onerror handler every chance to fire
    assert page.evaluate("window.__xss") is None
    assert page.dialogs == [] and page.errors == []
    _shot(page, "widget_injection")


def test_widget_sends_a_long_question_whole_and_gives_it_back_when_refused(page: Any, app_url: str) -> None:
    page.goto(f"{app_url}/widget/demo")
    page.locator(f"{WIDGET} button.launcher").click()
    question = (SUTONG + " ") * 50
    box = page.locator(f"{WIDGET} textarea")
    box.fill(question)
    assert box.evaluate("e => e.value.length") == len(question)  # not cut at 2,000 characters
    box.press("Enter")
    bubble = page.locator(f"{WIDGET} .msg.error").first
    bubble.wait_for()
    long = len(question.strip())
    assert bubble.inner_text() == f"Your question is {long} characters long; the limit is 2000. Please shorten it."
    assert box.input_value() == question.strip()  # back in the box, to be shortened
    assert page.errors == []


def _site(live_server: Any, body: str) -> str:
    """Another web site (its own origin: another port) serving one page with `body`."""
    from starlette.applications import Starlette
    from starlette.responses import HTMLResponse
    from starlette.routing import Route

    page = f"<!doctype html><html><head><title>Intranet</title></head><body>{body}</body></html>"
    return live_server(Starlette(routes=[Route("/", lambda request: HTMLResponse(page))]))


def _warnings(page: Any) -> list[str]:
    warnings: list[str] = []
    page.on("console", lambda message: warnings.append(message.text) if message.type == "warning" else None)
    return warnings


def test_widget_on_a_site_the_bot_does_not_allow_says_so(page: Any, app_url: str, live_server: Any) -> None:
    site = _site(live_server, f'<script src="{app_url}/widget.js" data-bot-url="{app_url}" data-mode="embed"></script>')
    warnings = _warnings(page)
    page.goto(f"{site}/")
    bubble = _widget_ask(page, SUTONG)
    assert bubble.inner_text() == "The chatbot may not accept questions from this site."
    # The site's owner finds what to do in the browser console.
    assert any("BOT_ALLOWED_ORIGINS" in w and f"add {site} to" in w and app_url in w for w in warnings), warnings
    assert page.errors == []


def test_widget_says_when_the_bot_cannot_be_reached(page: Any, app_url: str, live_server: Any) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        gone = f"http://127.0.0.1:{probe.getsockname()[1]}"
    site = _site(live_server, f'<script src="{app_url}/widget.js" data-bot-url="{gone}" data-mode="embed"></script>')
    warnings = _warnings(page)
    page.goto(f"{site}/")
    bubble = _widget_ask(page, SUTONG)
    assert bubble.inner_text() == "Could not reach the chatbot. It may be offline, or not allowed on this site."
    assert any(f"could not reach the chatbot at {gone}" in w and "BOT_ALLOWED_ORIGINS" in w for w in warnings)


def test_embed_page_is_the_chat_always_open(page: Any, app_url: str) -> None:
    page.set_viewport_size({"width": 420, "height": 640})
    page.goto(f"{app_url}/embed?title=Team%20news&primary_color=%23b45309")
    panel = page.locator(f"{WIDGET} [role=dialog]")
    panel.wait_for()
    assert page.locator(f"{WIDGET} button.launcher").count() == 0
    assert page.locator(f"{WIDGET} .title").inner_text() == "Team news"
    bubble = _widget_ask(page, SUTONG)
    assert "June 30, 2008" in bubble.inner_text()
    _shot(page, "embed")


# --- the Gradio chat -------------------------------------------------------------------------------------------


def _chat_wait_answer(page: Any, count: int) -> Any:
    """Wait until the chat shows `count` final answers (or errors); return the last one."""
    page.wait_for_function(
        """([n]) => document.querySelectorAll(
                        '#nb-chat .nb-answer, #nb-chat .nb-abstain, #nb-chat .nb-small-talk, #nb-chat .nb-error')
                    .length >= n && !document.querySelector('#nb-chat .nb-streaming')""",
        arg=[count],
    )
    return page.locator(
        "#nb-chat .nb-answer, #nb-chat .nb-abstain, #nb-chat .nb-small-talk, #nb-chat .nb-error").nth(count - 1)


def test_gradio_chat_answers_with_a_highlighted_citation(page: Any, app_url: str) -> None:
    page.goto(f"{app_url}/")
    page.locator("#nb-chat").wait_for()
    page.get_by_text(SUTONG).first.wait_for()  # the example questions on the empty screen
    _shot(page, "chat_empty")
    page.get_by_text(SUTONG).first.click()
    answer = _chat_wait_answer(page, 1)
    assert "June 30, 2008" in answer.inner_text()
    _shot(page, "chat_answer")

    answer.locator("a.nb-cite").first.click()
    source = page.locator("#nb-sources-panel details.nb-src").first
    assert source.evaluate("e => e.open")
    assert "May 14, 2024" in source.locator(".nb-src-meta").inner_text()
    assert "June 30, 2008" in source.locator("mark").inner_text()
    assert page.url.endswith("/")  # the link opened the panel in place, not a new page

    # A follow-up carries the conversation; then the abstention looks different.
    box = page.locator("#nb-question textarea")
    box.fill("Who won the 1990 football world cup?")
    box.press("Enter")
    abstained = _chat_wait_answer(page, 2)
    assert "nb-abstain" in (abstained.get_attribute("class") or "")
    assert "Not in the articles" in (abstained.text_content() or "")
    assert "No passage answers this question" in page.locator("#nb-sources-panel").inner_text()
    _shot(page, "chat_abstention")

    # Thanks get a reply, not a "Not in the articles".
    box.fill("thanks!")
    box.press("Enter")
    reply = _chat_wait_answer(page, 3)
    assert "nb-small-talk" in (reply.get_attribute("class") or "")
    assert "You're welcome" in reply.inner_text() and "Not in the articles" not in (reply.text_content() or "")
    assert "Nothing was looked up" in page.locator("#nb-sources-panel").inner_text()
    assert page.dialogs == [] and page.errors == []


def _chat_ask(page: Any, question: str, count: int) -> Any:
    box = page.locator("#nb-question textarea")
    box.fill(question)
    box.press("Enter")
    return _chat_wait_answer(page, count)


def _buttons(page: Any, message: int) -> Any:
    """The buttons under bot message `message` (0 = the first)."""
    return page.locator("#nb-chat .message-buttons-left").nth(message)


def test_gradio_chat_copies_plain_text(page: Any, app_url: str) -> None:
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"{app_url}/")
    page.locator("#nb-question textarea").wait_for()
    answer = _chat_ask(page, SUTONG, 1)
    shown = answer.inner_text()
    _buttons(page, 0).get_by_role("button", name="Copy message").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    text, sources = copied.split("\n\nSources:\n")
    assert "June 30, 2008" in text and text.endswith("[1]") and "<" not in copied and "&#" not in copied
    assert text.replace(" [1]", "") in shown.replace("\n", " ")  # the text shown, with its marker
    assert sources.startswith("[1] Why does Nantong frequently mention") and " (May 14, 2024) — " in sources
    assert "“" in sources and "June 30, 2008" in sources.split("“", 1)[1]

    # Over plain http to another host there is no Clipboard API: the chatbot copies with a hidden textarea instead.
    page.evaluate("""() => { delete Navigator.prototype.clipboard;
                             document.addEventListener('copy', e => {
                               window.__copied = e.clipboardData.getData('text/plain'); }); }""")
    _buttons(page, 0).get_by_role("button", name="Copy message").click()
    assert page.evaluate("window.__copied") == copied
    assert page.errors == []


def test_gradio_chat_offers_thumbs_only_under_answers(page: Any, app_url: str) -> None:
    page.goto(f"{app_url}/")
    box = page.locator("#nb-question textarea")
    box.wait_for()
    _chat_ask(page, "hello", 1)
    _chat_ask(page, SUTONG, 2)
    _chat_ask(page, "Who won the 1990 football world cup?", 3)
    question = (SUTONG + " ") * 50  # longer than 2,000 characters: refused, with a message
    box.fill(question)
    assert box.input_value() == question  # not cut
    box.press("Enter")
    error = _chat_wait_answer(page, 4)
    long = len(question.strip())
    assert error.inner_text() == f"Your question is {long} characters long; the limit is 2000. Please shorten it."
    page.wait_for_function("() => document.querySelector('#nb-question textarea').value.length > 0")
    assert box.input_value() == question  # back in the box as it was typed, to be shortened
    _shot(page, "chat_thumbs")
    rated = [_buttons(page, i).get_by_role("button", name="Like", exact=True).count() for i in range(4)]
    assert rated == [0, 1, 1, 0]  # small talk: no; answer, abstention: yes; error: no
    assert [_buttons(page, i).get_by_role("button", name="Dislike", exact=True).count() for i in range(4)] == rated
    assert all(_buttons(page, i).get_by_role("button", name="Copy message").is_visible() for i in range(4))

    # A blank question is ignored, as in the widget: no empty bubble, no error.
    box.fill("   ")
    box.press("Enter")
    page.wait_for_timeout(1500)
    assert page.locator("#nb-chat .nb-question").count() == 4
    assert page.locator("#nb-chat .nb-error").count() == 1
    assert page.dialogs == [] and page.errors == []


def test_gradio_chat_thumbs_are_stored(page: Any, served: dict[str, Any]) -> None:
    before = served["feedback"].count()
    page.goto(f"{served['url']}/")
    box = page.locator("#nb-question textarea")
    box.wait_for()
    for count, question in enumerate((SUTONG, CANTEEN), start=1):
        box.fill(question)
        box.press("Enter")
        _chat_wait_answer(page, count)
    page.get_by_role("button", name="Dislike").last.click()  # on the second answer
    for _ in range(50):
        if served["feedback"].count() > before:
            break
        page.wait_for_timeout(100)
    row = served["feedback"].rows()[-1]
    assert row["rating"] == "down" and row["question"] == CANTEEN
    assert row["history"][0] == {"role": "user", "content": SUTONG}


def test_gradio_chat_sets_right_to_left_text_right_to_left(page: Any, app_url: str) -> None:
    page.goto(f"{app_url}/")
    page.locator("#nb-question textarea").wait_for()
    _chat_ask(page, RTL_QUESTION, 1)
    direction = "e => getComputedStyle(e).direction"
    assert page.locator("#nb-chat .nb-question").first.evaluate(direction) == "rtl"  # dir="auto" survives sanitizing
    assert page.locator("#nb-sources-panel .nb-turn-q").evaluate(direction) == "rtl"
    assert page.locator("#nb-chat .nb-abstain-text").first.evaluate(direction) == "ltr"  # the English reply
    assert page.errors == []


def test_gradio_chat_shows_html_in_articles_as_text(page: Any, app_url: str) -> None:
    page.goto(f"{app_url}/")
    box = page.locator("#nb-question textarea")
    box.wait_for()
    box.fill(CANTEEN)
    box.press("Enter")
    answer = _chat_wait_answer(page, 1)
    assert "<script>window.__xss = 2</script>" in answer.inner_text()
    panel = page.locator("#nb-sources-panel")
    assert '<img src=x onerror="window.__xss=1">' in panel.locator(".nb-src-title").first.inner_text()
    assert '<img src=x onerror="window.__xss=3">' in panel.locator(".nb-src-passage").first.inner_text()
    assert page.locator("#nb-chat img[src=x], #nb-sources-panel img, #nb-chat script, #nb-sources-panel script").count() == 0
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None
    assert page.dialogs == [] and page.errors == []
    _shot(page, "chat_injection")


def _wait_count(feedback: Any, count: int) -> None:
    for _ in range(100):
        if feedback.count() == count:
            return
        time.sleep(0.05)
    assert feedback.count() == count


def test_gradio_chat_thumb_clicked_again_withdraws_the_rating(page: Any, served: dict[str, Any]) -> None:
    feedback = served["feedback"]
    page.goto(f"{served['url']}/")
    page.locator("#nb-question textarea").wait_for()
    _chat_ask(page, SUTONG, 1)
    before = feedback.count()
    thumbs = _buttons(page, 0)
    thumbs.get_by_role("button", name="Like", exact=True).click()
    _wait_count(feedback, before + 1)
    thumbs.get_by_role("button", name="Liked", exact=True).click()  # the pressed thumb again: taken back
    _wait_count(feedback, before)
    thumbs.get_by_role("button", name="Like", exact=True).click()
    thumbs.get_by_role("button", name="Dislike", exact=True).click()  # the other thumb: replaces it
    page.wait_for_timeout(500)
    _wait_count(feedback, before + 1)
    assert feedback.rows()[-1]["rating"] == "down" and feedback.rows()[-1]["question"] == SUTONG
    thumbs.get_by_role("button", name="Disliked", exact=True).click()
    _wait_count(feedback, before)
    assert page.errors == []


def _rated_up_in_widget(page: Any, served: dict[str, Any]) -> tuple[Any, Any, int]:
    """An answer in the embedded widget, rated helpful: (its bubble, its thumb up, the ratings stored before)."""
    page.goto(f"{served['url']}/embed")
    bubble = _widget_ask(page, SUTONG)
    before = served["feedback"].count()
    up = bubble.get_by_role("button", name="Helpful answer", exact=True)
    up.click()
    bubble.get_by_text("Thanks for the feedback").wait_for()
    return bubble, up, before


def test_widget_thumb_clicked_again_withdraws_the_rating(page: Any, served: dict[str, Any]) -> None:
    feedback = served["feedback"]
    bubble, up, before = _rated_up_in_widget(page, served)
    down = bubble.get_by_role("button", name="Not a helpful answer", exact=True)
    assert feedback.count() == before + 1
    up.click()  # pressed: clicked again, the rating is taken back
    bubble.get_by_text("Feedback withdrawn").wait_for()
    assert feedback.count() == before and up.get_attribute("aria-pressed") == "false"
    up.click()
    down.click()  # the other thumb replaces the rating
    page.wait_for_timeout(500)
    _wait_count(feedback, before + 1)
    assert feedback.rows()[-1]["rating"] == "down"
    assert (up.get_attribute("aria-pressed"), down.get_attribute("aria-pressed")) == ("false", "true")

    page.reload()  # the receipt is kept with the conversation
    down = page.locator(f"{WIDGET} .msg.bot").last.get_by_role("button", name="Not a helpful answer", exact=True)
    assert down.get_attribute("aria-pressed") == "true"
    down.click()
    page.locator(f"{WIDGET} .msg.bot").last.get_by_text("Feedback withdrawn").wait_for()
    assert feedback.count() == before
    assert page.errors == []


def test_widget_withdrawing_a_rating_the_bot_no_longer_has_says_withdrawn(page: Any, served: dict[str, Any]) -> None:
    feedback = served["feedback"]
    bubble, up, before = _rated_up_in_widget(page, served)
    assert feedback.remove(feedback.rows()[-1]["id"])  # gone behind the widget's back: its DELETE gets a 404
    up.click()
    bubble.get_by_text("Feedback withdrawn").wait_for()  # nothing is stored, which is what the reader asked
    assert bubble.get_by_text("Feedback not withdrawn").count() == 0
    assert feedback.count() == before and up.get_attribute("aria-pressed") == "false"
    up.click()  # the receipt was dropped: a new rating, not a replacement of the lost one
    bubble.get_by_text("Thanks for the feedback").wait_for()
    _wait_count(feedback, before + 1)
    assert page.errors == []


def test_widget_demo_and_embed_page_keep_their_own_conversations(page: Any, app_url: str) -> None:
    page.goto(f"{app_url}/widget/demo")
    page.locator(f"{WIDGET} button.launcher").click()
    _widget_ask(page, SUTONG)
    page.goto(f"{app_url}/embed")  # the same tab, so the same session storage: another chat all the same
    page.locator(f"{WIDGET} .greeting").wait_for()
    assert page.locator(f"{WIDGET} .msg.user").count() == 0
    _widget_ask(page, "hello")
    page.goto(f"{app_url}/widget/demo")
    page.locator(f"{WIDGET} [role=dialog]").wait_for()  # open, as it was left
    assert page.locator(f"{WIDGET} .msg.user").all_text_contents() == [f"You: {SUTONG}"]
    page.goto(f"{app_url}/embed")
    page.locator(f"{WIDGET} .msg.user").first.wait_for()
    assert page.locator(f"{WIDGET} .msg.user").all_text_contents() == ["You: hello"]


def test_demo_page_on_a_phone_shows_the_launcher(browser: Any, app_url: str) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 780}, is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{app_url}/widget/demo")
        launcher = page.locator(f"{WIDGET} button.launcher")
        launcher.wait_for()
        # Nothing on the page is wider than the phone: it would widen the layout viewport, and the launcher, fixed
        # to that viewport's corner, would sit off the screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        box = launcher.bounding_box()
        assert box and box["x"] + box["width"] <= 390 and box["y"] + box["height"] <= 780
        launcher.tap()
        panel = page.locator(f"{WIDGET} .panel").bounding_box()
        assert panel and panel["x"] >= 12 and panel["x"] + panel["width"] <= 390 - 12  # a margin on both sides
        _shot(page, "widget_demo_phone")
    finally:
        context.close()


def test_widget_citation_brings_its_highlighted_quote_into_view(page: Any, app_url: str) -> None:
    page.goto(f"{app_url}/widget/demo")
    page.locator(f"{WIDGET} button.launcher").click()
    bubble = _widget_ask(page, "Who is Xu Xiaoyu?")  # quoted from the end of a long passage
    bubble.locator("button.cite").first.click()
    passage = bubble.locator("details[open] .passage").first
    mark = passage.locator("mark")
    outer, inner = passage.bounding_box(), mark.bounding_box()
    assert outer and inner and outer["height"] < passage.evaluate("e => e.scrollHeight")  # the passage scrolls...
    assert outer["y"] <= inner["y"] and inner["y"] + 16 <= outer["y"] + outer["height"]  # ...to show the quote
    _shot(page, "widget_citation_deep")
    assert page.errors == []


class _Restartable:
    """The app over the fake pipeline on one port; `restart()` replaces the server (and so forgets its sessions)."""

    def __init__(self, tmp_path: Path) -> None:
        from bot.feedback import FeedbackStore

        self.pipeline = FakePipeline()
        self.feedback = FeedbackStore(tmp_path / "feedback.sqlite3")
        self.settings_dir = tmp_path / "data"
        self.server = self._start(0)
        self.url = self.server.url

    def _start(self, port: int) -> LiveServer:
        from bot.settings import Settings
        from bot.web.app import create_app

        app = create_app(Settings(data_dir=self.settings_dir), pipeline=self.pipeline, feedback=self.feedback)
        return LiveServer(app, port=port).start()

    def restart(self) -> None:
        self.server.stop()
        self.server = self._start(self.server.port)


def test_gradio_chat_goes_on_after_the_server_restarts_and_a_reload(page: Any, tmp_path: Path) -> None:
    bot = _Restartable(tmp_path)
    try:
        page.goto(f"{bot.url}/")
        page.locator("#nb-question textarea").wait_for()
        _chat_ask(page, "When did the Sutong Bridge open?", 1)
        bot.restart()
        # A page that noticed the server go polls it every 2 s, and reloads itself once it answers: let it.
        page.wait_for_timeout(4500)
        page.wait_for_load_state()
        page.locator("#nb-chat .nb-question").first.wait_for()  # reloaded or not, the conversation is on the screen
        _chat_ask(page, "How busy is it?", 2)
        # Still on the screen, and the follow-up was asked with the conversation before it.
        asked = ["When did the Sutong Bridge open?", "How busy is it?"]
        assert page.locator("#nb-chat .nb-question").all_inner_texts() == asked
        assert bot.pipeline.calls[-1]["history"][0] == {"role": "user", "content": asked[0]}
        _buttons(page, 0).get_by_role("button", name="Like", exact=True).click()  # rating works on too
        _wait_count(bot.feedback, 1)
        assert bot.feedback.rows()[0]["question"] == asked[0]

        page.wait_for_function("() => (sessionStorage.getItem('newsbot-chat') || '').includes('\"rating\"')")
        page.reload()  # the tab keeps the conversation, as the widget does
        page.locator("#nb-chat .nb-question").nth(1).wait_for()
        assert page.locator("#nb-chat .nb-question").all_inner_texts() == asked
        assert "Earlier answers" in page.locator("#nb-sources-panel").inner_text()  # the sources panel too
        _buttons(page, 0).get_by_role("button", name="Liked", exact=True).click()  # its receipt kept too
        _wait_count(bot.feedback, 0)
        page.locator("#nb-new").click()
        page.wait_for_timeout(500)
        page.reload()
        page.locator("#nb-question textarea").wait_for()
        page.wait_for_timeout(1000)
        assert page.locator("#nb-chat .nb-question").count() == 0  # a new conversation stays new
        assert page.errors == []
    finally:
        bot.server.stop()


class SlowPipeline(FakePipeline):
    """The fake pipeline, each streamed piece 0.2 s apart: an answer streams for about three seconds."""

    def stream(self, question: str, **kwargs: Any) -> Iterator[Any]:
        for item in super().stream(question, **kwargs):
            time.sleep(0.2)
            yield item


@pytest.fixture
def slow_chat(tmp_path: Path) -> Iterator[dict[str, Any]]:
    from bot.settings import Settings
    from bot.web.app import create_app

    pipeline = SlowPipeline()
    server = LiveServer(create_app(Settings(data_dir=tmp_path / "data"), pipeline=pipeline)).start()
    try:
        yield {"url": server.url, "pipeline": pipeline}
    finally:
        server.stop()


def _streaming(page: Any) -> None:
    page.locator("#nb-chat .nb-streaming").first.wait_for()


def _first_answer_streaming(page: Any, slow_chat: dict[str, Any]) -> Any:
    """The chat with a first question ("When did the Sutong Bridge open?") streaming its answer: the box."""
    page.goto(f"{slow_chat['url']}/")
    box = page.locator("#nb-question textarea")
    box.wait_for()
    box.fill("When did the Sutong Bridge open?")
    box.press("Enter")
    _streaming(page)
    return box


def test_gradio_chat_keeps_what_is_typed_while_an_answer_streams(page: Any, slow_chat: dict[str, Any]) -> None:
    box = _first_answer_streaming(page, slow_chat)
    box.type("And the canteen?", delay=30)
    page.wait_for_timeout(800)  # several streamed pieces later
    assert box.input_value() == "And the canteen?"  # not wiped by the answer coming in
    box.press("Enter")  # sent while the answer still streams: asked when it is done, not dropped
    _chat_wait_answer(page, 2)
    assert page.locator("#nb-chat .nb-question").all_inner_texts() == ["When did the Sutong Bridge open?",
                                                                        "And the canteen?"]
    assert [c["question"] for c in slow_chat["pipeline"].calls] == ["When did the Sutong Bridge open?",
                                                                    "And the canteen?"]
    assert slow_chat["pipeline"].calls[1]["history"][0]["content"] == "When did the Sutong Bridge open?"
    assert box.input_value() == "" and page.errors == []


def test_gradio_chat_page_keeps_its_width_while_answering(page: Any, slow_chat: dict[str, Any]) -> None:
    page.goto(f"{slow_chat['url']}/")
    box = page.locator("#nb-question textarea")
    box.wait_for()
    layout = """() => ['.gradio-container', '#nb-chat-col', '#nb-sources-col'].map(
                    s => Math.round(document.querySelector(s).getBoundingClientRect().width))"""
    before = page.evaluate(layout)
    box.fill("When did the Sutong Bridge open?")
    box.press("Enter")
    _streaming(page)
    assert page.evaluate(layout) == before  # "Searching the articles…" in the sources panel: the page stays put
    _chat_wait_answer(page, 1)
    assert page.evaluate(layout) == before


def _second_answer_streaming(page: Any, slow_chat: dict[str, Any]) -> Any:
    """The chat with one question answered and a second ("And the canteen?") streaming its answer: the box."""
    page.goto(f"{slow_chat['url']}/")
    page.locator("#nb-question textarea").wait_for()
    _chat_ask(page, "When did the Sutong Bridge open?", 1)
    box = page.locator("#nb-question textarea")
    box.fill("And the canteen?")
    box.press("Enter")
    _streaming(page)
    return box


def test_gradio_chat_new_conversation_while_an_answer_streams_stays_new(page: Any, slow_chat: dict[str, Any]) -> None:
    _second_answer_streaming(page, slow_chat)
    page.locator("#nb-new").click()
    page.wait_for_timeout(4000)  # longer than the rest of the answer took to stream: it does not come back
    assert page.locator("#nb-chat .nb-question").count() == 0
    assert "Ask a question" in page.locator("#nb-sources-panel").inner_text()
    page.reload()
    page.locator("#nb-question textarea").wait_for()
    page.wait_for_timeout(1500)
    assert page.locator("#nb-chat .nb-question").count() == 0  # nor after a reload, nor is it asked again
    assert [c["question"] for c in slow_chat["pipeline"].calls] == ["When did the Sutong Bridge open?",
                                                                    "And the canteen?"]
    _chat_ask(page, "When did the Sutong Bridge open?", 1)  # the new conversation goes on as new
    assert slow_chat["pipeline"].calls[-1]["history"] == []
    assert page.errors == []


def test_gradio_chat_asks_again_a_question_the_page_reloaded_over(page: Any, slow_chat: dict[str, Any]) -> None:
    box = _second_answer_streaming(page, slow_chat)
    box.type("Where is it?")  # the next question, typed while the answer streams
    page.reload()  # mid-answer, as Gradio reloads a page that lost the server and finds it again
    answer = _chat_wait_answer(page, 2)
    assert "canteen reopens" in answer.inner_text()
    asked = ["When did the Sutong Bridge open?", "And the canteen?"]
    assert page.locator("#nb-chat .nb-question").all_inner_texts() == asked
    assert box.input_value() == "Where is it?"  # still in the box, not asked
    calls = slow_chat["pipeline"].calls
    assert [c["question"] for c in calls] == [asked[0], asked[1], asked[1]]  # asked again, with its context
    assert calls[-1]["history"][0] == {"role": "user", "content": asked[0]}
    box.fill("")
    page.reload()  # answered now: shown, not asked a third time
    page.locator("#nb-chat .nb-question").nth(1).wait_for()
    page.wait_for_timeout(1500)
    assert page.locator("#nb-chat .nb-question").all_inner_texts() == asked and len(calls) == 3
    assert box.input_value() == ""  # emptied by the reader: stays empty
    assert page.errors == []


def test_gradio_chat_asks_again_a_question_sent_while_the_server_was_away(page: Any, tmp_path: Path) -> None:
    bot = _Restartable(tmp_path)
    try:
        page.goto(f"{bot.url}/")
        page.locator("#nb-question textarea").wait_for()
        _chat_ask(page, "When did the Sutong Bridge open?", 1)
        bot.server.stop()
        box = page.locator("#nb-question textarea")
        box.fill("How busy is the Sutong Bridge?")
        box.press("Enter")  # fails: Gradio says the connection is lost and reloads the page once the server is back
        page.get_by_text("Connection to the server was lost").first.wait_for()
        box.fill("And the canteen?")
        box.press("Enter")  # meanwhile Gradio sends nothing: the question stays in the box
        _shot(page, "chat_connection_lost")
        with page.expect_navigation(timeout=20_000):
            bot.server = bot._start(bot.server.port)
        answer = _chat_wait_answer(page, 2)
        assert "June 30, 2008" in answer.inner_text()
        asked = ["When did the Sutong Bridge open?", "How busy is the Sutong Bridge?"]
        assert page.locator("#nb-chat .nb-question").all_inner_texts() == asked
        assert box.input_value() == "And the canteen?"  # back in the box of the reloaded page, to be sent
        assert bot.pipeline.calls[-1]["question"] == asked[1]
        assert bot.pipeline.calls[-1]["history"][0] == {"role": "user", "content": asked[0]}
        _shot(page, "chat_asked_again_after_reconnect")
    finally:
        bot.server.stop()


def test_widget_asks_again_a_question_left_unanswered_by_a_page_change(page: Any, slow_chat: dict[str, Any]) -> None:
    page.goto(f"{slow_chat['url']}/widget/demo")
    page.locator(f"{WIDGET} button.launcher").click()
    box = page.locator(f"{WIDGET} textarea")
    box.fill("When did the Sutong Bridge open?")
    box.press("Enter")
    page.locator(f"{WIDGET} .msg.streaming").wait_for()
    page.goto(f"{slow_chat['url']}/widget/demo")  # another page of the site, before the answer is in
    page.locator(f"{WIDGET} .msg.bot button.cite").first.wait_for()
    assert page.locator(f"{WIDGET} .msg.user").all_text_contents() == ["You: When did the Sutong Bridge open?"]
    assert "June 30, 2008" in page.locator(f"{WIDGET} .msg.bot").last.inner_text()
    assert [c["question"] for c in slow_chat["pipeline"].calls] == ["When did the Sutong Bridge open?"] * 2
    page.reload()  # answered: kept, not asked again
    page.locator(f"{WIDGET} .msg.bot button.cite").first.wait_for()
    page.wait_for_timeout(1000)
    assert page.locator(f"{WIDGET} .msg.user").count() == 1 and len(slow_chat["pipeline"].calls) == 2
    assert page.errors == []


def test_widget_asks_again_once_only_on_a_page_that_reloads_sooner_than_the_answer(
        page: Any, slow_chat: dict[str, Any]) -> None:
    page.goto(f"{slow_chat['url']}/widget/demo")
    page.locator(f"{WIDGET} button.launcher").click()
    box = page.locator(f"{WIDGET} textarea")
    box.fill("When did the Sutong Bridge open?")
    box.press("Enter")
    for _ in range(3):  # a page that reloads itself every 1.5 s; an answer takes about 3 s
        page.wait_for_timeout(1500)
        page.reload()
    page.locator(f"{WIDGET} .msg.error").first.wait_for()
    page.wait_for_timeout(1500)
    assert [c["question"] for c in slow_chat["pipeline"].calls] == ["When did the Sutong Bridge open?"] * 2
    assert "Not answered" in page.locator(f"{WIDGET} .msg.error").last.inner_text()
    assert page.locator(f"{WIDGET} .msg.user").all_text_contents() == ["You: When did the Sutong Bridge open?"]
    assert page.errors == []


def _asked_again_streaming(page: Any, slow_chat: dict[str, Any]) -> Any:
    """The chat reloaded over a first answer, which the reloaded page is asking again and streaming: the box."""
    box = _first_answer_streaming(page, slow_chat)
    page.reload()
    _streaming(page)  # asked again
    return box


def test_gradio_chat_asks_again_once_only_on_a_page_that_reloads_sooner_than_the_answer(
        page: Any, slow_chat: dict[str, Any]) -> None:
    _asked_again_streaming(page, slow_chat)
    page.reload()  # ...and cut off again: shown as not answered, to be sent again
    page.get_by_text("Not answered").first.wait_for()
    page.wait_for_timeout(1500)
    assert [c["question"] for c in slow_chat["pipeline"].calls] == ["When did the Sutong Bridge open?"] * 2
    page.reload()  # nor asked after another reload
    page.get_by_text("Not answered").first.wait_for()
    page.wait_for_timeout(1500)
    assert len(slow_chat["pipeline"].calls) == 2
    assert page.locator("#nb-chat .nb-question").all_inner_texts() == ["When did the Sutong Bridge open?"]


def test_gradio_chat_answers_a_question_asked_again_and_one_typed_meanwhile_both(
        page: Any, slow_chat: dict[str, Any]) -> None:
    box = _asked_again_streaming(page, slow_chat)
    box.fill("And the canteen?")
    box.press("Enter")  # sent at once: answered after it, neither answer lost
    _chat_wait_answer(page, 2)
    asked = ["When did the Sutong Bridge open?", "And the canteen?"]
    assert page.locator("#nb-chat .nb-question").all_inner_texts() == asked
    page.wait_for_timeout(500)
    page.reload()  # both kept, none asked again
    page.locator("#nb-chat .nb-question").nth(1).wait_for()
    page.wait_for_timeout(1500)
    assert page.locator("#nb-chat .nb-question").all_inner_texts() == asked
    assert [c["question"] for c in slow_chat["pipeline"].calls] == [asked[0], asked[0], asked[1]]
    assert page.evaluate("() => sessionStorage.getItem('newsbot-chat-asked')") == "[]"


def test_gradio_chat_names_each_citation_link_for_screen_readers(page: Any, slow_chat: dict[str, Any]) -> None:
    page.goto(f"{slow_chat['url']}/")
    page.locator("#nb-question textarea").wait_for()
    answer = _chat_ask(page, "When did the Sutong Bridge open?", 1)
    link = answer.get_by_role("link", name="Source 1", exact=True)  # not a bare "1"
    box = link.bounding_box()
    assert link.count() == 1 and box and box["width"] < 30  # on the screen, the number alone
    link.focus()
    page.keyboard.press("Enter")
    assert page.locator("#nb-sources-panel details.nb-src").first.evaluate("e => e.open")


def test_gradio_chat_sends_what_was_in_the_box_at_enter_and_keeps_what_is_typed_after(
        page: Any, slow_chat: dict[str, Any]) -> None:
    page.goto(f"{slow_chat['url']}/")
    box = page.locator("#nb-question textarea")
    box.wait_for()
    box.click()
    for count, delay in enumerate((60, 10), start=1):  # a normal typist, and a fast one
        page.keyboard.type("Tell me about Jiaxing")
        page.keyboard.press("Enter")
        page.keyboard.type("When did Jiaxing start holding folk culture festivals?", delay=delay)
        assert box.input_value() == "When did Jiaxing start holding folk culture festivals?"
        _chat_wait_answer(page, count)
        assert box.input_value() == "When did Jiaxing start holding folk culture festivals?"  # not wiped either
        box.fill("")
    page.keyboard.type("When did the Sutong Bridge open?")
    page.keyboard.press("Enter")
    page.keyboard.insert_text("And the canteen?")  # pasted at once after Enter
    assert box.input_value() == "And the canteen?"
    page.keyboard.press("Enter")  # while the answer before streams: asked when it is done
    _chat_wait_answer(page, 4)
    asked = ["Tell me about Jiaxing", "Tell me about Jiaxing", "When did the Sutong Bridge open?", "And the canteen?"]
    assert page.locator("#nb-chat .nb-question").all_inner_texts() == asked
    assert [c["question"] for c in slow_chat["pipeline"].calls] == asked
    assert box.input_value() == "" and page.errors == []


def _asked_while_the_first_is_answered(page: Any, slow_chat: dict[str, Any], asked: list[str],
                                       extra_enter: bool = False) -> None:
    """Send `asked[0]`, then the rest while its answer streams (and Enter on the emptied box, with `extra_enter`):
    every one is answered, in order, once; a reload shows them all and asks none again."""
    page.goto(f"{slow_chat['url']}/")
    box = page.locator("#nb-question textarea")
    box.wait_for()
    box.click()
    page.keyboard.type(asked[0])
    page.keyboard.press("Enter")
    _streaming(page)
    for question in asked[1:]:
        page.keyboard.type(question, delay=10)
        page.keyboard.press("Enter")
    if extra_enter:
        page.keyboard.press("Enter")  # on the empty box: changes nothing
    _chat_wait_answer(page, len(asked))
    page.wait_for_timeout(1500)  # nothing more comes
    assert page.locator("#nb-chat .nb-question").all_inner_texts() == asked
    calls = slow_chat["pipeline"].calls
    assert [c["question"] for c in calls] == asked
    assert [len(c["history"] or []) for c in calls] == [2 * n for n in range(len(asked))]  # each on the ones before
    assert box.input_value() == ""
    page.reload()
    page.locator("#nb-chat .nb-question").nth(len(asked) - 1).wait_for()
    page.wait_for_timeout(1500)
    assert page.locator("#nb-chat .nb-question").all_inner_texts() == asked
    assert len(calls) == len(asked)  # none asked again
    assert page.evaluate("() => sessionStorage.getItem('newsbot-chat-asked')") == "[]"
    assert page.errors == []


def test_gradio_chat_answers_each_question_sent_while_an_answer_streams_in_order(
        page: Any, slow_chat: dict[str, Any]) -> None:
    _asked_while_the_first_is_answered(
        page, slow_chat, ["When did the Sutong Bridge open?", "And the canteen?", "Tell me about Jiaxing"])


def test_gradio_chat_enter_on_the_empty_box_drops_no_question_sent_before(
        page: Any, slow_chat: dict[str, Any]) -> None:
    _asked_while_the_first_is_answered(
        page, slow_chat, ["When did the Sutong Bridge open?", "And the canteen?"], extra_enter=True)


def test_gradio_chat_enter_pressed_at_once_on_a_pasted_question_and_the_empty_box(
        page: Any, slow_chat: dict[str, Any]) -> None:
    page.goto(f"{slow_chat['url']}/")
    box = page.locator("#nb-question textarea")
    box.wait_for()
    box.click()
    page.keyboard.type("When did the Sutong Bridge open?")
    page.keyboard.press("Enter")
    page.keyboard.insert_text("And the canteen?")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    _chat_wait_answer(page, 2)
    page.wait_for_timeout(1500)
    asked = ["When did the Sutong Bridge open?", "And the canteen?"]
    assert page.locator("#nb-chat .nb-question").all_inner_texts() == asked
    assert [c["question"] for c in slow_chat["pipeline"].calls] == asked
    assert page.evaluate("() => sessionStorage.getItem('newsbot-chat-asked')") == "[]"
    assert page.errors == []


def test_widget_keys_do_not_set_off_the_pages_shortcuts(page: Any, app_url: str) -> None:
    page.goto(f"{app_url}/widget/demo")
    page.locator(f"{WIDGET} button.launcher").wait_for()
    # A common intranet shortcut: "/" focuses the page's search box unless the reader is typing in a text field.
    page.evaluate("""() => {
        const search = document.createElement('input');
        search.id = 'host-search';
        document.body.prepend(search);
        window.__hostKeys = [];
        ['keydown', 'keypress', 'keyup'].forEach(type => document.addEventListener(type, e => {
            window.__hostKeys.push(type + ':' + e.key);
            const typing = ['INPUT', 'TEXTAREA'].includes(e.target.tagName);
            if (type === 'keydown' && e.key === '/' && !typing) { e.preventDefault(); search.focus(); }
        }));
    }""")
    page.locator(f"{WIDGET} button.launcher").click()
    question = "Who runs Nantong and/or the mayor?"
    page.keyboard.type(question)
    assert page.locator(f"{WIDGET} textarea").input_value() == question
    assert page.locator("#host-search").input_value() == ""
    assert page.evaluate("window.__hostKeys") == []  # no keydown, keypress or keyup left the widget
    page.keyboard.press("Escape")  # still closes the panel, focus back on the launcher
    assert not page.locator(f"{WIDGET} [role=dialog]").is_visible()
    assert page.locator(f"{WIDGET} button.launcher").evaluate("e => e.getRootNode().activeElement === e")
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("/")  # typed outside the widget: the page's shortcut works as before
    assert page.evaluate("document.activeElement.id") == "host-search"
    assert page.errors == []


def test_widget_leaves_the_pages_shortcuts_to_keys_not_typed_in_its_text_box(page: Any, app_url: str) -> None:
    page.goto(f"{app_url}/widget/demo")
    launcher = page.locator(f"{WIDGET} button.launcher")
    launcher.wait_for()
    # The page's shortcuts: "/" focuses its search box unless typing in a field, Escape closes its menu, "?" opens
    # the chat.
    page.evaluate("""() => {
        const search = document.createElement('input');
        search.id = 'host-search';
        const menu = document.createElement('div');
        menu.id = 'host-menu';
        menu.textContent = 'Site menu';
        document.body.prepend(search, menu);
        window.__hostKeys = [];
        ['keydown', 'keyup'].forEach(type => document.addEventListener(type, e => {
            window.__hostKeys.push(type + ':' + e.key);
            if (type !== 'keydown') return;
            const typing = ['INPUT', 'TEXTAREA'].includes(e.target.tagName);
            if (e.key === '/' && !typing) { e.preventDefault(); search.focus(); }
            if (e.key === 'Escape') menu.hidden = true;
            if (e.key === '?' && !typing) NewsbotWidget.open();
        }));
    }""")
    keys = "() => { const seen = window.__hostKeys; window.__hostKeys = []; return seen; }"
    launcher.click()
    page.keyboard.type("a/b")  # in the widget's text box: stays in the widget
    page.keyboard.press("Escape")  # closes the chat, the keyboard back on the launcher
    assert not page.locator(f"{WIDGET} [role=dialog]").is_visible()
    assert launcher.evaluate("e => e.getRootNode().activeElement === e")
    assert [k for k in page.evaluate(keys) if k.startswith("keydown")] == []
    assert page.locator("#host-search").input_value() == "" and page.locator("#host-menu").is_visible()
    page.keyboard.press("Escape")  # the keyboard on the launcher: the page's shortcuts work, as on any button
    assert not page.locator("#host-menu").is_visible()
    assert page.evaluate(keys) == ["keydown:Escape", "keyup:Escape"]
    launcher.focus()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "host-search"
    assert page.evaluate(keys) == ["keydown:/", "keyup:/"]
    page.evaluate("document.activeElement.blur()")
    page.keyboard.press("Shift+?")  # opens the chat, the keyboard in its text box: the keyups reach the page too
    assert page.locator(f"{WIDGET} [role=dialog]").is_visible()
    assert page.evaluate(keys) == ["keydown:Shift", "keydown:?", "keyup:?", "keyup:Shift"]
    assert page.locator(f"{WIDGET} textarea").evaluate("e => e.getRootNode().activeElement === e")
    assert page.errors == []


def test_with_api_keys_the_chat_page_still_answers_readers(page: Any, tmp_path: Path) -> None:
    from bot.settings import Settings
    from bot.web.app import create_app

    app = create_app(Settings(data_dir=tmp_path / "data", api_keys=("k-one",)), pipeline=FakePipeline())
    server = LiveServer(app).start()
    try:
        page.goto(f"{server.url}/")
        page.locator("#nb-question textarea").wait_for()
        assert "June 30, 2008" in _chat_ask(page, "When did the Sutong Bridge open?", 1).inner_text()
        assert page.errors == []
    finally:
        server.stop()


@pytest.fixture
def fake_chat(tmp_path: Path) -> Iterator[str]:
    """The app over the fake pipeline (quick answers): its URL."""
    from bot.settings import Settings
    from bot.web.app import create_app

    server = LiveServer(create_app(Settings(data_dir=tmp_path / "data"), pipeline=FakePipeline())).start()
    try:
        yield server.url
    finally:
        server.stop()


def test_gradio_chat_at_200_percent_zoom_shows_the_new_answer(browser: Any, fake_chat: str) -> None:
    context = browser.new_context(viewport={"width": 640, "height": 450})  # a 1280x900 window at 200%
    try:
        page = context.new_page()
        page.goto(f"{fake_chat}/")
        page.locator("#nb-question textarea").wait_for()
        for count, question in enumerate(("When did the Sutong Bridge open?", "And the canteen?"), start=1):
            answer = _chat_ask(page, question, count)
            page.wait_for_timeout(500)  # the chat scrolls to its newest message
            box = answer.bounding_box()
            assert box and 0 <= box["y"] and box["y"] + box["height"] <= 450, box  # on the screen, whole
            assert page.locator("#nb-question textarea").is_visible()
        _shot(page, "chat_zoom_200")
    finally:
        context.close()


def test_gradio_chat_citation_scrolls_its_passage_to_the_quote(page: Any, app_url: str) -> None:
    page.goto(f"{app_url}/")
    page.locator("#nb-question textarea").wait_for()
    answer = _chat_ask(page, "Who is Xu Xiaoyu?", 1)  # quoted from the end of a long passage
    answer.locator("a.nb-cite").first.click()
    passage = page.locator("#nb-sources-panel details.nb-src[open] .nb-src-passage").first
    outer, inner = passage.bounding_box(), passage.locator("mark").bounding_box()
    assert outer and inner and outer["height"] < passage.evaluate("e => e.scrollHeight")  # the passage scrolls...
    assert outer["y"] <= inner["y"] and inner["y"] + 16 <= outer["y"] + outer["height"]  # ...to show the quote
    _shot(page, "chat_citation_deep")
    assert page.errors == []


def test_gradio_chat_readable_status_list_of_articles_and_english_hint(page: Any, fake_chat: str) -> None:
    page.goto(f"{fake_chat}/")
    page.locator("#nb-question textarea").wait_for()
    page.evaluate("""() => { window.__said = [];
        new MutationObserver(() => document.querySelectorAll('[role=status]').forEach(
            e => window.__said.push(e.textContent))).observe(document.body,
            {subtree: true, childList: true, characterData: true}); }""")
    reply = _chat_ask(page, "What articles do you have?", 1)
    assert reply.locator("li").all_inner_texts() == ["Sutong Bridge <b>opens</b> (June 30, 2008)", "Canteen notice",
                                                     "and 1 more."]  # a list, its text as text
    assert "- " not in reply.inner_text() and reply.locator("b").count() == 0
    declined = _chat_ask(page, "苏通大桥什么时候通车？", 2)
    assert "please ask in English" in declined.inner_text()
    english = _chat_ask(page, "Who won the 1990 world cup?", 3)
    assert "please ask in English" not in english.inner_text()
    page.wait_for_function("window.__said.includes('Done')", timeout=15_000)  # said a few seconds after an answer
    page.wait_for_timeout(1000)
    said = page.evaluate("window.__said")
    assert not any("common." in text for text in said), said  # no untranslated Gradio key
    assert page.errors == []


def test_widget_list_of_articles_english_hint_and_touch_sizes(page: Any, fake_chat: str) -> None:
    page.goto(f"{fake_chat}/widget/demo")
    page.locator(f"{WIDGET} button.launcher").click()
    bubble = _widget_ask(page, "What articles do you have?")
    assert bubble.locator("li").all_inner_texts() == ["Sutong Bridge <b>opens</b> (June 30, 2008)", "Canteen notice",
                                                      "and 1 more."]
    assert "Ask me about any of them." in bubble.inner_text() and bubble.locator("b").count() == 0
    assert "please ask in English" in _widget_ask(page, "苏通大桥什么时候通车？").inner_text()
    assert "please ask in English" not in _widget_ask(page, "Who won the 1990 world cup?").inner_text()
    box = page.locator(f"{WIDGET} textarea")
    assert box.evaluate("e => getComputedStyle(e).fontSize") == "16px"  # iOS zooms into a smaller one
    close = page.locator(f"{WIDGET} button.close").bounding_box()
    assert close and close["width"] >= 44 and close["height"] >= 44
    _shot(page, "widget_list_and_hint")
    assert page.errors == []
