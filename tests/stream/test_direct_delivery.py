"""Direct delivery (``stream/_channel.py``): a write on the loop sends its own frames
while the reader is idle.

The reader here is what ``UIMessageStreamResponse`` does: it reads
``ctx.stream(sink=...)`` with its send as the sink and sends whatever comes out through
the same sink. ``Sink`` is
that send, recording which task called it, able to hold (a slow client) or fail.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import defaultdict
from typing import Any

import pytest

from tests.support.stream_rules import assert_valid_body
from tests.support.stream_sinks import Sink, parked, read, until
from uiwire.server import UIMessageStreamResponse
from uiwire.stream import StreamContext, StreamRecord, StreamStatus


def text_of(body: bytes) -> str:
    return "".join(c["delta"] for c in assert_valid_body(body) if c["type"] == "text-delta")


async def test_a_write_on_the_loop_sends_its_own_frame_while_the_reader_waits() -> None:
    ctx = StreamContext()
    sink = Sink()
    reader = asyncio.create_task(read(ctx, sink))
    await until(lambda: parked(ctx))
    me = asyncio.current_task()
    for word in ("one ", "two ", "three"):
        await ctx.write_text(word)
        assert sink.senders[-1] is me  # sent in the write itself, not by the reader
        await asyncio.sleep(0)  # one loop pass per token, as a model's socket gives them
    await ctx.finish()
    await reader
    chunks = assert_valid_body(sink.body())
    assert [c["delta"] for c in chunks if c["type"] == "text-delta"] == ["one ", "two ", "three"]
    assert chunks[-1]["type"] == "finish"
    assert sink.most_at_once == 1


async def test_reasoning_deltas_are_sent_by_their_writer_and_recorded() -> None:
    ctx = StreamContext(collect=True)
    sink = Sink()
    reader = asyncio.create_task(read(ctx, sink))
    await until(lambda: parked(ctx))
    me = asyncio.current_task()
    await ctx.write_reasoning("think")  # opens the part: the locked way, sent by the writer
    for word in (" hard", " twice"):
        await asyncio.sleep(0)
        await ctx.write_reasoning(word)
        assert sink.senders[-1] is me
    await ctx.write_text("answer")
    await ctx.finish()
    await reader
    chunks = assert_valid_body(sink.body())
    deltas = [c["delta"] for c in chunks if c["type"] == "reasoning-delta"]
    assert deltas == ["think", " hard", " twice"]
    assert ctx.record is not None
    parts = ctx.record.message["parts"]
    assert [(p["type"], p.get("text")) for p in parts if p["type"] != "step-start"] == [
        ("reasoning", "think hard twice"),
        ("text", "answer"),
    ]


async def test_a_burst_in_one_loop_pass_sends_its_first_write_and_merges_the_rest() -> None:
    ctx = StreamContext()
    sink = Sink()
    reader = asyncio.create_task(read(ctx, sink))
    await until(lambda: parked(ctx))
    for i in range(10):  # no pass between them: one socket read that held ten tokens
        await ctx.write_text(f"{i}")
    assert len(sink.sent) == 1
    assert sink.senders == [asyncio.current_task()]
    await until(lambda: len(sink.sent) == 2)
    assert sink.senders[1] is reader
    await ctx.finish()
    await reader
    chunks = assert_valid_body(sink.body())
    assert [c["delta"] for c in chunks if c["type"] == "text-delta"] == ["0", "123456789"]


async def test_streams_sharing_a_loop_pass_each_send_their_own_first_write() -> None:
    """The pass marker is shared by the loop's streams; a burst is counted per stream."""
    contexts = [StreamContext() for _ in range(3)]
    sinks = [Sink() for _ in contexts]
    readers = [asyncio.create_task(read(c, s)) for c, s in zip(contexts, sinks, strict=True)]
    await until(lambda: all(parked(c) for c in contexts))
    me = asyncio.current_task()
    for round_ in range(2):  # no pass between the three streams' writes
        for ctx in contexts:
            await ctx.write_text(f"{round_}")
    assert all(sink.senders == [me] for sink in sinks)  # first writes: each sent itself
    await until(lambda: all(len(sink.sent) == 2 for sink in sinks))
    for ctx in contexts:
        await ctx.finish()
    await asyncio.gather(*readers)
    for sink, reader in zip(sinks, readers, strict=True):
        assert sink.senders[1] is reader  # the second, a burst of one, at the pass's end
        assert text_of(sink.body()) == "01"


