"""Push-API scenarios shared by the pytest suite and the JS conformance corpus.

Each scenario is the work of one ``StreamContext``; ``capture`` runs it and returns the
exact SSE body a client would receive (keep-alive comments included).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from uiwire.stream import StreamContext

Work = Callable[[StreamContext[Any]], Awaitable[None]]


async def capture(work: Work, *, keep_alive: float | None = None, **options: Any) -> bytes:
    """Run ``work`` in a fresh context and return the whole body it streamed."""
    ctx: StreamContext[Any] = StreamContext(**options)
    ctx.run(work)
    body = await consume(ctx, keep_alive=keep_alive)
    await ctx.wait_closed()
    return body


async def w_text(ctx: StreamContext[Any]) -> None:
    await ctx.write_text("Hello")
    await ctx.write_text(", world")


async def w_reasoning_tools_sources(ctx: StreamContext[Any]) -> None:
    await ctx.write_reasoning("Let me look that up.")
    call = await ctx.begin_tool_call("search")
    await ctx.write_tool_input(call, '{"query":')
    await ctx.write_tool_input(call, '"weather"}')
    await ctx.end_tool_input(call, {"query": "weather"})
    await ctx.write_tool_progress(call, {"status": "searching"})
    await ctx.complete_tool_call(call, {"results": ["sunny"]})
    await ctx.write_source("https://example.com/weather", title="Weather")
    await ctx.write_source_document("Report", "application/pdf", filename="report.pdf")
    await ctx.new_step()
    await ctx.write_text("It is sunny.")
    await ctx.write_file(b"\x89PNG", "image/png")
    await ctx.write_data("weather", {"temp": 21}, id="w1")
    await ctx.write_data("weather", {"temp": 22}, id="w1")
    await ctx.write_data("toast", {"text": "done"}, transient=True)
    await ctx.write_metadata({"model": "scripted"})
    await ctx.finish("stop", metadata={"tokens": 12})


async def w_failing_tool(ctx: StreamContext[Any]) -> None:
    call = await ctx.begin_tool_call("divide", {"a": 1, "b": 0})
    try:
        _ = 1 / 0
    except ZeroDivisionError as exc:
        await ctx.fail_tool_call(call, exc)
    bad = await ctx.begin_tool_call("lookup")
    await ctx.write_tool_input(bad, "{not json")
    await ctx.fail_tool_input(bad, "The input was not valid JSON.", input="{not json")
    await ctx.write_text("The tool failed.")


async def w_raises(ctx: StreamContext[Any]) -> None:
    await ctx.write_text("Partial answer")
    await ctx.begin_tool_call("search")
    raise RuntimeError("database password is hunter2")


async def w_abort(ctx: StreamContext[Any]) -> None:
    await ctx.write_reasoning("thinking")
    await ctx.abort()


async def w_approval(ctx: StreamContext[Any]) -> None:
    call = await ctx.begin_tool_call("delete_file", {"path": "/tmp/x"})
    await ctx.request_tool_approval(call)
    await ctx.finish()


async def w_threads(ctx: StreamContext[Any]) -> None:
    def worker(n: int) -> None:
        for i in range(50):
            ctx.sync.write_data("tick", {"worker": n, "i": i}, transient=True)
        ctx.sync.write_text(f"worker {n} done. ", key=n)

    await asyncio.gather(*(asyncio.to_thread(worker, n) for n in range(4)))
    await ctx.write_text("All done.")


async def w_idle_then_text(ctx: StreamContext[Any]) -> None:
    await ctx.write_text("Working")
    await asyncio.sleep(0.12)  # long enough for a couple of keep-alive comments
    await ctx.write_text(" ... done")


async def w_split_surrogates(ctx: StreamContext[Any]) -> None:
    await ctx.write_text("smile \ud83d")  # a provider split the emoji's surrogate pair
    await ctx.write_text("\ude00 and a big number")
    await ctx.write_data("n", {"value": 2**70})


MERGED_TEXT = ['He said "hi', '"\\', "\n", "é😀 ", 'a\\"b', "</script>", "\u2028end"]
"""Text pieces whose JSON escapes meet at the merge points."""


async def w_merged_deltas(ctx: StreamContext[Any]) -> None:
    """Every delta kind, written with no await that suspends: the reader finds them all
    queued, so each run of one part's deltas reaches the client merged into one."""
    await ctx.write_reasoning("Think")
    await ctx.write_reasoning("ing, step ")
    await ctx.write_reasoning("two.")
    await ctx.end_reasoning()
    for piece in MERGED_TEXT:
        await ctx.write_text(piece)
    for i in range(3):  # two keyed parts, interleaved: no run to merge
        await ctx.write_text(f"left {i} ", key="left")
        await ctx.write_text(f"right {i} ", key="right")
    await ctx.write_text("left again", key="left")
    await ctx.write_text(" and again", key="left")
    call = await ctx.begin_tool_call("search")
    for piece in ['{"que', 'ry": "we', 'ather \\"now\\""}']:
        await ctx.write_tool_input(call, piece)
    await ctx.end_tool_input(call, {"query": 'weather "now"'})
    await ctx.complete_tool_call(call, {"ok": True})


SCENARIOS: dict[str, tuple[Work, dict[str, Any]]] = {
    "merged-deltas": (w_merged_deltas, {}),
    "split-surrogates": (w_split_surrogates, {}),
    "text": (w_text, {}),
    "reasoning-tools-sources": (w_reasoning_tools_sources, {}),
    "failing-tool": (w_failing_tool, {}),
    "work-raises": (w_raises, {}),
    "abort": (w_abort, {}),
    "approval": (w_approval, {}),
    "threads": (w_threads, {}),
    "keep-alive": (w_idle_then_text, {"keep_alive": 0.05}),
}
"""name -> (work, capture options)."""


async def consume(ctx: StreamContext[Any], *, keep_alive: float | None = None) -> bytes:
    """Read a context's whole body, as a client would."""
    return b"".join([data async for data in ctx.stream(keep_alive=keep_alive)])
