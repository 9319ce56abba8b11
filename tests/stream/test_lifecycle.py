"""on_close, disconnects, cancellation and the buffer limit."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable

import pytest

from tests.support.context_scenarios import consume
from tests.support.stream_rules import assert_valid_body
from tests.support.tasks import uiwire_tasks_left
from uiwire.protocol import check_stream
from uiwire.stream import StreamClosed, StreamContext, StreamRecord, StreamStatus, Usage

Finished = list[tuple[StreamRecord, StreamStatus]]


async def read_first_then_leave(ctx: StreamContext) -> bytes:
    reader = ctx.stream()
    first = await anext(reader)
    await reader.aclose()  # the client goes away
    return first


# --- on_close --------------------------------------------------------------------------------


async def _text_then_return(ctx: StreamContext) -> None:
    await ctx.write_text("all of it")


async def _text_then_raise(ctx: StreamContext) -> None:
    await ctx.write_text("some of it")
    raise ValueError("boom")


async def _text_then_abort(ctx: StreamContext) -> None:
    await ctx.write_text("stopped")
    await ctx.abort()


@pytest.mark.parametrize(
    ("work", "status", "finish_reason", "error_text"),
    [
        (_text_then_return, "finish", None, None),
        (_text_then_raise, "error", None, "An error occurred."),
        (_text_then_abort, "abort", None, None),
    ],
)
async def test_on_close_runs_once_with_the_full_record(
    work: Callable[[StreamContext], Awaitable[None]],
    status: str,
    finish_reason: str | None,
    error_text: str | None,
    caplog: pytest.LogCaptureFixture,
) -> None:
    finished: Finished = []

    async def on_close(record: StreamRecord, status: StreamStatus) -> None:
        finished.append((record, status))

    ctx = StreamContext(on_close=on_close)
    ctx.run(work)
    with caplog.at_level(logging.CRITICAL, logger="uiwire"):
        body = await consume(ctx)
        await ctx.wait_closed()
    assert_valid_body(body)
    assert await uiwire_tasks_left() == []
    assert len(finished) == 1
    record, got_status = finished[0]
    assert got_status == status
    # the record is what the client assembled from the very same bytes
    assert record.message == check_stream(body).message
    assert record.finish_reason == finish_reason
    assert record.error_text == error_text
    assert record.steps == 1
    assert record is ctx.record


async def test_on_close_on_disconnect_cancels_the_work() -> None:
    finished: Finished = []
    cancelled = asyncio.Event()
    waiting = asyncio.Event()

    async def on_close(record: StreamRecord, status: StreamStatus) -> None:
        finished.append((record, status))

    async def work(ctx: StreamContext) -> None:
        await ctx.write_text("first token")
        try:
            waiting.set()
            await asyncio.Event().wait()  # a model that never answers
        except asyncio.CancelledError:
            cancelled.set()
            raise

    ctx = StreamContext(on_close=on_close)
    ctx.run(work)
    reader = ctx.stream()
    first = await anext(reader)
    await waiting.wait()
    await reader.aclose()
    await asyncio.wait_for(ctx.wait_closed(), 10)
    assert cancelled.is_set()
    assert ctx.cancelled
    assert await uiwire_tasks_left() == []
    assert b"first token" in first
    assert len(finished) == 1
    record, status = finished[0]
    assert status == "disconnect"
    assert record.text == "first token"
    assert record.message["parts"][-1]["state"] == "done"  # closed for persistence


async def test_on_disconnect_continue_keeps_the_work_running() -> None:
    finished: Finished = []
    release = asyncio.Event()

    async def on_close(record: StreamRecord, status: StreamStatus) -> None:
        finished.append((record, status))

    async def work(ctx: StreamContext) -> None:
        await ctx.write_text("first, ")
        await release.wait()
        await ctx.write_text("and the rest")
        await ctx.finish("stop")

    ctx = StreamContext(on_close=on_close, on_disconnect="continue")
    ctx.run(work)
    await read_first_then_leave(ctx)
    assert not ctx.cancelled
    release.set()
    await asyncio.wait_for(ctx.wait_closed(), 10)
    record, status = finished[0]
    assert status == "disconnect"
    assert record.text == "first, and the rest"  # the whole message, ready to persist
    assert record.finish_reason == "stop"
    assert len(finished) == 1


async def test_a_slow_on_close_does_not_delay_done() -> None:
    release = asyncio.Event()
    started = asyncio.Event()

    async def on_close(record: StreamRecord, status: StreamStatus) -> None:
        started.set()
        await release.wait()  # a slow database write

    ctx = StreamContext(on_close=on_close)
    ctx.run(_text_then_return)
    # if on_close ran before [DONE] or before the body ended, this would never return
    body = await asyncio.wait_for(consume(ctx), 10)
    assert body.endswith(b"data: [DONE]\n\n")
    await asyncio.wait_for(started.wait(), 10)  # it does run, after the last byte
    assert not release.is_set()
    release.set()
    await asyncio.wait_for(ctx.wait_closed(), 10)


async def test_on_close_waits_for_the_last_byte() -> None:
    statuses: list[str] = []

    async def on_close(record: StreamRecord, status: StreamStatus) -> None:
        statuses.append(status)

    ctx = StreamContext(on_close=on_close)
    assert await ctx.run_and_wait(_text_then_return) == "finish"
    await spin()
    assert statuses == []  # the work is done, but no byte has reached a client yet
    reader = ctx.stream()
    frames = await anext(reader)  # everything, [DONE] included, handed over at once
    assert frames.endswith(b"data: [DONE]\n\n")
    await spin()
    assert statuses == []  # handed over, but the transport has not asked for more yet
    assert [data async for data in reader] == []
    await asyncio.wait_for(ctx.wait_closed(), 10)
    assert statuses == ["finish"]


async def test_a_sync_on_close_runs_in_a_worker_thread() -> None:
    threads: list[int] = []
    gate = threading.Event()

    def on_close(record: StreamRecord, status: StreamStatus) -> None:
        threads.append(threading.get_ident())
        gate.wait(10)  # blocking: would freeze the loop if it ran there

    ctx = StreamContext(on_close=on_close)
    ctx.run(_text_then_return)
    await consume(ctx)
    for _ in range(1000):  # the loop keeps running while the hook blocks
        if threads:
            break
        await asyncio.sleep(0.005)
    assert threads
    assert threads[0] != threading.get_ident()
    gate.set()
    await asyncio.wait_for(ctx.wait_closed(), 10)


async def test_an_on_close_exception_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    def on_close(record: StreamRecord, status: StreamStatus) -> None:
        raise RuntimeError("persistence failed")

    ctx = StreamContext(on_close=on_close)
    ctx.run(_text_then_return)
    with caplog.at_level(logging.ERROR, logger="uiwire"):
        assert_valid_body(await consume(ctx))
        await asyncio.wait_for(ctx.wait_closed(), 10)
    assert "persistence failed" in caplog.text
    assert "on_close" in caplog.text


async def test_the_record_is_sealed_and_never_mutated() -> None:
    ctx = StreamContext(collect=True)
    ctx.add_usage(Usage(input_tokens=10, output_tokens=5))
    await ctx.write_text("final")
    await ctx.finish()
    record = ctx.record
    assert record is not None
    snapshot = check_stream(await consume(ctx)).message
    ctx.add_usage(Usage(input_tokens=1))  # too late: the record is sealed
    assert record.message == snapshot
    assert record.usage == Usage(input_tokens=10, output_tokens=5)
    assert record.usage.total_tokens == 15
    with pytest.raises(AttributeError):
        record.steps = 3  # type: ignore[misc]


async def test_record_summarises_tools_and_sources() -> None:
    ctx = StreamContext(collect=True)
    call = await ctx.begin_tool_call("search", {"q": "x"})
    await ctx.complete_tool_call(call, ["a"])
    failed = await ctx.begin_tool_call("fetch", {"url": "u"}, dynamic=True)
    await ctx.fail_tool_call(failed, "404")
    await ctx.write_source("https://example.com")
    await ctx.new_step()
    await ctx.write_text("answer")
    await ctx.finish("stop")
    record = ctx.record
    assert record is not None
    assert [(t.tool_name, t.state, t.dynamic) for t in record.tool_calls] == [
        ("search", "output-available", False),
        ("fetch", "output-error", True),
    ]
    assert record.tool_calls[0].output == ["a"]
    assert record.tool_calls[1].error_text == "404"
    assert [s["url"] for s in record.sources] == ["https://example.com"]
    assert record.steps == 2
    assert record.message_id == ctx.message_id
    assert record.finish_reason == "stop"
    assert_valid_body(await consume(ctx))


# --- threads after a disconnect ----------------------------------------------------------------


async def test_thread_writers_learn_the_client_left() -> None:
    ctx = StreamContext()
    await ctx.write_text("x")
    await read_first_then_leave(ctx)
    assert ctx.cancelled

    def late() -> None:
        ctx.sync.write_text("nobody is listening")

    with pytest.raises(StreamClosed, match="client disconnected"):
        await asyncio.to_thread(late)
    with pytest.raises(StreamClosed):
        await ctx.write_text("nor here")


# --- the buffer limit ---------------------------------------------------------------------------

DELTA = "x" * 100
FRAME = len(b'data: {"type":"text-delta","id":"t1","delta":""}\n\n') + len(DELTA)


async def spin(times: int = 50) -> None:
    for _ in range(times):
        await asyncio.sleep(0)


async def test_async_writers_wait_for_a_slow_client() -> None:
    limit = 10 * FRAME
    ctx = StreamContext(max_buffered_bytes=limit)
    await ctx.write_text("attach")
    reader = ctx.stream()
    received = [await anext(reader)]  # attached; now the client stops reading
    written = 0

    async def writer() -> None:
        nonlocal written
        for _ in range(100):
            await ctx.write_text(DELTA)
            written += 1
        await ctx.finish()

    task = asyncio.create_task(writer())
    await spin()
    assert not task.done()
    stalled_at = written
    assert 10 <= stalled_at <= 12, f"{stalled_at} writes went through a {limit} byte limit"
    received.extend([data async for data in reader])  # the client reads; the writer resumes
    await task
    chunks = assert_valid_body(b"".join(received))
    # deltas queued while the client was behind arrive merged: all of them, in order
    assert (
        "".join(c["delta"] for c in chunks if c["type"] == "text-delta") == "attach" + DELTA * 100
    )


async def test_thread_writers_block_their_own_thread_not_the_loop() -> None:
    limit = 10 * FRAME
    ctx = StreamContext(max_buffered_bytes=limit)
    await ctx.write_text("attach")
    reader = ctx.stream()
    received = [await anext(reader)]
    written = 0

    def writer() -> None:
        nonlocal written
        for _ in range(100):
            ctx.sync.write_text(DELTA)
            written += 1

    thread = threading.Thread(target=writer)
    thread.start()
    ticks = 0
    for _ in range(40):  # the loop keeps ticking while the thread is blocked
        await asyncio.sleep(0.005)
        ticks += 1
    assert ticks == 40
    assert thread.is_alive()
    assert written <= 11

    async def read_the_rest() -> None:
        received.extend([data async for data in reader])

    reading = asyncio.create_task(read_the_rest())  # the client reads again
    await asyncio.to_thread(thread.join, 30)
    assert not thread.is_alive()
    await ctx.finish()
    await reading
    chunks = assert_valid_body(b"".join(received))
    # deltas queued while the client was behind arrive merged: all of them, in order
    assert (
        "".join(c["delta"] for c in chunks if c["type"] == "text-delta") == "attach" + DELTA * 100
    )


async def test_no_limit_before_a_reader_attaches() -> None:
    ctx = StreamContext(max_buffered_bytes=1000, collect=True)

    async def work(ctx: StreamContext) -> None:
        for _ in range(2000):
            await ctx.write_text(DELTA)

    # finishing the work before the response is returned must not deadlock
    assert await asyncio.wait_for(ctx.run_and_wait(work), 30) == "finish"
    assert ctx.record is not None
    assert len(ctx.record.text) == 2000 * len(DELTA)
    assert_valid_body(await consume(ctx))


async def test_a_disconnect_releases_a_blocked_thread_writer() -> None:
    ctx = StreamContext(max_buffered_bytes=FRAME)
    await ctx.write_text("attach")
    reader = ctx.stream()
    await anext(reader)
    outcome: list[str] = []

    def writer() -> None:
        try:
            for _ in range(100):
                ctx.sync.write_text(DELTA)
            outcome.append("finished")
        except StreamClosed:
            outcome.append("closed")

    thread = threading.Thread(target=writer)
    thread.start()
    await asyncio.sleep(0.05)
    assert thread.is_alive()  # blocked on the full buffer
    await reader.aclose()  # the client leaves
    await asyncio.to_thread(thread.join, 10)
    assert outcome == ["closed"]