async def test_direct_sends_and_thread_steps_keep_each_writers_order_and_the_record() -> None:
    """A loop writer sending its deltas itself while four threads take the locked way
    (deltas on the lane, closing their parts, data parts): the body stays valid, each
    writer's output arrives in its order, and the record holds every part whole."""
    ctx = StreamContext(collect=True)
    sink = Sink()
    rounds, per_round, threads = 20, 30, 4
    me = asyncio.current_task()

    def worker(n: int) -> None:
        for r in range(rounds):
            for i in range(per_round):
                ctx.sync.write_text(f"[{n}:{r}:{i}]", key=n)
            ctx.sync.end_text(key=n)
            ctx.sync.write_data("round", {"n": n, "r": r}, transient=True)

    reader = asyncio.create_task(read(ctx, sink))
    await until(lambda: parked(ctx))
    pool = [threading.Thread(target=worker, args=(n,)) for n in range(1, threads + 1)]
    for thread in pool:
        thread.start()
    for i in range(rounds * per_round):
        await ctx.write_text(f"[0:0:{i}]", key=0)
        await asyncio.sleep(0)
    while any(thread.is_alive() for thread in pool):
        await asyncio.sleep(0.001)
    await ctx.finish()
    await reader
    assert me in sink.senders  # the loop writer did send some of it itself
    writes: dict[int, list[str]] = defaultdict(list)
    for chunk in assert_valid_body(sink.body()):
        if chunk["type"] == "text-delta":  # deltas queued together arrive merged
            for token in re.findall(r"\[\d+:\d+:\d+\]", chunk["delta"]):
                writes[int(token[1:].split(":")[0])].append(token)
        elif chunk["type"] == "data-round":
            writes[chunk["data"]["n"]].append(f"round {chunk['data']['r']}")
    assert writes[0] == [f"[0:0:{i}]" for i in range(rounds * per_round)]
    for n in range(1, threads + 1):
        expected: list[str] = []
        for r in range(rounds):
            expected += [f"[{n}:{r}:{i}]" for i in range(per_round)] + [f"round {r}"]
        assert writes[n] == expected
    assert ctx.record is not None
    parts = [p["text"] for p in ctx.record.message["parts"] if p["type"] == "text"]
    assert sorted(parts) == sorted(
        ["".join(f"[0:0:{i}]" for i in range(rounds * per_round))]
        + [
            "".join(f"[{n}:{r}:{i}]" for i in range(per_round))
            for n in range(1, threads + 1)
            for r in range(rounds)
        ]
    )


async def test_a_sync_write_on_the_loop_is_sent_by_the_reader() -> None:
    ctx = StreamContext()
    sink = Sink()
    reader = asyncio.create_task(read(ctx, sink))
    await until(lambda: parked(ctx))
    ctx.sync.write_text("plain call")  # no await: nobody to send but the reader
    await until(lambda: bool(sink.sent))
    assert sink.senders == [reader]
    ctx.sync.finish()
    await reader
    assert text_of(sink.body()) == "plain call"


async def test_one_sender_at_a_time_and_the_order_kept_while_a_send_is_held() -> None:
    ctx = StreamContext()
    sink = Sink()
    reader = asyncio.create_task(read(ctx, sink))
    await until(lambda: parked(ctx))
    sink.open.clear()  # the client stops reading: the next send does not return
    first = asyncio.create_task(ctx.write_text("A"))
    await until(lambda: sink.sending == 1)
    await asyncio.to_thread(lambda: [ctx.sync.write_text(f"b{i}") for i in range(3)])
    second = asyncio.create_task(ctx.write_text("C"))
    await until(second.done)  # under the limit: the write is buffered, not sent
    for _ in range(20):
        await asyncio.sleep(0)
    assert sink.sending == 1
    assert not first.done()
    sink.open.set()
    await first
    await ctx.finish()
    await reader
    assert text_of(sink.body()) == "Ab0b1b2C"
    assert sink.most_at_once == 1


