"""The channel's lane: text deltas to an open part without the lock, still in order.

A thread can be preempted between any two of its bytecodes; these tests put a step of
another writer exactly at the points that matter (between the lane writer's reading of
the state and its append, and between its append and its check), so each race is
reproduced every run instead of once in a while.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

import pytest

from tests.support.context_scenarios import consume
from tests.support.stream_rules import assert_valid_body
from uiwire.protocol import ProtocolError
from uiwire.stream import StreamClosed, StreamContext
from uiwire.stream._channel import LANE_MAX_FRAME


def _deltas(chunks: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(c["id"], c["delta"]) for c in chunks if c["type"] == "text-delta"]


def _lane_frames(ctx: StreamContext) -> int:
    lane = ctx._channel.lane  # pyright: ignore[reportPrivateUsage]
    return -1 if lane is None else len(lane)


class _AppendThenStep(deque[bytes]):
    """A lane whose next append is followed by ``step`` (another writer, preempting)."""

    def __init__(self, step: Callable[[], None]) -> None:
        super().__init__()
        self._step: Callable[[], None] | None = step

    def append(self, frame: bytes, /) -> None:
        super().append(frame)
        step, self._step = self._step, None
        if step is not None:
            step()


async def test_a_delta_to_an_open_part_takes_the_lane_and_arrives_in_order() -> None:
    ctx = StreamContext()
    await ctx.write_text("opens the part")  # the locked way: start, start-step, text-start
    await ctx.write_text(" one")
    ctx.sync.write_text(" two")
    assert _lane_frames(ctx) == 2  # neither took the lock
    await ctx.write_data("status", {"n": 1})  # a step: the lane's frames go first
    assert _lane_frames(ctx) == 0
    await ctx.write_text(" three")
    await ctx.finish()
    chunks = assert_valid_body(await consume(ctx))
    kinds = [c["type"] for c in chunks]
    # all queued before the reader came: the three deltas before the step arrive merged
    assert kinds[3] == "text-delta"
    assert kinds.index("data-status") > 3  # both lane deltas before the step's frames
    assert [d for _, d in _deltas(chunks)] == ["opens the part one two", " three"]


async def test_writes_that_need_the_machine_do_not_take_the_lane() -> None:
    ctx = StreamContext()
    await ctx.write_text("a")
    await ctx.write_text("")  # nothing to send
    await ctx.write_text("b", key="other")  # opens a part: a step
    await ctx.write_text("x" * LANE_MAX_FRAME)  # too large for the lane
    assert _lane_frames(ctx) == 0
    with pytest.raises(ProtocolError, match="hashable"):
        await ctx.write_text("c", key=["unhashable"])  # pyright: ignore[reportArgumentType]
    await ctx.finish()
    assert _lane_frames(ctx) == -1  # the stream ended: no lane any more
    chunks = assert_valid_body(await consume(ctx))
    assert [d for _, d in _deltas(chunks)] == ["a", "b", "x" * LANE_MAX_FRAME]


async def test_a_collecting_context_records_every_lane_delta_in_order() -> None:
    ctx = StreamContext(collect=True)
    for token in ("a", "b", "c"):
        ctx.sync.write_text(token)
    assert _lane_frames(ctx) == 2  # the first opened the part, the locked way
    reader = ctx.stream()
    first = await anext(reader)  # the consumer moves the lane: the collector gets its chunks
    await ctx.write_text("d")
    await ctx.write_text("e", key="other")  # a step: "d" is recorded before it
    await ctx.write_text("f")  # a new unkeyed part ("other" closed the first)
    await ctx.finish()
    chunks = assert_valid_body(first + b"".join([data async for data in reader]))
    assert ctx.record is not None
    assert ctx.record.text == "abcdef"
    texts = [p["text"] for p in ctx.record.message["parts"] if p["type"] == "text"]
    assert texts == ["abcd", "e", "f"]
    assert "".join(d for _, d in _deltas(chunks)) == "abcdef"  # queued ones arrive merged


async def test_a_disconnect_with_continue_still_records_the_lanes_deltas() -> None:
    ctx = StreamContext(collect=True, on_disconnect="continue")
    ctx.sync.write_text("a")
    ctx.sync.write_text("b")  # on the lane when the client leaves
    reader = ctx.stream()
    await reader.aclose()  # never read: the frames are dropped, the chunks recorded
    ctx.sync.write_text("c")
    await ctx.finish()
    assert ctx.record is not None
    assert ctx.record.text == "abc"


async def test_a_step_between_reading_the_part_and_appending_sends_the_delta_the_locked_way() -> (
    None
):
    ctx = StreamContext()
    ctx.sync.write_text("first", key="k")
    machine = ctx._machine  # pyright: ignore[reportPrivateUsage]
    real_open_text_id = machine.open_text_id

    def preempted(key: Hashable = None) -> str | None:
        wire_id = real_open_text_id(key)  # the writer has read the open part...
        ctx.sync.end_text(key="k")  # ...and another writer closes it before the append
        return wire_id

    machine.open_text_id = preempted  # type: ignore[method-assign]
    ctx.sync.write_text("second", key="k")
    del machine.open_text_id
    await ctx.finish()
    chunks = assert_valid_body(await consume(ctx))  # no delta after its part's text-end
    (first_id, _), (second_id, _) = _deltas(chunks)
    assert first_id != second_id  # "second" opened a new part, after the first closed
    assert [c["type"] for c in chunks].count("text-start") == 2


async def test_a_step_between_appending_and_checking_keeps_the_delta_once_in_order() -> None:
    ctx = StreamContext()
    ctx.sync.write_text("first", key="k")
    channel = ctx._channel  # pyright: ignore[reportPrivateUsage]
    # the append lands, then another writer's step retires the lane (moving the delta
    # out before its own frames) before the writer checks the lane: delivered, once
    channel.lane = _AppendThenStep(lambda: ctx.sync.end_text(key="k"))
    ctx.sync.write_text("second", key="k")
    await ctx.finish()
    chunks = assert_valid_body(await consume(ctx))
    assert "".join(d for _, d in _deltas(chunks)) == "firstsecond"  # merged: once, in order
    assert [c["type"] for c in chunks].count("text-start") == 1


async def test_a_delta_left_in_a_retired_lane_is_taken_back_and_sent_once() -> None:
    ctx = StreamContext()
    ctx.sync.write_text("first", key="k")
    channel = ctx._channel  # pyright: ignore[reportPrivateUsage]
    stale = channel.lane
    assert stale is not None
    ctx.sync.end_text(key="k")  # a step retires the lane the writer is about to use
    assert channel.lane is not stale
    frame = b'data: {"type":"text-delta","id":"t1","delta":"late"}\n\n'
    assert channel.append_to_lane(stale, frame) is False  # taken back: write it again
    assert len(stale) == 0
    await ctx.finish()
    chunks = assert_valid_body(await consume(ctx))
    assert [d for _, d in _deltas(chunks)] == ["first"]


async def test_a_lane_write_wakes_a_waiting_reader() -> None:
    ctx = StreamContext()
    await ctx.write_text("open")
    reader = ctx.stream()
    assert b"open" in await anext(reader)
    pending = asyncio.ensure_future(anext(reader))
    await asyncio.sleep(0)  # the reader waits now
    await asyncio.to_thread(ctx.sync.write_text, " from a thread")
    data = await asyncio.wait_for(pending, 10)
    assert b"from a thread" in data
    await ctx.finish()
    rest = b"".join([d async for d in reader])
    assert rest.endswith(b"data: [DONE]\n\n")


async def test_lane_frames_count_towards_the_limit_for_thread_writers() -> None:
    frame = len(b'data: {"type":"text-delta","id":"t1","delta":"0123456789"}\n\n')
    ctx = StreamContext(max_buffered_bytes=20 * frame)
    await ctx.write_text("open")
    reader = ctx.stream()
    received = [await anext(reader)]  # attached; the client stops reading
    channel = ctx._channel  # pyright: ignore[reportPrivateUsage]
    written = 0

    def writer() -> None:
        nonlocal written
        for _ in range(200):
            ctx.sync.write_text("0123456789")
            written += 1

    thread = threading.Thread(target=writer)
    thread.start()
    for _ in range(2000):  # until the writer blocks (it must, long before 200 writes)
        if channel._thread_waiters or not thread.is_alive():  # pyright: ignore[reportPrivateUsage]
            break
        await asyncio.sleep(0.005)
    assert thread.is_alive()
    assert 20 <= written <= 22, f"{written} lane writes went through a 20 frame limit"

    async def read_the_rest() -> None:
        received.extend([data async for data in reader])

    reading = asyncio.create_task(read_the_rest())  # the client reads again
    await asyncio.to_thread(thread.join, 30)
    assert not thread.is_alive()
    await ctx.finish()
    await reading
    chunks = assert_valid_body(b"".join(received))
    # deltas queued while the client was behind arrive merged: all of them, in order
    assert "".join(d for _, d in _deltas(chunks)) == "open" + "0123456789" * 200


async def test_a_disconnect_stops_lane_writers_with_stream_closed() -> None:
    ctx = StreamContext()
    await ctx.write_text("open")
    reader = ctx.stream()
    await anext(reader)
    outcome: list[str] = []
    started = threading.Event()

    def writer() -> None:
        try:
            for _ in range(10_000_000):  # ends on StreamClosed long before
                ctx.sync.write_text("x")
                started.set()
            outcome.append("finished")
        except StreamClosed:
            outcome.append("closed")

    thread = threading.Thread(target=writer)
    thread.start()
    await asyncio.to_thread(started.wait, 10)
    await reader.aclose()  # the client leaves
    await asyncio.to_thread(thread.join, 30)
    assert outcome == ["closed"]
    assert ctx.cancelled
