"""The run channel's cancellation guards: a tool or a model request must not start once
the stream is cancelled, even in the loop step before the SDK's tasks learn of it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from agents import Agent, FunctionTool, Runner, function_tool
from agents.testing import ScriptedModel, assistant_message, function_call

from uiwire.adapters.agents import AgentsAdapter
from uiwire.adapters.agents._channel import RunChannel, reset_channel, run_view, set_channel

STARTED: list[str] = []


@function_tool
async def lookup(city: str) -> str:
    """Look a city up."""
    STARTED.append(city)
    return f"found {city}"


class Cancelled:
    cancelled = True


def test_a_runs_view_guards_copies_of_every_agents_tools_and_leaves_the_users_alone() -> None:
    @function_tool
    def other(x: int) -> int:
        """Another tool."""
        return x

    specialist = Agent(name="specialist", tools=[other])
    agent = Agent(name="triage", tools=[lookup], handoffs=[specialist])
    specialist.handoffs.append(agent)  # a cycle
    before = lookup.on_invoke_tool, other.on_invoke_tool
    AgentsAdapter(agent)
    view = run_view(agent)
    assert (lookup.on_invoke_tool, other.on_invoke_tool) == before  # nothing mutated
    assert agent.tools == [lookup]
    assert specialist.tools == [other]
    (tool,) = view.tools
    (handed,) = view.handoffs
    assert isinstance(handed, Agent)
    assert handed.name == "specialist"
    assert handed.handoffs == [view]  # the cycle stays inside the view
    assert tool is not lookup
    assert tool.name == "lookup"
    agent.tools.append(other)  # added later: the next run's view has it
    assert [t.name for t in run_view(agent).tools] == ["lookup", "other"]


async def test_a_guarded_tool_refuses_to_start_in_a_cancelled_run() -> None:
    (tool,) = run_view(Agent(name="a", tools=[lookup])).tools
    assert isinstance(tool, FunctionTool)
    STARTED.clear()
    token = set_channel(RunChannel(asyncio.get_running_loop(), Cancelled()))  # type: ignore[arg-type]
    try:
        with pytest.raises(asyncio.CancelledError):
            await tool.on_invoke_tool(None, '{"city": "Paris"}')  # type: ignore[arg-type]
    finally:
        reset_channel(token)
    assert STARTED == []


async def test_outside_a_uiwire_run_the_guard_does_nothing() -> None:
    model = ScriptedModel(
        [
            [function_call("lookup", {"city": "Oslo"}, call_id="c1")],
            [assistant_message("Oslo is found.")],
        ]
    )
    agent: Agent[Any] = run_view(Agent(name="a", tools=[lookup], model=model))
    STARTED.clear()
    result = await Runner.run(agent, "find Oslo")
    assert result.final_output == "Oslo is found."
    assert STARTED == ["Oslo"]
