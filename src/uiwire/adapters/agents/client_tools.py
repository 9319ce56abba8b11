"""Tools the browser runs: the model calls them, ``useChat`` answers with ``addToolOutput``.

The Agents SDK has no such tool, but it can pause a run before a call
(``needs_approval``). A ``client_tool`` always pauses, and marks its call in the run's
channel as it does, so the adapter stores the run without asking for an approval: the
call reaches the browser as an ``input-available`` part (``onToolCall``). When the
next request continues the message with the call's result, the run resumes from the
stored state, the call is approved, and the tool returns what the browser answered.
The browser cannot change the arguments: they come from the stored run.
"""

from __future__ import annotations

import json
from typing import Any

from agents import FunctionTool, RunContextWrapper
from agents.tool_context import ToolContext
from pydantic import BaseModel

from uiwire.adapters.agents._channel import current_channel
from uiwire.adapters.agents._compat import ensure_strict_json_schema

__all__ = ["client_tool"]

_NO_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {},
    "required": [],
    "additionalProperties": False,
}


def client_tool(
    name: str,
    description: str,
    parameters: dict[str, Any] | type[BaseModel] | None = None,
    *,
    strict: bool = True,
) -> FunctionTool:
    """A tool the model may call and the browser executes (``onToolCall`` +
    ``addToolOutput`` in ``useChat``, with ``sendAutomaticallyWhen:
    lastAssistantMessageIsCompleteWithToolCalls``).

    ``parameters`` is a JSON schema or a pydantic model of the arguments (none by
    default). Runs that call it pause; serve them with ``ChatEndpoint`` (or
    ``AgentsAdapter.resume``) so the browser's answer resumes them.
    """
    if not isinstance(name, str) or not name:  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ValueError(f"name must be a non-empty string; got {name!r}")
    if not isinstance(description, str):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"description must be a string; got {type(description).__name__}")
    if parameters is None:
        schema = dict(_NO_PARAMETERS)
    elif isinstance(parameters, type) and issubclass(parameters, BaseModel):  # pyright: ignore[reportUnnecessaryIsInstance]
        schema = parameters.model_json_schema()
    elif isinstance(parameters, dict):  # pyright: ignore[reportUnnecessaryIsInstance]
        schema = parameters
    else:
        raise TypeError(
            f"parameters must be a JSON schema dict or a pydantic model; got {parameters!r}"
        )
    if strict:
        schema = ensure_strict_json_schema(schema)

    async def runs_in_the_browser(
        context: RunContextWrapper[Any], arguments: dict[str, Any], call_id: str
    ) -> bool:
        channel = current_channel()
        if channel is not None:
            channel.client_calls.add(call_id)
        return True  # always pause: the browser answers

    async def browser_result(context: ToolContext[Any], arguments: str) -> Any:
        channel = current_channel()
        result = None if channel is None else channel.client_results.get(context.tool_call_id)
        if result is None:  # approved by something other than the browser's answer
            raise RuntimeError(f"client-side tool {name!r} ran without a result from the client")
        if result.error_text is not None:
            return f"Error from the client: {result.error_text}"
        output = result.output
        return output if isinstance(output, str) else json.dumps(output)

    return FunctionTool(
        name=name,
        description=description,
        params_json_schema=schema,
        on_invoke_tool=browser_result,
        strict_json_schema=strict,
        needs_approval=runs_in_the_browser,
    )
