"""Edge paths of the push API found in review: each test once failed on the bug it names.

Encoding that fails after the machine moved on, disconnects before the work's first
step, foreign ``StreamClosed``, a thread ending the stream as the work returns,
awaitable-returning ``on_close``, writes after the loop closed (on its own thread),
dropped contexts and the detector, and a response cancelled before its body.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from typing import Any

import pytest
from pydantic import BaseModel, field_serializer

from tests.support.context_scenarios import consume
from tests.support.stream_rules import assert_valid_body
from uiwire.protocol import ProtocolError
from uiwire.stream import StreamClosed, StreamContext, StreamRecord, StreamStatus, watchdog

HANG = 3.0  # seconds; every stream below ends in milliseconds when the code is right


def retrieve_work_outcome(ctx: StreamContext) -> None:
    """Mark a failed work task's exception as seen, so its garbage collection does not log
    "Task exception was never retrieved" in the middle of a later test's report."""
    task = ctx._task  # pyright: ignore[reportPrivateUsage]
    if task is not None and task.done() and not task.cancelled():
        task.exception()


async def consume_or_fail(ctx: StreamContext, what: str) -> bytes:
    try:
        return await asyncio.wait_for(consume(ctx), HANG)
    except asyncio.TimeoutError:
        pytest.fail(f"the stream never ended ({what})")


# --- _apply steps the machine before encoding ------------------------------------------------


async def test_a_refused_first_text_delta_sends_nothing_and_keeps_the_stream_valid() -> None:
    async def work(ctx: StreamContext) -> None:
        with pytest.raises(ProtocolError):
            await ctx.write_text("half an emoji: \ud83d")  # e.g. a provider delta cut in two
        await ctx.write_text("fine")

    ctx = StreamContext()
    ctx.run(work)
    body = await consume_or_fail(ctx, "first delta refused")
    assert_valid_body(body)  # today: text-delta for t1 without start / text-start


async def test_an_unencodable_error_text_still_ends_the_stream(
    caplog: pytest.LogCaptureFixture,
) -> None:
    finished: list[StreamStatus] = []

    async def on_close(record: StreamRecord, status: StreamStatus) -> None:
        finished.append(status)

    async def work(ctx: StreamContext) -> None:
        await ctx.write_text("reading the file")
        # a file name decoded with surrogateescape, as os.listdir returns them
        name = b"caf\xe9.txt".decode("utf-8", "surrogateescape")
        raise FileNotFoundError(f"no such file: {name}")

    ctx = StreamContext(on_close=on_close, on_error=str)
    ctx.run(work)
    try:
        with caplog.at_level(logging.CRITICAL):
            body = await consume_or_fail(ctx, "on_error text with a lone surrogate")
            await asyncio.wait_for(ctx.wait_closed(), HANG)
    finally:
        retrieve_work_outcome(ctx)
    assert_valid_body(body)
    assert finished == ["error"]


# --- run / disconnect -------------------------------------------------------------------------


async def test_disconnect_right_after_run_still_settles() -> None:
    finished: list[StreamStatus] = []

    async def on_close(record: StreamRecord, status: StreamStatus) -> None:
        finished.append(status)

    async def work(ctx: StreamContext) -> None:
        await ctx.write_text("never read")

    ctx = StreamContext(on_close=on_close)
    coro = work(ctx)
    try:
        ctx.run(coro)
        ctx.disconnect()  # e.g. the route decides not to return the response after all
        try:
            await asyncio.wait_for(ctx.wait_closed(), HANG)
        except asyncio.TimeoutError:
            pytest.fail("on_close never ran: the stream never ended")
        assert ctx.is_finished
        assert finished == ["disconnect"]
    finally:
        coro.close()  # today it is never awaited; keep the RuntimeWarning out of the run


