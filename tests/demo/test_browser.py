"""``uiwire demo`` in a real browser: the OS's headless Chromium, driven by Playwright,
against the demo server in its own process (offline: the built-in scripted model).

The tests of resumed answers (reload, second tab) run against a second server,
``demo_app()`` with the scripted model three times faster: they follow the long story to
its end in about 5 s rather than 14 s. The tests of a restart start ``uiwire demo`` on a
database file of their own, twice.

Each browser context is a browser profile of its own: its own cookies, so its own
anonymous owner, who sees only their chats.

Screenshots are test artifacts, in ``$UIWIRE_TEST_ARTIFACTS`` (by default
``build/test-artifacts/``, which git ignores): ``demo/<name>.png``, one for each
example prompt as it ends and one for each state a test checks (a refused upload, an
expired approval, a stopped answer...); and a failing test leaves a screenshot and the
HTML of each of its pages at the top of that directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Dialog,
    FilePayload,
    Locator,
    Page,
    Route,
    WebSocket,
    expect,
    sync_playwright,
)

from tests.support.processes import free_port, server_process
from uiwire.demo.model import _STORY as STORY  # pyright: ignore[reportPrivateUsage]
from uiwire.demo.model import PROMPTS

pytestmark = pytest.mark.browser

T = TypeVar("T")

ARTIFACTS = Path(
    os.environ.get("UIWIRE_TEST_ARTIFACTS")
    or Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
)
SCREENSHOTS = ARTIFACTS / "demo"
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",  # the network is closed: no update or sync calls
    "--disable-component-update",
    "--disable-sync",
]

expect.set_options(timeout=20_000)


def chromium_path() -> str:
    path = os.environ.get("UIWIRE_CHROMIUM") or shutil.which("chromium")
    if path is None:
        pytest.fail("no chromium on PATH: `apt-get install -y chromium` (.ci/run does)")
    return path


@contextlib.contextmanager
def demo_server(port: int, db: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``uiwire demo`` on ``port``, keeping its chats in ``db``, offline."""
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "uiwire", "demo", "--port", str(port), "--db", str(db)]
    env = {"OPENAI_API_KEY": ""}  # offline whatever the machine has
    with server_process(command, ready_url=f"{url}/api/demo/config", env=env) as process:
        yield process


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The database file of the ``demo_url`` server."""
    return tmp_path_factory.mktemp("demo") / "chats.db"


@pytest.fixture(scope="module")
def demo_url(demo_db: Path) -> Iterator[str]:
    port = free_port()
    with demo_server(port, demo_db):
        yield f"http://127.0.0.1:{port}"


# ``demo_app`` as ``uiwire demo`` serves it, but with the scripted model's words 10 ms
# apart; its chats in memory, or in the SQLite file named by a second argument
BRISK_SERVER = """
import sys, uvicorn
from pathlib import Path
from uiwire.demo import demo_app
from uiwire.demo.agent import demo_agent
db = Path(sys.argv[2]) if len(sys.argv) > 2 else None
app = demo_app(demo_agent(delay=0.01), db=db)
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@contextlib.contextmanager
def brisk_server(db: Path | None = None) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-c", BRISK_SERVER, str(port), *([str(db)] if db else [])]
    with server_process(command, ready_url=f"{url}/api/demo/config", env={"OPENAI_API_KEY": ""}):
        yield url


@pytest.fixture(scope="module")
def brisk_url() -> Iterator[str]:
    with brisk_server() as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


class Tabs:
    """Pages in one browser context: tabs of one browser window (same cookies)."""

    def __init__(self, context: BrowserContext) -> None:
        self.context = context
        self.outside: list[str] = []

    def open(self, url: str, *, before: Callable[[Page], object] | None = None) -> Page:
        """A new tab at ``url``; every request it makes must stay on ``url``'s server.
        ``before`` is called with the tab before it loads ``url`` (to watch it load)."""
        page = self.context.new_page()
        if before is not None:
            before(page)
        parts = urlsplit(url)
        origin = f"{parts.scheme}://{parts.netloc}/"
        page.on(
            "request",
            lambda r: (
                None
                if r.url.startswith(origin) or r.url.startswith("data:")
                else self.outside.append(r.url)
            ),
        )
        page.goto(url)
        return page


@contextlib.contextmanager
def browser_profile(
    browser: Browser,
    request: pytest.FixtureRequest,
    *,
    label: str = "",
    viewport: tuple[int, int] = (1100, 900),
) -> Iterator[Tabs]:
    """A browser profile of its own (a new context: no cookies, so a new owner); its
    pages are saved to ``ARTIFACTS`` if the test fails."""
    width, height = viewport
    tabs = Tabs(browser.new_context(viewport={"width": width, "height": height}))
    yield tabs
    call = getattr(request.node, "report_call", None)
    if call is not None and call.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = request.node.name.replace("/", "_") + label
        for index, page in enumerate(tabs.context.pages):
            stem = name if index == 0 else f"{name}-tab{index + 1}"
            page.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=True)
            (ARTIFACTS / f"{stem}.html").write_text(page.content())
    tabs.context.close()
    assert tabs.outside == [], f"the page reached outside the demo server: {tabs.outside}"


@pytest.fixture
def tabs(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Tabs]:
    with browser_profile(browser, request) as tabs:
        yield tabs


@pytest.fixture
def page(tabs: Tabs, demo_url: str) -> Page:
    page = tabs.open(demo_url)
    wait_ready(page)
    return page


@pytest.fixture
def brisk_page(tabs: Tabs, brisk_url: str) -> Page:
    page = tabs.open(brisk_url)
    wait_ready(page)
    return page


def send(page: Page, text: str) -> None:
    page.get_by_test_id("prompt").fill(text)
    page.get_by_test_id("send").click()


def wait_ready(page: Page) -> None:
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "ready")


def snapshot(page: Page, name: str) -> None:
    """Keep a screenshot of the page as ``SCREENSHOTS/<name>.png``, the viewport made
    tall enough for the whole conversation (it scrolls inside the page)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    size = page.viewport_size
    assert size is not None
    extra = page.evaluate(
        "() => { const s = document.querySelector('.scroller');"
        " return s ? s.scrollHeight - s.clientHeight : 0 }"
    )
    page.set_viewport_size({"width": size["width"], "height": min(size["height"] + extra, 6000)})
    try:
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    finally:
        page.set_viewport_size(size)


def plain(markdown: str) -> str:
    """Text as it reads, to compare Markdown with what the page shows: emphasis marks
    dropped, whitespace collapsed."""
    return " ".join(markdown.replace("*", "").split())


def last_answer(page: Page) -> Locator:
    return page.locator('[data-testid="message"][data-role="assistant"]').last


def tool(page: Page, name: str) -> Locator:
    return last_answer(page).locator(f'[data-testid="tool"][data-tool-name="{name}"]')


def messages(page: Page, role: str) -> Locator:
    return page.locator(f'[data-testid="message"][data-role="{role}"]')


def chat_id(page: Page) -> str:
    chat = page.locator(".app").get_attribute("data-chat-id")
    assert chat, "the page shows no chat id"
    return chat


def wait_until(check: Callable[[], T | None], what: str, timeout: float = 20) -> T:
    """``check()``'s first truthy value, polled until ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


def chat_item(page: Page, chat: str) -> Locator:
    """The chat's entry in the sidebar."""
    return page.locator(f'[data-testid="chat-item"][data-chat-id="{chat}"]')


def as_browser(page: Page) -> httpx.Client:
    """An HTTP client the server takes for ``page``'s browser: the page's server, and
    its browser profile's cookies (the anonymous owner)."""
    parts = urlsplit(page.url)
    cookies = {c["name"]: c["value"] for c in page.context.cookies() if "name" in c}
    return httpx.Client(base_url=f"{parts.scheme}://{parts.netloc}", cookies=cookies, timeout=5)


def saved_chat(page: Page, chat: str) -> list[dict[str, Any]] | None:
    """The conversation the server saved for ``page``'s owner (``GET /api/chats/{id}``),
    None if none; the answer being written now is left out."""
    with as_browser(page) as http:
        response = http.get(f"/api/chats/{chat}")
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()["messages"]


def saved_answer(page: Page, chat: str) -> str | None:
    """The text of the saved chat's last message if it is the assistant's."""
    saved = saved_chat(page, chat)
    if not saved or saved[-1]["role"] != "assistant":
        return None
    return "".join(p["text"] for p in saved[-1]["parts"] if p["type"] == "text")


