"""``SharedState``: a stream's mutable state (``ctx.state``), addressed by dot paths,
safe from any thread.

A plain ``threading.Lock`` guards dictionary operations only (never I/O, never an
``await``), so holding it costs microseconds on the loop thread and it works the same
from worker threads. ``update`` gives an atomic read-modify-write for counters and lists.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from typing import Any, cast

__all__ = ["SharedState"]


def _split(path: str) -> list[str]:
    if not isinstance(path, str) or not path:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ValueError(f"state path must be a non-empty string such as 'a.b'; got {path!r}")
    keys = path.split(".")
    if "" in keys:
        raise ValueError(f"state path {path!r} has an empty segment")
    return keys


class SharedState:
    """A nested dict with dot-path access, shared by the coroutines and threads writing
    one stream: ``ctx.state.set("user.plan", "pro")``."""

    __slots__ = ("_data", "_lock")

    def __init__(self, initial: dict[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = copy.deepcopy(initial) if initial else {}
        self._lock = threading.Lock()

    def get(self, path: str, default: Any = None) -> Any:
        """The value at ``path``, or ``default`` if any segment is missing."""
        keys = _split(path)
        with self._lock:
            node: Any = self._data
            for key in keys:
                if not isinstance(node, dict) or key not in node:
                    return default
                node = cast("dict[str, Any]", node)[key]
            return node

    def set(self, path: str, value: Any) -> None:
        """Set ``path``, creating intermediate dicts; a non-dict in the way raises."""
        keys = _split(path)
        with self._lock:
            self._parent(keys, path)[keys[-1]] = value

    def update(self, path: str, fn: Callable[[Any], Any], default: Any = None) -> Any:
        """Atomically replace the value at ``path`` with ``fn(old)``; returns the new value.

        ``fn`` runs under the state's lock: keep it quick and free of I/O.
        """
        keys = _split(path)
        with self._lock:
            parent = self._parent(keys, path)
            new = fn(parent.get(keys[-1], default))
            parent[keys[-1]] = new
            return new

    def delete(self, path: str) -> bool:
        """Remove ``path``; True if it existed."""
        keys = _split(path)
        with self._lock:
            node: Any = self._data
            for key in keys[:-1]:
                if not isinstance(node, dict) or key not in node:
                    return False
                node = cast("dict[str, Any]", node)[key]
            if not isinstance(node, dict) or keys[-1] not in node:
                return False
            del cast("dict[str, Any]", node)[keys[-1]]
            return True

    def snapshot(self) -> dict[str, Any]:
        """A deep copy of everything, taken under the lock."""
        with self._lock:
            return copy.deepcopy(self._data)

    def _parent(self, keys: list[str], path: str) -> dict[str, Any]:
        node = self._data
        for depth, key in enumerate(keys[:-1]):
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                where = ".".join(keys[: depth + 1])
                raise TypeError(
                    f"cannot set {path!r}: {where!r} holds a {type(child).__name__}, not a dict"
                )
            node = cast("dict[str, Any]", child)
        return node

    def __repr__(self) -> str:
        return f"SharedState({self.snapshot()!r})"
