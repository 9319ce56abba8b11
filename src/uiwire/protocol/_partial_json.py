"""Partial JSON parsing, as the AI SDK client does it for streaming tool input.

A port of ``fixJson`` (``packages/ai/src/util/fix-json.ts``) and
``parsePartialJson`` (``packages/ai/src/util/parse-partial-json.ts``) of ai 5, 6 and 7.
``processUIMessageStream`` runs it on the accumulated ``inputTextDelta`` text of a
tool call, and the result becomes ``input`` of the tool part in ``input-streaming``.

``fixJson`` scans the text once and closes whatever is open (strings, objects, arrays,
literals), after cutting the text back to the last position that can end a value. The
three release lines differ in two details:

* 5.x does not know ``\\uXXXX`` escapes: a partial escape is cut back to the backslash
  only in 6.x and 7.x;
* 6.x treats every character right after ``[`` as valid up to there (its
  ``INSIDE_ARRAY_START`` default branch sets the last valid index), 7.x does not.

The scan runs over UTF-16 code units, like the JavaScript original: a character outside
the Basic Multilingual Plane counts as two units, which changes the cut in a few states.
``PartialJsonScanner`` keeps the scan between pieces, so text that streams in is scanned
once, not once per piece. Both parse attempts use the client's secure JSON parse (``secureJsonParse``), so a
``__proto__`` key makes the parse fail.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Literal

from uiwire.protocol.sse import secure_json_loads

if TYPE_CHECKING:
    from uiwire.protocol.targets import Target

__all__ = [
    "PartialJsonScanner",
    "PartialJsonState",
    "fix_json",
    "parse_partial_json",
    "utf16_units",
]

PartialJsonState = Literal["undefined-input", "successful-parse", "repaired-parse", "failed-parse"]

_DIGITS: Final = frozenset("0123456789")
_HEX: Final = frozenset("0123456789abcdefABCDEF")


def utf16_units(text: str) -> list[str]:
    """Split ``text`` into UTF-16 code units (astral characters become surrogate pairs)."""
    if all(ord(ch) <= 0xFFFF for ch in text):
        return list(text)
    units: list[str] = []
    for ch in text:
        code = ord(ch)
        if code > 0xFFFF:
            code -= 0x10000
            units.append(chr(0xD800 + (code >> 10)))
            units.append(chr(0xDC00 + (code & 0x3FF)))
        else:
            units.append(ch)
    return units


def _join_utf16(units: list[str]) -> str:
    """Join code units back into a string, recombining surrogate pairs."""
    text = "".join(units)
    if any(0xD800 <= ord(ch) <= 0xDFFF for ch in text):
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
    return text


class PartialJsonScanner:
    """``fixJson``'s scan, kept between pieces: ``feed`` the text as it arrives (each
    character is scanned once), ``repaired()`` is ``fix_json`` of all of it so far."""

    __slots__ = (
        "_knows_unicode_escapes",
        "_last_valid",
        "_literal_start",
        "_stack",
        "_target",
        "_text",
        "_unicode_digits",
        "_units",
    )

    def __init__(self, *, target: Target = "v6") -> None:
        self._target: Target = target
        self._knows_unicode_escapes = target != "v5"
        self._text = ""
        self._units: list[str] = []
        self._stack: list[str] = ["ROOT"]
        self._last_valid = -1
        self._literal_start = 0
        self._unicode_digits = 0

    @property
    def text(self) -> str:
        return self._text

    def feed(self, text: str) -> None:
        self._text += text
        start = len(self._units)
        self._units.extend(utf16_units(text))
        for i in range(start, len(self._units)):
            self._step(self._units[i], i)

    def parsed(self) -> tuple[object | None, PartialJsonState]:
        """``parse_partial_json`` of the text so far."""
        return _parse(self._text, self.repaired)

    def repaired(self) -> str:
        units = self._units
        result = units[: self._last_valid + 1]
        for state in reversed(self._stack):
            if state == "INSIDE_STRING":
                result.append('"')
            elif state.startswith("INSIDE_OBJECT_"):
                result.append("}")
            elif state.startswith("INSIDE_ARRAY_"):
                result.append("]")
            elif state == "INSIDE_LITERAL":
                partial = "".join(units[self._literal_start :])
                for literal in ("true", "false", "null"):
                    if literal.startswith(partial):
                        result.append(literal[len(partial) :])
                        break
        return _join_utf16(result)

    def _value_start(self, char: str, i: int, swap_state: str) -> None:
        stack = self._stack
        if char == '"':
            self._last_valid = i
            stack[-1] = swap_state
            stack.append("INSIDE_STRING")
        elif char in "ftn":
            self._last_valid = i
            self._literal_start = i
            stack[-1] = swap_state
            stack.append("INSIDE_LITERAL")
        elif char == "-":
            stack[-1] = swap_state
            stack.append("INSIDE_NUMBER")
        elif char in _DIGITS:
            self._last_valid = i
            stack[-1] = swap_state
            stack.append("INSIDE_NUMBER")
        elif char == "{":
            self._last_valid = i
            stack[-1] = swap_state
            stack.append("INSIDE_OBJECT_START")
        elif char == "[":
            self._last_valid = i
            stack[-1] = swap_state
            stack.append("INSIDE_ARRAY_START")

    def _after_object_value(self, char: str, i: int) -> None:
        if char == ",":
            self._stack[-1] = "INSIDE_OBJECT_AFTER_COMMA"
        elif char == "}":
            self._last_valid = i
            self._stack.pop()

    def _after_array_value(self, char: str, i: int) -> None:
        if char == ",":
            self._stack[-1] = "INSIDE_ARRAY_AFTER_COMMA"
        elif char == "]":
            self._last_valid = i
            self._stack.pop()

    def _step(self, char: str, i: int) -> None:
        stack = self._stack
        state = stack[-1]
        if state == "ROOT":
            self._value_start(char, i, "FINISH")
        elif state == "INSIDE_OBJECT_START":
            if char == '"':
                stack[-1] = "INSIDE_OBJECT_KEY"
            elif char == "}":
                self._last_valid = i
                stack.pop()
        elif state == "INSIDE_OBJECT_AFTER_COMMA":
            if char == '"':
                stack[-1] = "INSIDE_OBJECT_KEY"
        elif state == "INSIDE_OBJECT_KEY":
            if char == '"':
                stack[-1] = "INSIDE_OBJECT_AFTER_KEY"
        elif state == "INSIDE_OBJECT_AFTER_KEY":
            if char == ":":
                stack[-1] = "INSIDE_OBJECT_BEFORE_VALUE"
        elif state == "INSIDE_OBJECT_BEFORE_VALUE":
            self._value_start(char, i, "INSIDE_OBJECT_AFTER_VALUE")
        elif state == "INSIDE_OBJECT_AFTER_VALUE":
            self._after_object_value(char, i)
        elif state == "INSIDE_STRING":
            if char == '"':
                stack.pop()
                self._last_valid = i
            elif char == "\\":
                stack.append("INSIDE_STRING_ESCAPE")
            else:
                self._last_valid = i
        elif state == "INSIDE_ARRAY_START":
            if char == "]":
                self._last_valid = i
                stack.pop()
            else:
                if self._target != "v7":
                    self._last_valid = i
                self._value_start(char, i, "INSIDE_ARRAY_AFTER_VALUE")
        elif state == "INSIDE_ARRAY_AFTER_VALUE":
            if char == ",":
                stack[-1] = "INSIDE_ARRAY_AFTER_COMMA"
            elif char == "]":
                self._last_valid = i
                stack.pop()
            else:
                self._last_valid = i
        elif state == "INSIDE_ARRAY_AFTER_COMMA":
            self._value_start(char, i, "INSIDE_ARRAY_AFTER_VALUE")
        elif state == "INSIDE_STRING_ESCAPE":
            stack.pop()
            if self._knows_unicode_escapes and char == "u":
                self._unicode_digits = 0
                stack.append("INSIDE_STRING_UNICODE_ESCAPE")
            else:
                self._last_valid = i
        elif state == "INSIDE_STRING_UNICODE_ESCAPE":
            if char in _HEX:
                self._unicode_digits += 1
                if self._unicode_digits == 4:
                    stack.pop()
                    self._last_valid = i
        elif state == "INSIDE_NUMBER":
            if char in _DIGITS:
                self._last_valid = i
            elif char in "eE-.":
                pass
            elif char == ",":
                stack.pop()
                if stack[-1] == "INSIDE_ARRAY_AFTER_VALUE":
                    self._after_array_value(char, i)
                if stack[-1] == "INSIDE_OBJECT_AFTER_VALUE":
                    self._after_object_value(char, i)
            elif char == "}":
                stack.pop()
                if stack[-1] == "INSIDE_OBJECT_AFTER_VALUE":
                    self._after_object_value(char, i)
            elif char == "]":
                stack.pop()
                if stack[-1] == "INSIDE_ARRAY_AFTER_VALUE":
                    self._after_array_value(char, i)
            else:
                stack.pop()
        elif state == "INSIDE_LITERAL":
            partial = "".join(self._units[self._literal_start : i + 1])
            if not (
                "false".startswith(partial)
                or "true".startswith(partial)
                or "null".startswith(partial)
            ):
                stack.pop()
                if stack[-1] == "INSIDE_OBJECT_AFTER_VALUE":
                    self._after_object_value(char, i)
                elif stack[-1] == "INSIDE_ARRAY_AFTER_VALUE":
                    self._after_array_value(char, i)
            else:
                self._last_valid = i


def fix_json(text: str, *, target: Target = "v6") -> str:
    """Close an incomplete JSON text the way the client's ``fixJson`` does."""
    scanner = PartialJsonScanner(target=target)
    scanner.feed(text)
    return scanner.repaired()


def parse_partial_json(
    text: str | None, *, target: Target = "v6"
) -> tuple[object | None, PartialJsonState]:
    """Parse possibly incomplete JSON like the client's ``parsePartialJson``.

    Returns ``(value, state)``: ``(None, "undefined-input")`` for ``None``, the parsed
    value with ``"successful-parse"`` when ``text`` is complete JSON, the value of the
    repaired text with ``"repaired-parse"``, and ``(None, "failed-parse")`` otherwise.
    ``None`` also stands for a JSON ``null``; the state tells them apart.
    """
    if text is None:
        return None, "undefined-input"
    return _parse(text, lambda: fix_json(text, target=target))


def _parse(text: str, repaired: Callable[[], str]) -> tuple[object | None, PartialJsonState]:
    try:
        return secure_json_loads(text), "successful-parse"
    except ValueError:
        pass
    try:
        return secure_json_loads(repaired()), "repaired-parse"
    except ValueError:
        return None, "failed-parse"
