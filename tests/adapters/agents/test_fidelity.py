"""What the client assembles is what the Agents SDK produced (issue 22): scenarios of the
SDK's own tests (openai-agents 0.24.0), streamed through ``AgentsAdapter``, the message
compared with the run's ``new_items`` and ``final_output``."""

from __future__ import annotations

from typing import Any

import pytest
from agents import (
    Agent,
    Handoff,
    ItemHelpers,
    MessageOutputItem,
    OutputGuardrailTripwireTriggered,
    ToolCallOutputItem,
)
from openai.types.responses.mcp_tool_call_error import McpProtocolError

from tests.support.agents_scenarios import (
    HANDOFF_INPUTS,
    SCENARIOS,
    TOOLS,
    Outcome,
    approved_mcp_call,
    guarded_lookup,
    hosted_mcp_round_trip,
    nested_approval_rounds,
    run_agent,
    run_scenario,
    target_of,
)
from tests.support.stream_rules import assert_valid_body
from uiwire.adapters.agents import AgentsAdapter, to_agent_input
from uiwire.adapters.agents._translate import SUPERSEDED_CALL_TEXT


def scenario_agent(name: str) -> Agent[Any]:
    return SCENARIOS[name].build()


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
    return [
        p
        for p in outcome.record.message["parts"]
        if p["type"].startswith("tool-") or p["type"] == "dynamic-tool"
    ]


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
    # a structured output_type: both messages are data-output parts (the rejected one
    # keeps its text), and the history gives the model what it wrote
    outputs = [p["data"] for p in outcome.record.message["parts"] if p["type"] == "data-output"]
    assert outputs == [
        {"name": "FinalSummary", "state": "done", "value": None, "text": "not valid json"},
        {"name": "FinalSummary", "state": "done", "value": {"summary": "safe fallback"}},
    ]
    assert texts(outcome) == []
    assert sdk_texts(outcome) == ["not valid json", '{"summary":"safe fallback"}']
    history = to_agent_input([outcome.record.message])  # one step: one assistant message
    assert history == [
        {"role": "assistant", "content": 'not valid json\n\n{"summary":"safe fallback"}'}
    ]


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


def model_text(outcome: Outcome, call_id: str) -> Any:
    (output,) = [
        i.output
        for i in outcome.result.new_items
        if isinstance(i, ToolCallOutputItem) and i.call_id == call_id
    ]
    return output


@pytest.mark.parametrize(
    ("scenario", "call_id", "model_sees"),
    [
        ("tool-own-failure-function", "call_g1", "lookup failed: secret internal detail about x"),
        ("cancelled-tool", "call_cancel", "An error occurred while running the tool."),
        ("mcp-tool-error", "call_mcp1", "An error occurred while running the tool."),
    ],
)
async def test_a_failed_tool_is_a_masked_error_whatever_formats_its_failure(
    scenario: str, call_id: str, model_sees: str
) -> None:
    outcome = await run_scenario(scenario)
    assert_valid_body(outcome.body)
    (call,) = tool_parts(outcome)
    assert call["toolCallId"] == call_id
    assert call["state"] == "output-error"
    assert b"secret internal detail" not in outcome.body
    assert "output" not in call
    # what the model was given is the SDK's own failure text, unchanged
    assert str(model_text(outcome, call_id)).startswith(model_sees)
    assert outcome.result.final_output == texts(outcome)[-1]


async def test_a_failure_inside_an_agent_used_as_a_tool_is_masked_in_its_progress() -> None:
    """The nested run of ``Agent.as_tool`` runs the user's agent itself: its tool with its
    own failure function still shows ``output-error``, masked, in the nested message."""
    invoker = guarded_lookup.on_invoke_tool
    outcome = await run_agent(AgentsAdapter(scenario_agent("agent-as-tool-own-failure-function")))
    chunks = assert_valid_body(outcome.body)
    assert b"secret internal detail" not in outcome.body
    progress = [
        c["output"] for c in chunks if c.get("toolCallId") == "call_na1" and c.get("preliminary")
    ]
    nested = [p for p in progress[-1]["parts"] if p["type"] == "tool-guarded_lookup"]
    assert [(p["state"], p.get("errorText")) for p in nested] == [
        ("output-error", "An error occurred.")
    ]
    (outer,) = tool_parts(outcome)
    assert outer["output"] == "The archive lookup failed."
    assert guarded_lookup.on_invoke_tool is invoker  # the user's tool was not changed


