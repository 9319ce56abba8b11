"""The blocked-loop detector names the line that blocked the loop."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from pathlib import Path

import pytest

from tests.support.context_scenarios import consume
from tests.support.stream_rules import assert_valid_body
from uiwire.stream import StreamContext
from uiwire.stream.watchdog import DEFAULT_THRESHOLD, ENV_VAR, blocking_threshold

THIS_FILE = Path(__file__)


def line_of(marker: str) -> int:
    for number, line in enumerate(THIS_FILE.read_text().splitlines(), start=1):
        if line.rstrip().endswith(f"# {marker}") and "line_of" not in line:
            return number
    raise AssertionError(f"marker {marker} not found")


async def blocking_work(ctx: StreamContext) -> None:
    await ctx.write_text("before")
    time.sleep(0.2)  # BLOCKS-THE-LOOP
    await ctx.write_text(" after")


async def healthy_work(ctx: StreamContext) -> None:
    await ctx.write_text("before")
    await asyncio.sleep(0.2)
    await ctx.write_text(" after")


def detector_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "uiwire-blocking-detector"]


async def run_stream(ctx: StreamContext, work: object) -> bytes:
    ctx.run(work)  # type: ignore[arg-type]
    body = await consume(ctx)
    await ctx.wait_closed()
    return body


async def test_a_blocking_call_is_reported_with_its_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="uiwire.watchdog"):
        body = await run_stream(StreamContext(detect_blocking=0.05), blocking_work)
    assert_valid_body(body)
    warnings = [r for r in caplog.records if r.name == "uiwire.watchdog"]
    assert len(warnings) == 1, caplog.text
    message = warnings[0].getMessage()
    assert f"{THIS_FILE}:{line_of('BLOCKS-THE-LOOP')} in blocking_work()" in message
    assert "time.sleep(0.2)" in message
    assert "asyncio.to_thread" in message  # and says what to do instead


async def test_the_environment_variable_turns_it_on(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, "0.05")
    with caplog.at_level(logging.WARNING, logger="uiwire.watchdog"):
        await run_stream(StreamContext(), blocking_work)
    assert f":{line_of('BLOCKS-THE-LOOP')} in blocking_work()" in caplog.text


async def test_silent_when_off_or_when_nothing_blocks(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    with caplog.at_level(logging.WARNING, logger="uiwire.watchdog"):
        await run_stream(StreamContext(), blocking_work)  # off by default
        await run_stream(StreamContext(detect_blocking=0.05), healthy_work)
    assert [r for r in caplog.records if r.name == "uiwire.watchdog"] == []


async def test_the_detector_runs_while_streams_are_open() -> None:
    for thread in detector_threads():  # earlier tests' detectors wind down
        thread.join(5)
    first = StreamContext(detect_blocking=0.05)
    second = StreamContext(detect_blocking=0.05)
    assert detector_threads() == []  # a context that never runs or streams is not open
    first.run(healthy_work)
    second.run(healthy_work)
    assert len(detector_threads()) == 1  # one per loop, shared
    await consume(first)
    await first.wait_closed()
    assert len(detector_threads()) == 1  # the second stream is still open
    await consume(second)
    await second.wait_closed()
    for thread in detector_threads():
        thread.join(5)
    assert detector_threads() == []


@pytest.mark.parametrize(
    ("env", "setting", "expected"),
    [
        ("", None, None),
        ("0", None, None),
        ("true", None, DEFAULT_THRESHOLD),
        ("1", None, DEFAULT_THRESHOLD),
        ("0.25", None, 0.25),
        ("0.25", False, None),  # the constructor wins
        ("", True, DEFAULT_THRESHOLD),
        ("", 0.5, 0.5),
    ],
)
def test_threshold_settings(
    env: str,
    setting: float | bool | None,
    expected: float | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_VAR, env)
    assert blocking_threshold(setting) == expected


@pytest.mark.parametrize("env", ["soon", "-1", "inf"])
def test_a_bad_environment_value_names_the_variable(
    env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, env)
    with pytest.raises(ValueError, match=ENV_VAR):
        blocking_threshold(None)
