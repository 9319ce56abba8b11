"""What the client shows is what DSPy produced (issue 22, items 8-10, 12, 13; item 11 is
in ``test_run_ends.py``).

Each scenario comes from DSPy's own tests (named on each), rebuilt on the scripted model
server; the body is checked with the stream validator and the assembled message is
compared with the Prediction. The scenarios are in ``tests/support/dspy_scenarios.py``,
so the JS conformance corpus checks the same bodies with the real ``ai`` client.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import dspy
import pytest

from tests.support.dspy_scenarios import (
    SCENARIOS,
    XML,
    AnswerOrCallChat,
    Scenario,
    run_scenario,
    weather,
)
from tests.support.fake_llm import Reply, ToolCallReply, chat
from tests.support.messages import user
from tests.support.stream_rules import assert_valid_body
from uiwire.adapters.dspy import DSPyAdapter, to_dspy_inputs


@pytest.fixture(autouse=True)
def _quiet_expected_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="uiwire")


def shown(message: dict[str, Any]) -> list[tuple[str, Any]]:
    """The message's parts as (type, text or state), step starts left out."""
    return [
        (part["type"], part.get("text", part.get("state")))
        for part in message["parts"]
        if part["type"] != "step-start"
    ]


# --- 8. a None output field ---------------------------------------------------------------------


async def test_a_none_answer_is_no_text() -> None:
    # upstream tests/adapters (native function calling): a turn that only calls a tool
    # leaves the answer None
    outcome = await run_scenario(SCENARIOS["none-answer"])
    assert_valid_body(outcome.body)
    assert outcome.result.answer is None
    assert [c.name for c in outcome.result.tool_calls.tool_calls] == ["weather"]
    assert shown(outcome.record.message) == [("tool-weather", "input-available")]
    assert b"null" not in outcome.body


async def test_a_none_answer_is_not_fed_to_the_next_turn() -> None:
    native = {"adapter": dspy.ChatAdapter(use_native_function_calling=True)}
    tools = [dspy.Tool(weather)]
    first = await run_scenario(
        Scenario(
            lambda: dspy.Predict(AnswerOrCallChat),
            [Reply("", tool_calls=[ToolCallReply("weather", '{"city": "Paris"}', id="call_w")])],
            to_dspy_inputs([user("Weather in Paris?")]) | {"tools": tools},
            settings=native,
        )
    )
    asked = [user("Weather in Paris?"), first.record.message, user("And in Rome?", id="u2")]
    inputs = to_dspy_inputs(asked)
    assert inputs["history"].messages == [{"question": "Weather in Paris?", "answer": ""}]
    second = await run_scenario(
        Scenario(
            lambda: dspy.Predict(AnswerOrCallChat),
            [Reply(chat(answer="Sunny in Rome."))],
            inputs | {"tools": tools},
            settings=native,
        )
    )
    assert_valid_body(second.body)
    assert "null" not in json.dumps(second.requests[-1]["messages"])


# --- 9. XMLAdapter --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["xml-adapter", "xml-adapter-one-chunk"])
async def test_xml_values_are_shown_as_the_prediction_holds_them(name: str) -> None:
    # upstream tests/streaming: test_stream_listener_returns_correct_chunk_xml_adapter,
    # with a value XML escapes (an entity may be cut between two chunks), streamed in
    # 3-character pieces and whole in one chunk
    outcome = await run_scenario(SCENARIOS[name])
    assert_valid_body(outcome.body)
    result = outcome.result
    assert result.answer == 'R&D costs < 5% of revenue, "small" & steady.'
    expected = [("text", result.answer)]
    if "reasoning" in result:
        expected.insert(0, ("reasoning", result.reasoning))
    assert shown(outcome.record.message) == expected


async def test_xml_values_are_escaped_once_in_the_next_turns_history() -> None:
    program = "history: dspy.History, question -> answer"
    first = await run_scenario(
        Scenario(
            lambda: dspy.Predict(program),
            [Reply("<answer>\nR&amp;D costs &lt; 5%.\n</answer>")],
            to_dspy_inputs([user("How much goes to R&D?")]),
            settings=XML,
        )
    )
    assert first.record.text == first.result.answer == "R&D costs < 5%."
    asked = [user("How much goes to R&D?"), first.record.message, user("Is that a lot?", id="u2")]
    second = await run_scenario(
        Scenario(
            lambda: dspy.Predict(program),
            [Reply("<answer>\nNo.\n</answer>")],
            to_dspy_inputs(asked),
            settings=XML,
        )
    )
    prompt = json.dumps(second.requests[-1]["messages"])
    assert "R&amp;D costs &lt; 5%." in prompt  # DSPy's own escaping, once
    assert "&amp;amp;" not in prompt
    assert "&amp;lt;" not in prompt


