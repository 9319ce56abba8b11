"""What a tool part says about its tool, from the tool's definition: a ``title`` and
``toolMetadata`` (AI SDK 6 and later; a v5 client takes neither, so it gets neither).

The rule, the same for every framework: the title is the tool's own display title when
the definition has one (an MCP tool's ``title``), else the first line of its
description (the summary line of the docstring it was made from); ``toolMetadata``
holds the whole description and where the tool comes from (``origin``: ``function``,
``mcp``, ``agent``, ``handoff``, ``hosted``, with ``server`` / ``agent`` naming the MCP
server or the agent behind it). The client keeps both on the part; neither is sent to
the model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from uiwire.protocol.chunks import chunk_fields
from uiwire.stream.message_writer import MessageWriter

__all__ = ["ToolLabel", "label_options", "summary_line"]


@dataclasses.dataclass(frozen=True, slots=True)
class ToolLabel:
    """A tool's title and metadata, as its definition gives them."""

    title: str | None = None
    metadata: Mapping[str, str] = dataclasses.field(default_factory=dict[str, str])

    @classmethod
    def of(
        cls,
        description: object,
        *,
        origin: str,
        title: object = None,
        **where: object,
    ) -> ToolLabel:
        """The label of a tool with this ``description`` (and display ``title``, if its
        definition has one); ``where``: ``server=`` / ``agent=`` names, None left out."""
        text = description.strip() if isinstance(description, str) else ""
        shown = title.strip() if isinstance(title, str) and title.strip() else None
        metadata = {"origin": origin}
        if text:
            metadata["description"] = text
        metadata.update({k: v for k, v in where.items() if isinstance(v, str) and v})
        return cls(shown or summary_line(text), metadata)


def summary_line(description: str) -> str | None:
    """The first non-empty line of ``description``, or None."""
    for line in description.splitlines():
        if line.strip():
            return line.strip()
    return None


def label_options(out: MessageWriter, label: ToolLabel | None) -> dict[str, Any]:
    """``begin_tool_call`` keywords for ``label``: only the fields ``out``'s client takes."""
    if label is None:
        return {}
    accepted = chunk_fields(out.target, "tool-input-start") or frozenset[str]()
    options: dict[str, Any] = {}
    if label.title is not None and "title" in accepted:
        options["title"] = label.title
    if label.metadata and "toolMetadata" in accepted:
        options["tool_metadata"] = dict(label.metadata)
    return options
