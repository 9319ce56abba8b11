"""Tool parts carry what the Agents SDK knows of their tools (issue 22): a ``title`` and
``toolMetadata`` from the tool definitions, for the clients that take them (AI SDK 6
and 7); a v5 client gets neither, and every body passes that client's validator."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.agents_scenarios import (
    SCENARIOS,
    ForecastMCPServer,
    approved_mcp_call,
    hosted_mcp_round_trip,
    run_agent,
    run_scenario,
)
from tests.support.stream_rules import assert_valid_body, assert_valid_message
from uiwire.protocol.targets import Target


def labels(message: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """``{tool name: (title, toolMetadata)}`` of the message's tool parts."""
    return {
        p.get("toolName") or p["type"].removeprefix("tool-"): (
            p.get("title"),
            p.get("toolMetadata"),
        )
        for p in message["parts"]
        if p["type"].startswith("tool-") or p["type"] == "dynamic-tool"
    }


WEATHER = "Get the current weather in a city."


@pytest.mark.parametrize("target", ["v6", "v7"])
async def test_a_function_tool_is_titled_by_its_description(target: Target) -> None:
    """tests/test_agent_runner_streamed.py::test_tool_call_runs: the tool's docstring is
    its description; its summary line is the title."""
    outcome = await run_scenario("tools", target)
    message = assert_valid_message(outcome.body, target)
    assert labels(message) == {
        "get_weather": (WEATHER, {"origin": "function", "description": WEATHER})
    }
    assert labels(outcome.record.message) == labels(message)


@pytest.mark.parametrize("target", ["v6", "v7"])
async def test_mcp_tools_are_labelled_with_their_server_and_title(target: Target) -> None:
    """tests/mcp/test_runner_calls_mcp.py::test_runner_calls_mcp_tool: the MCP tool's own
    title, its description and its server; the run went through the run's copies, the
    user's agent is as it was."""
    agent = SCENARIOS["mcp-tool"].build()
    (server,) = agent.mcp_servers
    assert isinstance(server, ForecastMCPServer)
    config = dict(agent.mcp_config)
    outcome = await run_agent(agent, target=target)
    message = assert_valid_message(outcome.body, target)
    assert server.calls == ["get_forecast"]
    assert agent.mcp_config == config
    assert "get_all_tools" not in vars(agent)
    description = "Forecast the weather in a city.\nGives three days."
    assert labels(message) == {
        "get_forecast": (
            "Weather forecast",
            {"origin": "mcp", "description": description, "server": "weather_server"},
        )
    }


async def test_an_agent_used_as_a_tool_names_its_agent() -> None:
    """tests/test_agent_as_tool.py: the tool's description and the agent behind it."""
    outcome = await run_scenario("agent-as-tool")
    message = assert_valid_message(outcome.body)
    assert labels(message)["research"] == (
        "Research a question.",
        {"origin": "agent", "description": "Research a question.", "agent": "Researcher"},
    )


@pytest.mark.parametrize("scenario", ["handoff", "handoff-object"])
async def test_a_handoff_names_the_agent_it_hands_off_to(scenario: str) -> None:
    """tests/test_agent_runner_streamed.py::test_handoffs (an agent) and
    ::test_handoff_on_input (a ``handoff()`` object)."""
    outcome = await run_scenario(scenario)
    message = assert_valid_message(outcome.body)
    (name,) = [n for n in labels(message) if n.startswith("transfer_to_")]
    title, metadata = labels(message)[name]
    agent = "Billing" if scenario == "handoff" else "Librarian"
    assert metadata["origin"] == "handoff"
    assert metadata["agent"] == agent
    assert title == metadata["description"].splitlines()[0]


async def test_a_hosted_mcp_call_names_its_server() -> None:
    """tests/test_run_state.py's hosted MCP approval round trip."""
    first, second = await hosted_mcp_round_trip(approved_mcp_call(output="cancelled"))
    message = assert_valid_message(second.body, message=first.record.message)
    assert labels(message) == {"cancel_order": (None, {"origin": "mcp", "server": "shop"})}


@pytest.mark.parametrize("scenario", ["tools", "mcp-tool", "agent-as-tool", "handoff-object"])
async def test_a_v5_client_gets_no_title_or_tool_metadata(scenario: str) -> None:
    outcome = await run_scenario(scenario, "v5")
    chunks = assert_valid_body(outcome.body, "v5")
    assert not [c for c in chunks if "title" in c or "toolMetadata" in c]
    assert all(t == (None, None) for t in labels(outcome.record.message).values())