# --- 10. chunks that are not text ------------------------------------------------------------------


async def test_a_custom_streamable_type_shows_its_value_not_reprs_or_markers() -> None:
    # upstream tests/streaming: test_streaming_allows_custom_streamable_type
    outcome = await run_scenario(SCENARIOS["custom-streamable-type"])
    assert_valid_body(outcome.body)
    assert outcome.result.answer.message == "HelloWorld"
    assert shown(outcome.record.message) == [("text", "HelloWorld")]
    assert b"message=" not in outcome.body
    assert b"[[" not in outcome.body


async def test_citations_become_source_documents_not_reprs() -> None:
    # upstream tests/streaming: test_streaming_with_citations (Anthropic's citations, here
    # as the model's text; the streamed kind is below)
    outcome = await run_scenario(SCENARIOS["citations"])
    assert_valid_body(outcome.body)
    result = outcome.result
    assert [c.document_title for c in result.citations.citations] == ["Physics Facts"]
    parts = [p for p in outcome.record.message["parts"] if p["type"] != "step-start"]
    assert [(p["type"], p.get("text") or p.get("title")) for p in parts] == [
        ("text", result.answer),
        ("source-document", "Physics Facts"),
    ]
    assert parts[1]["mediaType"] == "text/plain"
    assert b"cited_text" not in outcome.body


class StreamsCitations(dspy.Module):
    """Sends a Citations chunk into the stream as DSPy's listener does for a citation
    delta of Anthropic's API (the scripted server speaks OpenAI's, which has none)."""

    def __init__(self) -> None:
        super().__init__()
        from tests.support.dspy_scenarios import AnswerWithSources

        self.predict = dspy.Predict(AnswerWithSources)

    def forward(self, documents: Any, question: str) -> Any:
        import anyio
        from dspy.experimental import Citations
        from dspy.streaming import StreamResponse

        from tests.support.dspy_scenarios import CITED

        chunk = StreamResponse("predict", "citations", Citations.from_dict_list([CITED]), False)
        anyio.from_thread.run(dspy.settings.send_stream.send, chunk)
        return self.predict(documents=documents, question=question)


async def test_streamed_citations_become_one_source_per_document() -> None:
    citations = SCENARIOS["citations"]
    outcome = await run_scenario(
        Scenario(StreamsCitations, citations.script, citations.inputs, adapter=citations.adapter)
    )
    assert_valid_body(outcome.body)
    sources = [p for p in outcome.record.message["parts"] if p["type"] == "source-document"]
    assert [p["title"] for p in sources] == ["Physics Facts"]  # streamed, not again at the end


# --- 12. a program that overrides acall only ---------------------------------------------------------


async def test_a_program_with_only_acall_runs_async_without_being_told() -> None:
    # upstream tests/streaming: test_default_status_streaming_in_async_program
    adapter = DSPyAdapter(SCENARIOS["acall-only"].make_program())
    assert adapter.async_program
    outcome = await run_scenario(SCENARIOS["acall-only"])
    chunks = assert_valid_body(outcome.body)
    assert outcome.record.exception is None, repr(outcome.record.exception)
    assert outcome.record.text == outcome.result.answer == "Blue."
    (call,) = outcome.record.tool_calls
    assert (call.tool_name, call.output) == ("generate_question", "What color is the sky?")
    statuses = [c["data"]["message"] for c in chunks if c["type"] == "data-status"]
    assert statuses == [
        "Calling tool generate_question...",
        "Tool calling finished! Querying the LLM with tool calling results...",
    ]
    assert outcome.requests[-1]["messages"][-1]["content"].count("What color is the sky?") == 1


# --- 13. ReActV2 in text mode: a tool the agent does not have ------------------------------------------


async def test_react_v2_text_mode_shows_a_call_to_an_unknown_tool_as_native_mode_does() -> None:
    # upstream tests/predict/test_react_v2.py: an unknown tool name gets "Unknown tool:
    # <name>" as its result (is_error) and the loop goes on
    outcome = await run_scenario(SCENARIOS["react-v2-text-unknown-tool"])
    assert_valid_body(outcome.body)
    event = outcome.result.history.messages[0]["tool_calls"]
    (result,) = event.tool_call_results.tool_call_results
    assert (result.name, result.value, result.is_error) == (
        "forecast",
        "Unknown tool: forecast",
        True,
    )
    (call,) = outcome.record.tool_calls
    assert (call.tool_name, call.input, call.state) == (
        "forecast",
        {"city": "Paris"},
        "output-error",
    )
    part = next(p for p in outcome.record.message["parts"] if p["type"] == "tool-forecast")
    assert part["errorText"] == "Unknown tool: forecast"
    assert outcome.record.text == outcome.result.answer == "Unknown."
