"""AgentsAdapter on real ``agents`` runs driven by the SDK's ``ScriptedModel``."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
from agents import Agent, RunConfig, Runner, default_tool_error_function
from agents.run_config import ToolErrorFormatterArgs
from agents.testing import ScriptedModel, assistant_message, function_call

from tests.support.agents_http import close_clients, http_agent
from tests.support.agents_scenarios import (
    CITATIONS,
    HOSTED_ITEMS,
    SCENARIOS,
    TOOLS,
    run_agent,
    run_scenario,
    s_tool_errors,
    s_tools,
    search,
    weather_agent,
)
from tests.support.context_scenarios import consume
from tests.support.fake_llm import FakeLLM, Reply
from tests.support.stream_rules import assert_valid_body
from uiwire.adapters.agents import AgentsAdapter, agent_tool_progress
from uiwire.adapters.agents._translate import Translation
from uiwire.stream import StreamContext


def types(chunks: list[dict[str, Any]]) -> list[str]:
    return [c["type"] for c in chunks]


def parts(outcome: Any, kind: str) -> list[dict[str, Any]]:
    return [p for p in outcome.record.message["parts"] if p["type"] == kind]


@pytest.fixture(autouse=True)
def _clear_tools() -> None:
    TOOLS.clear()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_every_scenario_streams_valid(name: str) -> None:
    outcome = await run_scenario(name)
    chunks = assert_valid_body(outcome.body)
    assert chunks[0] == {"type": "start", "messageId": outcome.record.message_id}


async def test_one_step_per_model_call_with_reasoning_tool_and_text() -> None:
    outcome = await run_agent(s_tools())
    chunks = assert_valid_body(outcome.body)
    assert types(chunks).count("start-step") == 2
    first_step = types(chunks)[: types(chunks).index("finish-step")]
    # the tool's output belongs to the model call that asked for it
    assert first_step[-1] == "tool-output-available"
    assert [t for t in first_step if t.startswith("reasoning")] == [
        "reasoning-start",
        "reasoning-delta",
        "reasoning-end",
    ]
    (tool,) = parts(outcome, "tool-get_weather")
    assert tool["state"] == "output-available"
    assert tool["input"] == {"city": "Paris"}
    assert tool["output"] == "Sunny in Paris"
    assert outcome.record.text == "It is sunny in Paris."
    assert parts(outcome, "reasoning")[0]["text"].startswith("The user wants")
    assert TOOLS.names() == ["get_weather"]


async def test_usage_accumulates_into_metadata_and_record() -> None:
    outcome = await run_agent(s_tools())
    chunks = assert_valid_body(outcome.body)
    metadata = [c["messageMetadata"]["usage"] for c in chunks if c["type"] == "message-metadata"]
    assert metadata == [
        {"inputTokens": 12, "outputTokens": 8, "totalTokens": 20},
        {"inputTokens": 42, "outputTokens": 14, "totalTokens": 56},
    ]
    assert outcome.record.usage.total_tokens == 56
    assert outcome.record.message["metadata"]["usage"]["totalTokens"] == 56


async def test_tool_that_raised_is_an_error_masked_while_the_model_sees_the_sdk_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    agent = s_tool_errors()
    model = agent.model
    assert isinstance(model, ScriptedModel)
    with caplog.at_level(logging.ERROR, logger="uiwire"):
        outcome = await run_agent(agent)
    assert_valid_body(outcome.body)
    (broken,) = parts(outcome, "tool-broken_lookup")
    assert broken["state"] == "output-error"
    assert broken["errorText"] == "An error occurred."
    assert b"secret internal detail" not in outcome.body
    assert "secret internal detail" in caplog.text  # logged server-side, with the traceback
    # what the model was given is unchanged: the SDK's default failure text (its wording
    # changes between releases, so it is asked for the text it makes of the tool's error)
    sent = model.calls[1].input
    outputs = [i for i in sent if isinstance(i, dict) and i.get("type") == "function_call_output"]
    sdk_text = default_tool_error_function(None, RuntimeError("secret internal detail about x"))
    assert sdk_text.startswith("An error occurred while running the tool.")
    assert {o["call_id"]: o["output"] for o in outputs}["call_b1"] == sdk_text


async def test_invalid_json_arguments_are_a_tool_input_error_and_get_no_output() -> None:
    outcome = await run_agent(s_tool_errors())
    chunks = assert_valid_body(outcome.body)
    (bad,) = [
        c
        for c in chunks
        if c.get("toolCallId") == "call_bad"
        and c["type"] != "tool-input-start"
        and c["type"] != "tool-input-delta"
    ]
    assert bad["type"] == "tool-input-error"
    assert bad["input"] == '{"city": '
    assert "not valid JSON" in bad["errorText"]
    assert parts(outcome, "tool-get_weather")[0]["state"] == "output-error"
    assert "get_weather" not in TOOLS.names()


async def test_the_users_tool_error_formatter_still_decides_what_the_model_sees() -> None:
    seen: list[str] = []

    def formatter(args: ToolErrorFormatterArgs[Any]) -> str:
        seen.append(args.kind)
        return f"custom: {args.tool_name} failed"

    agent = s_tool_errors()
    model = agent.model
    assert isinstance(model, ScriptedModel)
    outcome = await run_agent(agent, run_config=RunConfig(tool_error_formatter=formatter))
    assert parts(outcome, "tool-broken_lookup")[0]["state"] == "output-error"
    outputs = {
        i["call_id"]: i["output"]
        for i in model.calls[1].input
        if isinstance(i, dict) and i.get("type") == "function_call_output"
    }
    assert outputs["call_b1"] == "custom: broken_lookup failed"
    assert seen
    assert set(seen) == {"tool_exception"}


async def test_refusal_is_shown_then_ends_as_a_masked_error() -> None:
    outcome = await run_scenario("refusal")
    chunks = assert_valid_body(outcome.body)
    assert outcome.record.text == "I can't help with that."
    assert chunks[-1] == {"type": "error", "errorText": "An error occurred."}
    assert type(outcome.record.exception).__name__ == "ModelRefusalError"


@pytest.mark.parametrize(
    ("name", "exception"),
    [("max-turns", "MaxTurnsExceeded"), ("guardrail", "InputGuardrailTripwireTriggered")],
)
async def test_run_failures_end_as_a_masked_error(name: str, exception: str) -> None:
    outcome = await run_scenario(name)
    chunks = assert_valid_body(outcome.body)
    assert chunks[-1] == {"type": "error", "errorText": "An error occurred."}
    assert type(outcome.record.exception).__name__ == exception
    assert outcome.record.error_text == "An error occurred."


async def test_unknown_tool_is_a_model_error() -> None:
    agent = weather_agent(steps=[[function_call("nope", {}, call_id="call_x")]])
    outcome = await run_agent(agent)
    chunks = assert_valid_body(outcome.body)
    assert chunks[-1]["type"] == "error"
    assert type(outcome.record.exception).__name__ == "ModelBehaviorError"


async def test_handoff_is_a_tool_part_and_names_the_new_agent() -> None:
    outcome = await run_scenario("handoff")
    assert_valid_body(outcome.body)
    (handoff,) = parts(outcome, "tool-transfer_to_billing")
    assert handoff["state"] == "output-available"
    assert handoff["output"] == {"assistant": "Billing"}
    agents = [p["data"]["name"] for p in parts(outcome, "data-agent")]
    assert agents == ["Triage", "Billing"]
    message_types = [p["type"] for p in outcome.record.message["parts"]]
    assert message_types.index("data-agent", 1) > message_types.index("tool-transfer_to_billing")
    assert outcome.record.text == "Your invoice is paid."


async def test_agent_as_tool_streams_its_run_as_preliminary_output() -> None:
    outcome = await run_scenario("agent-as-tool")
    chunks = assert_valid_body(outcome.body)
    outputs = [c for c in chunks if c.get("toolCallId") == "call_r1" and "output" in c]
    preliminary = [c["output"] for c in outputs if c.get("preliminary")]
    assert len(preliminary) >= 2
    last = preliminary[-1]
    assert last["role"] == "assistant"
    nested_types = [p["type"] for p in last["parts"]]
    assert "tool-get_weather" in nested_types
    nested_tool = next(p for p in last["parts"] if p["type"] == "tool-get_weather")
    assert nested_tool["output"] == "Sunny in Rome"
    assert outputs[-1] == {
        "type": "tool-output-available",
        "toolCallId": "call_r1",
        "output": "Rome is sunny.",
    }
    # the nested call never leaks into the outer message as its own part
    assert "tool-get_weather" not in [p["type"] for p in outcome.record.message["parts"]]


async def test_tools_write_progress_data_and_sources_after_their_input() -> None:
    outcome = await run_scenario("tool-stream")
    chunks = assert_valid_body(outcome.body)
    kinds = types(chunks)
    s1_input = next(
        i
        for i, c in enumerate(chunks)
        if c["type"] == "tool-input-available" and c["toolCallId"] == "call_s1"
    )
    assert kinds.index("data-hits") > s1_input
    assert kinds.index("source-url") > s1_input
    progress = [c for c in chunks if c.get("preliminary")]
    assert {c["toolCallId"] for c in progress} == {"call_s1", "call_s2"}
    assert parts(outcome, "data-hits")[0]["data"] == {"count": 2}
    assert parts(outcome, "source-url")[0]["url"] == "https://example.com/weather"
    assert parts(outcome, "tool-sync_search")[0]["output"] == "archive: 1999"


async def test_tool_writes_wait_for_the_calls_input_when_the_reader_lags(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The SDK runs a tool as soon as the model call completes; a slow reader may not
    have sent the call's input yet. The tool's writes must still come after it."""
    order: list[str] = []
    handle = Translation.handle

    async def lagging(self: Translation, event: Any) -> None:
        data = getattr(event, "data", None)
        if getattr(data, "type", None) == "response.output_item.done":
            await asyncio.sleep(0.1)  # the run loop goes on and starts the tool
            await handle(self, event)
            order.append(f"input sent, tools run so far: {TOOLS.names()}")
            return
        await handle(self, event)

    monkeypatch.setattr(Translation, "handle", lagging)
    agent = Agent(
        name="Lagging",
        tools=[search],
        model=ScriptedModel(
            [
                [function_call("search", {"query": "q"}, call_id="call_lag")],
                [assistant_message("ok")],
            ]
        ),
    )
    outcome = await run_agent(agent)
    assert order[0] == "input sent, tools run so far: ['search']"  # the lag was real
    chunks = assert_valid_body(outcome.body)
    kinds = [(c["type"], c.get("toolCallId")) for c in chunks]
    input_at = kinds.index(("tool-input-available", "call_lag"))
    assert kinds.index(("tool-output-available", "call_lag")) > input_at
    assert kinds.index(("data-hits", None)) > input_at


