"""SSE framing for UI message streams.

Each chunk is one event, ``data: <compact JSON>\\n\\n``; the stream ends with
``data: [DONE]\\n\\n``. Comments (``: ...``) keep idle connections open through proxies;
the client ignores them. One chunk (the common case for deltas) skips the join.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import orjson

from uiwire._errors import ProtocolError
from uiwire.protocol._json import default, dumps

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = [
    "DONE_FRAME",
    "KEEP_ALIVE_FRAME",
    "MAX_EVENT_CHARS",
    "STREAM_OPEN_FRAME",
    "UI_MESSAGE_STREAM_HEADERS",
    "encode_chunk",
    "encode_chunks",
    "encode_reasoning_delta",
    "encode_text_delta",
    "event_too_long",
]

UI_MESSAGE_STREAM_HEADERS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        "connection": "keep-alive",
        "x-vercel-ai-ui-message-stream": "v1",
        "x-accel-buffering": "no",
    }
)
"""The headers the AI SDK sends with every UI message stream response (same in v5-v7)."""

DONE_FRAME: Final = b"data: [DONE]\n\n"
"""The last event of every stream."""

KEEP_ALIVE_FRAME: Final = b": keep-alive\n\n"
"""An SSE comment to send after an idle period; the client ignores it."""

STREAM_OPEN_FRAME: Final = b": stream-open\n\n"
"""An SSE comment to send first, so proxies and browsers see bytes at once."""

MAX_EVENT_CHARS: Final = 64 * 1024 * 1024
"""The longest SSE event an ``ai`` client reads, in the client's characters (UTF-16 code
units) of the event's ``data: ...`` line. From ai 7.0.182 the client's event parser
(eventsource-parser's ``maxBufferSize``, set by ``@ai-sdk/provider-utils``' JSON event
stream) fails the whole stream once one event buffers more than this."""

_dumps = orjson.dumps


def event_too_long(frame: bytes, slack: int = 0) -> int | None:
    """The length of ``frame``'s event line as the client counts it, plus ``slack``, if
    that is over ``MAX_EVENT_CHARS``; None when it fits (``frame``: one event)."""
    line = frame[:-2] if frame.endswith(b"\n\n") else frame
    if len(line) + slack <= MAX_EVENT_CHARS:  # UTF-16 never needs more units than UTF-8 bytes
        return None
    units = len(line.decode("utf-8", "surrogatepass").encode("utf-16-le", "surrogatepass")) // 2
    return units + slack if units + slack > MAX_EVENT_CHARS else None


def encode_chunk(chunk: Mapping[str, Any]) -> bytes:
    """One chunk as one SSE event.

    Raises ``ProtocolError`` if the chunk cannot be written as JSON (the machine checks
    payloads up front, so this only happens to chunks built by hand).
    """
    try:  # dumps escapes lone surrogates and huge integers on its slow path
        return b"data: " + dumps(chunk) + b"\n\n"
    except TypeError as exc:
        raise ProtocolError(
            f"chunk {chunk.get('type')!r} is not JSON-serializable: {exc}"
        ) from None


def encode_chunks(chunks: Iterable[Mapping[str, Any]]) -> bytes:
    """Several chunks as consecutive SSE events, in one bytes object."""
    if not isinstance(chunks, list):
        chunks = list(chunks)
    try:
        if len(chunks) == 1:  # one delta: the common case
            return b"data: " + _dumps(chunks[0], default=default) + b"\n\n"
        return b"".join([b"data: " + _dumps(c, default=default) + b"\n\n" for c in chunks])
    except TypeError:  # the slow path, chunk by chunk; names a culprit
        return b"".join([encode_chunk(c) for c in chunks])


_DELTA_PREFIXES: dict[tuple[bool, str], bytes] = {}  # (reasoning, wire id) -> frame head
_MAX_PREFIXES: Final = 4096  # cleared when full: ids differ per stream, the cache must not grow


def encode_text_delta(wire_id: str, delta: str) -> bytes:
    """``encode_chunk({"type": "text-delta", "id": wire_id, "delta": delta})``, byte for
    byte, without building the dict: the commonest frame, so it gets its own path.

    Only the delta is serialized per call; the rest of the frame is cached per part id.
    """
    return _delta_frame(False, wire_id, delta)


def encode_reasoning_delta(wire_id: str, delta: str) -> bytes:
    """``encode_text_delta`` for a ``reasoning-delta``."""
    return _delta_frame(True, wire_id, delta)


def _delta_frame(reasoning: bool, wire_id: str, delta: str) -> bytes:
    prefix = _DELTA_PREFIXES.get((reasoning, wire_id))
    if prefix is None:
        if len(_DELTA_PREFIXES) >= _MAX_PREFIXES:
            _DELTA_PREFIXES.clear()
        kind = b"reasoning-delta" if reasoning else b"text-delta"
        prefix = b'data: {"type":"' + kind + b'","id":' + dumps(wire_id) + b',"delta":'
        _DELTA_PREFIXES[reasoning, wire_id] = prefix
    try:
        return prefix + _dumps(delta) + b"}\n\n"
    except TypeError:  # a lone surrogate: the slow path escapes it
        return prefix + dumps(delta) + b"}\n\n"