async def test_a_stream_closed_from_elsewhere_still_ends_the_stream(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def work(ctx: StreamContext) -> None:
        await ctx.write_text("delegating to a sub-agent")
        # e.g. a nested context (fan-out to another stream) whose client left
        raise StreamClosed("the client disconnected and the work is being cancelled")

    ctx = StreamContext()
    ctx.run(work)
    try:
        with caplog.at_level(logging.CRITICAL):
            body = await consume_or_fail(ctx, "work raised an unrelated StreamClosed")
    finally:
        retrieve_work_outcome(ctx)
    chunks = assert_valid_body(body)
    assert chunks[-1]["type"] == "error"


inside_serializer = threading.Event()


class SlowMetadata(BaseModel):
    """Serializing it takes a while (it is serialized under the stream's lock)."""

    value: int = 1

    @field_serializer("value")
    def _slow(self, value: int) -> int:
        inside_serializer.set()
        time.sleep(0.3)
        return value


async def test_a_thread_finishing_concurrently_with_the_work_return() -> None:
    inside_serializer.clear()
    ctx = StreamContext()

    async def work(ctx: StreamContext) -> None:
        await ctx.write_text("answer")
        # a callback-driven SDK finishes the stream from its own thread ...
        threading.Thread(target=lambda: ctx.sync.finish(metadata={"usage": SlowMetadata()})).start()
        await asyncio.to_thread(inside_serializer.wait, HANG)
        # ... while the work returns, so _drive finishes the stream too

    outcome = await asyncio.wait_for(ctx.run_and_wait(work), HANG)
    assert outcome == "finish"
    assert_valid_body(await consume_or_fail(ctx, "after the race"))


# --- on_close --------------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
@pytest.mark.parametrize("shape", ["lambda", "async-callable-object"])
async def test_an_on_close_returning_an_awaitable_is_awaited(shape: str) -> None:
    saved: list[StreamStatus] = []

    async def save(record: StreamRecord, status: StreamStatus) -> None:
        saved.append(status)

    class Saver:
        async def __call__(self, record: StreamRecord, status: StreamStatus) -> None:
            saved.append(status)

    on_close: Any = (lambda record, status: save(record, status)) if shape == "lambda" else Saver()
    ctx = StreamContext(on_close=on_close)

    async def work(ctx: StreamContext) -> None:
        await ctx.write_text("persist me")

    ctx.run(work)
    await consume_or_fail(ctx, "on_close returning an awaitable")
    await asyncio.wait_for(ctx.wait_closed(), HANG)
    gc.collect()
    assert saved == ["finish"]


# --- the loop closed --------------------------------------------------------------------------


def test_a_sync_write_after_the_loop_closed_raises_on_the_loops_own_thread() -> None:
    holder: list[StreamContext] = []

    async def main() -> None:
        ctx = StreamContext()
        await ctx.write_text("first")
        holder.append(ctx)

    asyncio.run(main())  # the loop is closed when this returns; same thread below
    with pytest.raises(StreamClosed, match="event loop serving this stream is closed"):
        holder[0].sync.write_text("second")


# --- the blocked-loop detector ----------------------------------------------------------------


async def test_a_dropped_context_does_not_keep_the_detector_running() -> None:
    loop = asyncio.get_running_loop()
    assert loop not in watchdog._watches  # pyright: ignore[reportPrivateUsage]
    try:
        ctx = StreamContext(detect_blocking=0.05)
        # the route fails validation and never returns UIMessageStreamResponse(ctx)
        del ctx
        gc.collect()
        await asyncio.sleep(0.05)
        assert loop not in watchdog._watches  # pyright: ignore[reportPrivateUsage]
    finally:
        if loop in watchdog._watches:  # pyright: ignore[reportPrivateUsage]
            watchdog.unwatch_loop(loop)


# --- UIMessageStreamResponse ------------------------------------------------------------------


async def test_a_response_cancelled_before_the_body_still_disconnects() -> None:
    from uiwire.server import UIMessageStreamResponse

    finished: list[StreamStatus] = []
    work_cancelled = asyncio.Event()

    async def on_close(record: StreamRecord, status: StreamStatus) -> None:
        finished.append(status)

    async def work(ctx: StreamContext) -> None:
        await ctx.write_text("a model that takes its time")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            work_cancelled.set()
            raise

    ctx = StreamContext(on_close=on_close)
    ctx.run(work)
    start_sent = asyncio.Event()

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # no http.disconnect: the server cancels us instead
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start_sent.set()
            await asyncio.Event().wait()  # e.g. BaseHTTPMiddleware not reading yet

    response = asyncio.create_task(
        UIMessageStreamResponse(ctx)({"type": "http"}, receive, send)  # type: ignore[arg-type]
    )
    try:
        await asyncio.wait_for(start_sent.wait(), HANG)
        response.cancel()  # server shutdown, or the middleware's task group cancelled
        await asyncio.gather(response, return_exceptions=True)
        try:
            await asyncio.wait_for(ctx.wait_closed(), HANG)
        except asyncio.TimeoutError:
            pytest.fail("the context was never disconnected: the work still runs")
        assert work_cancelled.is_set()
        assert finished == ["disconnect"]
    finally:
        ctx.disconnect()  # today: what the response should have done (stops the work)
        await asyncio.sleep(0)


# --- memory -----------------------------------------------------------------------------------


@pytest.mark.parametrize("writer", ["async", "thread"])
async def test_a_finished_stream_is_freed_without_the_garbage_collector(writer: str) -> None:
    """No reference cycle: a finished context (its writers, machine, collector and record
    assembler included) goes as soon as the last reference does. Cycles would wait for
    the collector's full passes, which under load are the longest loop stalls."""
    import weakref

    finished: list[StreamStatus] = []

    async def work(ctx: StreamContext[Any]) -> None:
        if writer == "thread":
            await asyncio.to_thread(ctx.sync.write_text, "from a thread")
        await ctx.write_reasoning("thinking")
        await ctx.write_text("hello")
        await ctx.begin_tool_call("lookup", tool_call_id="call_1", input={"q": "x"})
        await ctx.complete_tool_call("call_1", {"ok": True})
        await ctx.write_data("progress", {"step": 1})

    gc.collect()
    gc.disable()
    try:
        ctx = StreamContext(on_close=lambda record, status: finished.append(status))
        ctx.run(work)
        body = await consume(ctx)
        await ctx.wait_closed()
        assert_valid_body(body)
        assert finished == ["finish"]
        gone = weakref.ref(ctx)
        del ctx
        await asyncio.sleep(0.01)  # the loop drops its handles to the finished tasks
        assert gone() is None, "the context is only freed by the garbage collector"
    finally:
        gc.enable()
