"""Merging the deltas a slow consumer finds queued for one part into one frame.

When a client or the event loop falls behind, a stream's buffer holds several frames by
the time its consumer takes them. Consecutive ``text-delta``, ``reasoning-delta`` or
``tool-input-delta`` frames for the same part then go out as one frame whose delta is
their concatenation: the client assembles the same message from fewer events, and the
connection carries fewer bytes. Nothing ever waits to be merged: only frames already
queued are, so latency can only improve.

The match works on the encoded bytes, in one regular-expression pass (C speed: the
merge runs when the server is busiest), and is deliberately narrow: an event merges only
when it is exactly ``data: {"type":...,"<id key>":"...","<delta key>":"..."}`` (no
provider metadata, no other key) and follows one with the same head. The contents of
two JSON string literals, written one after the other, are the literal of the
concatenated strings, so merging is cutting out the boundary between them. Anything
else is left exactly as it was.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["merge_queued"]

_STRING: Final = rb'[^"\\\n]*(?:\\.[^"\\\n]*)*'
"""A JSON string's contents as orjson writes them (no raw newline: it is escaped)."""
_RUN: Final = re.compile(
    # group 1, the head: the event up to its delta string's opening quote, naming the part
    rb'(data: \{"type":"(?:text-delta","id":"' + _STRING + rb'","delta'
    rb'|reasoning-delta","id":"' + _STRING + rb'","delta'
    rb'|tool-input-delta","toolCallId":"' + _STRING + rb'","inputTextDelta'
    rb')":")' + _STRING + rb'"\}\n\n'
    # then one or more events with the very same head, each ending right after its delta
    rb"(?:\1" + _STRING + rb'"\}\n\n)+'
)
_END: Final = b'"}\n\n'


def _merge_run(run: re.Match[bytes]) -> bytes:
    # inside a run, each boundary is the end of one delta string and the next event's
    # head; neither a JSON string nor a head holds a raw newline, so this finds only them
    return run[0].replace(_END + run[1], b"")


def merge_queued(frames: list[bytes]) -> bytes:
    """The queued ``frames`` joined, consecutive deltas of one part merged into one."""
    return _RUN.sub(_merge_run, b"".join(frames))
