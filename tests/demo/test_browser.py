"""``uiwire demo`` in a real browser: the OS's headless Chromium, driven by Playwright,
against the demo server in its own process (offline: the built-in scripted model).

The tests of resumed answers (reload, second tab) run against a second server,
``demo_app()`` with the scripted model three times faster: they follow the long story to
its end in about 5 s rather than 14 s.

A failing test leaves a screenshot and the HTML of each of its pages in
``build/test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Route,
    expect,
    sync_playwright,
)

from tests.support.processes import free_port, server_process
from uiwire.demo.model import _STORY as STORY  # pyright: ignore[reportPrivateUsage]

pytestmark = pytest.mark.browser

T = TypeVar("T")

ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts"
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


@pytest.fixture(scope="module")
def demo_url() -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "uiwire", "demo", "--port", str(port)]
    env = {"OPENAI_API_KEY": ""}  # offline whatever the machine has
    with server_process(command, ready_url=f"{url}/api/demo/prompts", env=env):
        yield url


# ``demo_app`` as ``uiwire demo`` serves it, but with the scripted model's words 10 ms apart
BRISK_SERVER = """
import sys, uvicorn
from uiwire.demo import demo_app
from uiwire.demo.agent import demo_agent
app = demo_app(demo_agent(delay=0.01))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


@pytest.fixture(scope="module")
def brisk_url() -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-c", BRISK_SERVER, str(port)]
    with server_process(command, ready_url=f"{url}/api/demo/prompts", env={"OPENAI_API_KEY": ""}):
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

    def open(self, url: str) -> Page:
        """A new tab at ``url``; every request it makes must stay on ``url``'s server."""
        page = self.context.new_page()
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


@pytest.fixture
def tabs(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Tabs]:
    tabs = Tabs(browser.new_context(viewport={"width": 1100, "height": 900}))
    yield tabs
    call = getattr(request.node, "report_call", None)
    if call is not None and call.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = request.node.name.replace("/", "_")
        for index, page in enumerate(tabs.context.pages):
            stem = name if index == 0 else f"{name}-tab{index + 1}"
            page.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=True)
            (ARTIFACTS / f"{stem}.html").write_text(page.content())
    tabs.context.close()
    assert tabs.outside == [], f"the page reached outside the demo server: {tabs.outside}"


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


def saved_chat(url: str, chat: str) -> list[dict[str, Any]] | None:
    """The conversation the server saved (``GET /api/chats/{id}``), None if none."""
    response = httpx.get(f"{url}/api/chats/{chat}", timeout=5)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    return response.json()["messages"]


def saved_answer(url: str, chat: str) -> str | None:
    """The text of the saved chat's last message if it is the assistant's."""
    saved = saved_chat(url, chat)
    if not saved or saved[-1]["role"] != "assistant":
        return None
    return "".join(p["text"] for p in saved[-1]["parts"] if p["type"] == "text")


def resume_status(url: str, chat: str) -> int:
    """The status of ``GET /api/chat/{id}/stream`` (the body is not read)."""
    with httpx.stream("GET", f"{url}/api/chat/{chat}/stream", timeout=5) as response:
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
    expect(tool(page, "get_forecast").get_by_test_id("preliminary")).to_be_visible()
    wait_ready(page)
    weather = tool(page, "get_weather")
    expect(weather).to_have_attribute("data-state", "output-available")
    expect(weather).to_contain_text('"city": "Paris"')
    expect(weather).to_contain_text("sunny and 21°C in Paris")
    forecast = tool(page, "get_forecast")
    expect(forecast).to_have_attribute("data-state", "output-available")
    expect(forecast.get_by_test_id("preliminary")).to_have_count(0)
    expect(forecast).to_contain_text("day 3: sunny, 23°C")
    expect(
        last_answer(page).locator('[data-testid="data-part"][data-name="forecast"]')
    ).to_be_visible()
    expect(last_answer(page).get_by_test_id("source")).to_have_count(2)
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("next three days")


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
    # the server stopped generating: the answer it saved ends where the page's does (or a
    # few words later: the page stops reading once the stop is acknowledged), long
    # before the story's end, and there is nothing left to resume
    saved = wait_until(lambda: saved_answer(demo_url, chat), "the stopped answer to be saved")
    assert saved.startswith(stopped.strip()), (saved, stopped)
    assert len(saved) < 1000, "the server generated the whole story: stop only closed the tab"
    assert resume_status(demo_url, chat) == 204
    send(page, "Hello")  # the chat goes on
    wait_ready(page)
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("running offline")


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
    assert 0 < len(replayed) < len(STORY), "the answer was not resumed mid-way"
    assert STORY.startswith(replayed.strip())
    wait_ready(page)
    assert text.inner_text().strip() == STORY
    expect(messages(page, "user")).to_have_count(1)
    expect(messages(page, "assistant")).to_have_count(1)
    assert last_answer(page).get_attribute("data-message-id") == answer_id
    expect(page.get_by_test_id("error")).to_have_count(0)
    # the server saved the whole answer, once
    saved = wait_until(lambda: saved_chat(brisk_url, chat), "the chat to be saved")
    assert [m["role"] for m in saved] == ["user", "assistant"]
    assert saved_answer(brisk_url, chat) == STORY
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
    assert httpx.post(f"{brisk_url}/api/chat/{chat}/stop", timeout=5).status_code == 202

    def ended_and_saved() -> str | None:
        return saved_answer(brisk_url, chat) if resume_status(brisk_url, chat) == 204 else None

    saved = wait_until(ended_and_saved, "the stopped answer to be saved")
    held[0].continue_()  # the resume now finds nothing in progress
    text = last_answer(page).get_by_test_id("text").last
    expect(text).to_be_visible()
    assert text.inner_text().strip() == saved.strip()
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
    assert 0 < len(early) < len(STORY), "the second tab did not join mid-answer"
    # the first tab leaves the chat: it stops listening, but does not stop the answer
    first.get_by_test_id("new-chat").click()
    assert chat_id(first) != chat
    wait_ready(second)
    assert text.inner_text().strip() == STORY
    expect(messages(second, "user")).to_have_count(1)
    expect(messages(second, "assistant")).to_have_count(1)
    assert last_answer(second).get_attribute("data-message-id") == answer_id
    expect(second.get_by_test_id("error")).to_have_count(0)
    assert stops == [], "leaving the chat stopped the answer"
    assert wait_until(lambda: saved_answer(brisk_url, chat), "the answer to be saved") == STORY


def test_errors_are_shown_masked_with_a_retry(page: Page) -> None:
    send(page, "Show me an error")
    error = page.get_by_test_id("error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("An error occurred.")
    expect(error).not_to_contain_text("on purpose")
    send(page, "Use the broken tool")
    wait_ready(page)
    broken = tool(page, "broken_tool")
    expect(broken).to_have_attribute("data-state", "output-error")
    expect(broken.get_by_test_id("tool-error")).to_contain_text("An error occurred.")
    expect(broken).not_to_contain_text("10.0.0.7")
