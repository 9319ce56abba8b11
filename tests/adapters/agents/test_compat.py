"""Every entry of ``uiwire/adapters/agents/_compat.py`` still holds for the installed
openai-agents: run this first after upgrading it.

``test_the_sdk_still_has`` resolves each name an entry relies on without importing
``_compat`` (whose own import would fail at collection, naming less), so a vanished
name fails here with the entry that needs it. The other tests check that each entry
still does what the adapter relies on.
"""

from __future__ import annotations

import dataclasses
import importlib
from importlib import metadata
from typing import Any

import pytest
from agents import Agent, FunctionTool, RunConfig, function_tool

RELIED_ON: list[tuple[str, str, str]] = [
    # (module, attribute path in it, the _compat name that relies on it)
    ("agents.tool", "DEFAULT_APPROVAL_REJECTION_MESSAGE", "DEFAULT_APPROVAL_REJECTION_MESSAGE"),
    ("agents.strict_schema", "ensure_strict_json_schema", "ensure_strict_json_schema"),
    ("agents.run_config", "CallModelData.model_data", "CallModelData"),
    ("agents.run_config", "CallModelInputFilter", "CallModelInputFilter"),
    ("agents.run_config", "ModelInputData", "ModelInputData"),
    ("agents.run_config", "RunConfig.call_model_input_filter", "CallModelInputFilter"),
    ("agents.items", "TResponseStreamEvent", "TResponseStreamEvent"),
    ("agents.tool", "default_tool_timeout_error_message", "timeout_output"),
    ("agents.tool", "FunctionTool.timeout_seconds", "timeout_output"),
    ("agents.tool", "FunctionTool.timeout_behavior", "timeout_output"),
    ("agents.tool", "FunctionTool.timeout_error_function", "timeout_output"),
    ("agents.tool", "FunctionTool._failure_error_function", "watch_own_failures"),
    ("agents.tool", "FunctionTool._use_default_failure_error_function", "watch_own_failures"),
    ("agents.tool", "get_function_tool_origin", "tool_origin"),
    ("agents.tool", "FunctionTool._mcp_title", "tool_origin"),
    ("agents.agent", "Agent.get_all_tools", "see_run_tools"),
    ("agents.agent", "Agent.get_all_tools", "see_every_agents_tools"),
    ("agents.handoffs", "Handoff._agent_ref", "point_handoff_at"),
    ("agents.handoffs", "Handoff._agent_ref", "handoff_target"),
    ("agents.agent_output", "AgentOutputSchema._is_wrapped", "output_wrapper"),
    ("agents.agent_output", "_WRAPPER_DICT_KEY", "output_wrapper"),
]


def _version() -> str:
    return f"openai-agents {metadata.version('openai-agents')}"


@pytest.mark.parametrize(("module", "path", "entry"), RELIED_ON)
def test_the_sdk_still_has(module: str, path: str, entry: str) -> None:
    where = f"{module}.{path}"
    try:
        value: Any = importlib.import_module(module)
    except ImportError as exc:
        pytest.fail(f"{module} is gone ({_version()}: {exc}); _compat.{entry} relies on it")
    for part in path.split("."):
        if part not in dir(value) and part not in getattr(value, "__dataclass_fields__", {}):
            pytest.fail(f"{where} is gone ({_version()}); _compat.{entry} relies on it")
        value = getattr(value, part, None)


def test_every_compat_name_is_checked_here() -> None:
    from uiwire.adapters.agents import _compat

    assert {entry for _, _, entry in RELIED_ON} == set(_compat.__all__)


def test_the_rejection_message_is_text() -> None:
    from uiwire.adapters.agents._compat import DEFAULT_APPROVAL_REJECTION_MESSAGE

    assert isinstance(DEFAULT_APPROVAL_REJECTION_MESSAGE, str)
    assert DEFAULT_APPROVAL_REJECTION_MESSAGE.strip()


def test_ensure_strict_json_schema_makes_a_schema_strict() -> None:
    from uiwire.adapters.agents._compat import ensure_strict_json_schema

    strict = ensure_strict_json_schema(
        {"type": "object", "properties": {"city": {"type": "string"}}}
    )
    assert strict["additionalProperties"] is False
    assert strict["required"] == ["city"]


def test_the_model_input_filter_gets_call_model_data() -> None:
    from uiwire.adapters.agents._compat import CallModelData, ModelInputData

    fields = {f.name for f in dataclasses.fields(CallModelData)}
    assert "model_data" in fields
    assert {f.name for f in dataclasses.fields(ModelInputData)} >= {"input", "instructions"}
    assert "call_model_input_filter" in {f.name for f in dataclasses.fields(RunConfig)}


def test_the_stream_event_type_is_the_responses_event_union() -> None:
    from openai.types.responses import ResponseStreamEvent

    from uiwire.adapters.agents._compat import TResponseStreamEvent

    assert TResponseStreamEvent == ResponseStreamEvent


async def slow(city: str) -> str:
    """A tool."""
    return city


def test_timeout_output_is_the_sdks_text_only_when_the_sdk_sends_it() -> None:
    from uiwire.adapters.agents._compat import timeout_output

    def agent(**options: Any) -> Agent[Any]:
        tool = function_tool(slow, **options)
        assert isinstance(tool, FunctionTool)
        return Agent(name="a", tools=[tool])

    text = timeout_output(agent(timeout=2.5), "slow")
    assert text is not None
    assert "slow" in text
    assert "2.5" in text
    assert timeout_output(agent(timeout=2.5), "other") is None
    assert timeout_output(agent(), "slow") is None  # no timeout
    raising = agent(timeout=2.5, timeout_behavior="raise_exception")
    assert timeout_output(raising, "slow") is None  # the run fails instead

    def formatter(context: Any, error: Exception) -> str:
        return "mine"

    assert timeout_output(agent(timeout=2.5, timeout_error_function=formatter), "slow") is None


def test_output_wrapper_names_the_key_of_a_wrapped_output_type() -> None:
    from agents import AgentOutputSchema
    from pydantic import BaseModel

    from uiwire.adapters.agents._compat import output_wrapper

    class Report(BaseModel):
        city: str

    wrapped = AgentOutputSchema(list[str])
    assert output_wrapper(wrapped) == "response"
    assert wrapped.validate_json('{"response": ["a"]}') == ["a"]
    assert output_wrapper(AgentOutputSchema(Report)) is None
