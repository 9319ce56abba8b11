"""Listeners for what DSPy's own ``StreamListener`` drops.

* ``FieldListener``: a field whose start and end markers arrive in one chunk (providers
  that send large chunks, short fields) makes DSPy's listener give up on it silently;
  under JSONAdapter, a whole reply in one chunk stays queued in DSPy's listener and is
  never streamed. This one sends the field whole at that moment, so it keeps its place in
  the order (and a field of a predictor before the last, which is in no final
  Prediction, is not lost).
* ``ToolCallDeltaListener``: with native function calling (``dspy.ToolCalls``), tool
  calls arrive as OpenAI-style ``delta.tool_calls`` pieces, not as text; this one hands
  the raw pieces on as they come.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, cast

import dspy
from dspy.streaming import StreamResponse

from uiwire.adapters.dspy._compat import ChunkListener

__all__ = ["FieldListener", "ToolCallDelta", "ToolCallDeltaListener"]


class FieldListener(ChunkListener):
    """DSPy's listener, plus the whole field when it came in one chunk."""

    def on_chunk(self, chunk: Any) -> Any:
        output = super().on_chunk(chunk)
        if output is not None:
            return output
        text = _content(chunk)
        if text is None:
            return None
        if isinstance(getattr(dspy.settings, "adapter", None), dspy.JSONAdapter):
            whole = self._whole_json_field(text)
        else:
            whole = self._whole_field(text)
        if whole is None:
            return None
        return StreamResponse(str(self.predict_name), self.signature_field_name, whole, True)

    def _whole_json_field(self, text: str) -> str | None:
        """The field's value, as JSON, when this chunk is the whole JSON reply and DSPy
        did not start on it (it keeps such a chunk queued, waiting for more), else None."""
        reply_text = text.strip()
        if self.field_started or not (reply_text.startswith("{") and reply_text.endswith("}")):
            return None
        try:
            reply: object = json.loads(reply_text)
        except ValueError:
            return None
        if not isinstance(reply, dict) or self.signature_field_name not in reply:
            return None
        self.give_up_the_field()
        value = cast("dict[str, object]", reply)[self.signature_field_name]
        return json.dumps(value, ensure_ascii=False)

    def _whole_field(self, text: str) -> str | None:
        """The field's value when this chunk held its start and its end (DSPy then
        gives the field up and returns nothing), else None."""
        if not self.gave_up_the_field:
            return None
        every = self.field_markers
        identifiers = next(
            (ids for ids in every.values() if str(ids["start_identifier"]) in text), None
        )
        if identifiers is None:
            return None
        after = text[
            text.find(identifiers["start_identifier"]) + len(identifiers["start_identifier"]) :
        ]
        end = re.search(identifiers["end_identifier"], after)
        return (after[: end.start()] if end else after).strip() or None


@dataclass(frozen=True, slots=True)
class ToolCallDelta:
    """Pieces of native tool calls from one model chunk (``index``, ``id``, name, args)."""

    predict_name: str
    field: str
    index: int
    call_id: str | None
    name: str | None
    arguments: str


class ToolCallDeltaListener(ChunkListener):
    """Yields a ``ToolCallDelta`` list for every chunk that carries tool-call pieces."""

    def on_chunk(self, chunk: Any) -> list[ToolCallDelta] | None:
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
                    field=str(self.signature_field_name),
                    index=index if isinstance(index, int) else 0,
                    call_id=_get(call, "id") or None,
                    name=_get(function, "name") or None,
                    arguments=_get(function, "arguments") or "",
                )
            )
        return pieces

    def on_end(self) -> None:
        return None


def _content(chunk: Any) -> str | None:
    """A model chunk's text, if it has any."""
    try:
        text = chunk.choices[0].delta.content
    except (AttributeError, IndexError, KeyError, TypeError):
        return None
    return text if isinstance(text, str) else None


def _get(obj: Any, name: str) -> Any:
    """``obj.name`` or ``obj[name]``: litellm objects and DSPy's engine chunks differ."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    return getattr(obj, name, None)
