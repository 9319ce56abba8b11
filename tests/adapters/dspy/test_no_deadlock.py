"""stanfordnlp/dspy#8934: DSPy blocks the loop thread sending status from a callback.

The reproduction needs an async program, an async tool, status messages and a consumer
slower than the model, so DSPy's 16-slot stream buffer is full when a tool callback
fires on the loop thread. With plain ``dspy.streamify`` that hangs the whole loop for
good. Here the same run goes through ``DSPyAdapter`` under a thread watchdog that dumps
every stack and fails the test if the loop is silent for a second.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import dspy
import pytest

from tests.support.dspy_scenarios import lm, slow_search, weather
from tests.support.fake_llm import FakeLLM, Reply, chat
from tests.support.loop_watchdog import frozen_heap, loop_watchdog
from tests.support.stream_rules import assert_valid_body
from uiwire.adapters.dspy import DSPyAdapter, _bridge
from uiwire.stream import StreamContext

CONSUMER_DELAY_8934 = 0.05
"""Seconds the slow consumer sleeps per item: enough for plain streamify to hang."""


def turns(tool: str) -> list[Reply]:
    """Long thoughts in 3-character deltas: more than 16 chunks before each tool call."""
    thought = "I will search for this now, carefully and thoroughly, one step at a time."
    replies = [
        chat(next_thought=thought, next_tool_name=tool, next_tool_args={"query": "uiwire"}),
        chat(next_thought=thought, next_tool_name=tool, next_tool_args={"query": "dspy"}),
        chat(next_thought="That is enough.", next_tool_name="finish", next_tool_args={}),
        chat(reasoning="Two searches done.", answer="Both libraries stream."),
    ]
    return [Reply(text, piece=3) for text in replies]


def sync_search(query: str) -> str:
    """Search the web."""
    weather("nowhere")  # counts the call
    time.sleep(0.01)
    return f"Results for {query}"


@pytest.fixture
def full_buffer_puts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts bridge puts that found DSPy's buffer full (the #8934 moment)."""
    seen: list[int] = []
    original = _bridge._put  # pyright: ignore[reportPrivateUsage]

    def counting(stream: Any, item: object) -> None:
        state = stream._state
        if len(state.buffer) >= state.max_buffer_size:
            seen.append(len(state.buffer))
        original(stream, item)

    monkeypatch.setattr(_bridge, "_put", counting)
    return seen


@pytest.mark.timeout(90)
@pytest.mark.parametrize(
    ("tool", "async_program", "consumer_delay"),
    [
        (slow_search, True, CONSUMER_DELAY_8934),  # the #8934 reproduction
        (slow_search, True, 0.0),
        (sync_search, False, 0.01),  # a sync program runs in a worker thread
        (sync_search, False, 0.0),
        (slow_search, False, 0.01),  # an async tool, run inside that thread
        (sync_search, True, 0.01),  # a sync tool in an async program (blocks briefly)
    ],
    ids=[
        "async-program-async-tool-slow-consumer",
        "async-program-async-tool-fast-consumer",
        "sync-program-sync-tool-slow-consumer",
        "sync-program-sync-tool-fast-consumer",
        "sync-program-async-tool-slow-consumer",
        "async-program-sync-tool-slow-consumer",
    ],
)
async def test_no_stall_with_status_messages_and_any_consumer(
    tool: Any, async_program: bool, consumer_delay: float, full_buffer_puts: list[int]
) -> None:
    name = tool.__name__
    program = dspy.ReAct("question -> answer", tools=[tool], max_iters=5)
    adapter = DSPyAdapter(program, async_program=async_program)
    with FakeLLM(turns(name)) as llm:
        async with loop_watchdog(limit=1.0) as watch:
            # a tiny buffer: the consumer's pace reaches back into DSPy's own buffer
            ctx: StreamContext[Any] = StreamContext(collect=True, max_buffered_bytes=64)
            with dspy.context(lm=lm(llm.base_url)):
                ctx.run(lambda ctx: adapter.stream_into(ctx, question="Compare them."))
            frames: list[bytes] = []
            async for frame in ctx.stream():
                frames.append(frame)
                if consumer_delay:
                    await asyncio.sleep(consumer_delay)
            await ctx.wait_closed()
    assert watch.stalls == [], f"the event loop stalled: {watch.stalls}"
    chunks = assert_valid_body(b"".join(frames))
    assert ctx.record is not None
    assert ctx.record.error_text is None
    assert [c.state for c in ctx.record.tool_calls] == ["output-available"] * 2
    statuses = [c for c in chunks if c["type"] == "data-status"]
    assert len(statuses) == 4  # tool start and end, twice
    assert ctx.record.text == "Both libraries stream."
    if async_program and consumer_delay:
        # the dangerous moment really happened: a callback found DSPy's buffer full
        assert full_buffer_puts, "the slow consumer never filled DSPy's buffer"


@pytest.mark.timeout(60)
def test_plain_streamify_hangs_in_the_same_scenario() -> None:
    """The control: without uiwire the scenario above hangs DSPy 3.4's event loop."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "tests.adapters.dspy.plain_streamify_8934"],
        capture_output=True,
        text=True,
        timeout=50,
        check=False,
    )
    assert done.returncode == 17, f"plain streamify did not hang:\n{done.stderr[-2000:]}"
    assert "sync_send_to_stream" in done.stderr  # the stack shows where the loop is stuck


async def test_the_watchdog_catches_a_blocked_loop() -> None:
    """The check above can fail: a loop blocked for 1.5 s is reported."""
    async with loop_watchdog(limit=0.5) as watch:
        await asyncio.sleep(0.05)
        time.sleep(1.5)  # block the loop on purpose
        await asyncio.sleep(0.05)
    assert len(watch.stalls) == 1
    assert watch.stalls[0] > 0.5


@pytest.mark.parametrize("async_program", [True, False], ids=["async-program", "sync-program"])
async def test_waiting_for_a_slow_model_never_holds_the_loop(async_program: bool) -> None:
    """DSPy's model I/O runs on the loop (async) or in a thread (sync); either way the
    loop keeps turning while the model takes 150 ms per token."""
    adapter = DSPyAdapter(dspy.Predict("question -> answer"), async_program=async_program)
    reply = Reply(chat(answer="A slow answer, piece by piece."), delay=0.15)
    # (the heap frozen: a full collection of pytest's heap would be a stall of its own)
    with FakeLLM([reply]) as llm, frozen_heap():
        async with loop_watchdog(limit=0.1) as watch:
            with dspy.context(lm=lm(llm.base_url)):
                ctx = adapter.stream(question="Slowly?")
            frames = [frame async for frame in ctx.stream()]
    assert watch.stalls == [], f"the event loop stalled: {watch.stalls}"
    chunks = assert_valid_body(b"".join(frames))
    assert len([c for c in chunks if c["type"] == "text-delta"]) > 3
