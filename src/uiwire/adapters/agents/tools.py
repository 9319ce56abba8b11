"""What a tool can send into the stream while it runs (openai-agents#1333).

    @function_tool
    async def search(ctx: ToolContext[Any], query: str) -> list[str]:
        ui = tool_stream(ctx)
        await ui.progress({"status": "searching", "query": query})
        ...
        await ui.data("hits", {"count": len(hits)})
        return hits

Progress is the call's preliminary output (the client shows the latest; the return
value replaces it); data parts and sources land in the message after the call's input.
A sync tool (the SDK runs it in a worker thread) uses ``ui.sync.progress(...)``. Outside
a run that uiwire streams, every write is dropped and ``ui.connected`` is False, so the
same tool works in ``Runner.run`` and in tests.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uiwire.adapters.agents._channel import RunChannel, current_channel

__all__ = ["SyncToolStream", "ToolStream", "tool_stream"]


class ToolStream:
    """The stream, as seen from one tool call."""

    __slots__ = ("_channel", "tool_call_id")

    def __init__(self, channel: RunChannel | None, tool_call_id: str) -> None:
        self._channel = channel
        self.tool_call_id = tool_call_id

    @property
    def connected(self) -> bool:
        """Whether writes reach a client (the run is streamed by uiwire and still open)."""
        channel = self._channel
        return channel is not None and channel.out is not None and not channel.closed

    @property
    def sync(self) -> SyncToolStream:
        """The same writes for sync tools, which the SDK runs in a worker thread."""
        return SyncToolStream(self)

    async def progress(self, output: Any) -> None:
        """A preliminary output for this call; each replaces the previous on the client."""
        channel, call_id = self._channel, self.tool_call_id
        if channel is None or (out := channel.out) is None:
            return
        await channel.for_call(call_id, lambda: out.write_tool_progress(call_id, output))

    async def data(
        self, name: str, data: Any, *, id: str | None = None, transient: bool | None = None
    ) -> None:
        """A ``data-<name>`` part (see ``StreamContext.write_data``)."""
        channel = self._channel
        if channel is None or (out := channel.out) is None:
            return
        await channel.for_call(
            self.tool_call_id, lambda: out.write_data(name, data, id=id, transient=transient)
        )

    async def source(self, url: str, *, title: str | None = None) -> None:
        """Cite a web page (a ``source-url`` part)."""
        channel = self._channel
        if channel is None or (out := channel.out) is None:
            return
        await channel.for_call(self.tool_call_id, lambda: out.write_source(url, title=title))


class SyncToolStream:
    """``ToolStream`` for a worker thread: each write is run on the stream's event loop
    and waited for (a slow client slows the tool, not the loop)."""

    __slots__ = ("_stream",)

    def __init__(self, stream: ToolStream) -> None:
        self._stream = stream

    def _run(self, write: Any) -> None:
        channel = self._stream._channel  # pyright: ignore[reportPrivateUsage]
        if channel is None:
            write.close()
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is channel.loop:
            write.close()
            raise RuntimeError(
                "ToolStream.sync was called on the event loop; in an async tool, await "
                "ui.progress(...) instead"
            )
        asyncio.run_coroutine_threadsafe(write, channel.loop).result()

    def progress(self, output: Any) -> None:
        self._run(self._stream.progress(output))

    def data(
        self, name: str, data: Any, *, id: str | None = None, transient: bool | None = None
    ) -> None:
        self._run(self._stream.data(name, data, id=id, transient=transient))

    def source(self, url: str, *, title: str | None = None) -> None:
        self._run(self._stream.source(url, title=title))


def tool_stream(tool_context: Any) -> ToolStream:
    """The stream for the tool call ``tool_context`` (the SDK's ``ToolContext``) runs."""
    call_id = getattr(tool_context, "tool_call_id", None)
    if not isinstance(call_id, str):
        raise TypeError(
            "tool_stream() needs the tool's ToolContext (declare the tool's first "
            f"parameter as ctx: ToolContext[...]); got {type(tool_context).__name__}"
        )
    return ToolStream(current_channel(), call_id)