async def test_stream_into_leaves_the_stream_open_for_more_writes() -> None:
    adapter = AgentsAdapter(s_tools())
    ctx: StreamContext[Any] = StreamContext(collect=True)

    async def work(ctx: StreamContext[Any]) -> None:
        result = await adapter.stream_into(ctx, "weather?")
        await ctx.write_data("final", {"output": result.final_output})

    ctx.run(work)
    chunks = assert_valid_body(await consume(ctx))
    assert {"type": "data-final", "data": {"output": "It is sunny in Paris."}} in chunks[-3:]


async def test_a_result_started_elsewhere_streams_but_tool_failures_look_like_outputs() -> None:
    agent = s_tool_errors()
    result = Runner.run_streamed(agent, "q")
    ctx = AgentsAdapter(agent).stream(result)
    chunks = assert_valid_body(await consume(ctx))
    outputs = {c["toolCallId"]: c for c in chunks if c["type"].startswith("tool-output")}
    # without uiwire's formatter in the run, the failure is indistinguishable
    assert outputs["call_b1"]["type"] == "tool-output-available"
    assert result.final_output == "Sorry, both failed."


async def test_stream_returns_a_running_context() -> None:
    ctx = AgentsAdapter(weather_agent()).stream("weather?")
    chunks = assert_valid_body(await consume(ctx))
    assert chunks[-1] == {"type": "finish"}


