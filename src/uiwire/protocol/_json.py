"""JSON for the wire: one serializer for payload checks and SSE encoding.

orjson does the work. ``default`` widens it to what Python users hand us (pydantic
models, sets); anything else fails with the type named. The client parses every event
with secure-json rules, so a ``__proto__`` key, or a ``constructor`` key holding a
``prototype`` key, would kill the stream: ``to_json_value`` refuses them up front.
"""

from __future__ import annotations

import json
from typing import Any, cast

import orjson
from pydantic import BaseModel

__all__ = ["JSONEncodeError", "default", "dumps", "forbidden_key_path", "to_json_value"]

JSONEncodeError = orjson.JSONEncodeError


def default(value: Any) -> Any:
    """orjson's ``default=`` hook: pydantic models and sets become JSON; the rest fails."""
    to_wire = getattr(value, "to_wire", None)
    if callable(to_wire):  # uiwire's own wire models: optional fields omitted, not null
        return to_wire()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, (set, frozenset)):
        return list(cast("set[Any]", value))
    raise TypeError(f"Type is not JSON serializable: {type(value).__qualname__}")


_STDLIB_FALLBACK = ("str is not valid UTF-8", "Integer exceeds 64-bit range")


def dumps(value: Any) -> bytes:
    """Compact JSON bytes (raises ``orjson.JSONEncodeError``, a ``TypeError``).

    orjson refuses two things ``JSON.stringify`` writes: lone surrogates (a provider
    that splits an emoji's surrogate pair across deltas) and integers beyond 64 bits.
    For those, and only on that slow path, the standard library writes them escaped.
    """
    try:
        return orjson.dumps(value, default=default)
    except orjson.JSONEncodeError as exc:
        if not str(exc).startswith(_STDLIB_FALLBACK):
            raise
        try:
            text = json.dumps(
                value, default=default, ensure_ascii=True, separators=(",", ":"), allow_nan=False
            )
        except (TypeError, ValueError):
            raise exc from None
        return text.encode("ascii")


def forbidden_key_path(value: Any) -> str | None:
    """The path of the first key the client's secure JSON parser rejects, or None.

    A ``__proto__`` key anywhere, or a ``constructor`` key whose value is an object with a
    ``prototype`` key. Iterative, so deeply nested JSON cannot exhaust the stack.
    """
    pending: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while pending:
        node, path = pending.pop()
        if isinstance(node, dict):
            obj = cast("dict[str, Any]", node)
            if "__proto__" in obj:
                return _join((*path, "__proto__"))
            ctor = obj.get("constructor")
            if isinstance(ctor, dict) and "prototype" in ctor:
                return _join((*path, "constructor", "prototype"))
            pending.extend((item, (*path, key)) for key, item in reversed(obj.items()))
        elif isinstance(node, list):
            items = cast("list[Any]", node)
            pending.extend((items[i], (*path, f"[{i}]")) for i in reversed(range(len(items))))
    return None


def _join(path: tuple[str, ...]) -> str:
    """``("a", "[0]", "b")`` -> ``"a[0].b"``."""
    return "".join(p if p.startswith("[") or i == 0 else f".{p}" for i, p in enumerate(path))


def to_json_value(value: Any) -> tuple[Any, str | None]:
    """Return ``(plain JSON value, None)`` or ``(None, reason)`` if the client can't take it.

    The result is a fresh copy made of dict / list / str / int / float / bool / None, so
    later mutation of the caller's object cannot make the record differ from the wire.
    """
    try:
        encoded = dumps(value)
    except TypeError as exc:
        return None, f"is not JSON-serializable ({exc})"
    try:
        plain = orjson.loads(encoded)
    except orjson.JSONDecodeError:  # escaped lone surrogates, written by the slow path
        plain = json.loads(encoded)
    if b'"__proto__"' in encoded or b'"prototype"' in encoded:
        path = forbidden_key_path(plain)
        if path is not None:
            return None, (
                f"contains the key path {path!r}, which the AI SDK client's secure JSON "
                "parser rejects"
            )
    return plain, None