def resume_status(page: Page, chat: str) -> int:
    """The status of ``GET /api/chat/{id}/stream`` for ``page``'s owner (the body is not
    read)."""
    with as_browser(page) as http, http.stream("GET", f"/api/chat/{chat}/stream") as response:
        return response.status_code


def test_text_streams_in(page: Page) -> None:
    send(page, "Hello")
    text = last_answer(page).get_by_test_id("text").last
    expect(text).to_be_visible()
    lengths: list[int] = []
    while page.get_by_test_id("status").get_attribute("data-status") != "ready":
        lengths.append(len(text.inner_text()))
        time.sleep(0.05)
    final = text.inner_text()
    assert "scripted agent running offline" in final
    growing = sorted(set(lengths))
    assert len(growing) >= 3, f"the text did not stream in: lengths seen {lengths}"
    assert growing[0] < len(final)
    expect(last_answer(page).get_by_test_id("reasoning")).to_contain_text("A greeting")


def test_tool_calls_show_their_input_progress_and_output(page: Page) -> None:
    send(page, "What's the weather in Paris?")
    forecast = tool(page, "get_forecast")
    # while its output is preliminary the tool is running, and says its progress once
    expect(forecast).to_have_attribute("data-preliminary", "true")
    expect(forecast.get_by_test_id("tool-state")).to_have_text("running…")
    expect(forecast.get_by_test_id("tool-progress")).to_contain_text("fetching day")
    expect(forecast.get_by_test_id("tool-output")).to_have_count(0)
    progress = forecast.inner_text()
    assert "done" not in progress, progress
    assert progress.lower().count("preliminary") <= 1, progress
    wait_ready(page)
    weather = tool(page, "get_weather")
    expect(weather).to_have_attribute("data-state", "output-available")
    expect(weather.get_by_test_id("tool-state")).to_have_text("done")
    expect(weather).to_contain_text('"city": "Paris"')
    expect(weather).to_contain_text("sunny and 21°C in Paris")
    expect(forecast).to_have_attribute("data-state", "output-available")
    expect(forecast).not_to_have_attribute("data-preliminary", "true")
    expect(forecast.get_by_test_id("tool-state")).to_have_text("done")
    expect(forecast.get_by_test_id("tool-progress")).to_have_count(0)
    expect(forecast).to_contain_text("day 3: sunny, 23°C")
    expect(last_answer(page).get_by_test_id("source")).to_have_count(2)
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("next three days")


_RECORD_FORECAST_STATES = """() => {
  // every state the forecast card goes through, whatever the polling would miss
  window.forecastStates = [];
  new MutationObserver(() => {
    const cards = document.querySelectorAll('[data-testid="data-part"][data-name="forecast"]');
    if (cards.length === 0) return;
    const card = cards[cards.length - 1];
    const days = card.querySelectorAll('[data-testid="forecast-day"]').length;
    const state = [cards.length, days, card.dataset.complete];
    const seen = window.forecastStates;
    if (JSON.stringify(seen[seen.length - 1]) !== JSON.stringify(state)) seen.push(state);
  }).observe(document.body, { subtree: true, childList: true, attributes: true });
}"""


def test_the_forecast_data_part_is_a_card(page: Page) -> None:
    page.evaluate(_RECORD_FORECAST_STATES)
    send(page, "What's the weather in Paris?")
    card = last_answer(page).locator('[data-testid="data-part"][data-name="forecast"]')
    wait_ready(page)
    # one card, filled in day by day as the tool fetches them (one data part, by id)
    states: list[list[Any]] = page.evaluate("window.forecastStates")
    assert states, "the card never showed"
    assert all(cards == 1 for cards, _, _ in states), states
    days_seen = [days for _, days, _ in states]
    assert days_seen == sorted(days_seen), states
    assert any(days < 3 and complete == "false" for _, days, complete in states), states
    assert states[-1] == [1, 3, "true"], states
    expect(card).to_have_count(1)
    expect(card).to_have_attribute("data-complete", "true")
    expect(card).to_contain_text("Forecast · Paris")
    days = card.get_by_test_id("forecast-day")
    expect(days).to_have_count(3)
    expect(days.nth(0)).to_contain_text("Day 1")
    expect(days.nth(2)).to_contain_text("23°")
    expect(days.nth(2)).to_contain_text("sunny")
    assert "{" not in card.inner_text(), "the card shows raw JSON"
    snapshot(page, "forecast-card")


def test_markdown_renders_every_gfm_construct_and_no_html(page: Page) -> None:
    dialogs: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    send(page, "Plan a weekend in Lisbon")
    wait_ready(page)
    text = last_answer(page).get_by_test_id("text").last
    expect(text.locator("h2")).to_have_text("A weekend in Lisbon")
    expect(text.locator("h3")).to_have_text(["The plan", "Before you go"])
    expect(text.locator("strong").first).to_have_text("hilly")
    expect(text.locator("em").first).to_have_text("sunny")
    expect(text.locator("del")).to_have_text("heels")
    table = text.locator("table")
    expect(table.locator("th")).to_have_text(["Day", "Morning", "Afternoon", "Evening"])
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tbody tr").nth(1).locator("td").nth(1)).to_contain_text("pastéis")
    expect(text.locator("ol > li")).to_have_count(3)
    expect(text.locator("ol > li").nth(1).locator("ul > li")).to_have_count(2)
    checkboxes = text.locator('li input[type="checkbox"]')
    expect(checkboxes).to_have_count(3)
    assert [c.is_checked() for c in checkboxes.all()] == [True, True, False]
    expect(text.locator("blockquote")).to_contain_text("Whoever has not seen Lisbon")
    expect(text.locator("li > code")).to_have_text("Viva Viagem")
    expect(text.locator("pre code")).to_contain_text('"nights": 2')
    link = text.locator("a", has_text="Lisbon on Wikipedia")
    expect(link).to_have_attribute("href", "https://en.wikipedia.org/wiki/Lisbon")
    expect(link).to_have_attribute("target", "_blank")
    # the HTML in the answer is shown as typed: no element made, nothing run
    expect(text).to_contain_text('<img src=x onerror="alert(1)">')
    expect(last_answer(page).locator("img, script, iframe")).to_have_count(0)
    shown = text.inner_text()
    assert "#" not in shown, shown  # no Markdown left raw
    assert "|---" not in shown, shown
    assert dialogs == []
    snapshot(page, "markdown")


def test_reasoning_is_open_while_it_streams(page: Page) -> None:
    # every change to the page is recorded with the reasoning panel's state then
    page.evaluate(
        """() => {
        window.reasoningSeen = [];
        new MutationObserver(() => {
          for (const r of document.querySelectorAll('[data-testid="reasoning"]'))
            window.reasoningSeen.push([r.dataset.state, r.open]);
        }).observe(document.body, {subtree: true, childList: true, attributes: true,
                                   characterData: true});
        }"""
    )
    send(page, "Hello")
    wait_ready(page)
    seen: list[list[Any]] = page.evaluate("() => window.reasoningSeen")
    streaming = [is_open for state, is_open in seen if state == "streaming"]
    assert len(streaming) >= 5, f"the reasoning was not seen streaming: {seen}"
    assert all(streaming), f"the reasoning was closed while it streamed: {seen}"
    reasoning = last_answer(page).get_by_test_id("reasoning")
    expect(reasoning).to_have_attribute("data-state", "done")
    expect(reasoning).not_to_have_attribute("open", "")  # closed once done
    reasoning.locator("summary").click()  # and opens on a click
    expect(reasoning).to_have_attribute("open", "")


def test_approving_a_tool_runs_it_and_the_chat_survives_a_reload(page: Page) -> None:
    send(page, "Book me a hotel in Paris")
    booking = tool(page, "book_hotel")
    expect(booking).to_have_attribute("data-state", "approval-requested")
    answer_id = last_answer(page).get_attribute("data-message-id")
    booking.get_by_test_id("approve").click()
    wait_ready(page)
    expect(booking).to_have_attribute("data-state", "output-available")
    expect(booking).to_contain_text("ref. HP-4821")
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("Have a good trip!")
    assert last_answer(page).get_attribute("data-message-id") == answer_id  # continued
    expect(page.locator('[data-testid="message"][data-role="assistant"]')).to_have_count(1)

    page.reload()  # the persistence hook saved the conversation: it comes back
    expect(tool(page, "book_hotel")).to_have_attribute("data-state", "output-available")
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("Have a good trip!")


