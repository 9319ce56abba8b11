"""The run channel's cancellation guards: a tool or a model request must not start once
the stream is cancelled, even in the loop step before the SDK's tasks learn of it."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from agents import Agent, FunctionTool, Handoff, RunContextWrapper, Runner, function_tool, handoff
from agents.testing import ScriptedModel, assistant_message, function_call

from tests.support.agents_scenarios import ForecastMCPServer, target_of
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


async def test_the_tools_of_an_agent_used_as_a_tool_are_guarded_copies() -> None:
    """``Agent.as_tool`` runs the user's agent in a nested run: in a uiwire run its turn's
    tools are guarded copies (one per tool for the run); outside one, the user's own."""
    inner = Agent(name="inner", tools=[lookup])
    run_view(Agent(name="outer", tools=[inner.as_tool(tool_name="ask", tool_description="")]))
    context = RunContextWrapper(context=None)
    assert await inner.get_all_tools(context) == [lookup]  # no uiwire run
    channel = RunChannel(asyncio.get_running_loop(), Cancelled())  # type: ignore[arg-type]
    token = set_channel(channel)
    try:
        (tool,) = await inner.get_all_tools(context)
        assert (await inner.get_all_tools(context))[0] is tool  # the run's one copy
        assert isinstance(tool, FunctionTool)
        assert tool is not lookup
        assert tool.name == "lookup"
        STARTED.clear()
        with pytest.raises(asyncio.CancelledError):
            await tool.on_invoke_tool(None, '{"city": "Paris"}')  # type: ignore[arg-type]
    finally:
        reset_channel(token)
    assert STARTED == []
    assert inner.tools == [lookup]
    assert "get_all_tools" not in vars(inner)
    assert channel.labels["inner", "lookup"].title


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


async def test_the_mcp_tools_of_a_turn_are_guarded_copies_and_the_users_agent_is_untouched() -> (
    None
):
    """tests/mcp/test_runner_calls_mcp.py's MCP agent: the tools its server lists for a
    turn reach the run as guarded copies; a cancelled run never calls the server."""
    server = ForecastMCPServer()
    agent = Agent(name="Forecaster", mcp_servers=[server])
    config = dict(agent.mcp_config)
    view = run_view(agent)
    context = RunContextWrapper(context=None)
    (tool,) = await view.get_all_tools(context)
    (users,) = await agent.get_all_tools(context)
    assert isinstance(tool, FunctionTool)
    assert isinstance(users, FunctionTool)
    assert tool.name == users.name == "get_forecast"
    assert tool.on_invoke_tool is not users.on_invoke_tool
    assert "get_all_tools" not in vars(agent)
    assert agent.mcp_config == config
    token = set_channel(RunChannel(asyncio.get_running_loop(), Cancelled()))  # type: ignore[arg-type]
    try:
        with pytest.raises(asyncio.CancelledError):
            await tool.on_invoke_tool(None, '{"city": "Oslo"}')  # type: ignore[arg-type]
    finally:
        reset_channel(token)
    assert server.calls == []


async def test_a_handoff_object_leads_to_the_view_of_its_agent_and_stays_the_users() -> None:
    """A ``handoff()`` object (tests/test_agent_runner_streamed.py::test_handoff_on_input):
    the view's copy hands off to the target's view, whose tools are guarded; the user's
    handoff still leads to the user's agent."""
    librarian = Agent(name="Librarian", tools=[lookup])
    to_librarian = handoff(librarian)
    agent = Agent(name="Desk", handoffs=[to_librarian])
    invoke = to_librarian.on_invoke_handoff
    view = run_view(agent)
    (copied,) = view.handoffs
    assert isinstance(copied, Handoff)
    assert copied is not to_librarian
    assert agent.handoffs == [to_librarian]
    assert to_librarian.on_invoke_handoff is invoke
    assert target_of(to_librarian) is librarian
    target = await copied.on_invoke_handoff(RunContextWrapper(context=None), "{}")
    assert target is not librarian
    assert target.name == "Librarian"
    assert target_of(copied) is target
    (tool,) = target.tools
    assert tool is not lookup
    assert await to_librarian.on_invoke_handoff(RunContextWrapper(context=None), "{}") is librarian
    STARTED.clear()
    token = set_channel(RunChannel(asyncio.get_running_loop(), Cancelled()))  # type: ignore[arg-type]
    try:
        with pytest.raises(asyncio.CancelledError):
            await tool.on_invoke_tool(None, '{"city": "Paris"}')  # type: ignore[arg-type]
    finally:
        reset_channel(token)
    assert STARTED == []


# --- steering -------------------------------------------------------------------------------


def _steering(text: str, id: str) -> Any:
    from uiwire.protocol import parse_steering_message

    return parse_steering_message({"id": id, "parts": [{"type": "text", "text": text}]})


async def test_each_model_call_gets_the_steering_so_far_at_its_place_and_a_user_filter_sees_it() -> (
    None
):
    from agents.run_config import CallModelData, ModelInputData, RunConfig

    from uiwire.adapters.agents._channel import _in_tool, instrumented  # pyright: ignore[reportPrivateUsage]
    from uiwire.stream import StreamContext

    seen: list[list[Any]] = []

    def user_filter(data: CallModelData[Any]) -> ModelInputData:
        seen.append(list(data.model_data.input))
        return data.model_data

    config = instrumented(RunConfig(call_model_input_filter=user_filter))
    model_filter = config.call_model_input_filter
    assert model_filter is not None
    ctx: StreamContext[Any] = StreamContext(target="v7")
    channel = RunChannel(asyncio.get_running_loop(), ctx)
    channel.steering = ctx
    agent: Agent[Any] = Agent(name="a")
    question = {"role": "user", "content": "Where is Paris?"}
    token = set_channel(channel)
    try:

        async def call(*items: Any) -> list[Any]:
            data = CallModelData(ModelInputData(list(items), None), agent, None)
            result = model_filter(data)
            return (await result if asyncio.iscoroutine(result) else result).input  # type: ignore[union-attr]

        assert await call(question) == [question]  # nothing waits
        ctx.steer(_steering("Texas", "s1"))
        first = {"role": "assistant", "content": "Looking."}
        assert await call(question, first) == [
            question,
            first,
            {"role": "user", "content": "Texas"},
        ]
        ctx.steer(_steering("Quickly", "s2"))
        second = {"role": "assistant", "content": "Still looking."}
        assert await call(question, first, second) == [
            question, first, {"role": "user", "content": "Texas"},
            second, {"role": "user", "content": "Quickly"},
        ]  # fmt: skip
        ctx.steer(_steering("Not for a nested run", "s3"))
        inside = _in_tool.set(True)  # a run a tool of this run starts (Agent.as_tool)
        try:
            assert await call(question) == [question]
        finally:
            _in_tool.reset(inside)
        assert ctx.pending_steering == 1  # left for the run's own next call
    finally:
        reset_channel(token)
    assert seen[-2][-1] == {"role": "user", "content": "Quickly"}  # the user's filter saw it
    ctx.disconnect()