def test_constructor_validates_its_arguments() -> None:
    agent = weather_agent()
    with pytest.raises(TypeError, match=r"agent must be an agents\.Agent"):
        AgentsAdapter("agent")  # pyright: ignore[reportArgumentType]
    with pytest.raises(TypeError, match="run_config"):
        AgentsAdapter(agent, run_config={})  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValueError, match="max_turns"):
        AgentsAdapter(agent, max_turns=0)
    with pytest.raises(TypeError, match="approvals must be an ApprovalStore"):
        AgentsAdapter(agent, approvals=object())  # pyright: ignore[reportArgumentType]
    with pytest.raises(ValueError, match="approval_ttl"):
        AgentsAdapter(agent, approval_ttl=0)


async def test_bad_input_is_refused_before_anything_runs() -> None:
    adapter = AgentsAdapter(weather_agent())
    with pytest.raises(TypeError, match="input must be a string"):
        adapter.stream(42)
    with pytest.raises(TypeError, match=r"ctx must be a uiwire\.StreamContext"):
        await adapter.stream_into(object(), "q")  # pyright: ignore[reportArgumentType]


async def test_leave_out_reasoning_drops_it_and_keeps_the_rest() -> None:
    """The AI SDK's ``toUIMessageStream({sendReasoning: false})``: the tool call and the
    answer stay, the model's reasoning summary is not sent."""
    full = await run_agent(weather_agent())
    assert parts(full, "reasoning")
    outcome = await run_agent(weather_agent(), leave_out={"reasoning"})
    chunks = assert_valid_body(outcome.body)
    assert not [c for c in chunks if c["type"].startswith("reasoning")]
    assert parts(outcome, "reasoning") == []
    assert [p["type"] for p in outcome.record.message["parts"]] == [
        p["type"] for p in full.record.message["parts"] if p["type"] != "reasoning"
    ]


