"""StreamContext's write API, validation and run semantics, read through ctx.stream()."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from tests.support.context_scenarios import SCENARIOS, capture, consume
from tests.support.stream_rules import assert_valid_body
from tests.support.stream_sinks import Sink, parked, read, until
from uiwire.protocol import MAX_EVENT_CHARS, EventTooLarge, ProtocolError
from uiwire.stream import DEFAULT_ERROR_TEXT, NoInfo, StreamClosed, StreamContext, StreamStateError
from uiwire.stream import context as context_module


class RequestInfo(BaseModel):
    model_config = ConfigDict(frozen=True)
    user_id: str


def types(chunks: list[dict[str, Any]]) -> list[str]:
    return [c["type"] for c in chunks]


# --- construction ------------------------------------------------------------------------


def test_info_is_typed_and_read_only() -> None:
    ctx = StreamContext(RequestInfo(user_id="u1"))
    assert ctx.info.user_id == "u1"
    with pytest.raises(Exception, match="frozen"):
        ctx.info.user_id = "u2"  # type: ignore[misc]
    assert isinstance(StreamContext().info, NoInfo)


def test_info_must_be_a_frozen_model() -> None:
    class Mutable(BaseModel):
        user_id: str

    with pytest.raises(ValueError, match=r"info must be a frozen model.*Mutable"):
        StreamContext(Mutable(user_id="u"))
    with pytest.raises(TypeError, match="info must be a pydantic model instance"):
        StreamContext({"user_id": "u"})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("options", "error", "field"),
    [
        ({"on_disconnect": "keep"}, ValueError, "on_disconnect"),
        ({"max_buffered_bytes": 0}, ValueError, "max_buffered_bytes"),
        ({"max_buffered_bytes": 1.5}, ValueError, "max_buffered_bytes"),
        ({"on_close": "persist"}, TypeError, "on_close"),
        ({"on_error": 3}, TypeError, "on_error"),
        ({"on_close": lambda r, s: None, "collect": False}, ValueError, "on_close"),
        ({"state": [1, 2]}, TypeError, "state"),
        ({"detect_blocking": -1}, ValueError, "detect_blocking"),
        ({"detect_blocking": "yes"}, TypeError, "detect_blocking"),
        ({"target": "v8"}, ValueError, "target"),
        ({"message_id": ""}, ValueError, "message_id"),
    ],
)
def test_bad_options_name_the_field(options: dict[str, Any], error: type, field: str) -> None:
    with pytest.raises(error, match=field):
        StreamContext(**options)


def test_response_headers_are_the_protocol_headers() -> None:
    headers = StreamContext().response_headers
    assert headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert headers["content-type"] == "text/event-stream"
    headers["x-extra"] = "1"  # a private copy
    assert "x-extra" not in StreamContext().response_headers


# --- the writes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "target"),
    [
        (name, target)
        for name in sorted(SCENARIOS)
        for target in ("v5", "v6", "v7")
        if not (target == "v5" and name == "approval")  # see test_approval_needs_v6
    ],
)
async def test_scenarios_produce_valid_streams(name: str, target: str) -> None:
    work, options = SCENARIOS[name]
    body = await capture(work, target=target, **options)
    assert body.endswith(b"data: [DONE]\n\n")
    assert_valid_body(body, target)


async def test_approval_needs_v6() -> None:
    work, _ = SCENARIOS["approval"]
    body = await capture(work, target="v5")
    chunks = assert_valid_body(body, "v5")
    # the refused write raised inside the work: the stream ends with a masked error
    assert chunks[-1] == {"type": "error", "errorText": DEFAULT_ERROR_TEXT}


async def test_full_vocabulary_reaches_the_wire_in_order() -> None:
    work, _ = SCENARIOS["reasoning-tools-sources"]
    chunks = assert_valid_body(await capture(work))
    assert types(chunks) == [
        "start", "start-step",
        "reasoning-start", "reasoning-delta", "reasoning-end",
        "tool-input-start", "tool-input-delta", "tool-input-available",
        "tool-output-available", "tool-output-available",
        "source-url", "source-document",
        "finish-step", "start-step",
        "text-start", "text-delta", "text-end",
        "file", "data-weather", "data-weather", "data-toast", "message-metadata",
        "finish-step", "finish",
    ]  # fmt: skip
    by_type = {c["type"]: c for c in chunks}
    # both input deltas were queued before the reader came: they arrive merged, in order
    assert by_type["tool-input-delta"]["inputTextDelta"] == '{"query":"weather"}'
    assert by_type["file"]["url"] == "data:image/png;base64,iVBORw=="
    assert by_type["finish"] == {
        "type": "finish",
        "finishReason": "stop",
        "messageMetadata": {"tokens": 12},
    }
    progress = [c for c in chunks if c["type"] == "tool-output-available"]
    assert progress[0]["preliminary"] is True
    assert "preliminary" not in progress[1]


async def test_tool_failures_are_masked_with_error_text() -> None:
    work, _ = SCENARIOS["failing-tool"]
    chunks = assert_valid_body(await capture(work))
    output_error = next(c for c in chunks if c["type"] == "tool-output-error")
    assert output_error["errorText"] == DEFAULT_ERROR_TEXT  # ZeroDivisionError masked
    assert "error" not in output_error  # the field the seed library got wrong
    input_error = next(c for c in chunks if c["type"] == "tool-input-error")
    assert input_error["errorText"] == "The input was not valid JSON."  # a string is verbatim


async def test_begin_tool_call_returns_ids_and_accepts_given_ones() -> None:
    ctx = StreamContext()

    async def work(ctx: StreamContext) -> None:
        generated = await ctx.begin_tool_call("a", {})
        assert generated.startswith("call_")
        given = await ctx.begin_tool_call("b", {}, tool_call_id="mine")
        assert given == "mine"
        approval = await ctx.request_tool_approval("mine", approval_id="ap-1")
        assert approval == "ap-1"
        await ctx.deny_tool_call("mine")
        await ctx.complete_tool_call(generated, 42)

    await ctx.run_and_wait(work)
    chunks = assert_valid_body(await consume(ctx))
    assert {"type": "tool-output-denied", "toolCallId": "mine"} in chunks


async def test_current_part_ids_follow_the_open_parts() -> None:
    ctx = StreamContext()
    assert ctx.current_text_id is None
    await ctx.write_text("a")
    text_id = ctx.current_text_id
    assert text_id is not None
    await ctx.write_reasoning("b")  # a new part closes the current text
    assert ctx.current_text_id is None
    assert ctx.current_reasoning_id is not None
    await ctx.finish()
    assert ctx.current_reasoning_id is None
    assert ctx.is_finished
    assert_valid_body(await consume(ctx))


async def test_low_level_write_follows_the_same_rules() -> None:
    ctx = StreamContext()
    await ctx.write({"type": "text-start", "id": "mine"})
    await ctx.write({"type": "text-delta", "id": "mine", "delta": "hi"})
    with pytest.raises(ProtocolError, match="text-delta"):
        await ctx.write({"type": "text-delta", "id": "other", "delta": "x"})
    with pytest.raises(ProtocolError):
        await ctx.write({"type": "tool-output-error", "toolCallId": "x", "error": "boom"})
    await ctx.write({"type": "finish"})
    chunks = assert_valid_body(await consume(ctx))
    assert types(chunks)[-3:] == ["text-end", "finish-step", "finish"]


async def test_refused_writes_raise_and_send_nothing() -> None:
    ctx = StreamContext(target="v5")
    with pytest.raises(ProtocolError, match="tool-output-available"):
        await ctx.complete_tool_call("never-started", {})
    with pytest.raises(ProtocolError, match="tool-approval-request"):
        await ctx.request_tool_approval("never-started")
    with pytest.raises(ProtocolError, match="error must be an exception or a string"):
        await ctx.error(42)  # type: ignore[arg-type]
    await ctx.finish()
    with pytest.raises(ProtocolError, match="already ended"):
        await ctx.write_text("late")
    assert types(assert_valid_body(await consume(ctx), "v5")) == ["start", "finish"]


async def test_an_event_too_large_for_the_client_is_refused_at_the_write() -> None:
    """Every write path (direct to a parked reader, the lane, the locked way, a thread)
    refuses an event over the client's limit before anything is sent; the stream goes on
    and the record never holds it."""
    huge = "x" * MAX_EVENT_CHARS
    ctx = StreamContext(collect=True)
    sink = Sink()
    reader = asyncio.create_task(read(ctx, sink))
    await until(lambda: parked(ctx))
    await ctx.write_text("a")
    await asyncio.sleep(0)
    with pytest.raises(EventTooLarge):
        await ctx.write_text(huge)  # a parked reader: the direct path's size bound
    with pytest.raises(EventTooLarge):
        ctx.sync.write_text(huge)  # the lane's
    with pytest.raises(EventTooLarge):
        await asyncio.to_thread(ctx.sync.write_data, "big", {"blob": huge})
    with pytest.raises(EventTooLarge):
        await ctx.write_file(huge.encode(), "text/plain")
    await ctx.write_text("b")
    await ctx.finish()
    await reader
    body = sink.body()
    assert len(body) < 4096
    chunks = assert_valid_body(body)
    assert "".join(c["delta"] for c in chunks if c["type"] == "text-delta") == "ab"
    assert ctx.record is not None
    assert [p["type"] for p in ctx.record.message["parts"]] == ["step-start", "text"]


async def test_state_is_shared_with_threads() -> None:
    ctx = StreamContext(state={"user": {"plan": "free"}})
    assert ctx.state.get("user.plan") == "free"

    def bump() -> None:
        for _ in range(1000):
            ctx.state.update("counters.calls", lambda n: n + 1, default=0)

    await asyncio.gather(*(asyncio.to_thread(bump) for _ in range(4)))
    assert ctx.state.get("counters.calls") == 4000


# --- run ---------------------------------------------------------------------------------------


async def test_run_returns_none_and_starts_work_once() -> None:
    ctx = StreamContext()
    started = asyncio.Event()

    async def work(ctx: StreamContext) -> None:
        started.set()
        await ctx.write_text("x")

    assert ctx.run(work) is None  # type: ignore[func-returns-value]
    with pytest.raises(StreamStateError, match="already started"):
        ctx.run(work)
    await asyncio.wait_for(started.wait(), 5)
    assert_valid_body(await consume(ctx))


async def test_run_accepts_an_awaitable() -> None:
    ctx = StreamContext()

    async def answer(ctx: StreamContext, text: str) -> None:
        await ctx.write_text(text)

    ctx.run(answer(ctx, "bound"))
    chunks = assert_valid_body(await consume(ctx))
    assert {"type": "text-delta", "id": chunks[2]["id"], "delta": "bound"} in chunks


async def test_run_rejects_sync_work() -> None:
    ctx = StreamContext()
    with pytest.raises(TypeError, match=r"returned int, not an awaitable.*to_thread"):
        ctx.run(lambda ctx: 3)  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match="work must be an awaitable"):
        ctx.run(3)  # type: ignore[arg-type]


def test_run_needs_a_running_loop() -> None:
    ctx = StreamContext()

    async def work(ctx: StreamContext) -> None:
        pass

    coro = work(ctx)
    with pytest.raises(StreamStateError, match=r"run\(\) needs the running event loop"):
        ctx.run(coro)
    coro.close()


async def test_run_and_wait_returns_the_outcome_with_a_complete_record() -> None:
    ctx = StreamContext(collect=True)

    async def work(ctx: StreamContext) -> None:
        await ctx.write_text("complete")

    assert await ctx.run_and_wait(work) == "finish"
    assert ctx.record is not None
    assert ctx.record.text == "complete"  # not the seed library's empty record
    assert_valid_body(await consume(ctx))


async def test_run_and_wait_does_not_reraise_the_work_error(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ctx = StreamContext(collect=True)

    async def work(ctx: StreamContext) -> None:
        raise KeyError("secret-key")

    with caplog.at_level(logging.ERROR, logger="uiwire"):
        assert await ctx.run_and_wait(work) == "error"
    assert ctx.record is not None
    assert isinstance(ctx.record.exception, KeyError)
    assert ctx.record.error_text == DEFAULT_ERROR_TEXT
    assert "secret-key" in caplog.text  # the traceback is logged server-side
    body = await consume(ctx)
    assert b"secret-key" not in body
    assert_valid_body(body)


async def test_cancelling_run_and_wait_cancels_the_work() -> None:
    ctx = StreamContext()
    entered = asyncio.Event()
    cancelled = asyncio.Event()

    async def work(ctx: StreamContext) -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    waiter = asyncio.create_task(ctx.run_and_wait(work))
    await entered.wait()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert cancelled.is_set()
    chunks = assert_valid_body(await consume(ctx))
    assert chunks[-1] == {"type": "abort"}


async def test_work_that_ends_the_stream_itself_is_not_finished_twice() -> None:
    async def work(ctx: StreamContext) -> None:
        await ctx.write_text("x")
        await ctx.abort("user pressed stop")

    chunks = assert_valid_body(await capture(work))
    assert chunks[-1] == {"type": "abort", "reason": "user pressed stop"}


# --- errors --------------------------------------------------------------------------------------


async def test_error_closes_parts_masks_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    work, _ = SCENARIOS["work-raises"]
    with caplog.at_level(logging.ERROR, logger="uiwire"):
        body = await capture(work)
    chunks = assert_valid_body(body)
    assert types(chunks)[-4:] == ["text-end", "tool-input-start", "tool-input-error", "error"]
    assert chunks[-1] == {"type": "error", "errorText": "An error occurred."}
    assert b"hunter2" not in body
    assert "hunter2" in caplog.text
    assert "Traceback" in caplog.text


@pytest.mark.parametrize(
    ("on_error", "expected"),
    [
        (lambda exc: f"Sorry: {type(exc).__name__}", "Sorry: RuntimeError"),
        (lambda exc: None, DEFAULT_ERROR_TEXT),
        (lambda exc: 1 / 0, DEFAULT_ERROR_TEXT),  # a failing hook falls back
        (lambda exc: 42, DEFAULT_ERROR_TEXT),  # so does a wrong type
    ],
)
async def test_on_error_chooses_the_text(on_error: Any, expected: str) -> None:
    work, _ = SCENARIOS["work-raises"]
    chunks = assert_valid_body(await capture(work, on_error=on_error))
    assert chunks[-1] == {"type": "error", "errorText": expected}


async def test_error_accepts_exception_string_or_nothing() -> None:
    for given, expected in [
        (ValueError("private"), DEFAULT_ERROR_TEXT),
        ("Quota exceeded, try tomorrow.", "Quota exceeded, try tomorrow."),
        (None, DEFAULT_ERROR_TEXT),
    ]:
        ctx = StreamContext()
        await ctx.write_text("partial")
        await ctx.error(given)
        chunks = assert_valid_body(await consume(ctx))
        assert chunks[-1] == {"type": "error", "errorText": expected}


# --- threads ----------------------------------------------------------------------------------


async def test_sync_writes_from_a_thread_and_on_the_loop() -> None:
    ctx = StreamContext()
    ctx.sync.write_text("on the loop, ")
    await asyncio.to_thread(ctx.sync.write_text, "from a thread")
    ctx.sync.finish()
    chunks = assert_valid_body(await consume(ctx))
    deltas = [c["delta"] for c in chunks if c["type"] == "text-delta"]
    assert deltas == ["on the loop, from a thread"]  # queued together: merged, in order


async def test_thread_writes_raise_protocol_errors_at_the_call() -> None:
    ctx = StreamContext()

    def bad() -> None:
        ctx.sync.complete_tool_call("unknown", 1)

    with pytest.raises(ProtocolError, match="unknown"):
        await asyncio.to_thread(bad)
    await ctx.finish()
    assert_valid_body(await consume(ctx))


async def test_awaitable_writes_from_another_thread_are_refused() -> None:
    ctx = StreamContext()
    await ctx.write_text("bound here")

    def other_loop() -> None:
        asyncio.run(ctx.write_text("wrong loop"))

    with pytest.raises(StreamStateError, match=r"another event loop.*ctx\.sync"):
        await asyncio.to_thread(other_loop)
    await ctx.finish()
    assert_valid_body(await consume(ctx))


def test_thread_write_after_the_loop_closed_raises_instead_of_hanging() -> None:
    holder: list[StreamContext] = []

    async def main() -> None:
        ctx = StreamContext()
        await ctx.write_text("first")
        holder.append(ctx)

    asyncio.run(main())  # the loop is closed when this returns
    errors: list[BaseException] = []

    def writer() -> None:
        try:
            holder[0].sync.write_text("second")
        except StreamClosed as exc:
            errors.append(exc)

    thread = threading.Thread(target=writer)
    thread.start()
    thread.join(10)
    assert not thread.is_alive()
    assert len(errors) == 1
    assert "event loop serving this stream is closed" in str(errors[0])


async def test_one_reader_only() -> None:
    ctx = StreamContext()
    first = ctx.stream()
    await ctx.finish()
    assert await anext(first) is not None
    with pytest.raises(StreamStateError, match="one reader"):
        await anext(ctx.stream())
    await first.aclose()


async def test_cancel_stops_the_work_and_still_delivers_the_abort() -> None:
    started = asyncio.Event()
    cancelled: list[bool] = []

    async def work(ctx: StreamContext) -> None:
        await ctx.write_text("partial")
        started.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    ctx = StreamContext()
    ctx.run(work)
    body = asyncio.create_task(_read_body(ctx))
    await started.wait()
    ctx.cancel()
    ctx.cancel()  # idempotent
    data = await asyncio.wait_for(body, 5)
    assert data.endswith(b'data: {"type":"abort"}\n\ndata: [DONE]\n\n')
    assert b'{"type":"text-end"' in data
    assert cancelled == [True]
    with pytest.raises(StreamClosed):
        await ctx.write_text("late")


async def test_cancel_after_the_end_changes_nothing() -> None:
    async def work(ctx: StreamContext) -> None:
        await ctx.write_text("done")

    ctx = StreamContext()
    ctx.run(work)
    data = await _read_body(ctx)
    ctx.cancel()
    assert data.endswith(b'data: {"type":"finish"}\n\ndata: [DONE]\n\n')


async def _read_body(ctx: StreamContext) -> bytes:
    return b"".join([data async for data in ctx.stream()])


# --- a stream nobody writes --------------------------------------------------------------


async def _read_keep_alives(ctx: StreamContext, count: int) -> None:
    stream = ctx.stream(keep_alive=0.01)
    for _ in range(count):
        assert await anext(stream) == b": keep-alive\n\n"
    await stream.aclose()


async def test_a_stream_read_without_work_warns_once(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(context_module, "UNSTARTED_WARNING_SECONDS", 0.02)
    ctx = StreamContext(message_id="msg_1")  # ...and no ctx.run(work): the mistake
    with caplog.at_level(logging.WARNING, logger="uiwire"):
        await _read_keep_alives(ctx, 10)  # 0.1 s or more: the warning is due by then
    told = [r.getMessage() for r in caplog.records if "no work was started" in r.getMessage()]
    assert told == [
        "stream msg_1: read for 0.02 s, but no work was started and nothing was written, so "
        "the client gets only keep-alives. Start the work with ctx.run(work) before "
        "returning the response."
    ]


async def test_a_stream_whose_work_is_quiet_does_not_warn(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(context_module, "UNSTARTED_WARNING_SECONDS", 0.02)
    ctx = StreamContext()
    ctx.run(asyncio.Event().wait())  # started, thinking, nothing written yet
    with caplog.at_level(logging.WARNING, logger="uiwire"):
        await _read_keep_alives(ctx, 10)
    assert "no work was started" not in caplog.text


# --- cancel callbacks: work in tasks of its own stops in the same loop step ------------


async def test_a_cancel_callback_runs_in_the_disconnect_step_before_the_work_sees_it() -> None:
    seen: list[str] = []
    ctx: StreamContext = StreamContext()

    async def work(ctx: StreamContext) -> None:
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            seen.append("work cancelled")
            raise

    ctx.run(work)
    ctx.add_cancel_callback(lambda: seen.append(f"callback, cancelled={ctx.cancelled}"))
    await asyncio.sleep(0)  # the work is waiting
    ctx.disconnect()
    assert seen == ["callback, cancelled=True"]  # synchronously, within disconnect()
    await ctx.wait_closed()
    assert seen == ["callback, cancelled=True", "work cancelled"]


async def test_cancel_runs_the_callbacks_once_and_a_removed_one_never() -> None:
    calls: list[str] = []
    ctx: StreamContext = StreamContext()
    ctx.run(lambda ctx: asyncio.sleep(10))
    ctx.add_cancel_callback(lambda: calls.append("kept"))
    remove = ctx.add_cancel_callback(lambda: calls.append("removed"))
    remove()
    remove()  # removing twice is harmless
    ctx.cancel()
    ctx.cancel()
    body = await consume(ctx)
    assert calls == ["kept"]
    assert_valid_body(body)


async def test_a_callback_added_after_the_cancellation_runs_at_once() -> None:
    calls: list[str] = []
    ctx: StreamContext = StreamContext()
    ctx.run(lambda ctx: asyncio.sleep(10))
    ctx.cancel()
    remove = ctx.add_cancel_callback(lambda: calls.append("late"))
    assert calls == ["late"]
    remove()
    await consume(ctx)


async def test_a_raising_cancel_callback_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[str] = []
    ctx: StreamContext = StreamContext(message_id="msg_cb")

    def broken() -> None:
        raise RuntimeError("boom")

    ctx.run(lambda ctx: asyncio.sleep(10))
    ctx.add_cancel_callback(broken)
    ctx.add_cancel_callback(lambda: calls.append("next"))
    with caplog.at_level(logging.ERROR, logger="uiwire"):
        ctx.cancel()
    assert calls == ["next"]
    assert "a cancel callback of stream msg_cb raised" in caplog.text
    await consume(ctx)


async def test_a_disconnect_that_lets_the_work_continue_runs_no_cancel_callback() -> None:
    calls: list[str] = []
    ctx: StreamContext = StreamContext(on_disconnect="continue")
    ctx.run(lambda ctx: asyncio.sleep(0.01))
    ctx.add_cancel_callback(lambda: calls.append("cancelled"))
    ctx.disconnect()
    await ctx.wait_closed()
    assert calls == []


def test_a_cancel_callback_must_be_callable() -> None:
    with pytest.raises(TypeError, match="callback must be callable; got int"):
        StreamContext().add_cancel_callback(5)  # type: ignore[arg-type]
