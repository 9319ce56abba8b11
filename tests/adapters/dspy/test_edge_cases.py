"""DSPyAdapter at the edges a review found: results that are not Predictions, async-only
modules, agents calling tools they do not have, tool calls written as text, native
reasoning before a native call, JSONAdapter, fields that arrive in one chunk.

Real DSPy, the scripted model server (``FakeLLM``), streams checked with
``assert_valid_body``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import dspy
import pytest

from tests.support.context_scenarios import consume
from tests.support.dspy_scenarios import (
    WEATHER_TURNS,
    PlanTools,
    Scenario,
    lm,
    run_scenario,
    weather,
)
from tests.support.fake_llm import FakeLLM, Reply, ToolCallReply, chat
from tests.support.stream_rules import assert_valid_body
from uiwire.adapters.dspy import DSPyAdapter
from uiwire.stream import StreamContext

NATIVE = {"adapter": dspy.ChatAdapter(use_native_function_calling=True)}


@pytest.fixture(autouse=True)
def _quiet_expected_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="uiwire")


def kinds(chunks: list[dict[str, Any]]) -> list[str]:
    return [c["type"] for c in chunks]


# --- a program that returns something other than a Prediction ---------------------------------


class ReturnsDict(dspy.Module):
    """A custom module returning a plain dict (a str or a list hangs the same way)."""

    def __init__(self) -> None:
        super().__init__()
        self.respond = dspy.Predict("question -> answer")

    def forward(self, question: str) -> dict[str, str]:
        return {"answer": self.respond(question=question).answer}


@pytest.mark.timeout(60)
async def test_a_program_returning_a_dict_ends_the_stream_and_returns_the_dict() -> None:
    results: list[Any] = []
    with FakeLLM([Reply(chat(answer="Paris is the capital."))]) as llm:
        adapter = DSPyAdapter(ReturnsDict())

        async def work(ctx: StreamContext[Any]) -> None:
            results.append(await adapter.stream_into(ctx, question="Capital of France?"))

        ctx: StreamContext[Any] = StreamContext(collect=True)
        with dspy.context(lm=lm(llm.base_url)):
            ctx.run(work)
        try:
            body = await asyncio.wait_for(consume(ctx), timeout=10)
        finally:
            ctx.disconnect()  # a no-op once delivered; else cancels the stuck run
            await ctx.wait_closed()
    chunks = assert_valid_body(body)
    assert chunks[-1]["type"] == "finish"
    assert "".join(c["delta"] for c in chunks if c["type"] == "text-delta") == (
        "Paris is the capital."
    )
    assert results == [{"answer": "Paris is the capital."}]


# --- async-only module with a sync tool --------------------------------------------------------


class AsyncOnlyAgent(dspy.Module):
    """Only ``aforward`` (DSPy's async style); its ReAct has a sync tool."""

    def __init__(self) -> None:
        super().__init__()
        self.agent = dspy.ReAct("question -> answer", tools=[weather], max_iters=4)

    async def aforward(self, question: str) -> Any:
        return await self.agent.acall(question=question)


async def test_an_async_only_module_with_a_sync_tool_runs() -> None:
    outcome = await run_scenario(
        Scenario(AsyncOnlyAgent, WEATHER_TURNS, {"question": "Weather in Paris?"})
    )
    assert_valid_body(outcome.body)
    assert outcome.record.exception is None, repr(outcome.record.exception)
    assert outcome.record.text == "It is sunny in Paris."


# --- ReActV2 with native function calling: a tool name that is not in the tool list ------------


async def test_react_v2_call_to_an_unknown_tool_is_not_left_pending() -> None:
    scenario = Scenario(
        lambda: dspy.ReActV2("question -> answer", tools=[weather], max_iters=4),
        [
            Reply(
                chat(next_thought="Look it up."),
                tool_calls=[ToolCallReply("forecast", '{"city": "Paris"}', id="call_x")],
            ),
            Reply(
                chat(next_thought="Submit."),
                tool_calls=[ToolCallReply("submit", '{"answer": "Unknown."}', id="call_s")],
            ),
        ],
        {"question": "Weather in Paris?"},
        settings=NATIVE,
    )
    outcome = await run_scenario(scenario)
    assert_valid_body(outcome.body)
    assert outcome.record.text == "Unknown."
    (call,) = outcome.record.tool_calls
    assert call.tool_call_id == "call_x"
    # DSPy ran the call (its result is "Unknown tool: forecast", is_error=True): the
    # run is over, so the part must not wait for an output that never comes
    assert call.state == "output-error"


# --- dspy.ToolCalls without native function calling ---------------------------------------------


async def test_tool_calls_output_is_shown_without_native_function_calling() -> None:
    scenario = Scenario(
        PlanTools,
        [Reply(chat(tool_calls={"tool_calls": [{"name": "weather", "args": {"city": "Paris"}}]}))],
        {"question": "Weather in Paris?"},
    )
    outcome = await run_scenario(scenario)
    assert_valid_body(outcome.body)
    assert [c.name for c in outcome.result.tool_calls.tool_calls] == ["weather"]
    assert [(c.tool_name, c.input) for c in outcome.record.tool_calls] == [
        ("weather", {"city": "Paris"})
    ]


# --- native reasoning then a native tool call ---------------------------------------------------


async def test_native_reasoning_closes_when_the_native_tool_call_starts() -> None:
    scenario = Scenario(
        lambda: dspy.ReActV2("question -> answer", tools=[weather], max_iters=4),
        [
            Reply(
                "[[ ## completed ## ]]",
                reasoning="I need the weather for Paris first.",
                tool_calls=[ToolCallReply("weather", '{"city": "Paris"}', id="call_p")],
            ),
            Reply(
                "[[ ## completed ## ]]",
                reasoning="Now I can submit it.",
                tool_calls=[ToolCallReply("submit", '{"answer": "Sunny."}', id="call_s")],
            ),
        ],
        {"question": "Weather in Paris?"},
        settings=NATIVE,
        model="openai/o4-mini",
    )
    outcome = await run_scenario(scenario)
    order = kinds(assert_valid_body(outcome.body))
    assert order.index("reasoning-end") < order.index("tool-input-start")


# --- JSONAdapter ----------------------------------------------------------------------------------


async def test_json_adapter_streams_the_field_values_not_json_syntax() -> None:
    reply = json.dumps({"reasoning": "The tool said sunny.", "answer": "It is sunny in Paris."})
    scenario = Scenario(
        lambda: dspy.ChainOfThought("question -> answer"),
        [Reply(reply)],
        {"question": "Weather in Paris?"},
        settings={"adapter": dspy.JSONAdapter()},
    )
    outcome = await run_scenario(scenario)
    assert_valid_body(outcome.body)
    shown = [(p["type"], p.get("text")) for p in outcome.record.message["parts"]]
    assert shown == [
        ("step-start", None),
        ("reasoning", outcome.result.reasoning),
        ("text", outcome.result.answer),
    ]


# --- replies that arrive in one large chunk (DSPy's "cache hit" path) ------------------------------


class RewriteThenAnswer(dspy.Module):
    """Two ChainOfThought predictors: both have a ``reasoning`` field."""

    def __init__(self) -> None:
        super().__init__()
        self.rewrite = dspy.ChainOfThought("question -> query")
        self.respond = dspy.ChainOfThought("question, query -> answer")

    def forward(self, question: str) -> Any:
        query = self.rewrite(question=question).query
        return self.respond(question=question, query=query)


async def test_final_reasoning_is_sent_even_if_an_earlier_predictor_streamed_a_reasoning() -> None:
    scenario = Scenario(
        RewriteThenAnswer,
        [
            Reply(chat(reasoning="Rewrite it shorter.", query="capital of France")),
            # one chunk: DSPy streams nothing for it, the adapter must send it whole
            Reply(chat(reasoning="The capital is Paris, clearly.", answer="Paris."), piece=400),
        ],
        {"question": "What is the capital of France?"},
    )
    outcome = await run_scenario(scenario)
    assert_valid_body(outcome.body)
    reasoning = [p["text"] for p in outcome.record.message["parts"] if p["type"] == "reasoning"]
    assert reasoning == ["Rewrite it shorter.", "The capital is Paris, clearly."]
    assert outcome.record.text == "Paris."


@pytest.mark.parametrize("pieces", [(400, 400), (400, 3), (3, 400)], ids=str)
async def test_a_json_reply_in_one_chunk_keeps_an_earlier_predictors_fields(
    pieces: tuple[int, int],
) -> None:
    # DSPy's listener keeps a whole JSONAdapter reply queued, waiting for more: the
    # first predictor's reasoning is in no final Prediction, so it was lost
    scenario = Scenario(
        RewriteThenAnswer,
        [
            Reply(
                json.dumps({"reasoning": 'Say "capital" — shorter.', "query": "capital of France"}),
                piece=pieces[0],
            ),
            Reply(
                json.dumps({"reasoning": "The capital is Paris.\nClearly.", "answer": "Paris."}),
                piece=pieces[1],
            ),
        ],
        {"question": "What is the capital of France?"},
        settings={"adapter": dspy.JSONAdapter()},
    )
    outcome = await run_scenario(scenario)
    assert_valid_body(outcome.body)
    shown = [(p["type"], p.get("text")) for p in outcome.record.message["parts"]]
    assert shown == [
        ("step-start", None),
        ("reasoning", 'Say "capital" — shorter.'),
        ("step-start", None),
        ("reasoning", outcome.result.reasoning),
        ("text", outcome.result.answer),
    ]
    assert outcome.result.reasoning == "The capital is Paris.\nClearly."


async def test_reasoning_in_one_chunk_still_comes_before_the_answer() -> None:
    reply = chat(
        reasoning="France's capital is well known.",
        answer="Paris is the capital of France, as everyone knows.",
    )
    # the first chunk holds the whole reasoning section and the answer's header
    scenario = Scenario(
        lambda: dspy.ChainOfThought("question -> answer"),
        [Reply(reply, piece=74)],
        {"question": "What is the capital of France?"},
    )
    outcome = await run_scenario(scenario)
    assert_valid_body(outcome.body)
    shown = [p["type"] for p in outcome.record.message["parts"]]
    assert shown == ["step-start", "reasoning", "text"]


async def test_react_thoughts_in_one_chunk_replies_are_not_lost() -> None:
    scenario = Scenario(
        lambda: dspy.ReAct("question -> answer", tools=[weather], max_iters=4),
        [Reply(turn.text, piece=400) for turn in WEATHER_TURNS],
        {"question": "Weather in Paris?"},
    )
    outcome = await run_scenario(scenario)
    assert_valid_body(outcome.body)
    assert outcome.record.text == "It is sunny in Paris."
    reasoning = [p["text"] for p in outcome.record.message["parts"] if p["type"] == "reasoning"]
    assert reasoning == ["I should look up Paris.", "I have what I need.", "The tool said sunny."]