async def test_a_run_leaves_the_users_agent_and_tools_as_they_were() -> None:
    agent = scenario_agent("tool-own-failure-function")
    tools = list(agent.tools)
    invokers = [getattr(t, "on_invoke_tool", None) for t in tools]
    adapter = AgentsAdapter(agent)
    outcome = await run_agent(adapter)
    assert tool_parts(outcome)[0]["state"] == "output-error"
    assert agent.tools == tools
    assert [getattr(t, "on_invoke_tool", None) for t in agent.tools] == invokers
    assert outcome.result.last_agent.name == agent.name


async def test_an_output_guardrail_that_trips_after_stop_on_first_tool_never_shows_the_output() -> (
    None
):
    outcome = await run_scenario("guardrail-after-tool")
    chunks = assert_valid_body(outcome.body)
    assert isinstance(outcome.record.exception, OutputGuardrailTripwireTriggered)
    (call,) = tool_parts(outcome)
    assert call["state"] == "output-error"
    assert call["errorText"] == "An error occurred."
    assert b"Sunny in Paris" not in outcome.body
    kinds = [c["type"] for c in chunks]
    assert kinds.index("tool-output-error") < kinds.index("error")


async def test_a_held_output_is_sent_when_the_guardrail_passes() -> None:
    outcome = await run_scenario("stop-on-first-tool")
    assert_valid_body(outcome.body)
    (call,) = tool_parts(outcome)
    assert call["state"] == "output-available"
    assert call["output"] == outcome.result.final_output == "Sunny in Paris"


async def test_a_hosted_mcp_call_approved_through_resume_is_shown_once() -> None:
    first, second = await hosted_mcp_round_trip(approved_mcp_call(output="cancelled"))
    assert_valid_body(first.body)
    assert_valid_body(second.body, message=first.record.message)
    calls = tool_parts(second)
    assert [(p["toolCallId"], p["state"]) for p in calls] == [("mcpr_1", "output-available")]
    assert calls[0]["output"] == "cancelled"


async def test_a_hosted_mcp_error_is_shown_by_its_message() -> None:
    error = McpProtocolError(code=500, message="the shop is closed", type="mcp_protocol_error")
    _, second = await hosted_mcp_round_trip(approved_mcp_call(error=error))
    (call,) = tool_parts(second)
    assert call["state"] == "output-error"
    assert call["errorText"] == "the shop is closed"


@pytest.mark.parametrize("outer_gated", [False, True], ids=["inner-gated", "both-gated"])
async def test_approvals_inside_an_agent_used_as_a_tool_complete_it(outer_gated: bool) -> None:
    rounds = await nested_approval_rounds(outer_gated)
    for outcome, continued in rounds:
        assert_valid_body(outcome.body, message=continued)
    assert len(rounds) == (3 if outer_gated else 2)
    last = rounds[-1][0]
    states = {p["toolCallId"]: (p["state"], p.get("output")) for p in tool_parts(last)}
    assert states == {
        "call_outer": ("output-available", "Deleted it."),  # the nested run's final output
        "call_inner": ("output-available", "Deleted /tmp/a.txt"),
    }
    assert texts(last) == ["The janitor is done."]


async def test_a_failure_in_the_agent_a_handoff_object_leads_to_is_masked() -> None:
    """tests/test_agent_runner_streamed.py::test_handoff_on_input, the target running a
    tool with its own failure function: the run reaches a guarded view of the target
    through the ``handoff()`` object, and leaves the user's objects as they were."""
    HANDOFF_INPUTS.clear()
    agent = scenario_agent("handoff-object")
    (to_librarian,) = agent.handoffs
    assert isinstance(to_librarian, Handoff)
    invoke = to_librarian.on_invoke_handoff
    librarian = target_of(to_librarian)
    assert isinstance(librarian, Agent)
    tools = list(librarian.tools)
    outcome = await run_agent(agent)
    assert_valid_body(outcome.body)
    assert HANDOFF_INPUTS == ["test_input"]
    states = {p["toolCallId"]: p["state"] for p in tool_parts(outcome)}
    assert states == {"call_ho1": "output-available", "call_hg1": "output-error"}
    assert b"secret internal detail" not in outcome.body
    assert str(model_text(outcome, "call_hg1")).startswith("lookup failed:")
    assert texts(outcome) == sdk_texts(outcome) == ["1", "last"]
    assert outcome.result.last_agent.name == "Librarian"
    assert to_librarian.on_invoke_handoff is invoke
    assert target_of(to_librarian) is librarian
    assert librarian.tools == tools
    assert "get_all_tools" not in vars(librarian)
