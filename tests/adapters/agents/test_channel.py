"""The run channel's cancellation guards: a tool or a model request must not start once
the stream is cancelled, even in the loop step before the SDK's tasks learn of it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from agents import Agent, Runner, function_tool
from agents.testing import ScriptedModel, assistant_message, function_call

from uiwire.adapters.agents import AgentsAdapter
from uiwire.adapters.agents._channel import RunChannel, guard_tools, reset_channel, set_channel

STARTED: list[str] = []


@function_tool
async def lookup(city: str) -> str:
    """Look a city up."""
    STARTED.append(city)
    return f"found {city}"


class Cancelled:
    cancelled = True


def test_tools_of_the_agent_and_its_handoffs_are_guarded_once() -> None:
    @function_tool
    def other(x: int) -> int:
        """Another tool."""
        return x

    specialist = Agent(name="specialist", tools=[other])
    agent = Agent(name="triage", tools=[lookup], handoffs=[specialist])
    AgentsAdapter(agent)
    first = lookup.on_invoke_tool, other.on_invoke_tool
    AgentsAdapter(agent)  # a second adapter does not wrap twice
    assert (lookup.on_invoke_tool, other.on_invoke_tool) == first
    assert all(getattr(f, "__uiwire_guarded__", False) for f in first)


async def test_a_guarded_tool_refuses_to_start_in_a_cancelled_run() -> None:
    agent = Agent(name="a", tools=[lookup])
    guard_tools(agent)
    STARTED.clear()
    token = set_channel(RunChannel(asyncio.get_running_loop(), Cancelled()))  # type: ignore[arg-type]
    try:
        with pytest.raises(asyncio.CancelledError):
            await lookup.on_invoke_tool(None, '{"city": "Paris"}')  # type: ignore[arg-type]
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
    agent: Agent[Any] = Agent(name="a", tools=[lookup], model=model)
    guard_tools(agent)
    STARTED.clear()
    result = await Runner.run(agent, "find Oslo")
    assert result.final_output == "Oslo is found."
    assert STARTED == ["Oslo"]
