"""What the Agents adapter sends for an agent: read from the agent and every agent it
hands off to.

* Function tools (``function_tool``, ``client_tool``, ``Agent.as_tool``): ``tool-NAME``;
  the input is the tool's own ``params_json_schema`` (what the model is told to
  write), the output what the function returns (its return annotation; ``unknown``
  when it has none, for a client tool or an agent used as a tool).
* Handoffs: ``tool-transfer_to_...``, their input schema; the output ``unknown``.
* Two agents' tools of one name with different types: what differs is ``unknown``.
* Hosted and local runtime tools (``web_search``, ``shell``...): ``tool-NAME`` with
  ``unknown`` types. Hosted MCP calls are ``dynamic-tool`` parts: not in the map.
* Tools of MCP servers are listed when the agent runs, not before: not in the map.
* ``data-agent`` (the agent answering), ``data-output`` for each agent with a
  structured ``output_type``, and the ``usage`` metadata.
"""

from __future__ import annotations

from typing import Any, cast

from agents import Agent, AgentOutputSchemaBase, FunctionTool, Handoff, handoff

from uiwire.adapters.agents import AGENT_PART
from uiwire.adapters.agents._compat import handoff_target, output_wrapper, tool_function
from uiwire.adapters.agents._items import HOSTED_TOOLS, LOCAL_RUNTIME_TOOLS
from uiwire.adapters.agents._translate import output_schema
from uiwire.typegen._shape import AGENT_DATA, USAGE_METADATA, OutputShape, ToolShape, UIShape
from uiwire.typegen.declaration import Schema, returned_schema, sent_schema

__all__ = ["agents_shape"]

_BUILT_IN_NAMES = frozenset(HOSTED_TOOLS.values()) - {"mcp"} | frozenset(
    LOCAL_RUNTIME_TOOLS.values()
)


def agents_shape(agent: Agent[Any]) -> UIShape:
    shape = UIShape(data={AGENT_PART: AGENT_DATA}, metadata=[USAGE_METADATA])
    for each in _reachable(agent):
        for tool in cast("list[Any]", list(each.tools)):
            if isinstance(tool, FunctionTool):
                _add(shape, tool.name, _function_tool(tool))
            elif getattr(tool, "name", None) in _BUILT_IN_NAMES:
                _add(shape, str(tool.name), ToolShape())
        for target in cast("list[Any]", list(each.handoffs)):
            made = cast(
                "Handoff[Any, Any]", target if isinstance(target, Handoff) else handoff(target)
            )
            _add(shape, made.tool_name, ToolShape(input=made.input_json_schema))
        output = _output(each)
        if output is not None and output not in shape.outputs:
            shape.outputs.append(output)
    return shape


def _add(shape: UIShape, name: str, tool: ToolShape) -> None:
    """Add ``tool``; two agents' tools of one name with different types make a part
    that may be either: what differs is ``unknown``."""
    known = shape.tools.get(name)
    if known is None:
        shape.tools[name] = tool
        return
    if known.input != tool.input:
        known.input = None
    if known.output != tool.output:
        known.output = None


def _reachable(agent: Agent[Any]) -> list[Agent[Any]]:
    """``agent`` and every agent its handoffs lead to, each once, first seen first."""
    found: list[Agent[Any]] = []
    pending = [agent]
    while pending:
        current = pending.pop(0)
        if any(current is seen for seen in found):
            continue
        found.append(current)
        for target in cast("list[Any]", list(current.handoffs)):
            nxt = (
                handoff_target(cast("Handoff[Any, Any]", target))
                if isinstance(target, Handoff)
                else target
            )
            if isinstance(nxt, Agent):
                pending.append(cast("Agent[Any]", nxt))
    return found


def _function_tool(tool: FunctionTool) -> ToolShape:
    function = tool_function(tool)
    return ToolShape(
        input=tool.params_json_schema,
        output=None if function is None else returned_schema(function),
    )


def _output(agent: Agent[Any]) -> OutputShape | None:
    """The ``data-output`` value of ``agent``'s structured output: the JSON its
    ``final_output`` serializes to (for an ``AgentOutputSchemaBase`` of the user's, the
    schema it gives the model, when the model writes the value unwrapped)."""
    schema = output_schema(agent)
    if schema is None:
        return None
    output_type = agent.output_type
    value: Schema | None
    if isinstance(output_type, AgentOutputSchemaBase):
        value = None if output_wrapper(schema) is not None else schema.json_schema()
    else:
        value = sent_schema(output_type)
    return OutputShape(schema.name(), value)
