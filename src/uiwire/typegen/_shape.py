"""What one app sends, as the generator collects it before writing TypeScript: its
tools, data parts, structured outputs and metadata, each as a JSON schema."""

from __future__ import annotations

import dataclasses
from typing import TypedDict

from uiwire.typegen.declaration import Schema

__all__ = [
    "AGENT_DATA",
    "STATUS_DATA",
    "USAGE_METADATA",
    "OutputShape",
    "ToolShape",
    "UIShape",
    "trace_id_metadata",
]


class _Usage(TypedDict, total=False):
    """``Usage.as_metadata()``: the AI SDK's ``LanguageModelUsage`` names."""

    inputTokens: int
    outputTokens: int
    totalTokens: int
    reasoningTokens: int
    cachedInputTokens: int


_USAGE_REQUIRED = ("inputTokens", "outputTokens", "totalTokens")

USAGE_METADATA: Schema = {
    "type": "object",
    "properties": {
        "usage": {
            "type": "object",
            "description": "Token counts of the run, summed over its model calls.",
            "properties": {key: {"type": "integer"} for key in _Usage.__annotations__},
            "required": list(_USAGE_REQUIRED),
        }
    },
}
"""The metadata the adapters write: ``{"usage": ...}`` once the run reported it."""

AGENT_DATA: Schema = {
    "type": "object",
    "properties": {"name": {"type": "string"}},
    "required": ["name"],
}
"""The Agents adapter's ``data-agent`` part: the agent now answering."""

STATUS_DATA: Schema = {
    "type": "object",
    "properties": {"message": {"type": "string"}},
    "required": ["message"],
}
"""The DSPy adapter's transient ``data-status`` part (``onData`` only)."""


def trace_id_metadata(key: str) -> Schema:
    """The metadata an endpoint with ``Telemetry(trace_id_key=key)`` writes: the turn's
    trace id, once the turn finished or failed."""
    return {
        "type": "object",
        "properties": {key: {"type": "string", "description": "The turn's trace id."}},
    }


@dataclasses.dataclass(slots=True)
class ToolShape:
    """A ``tool-NAME`` part's types; None: ``unknown``."""

    input: Schema | None = None
    output: Schema | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class OutputShape:
    """One structured output the ``data-output`` part may carry: its ``name`` and the
    type of its finished ``value`` (None: ``unknown``)."""

    name: str
    value: Schema | None


@dataclasses.dataclass(slots=True)
class UIShape:
    tools: dict[str, ToolShape] = dataclasses.field(default_factory=dict[str, ToolShape])
    data: dict[str, Schema] = dataclasses.field(default_factory=dict[str, Schema])
    outputs: list[OutputShape] = dataclasses.field(default_factory=list[OutputShape])
    metadata: list[Schema] = dataclasses.field(default_factory=list[Schema])
    """Each writer's metadata; the message's is all of them (the client merges)."""
