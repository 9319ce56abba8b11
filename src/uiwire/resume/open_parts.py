"""``OpenParts``: which parts a client has open, read from the SSE bytes it was sent.

A follower that cannot read a stream to its end must still leave the client's message
tidy, as the lifecycle machine does when a stream fails: open text and reasoning parts
ended, calls still streaming their input failed, then the ``error``. Only the chunks
that open or close something are parsed; deltas, the bulk of a stream, are skipped by
their prefix.

It reads *chunks* another machine already wrote (maybe in another worker), not a
message, and only needs what is open, so it keeps no call states of its own: the chunks
that end a streaming input and the chunk that fails one are the lifecycle machine's
(``protocol._tool_calls``).
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from uiwire.protocol._tool_calls import INPUT_ENDING_CHUNKS, unfinished_input_error
from uiwire.protocol.machine import Chunk

__all__ = ["OpenParts"]

_DELTAS: Final = (
    b'data: {"type":"text-delta"',
    b'data: {"type":"reasoning-delta"',
    b'data: {"type":"tool-input-delta"',
)


class OpenParts:
    """Feed it what was sent, in order; ``closing_chunks()`` ends what is still open."""

    __slots__ = ("_reasoning", "_text", "_tool_inputs")

    def __init__(self) -> None:
        self._text: dict[str, None] = {}
        self._reasoning: dict[str, None] = {}
        self._tool_inputs: dict[str, tuple[str, bool]] = {}  # call id -> name, dynamic

    def feed(self, data: bytes) -> None:
        """Whole SSE events (as the stores hand them out)."""
        for event in data.split(b"\n\n"):
            if not event.startswith(b'data: {"type":"') or event.startswith(_DELTAS):
                continue
            try:
                chunk: Any = orjson.loads(event[6:])
            except orjson.JSONDecodeError:
                continue
            self._apply(chunk)

    def _apply(self, chunk: dict[str, Any]) -> None:
        kind = chunk.get("type")
        part_id = str(chunk.get("id"))
        if kind == "text-start":
            self._text[part_id] = None
        elif kind == "text-end":
            self._text.pop(part_id, None)
        elif kind == "reasoning-start":
            self._reasoning[part_id] = None
        elif kind == "reasoning-end":
            self._reasoning.pop(part_id, None)
        elif kind == "tool-input-start":
            call = (str(chunk.get("toolName")), chunk.get("dynamic") is True)
            self._tool_inputs[str(chunk.get("toolCallId"))] = call
        elif kind in INPUT_ENDING_CHUNKS:
            self._tool_inputs.pop(str(chunk.get("toolCallId")), None)
        elif kind in ("finish-step", "reset-step"):
            self._text.clear()
            self._reasoning.clear()

    def closing_chunks(self) -> list[Chunk]:
        """What ends every open part (reasoning, text, streaming tool input)."""
        out: list[Chunk] = [{"type": "reasoning-end", "id": i} for i in self._reasoning]
        out += [{"type": "text-end", "id": i} for i in self._text]
        out += [
            unfinished_input_error(call_id, name, dynamic=dynamic)
            for call_id, (name, dynamic) in self._tool_inputs.items()
        ]
        return out
