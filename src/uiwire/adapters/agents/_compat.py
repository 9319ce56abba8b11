"""The one door to the OpenAI Agents SDK's internals.

uiwire uses the SDK's public API directly: the names the top-level ``agents`` package
exports (``agents.__all__``), ``agents.tool_context`` (``ToolContext``, which the SDK's
guides import from there: user tools are written against it) and ``agents.testing``
(the SDK's documented test doubles, used by the demo). Everything else it relies on is
an entry here, saying what it relies on, the version it was checked against
(openai-agents 0.24.0) and the test that fails first when an upgrade changes it.
``tests/adapters/agents/test_compat.py`` checks every entry against the installed SDK
(run it first after an upgrade; ``nox -s versions`` runs it on the oldest and the newest
supported release, 0.24.0 and 0.25.0); ``tests/adapters/test_framework_internals.py``
fails if any other module reaches past the public API.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from typing import Any, cast

from agents import Agent, FunctionTool, Handoff
from agents.items import TResponseStreamEvent
from agents.run_config import CallModelData, CallModelInputFilter, ModelInputData
from agents.strict_schema import ensure_strict_json_schema
from agents.tool import (
    DEFAULT_APPROVAL_REJECTION_MESSAGE,
    default_tool_timeout_error_message,
    get_function_tool_origin,
)

__all__ = [
    "DEFAULT_APPROVAL_REJECTION_MESSAGE",
    "CallModelData",
    "CallModelInputFilter",
    "ModelInputData",
    "TResponseStreamEvent",
    "ensure_strict_json_schema",
    "handoff_target",
    "output_wrapper",
    "point_handoff_at",
    "see_every_agents_tools",
    "see_run_tools",
    "timeout_output",
    "tool_origin",
    "watch_own_failures",
]

# --- DEFAULT_APPROVAL_REJECTION_MESSAGE: agents.tool (openai-agents 0.24.0) ---------------
# Relies on: the text the SDK gives the model for a call the user rejected without a
# message; the history converter gives the model the same text on the next turn.
# First to break: tests/adapters/agents/test_history.py::
# test_a_denied_call_gives_the_model_what_it_got_in_the_live_run

# --- ensure_strict_json_schema: agents.strict_schema (openai-agents 0.24.0) ---------------
# Relies on: the SDK's own rewrite of a JSON schema into the strict form the model API
# takes (every property required, no additional properties), as ``function_tool`` does
# for a strict tool. ``client_tool(strict=True)`` makes its parameters strict with it.
# First to break: tests/adapters/agents/test_compat.py::
# test_ensure_strict_json_schema_makes_a_schema_strict (no stream test gives a
# client_tool parameters to make strict).

# --- call_model_input_filter's types: agents.run_config (openai-agents 0.24.0) ------------
# Relies on: ``CallModelData`` (its ``model_data``), ``ModelInputData`` and the
# ``CallModelInputFilter`` signature, listed in ``agents.run_config.__all__`` but not
# exported by ``agents``; the adapter's filter stops a cancelled run before its next
# model request.
# First to break: tests/adapters/agents/test_server.py::
# test_disconnect_mid_tool_cancels_the_tool_and_no_model_call_follows

# --- TResponseStreamEvent: agents.items (openai-agents 0.24.0) ----------------------------
# Relies on: the type of the events ``Model.stream_response`` yields (the Responses
# API's stream events), which the demo's paced model re-yields.
# First to break: pyright on src/uiwire/demo/model.py, then tests/demo/test_browser.py.

# --- the model's text for a timed-out tool: agents.tool (openai-agents 0.24.0) ------------
# Relies on: a ``FunctionTool`` past its ``timeout_seconds`` with ``timeout_behavior``
# "error_as_result" and no ``timeout_error_function`` giving the model
# ``default_tool_timeout_error_message(tool_name=..., timeout_seconds=...)`` as its
# output (``agents.tool``'s invocation code); the translation shows that output as the
# call's error.
# First to break: tests/reliability/test_faults.py::
# test_an_agents_tool_past_its_timeout_is_cancelled[error_as_result]


def timeout_output(agent: Any, tool_name: str) -> str | None:
    """The text the SDK gives the model when ``agent``'s tool ``tool_name`` runs past its
    ``timeout_seconds`` (``error_as_result`` with no formatter of the user's): an output
    equal to it is a failed call, shown as ``output-error``. None if the tool has none."""
    for tool in cast("list[Any]", getattr(agent, "tools", None) or []):
        if getattr(tool, "name", None) != tool_name:
            continue
        seconds = getattr(tool, "timeout_seconds", None)
        if seconds is None or getattr(tool, "timeout_error_function", None) is not None:
            return None
        if getattr(tool, "timeout_behavior", None) != "error_as_result":
            return None
        return default_tool_timeout_error_message(tool_name=tool_name, timeout_seconds=seconds)
    return None


# --- a function tool's own failure function: agents.tool (openai-agents 0.24.0) ----------
# Relies on: ``FunctionTool._failure_error_function`` (the ``failure_error_function`` the
# tool was made with, or MCP's) and ``_use_default_failure_error_function`` (True when
# none was given: the SDK then uses its default, and tells ``tool_error_formatter``). The
# SDK resolves them on the tool it invokes, and ``copy.copy`` binds the invoker to the
# copy: wrapping them on a per-run copy sees every failure the tool's own function
# turns into model text, and leaves the user's tool alone.
# First to break: tests/adapters/agents/test_fidelity.py::
# test_a_tool_with_its_own_failure_function_fails_masked


def watch_own_failures(tool: FunctionTool, note: Callable[[Any, Exception], None]) -> None:
    """On ``tool`` (a per-run copy): call ``note(tool_context, error)`` before the tool's
    own failure function (not the SDK's default one, which reports to the formatter)."""
    if getattr(tool, "_use_default_failure_error_function", True):
        return
    own = getattr(tool, "_failure_error_function", None)
    if own is None:  # failures raise: the run fails
        return

    def failure(context: Any, error: Exception) -> Any:
        note(context, error)
        return own(context, error)  # pyright: ignore[reportUnknownVariableType]

    tool._failure_error_function = failure  # pyright: ignore[reportPrivateUsage]


# --- a function tool's origin and display title: agents.tool (openai-agents 0.24.0) ------
# Relies on: ``get_function_tool_origin(tool)``, the ``ToolOrigin`` the SDK puts on the
# tool's run items (``function``; ``mcp`` with the server's name; ``agent_as_tool`` with
# the agent's name), and ``FunctionTool._mcp_title``, an MCP tool's display title (the
# run item's ``title``). Tool parts are begun from the model's events, before the run
# items: the labels are read from the tools themselves.
# First to break: tests/adapters/agents/test_tool_labels.py::
# test_mcp_tools_are_labelled_with_their_server_and_title


def tool_origin(tool: FunctionTool) -> tuple[str, str | None, str | None, str | None]:
    """``(origin type, MCP server name, agent name, display title)`` of ``tool``."""
    origin = get_function_tool_origin(tool)
    title = getattr(tool, "_mcp_title", None)
    if origin is None:
        return "function", None, None, title
    return str(origin.type.value), origin.mcp_server_name, origin.agent_name, title


# --- the tools of one turn: Agent.get_all_tools (openai-agents 0.24.0) --------------------
# Relies on: the run loop (and ``RunState.from_json``) getting the tools of a turn, MCP
# tools included, by calling ``agent.get_all_tools(run_context)`` on the agent it runs;
# an attribute of that name on the per-run view (``Agent`` is a plain dataclass) is what
# it calls. MCP tools are made anew by every call: only there does a run see them.
# First to break: tests/adapters/agents/test_fidelity.py::
# test_every_kind_of_tool_refuses_to_start_once_the_stream_is_cancelled


ToolsOfTurn = Callable[[Any], Awaitable[list[Any]]]


def see_run_tools(
    view: Agent[Any],
    change: Callable[[list[Any]], list[Any]],
    before: Callable[[], None] = lambda: None,
) -> None:
    """Make ``view`` (a per-run copy) hand each turn's tools through ``change``, calling
    ``before`` first (when the turn is about to read ``view.tools``)."""
    tools_of_turn = cast("ToolsOfTurn", view.get_all_tools)

    async def get_all_tools(run_context: Any) -> list[Any]:
        before()
        return change(await tools_of_turn(run_context))

    object.__setattr__(view, "get_all_tools", get_all_tools)


# --- every agent's tools of a turn: agents.Agent.get_all_tools (openai-agents 0.24.0) -----
# Relies on: the run loop reading a turn's tools through ``agent.get_all_tools(context)``
# for whatever agent it runs, the agent of a nested run included. ``Agent.as_tool`` runs
# the agent it was called on, the user's, from inside its own invoker, and no public seam
# gives that nested run another agent: the class's method is the one place its tools
# pass. The wrapper is installed once, and hands the list on unchanged outside a uiwire
# run (``change`` decides).
# First to break: tests/adapters/agents/test_channel.py::
# test_the_tools_of_an_agent_used_as_a_tool_are_guarded_copies


def see_every_agents_tools(change: Callable[[Agent[Any], list[Any]], list[Any]]) -> None:
    """Make every agent's ``get_all_tools`` hand its list through ``change(agent, tools)``
    (once per process; later calls keep the first ``change``)."""
    if getattr(Agent.get_all_tools, "_uiwire_change", None) is not None:
        return
    tools_of_turn = cast("Callable[[Agent[Any], Any], Awaitable[list[Any]]]", Agent.get_all_tools)

    async def get_all_tools(self: Agent[Any], run_context: Any) -> list[Any]:
        return change(self, await tools_of_turn(self, run_context))

    get_all_tools._uiwire_change = change  # type: ignore[attr-defined]
    Agent.get_all_tools = get_all_tools  # type: ignore[method-assign]


# --- a handoff's target: agents.handoffs (openai-agents 0.24.0) ---------------------------
# Relies on: ``Handoff._agent_ref``, the weak reference ``handoff()`` keeps to its target,
# which ``RunState.from_json`` follows to find the agent a paused run was in.
# First to break: tests/adapters/agents/test_fidelity.py::
# test_a_handoff_object_reaches_a_guarded_agent


def handoff_target(handoff: Handoff[Any, Any]) -> Agent[Any] | None:
    """The agent ``handoff`` was made for by ``handoff()``, if it is still there."""
    ref: Any = getattr(handoff, "_agent_ref", None)
    target: Any = ref() if callable(ref) else None
    return cast("Agent[Any]", target) if isinstance(target, Agent) else None


def point_handoff_at(handoff: Handoff[Any, Any], agent: Agent[Any]) -> None:
    """On ``handoff`` (a per-run copy): its target is ``agent``."""
    if getattr(handoff, "_agent_ref", None) is not None:
        handoff._agent_ref = weakref.ref(agent)  # pyright: ignore[reportPrivateUsage]


# --- the key a wrapped output type is written under: agents.agent_output (0.24.0) ---------
# Relies on: ``AgentOutputSchema._is_wrapped`` (True for an output type that is not a
# pydantic model or a dict: the model writes ``{"response": value}``) and the key,
# ``agents.agent_output._WRAPPER_DICT_KEY``. The structured output part shows the value
# unwrapped, and the history gives the model back the wrapped JSON it wrote.
# First to break: tests/adapters/agents/test_structured_output.py::
# test_a_list_output_type_streams_unwrapped_and_goes_back_wrapped


def output_wrapper(schema: Any) -> str | None:
    """The key ``schema`` (an ``AgentOutputSchemaBase``) has the model wrap its output
    in, or None when the model writes the value itself."""
    if not getattr(schema, "_is_wrapped", False):
        return None
    from agents.agent_output import _WRAPPER_DICT_KEY  # pyright: ignore[reportPrivateUsage]

    return _WRAPPER_DICT_KEY
