"""DSPyAdapter end to end: real DSPy programs, a scripted model server on loopback."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from typing import Any

import dspy
import pytest

from tests.support.context_scenarios import consume
from tests.support.dspy_scenarios import (
    SCENARIOS,
    TOOLS,
    WEATHER_TURNS,
    Scenario,
    lm,
    run_scenario,
    weather,
    weather_turns,
)
from tests.support.fake_llm import FakeLLM, Reply, ToolCallReply, chat
from tests.support.stream_rules import assert_valid_body
from uiwire.adapters.dspy import DSPyAdapter
from uiwire.stream import StreamContext


def parts(outcome: Any) -> list[dict[str, Any]]:
    return outcome.record.message["parts"]


def kinds(chunks: list[dict[str, Any]]) -> list[str]:
    """Chunk types with runs of deltas collapsed, for order assertions."""
    out: list[str] = []
    for chunk in chunks:
        if not (chunk["type"].endswith("-delta") and out and out[-1] == chunk["type"]):
            out.append(chunk["type"])
    return out


@pytest.fixture(autouse=True)
def _quiet_expected_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="uiwire")


@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_every_scenario_streams_a_valid_message(name: str) -> None:
    outcome = await run_scenario(SCENARIOS[name])
    for target in ("v6", "v7"):
        assert_valid_body(outcome.body, target)
    assert outcome.body.endswith(b"data: [DONE]\n\n")


async def test_predict_streams_the_answer_as_text_chunk_by_chunk() -> None:
    outcome = await run_scenario(SCENARIOS["predict"])
    chunks = assert_valid_body(outcome.body)
    deltas = [c["delta"] for c in chunks if c["type"] == "text-delta"]
    assert len(deltas) > 3  # streamed, not sent whole
    assert "".join(deltas) == "Paris is the capital of France."
    assert outcome.record.text == "Paris is the capital of France."
    assert outcome.requests[0]["stream"] is True
    assert outcome.record.finish_reason is None or outcome.record.finish_reason == "stop"


async def test_usage_goes_into_the_message_metadata_and_the_record() -> None:
    outcome = await run_scenario(SCENARIOS["predict"])
    usage = outcome.record.message["metadata"]["usage"]
    assert usage == {"inputTokens": 11, "outputTokens": 7, "totalTokens": 18}
    assert outcome.record.usage.input_tokens == 11
    assert outcome.record.usage.output_tokens == 7


async def test_chain_of_thought_reasoning_then_text_in_one_step() -> None:
    outcome = await run_scenario(SCENARIOS["chain-of-thought"])
    shown = [(p["type"], p.get("text")) for p in parts(outcome)]
    assert shown == [
        ("step-start", None),
        ("reasoning", "France's capital is well known."),
        ("text", "Paris."),
    ]


@pytest.mark.parametrize(
    ("name", "tool", "async_program"),
    [("react-sync-tool", "weather", False), ("react-async-tool", "aweather", True)],
)
async def test_react_one_step_per_model_call_with_the_real_tool_call(
    name: str, tool: str, async_program: bool
) -> None:
    scenario = SCENARIOS[name]
    assert DSPyAdapter(scenario.make_program()).async_program is async_program
    outcome = await run_scenario(scenario)
    chunks = assert_valid_body(outcome.body)
    assert kinds(chunks) == [
        "start",
        "start-step",
        "reasoning-start",
        "reasoning-delta",
        "reasoning-end",
        "tool-input-start",
        "tool-input-delta",
        "tool-input-available",
        "data-status",
        "tool-output-available",
        "data-status",
        "finish-step",
        "start-step",  # the finish turn: its thought shows, the finish tool does not
        "reasoning-start",
        "reasoning-delta",
        "reasoning-end",
        "finish-step",
        "start-step",  # the extract step
        "reasoning-start",
        "reasoning-delta",
        "reasoning-end",
        "text-start",
        "text-delta",
        "text-end",
        "message-metadata",
        "finish-step",
        "finish",
    ]
    streamed_args = "".join(c["inputTextDelta"] for c in chunks if c["type"] == "tool-input-delta")
    assert json.loads(streamed_args) == {"city": "Paris"}
    (call,) = outcome.record.tool_calls
    assert (call.tool_name, call.state, call.input, call.output) == (
        tool,
        "output-available",
        {"city": "Paris"},
        "Sunny in Paris",
    )
    assert outcome.record.steps == 3
    assert outcome.record.text == "It is sunny in Paris."


async def test_a_failing_tool_is_a_masked_tool_output_error_and_the_run_goes_on() -> None:
    outcome = await run_scenario(SCENARIOS["react-failing-tool"])
    assert b"secret internal detail" not in outcome.body
    (call,) = outcome.record.tool_calls
    assert call.tool_name == "broken_lookup"
    assert call.state == "output-error"
    assert call.input == {"term": "uiwire"}
    assert call.error_text == "An error occurred."
    assert outcome.record.text == "I could not find it."


async def test_tool_errors_can_be_shown_with_on_error() -> None:
    outcome = await run_scenario(
        SCENARIOS["react-failing-tool"], on_error=lambda exc: f"lookup failed: {type(exc).__name__}"
    )
    (call,) = outcome.record.tool_calls
    assert call.error_text == "lookup failed: RuntimeError"


async def test_native_reasoning_streams_as_reasoning_and_closes_when_the_answer_starts() -> None:
    outcome = await run_scenario(SCENARIOS["native-reasoning"])
    chunks = assert_valid_body(outcome.body)
    reasoning = "".join(c["delta"] for c in chunks if c["type"] == "reasoning-delta")
    assert reasoning == "The capital of France is Paris, clearly."
    order = kinds(chunks)
    assert order.index("reasoning-end") < order.index("text-start")
    assert outcome.record.text == "Paris."


async def test_native_tool_calls_stream_their_input_from_the_raw_deltas() -> None:
    outcome = await run_scenario(SCENARIOS["native-tool-calls"])
    chunks = assert_valid_body(outcome.body)
    starts = [(c["toolCallId"], c["toolName"]) for c in chunks if c["type"] == "tool-input-start"]
    assert starts == [("call_a", "weather"), ("call_b", "weather")]
    args: dict[str, str] = {}
    for c in chunks:
        if c["type"] == "tool-input-delta":
            args[c["toolCallId"]] = args.get(c["toolCallId"], "") + c["inputTextDelta"]
    assert {k: json.loads(v) for k, v in args.items()} == {
        "call_a": {"city": "Paris"},
        "call_b": {"city": "Rome"},
    }
    calls = {c.tool_call_id: (c.state, c.input) for c in outcome.record.tool_calls}
    assert calls == {
        "call_a": ("input-available", {"city": "Paris"}),
        "call_b": ("input-available", {"city": "Rome"}),
    }
    assert [c.name for c in outcome.result.tool_calls.tool_calls] == ["weather", "weather"]


async def test_native_tool_call_with_arguments_that_are_not_json_is_a_tool_input_error() -> None:
    scenario = Scenario(
        SCENARIOS["native-tool-calls"].make_program,
        [Reply("", tool_calls=[ToolCallReply("weather", '{"city": Par', id="call_bad")])],
        {"question": "Weather?"},
        settings=SCENARIOS["native-tool-calls"].settings,
    )
    with FakeLLM(scenario.script) as llm:
        adapter = DSPyAdapter(scenario.make_program())
        ctx: StreamContext[Any] = StreamContext(collect=True)
        with dspy.context(lm=lm(llm.base_url), **scenario.settings):
            ctx.run(lambda ctx: adapter.stream_into(ctx, **scenario.inputs))
        body = await consume(ctx)
        await ctx.wait_closed()
    chunks = assert_valid_body(body)
    errors = [c for c in chunks if c["type"] == "tool-input-error"]
    assert len(errors) == 1
    assert errors[0]["toolCallId"] == "call_bad"
    assert errors[0]["input"] == '{"city": Par'
    assert errors[0]["errorText"] == "The tool arguments are not valid JSON."
    # DSPy itself cannot parse the reply either: the stream still ends cleanly
    assert chunks[-1]["type"] in ("finish", "error")


async def test_a_cache_hit_streams_nothing_but_the_answer_still_arrives() -> None:
    outcome = await run_scenario(SCENARIOS["cache-hit"])
    assert len(outcome.requests) == 1  # the second run was served from DSPy's cache
    chunks = assert_valid_body(outcome.body)
    texts = [c["delta"] for c in chunks if c["type"] == "text-delta"]
    assert texts == ["A cached answer."]  # sent whole, from the Prediction
    shown = [(p["type"], p.get("text")) for p in parts(outcome)]
    assert ("reasoning", "Cached thinking.") in shown
    assert shown[-1] == ("text", "A cached answer.")


async def test_an_lm_error_ends_the_stream_with_a_masked_error() -> None:
    outcome = await run_scenario(SCENARIOS["lm-error"])
    chunks = assert_valid_body(outcome.body)
    assert chunks[-1] == {"type": "error", "errorText": "An error occurred."}
    assert b"scripted failure" not in outcome.body
    assert isinstance(outcome.record.exception, dspy.utils.exceptions.LMServerError)


async def test_parallel_inside_a_streamed_program_still_delivers_the_answer() -> None:
    outcome = await run_scenario(SCENARIOS["parallel"])
    assert outcome.record.text == "Paris, from two drafts."
    assert outcome.record.error_text is None
    drafts = [r for r in outcome.requests if "drafts" not in json.dumps(r["messages"])]
    assert len(drafts) == 2
    assert all(not r.get("stream") for r in drafts)  # pool threads cannot stream (dspy#9154)
    assert outcome.result.answer == "Paris, from two drafts."


async def test_status_messages_are_transient_data_parts_and_can_be_replaced_or_turned_off() -> None:
    base = SCENARIOS["react-sync-tool"]

    class Custom(dspy.streaming.StatusMessageProvider):
        def tool_start_status_message(self, instance: Any, inputs: dict[str, Any]) -> str:
            return f"Using {instance.name}"

        def tool_end_status_message(self, outputs: Any) -> None:
            return None

        def lm_start_status_message(self, instance: Any, inputs: dict[str, Any]) -> str:
            return "Thinking"

    async def statuses(status: Any) -> tuple[list[str], list[dict[str, Any]]]:
        scenario = Scenario(base.make_program, base.script, base.inputs, {"status": status})
        outcome = await run_scenario(scenario)
        chunks = assert_valid_body(outcome.body)
        found = [c for c in chunks if c["type"] == "data-status"]
        assert all(c["transient"] is True for c in found)
        return [c["data"]["message"] for c in found], parts(outcome)

    default, message_parts = await statuses(True)
    assert default == [
        "Calling tool weather...",
        "Tool calling finished! Querying the LLM with tool calling results...",
    ]
    assert all(p["type"] != "data-status" for p in message_parts)  # transient: not kept
    custom, _ = await statuses(Custom())
    assert custom == ["Thinking", "Using weather", "Thinking", "Thinking"]
    off, _ = await statuses(False)
    assert off == []


async def test_fields_can_be_rerouted_per_predictor() -> None:
    scenario = Scenario(
        SCENARIOS["react-sync-tool"].make_program,
        WEATHER_TURNS,
        {"question": "Weather in Paris?"},
        {"fields": {"react.next_thought": "text", "extract.predict.reasoning": "skip"}},
    )
    outcome = await run_scenario(scenario)
    shown = [
        (p["type"], p.get("text")) for p in parts(outcome) if p["type"] in ("text", "reasoning")
    ]
    assert shown == [
        ("text", "I should look up Paris."),
        ("text", "I have what I need."),
        ("text", "It is sunny in Paris."),
    ]


async def test_stream_into_shares_the_message_with_your_own_writes() -> None:
    with FakeLLM([Reply(chat(answer="Forty-two."))]) as llm:
        adapter = DSPyAdapter(dspy.Predict("question -> answer"))

        async def work(ctx: StreamContext[Any]) -> None:
            await ctx.write_data("retrieved", {"documents": 3})
            prediction = await adapter.stream_into(ctx, question="The answer?")
            await ctx.write_source("https://example.com/answers", title=prediction.answer)

        ctx: StreamContext[Any] = StreamContext(collect=True)
        with dspy.context(lm=lm(llm.base_url)):
            ctx.run(work)
        body = await consume(ctx)
    assert_valid_body(body)
    assert ctx.record is not None
    assert [p["type"] for p in ctx.record.message["parts"]] == [
        "data-retrieved",
        "step-start",
        "text",
        "source-url",
    ]
    assert ctx.record.sources[0]["title"] == "Forty-two."


async def test_stream_returns_a_running_context() -> None:
    with FakeLLM([Reply(chat(answer="Hi there."))]) as llm:
        adapter = DSPyAdapter(dspy.Predict("question -> answer"))
        with dspy.context(lm=lm(llm.base_url)):
            ctx = adapter.stream(question="Hello?")
        body = await consume(ctx)
    chunks = assert_valid_body(body)
    assert "".join(c["delta"] for c in chunks if c["type"] == "text-delta") == "Hi there."


async def test_one_adapter_serves_many_requests_with_fresh_listeners() -> None:
    """Reused listeners stream nothing (dspy#8425): every run must stream again."""
    answers = [f"Answer number {i}." for i in range(3)]
    with FakeLLM([Reply(chat(answer=a)) for a in answers]) as llm:
        adapter = DSPyAdapter(dspy.Predict("question -> answer"))
        bodies = []
        for _ in answers:
            with dspy.context(lm=lm(llm.base_url)):
                ctx = adapter.stream(question="Again?")
            bodies.append(await consume(ctx))
    for answer, body in zip(answers, bodies, strict=True):
        deltas = [c["delta"] for c in assert_valid_body(body) if c["type"] == "text-delta"]
        assert len(deltas) > 1
        assert "".join(deltas) == answer


async def test_stream_into_checks_its_context() -> None:
    adapter = DSPyAdapter(dspy.Predict("question -> answer"))
    with pytest.raises(TypeError, match=r"ctx must be a uiwire\.StreamContext"):
        await adapter.stream_into(object(), question="?")  # type: ignore[arg-type]


async def test_sync_program_tools_run_off_the_loop_thread() -> None:
    import threading

    loop_thread = threading.get_ident()
    seen: list[int] = []

    def where(city: str) -> str:
        """Report the weather."""
        seen.append(threading.get_ident())
        return weather(city)

    scenario = Scenario(
        lambda: dspy.ReAct("question -> answer", tools=[where], max_iters=4),
        weather_turns("where", "Oslo", "Look it up."),
        {"question": "Weather in Oslo?"},
    )
    assert DSPyAdapter(scenario.make_program()).async_program is False
    outcome = await run_scenario(scenario)
    assert_valid_body(outcome.body)
    assert seen
    assert loop_thread not in seen


async def test_many_sequential_runs_leave_no_tasks_behind() -> None:
    from tests.support.tasks import uiwire_tasks_left

    for _ in range(3):
        await run_scenario(SCENARIOS["react-async-tool"])
    assert await uiwire_tasks_left() == []
    assert asyncio.get_running_loop().is_running()
    assert TOOLS.calls  # the tools really ran


async def test_json_adapter_values_are_decoded_text() -> None:
    outcome = await run_scenario(SCENARIOS["json-adapter"])
    shown = [(p["type"], p.get("text")) for p in parts(outcome) if p["type"] != "step-start"]
    assert shown == [("reasoning", 'Quotes "inside" and\nnewlines.'), ("text", "Paris.")]
    assert outcome.result.reasoning == 'Quotes "inside" and\nnewlines.'


def left_out(name: str, *what: str) -> Scenario:
    return dataclasses.replace(SCENARIOS[name], adapter={"leave_out": set(what)})


@pytest.mark.parametrize("name", ["chain-of-thought", "native-reasoning"])
async def test_leave_out_reasoning_drops_it_and_keeps_the_answer(name: str) -> None:
    """The AI SDK's ``sendReasoning: false``: the reasoning field (a ChainOfThought's, a
    reasoning model's native one) is not sent; the answer is, as without it."""
    full = await run_scenario(SCENARIOS[name])
    assert [p for p in parts(full) if p["type"] == "reasoning"]
    outcome = await run_scenario(left_out(name, "reasoning"))
    chunks = assert_valid_body(outcome.body)
    assert not [c for c in chunks if c["type"].startswith("reasoning")]
    assert [p for p in parts(outcome) if p["type"] != "step-start"] == [
        p for p in parts(full) if p["type"] not in ("step-start", "reasoning")
    ]


async def test_leave_out_reasoning_wins_over_a_field_named_reasoning() -> None:
    scenario = dataclasses.replace(
        SCENARIOS["chain-of-thought"],
        adapter={"fields": {"reasoning": "reasoning"}, "leave_out": ["reasoning"]},
    )
    outcome = await run_scenario(scenario)
    assert [p["type"] for p in parts(outcome) if p["type"] != "step-start"] == ["text"]


async def test_leave_out_sources_drops_the_citations() -> None:
    """``sendSources: false``: ``dspy.Citations`` are not sent; the answer is."""
    full = await run_scenario(SCENARIOS["citations"])
    assert [p for p in parts(full) if p["type"] == "source-document"]
    outcome = await run_scenario(left_out("citations", "sources"))
    chunks = assert_valid_body(outcome.body)
    assert not [c for c in chunks if c["type"].startswith("source-")]
    assert outcome.record.text == full.record.text


@pytest.mark.parametrize("leave_out", ["reasoning", ["reasoning", "tools"], 3])
def test_leave_out_names_only_reasoning_and_sources_as_the_agents_adapter_does(
    leave_out: Any,
) -> None:
    with pytest.raises(ValueError, match="leave_out must hold only 'reasoning' and 'sources'"):
        DSPyAdapter(dspy.Predict("question -> answer"), leave_out=leave_out)