def test_denying_a_tool_tells_the_model(page: Page) -> None:
    send(page, "Book me a hotel in Paris")
    booking = tool(page, "book_hotel")
    expect(booking).to_have_attribute("data-state", "approval-requested")
    booking.get_by_test_id("deny-reason").fill("too expensive")
    booking.get_by_test_id("deny").click()
    wait_ready(page)
    expect(booking).to_have_attribute("data-state", "output-denied")
    expect(booking).to_contain_text("too expensive")
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("did not book anything")


def test_a_client_side_tool_runs_in_the_browser(page: Page) -> None:
    send(page, "What time is it for me?")
    wait_ready(page)
    local_time = tool(page, "get_local_time")
    expect(local_time).to_have_attribute("data-state", "output-available")
    expect(local_time).to_contain_text('"timeZone"')
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("Your browser says")


def test_regenerate_replaces_the_answer(page: Page) -> None:
    send(page, "Hello")
    wait_ready(page)
    first_id = last_answer(page).get_attribute("data-message-id")
    page.get_by_test_id("regenerate").click()
    expect(last_answer(page)).not_to_have_attribute("data-message-id", first_id or "")
    wait_ready(page)
    expect(page.locator('[data-testid="message"][data-role="assistant"]')).to_have_count(1)
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("running offline")


def test_stop_ends_a_long_answer_mid_stream(page: Page, demo_url: str) -> None:
    send(page, "Tell me a long story")
    text = last_answer(page).get_by_test_id("text").last
    expect(text).to_contain_text("lighthouse")
    chat = chat_id(page)
    stop_url = f"{demo_url}/api/chat/{chat}/stop"
    with page.expect_response(
        lambda r: r.url == stop_url and r.request.method == "POST", timeout=10_000
    ) as stop_response:
        page.get_by_test_id("stop").click()
    assert stop_response.value.status == 202  # the server had an answer to stop
    wait_ready(page)
    stopped = text.inner_text()
    time.sleep(1.0)  # nothing more arrives
    assert text.inner_text() == stopped
    assert 0 < len(stopped) < 1000, "the whole story arrived: stop did nothing"
    # the answer says it was stopped; only the stopped answer does
    expect(last_answer(page).get_by_test_id("stopped")).to_be_visible()
    expect(page.get_by_test_id("stopped")).to_have_count(1)
    snapshot(page, "stopped")
    # the server stopped generating: the answer it saved ends where the page's does (or a
    # few words later: the page stops reading once the stop is acknowledged), long
    # before the story's end, and there is nothing left to resume
    saved = wait_until(lambda: saved_answer(page, chat), "the stopped answer to be saved")
    assert plain(saved).startswith(plain(stopped)), (saved, stopped)
    assert len(saved) < 1000, "the server generated the whole story: stop only closed the tab"
    assert resume_status(page, chat) == 204
    send(page, "Hello")  # the chat goes on
    wait_ready(page)
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("running offline")
    expect(page.get_by_test_id("stopped")).to_have_count(1)  # the new answer finished
    expect(last_answer(page).get_by_test_id("stopped")).to_have_count(0)


def test_a_reload_mid_answer_resumes_it(brisk_page: Page, brisk_url: str) -> None:
    page = brisk_page
    send(page, "Tell me a long story")
    text = last_answer(page).get_by_test_id("text").last
    expect(text).to_contain_text("lighthouse")
    chat = chat_id(page)
    answer_id = last_answer(page).get_attribute("data-message-id")
    resume_url = f"{brisk_url}/api/chat/{chat}/stream"
    with page.expect_response(lambda r: r.url == resume_url, timeout=10_000) as resumed:
        page.reload()
    assert resumed.value.status == 200, "the reloaded page found no answer to resume"
    # the question is back (saved when the turn started), and the answer is replayed
    # part way, then keeps growing live to its end
    expect(messages(page, "user")).to_contain_text("Tell me a long story")
    expect(text).to_be_visible()
    replayed = text.inner_text()
    assert 0 < len(plain(replayed)) < len(plain(STORY)), "the answer was not resumed mid-way"
    assert plain(STORY).startswith(plain(replayed))
    wait_ready(page)
    assert plain(text.inner_text()) == plain(STORY)
    expect(messages(page, "user")).to_have_count(1)
    expect(messages(page, "assistant")).to_have_count(1)
    assert last_answer(page).get_attribute("data-message-id") == answer_id
    expect(page.get_by_test_id("error")).to_have_count(0)
    # the server saved the whole answer, once
    assert wait_until(lambda: saved_answer(page, chat), "the answer to be saved") == STORY
    saved = saved_chat(page, chat)
    assert saved is not None
    assert [m["role"] for m in saved] == ["user", "assistant"]
    assert saved[-1]["id"] == answer_id


def test_an_answer_that_ends_before_the_resume_is_loaded_again(
    brisk_page: Page, brisk_url: str
) -> None:
    """The reloaded page loads the saved chat, then asks for the answer in progress: if
    the answer ended in between (204), the page loads the chat again to show it."""
    page = brisk_page
    send(page, "Tell me a long story")
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("lighthouse")
    chat = chat_id(page)
    held: list[Route] = []
    # the resume request is held until the answer has ended
    page.route(f"{brisk_url}/api/chat/{chat}/stream", lambda route: held.append(route))
    page.reload()
    expect(messages(page, "user")).to_contain_text("Tell me a long story")
    expect(messages(page, "assistant")).to_have_count(0)  # loaded mid-answer
    deadline = time.monotonic() + 20
    while not held:  # Playwright's wait lets the route handler run; time.sleep would not
        assert time.monotonic() < deadline, "the reloaded page did not try to resume"
        page.wait_for_timeout(20)
    with as_browser(page) as http:
        assert http.post(f"/api/chat/{chat}/stop", json={}).status_code == 202

    def ended_and_saved() -> str | None:
        return saved_answer(page, chat) if resume_status(page, chat) == 204 else None

    saved = wait_until(ended_and_saved, "the stopped answer to be saved")
    held[0].continue_()  # the resume now finds nothing in progress
    text = last_answer(page).get_by_test_id("text").last
    expect(text).to_be_visible()
    assert plain(text.inner_text()) == plain(saved)
    expect(messages(page, "user")).to_have_count(1)
    expect(messages(page, "assistant")).to_have_count(1)
    wait_ready(page)
    expect(page.get_by_test_id("error")).to_have_count(0)


def test_a_second_tab_follows_the_answer_live_after_the_first_left(
    tabs: Tabs, brisk_page: Page, brisk_url: str
) -> None:
    first = brisk_page
    stops: list[str] = []
    first.on("request", lambda r: stops.append(r.url) if r.url.endswith("/stop") else None)
    send(first, "Tell me a long story")
    expect(last_answer(first).get_by_test_id("text").last).to_contain_text("lighthouse")
    chat = chat_id(first)
    answer_id = last_answer(first).get_attribute("data-message-id")
    second = tabs.open(f"{brisk_url}/?chat={chat}")
    assert chat_id(second) == chat
    text = last_answer(second).get_by_test_id("text").last
    expect(text).to_be_visible()
    expect(second.get_by_test_id("status")).to_have_attribute("data-status", "streaming")
    early = text.inner_text()
    assert 0 < len(plain(early)) < len(plain(STORY)), "the second tab did not join mid-answer"
    # the first tab leaves the chat: it stops listening, but does not stop the answer
    first.get_by_test_id("new-chat").click()
    assert chat_id(first) != chat
    wait_ready(second)
    assert plain(text.inner_text()) == plain(STORY)
    expect(messages(second, "user")).to_have_count(1)
    expect(messages(second, "assistant")).to_have_count(1)
    assert last_answer(second).get_attribute("data-message-id") == answer_id
    expect(second.get_by_test_id("error")).to_have_count(0)
    assert stops == [], "leaving the chat stopped the answer"
    assert wait_until(lambda: saved_answer(second, chat), "the answer to be saved") == STORY


def test_a_tab_following_an_answer_marks_it_stopped_when_another_stops_it(
    tabs: Tabs, brisk_page: Page, brisk_url: str
) -> None:
    """The stopped marker comes from the stream (its ``abort`` chunk), not only from
    this page's own Stop."""
    first = brisk_page
    send(first, "Tell me a long story")
    expect(last_answer(first).get_by_test_id("text").last).to_contain_text("lighthouse")
    second = tabs.open(f"{brisk_url}/?chat={chat_id(first)}")
    expect(second.get_by_test_id("status")).to_have_attribute("data-status", "streaming")
    first.get_by_test_id("stop").click()
    wait_ready(first)
    wait_ready(second)
    for page in (first, second):
        expect(last_answer(page).get_by_test_id("stopped")).to_be_visible()
        expect(page.get_by_test_id("error")).to_have_count(0)


