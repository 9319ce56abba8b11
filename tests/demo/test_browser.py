"""``uiwire demo`` in a real browser: the OS's headless Chromium, driven by Playwright,
against the demo server in its own process (offline: the built-in scripted model).

A failing test leaves a screenshot and the page's HTML in ``build/test-artifacts/``.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.support.processes import free_port, server_process

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


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, demo_url: str, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    page = context.new_page()
    outside: list[str] = []
    page.on(
        "request",
        lambda r: (
            None
            if r.url.startswith(demo_url) or r.url.startswith("data:")
            else outside.append(r.url)
        ),
    )
    page.goto(demo_url)
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "ready")
    yield page
    call = getattr(request.node, "report_call", None)
    if call is not None and call.failed:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = request.node.name.replace("/", "_")
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        (ARTIFACTS / f"{name}.html").write_text(page.content())
    context.close()
    assert outside == [], f"the page reached outside the demo server: {outside}"


def send(page: Page, text: str) -> None:
    page.get_by_test_id("prompt").fill(text)
    page.get_by_test_id("send").click()


def wait_ready(page: Page) -> None:
    expect(page.get_by_test_id("status")).to_have_attribute("data-status", "ready")


def last_answer(page: Page) -> Locator:
    return page.locator('[data-testid="message"][data-role="assistant"]').last


def tool(page: Page, name: str) -> Locator:
    return last_answer(page).locator(f'[data-testid="tool"][data-tool-name="{name}"]')


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


def test_stop_ends_a_long_answer_mid_stream(page: Page) -> None:
    send(page, "Tell me a long story")
    text = last_answer(page).get_by_test_id("text").last
    expect(text).to_contain_text("lighthouse")
    page.get_by_test_id("stop").click()
    wait_ready(page)
    stopped = text.inner_text()
    time.sleep(1.0)  # nothing more arrives
    assert text.inner_text() == stopped
    assert 0 < len(stopped) < 1000, "the whole story arrived: stop did nothing"
    send(page, "Hello")  # the chat goes on
    wait_ready(page)
    expect(last_answer(page).get_by_test_id("text").last).to_contain_text("running offline")


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
