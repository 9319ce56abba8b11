"""JavaScript value semantics, for ported client code.

The AI SDK client is JavaScript: ``processUIMessageStream`` compares with ``===``, tests
truthiness, stringifies with template literals and merges metadata with a spread. The
message assembler reproduces those results on Python's JSON values with these helpers.
``UNDEFINED`` stands for a property that exists but that ``JSON.stringify`` omits.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Final, cast

from uiwire.protocol._partial_json import utf16_units

__all__ = [
    "UNDEFINED",
    "JSTypeError",
    "clone",
    "js_key",
    "js_keys",
    "js_string",
    "merge_objects",
    "nullish",
    "render",
    "spread",
    "strict_equal",
    "truthy",
]

_MAX_ARRAY_INDEX: Final = 2**32 - 2


class _Undefined:
    """JavaScript's ``undefined``: a property that exists but is omitted by JSON."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNDEFINED"

    def __bool__(self) -> bool:
        return False


UNDEFINED: Final = _Undefined()


def nullish(value: object) -> bool:
    """``value == null`` in JavaScript (``null`` or ``undefined``)."""
    return value is None or value is UNDEFINED


def truthy(value: object) -> bool:
    if value is None or value is UNDEFINED or value is False:
        return False
    if isinstance(value, bool):
        return True
    if isinstance(value, (int, float)):
        return value != 0 and not math.isnan(value)
    if isinstance(value, str):
        return value != ""
    return True


def strict_equal(a: object, b: object) -> bool:
    """``a === b`` for JSON values (objects and arrays compare by identity)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return a is b


def js_string(value: object) -> str:
    """``String(value)``, as template literals and ``+`` on strings apply it."""
    if isinstance(value, str):
        return value
    if value is UNDEFINED:
        return "undefined"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    if isinstance(value, list):
        items = cast("list[Any]", value)
        return ",".join("" if nullish(item) else js_string(item) for item in items)
    return "[object Object]"


def js_key(value: object) -> str:
    """The property key JavaScript uses for ``map[value]``."""
    return value if isinstance(value, str) else js_string(value)


def _is_array_index(key: str) -> bool:
    return (
        key.isdigit()
        and key.isascii()
        and (key == "0" or key[0] != "0")
        and (int(key) <= _MAX_ARRAY_INDEX)
    )


def js_keys(obj: dict[str, Any]) -> list[str]:
    """Own keys in JavaScript enumeration order: array indices ascending, then insertion."""
    keys = list(obj)
    indices = [k for k in keys if _is_array_index(k)]
    if not indices:
        return keys
    indices.sort(key=int)
    return indices + [k for k in keys if not _is_array_index(k)]


def clone(value: Any) -> Any:
    """A private deep copy of a JSON-like value (mappings become dicts, sequences lists)."""
    if isinstance(value, Mapping):
        return {k: clone(v) for k, v in cast("Mapping[Any, Any]", value).items()}
    if isinstance(value, (list, tuple)):
        return [clone(v) for v in cast("Sequence[Any]", value)]
    return value


def render(value: Any) -> Any:
    """``JSON.parse(JSON.stringify(value))``, keeping Python's exact integers."""
    if isinstance(value, dict):
        obj = cast("dict[str, Any]", value)
        return {k: render(obj[k]) for k in js_keys(obj) if obj[k] is not UNDEFINED}
    if isinstance(value, list):
        seq = cast("list[Any]", value)
        return [None if v is UNDEFINED else render(v) for v in seq]
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return None
        if value.is_integer() and abs(value) < 1e21:
            return int(value)
    return value


class JSTypeError(Exception):
    """A ``TypeError`` the JavaScript code would throw."""


def spread(value: Any) -> dict[str, Any]:
    """``{...value}``."""
    if isinstance(value, dict):
        return dict(cast("dict[str, Any]", value))
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(cast("list[Any]", value))}
    if isinstance(value, str):
        return {str(i): unit for i, unit in enumerate(utf16_units(value))}
    return {}


def merge_objects(base: Any, overrides: Any) -> Any:
    """Port of the client's ``mergeObjects(base, overrides)`` (deep merge, arrays replaced).

    JavaScript semantics are kept for non-object inputs: strings and arrays are spread
    into index-keyed objects, and a primitive ``base`` with any key to merge makes the
    client throw (``TypeError``: the ``in`` operator on a primitive), raised here as
    :class:`TypeError` with the same message.
    """
    if base is UNDEFINED and overrides is UNDEFINED:
        return UNDEFINED
    if base is UNDEFINED:
        return overrides
    if overrides is UNDEFINED:
        return base
    result = spread(base)
    if isinstance(overrides, dict):
        source = cast("dict[str, Any]", overrides)
        items = [(k, source[k]) for k in js_keys(source)]
    else:  # for...in over a string or an array visits its indices; numbers have none
        items = list(spread(overrides).items())
    for key, override in items:
        if key in ("__proto__", "constructor", "prototype") or override is UNDEFINED:
            continue
        base_value: Any
        if isinstance(base, dict):
            base_value = cast("dict[str, Any]", base).get(key, UNDEFINED)
        elif isinstance(base, list):
            base_value = spread(base).get(key, UNDEFINED)
        else:
            raise TypeError(f"Cannot use 'in' operator to search for '{key}' in {js_string(base)}")
        if isinstance(override, dict) and isinstance(base_value, dict):
            result[key] = merge_objects(base_value, override)
        else:
            result[key] = override
    return result