def test_errors_are_shown_masked_with_one_retry(page: Page) -> None:
    send(page, "Show me an error")
    error = page.get_by_test_id("error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("An error occurred.")
    expect(error).not_to_contain_text("on purpose")
    # one way to try again: the error's Retry, no Regenerate next to it
    expect(page.get_by_test_id("retry")).to_have_count(1)
    expect(page.get_by_test_id("regenerate")).to_have_count(0)
    snapshot(page, "error")
    page.get_by_test_id("retry").click()
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "error")
    expect(page.get_by_test_id("retry")).to_have_count(1)
    expect(page.get_by_test_id("regenerate")).to_have_count(0)
    expect(messages(page, "user")).to_have_count(1)
    send(page, "Use the broken tool")
    wait_ready(page)
    expect(page.get_by_test_id("error")).to_have_count(0)
    broken = tool(page, "broken_tool")
    expect(broken).to_have_attribute("data-state", "output-error")
    expect(broken.get_by_test_id("tool-error")).to_contain_text("An error occurred.")
    expect(broken).not_to_contain_text("10.0.0.7")
    expect(page.get_by_test_id("regenerate")).to_have_count(1)


def test_an_unanswered_approval_expires_when_the_chat_moves_on(page: Page) -> None:
    send(page, "Book me a hotel in Paris")
    booking = tool(page, "book_hotel")
    expect(booking).to_have_attribute("data-state", "approval-requested")
    wait_ready(page)
    expect(booking.get_by_test_id("approve")).to_be_enabled()
    # an answer waiting for approval has nothing to regenerate
    expect(page.get_by_test_id("regenerate")).to_have_count(0)
    send(page, "Hello")  # the approval is left unanswered
    wait_ready(page)
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("running offline")
    stale = messages(page, "assistant").first.get_by_test_id("tool")
    expect(stale).to_have_attribute("data-expired", "true")
    expect(stale.get_by_test_id("tool-state")).to_have_text("expired")
    expect(stale.get_by_test_id("approval-expired")).to_be_visible()
    expect(stale.get_by_test_id("approve")).to_have_count(0)
    expect(stale.get_by_test_id("deny")).to_have_count(0)
    expect(page.get_by_test_id("regenerate")).to_have_count(1)
    snapshot(page, "approval-expired")


def _file(name: str, size: int) -> FilePayload:
    """A PDF of ``size`` bytes, to attach."""
    return {"name": name, "mimeType": "application/pdf", "buffer": b"%PDF" + b"\0" * (size - 4)}


def _chat_posts(page: Page) -> list[dict[str, Any]]:
    posted: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: (
            posted.append(r.post_data_json)
            if r.method == "POST" and urlsplit(r.url).path == "/api/chat"
            else None
        ),
    )
    return posted


def test_a_file_over_the_limit_is_refused_before_it_is_sent(page: Page) -> None:
    posted = _chat_posts(page)
    # the server takes 8 MiB bodies: 7 MiB of file is over 8 MiB as base64
    page.get_by_test_id("attach").set_input_files(_file("scan.pdf", 7 * 1024 * 1024))
    notice = page.get_by_test_id("upload-notice")
    expect(notice).to_contain_text("“scan.pdf” (7 MB) is too large to send")
    expect(notice).to_contain_text("at most 5.9 MB")
    expect(page.locator(".attachment")).to_have_count(0)  # not attached
    expect(page.get_by_test_id("send")).to_be_disabled()
    snapshot(page, "upload-too-large")
    small = _file("note.pdf", 2 * 1024)
    page.get_by_test_id("attach").set_input_files(small)  # a small file goes through
    expect(notice).to_have_count(0)
    send(page, "What is in this file?")
    wait_ready(page)
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("You sent note.pdf")
    assert len(posted) == 1
    sent = posted[0]["message"]["parts"]
    assert [part["type"] for part in sent] == ["file", "text"]
    assert sent[0]["filename"] == "note.pdf"


def test_a_refused_message_is_explained_and_the_chat_stays_usable(
    page: Page, demo_url: str
) -> None:
    """The page is told a larger limit than the server's, so it sends what the server
    refuses (413): the page says so in a sentence, takes the message back out of the
    chat (the text returns to the box), and the next message goes through."""

    def larger_limit(route: Route) -> None:
        config = route.fetch().json()
        config["maxBodyBytes"] = 64 * 1024 * 1024
        route.fulfill(json=config)

    page.route(f"{demo_url}/api/demo/config", larger_limit)
    page.reload()
    wait_ready(page)
    send(page, "Hello")
    wait_ready(page)
    posted = _chat_posts(page)
    page.get_by_test_id("attach").set_input_files(_file("big.pdf", 9 * 1024 * 1024))
    expect(page.get_by_test_id("upload-notice")).to_have_count(0)
    with page.expect_response(lambda r: urlsplit(r.url).path == "/api/chat") as refused:
        send(page, "What is in this big file?")
    assert refused.value.status == 413
    error = page.get_by_test_id("error")
    expect(error).to_be_visible()
    expect(error).to_have_attribute("data-refused", "true")
    expect(error).to_contain_text("Your message was not sent: it is larger than the server")
    shown = error.inner_text()
    assert "{" not in shown, shown  # never the server's JSON
    assert "body_too_large" not in shown, shown
    expect(page.get_by_test_id("retry")).to_have_count(0)
    expect(messages(page, "user")).to_have_text(["Hello"])  # taken back out
    expect(page.get_by_test_id("prompt")).to_have_value("What is in this big file?")
    expect(page.locator(".attachment")).to_have_count(0)
    snapshot(page, "upload-refused")
    # the chat goes on: the text is sent again, without the file
    page.get_by_test_id("send").click()
    wait_ready(page)
    expect(page.get_by_test_id("error")).to_have_count(0)
    expect(messages(page, "user")).to_have_text(["Hello", "What is in this big file?"])
    expect(messages(page, "assistant")).to_have_count(2)
    send(page, "What time is it for me?")
    wait_ready(page)
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("Your browser says")
    assert [part["type"] for part in posted[1]["message"]["parts"]] == ["text"]
    assert all(part["type"] != "file" for body in posted[1:] for part in body["message"]["parts"])
    # the server never had the refused message
    saved = saved_chat(page, chat_id(page))
    assert saved is not None
    assert [m["role"] for m in saved].count("user") == 3


@pytest.mark.parametrize(("label", "text"), PROMPTS, ids=[label for label, _ in PROMPTS])
def test_each_example_prompt(page: Page, label: str, text: str) -> None:
    """Each example prompt, sent with its button, ends as it should; its screenshot is
    kept."""
    page.get_by_role("button", name=f"Send example prompt: {label}").click()
    expect(messages(page, "user")).to_have_text([text])
    if label == "Approval":
        expect(tool(page, "book_hotel")).to_have_attribute("data-state", "approval-requested")
    if label == "Error":
        expect(page.get_by_test_id("error")).to_be_visible()
    else:
        wait_ready(page)
        expect(page.get_by_test_id("error")).to_have_count(0)
        expect(last_answer(page).get_by_test_id("text").last).not_to_be_empty()
    snapshot(page, f"prompt-{label.lower().replace(' ', '-')}")


