"""A listener for native function calls, which DSPy's own listeners never see.

With native function calling (``dspy.ToolCalls`` outputs), the model's tool calls
arrive as OpenAI-style ``delta.tool_calls`` pieces, not as text, so a plain
``StreamListener`` ignores them. This one hands the raw pieces on as they come.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dspy.streaming import StreamListener

__all__ = ["ToolCallDelta", "ToolCallDeltaListener"]


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """Pieces of native tool calls from one model chunk (``index``, ``id``, name, args)."""

    predict_name: str
    index: int
    call_id: str | None
    name: str | None
    arguments: str


class ToolCallDeltaListener(StreamListener):
    """Yields a ``ToolCallDelta`` list for every chunk that carries tool-call pieces."""

    def receive(self, chunk: Any) -> list[ToolCallDelta] | None:  # pyright: ignore[reportIncompatibleMethodOverride]
        try:
            delta = chunk.choices[0].delta
        except (AttributeError, IndexError, KeyError, TypeError):
            return None
        calls = _get(delta, "tool_calls")
        if not calls:
            return None
        pieces: list[ToolCallDelta] = []
        for call in calls:
            function = _get(call, "function")
            index = _get(call, "index")
            pieces.append(
                ToolCallDelta(
                    predict_name=str(self.predict_name),
                    index=index if isinstance(index, int) else 0,
                    call_id=_get(call, "id") or None,
                    name=_get(function, "name") or None,
                    arguments=_get(function, "arguments") or "",
                )
            )
        return pieces

    def finalize(self) -> None:  # pyright: ignore[reportIncompatibleMethodOverride]
        return None


def _get(obj: Any, name: str) -> Any:
    """``obj.name`` or ``obj[name]``: litellm objects and DSPy's engine chunks differ."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    return getattr(obj, name, None)
