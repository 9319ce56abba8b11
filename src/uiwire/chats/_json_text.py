"""A message's JSON as text any database keeps exactly, and back.

PostgreSQL's ``jsonb`` refuses two things ``useChat`` text may hold: the NUL character
(``\\u0000``) and lone surrogates (half of a UTF-16 pair, as a JavaScript string can end
in the middle of an emoji); and a lone surrogate cannot even be encoded as UTF-8 for
SQLite. So, in every string of the document (keys included), each such character, and
the escape character itself, is written as the escape character followed by its code
point in four hex digits. The escape character is U+FDD0, a Unicode *noncharacter*
(reserved for exactly this kind of internal use; text from people does not hold it),
so almost every document has nothing to escape and is stored as orjson writes it.

``encode(decode(x))`` and ``decode(encode(x))`` are the identity on JSON values.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final, cast

import orjson

__all__ = ["ESCAPE", "decode", "encode", "escape_string", "needs_unescape", "unescape_string"]

ESCAPE: Final = "\ufdd0"
_ESCAPE_UTF8: Final = ESCAPE.encode()
_NEEDS_ESCAPE: Final = re.compile("[\x00\ud800-\udfff\ufdd0]")
_ESCAPED: Final = re.compile("\ufdd0([0-9a-f]{4})")
_STRAY: Final = re.compile("\ufdd0(?![0-9a-f]{4})")


def escape_string(text: str) -> str:
    """``text`` with NUL, lone surrogates and the escape character escaped."""
    return _NEEDS_ESCAPE.sub(lambda match: f"{ESCAPE}{ord(match.group()):04x}", text)


def unescape_string(text: str) -> str:
    """The inverse of ``escape_string``. ``ValueError`` for an escape it did not write."""
    if ESCAPE not in text:
        return text
    if _STRAY.search(text):
        raise ValueError("stored JSON holds an escape character uiwire did not write")
    return _ESCAPED.sub(lambda match: chr(int(match.group(1), 16)), text)


def encode(value: Any) -> str:
    """``value`` (a JSON value) as JSON text with nothing PostgreSQL or SQLite refuses."""
    try:
        raw = orjson.dumps(value)
    except orjson.JSONEncodeError:  # a lone surrogate
        pass
    else:
        if b"\\u0000" not in raw and _ESCAPE_UTF8 not in raw:
            return raw.decode()
    return orjson.dumps(_walk(value, escape_string)).decode()


def decode(text: str) -> Any:
    """The JSON value ``encode`` wrote (``ValueError`` if ``text`` is not JSON)."""
    value = orjson.loads(text)
    return _walk(value, unescape_string) if ESCAPE in text else value


def needs_unescape(text: str) -> bool:
    """Whether ``decode`` has strings to unescape in ``text`` (otherwise any JSON parser
    reads it as it is)."""
    return ESCAPE in text


def _walk(value: Any, convert: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return convert(value)
    if isinstance(value, dict):
        members = cast("dict[str, Any]", value)
        return {convert(key): _walk(item, convert) for key, item in members.items()}
    if isinstance(value, list):
        return [_walk(item, convert) for item in cast("list[Any]", value)]
    return value
