"""Writes from many threads: nothing lost, order per thread kept, the loop never stalls."""

from __future__ import annotations

import asyncio
import os
import re
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.support.context_scenarios import consume
from tests.support.stream_rules import assert_valid_body
from uiwire.stream import StreamContext

THREADS = 8
WRITES = int(os.environ.get("UIWIRE_THREAD_WRITES") or 4_000)
"""Writes per thread; ``UIWIRE_THREAD_WRITES=10000`` is the old, 35 s size."""


class HandoffCounter:
    """Counts ``loop.call_soon_threadsafe`` calls (the thread -> loop wake-ups)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.calls = 0
        self._original = loop.call_soon_threadsafe
        self._loop = loop

    def __enter__(self) -> HandoffCounter:
        def counting(callback: Any, *args: Any, **kwargs: Any) -> Any:
            self.calls += 1  # only ever approximately atomic; enough for a bound
            return self._original(callback, *args, **kwargs)

        self._loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        del self._loop.call_soon_threadsafe  # type: ignore[misc]


async def test_eight_threads_writing_at_once_lose_nothing() -> None:
    """Eight threads write ``WRITES`` data parts each at once: every write arrives, in
    its thread's order; the loop keeps running meanwhile; wake-ups are coalesced.

    4,000 writes a thread (the old size was 10,000) still catch what this is for. Each
    writer runs for many GIL switch intervals, so the threads preempt one another and
    the loop drains the channel between their writes dozens of times, each drain racing
    the writers: one write dropped fails the test at this size. The wake-up bound (under
    one per ten writes) does not depend on the size: without coalescing every write is a
    wake-up, and the test fails. The loop ticks about fifty times while the threads
    write, well over the ten asserted. Most of the old run (35 s) went into validating
    the 80,000-chunk body afterwards, not into the writes.
    """
    loop = asyncio.get_running_loop()
    ctx = StreamContext()
    ticks = 0
    writing = threading.Event()
    done_writing = threading.Event()

    async def ticker() -> None:
        nonlocal ticks
        while not done_writing.is_set():
            await asyncio.sleep(0.001)
            if writing.is_set():
                ticks += 1

    def worker(n: int) -> None:
        writing.set()
        for i in range(WRITES):
            ctx.sync.write_data("w", {"t": n, "i": i}, transient=True)

    async def work(ctx: StreamContext) -> None:
        # eight real threads at once (the default executor has fewer on small machines)
        with ThreadPoolExecutor(THREADS) as pool:
            await asyncio.gather(*(loop.run_in_executor(pool, worker, n) for n in range(THREADS)))
        done_writing.set()

    with HandoffCounter(loop) as handoffs:
        ticking = asyncio.create_task(ticker())
        ctx.run(work)
        body = await consume(ctx)
        await ticking

    chunks = assert_valid_body(body)
    seen: dict[int, list[int]] = defaultdict(list)
    for chunk in chunks:
        if chunk["type"] == "data-w":
            seen[chunk["data"]["t"]].append(chunk["data"]["i"])
    assert sorted(seen) == list(range(THREADS))
    for n in range(THREADS):
        assert seen[n] == list(range(WRITES)), f"thread {n}: writes lost or reordered"
    # the loop kept running other coroutines while the threads wrote
    assert ticks >= 10, f"the loop ticked only {ticks} times during {THREADS * WRITES} writes"
    # wake-ups are coalesced: far fewer loop callbacks than writes
    total = THREADS * WRITES
    assert handoffs.calls < total / 10, f"{handoffs.calls} wake-ups for {total} writes"


async def test_a_burst_from_one_thread_wakes_the_loop_about_once() -> None:
    loop = asyncio.get_running_loop()
    ctx = StreamContext()
    await ctx.write_text("attached")  # binds the context to this loop
    reader = ctx.stream()
    first = await anext(reader)  # the consumer is attached and has drained

    def burst() -> None:
        for i in range(1000):
            ctx.sync.write_text(f"{i} ")

    with HandoffCounter(loop) as handoffs:
        thread = threading.Thread(target=burst)
        thread.start()
        while thread.is_alive():  # keep the loop from draining until the burst is done
            thread.join(0.01)
        calls_during_burst = handoffs.calls
    # the loop was blocked in join(): the first write scheduled a wake-up, the other
    # 999 saw it pending
    assert calls_during_burst == 1
    await ctx.finish()
    rest = b"".join([data async for data in reader])
    chunks = assert_valid_body(first + rest)
    text = "".join(c["delta"] for c in chunks if c["type"] == "text-delta")
    assert text == "attached" + "".join(f"{i} " for i in range(1000))


@pytest.mark.parametrize("writers", [1, 4])
async def test_keyed_text_parts_from_threads_stay_ordered(writers: int) -> None:
    ctx = StreamContext()

    def worker(n: int) -> None:
        for i in range(500):
            ctx.sync.write_text(f"[{n}:{i}]", key=n)
        ctx.sync.end_text(key=n)

    async def work(ctx: StreamContext) -> None:
        await asyncio.gather(*(asyncio.to_thread(worker, n) for n in range(writers)))

    ctx.run(work)
    chunks = assert_valid_body(await consume(ctx))
    part_of: dict[str, int] = {}
    text: dict[int, str] = defaultdict(str)
    for chunk in chunks:
        if chunk["type"] == "text-start":
            part_of[chunk["id"]] = len(part_of)
        elif chunk["type"] == "text-delta":
            text[part_of[chunk["id"]]] += chunk["delta"]
    assert len(text) == writers
    expected = {"".join(f"[{n}:{i}]" for i in range(500)) for n in range(writers)}
    assert set(text.values()) == expected


@pytest.mark.parametrize("collect", [False, True])
async def test_lane_deltas_and_locked_steps_from_many_threads_keep_each_threads_order(
    collect: bool,
) -> None:
    """Eight threads mix lane deltas (to their own open part) with steps that take the
    lock and change the state (closing their part, data parts): the body stays valid,
    and each thread's writes arrive in its order, nothing lost, nothing twice; the
    record, when kept, has every part's text whole."""
    ctx = StreamContext(collect=collect)
    rounds, per_round = 25, 40

    def worker(n: int) -> None:
        for r in range(rounds):
            for i in range(per_round):
                ctx.sync.write_text(f"[{n}:{r}:{i}]", key=n)
            ctx.sync.end_text(key=n)  # a step: retires the lane under the other writers
            ctx.sync.write_data("round", {"n": n, "r": r}, transient=True)

    async def work(ctx: StreamContext) -> None:
        with ThreadPoolExecutor(THREADS) as pool:
            loop = asyncio.get_running_loop()
            await asyncio.gather(*(loop.run_in_executor(pool, worker, n) for n in range(THREADS)))

    ctx.run(work)
    chunks = assert_valid_body(await consume(ctx))
    writes: dict[int, list[str]] = defaultdict(list)
    for chunk in chunks:
        if chunk["type"] == "text-delta":  # deltas queued together arrive merged
            for token in re.findall(r"\[\d+:\d+:\d+\]", chunk["delta"]):
                writes[int(token[1:].split(":")[0])].append(token)
        elif chunk["type"] == "data-round":
            writes[chunk["data"]["n"]].append(f"round {chunk['data']['r']}")
    for n in range(THREADS):
        expected: list[str] = []
        for r in range(rounds):
            expected += [f"[{n}:{r}:{i}]" for i in range(per_round)] + [f"round {r}"]
        assert writes[n] == expected
    if collect:
        assert ctx.record is not None
        parts = [p["text"] for p in ctx.record.message["parts"] if p["type"] == "text"]
        assert sorted(parts) == sorted(
            "".join(f"[{n}:{r}:{i}]" for i in range(per_round))
            for n in range(THREADS)
            for r in range(rounds)
        )