async def test_a_writer_over_the_limit_waits_while_another_send_is_held() -> None:
    ctx = StreamContext(max_buffered_bytes=500)
    sink = Sink()
    reader = asyncio.create_task(read(ctx, sink))
    await until(lambda: parked(ctx))
    sink.open.clear()
    first = asyncio.create_task(ctx.write_text("held "))
    await until(lambda: sink.sending == 1)

    async def flood() -> None:
        for i in range(50):
            await ctx.write_text(f"{i:02d} ")

    flooding = asyncio.create_task(flood())
    for _ in range(50):
        await asyncio.sleep(0)
    assert not flooding.done()  # over the limit: it waits for the client
    sink.open.set()
    await asyncio.gather(first, flooding)
    await ctx.finish()
    await reader
    assert text_of(sink.body()) == "held " + "".join(f"{i:02d} " for i in range(50))
    assert sink.most_at_once == 1


async def test_cancelling_a_writer_in_its_send_lets_the_reader_deliver_the_end() -> None:
    finished: list[StreamStatus] = []

    async def on_close(record: StreamRecord, status: StreamStatus) -> None:
        finished.append(status)

    ctx = StreamContext(on_close=on_close)
    sink = Sink()
    in_send = asyncio.Event()

    async def work(ctx: StreamContext[Any]) -> None:
        await ctx.write_text("before ")
        await asyncio.sleep(0)  # the next write, in a pass of its own, sends itself
        sink.open.clear()
        in_send.set()
        await ctx.write_text("held")  # cancelled in here
        raise AssertionError("unreachable")

    reader = asyncio.create_task(read(ctx, sink))
    await until(lambda: parked(ctx))
    ctx.run(work)
    await in_send.wait()
    await until(lambda: sink.sending == 1)
    ctx.cancel()  # a stop button: the work is cancelled mid-send, abort is delivered
    await until(lambda: sink.sending == 0)
    sink.open.set()
    await reader
    await ctx.wait_closed()
    chunks = assert_valid_body(sink.body())
    assert chunks[-1]["type"] == "abort"
    assert text_of(sink.body()) == "before held"
    assert finished == ["abort"]
    assert sink.most_at_once == 1


async def test_a_failed_send_in_a_writer_ends_the_response_as_a_disconnect() -> None:
    finished: list[StreamStatus] = []
    seen_by_work: list[BaseException] = []

    async def on_close(record: StreamRecord, status: StreamStatus) -> None:
        finished.append(status)

    ctx = StreamContext(on_close=on_close)
    bodies = 0
    senders: list[asyncio.Task[Any] | None] = []

    async def send(message: dict[str, Any]) -> None:
        nonlocal bodies
        if message["type"] == "http.response.body":
            bodies += 1
            senders.append(asyncio.current_task())
            if bodies == 3:
                raise OSError("connection reset")  # what an ASGI 2.4 server raises

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def work(ctx: StreamContext[Any]) -> None:
        try:
            for i in range(100):
                await ctx.write_text(f"{i} ")
                await asyncio.sleep(0)
        except BaseException as exc:
            seen_by_work.append(exc)
            raise

    ctx.run(work)
    response = UIMessageStreamResponse(ctx)
    await response({"type": "http"}, receive, send)  # type: ignore[arg-type]
    await ctx.wait_closed()
    assert bodies == 3
    assert senders[-1] is not None
    assert senders[-1].get_name().startswith("uiwire-work-")
    assert finished == ["disconnect"]
    assert len(seen_by_work) == 1
    assert isinstance(seen_by_work[0], asyncio.CancelledError)  # not the OSError


@pytest.mark.parametrize("writes", [1, 5])
async def test_frames_queued_before_the_reader_come_first_and_merged(writes: int) -> None:
    ctx = StreamContext()
    for i in range(writes):
        await ctx.write_text(f"{i}")
    sink = Sink()
    reader = asyncio.create_task(read(ctx, sink))
    await until(lambda: parked(ctx))
    await ctx.write_text("!")
    await ctx.finish()
    await reader
    chunks = assert_valid_body(sink.body())
    deltas = [c["delta"] for c in chunks if c["type"] == "text-delta"]
    assert deltas == ["".join(str(i) for i in range(writes)), "!"]
