"""The one door to the OpenAI Agents SDK's internals.

uiwire uses the SDK's public API directly: the names the top-level ``agents`` package
exports (``agents.__all__``), ``agents.tool_context`` (``ToolContext``, which the SDK's
guides import from there: user tools are written against it) and ``agents.testing``
(the SDK's documented test doubles, used by the demo). Everything else it relies on is
an entry here, saying what it relies on, the version it was checked against
(openai-agents 0.24.0) and the test that fails first when an upgrade changes it.
``tests/adapters/agents/test_compat.py`` checks every entry against the installed SDK
(run it first after an upgrade); ``tests/adapters/test_framework_internals.py`` fails if
any other module reaches past the public API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from agents import FunctionTool
from agents.items import TResponseStreamEvent
from agents.run_config import CallModelData, CallModelInputFilter, ModelInputData
from agents.strict_schema import ensure_strict_json_schema
from agents.tool import DEFAULT_APPROVAL_REJECTION_MESSAGE, default_tool_timeout_error_message

__all__ = [
    "DEFAULT_APPROVAL_REJECTION_MESSAGE",
    "CallModelData",
    "CallModelInputFilter",
    "ModelInputData",
    "TResponseStreamEvent",
    "ensure_strict_json_schema",
    "output_wrapper",
    "timeout_output",
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
