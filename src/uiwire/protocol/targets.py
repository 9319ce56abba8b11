"""Protocol targets: which AI SDK client release line a stream is written for.

The wire header is ``v1`` for AI SDK 5, 6 and 7, but each major version's client
validates chunks against its own schema. A target names the client line (its newest
release) so the library can refuse to emit what that client rejects.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

__all__ = ["DEFAULT_TARGET", "FINISH_REASONS", "TARGETS", "Target", "as_target"]

Target = Literal["v5", "v6", "v7"]
"""``"v5"``, ``"v6"`` or ``"v7"``: the major version of the ``ai`` npm package in the browser."""

DEFAULT_TARGET: Final[Target] = "v6"

TARGETS: Final[tuple[Target, ...]] = get_args(Target)

_BASE_REASONS = ("stop", "length", "content-filter", "tool-calls", "error", "other")

FINISH_REASONS: Final[dict[Target, frozenset[str]]] = {
    "v5": frozenset((*_BASE_REASONS, "unknown")),
    "v6": frozenset(_BASE_REASONS),
    "v7": frozenset((*_BASE_REASONS, "interrupted")),
}
"""The ``finish.finishReason`` values each client's schema accepts (a closed enum)."""


def as_target(value: object) -> Target:
    """Return ``value`` as a ``Target``, or raise ``ValueError`` naming the accepted ones."""
    if value in TARGETS:
        return value  # type: ignore[return-value]
    accepted = ", ".join(repr(t) for t in TARGETS)
    raise ValueError(f"protocol target must be one of {accepted}; got {value!r}")
