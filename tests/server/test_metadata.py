"""``PartMetadataContext`` (``ResponseOptions(part_metadata=...)``) on its own: every
chunk reaches the hook, from the loop and from threads, in the stream's order."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import Any

from tests.support.context_scenarios import consume
from tests.support.stream_rules import assert_valid_body
from tests.support.stream_sinks import Sink, parked, read, until
from uiwire.server._metadata import PartMetadataContext
from uiwire.stream import StreamContext


async def test_every_delta_written_from_threads_reaches_the_hook_in_order() -> None:
    """Text deltas to an open part normally skip the lock (the lane); with per-part
    metadata each one goes through the hook, and its metadata follows it."""
    seen: list[str] = []
    lock = threading.Lock()

    def hook(chunk: Mapping[str, Any]) -> dict[str, Any] | None:
        with lock:
            seen.append(chunk["type"])
        if chunk["type"] == "text-delta":
            return {"last": chunk["delta"]}
        return None

    ctx = PartMetadataContext(hook, collect=True)

    def write(ctx: StreamContext[Any]) -> None:
        for n in range(50):
            ctx.sync.write_text(f"w{n} ")

    async def work(ctx: StreamContext[Any]) -> None:
        await asyncio.to_thread(write, ctx)

    ctx.run(work)
    chunks = assert_valid_body(await consume(ctx))
    assert seen.count("text-delta") == 50
    deltas = [i for i, c in enumerate(chunks) if c["type"] == "text-delta"]
    for i in deltas:
        assert chunks[i + 1] == {
            "type": "message-metadata",
            "messageMetadata": {"last": chunks[i]["delta"]},
        }
    assert "finish" not in seen  # the end chunk is not shown: nothing may follow it
    assert ctx.record is not None
    assert ctx.record.message["metadata"] == {"last": "w49 "}


async def test_deltas_a_parked_reader_would_take_directly_reach_the_hook() -> None:
    """A served answer sends a text or reasoning delta straight to the parked reader's
    send (direct delivery); with per-part metadata it must go past the hook instead."""
    seen: list[str] = []

    def hook(chunk: Mapping[str, Any]) -> dict[str, Any] | None:
        seen.append(chunk["type"])
        return {"n": len(seen)} if chunk["type"].endswith("-delta") else None

    ctx = PartMetadataContext(hook)
    sink = Sink()
    reader = asyncio.create_task(read(ctx, sink))
    await until(lambda: parked(ctx))
    for n in range(5):
        await ctx.write_reasoning(f"r{n}")
        await asyncio.sleep(0)
    for n in range(5):
        await ctx.write_text(f"t{n}")
        await asyncio.sleep(0)
    await ctx.finish()
    await reader
    chunks = assert_valid_body(sink.body())
    assert seen.count("reasoning-delta") == 5
    assert seen.count("text-delta") == 5
    for i, chunk in enumerate(chunks):
        if chunk["type"].endswith("-delta"):
            assert chunks[i + 1]["type"] == "message-metadata"
