"""An agent used as a tool: its run, assembled into a message, sent as tool progress.

``agent.as_tool(..., on_stream=agent_tool_progress)`` hands every event of the nested
run to uiwire. A nested ``Translation`` writes them into a ``NestedMessage`` (a lifecycle
machine feeding a message assembler, no I/O), and the message so far goes to the outer
stream as the tool call's preliminary output, as the AI SDK's sub-agent pattern does.
The tool's final output (what the outer model is given) replaces it when the call ends.
Snapshots are sent when a part of the nested message is complete, and for deltas at
most every ``SNAPSHOT_INTERVAL`` seconds: each snapshot is the whole message.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar, cast

from uiwire.adapters.agents._channel import RunChannel, current_channel
from uiwire.adapters.agents._translate import Translation
from uiwire.protocol.machine import Chunk, StreamMachine
from uiwire.protocol.message import UIMessageAssembler
from uiwire.stream.record import Usage
from uiwire.stream.writer import DEFAULT_ERROR_TEXT, Step, SyncWriter

__all__ = ["SNAPSHOT_INTERVAL", "NestedMessage", "agent_tool_progress"]

SNAPSHOT_INTERVAL = 0.1

_P = ParamSpec("_P")
_R = TypeVar("_R")

_BOUNDARIES = frozenset(
    {"text-end", "reasoning-end", "tool-input-available", "tool-input-error"}
    | {"tool-output-available", "tool-output-error", "tool-output-denied", "finish-step"}
)


def _twin(
    method: Callable[Concatenate[SyncWriter, _P], _R],
) -> Callable[Concatenate[NestedMessage, _P], Coroutine[Any, Any, _R]]:
    @functools.wraps(method)
    async def write(self: NestedMessage, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        return method(self._writer, *args, **kwargs)  # pyright: ignore[reportPrivateUsage]

    return write


class NestedMessage:
    """A message built in memory from writes; ``changed`` / ``at_boundary`` say whether
    there is news since ``take_snapshot``."""

    def __init__(self) -> None:
        self._machine = StreamMachine()
        self._assembler = UIMessageAssembler(message_id=self._machine.message_id)
        self._writer = SyncWriter(self, blocking=False)
        self.changed = False
        self.at_boundary = False

    def _apply(self, step: Step, *, exception: BaseException | None = None) -> None:
        chunks: list[Chunk] = step(self._machine)
        for chunk in chunks:
            self._assembler.apply(chunk)
            if chunk["type"] in _BOUNDARIES:
                self.at_boundary = True
        if chunks:
            self.changed = True

    def _error_text(self, error: BaseException, *, what: str) -> str:
        return DEFAULT_ERROR_TEXT  # the outer stream reports the tool's failure

    def _wait_for_room_from_thread(self) -> None:
        return None

    def take_snapshot(self) -> dict[str, Any]:
        self.changed = self.at_boundary = False
        return self._assembler.message

    def add_usage(self, usage: Usage) -> None:
        return None  # the nested run's usage is the SDK's to report

    write_text = _twin(SyncWriter.write_text)
    end_text = _twin(SyncWriter.end_text)
    write_reasoning = _twin(SyncWriter.write_reasoning)
    end_reasoning = _twin(SyncWriter.end_reasoning)
    begin_tool_call = _twin(SyncWriter.begin_tool_call)
    write_tool_input = _twin(SyncWriter.write_tool_input)
    end_tool_input = _twin(SyncWriter.end_tool_input)
    fail_tool_input = _twin(SyncWriter.fail_tool_input)
    complete_tool_call = _twin(SyncWriter.complete_tool_call)
    fail_tool_call = _twin(SyncWriter.fail_tool_call)
    deny_tool_call = _twin(SyncWriter.deny_tool_call)
    write_tool_progress = _twin(SyncWriter.write_tool_progress)
    write_source = _twin(SyncWriter.write_source)
    write_source_document = _twin(SyncWriter.write_source_document)
    write_file = _twin(SyncWriter.write_file)
    write_data = _twin(SyncWriter.write_data)
    write_metadata = _twin(SyncWriter.write_metadata)
    new_step = _twin(SyncWriter.new_step)


class _NestedRun:
    def __init__(self, channel: RunChannel) -> None:
        self.message = NestedMessage()
        self.translation = Translation(self.message, channel, releases_tool_writes=False)
        self.sent_at = 0.0


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
    message = nested.message
    now = asyncio.get_running_loop().time()
    if not message.changed or not (
        message.at_boundary or now - nested.sent_at >= SNAPSHOT_INTERVAL
    ):
        return
    nested.sent_at = now
    snapshot = message.take_snapshot()
    out = channel.out
    await channel.for_call(call_id, lambda: out.write_tool_progress(call_id, snapshot))