async def test_leave_out_sources_drops_the_models_citations() -> None:
    """``sendSources: false``: the citations of the model's text (the hosted tools run)
    are not sent; the text and the hosted calls are."""
    reply = Reply(text="Sunny. Refunds: 30 days.", items=HOSTED_ITEMS, annotations=CITATIONS)
    try:
        with FakeLLM([reply, reply]) as llm:
            full = await run_agent(http_agent(llm))
            outcome = await run_agent(http_agent(llm), leave_out=["sources"])
    finally:
        await close_clients()
    assert parts(full, "source-url")
    assert parts(full, "source-document")
    chunks = assert_valid_body(outcome.body)
    assert not [c for c in chunks if c["type"].startswith("source-")]
    kept = [p["type"] for p in full.record.message["parts"] if not p["type"].startswith("source")]
    assert [p["type"] for p in outcome.record.message["parts"]] == kept


@pytest.mark.parametrize("leave_out", ["reasoning", ["reasoning", "tools"]])
def test_leave_out_names_only_reasoning_and_sources(leave_out: Any) -> None:
    with pytest.raises(ValueError, match="leave_out must hold only 'reasoning' and 'sources'"):
        AgentsAdapter(weather_agent(), leave_out=leave_out)


async def test_leave_out_reasoning_holds_inside_an_agent_used_as_a_tool() -> None:
    """The nested run's message (the call's preliminary outputs) leaves it out too."""
    researcher = weather_agent().clone(name="Researcher")
    tool = researcher.as_tool(
        tool_name="research", tool_description="Research.", on_stream=agent_tool_progress
    )
    lead = Agent(
        name="Lead",
        tools=[tool],
        model=ScriptedModel(
            [
                [function_call("research", {"input": "Paris"}, call_id="call_r1")],
                [assistant_message("Sunny, says the researcher.")],
            ]
        ),
    )
    outcome = await run_agent(lead, leave_out={"reasoning"})
    chunks = assert_valid_body(outcome.body)
    nested = [c["output"] for c in chunks if c.get("preliminary")]
    assert nested
    assert [p["type"] for p in nested[-1]["parts"] if p["type"] != "step-start"] == [
        "data-agent",
        "tool-get_weather",
        "text",
    ]


@pytest.mark.parametrize("mode", ["after_turn", "immediate"])
async def test_a_graceful_stop_lets_the_turn_finish_and_starts_no_other(mode: str) -> None:
    """``ctx.stop("after_turn")`` while a tool runs: the SDK's ``cancel(mode=
    "after_turn")`` lets the tool finish and asks the model nothing more; the stream ends
    with ``abort`` and keeps the turn. A stop at once cancels the tool."""
    ctx: StreamContext[Any] = StreamContext(collect=True, target="v7")
    finished: list[str] = []

    async def lookup(city: str) -> str:
        """Look a city up."""
        ctx.stop(mode)  # type: ignore[arg-type]
        await asyncio.sleep(0.05)
        finished.append(city)
        return f"found {city}"

    from agents import function_tool

    model = ScriptedModel(
        [
            [function_call("lookup", {"city": "Oslo"}, call_id="c1")],
            [assistant_message("Oslo is found.")],  # the turn a graceful stop never starts
        ]
    )
    agent: Agent[Any] = Agent(name="a", tools=[function_tool(lookup)], model=model)
    adapter = AgentsAdapter(agent)
    ctx.run(lambda ctx: adapter.stream_into(ctx, "find Oslo"))
    chunks = assert_valid_body(await consume(ctx), target="v7")
    await ctx.wait_closed()
    record = ctx.record
    assert record is not None
    assert chunks[-1]["type"] == "abort"
    (call,) = [p for p in record.message["parts"] if p["type"] == "tool-lookup"]
    if mode == "after_turn":
        assert chunks[-1].get("reason") == "stopped after the turn"
        assert finished == ["Oslo"]
        assert call["state"] == "output-available"
        assert call["output"] == "found Oslo"
    else:
        assert finished == []
        assert call["state"] != "output-available"
    assert "Oslo is found." not in str(record.message)  # no second model call