def test_the_sidebar_lists_switches_and_deletes_the_owners_chats(page: Page) -> None:
    titles = page.get_by_test_id("chat-title")
    expect(page.get_by_test_id("no-chats")).to_be_visible()
    expect(page.get_by_test_id("toggle-sidebar")).to_be_hidden()  # wide: always shown
    assert "chat=" not in page.url  # a chat goes into the URL once the server has it
    send(page, "Hello")
    wait_ready(page)
    first = chat_id(page)
    expect(page).to_have_url(re.compile(rf"\?chat={re.escape(first)}$"))
    expect(titles).to_have_text(["Hello"])
    expect(chat_item(page, first)).to_have_attribute("data-current", "true")

    page.get_by_test_id("new-chat").click()
    second = chat_id(page)
    assert second != first
    expect(messages(page, "user")).to_have_count(0)
    expect(chat_item(page, first)).to_have_attribute("data-current", "false")
    send(page, "Tell me a long story")
    # listed as soon as its turn started, while the answer is still being written
    expect(chat_item(page, second)).to_have_attribute("data-current", "true")
    assert page.get_by_test_id("status").get_attribute("data-status") == "streaming"
    expect(titles).to_have_text(["Tell me a long story", "Hello"])  # newest first
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("lighthouse")
    page.get_by_test_id("stop").click()
    wait_ready(page)

    # switching shows each chat's own messages, as the server saved them
    chat_item(page, first).get_by_test_id("chat-link").click()
    expect(page.locator(".app")).to_have_attribute("data-chat-id", first)
    expect(messages(page, "user")).to_have_text(["Hello"])
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("running offline")
    expect(chat_item(page, first)).to_have_attribute("data-current", "true")
    expect(chat_item(page, second)).to_have_attribute("data-current", "false")
    expect(page).to_have_url(re.compile(rf"\?chat={re.escape(first)}$"))
    chat_item(page, second).get_by_test_id("chat-link").click()
    expect(page.locator(".app")).to_have_attribute("data-chat-id", second)
    expect(messages(page, "user")).to_have_text(["Tell me a long story"])
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("lighthouse")
    expect(messages(page, "assistant")).to_have_count(1)
    page.go_back()  # the browser's history goes back to the first chat
    expect(page.locator(".app")).to_have_attribute("data-chat-id", first)
    expect(messages(page, "user")).to_have_text(["Hello"])

    # delete asks first; cancelling keeps the chat
    chat_item(page, second).get_by_test_id("delete-chat").click()
    chat_item(page, second).get_by_test_id("cancel-delete").click()
    expect(titles).to_have_text(["Tell me a long story", "Hello"])
    chat_item(page, second).get_by_test_id("delete-chat").click()
    chat_item(page, second).get_by_test_id("confirm-delete").click()
    expect(titles).to_have_text(["Hello"])
    expect(page.locator(".app")).to_have_attribute("data-chat-id", first)  # still open
    assert saved_chat(page, second) is None
    # deleting the open chat leaves it for a new one
    chat_item(page, first).get_by_test_id("delete-chat").click()
    chat_item(page, first).get_by_test_id("confirm-delete").click()
    expect(page.get_by_test_id("no-chats")).to_be_visible()
    expect(messages(page, "user")).to_have_count(0)
    assert chat_id(page) not in (first, second)
    assert "chat=" not in page.url
    assert saved_chat(page, first) is None
    page.reload()
    expect(page.get_by_test_id("no-chats")).to_be_visible()


def test_on_a_narrow_screen_the_chat_list_is_a_drawer(
    browser: Browser, request: pytest.FixtureRequest, demo_url: str
) -> None:
    with browser_profile(browser, request, viewport=(390, 800)) as phone:
        page = phone.open(demo_url)
        wait_ready(page)
        send(page, "Hello")
        wait_ready(page)
        first = chat_id(page)
        page.get_by_test_id("new-chat").click()
        sidebar = page.get_by_test_id("sidebar")
        toggle = page.get_by_test_id("toggle-sidebar")
        expect(sidebar).to_be_hidden()
        expect(toggle).to_have_attribute("aria-expanded", "false")
        toggle.click()
        expect(sidebar).to_be_visible()
        expect(toggle).to_have_attribute("aria-expanded", "true")
        chat_item(page, first).get_by_test_id("chat-link").click()
        expect(sidebar).to_be_hidden()  # choosing a chat closes the drawer
        expect(messages(page, "user")).to_have_text(["Hello"])
        toggle.click()
        expect(sidebar).to_be_visible()
        page.keyboard.press("Escape")
        expect(sidebar).to_be_hidden()


def test_another_browser_profile_sees_none_of_the_first_ones_chats(
    page: Page, browser: Browser, request: pytest.FixtureRequest, demo_url: str
) -> None:
    send(page, "Hello")
    wait_ready(page)
    chat = chat_id(page)
    expect(chat_item(page, chat)).to_be_visible()
    with browser_profile(browser, request, label="-stranger") as stranger:
        other = stranger.open(demo_url)
        wait_ready(other)
        expect(other.get_by_test_id("no-chats")).to_be_visible()
        other.goto(f"{demo_url}/?chat={chat}")  # the first profile's chat URL
        expect(other.get_by_test_id("not-found")).to_be_visible()
        expect(other.get_by_test_id("message")).to_have_count(0)
        expect(other.get_by_test_id("no-chats")).to_be_visible()
        # by hand, with the stranger's cookie, every route answers as for no chat at all
        with as_browser(other) as http:
            assert http.get("/api/chats").json()["chats"] == []
            assert http.get(f"/api/chats/{chat}").status_code == 404
            assert http.get(f"/api/chat/{chat}/stream").status_code == 404
            assert http.post(f"/api/chat/{chat}/stop", json={}).status_code == 404
            assert http.delete(f"/api/chats/{chat}").status_code == 404
        # "Start a new chat" from there starts one of the stranger's own
        other.get_by_test_id("not-found").get_by_role("button").click()
        assert chat_id(other) != chat
        send(other, "Hello")
        wait_ready(other)
        expect(other.get_by_test_id("chat-item")).to_have_count(1)
        assert chat_id(other) != chat
    # the owner still has the chat, whole, and only theirs
    page.reload()
    expect(messages(page, "user")).to_have_text(["Hello"])
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("running offline")
    expect(page.get_by_test_id("chat-item")).to_have_count(1)


def test_the_page_posts_the_last_message_only(page: Page) -> None:
    """The server keeps the conversation: the page sends the new message, not the whole
    chat again (files travel once); a continuation sends the assistant message."""
    posted: list[dict[str, Any]] = []
    page.on(
        "request",
        lambda r: (
            posted.append(r.post_data_json)
            if r.method == "POST" and urlsplit(r.url).path == "/api/chat"
            else None
        ),
    )
    send(page, "Hello")
    wait_ready(page)
    send(page, "Book me a hotel in Paris")
    booking = tool(page, "book_hotel")
    expect(booking).to_have_attribute("data-state", "approval-requested")
    answer_id = last_answer(page).get_attribute("data-message-id")
    booking.get_by_test_id("approve").click()
    wait_ready(page)
    expect(booking).to_have_attribute("data-state", "output-available")
    assert len(posted) == 3, posted
    assert all("messages" not in body for body in posted), (
        "the page posted the whole conversation: set SEND_LAST_MESSAGE_ONLY = true in "
        "web/src/api.ts once the server accepts the last-message body ({id, message})"
    )
    assert [body["message"]["role"] for body in posted] == ["user", "user", "assistant"]
    assert posted[1]["message"]["parts"][0]["text"] == "Book me a hotel in Paris"
    assert posted[2]["message"]["id"] == answer_id
    assert {body["id"] for body in posted} == {chat_id(page)}


def test_a_chat_survives_a_restart_of_the_server(tabs: Tabs, tmp_path: Path) -> None:
    """The chats are in the database file, and the cookie secret with them: after a
    restart on the same ``--db`` the same browser still owns its chat, and goes on."""
    db = tmp_path / "chats.db"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with demo_server(port, db):
        page = tabs.open(url)
        wait_ready(page)
        send(page, "Hello")
        wait_ready(page)
        chat = chat_id(page)
        expect(chat_item(page, chat)).to_be_visible()
    with demo_server(port, db):
        page.reload()
        expect(page.locator(".app")).to_have_attribute("data-chat-id", chat)
        expect(page.get_by_test_id("not-found")).to_have_count(0)
        expect(messages(page, "user")).to_have_text(["Hello"])
        expect(last_answer(page).get_by_test_id("text").last).to_contain_text("running offline")
        expect(chat_item(page, chat)).to_have_attribute("data-current", "true")
        send(page, "What time is it for me?")  # the stored chat goes on
        wait_ready(page)
        expect(last_answer(page).get_by_test_id("text").last).to_contain_text("Your browser says")
        expect(messages(page, "user")).to_have_count(2)


def test_an_answer_cut_off_by_a_crash_is_shown_interrupted(tabs: Tabs, tmp_path: Path) -> None:
    """The server dies mid-answer (SIGKILL): after a restart the question and the answer
    as last saved are there, marked interrupted, and the chat goes on."""
    db = tmp_path / "chats.db"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with demo_server(port, db) as server:
        page = tabs.open(url)
        wait_ready(page)
        send(page, "Tell me a long story")
        expect(last_answer(page).get_by_test_id("text").last).to_contain_text("lighthouse")
        chat = chat_id(page)
        answer_id = last_answer(page).get_attribute("data-message-id")
        server.kill()
        server.wait(10)
    with demo_server(port, db):
        page.reload()
        expect(page.locator(".app")).to_have_attribute("data-chat-id", chat)
        expect(messages(page, "user")).to_have_text(["Tell me a long story"])
        answer = last_answer(page)
        expect(answer).to_have_attribute("data-message-id", answer_id or "")
        expect(answer.get_by_test_id("interrupted")).to_be_visible()
        wait_ready(page)  # nothing to resume: no answer is being written
        send(page, "Hello")
        wait_ready(page)
        expect(last_answer(page).get_by_test_id("text").last).to_contain_text("running offline")
        expect(page.get_by_test_id("interrupted")).to_have_count(1)


