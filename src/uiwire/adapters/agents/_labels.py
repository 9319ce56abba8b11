"""The labels (``title``, ``toolMetadata``) of an Agents SDK run's tool parts, from what
the SDK knows of each tool: a function tool's description, an MCP tool's server and
title, an agent used as a tool, a handoff's target agent, a hosted MCP server's label.
The rule is ``uiwire.adapters._tool_labels``'s."""

from __future__ import annotations

from typing import Any

from agents import Agent, FunctionTool, Handoff

from uiwire.adapters._tool_labels import ToolLabel
from uiwire.adapters.agents._compat import tool_origin
from uiwire.adapters.agents._items import HOSTED_TOOLS, field

__all__ = ["function_label", "handoff_label", "hosted_label"]

_ORIGINS = {"function": "function", "mcp": "mcp", "agent_as_tool": "agent"}


def function_label(tool: FunctionTool) -> ToolLabel:
    """A function tool's label: its description; an MCP tool's server and title; the
    agent behind an agent used as a tool."""
    origin, server, agent, title = tool_origin(tool)
    return ToolLabel.of(
        tool.description,
        origin=_ORIGINS.get(origin, "function"),
        title=title,
        server=server,
        agent=agent,
    )


def handoff_label(handoff: Handoff[Any, Any] | Agent[Any]) -> ToolLabel:
    """A handoff's label: the description the model sees, the agent it hands off to."""
    if isinstance(handoff, Agent):
        return ToolLabel.of(
            Handoff.default_tool_description(handoff), origin="handoff", agent=handoff.name
        )
    return ToolLabel.of(handoff.tool_description, origin="handoff", agent=handoff.agent_name)


def hosted_label(raw: Any) -> ToolLabel | None:
    """A provider-executed call's label, from its item: a hosted MCP call names its
    server; the others are ``hosted``."""
    kind = field(raw, "type")
    if kind in ("mcp_call", "mcp_approval_request"):
        return ToolLabel.of(None, origin="mcp", server=field(raw, "server_label"))
    if kind in HOSTED_TOOLS:
        return ToolLabel.of(None, origin="hosted")
    return None
