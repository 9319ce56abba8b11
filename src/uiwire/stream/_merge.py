"""Merging the deltas a slow consumer finds queued for one part into one frame.

When a client or the event loop falls behind, a stream's buffer holds several frames by
the time its consumer takes them. Consecutive ``text-delta``, ``reasoning-delta`` or
``tool-input-delta`` frames for the same part then go out as one frame whose delta is
their concatenation: the client assembles the same message from fewer events, and the
connection carries fewer bytes. Nothing ever waits to be merged: only frames already
queued are, so latency can only improve.

The match works on the encoded bytes and is deliberately narrow: a frame merges only
when it is exactly ``data: {"type":...,"<id key>":"...","<delta key>":"..."}`` (no
provider metadata, no other key). The contents of two JSON string literals, written one
after the other, are the literal of the concatenated strings, so merging is a byte
concatenation. Anything else (another shape, an escaped quote where the match would
have to guess) is left exactly as it was.
"""

from __future__ import annotations

from typing import Final

__all__ = ["merge_queued"]

_MERGEABLE: Final = (
    (b'data: {"type":"text-delta","id":"', b'"delta":"'),
    (b'data: {"type":"reasoning-delta","id":"', b'"delta":"'),
    (b'data: {"type":"tool-input-delta","toolCallId":"', b'"inputTextDelta":"'),
)
_END: Final = b'"}'


def _split_delta(event: bytes) -> tuple[bytes, bytes] | None:
    """``(head, delta)`` of a mergeable delta event (without its blank line), else None.

    ``head`` runs up to the delta string's opening quote and names the part; ``delta``
    is the string's JSON-escaped contents.
    """
    if not event.endswith(_END):
        return None
    for prefix, key in _MERGEABLE:
        if event.startswith(prefix):
            id_end = event.find(b'",', len(prefix))  # the id string ends at its first '",'
            if id_end < 0 or not event.startswith(key, id_end + 2):
                return None
            body = id_end + 2 + len(key)
            delta = event[body:-2]
            if b'",' in delta:  # another key after the delta, or an escape we do not parse
                return None
            return event[:body], delta
    return None


def merge_queued(frames: list[bytes]) -> bytes:
    """The queued ``frames`` joined, consecutive deltas of one part merged into one."""
    data = b"".join(frames)
    events = data.split(b"\n\n")
    if len(events) < 3 or events[-1]:  # one event, or not whole events: left alone
        return data
    out: list[bytes] = []
    head: bytes | None = None  # the head of out[-1] while it is a mergeable delta
    deltas: list[bytes] = []  # out[-1]'s delta contents, joined when it is closed
    merged = False
    for event in events[:-1]:
        split = _split_delta(event)
        if split is not None and split[0] == head:
            deltas.append(split[1])
            merged = True
            continue
        if deltas:
            out[-1] = b"".join([head or b"", *deltas, _END])
            deltas = []
        if split is None:
            out.append(event)
            head = None
        else:
            head = split[0]
            out.append(event)
            deltas = [split[1]]
    if not merged:
        return data
    if deltas:
        out[-1] = b"".join([head or b"", *deltas, _END])
    out.append(b"")
    return b"\n\n".join(out)
