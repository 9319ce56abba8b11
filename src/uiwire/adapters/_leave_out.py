"""What an adapter may leave out of the messages it writes, checked once for both
adapters: ``AgentsAdapter(leave_out=...)`` and ``DSPyAdapter(leave_out=...)``, as the AI
SDK's ``toUIMessageStream({sendReasoning: false, sendSources: false})``."""

from __future__ import annotations

from collections.abc import Collection
from typing import Final, Literal, cast, get_args

__all__ = ["LeftOut", "MessageContent", "left_out"]

MessageContent = Literal["reasoning", "sources"]
"""What an adapter's ``leave_out`` can name: the model's reasoning (summaries and
text), its sources (citations)."""

LeftOut = frozenset[MessageContent]

_KNOWN: Final = frozenset(get_args(MessageContent))


def left_out(leave_out: object) -> LeftOut:
    """``leave_out`` as a set, or ValueError naming what it may hold (a bare string,
    ``"reasoning"``, is refused: it is a collection of letters)."""
    if isinstance(leave_out, str) or not isinstance(leave_out, Collection):
        raise ValueError(
            "leave_out must hold only 'reasoning' and 'sources', in a collection such as "
            f"{{'reasoning'}}; got {leave_out!r}"
        )
    items = cast("Collection[object]", leave_out)
    unknown = [what for what in items if what not in _KNOWN]
    if unknown:
        raise ValueError(f"leave_out must hold only 'reasoning' and 'sources'; got {unknown[0]!r}")
    return cast("LeftOut", frozenset(items))