# --- over WebSocket ---------------------------------------------------------------------
#
# The same page with its transport switched to AI SDK 7's WebSocketChatTransport, on the
# `/api/chat/ws` socket `ChatEndpoint.routes("/api/chat")` serves. `Traffic` records what
# went over the wire: the sockets the page opened, the frames it sent and received on
# them (JSON), and its POSTs.

BRISK_DB = "brisk-chats.db"

# Keeps every WebSocket the page opens in `window.__uiwireSockets`, so that a test can
# drop one (`close()`: the transport sees its connection close, as on a network failure).
KEEP_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  const opened = [];
  window.__uiwireSockets = opened;
  window.WebSocket = class extends Native {
    constructor(url, protocols) {
      super(url, protocols);
      opened.push(this);
    }
  };
})();
"""


class Traffic:
    """What ``page`` sends and receives from now on: its sockets (paths), the frames on
    them, and the paths it POSTs to."""

    def __init__(self, page: Page) -> None:
        self.sockets: list[str] = []
        self.opened: list[WebSocket] = []
        self.sent: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []
        self.posts: list[str] = []
        page.on("websocket", self._opened)
        page.on(
            "request",
            lambda r: self.posts.append(urlsplit(r.url).path) if r.method == "POST" else None,
        )

    def _opened(self, socket: WebSocket) -> None:
        self.sockets.append(urlsplit(socket.url).path)
        self.opened.append(socket)
        socket.on("framesent", lambda payload: self.sent.append(_frame(payload)))
        socket.on("framereceived", lambda payload: self.received.append(_frame(payload)))

    def sent_of(self, kind: str) -> list[dict[str, Any]]:
        return [frame for frame in self.sent if frame.get("type") == kind]

    def answer_to(self, request_id: str) -> list[dict[str, Any]]:
        """The frames the server sent for one request, in order."""
        return [frame for frame in self.received if frame.get("requestId") == request_id]


def wait_on_page(page: Page, check: Callable[[], T | None], what: str, timeout: float = 30) -> T:
    """``check()``'s first truthy value, polled with Playwright's wait (which lets the
    page's events, such as frames, be recorded; ``time.sleep`` would not)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        page.wait_for_timeout(50)


def _frame(payload: str | bytes) -> dict[str, Any]:
    value = json.loads(payload)
    assert isinstance(value, dict), payload
    return cast("dict[str, Any]", value)


def replayed_text(frames: list[dict[str, Any]]) -> str:
    """The text of the chunks in one request's frames, checking their numbering: from 0,
    no gap, no repeat."""
    chunks = [frame for frame in frames if frame["type"] == "chunk"]
    assert [c["sequence"] for c in chunks] == list(range(len(chunks))), chunks[:3]
    return "".join(c["chunk"]["delta"] for c in chunks if c["chunk"]["type"] == "text-delta")


def open_over_socket(tabs: Tabs, url: str) -> Page:
    """A tab on ``url`` whose chat goes over the WebSocket (``?transport=ws``)."""
    page = tabs.open(f"{url}/?transport=ws")
    expect(page.locator(".app")).to_have_attribute("data-transport", "ws")
    wait_ready(page)
    return page


def answer_state(db: Path, chat: str, message_id: str) -> str | None:
    """How the server saved the answer ``message_id`` (``running``, ``finish``, ``abort``,
    ...), read from its SQLite file; None if it has no such answer."""
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)) as db_:
        row = db_.execute(
            "SELECT state FROM uiwire_messages WHERE chat_id = ? AND message_id = ?",
            (chat, message_id),
        ).fetchone()
    return None if row is None else str(row[0])


@pytest.fixture(scope="module")
def brisk_socket_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """The brisk server, keeping its chats in a SQLite file the tests read."""
    db = tmp_path_factory.mktemp("brisk") / BRISK_DB
    with brisk_server(db) as url:
        yield url, db


def test_the_switch_sends_over_the_websocket_and_is_kept(page: Page, demo_url: str) -> None:
    """The page starts on HTTP; the switch moves it to the socket: a prompt streams its
    whole answer over `/api/chat/ws` (nothing is posted to `/api/chat`), and the choice
    survives a reload. Switching back posts again."""
    expect(page.get_by_test_id("transport-http")).to_have_attribute("aria-pressed", "true")
    expect(page.locator(".app")).to_have_attribute("data-transport", "http")
    traffic = Traffic(page)
    page.get_by_test_id("transport-ws").click()
    expect(page.locator(".app")).to_have_attribute("data-transport", "ws")
    expect(page.get_by_test_id("transport-ws")).to_have_attribute("aria-pressed", "true")
    send(page, "Hello")
    text = last_answer(page).get_by_test_id("text").last
    expect(text).to_be_visible()
    lengths: list[int] = []
    while page.get_by_test_id("status").get_attribute("data-status") != "ready":
        lengths.append(len(text.inner_text()))
        time.sleep(0.05)
    final = text.inner_text()
    assert "scripted agent running offline" in final
    assert len(set(lengths)) >= 3, f"the text did not stream in: lengths seen {lengths}"
    expect(last_answer(page).get_by_test_id("reasoning")).to_contain_text("A greeting")
    assert traffic.sockets == ["/api/chat/ws"]
    assert [p for p in traffic.posts if p.startswith("/api/chat")] == []
    (sent,) = traffic.sent_of("send")
    chat = chat_id(page)
    assert sent["id"] == chat
    assert [m["role"] for m in sent["messages"]] == ["user"]  # the last message only
    answer = traffic.answer_to(sent["requestId"])
    assert answer[0]["type"] == "start"
    assert answer[-1]["type"] == "end"
    assert replayed_text(answer) == wait_until(
        lambda: saved_answer(page, chat), "the answer to be saved"
    )
    snapshot(page, "websocket-answer")

    page.reload()  # the choice is kept, and the chat is loaded as saved
    expect(page.locator(".app")).to_have_attribute("data-transport", "ws")
    expect(page.get_by_test_id("transport-ws")).to_have_attribute("aria-pressed", "true")
    expect(last_answer(page).get_by_test_id("text").last).to_have_text(final)

    page.get_by_test_id("transport-http").click()
    expect(page.locator(".app")).to_have_attribute("data-transport", "http")
    expect(last_answer(page).get_by_test_id("text").last).to_have_text(final)
    with page.expect_request(
        lambda r: r.method == "POST" and r.url == f"{demo_url}/api/chat", timeout=10_000
    ):
        send(page, "What's the weather in Paris?")
    wait_ready(page)
    expect(messages(page, "assistant")).to_have_count(2)
    expect(page.get_by_test_id("error")).to_have_count(0)


def test_over_websocket_an_answer_survives_a_dropped_socket(
    tabs: Tabs, demo_url: str, demo_db: Path
) -> None:
    """The socket drops mid-answer: the page resumes on a new socket, the server replays
    the answer from its first chunk and follows it to its end; the page shows it whole,
    once, as the server saved it. (At the demo's own pace: the story takes 12 s, ample
    time for the page to resume before it ends.)"""
    tabs.context.add_init_script(KEEP_SOCKETS)
    page = open_over_socket(tabs, demo_url)
    traffic = Traffic(page)
    send(page, "Tell me a long story")
    text = last_answer(page).get_by_test_id("text").last
    expect(text).to_contain_text("lighthouse")
    chat = chat_id(page)
    answer_id = last_answer(page).get_attribute("data-message-id")
    assert answer_id
    page.evaluate("() => window.__uiwireSockets.at(-1).close()")  # the socket drops
    (resume,) = wait_on_page(page, lambda: traffic.sent_of("resume"), "the page to resume")
    assert resume["id"] == chat
    wait_ready(page)
    expect(page.get_by_test_id("error")).to_have_count(0)
    # a new socket, and the answer replayed on it: it was cut off mid-way, then replayed
    # from its first chunk to its end
    assert traffic.sockets == ["/api/chat/ws", "/api/chat/ws"]
    (sent,) = traffic.sent_of("send")
    before = traffic.answer_to(sent["requestId"])
    assert before[0]["type"] == "start"
    assert "end" not in [frame["type"] for frame in before], "the answer ended before the drop"
    assert 0 < len(replayed_text(before)) < len(STORY)
    replay = traffic.answer_to(resume["requestId"])
    assert [replay[0]["type"], replay[-1]["type"]] == ["start", "end"]
    assert replayed_text(replay) == STORY
    # the page shows the whole story once, in the same message, as the server saved it
    assert plain(text.inner_text()) == plain(STORY)
    expect(last_answer(page).get_by_test_id("text")).to_have_count(1)
    expect(messages(page, "user")).to_have_count(1)
    expect(messages(page, "assistant")).to_have_count(1)
    assert last_answer(page).get_attribute("data-message-id") == answer_id
    assert wait_until(lambda: saved_answer(page, chat), "the answer to be saved") == STORY
    assert answer_state(demo_db, chat, answer_id) == "finish"
    assert [p for p in traffic.posts if p.startswith("/api/chat")] == []
    snapshot(page, "websocket-resumed")
    send(page, "Hello")  # the chat goes on, on the new socket
    wait_ready(page)
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("running offline")
    assert len(traffic.sockets) == 2


