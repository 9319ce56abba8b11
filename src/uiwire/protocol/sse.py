"""What the AI SDK client does to a response body before chunks exist.

``DefaultChatTransport`` hands the body to ``parseJsonEventStream``
(``@ai-sdk/provider-utils``, ``parse-json-event-stream.ts``), which chains
``TextDecoderStream`` -> ``EventSourceParserStream`` (eventsource-parser 3.x) -> a step
that skips ``[DONE]`` and parses every other event's data with ``secureJsonParse``.

* :func:`parse_sse` mirrors the first two stages: UTF-8 decoding with U+FFFD for invalid
  bytes and one leading BOM removed (``TextDecoder``), then eventsource-parser's line
  grammar. The parser has no flush, so a last event without its blank line is lost.
* :func:`decode_event_data` mirrors ``safeParseJSON`` / ``secureJsonParse``: ``JSON.parse``
  semantics plus the rejection of ``__proto__`` keys and of ``constructor`` objects that
  hold a ``prototype`` key.
"""

from __future__ import annotations

import codecs
import json
from typing import Any, Final

from uiwire._errors import StreamViolation
from uiwire.protocol._json import forbidden_key_path

__all__ = [
    "ForbiddenPrototypeError",
    "SSEParser",
    "decode_event_data",
    "parse_sse",
    "secure_json_loads",
]

_BOM: Final = "\ufeff"
# eventsource-parser compares the first three *characters* of its first chunk with the
# BOM's three UTF-8 *bytes*, so it also strips a leading "\u00ef\u00bb\u00bf" ("ï»¿").
_BOM_AS_LATIN1: Final = "\u00ef\u00bb\u00bf"


class SSEParser:
    """Incremental ``TextDecoderStream`` + ``EventSourceParserStream``, fed network chunks.

    :meth:`feed` takes the body's chunks as they arrive and returns the data of the
    events dispatched so far; :meth:`close` ends the body (the decoder emits U+FFFD for
    an incomplete UTF-8 sequence; the SSE parser has no flush, so a pending incomplete
    event is dropped). Chunk boundaries matter in two corner cases, exactly as in the
    client: the ``"ï»¿"`` strip looks only at the first decoded chunk, and a CR that ends
    a chunk waits for a later chunk holding a line break before it counts.
    """

    def __init__(self) -> None:
        # utf-8-sig: UTF-8 with U+FFFD replacement, one leading BOM removed, like TextDecoder
        self._decoder = codecs.getincrementaldecoder("utf-8-sig")("replace")
        self._first_chunk = True
        self._pending: list[str] = []
        self._data_lines: list[str] = []
        self._events: list[str] = []

    def feed(self, chunk: bytes) -> list[str]:
        """Decode one network chunk and return the data of the events it completes."""
        self._feed_text(self._decoder.decode(chunk, final=False))
        return self._take()

    def feed_text(self, text: str) -> list[str]:
        """Feed already decoded text (one ``TextDecoderStream`` output chunk)."""
        self._feed_text(text)
        return self._take()

    def close(self) -> list[str]:
        """End of body: flush the decoder. Returns events completed by the flushed text."""
        self._feed_text(self._decoder.decode(b"", final=True))
        return self._take()

    def _take(self) -> list[str]:
        events, self._events = self._events, []
        return events

    def _feed_text(self, text: str) -> None:
        if not text:  # TextDecoderStream enqueues no empty chunks
            return
        if self._first_chunk:
            self._first_chunk = False
            if text.startswith(_BOM_AS_LATIN1):
                text = text[3:]
        if self._pending:
            if "\n" not in text and "\r" not in text:
                self._pending.append(text)
                return
            self._pending.append(text)
            text = "".join(self._pending)
            self._pending.clear()
        rest = self._process_lines(text)
        if rest:
            self._pending.append(rest)

    def _process_lines(self, text: str) -> str:
        """Handle every complete line; return the incomplete tail."""
        pos = 0
        size = len(text)
        cr = lf = -2  # the next CR / LF at or after pos (-1: none left; -2: not looked yet)
        while pos < size:
            # each is searched for again only once pos has passed it: a body without a
            # single CR must not be scanned to its end once per line
            if cr == -2 or (cr != -1 and cr < pos):
                cr = text.find("\r", pos)
            if lf == -2 or (lf != -1 and lf < pos):
                lf = text.find("\n", pos)
            if cr != -1 and lf != -1:
                end = min(cr, lf)
            elif cr != -1:  # a CR ending the chunk may be half of a CRLF: wait
                end = -1 if cr == size - 1 else cr
            else:
                end = lf
            if end == -1:
                break
            self._process_line(text[pos:end])
            pos = end + 1
            if text[end] == "\r" and text.startswith("\n", pos):
                pos += 1
        return text[pos:]

    def _process_line(self, line: str) -> None:
        if not line:  # blank line: dispatch, if there is data
            if self._data_lines:
                self._events.append("\n".join(self._data_lines))
            self._data_lines.clear()
            return
        if line.startswith(":"):  # comment
            return
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        # event, id and retry change nothing here; unknown fields are ignored too.
        if field == "data":
            self._data_lines.append(value)


def parse_sse(body: bytes | str) -> list[str]:
    """Return the ``data`` of every event the client's SSE parser dispatches, in order.

    The body is taken as one network chunk. ``[DONE]`` is included (the caller skips
    it). ``str`` input is taken as the decoded body; a leading BOM is stripped from it
    as well.
    """
    parser = SSEParser()
    if isinstance(body, bytes):
        return parser.feed(body) + parser.close()
    return parser.feed_text(body.removeprefix(_BOM))


class ForbiddenPrototypeError(ValueError):
    """The JSON has a key ``secureJsonParse`` refuses (``__proto__``, ``constructor.prototype``)."""


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not valid JSON")


def _parse_int(digits: str) -> object:
    try:
        return int(digits)
    except ValueError:  # more digits than int() accepts: JSON.parse gives a double
        return float(digits)


def secure_json_loads(text: str) -> object:
    """Parse ``text`` like the client's ``secureJsonParse``; raise ``ValueError`` if it fails.

    ``JSON.parse`` rules: no ``NaN`` / ``Infinity``, integers of any length (huge ones
    become floats, ``1e400`` becomes ``inf``), the last of duplicate keys wins at the
    position of the first. Then any object with a ``__proto__`` key, or with a
    ``constructor`` key whose value is an object holding a ``prototype`` key, is refused
    (:class:`ForbiddenPrototypeError`).
    """
    try:
        value: Any = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None
    if forbidden_key_path(value) is not None:
        raise ForbiddenPrototypeError("Object contains forbidden prototype property")
    result: object = value
    return result


def decode_event_data(data: str) -> object:
    """Parse one event's data as the client does; raise ``StreamViolation(kind="json")``."""
    try:
        return secure_json_loads(data)
    except ValueError as exc:
        shown = data if len(data) <= 200 else data[:200] + "..."
        raise StreamViolation(f"JSON parsing failed: {exc}. Text: {shown!r}", kind="json") from exc
