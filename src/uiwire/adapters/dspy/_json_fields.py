"""Field values from DSPy's JSONAdapter stream, decoded as they arrive.

Under ``dspy.JSONAdapter`` a listener passes on the raw JSON of the field's value: the
quotes and escapes of a string, and in the last chunk the start of the next key
(``"...sunny.", "answer": "I``). ``JsonFieldText`` turns that into the value's text,
piece by piece: a string is unescaped (an escape cut between chunks waits for its
end), anything else is passed as JSON text; whatever follows the value is dropped.
"""

from __future__ import annotations

import json
import re

__all__ = ["JsonFieldText"]

_UNFINISHED_ESCAPE = re.compile(r"(?<!\\)(\\\\)*\\(u[0-9a-fA-F]{0,3})?$")
_HIGH_SURROGATE_END = re.compile(r"(?<!\\)(\\\\)*\\u[dD][89abAB][0-9a-fA-F]{2}$")


class JsonFieldText:
    """Feed raw chunks, get the new text of the value each time."""

    def __init__(self) -> None:
        self._raw = ""
        self._sent = 0

    def feed(self, chunk: str) -> str:
        self._raw += chunk
        text = _value_text(self._raw)
        new = text[self._sent :]
        self._sent = len(text)
        return new


def _value_text(raw: str) -> str:
    start = len(raw) - len(raw.lstrip())
    if start == len(raw):
        return ""
    if raw[start] != '"':
        return raw[start : _value_end(raw, start)].rstrip()
    content, closed = _string_content(raw, start + 1)
    if not closed:
        content = _UNFINISHED_ESCAPE.sub(lambda m: m.group(1) or "", content)
        content = _HIGH_SURROGATE_END.sub(lambda m: m.group(1) or "", content)
    try:
        return json.loads(f'"{content}"')
    except ValueError:  # not valid JSON after all: show it as it came
        return content


def _string_content(raw: str, begin: int) -> tuple[str, bool]:
    """The characters of the string starting at ``begin``, and whether it closed."""
    i = begin
    while i < len(raw):
        char = raw[i]
        if char == "\\":
            i += 2
            continue
        if char == '"':
            return raw[begin:i], True
        i += 1
    return raw[begin:], False


def _value_end(raw: str, start: int) -> int:
    """Where a number, literal, object or array that starts at ``start`` ends (or the
    end of what has arrived)."""
    depth = 0
    i = start
    while i < len(raw):
        char = raw[i]
        if char == '"':
            _, closed = _string_content(raw, i + 1)
            if not closed:
                return len(raw)
            i += len(_string_content(raw, i + 1)[0]) + 2
            continue
        if char in "{[":
            depth += 1
        elif char in "}]":
            if depth == 0:
                return i
            depth -= 1
            if depth == 0:
                return i + 1
        elif char == "," and depth == 0:
            return i
        i += 1
    return len(raw)