def test_over_websocket_a_reload_mid_answer_resumes_it(
    tabs: Tabs, brisk_socket_server: tuple[str, Path]
) -> None:
    url, _ = brisk_socket_server
    page = open_over_socket(tabs, url)
    traffic = Traffic(page)
    send(page, "Tell me a long story")
    text = last_answer(page).get_by_test_id("text").last
    expect(text).to_contain_text("lighthouse")
    chat = chat_id(page)
    answer_id = last_answer(page).get_attribute("data-message-id")
    page.reload()
    expect(page.locator(".app")).to_have_attribute("data-transport", "ws")
    (resume,) = wait_on_page(page, lambda: traffic.sent_of("resume"), "the reloaded page to resume")
    assert resume["id"] == chat
    expect(messages(page, "user")).to_contain_text("Tell me a long story")
    wait_ready(page)
    replay = traffic.answer_to(resume["requestId"])
    assert replay[0]["type"] == "start", "the reloaded page found no answer to resume"
    assert replayed_text(replay) == STORY
    assert plain(text.inner_text()) == plain(STORY)
    expect(messages(page, "user")).to_have_count(1)
    expect(messages(page, "assistant")).to_have_count(1)
    assert last_answer(page).get_attribute("data-message-id") == answer_id
    expect(page.get_by_test_id("error")).to_have_count(0)
    assert wait_until(lambda: saved_answer(page, chat), "the answer to be saved") == STORY


def test_switching_transport_mid_answer_resumes_it_over_the_other(
    tabs: Tabs, brisk_socket_server: tuple[str, Path]
) -> None:
    """Switching mid-answer does not stop the answer (no `abort` frame, no stop POST):
    the chat is loaded again and the answer resumed over the other transport, whole and
    once; the socket of the chat left behind is closed."""
    url, _ = brisk_socket_server
    page = open_over_socket(tabs, url)
    traffic = Traffic(page)
    send(page, "Tell me a long story")
    text = last_answer(page).get_by_test_id("text").last
    expect(text).to_contain_text("lighthouse")
    chat = chat_id(page)
    with page.expect_response(
        lambda r: r.url == f"{url}/api/chat/{chat}/stream", timeout=20_000
    ) as resumed:
        page.get_by_test_id("transport-http").click()
    assert resumed.value.status == 200, "nothing to resume: ended, or stopped by the switch"
    wait_ready(page)
    assert plain(last_answer(page).get_by_test_id("text").last.inner_text()) == plain(STORY)
    expect(messages(page, "assistant")).to_have_count(1)
    expect(page.get_by_test_id("error")).to_have_count(0)
    assert traffic.sent_of("abort") == [], "leaving the socket stopped the answer"
    wait_on_page(page, lambda: all(s.is_closed() for s in traffic.opened), "the socket to close")
    assert wait_until(lambda: saved_answer(page, chat), "the answer to be saved") == STORY

    send(page, "Tell me a long story")  # over HTTP, then to the socket mid-answer
    expect(messages(page, "assistant")).to_have_count(2)
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("lighthouse")
    page.get_by_test_id("transport-ws").click()
    (resume,) = wait_on_page(page, lambda: traffic.sent_of("resume"), "a resume over the socket")
    assert resume["id"] == chat
    wait_ready(page)
    assert traffic.answer_to(resume["requestId"])[0]["type"] == "start"
    assert plain(last_answer(page).get_by_test_id("text").last.inner_text()) == plain(STORY)
    expect(messages(page, "assistant")).to_have_count(2)
    expect(page.get_by_test_id("error")).to_have_count(0)
    assert not [p for p in traffic.posts if p.endswith("/stop")], "switching stopped the answer"


def test_over_websocket_stop_ends_the_answer(tabs: Tabs, demo_url: str, demo_db: Path) -> None:
    """Stop sends an `abort` frame (no POST to the stop route): the server stops the
    answer and saves it as far as it got, with the status `abort`; the page marks it."""
    page = open_over_socket(tabs, demo_url)
    traffic = Traffic(page)
    send(page, "Tell me a long story")
    text = last_answer(page).get_by_test_id("text").last
    expect(text).to_contain_text("lighthouse")
    chat = chat_id(page)
    answer_id = last_answer(page).get_attribute("data-message-id")
    assert answer_id
    page.get_by_test_id("stop").click()
    wait_ready(page)
    (sent,) = traffic.sent_of("send")
    aborts = wait_on_page(page, lambda: traffic.sent_of("abort"), "the abort frame")
    assert [frame["requestId"] for frame in aborts] == [sent["requestId"]]
    assert not [p for p in traffic.posts if p.startswith("/api/chat")]
    stopped = text.inner_text()
    expect(last_answer(page).get_by_test_id("stopped")).to_be_visible()
    expect(page.get_by_test_id("stopped")).to_have_count(1)
    expect(page.get_by_test_id("error")).to_have_count(0)
    snapshot(page, "websocket-stopped")

    def stopped_and_saved() -> str | None:
        state = answer_state(demo_db, chat, answer_id)
        return state if state not in (None, "running") else None

    assert wait_until(stopped_and_saved, "the stopped answer to be saved") == "abort"
    saved = saved_answer(page, chat)
    assert saved is not None
    assert plain(saved).startswith(plain(stopped)), (saved, stopped)
    assert len(saved) < len(STORY), "the server generated the whole story: stop did nothing"
    assert resume_status(page, chat) == 204
    time.sleep(1.0)  # nothing more arrives
    assert text.inner_text() == stopped
    send(page, "Hello")  # the chat goes on
    wait_ready(page)
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("running offline")
    expect(page.get_by_test_id("stopped")).to_have_count(1)


def test_over_websocket_a_second_tab_follows_and_sees_the_stop(
    tabs: Tabs, brisk_socket_server: tuple[str, Path]
) -> None:
    """A second tab on the chat resumes the answer over its own socket; when the first
    tab stops it, the second sees the answer's `abort` chunk and marks it stopped."""
    url, _ = brisk_socket_server
    first = open_over_socket(tabs, url)
    send(first, "Tell me a long story")
    expect(last_answer(first).get_by_test_id("text").last).to_contain_text("lighthouse")
    watched: list[Traffic] = []
    second = tabs.open(
        f"{url}/?transport=ws&chat={chat_id(first)}", before=lambda p: watched.append(Traffic(p))
    )
    (traffic,) = watched
    expect(second.get_by_test_id("status")).to_have_attribute("data-status", "streaming")
    first.get_by_test_id("stop").click()
    wait_ready(first)
    wait_ready(second)
    for page in (first, second):
        expect(last_answer(page).get_by_test_id("stopped")).to_be_visible()
        expect(page.get_by_test_id("error")).to_have_count(0)
    assert traffic.sent_of("abort") == []  # the second tab only followed
    (resume,) = traffic.sent_of("resume")
    chunks = [f["chunk"] for f in traffic.answer_to(resume["requestId"]) if f["type"] == "chunk"]
    assert chunks[-1]["type"] == "abort"


