"""An agent used as a tool: its run, assembled into a message, sent as tool progress.

``agent.as_tool(..., on_stream=agent_tool_progress)`` hands every event of the nested
run to uiwire. A nested ``Translation`` writes them into a ``MessageBuilder`` (the
message assembled in memory, no I/O), and the message so far goes to the outer
stream as the tool call's preliminary output, as the AI SDK's sub-agent pattern does.
The tool's final output (what the outer model is given) replaces it when the call ends.
Snapshots are sent when a part of the nested message is complete, and for deltas at
most every ``SNAPSHOT_INTERVAL`` seconds: each snapshot is the whole message.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uiwire.adapters.agents._channel import RunChannel, current_channel
from uiwire.adapters.agents._translate import Translation
from uiwire.protocol.machine import Chunk
from uiwire.stream.message_builder import MessageBuilder

__all__ = ["SNAPSHOT_INTERVAL", "agent_tool_progress"]

SNAPSHOT_INTERVAL = 0.1

_BOUNDARIES = frozenset(
    {"text-end", "reasoning-end", "tool-input-available", "tool-input-error"}
    | {"tool-output-available", "tool-output-error", "tool-output-denied", "finish-step"}
)


class _NestedRun:
    """One nested run: its message, built in memory; ``changed`` / ``at_boundary`` say
    whether there is news since ``take_snapshot``."""

    def __init__(self, channel: RunChannel) -> None:
        self.message = MessageBuilder(on_chunk=self._saw)
        self.translation = Translation(self.message, channel, releases_tool_writes=False)
        self.sent_at = 0.0
        self.changed = False
        self.at_boundary = False

    def _saw(self, chunk: Chunk) -> None:
        self.changed = True
        if chunk["type"] in _BOUNDARIES:
            self.at_boundary = True

    def take_snapshot(self) -> dict[str, Any]:
        self.changed = self.at_boundary = False
        return self.message.message


async def agent_tool_progress(payload: Any) -> None:
    """``agent.as_tool(..., on_stream=agent_tool_progress)``: stream the nested agent's
    run into the outer stream as the tool call's preliminary output (a UIMessage).

    Outside a uiwire-streamed run it does nothing.
    """
    channel = current_channel()
    call: Any = (
        cast("dict[str, Any]", payload).get("tool_call") if isinstance(payload, dict) else None
    )
    call_id = getattr(call, "call_id", None)
    if channel is None or channel.out is None or not isinstance(call_id, str):
        return
    nested = channel.nested.get(call_id)
    if nested is None:
        nested = channel.nested[call_id] = _NestedRun(channel)
    await nested.translation.handle(payload["event"])
    now = asyncio.get_running_loop().time()
    if not nested.changed or not (nested.at_boundary or now - nested.sent_at >= SNAPSHOT_INTERVAL):
        return
    nested.sent_at = now
    snapshot = nested.take_snapshot()
    out = channel.out
    await channel.for_call(call_id, lambda: out.write_tool_progress(call_id, snapshot))
