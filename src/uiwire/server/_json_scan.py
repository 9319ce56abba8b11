"""A scan of a raw JSON body before it is decoded, for a parse that never holds the GIL
long: it counts the values (a bound on what decoding and validation will cost) and sets
the long strings aside.

Decoders hold the GIL for the whole of one call, however long: orjson takes 20 to 40 ms
for a body of four photos as ``data:`` URLs, which stalls the event loop while a worker
thread parses. So a long string without escapes (a ``data:`` URL, a pasted document) is
cut out of the body before decoding and put back afterwards: its JSON value is its bytes
as UTF-8, which a copy yields in about a millisecond, and the decoder only sees the rest.
"""

from __future__ import annotations

import dataclasses
import re
import secrets
from typing import Any, Final, cast

__all__ = ["LONG_STRING_BYTES", "ScannedJSON", "TooManyValues", "scan_json"]

LONG_STRING_BYTES: Final = 64 * 1024
"""Strings at least this long (and without escapes) are set aside while decoding."""

_JSON_TOKEN: Final = re.compile(rb'"[^"\\]{0,1024}"|["{\[]|[-+.0-9A-Za-z]+')
"""One JSON value or key: a short string without escapes, an opening bracket, a number
or a literal; or a lone opening quote, whose string the scan skips with ``bytes.find``
(a regex walking a 2 MiB ``data:`` URL would hold the GIL for tens of milliseconds).
Outside a valid body this counts something close, which is all a bound needs: the
decoder refuses what is not JSON."""

_QUOTE: Final = b'"'
_BACKSLASH: Final = ord("\\")
_KEY_AFTER: Final = re.compile(rb"\s*:")


class TooManyValues(Exception):
    """The body holds more JSON values than the limit."""


@dataclasses.dataclass(frozen=True, slots=True)
class ScannedJSON:
    """A body ready to decode: ``skeleton`` is the body with its long strings replaced
    by placeholders; ``restore`` puts them back into the decoded value."""

    skeleton: bytes
    long_strings: dict[str, str]

    def restore(self, decoded: Any) -> Any:
        """``decoded`` with every placeholder replaced by its string (in place)."""
        if not self.long_strings:
            return decoded
        found = self.long_strings.get(decoded) if isinstance(decoded, str) else None
        if found is not None:
            return found
        nodes: list[Any] = [decoded]
        while nodes:
            node = nodes.pop()
            if isinstance(node, dict):
                obj = cast("dict[str, Any]", node)
                for key, value in obj.items():
                    if isinstance(value, str):
                        if value in self.long_strings:
                            obj[key] = self.long_strings[value]
                    elif isinstance(value, (dict, list)):
                        nodes.append(value)
            elif isinstance(node, list):
                items = cast("list[Any]", node)
                for index, value in enumerate(items):
                    if isinstance(value, str):
                        if value in self.long_strings:
                            items[index] = self.long_strings[value]
                    elif isinstance(value, (dict, list)):
                        nodes.append(value)
        return decoded


def scan_json(body: bytes, max_values: int) -> ScannedJSON:
    """Count ``body``'s values (``TooManyValues`` past ``max_values``, where the count
    stops, so a hostile body costs at most that many short steps) and set its long
    strings aside."""
    count = position = 0
    aside: list[tuple[int, int, str]] = []  # (opening quote, past the closing one, value)
    while position < len(body):
        for token in _JSON_TOKEN.finditer(body, position):
            count += 1
            if count > max_values:
                raise TooManyValues(f"the body holds over {max_values:,} JSON values")
            if token.group() == _QUOTE:  # a long string, or one with escapes
                position = _string_end(body, token.end())
                value = _long_string(body, token.start(), position)
                if value is not None:
                    aside.append((token.start(), position, value))
                break
        else:
            break
    return _set_aside(body, aside)


def _long_string(body: bytes, opening: int, after: int) -> str | None:
    """The value of the string literal ``body[opening:after]`` if it is long, closed,
    free of escapes, valid UTF-8 and not an object key. Raw control characters, which
    JSON wants escaped (and ``JSON.stringify`` always escapes), are taken as they are:
    the value is the one their escapes would give."""
    start, end = opening + 1, after - 1
    if end - start < LONG_STRING_BYTES or body[end:after] != _QUOTE:  # short, or unclosed
        return None
    if body.find(b"\\", start, end) != -1 or _KEY_AFTER.match(body, after) is not None:
        return None
    try:
        return str(memoryview(body)[start:end], "utf-8")  # no copy of the bytes first
    except UnicodeDecodeError:
        return None


def _set_aside(body: bytes, aside: list[tuple[int, int, str]]) -> ScannedJSON:
    if not aside:
        return ScannedJSON(body, {})
    tag = secrets.token_hex(8)
    pieces: list[bytes] = []
    strings: dict[str, str] = {}
    position = 0
    for index, (opening, after, value) in enumerate(aside):
        placeholder = f"\x00uiwire:{tag}:{index}"
        strings[placeholder] = value
        pieces += [body[position:opening], b'"\\u0000uiwire:%s:%d"' % (tag.encode(), index)]
        position = after
    pieces.append(body[position:])
    return ScannedJSON(b"".join(pieces), strings)


def _string_end(body: bytes, start: int) -> int:
    """Just past the closing quote of the string whose contents begin at ``start``
    (the end of ``body`` if it has none)."""
    end = body.find(b'"', start)
    while end != -1 and _escaped(body, end):
        end = body.find(b'"', end + 1)
    return len(body) if end == -1 else end + 1


def _escaped(body: bytes, index: int) -> bool:
    """Whether the character at ``index`` follows an odd run of backslashes."""
    start = index
    while start > 0 and body[start - 1] == _BACKSLASH:
        start -= 1
    return (index - start) % 2 == 1