def test_over_websocket_an_approval_round_trip(
    tabs: Tabs, brisk_socket_server: tuple[str, Path]
) -> None:
    """Approving sends the continued assistant message in a `send` frame; the tool runs
    and the answer goes on in the same message; the saved chat has it all."""
    url, _ = brisk_socket_server
    page = open_over_socket(tabs, url)
    traffic = Traffic(page)
    send(page, "Book me a hotel in Paris")
    booking = tool(page, "book_hotel")
    expect(booking).to_have_attribute("data-state", "approval-requested")
    answer_id = last_answer(page).get_attribute("data-message-id")
    booking.get_by_test_id("approve").click()
    wait_ready(page)
    expect(booking).to_have_attribute("data-state", "output-available")
    expect(booking).to_contain_text("ref. HP-4821")
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("Have a good trip!")
    assert last_answer(page).get_attribute("data-message-id") == answer_id
    expect(messages(page, "assistant")).to_have_count(1)
    expect(page.get_by_test_id("error")).to_have_count(0)
    sends = traffic.sent_of("send")
    assert [[m["role"] for m in frame["messages"]] for frame in sends] == [["user"], ["assistant"]]
    assert sends[1]["messages"][0]["id"] == answer_id
    assert traffic.sockets == ["/api/chat/ws"]  # both on one socket
    assert not [p for p in traffic.posts if p.startswith("/api/chat")]
    snapshot(page, "websocket-approval")

    page.reload()  # saved: it comes back
    expect(tool(page, "book_hotel")).to_have_attribute("data-state", "output-available")
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("Have a good trip!")


def test_over_websocket_a_client_side_tool_runs_in_the_browser(
    tabs: Tabs, brisk_socket_server: tuple[str, Path]
) -> None:
    url, _ = brisk_socket_server
    page = open_over_socket(tabs, url)
    traffic = Traffic(page)
    send(page, "What time is it for me?")
    local_time = tool(page, "get_local_time")
    expect(local_time).to_have_attribute("data-state", "output-available")
    wait_ready(page)
    expect(local_time).to_contain_text('"timeZone"')
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("Your browser says")
    expect(page.get_by_test_id("error")).to_have_count(0)
    sends = traffic.sent_of("send")
    assert [[m["role"] for m in frame["messages"]] for frame in sends] == [["user"], ["assistant"]]
    assert not [p for p in traffic.posts if p.startswith("/api/chat")]


STEERING_PROMPT = next(text for label, text in PROMPTS if label == "Steering")


def steer(page: Page, text: str) -> None:
    page.get_by_test_id("prompt").fill(text)
    page.get_by_test_id("steer").click()


def posted_paths(page: Page) -> list[str]:
    """The paths ``page`` POSTs to from now on."""
    paths: list[str] = []
    page.on("request", lambda r: paths.append(urlsplit(r.url).path) if r.method == "POST" else None)
    return paths


@pytest.mark.parametrize("transport", ["http", "ws"])
def test_steering_mid_answer_reaches_the_next_step(
    tabs: Tabs, demo_url: str, transport: str
) -> None:
    """While the answer streams, the box steers it: the text goes to the steer route
    (over either transport), shows in the answer as a bubble where the answer read it
    (after the first step, before the next one's text), and the next step's text answers
    it. It stays in the saved chat; once the answer has ended, the box sends again."""
    page = tabs.open(f"{demo_url}/?transport={transport}")
    expect(page.locator(".app")).to_have_attribute("data-transport", transport)
    wait_ready(page)
    posts = posted_paths(page)
    send(page, STEERING_PROMPT)
    answer = last_answer(page)
    expect(answer.get_by_test_id("text").first).to_contain_text("you can steer me")
    expect(page.get_by_test_id("send")).to_have_count(0)  # the box steers now
    page.get_by_test_id("prompt").fill("I would rather see the sea")
    if transport == "http":
        snapshot(page, "steering-box")
    page.get_by_test_id("steer").click()
    expect(page.get_by_test_id("prompt")).to_have_value("")
    bubble = answer.get_by_test_id("steering")
    expect(bubble).to_contain_text("You, while it was answering:")
    expect(bubble.get_by_test_id("steering-text")).to_have_text("I would rather see the sea")
    wait_ready(page)
    texts = answer.get_by_test_id("text")
    expect(texts).to_have_count(2)
    expect(texts.last).to_contain_text(
        "You told me while I was checking: “I would rather see the sea”"
    )
    shown = answer.locator(
        '[data-testid="text"], [data-testid="tool"], [data-testid="steering"]'
    ).evaluate_all("elements => elements.map((e) => e.dataset.testid)")
    assert shown == ["text", "tool", "steering", "text"]
    expect(page.get_by_test_id("steer-notice")).to_have_count(0)  # "sent" goes once it shows
    expect(page.get_by_test_id("error")).to_have_count(0)
    chat = chat_id(page)
    assert [p for p in posts if p.endswith("/steer")] == [f"/api/chat/{chat}/steer"]
    if transport == "ws":
        assert [p for p in posts if p.startswith("/api/chat")] == [f"/api/chat/{chat}/steer"]
    snapshot(page, f"steering-{transport}")

    expect(page.get_by_test_id("steer")).to_have_count(0)  # the answer ended: nothing to steer
    expect(page.get_by_test_id("send")).to_be_visible()
    saved = wait_until(lambda: saved_chat(page, chat), "the chat to be saved")
    steering = [p for p in saved[-1]["parts"] if p["type"] == "steering-message"]
    assert [p["parts"] for p in steering] == [
        [{"type": "text", "text": "I would rather see the sea"}]
    ]
    page.reload()  # the saved answer keeps the bubble in its place
    expect(last_answer(page).get_by_test_id("steering-text")).to_have_text(
        "I would rather see the sea"
    )


def test_a_steer_the_answer_ends_without_goes_back_in_the_box(page: Page) -> None:
    """A steer sent once the answer's last step has begun is not delivered: the answer
    ends without it, and the page says so in a sentence and puts the text back in the
    box, to send as a new message; the chat goes on."""
    send(page, STEERING_PROMPT)
    answer = last_answer(page)
    texts = answer.get_by_test_id("text")
    expect(texts).to_have_count(2)  # the last step's text streams
    steer(page, "Somewhere with a castle")
    wait_ready(page)
    notice = page.get_by_test_id("steer-notice")
    expect(notice).to_have_attribute("data-refused", "true")
    expect(notice).to_contain_text("send it as a new message")
    expect(notice).not_to_contain_text("{")
    expect(page.get_by_test_id("prompt")).to_have_value("Somewhere with a castle")
    expect(answer.get_by_test_id("steering")).to_have_count(0)
    expect(texts.last).not_to_contain_text("castle")
    expect(page.get_by_test_id("steer")).to_have_count(0)
    snapshot(page, "steering-not-delivered")
    page.get_by_test_id("send").click()  # the chat goes on, the notice goes
    wait_ready(page)
    expect(messages(page, "user")).to_have_text([STEERING_PROMPT, "Somewhere with a castle"])
    expect(page.get_by_test_id("steer-notice")).to_have_count(0)
    expect(page.get_by_test_id("error")).to_have_count(0)


def test_a_refused_steer_is_explained_and_put_back_in_the_box(page: Page) -> None:
    """With ``MAX_PENDING_STEERING`` (16) messages already waiting for the answer's next
    step, the server refuses one more (429): the page says so in a sentence, never the
    server's JSON, puts the text back in the box, and the answer goes on with the 16."""
    send(page, STEERING_PROMPT)
    answer = last_answer(page)
    expect(answer.get_by_test_id("text").first).to_contain_text("you can steer me")
    chat = chat_id(page)
    statuses = page.evaluate(
        """async (chat) => Promise.all(Array.from({ length: 16 }, (_, i) =>
            fetch(`/api/chat/${chat}/steer`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ parts: [{ type: "text", text: `note ${i + 1}` }] }),
            }).then((response) => response.status)))""",
        chat,
    )
    assert statuses == [202] * 16
    steer(page, "One more thing")
    notice = page.get_by_test_id("steer-notice")
    expect(notice).to_have_attribute("data-refused", "true")
    expect(notice).to_have_text(
        "Several of your messages already wait for the answer's next step. "
        "Wait a moment, then try again."
    )
    expect(page.get_by_test_id("prompt")).to_have_value("One more thing")
    snapshot(page, "steering-refused")
    wait_ready(page)
    expect(answer.get_by_test_id("steering")).to_have_count(16)
    expect(answer.get_by_test_id("text").last).to_contain_text("“note 1”; “note 2”")
    expect(answer.get_by_test_id("text").last).not_to_contain_text("One more thing")
    expect(page.get_by_test_id("error")).to_have_count(0)
