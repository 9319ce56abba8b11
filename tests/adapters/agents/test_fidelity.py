"""What the client assembles is what the Agents SDK produced (issue 22): scenarios of the
SDK's own tests (openai-agents 0.24.0), streamed through ``AgentsAdapter``, the message
compared with the run's ``new_items`` and ``final_output``."""

from __future__ import annotations

from typing import Any

from agents import ItemHelpers, MessageOutputItem, ToolCallOutputItem

from tests.support.agents_scenarios import TOOLS, Outcome, run_scenario
from tests.support.stream_rules import assert_valid_body
from uiwire.adapters.agents._translate import SUPERSEDED_CALL_TEXT


def texts(outcome: Outcome) -> list[str]:
    return [p["text"] for p in outcome.record.message["parts"] if p["type"] == "text"]


def sdk_texts(outcome: Outcome) -> list[str]:
    """The run's message items, as the SDK reads their text (refusals as their text)."""
    return [
        ItemHelpers.text_message_output(item)
        or "".join(getattr(c, "refusal", "") for c in item.raw_item.content)
        for item in outcome.result.new_items
        if isinstance(item, MessageOutputItem)
    ]


def tool_parts(outcome: Outcome) -> list[dict[str, Any]]:
    return [p for p in outcome.record.message["parts"] if p["type"].startswith("tool-")]


async def test_a_max_turns_handlers_answer_reaches_the_client_and_the_record() -> None:
    outcome = await run_scenario("recovered-max-turns")
    assert_valid_body(outcome.body)
    assert outcome.result.final_output == "summary"
    assert texts(outcome) == sdk_texts(outcome) == ["summary"]
    assert outcome.record.text == "summary"


async def test_an_invalid_final_outputs_fallback_follows_the_rejected_text() -> None:
    outcome = await run_scenario("recovered-invalid-output")
    assert_valid_body(outcome.body)
    assert outcome.result.final_output.summary == "safe fallback"
    assert texts(outcome) == sdk_texts(outcome)
    assert texts(outcome) == ["not valid json", '{"summary":"safe fallback"}']


async def test_a_refusal_handlers_answer_follows_the_refusal() -> None:
    outcome = await run_scenario("recovered-refusal")
    assert_valid_body(outcome.body)
    assert outcome.result.final_output == "safe fallback"
    assert texts(outcome) == sdk_texts(outcome)
    assert texts(outcome) == ["I cannot help with that request.", "safe fallback"]


async def test_a_model_without_response_created_keeps_every_model_call() -> None:
    TOOLS.clear()
    outcome = await run_scenario("no-response-created")
    chunks = assert_valid_body(outcome.body)
    assert [c["type"] for c in chunks].count("start-step") == 2
    (call,) = tool_parts(outcome)
    (sdk_output,) = [i for i in outcome.result.new_items if isinstance(i, ToolCallOutputItem)]
    assert call["state"] == "output-available"
    assert call["output"] == sdk_output.output == "Sunny in Paris"
    assert texts(outcome) == sdk_texts(outcome) == ["It is sunny in Paris."]


async def test_a_call_the_final_response_left_out_fails_and_its_answer_shows() -> None:
    TOOLS.clear()
    outcome = await run_scenario("final-response-differs")
    assert_valid_body(outcome.body)
    assert TOOLS.names() == []  # the SDK ran nothing
    (call,) = tool_parts(outcome)
    assert call["state"] == "output-error"
    assert call["errorText"] == SUPERSEDED_CALL_TEXT
    assert outcome.result.final_output == "done"
    assert texts(outcome) == sdk_texts(outcome) == ["done"]
