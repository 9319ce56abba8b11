"""Peer scenarios of the Agents SDK's runner tests (openai-agents 0.24.0):
``test_agent_runner_streamed.py``, ``test_tool_use_behavior.py``, ``test_max_turns.py``,
``test_invalid_final_output_handler.py`` and ``test_streamed_terminal_output_backfill.py``.
Each builder's docstring names the upstream test; see ``agents_peers`` for ``Peer``."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from agents import (
    Agent,
    GuardrailFunctionOutput,
    Handoff,
    HandoffInputData,
    InputGuardrail,
    InputGuardrailTripwireTriggered,
    MaxTurnsExceeded,
    ModelBehaviorError,
    OutputGuardrail,
    OutputGuardrailTripwireTriggered,
    RunConfig,
    RunContextWrapper,
    RunErrorHandlerResult,
    StopAtTools,
    ToolsToFinalOutputResult,
    UserError,
    function_tool,
    handoff,
)
from agents.extensions.handoff_filters import remove_all_tools
from agents.testing import ModelStep, ScriptedModel, assistant_message, function_call
from openai.types.responses import (
    Response,
    ResponseErrorEvent,
    ResponseFailedEvent,
    ResponseIncompleteEvent,
)
from pydantic import BaseModel
from typing_extensions import TypedDict

from tests.support.agents_peers import Peer
from tests.support.agents_scenarios import model_events, reasoning, refusal, usage
from uiwire.adapters.agents._channel import CANCELLED_TOOL_TEXT

RUNNER = "test_agent_runner_streamed"


def tool(name: str, value: str) -> Any:
    """The upstream ``get_function_tool``: a tool returning ``value``."""
    return function_tool(
        lambda a="": value,  # pyright: ignore[reportUnknownLambdaType]
        name_override=name,
    )


# --- tests/test_agent_runner_streamed.py --------------------------------------------------


def simple_first_run() -> Agent[Any]:
    """test_simple_first_run."""
    return Agent(name="test", model=ScriptedModel([[assistant_message("first")]]))


def tool_call_runs() -> Agent[Any]:
    """test_tool_call_runs."""
    return Agent(
        name="test",
        tools=[tool("foo", "tool_result")],
        model=ScriptedModel(
            [
                [assistant_message("a_message"), function_call("foo", {"a": "b"}, call_id="c1")],
                [assistant_message("done")],
            ]
        ),
    )


def handoffs() -> Agent[Any]:
    """test_handoffs: a tool turn, a message with a handoff, the new agent's answer."""
    model = ScriptedModel()
    agent_1 = Agent(name="agent_1", model=model)
    agent_2 = Agent(name="agent_2", model=model)
    agent_3 = Agent(
        name="agent_3",
        model=model,
        handoffs=[agent_1, agent_2],
        tools=[tool("some_function", "result")],
    )
    model.extend(
        [
            [function_call("some_function", {"a": "b"}, call_id="c1")],
            [
                assistant_message("a_message"),
                function_call("transfer_to_agent_1", {}, call_id="h1"),
            ],
            [assistant_message("done")],
        ]
    )
    return agent_3


class Foo(BaseModel):
    bar: str


def structured_output() -> Agent[Any]:
    """test_structured_output: tool, handoff, a preamble with a tool call, the output."""
    model = ScriptedModel()
    agent_1 = Agent(name="agent_1", model=model, tools=[tool("bar", "bar_result")], output_type=Foo)
    agent_2 = Agent(
        name="agent_2", model=model, tools=[tool("foo", "foo_result")], handoffs=[agent_1]
    )
    model.extend(
        [
            [function_call("foo", {"bar": "baz"}, call_id="call_foo")],
            [
                assistant_message("a_message"),
                function_call("transfer_to_agent_1", {}, call_id="h1"),
            ],
            [
                assistant_message(json.dumps({"bar": "preamble"})),
                function_call("bar", {"bar": "baz"}, call_id="call_bar"),
            ],
            [assistant_message(json.dumps({"bar": "baz"}))],
        ]
    )
    return agent_2


def tool_not_found_to_model() -> Agent[Any]:
    """test_streamed_tool_not_found_behavior_returns_error_to_model."""
    return Agent(
        name="test",
        model=ScriptedModel(
            [
                [function_call("missing_tool", {}, call_id="call_missing")],
                [assistant_message("recovered")],
            ]
        ),
    )


def parallel_tools() -> Agent[Any]:
    """test_tool_call_runs with two calls in one turn (the runner's parallel calls)."""
    return Agent(
        name="test",
        tools=[tool("foo", "foo_result"), tool("bar", "bar_result")],
        model=ScriptedModel(
            [
                [
                    function_call("foo", {"a": "1"}, call_id="c1"),
                    function_call("bar", {"a": "2"}, call_id="c2"),
                ],
                [assistant_message("both done")],
            ]
        ),
    )


def first_message() -> Agent[Any]:
    """test_empty_list_input_reaches_model: an empty input list."""
    return Agent(name="test", model=ScriptedModel([[assistant_message("first")]]))


def subsequent_runs_second() -> Agent[Any]:
    """test_subsequent_runs, its second run: the first run's items as input."""
    return Agent(name="test", model=ScriptedModel([[assistant_message("second")]]))


SUBSEQUENT_INPUT: list[Any] = [
    {"role": "user", "content": "user_message"},
    {"role": "assistant", "content": "first"},
    {"role": "user", "content": "another_message"},
]


async def _ok_tool() -> str:
    return "ok"


async def _cancel_tool() -> str:
    raise asyncio.CancelledError("tool-cancelled")


def cancelled_tool() -> Agent[Any]:
    """test_streamed_single_tool_call_with_cancelled_tool_reaches_final_output."""
    return Agent(
        name="test",
        tools=[function_tool(_cancel_tool, name_override="cancel_tool")],
        model=ScriptedModel(
            [
                [function_call("cancel_tool", {}, call_id="call_cancel")],
                [assistant_message("final answer")],
            ]
        ),
    )


def cancelled_sibling() -> Agent[Any]:
    """test_streamed_parallel_tool_call_with_cancelled_sibling_reaches_final_output."""
    return Agent(
        name="test",
        tools=[
            function_tool(_ok_tool, name_override="ok_tool"),
            function_tool(_cancel_tool, name_override="cancel_tool"),
        ],
        model=ScriptedModel(
            [
                [
                    function_call("ok_tool", {}, call_id="call_ok"),
                    function_call("cancel_tool", {}, call_id="call_cancel"),
                ],
                [assistant_message("final answer")],
            ]
        ),
    )


def reasoning_then_tool() -> Agent[Any]:
    """test_streamed_reasoning_item_id_policy_omits_follow_up_reasoning_ids: reasoning and
    a tool call, then the answer (with usage on each model call)."""
    return Agent(
        name="test",
        tools=[tool("foo", "tool_result")],
        model=ScriptedModel(
            [
                ModelStep(
                    output=[
                        reasoning("Thinking...", "rs_stream"),
                        function_call("foo", {"a": "b"}, call_id="call_stream"),
                    ],
                    usage=usage(11, 7),
                ),
                ModelStep(output=[assistant_message("done")], usage=usage(20, 3)),
            ]
        ),
    )


def _partial_response() -> Response:
    return Response(
        id="resp-partial",
        created_at=0,
        model="scripted",
        object="response",
        output=[assistant_message("partial final")],
        tool_choice="auto",
        tools=[],
        parallel_tool_calls=False,
    )


def terminal_incomplete() -> Agent[Any]:
    """test_streamed_run_rejects_failed_terminal_response_payload_events
    [response.incomplete]: the model's only event ends the response, holding text."""
    event = ResponseIncompleteEvent(
        type="response.incomplete", response=_partial_response(), sequence_number=0
    )
    return Agent(name="test", model=ScriptedModel([ModelStep.stream([event])]))


def terminal_failed() -> Agent[Any]:
    """test_streamed_run_rejects_failed_terminal_response_payload_events[response.failed]."""
    event = ResponseFailedEvent(
        type="response.failed", response=_partial_response(), sequence_number=0
    )
    return Agent(name="test", model=ScriptedModel([ModelStep.stream([event])]))


def terminal_error_event() -> Agent[Any]:
    """test_streamed_run_rejects_response_error_terminal_event."""
    event = ResponseErrorEvent(
        type="error",
        code="invalid_request_error",
        message="bad request",
        param=None,
        sequence_number=0,
    )
    return Agent(name="test", model=ScriptedModel([ModelStep.stream([event])]))


def _two_messages_and_handoff(agent_1: Agent[Any], model: ScriptedModel, args: str = "{}") -> None:
    model.extend(
        [
            [
                assistant_message("1"),
                assistant_message("2"),
                function_call(f"transfer_to_{agent_1.name}", args, call_id="h1"),
            ],
            [assistant_message("last")],
        ]
    )


def handoff_filters() -> Agent[Any]:
    """test_handoff_filters: a handoff whose input filter drops the tools."""
    model = ScriptedModel()
    agent_1 = Agent(name="agent_1", model=model)
    agent_2 = Agent(
        name="agent_2",
        model=model,
        handoffs=[handoff(agent=agent_1, input_filter=remove_all_tools)],
    )
    _two_messages_and_handoff(agent_1, model)
    return agent_2


async def _async_filter(data: HandoffInputData) -> HandoffInputData:
    return data


def async_input_filter() -> Agent[Any]:
    """test_async_input_filter_supported."""
    model = ScriptedModel()
    agent_1 = Agent(name="agent_1", model=model)
    agent_2 = Agent(
        name="agent_2",
        model=model,
        handoffs=[handoff(agent=agent_1, input_filter=_async_filter)],  # pyright: ignore[reportArgumentType]
    )
    _two_messages_and_handoff(agent_1, model)
    return agent_2


def _bad_filter_agent(input_filter: Any) -> Agent[Any]:
    model = ScriptedModel()
    agent_1 = Agent(name="agent_1", model=model)

    async def on_invoke_handoff(_ctx: RunContextWrapper[Any], _input: str) -> Agent[Any]:
        return agent_1

    agent_2 = Agent(
        name="agent_2",
        model=model,
        handoffs=[
            Handoff(
                tool_name=Handoff.default_tool_name(agent_1),
                tool_description=Handoff.default_tool_description(agent_1),
                input_json_schema={},
                on_invoke_handoff=on_invoke_handoff,
                agent_name=agent_1.name,
                input_filter=input_filter,
            )
        ],
    )
    _two_messages_and_handoff(agent_1, model)
    return agent_2


def invalid_input_filter() -> Agent[Any]:
    """test_invalid_input_filter_fails: the filter returns a string."""
    return _bad_filter_agent(lambda data: "foo")  # pyright: ignore[reportUnknownLambdaType]


def non_callable_input_filter() -> Agent[Any]:
    """test_non_callable_input_filter_causes_error."""
    return _bad_filter_agent("foo")


class HandoffInput(TypedDict):
    bar: str


HANDOFF_INPUTS: list[str] = []


def _on_input(_ctx: RunContextWrapper[Any], data: HandoffInput) -> None:
    HANDOFF_INPUTS.append(data["bar"])


async def _on_input_async(_ctx: RunContextWrapper[Any], data: HandoffInput) -> None:
    HANDOFF_INPUTS.append(data["bar"])


def _handoff_with_input(on_handoff: Any) -> Agent[Any]:
    model = ScriptedModel()
    agent_1 = Agent(name="agent_1", model=model)
    agent_2 = Agent(
        name="agent_2",
        model=model,
        handoffs=[handoff(agent=agent_1, on_handoff=on_handoff, input_type=HandoffInput)],
    )
    _two_messages_and_handoff(agent_1, model, json.dumps({"bar": "test_input"}))
    return agent_2


def handoff_on_input() -> Agent[Any]:
    """test_handoff_on_input: a handoff taking typed input."""
    return _handoff_with_input(_on_input)


def async_handoff_on_input() -> Agent[Any]:
    """test_async_handoff_on_input."""
    return _handoff_with_input(_on_input_async)


def _trip(_ctx: RunContextWrapper[Any], _agent: Agent[Any], _value: Any) -> GuardrailFunctionOutput:
    return GuardrailFunctionOutput(output_info=None, tripwire_triggered=True)


def input_tripwire() -> Agent[Any]:
    """test_input_guardrail_tripwire_triggered_causes_exception_streamed."""
    return Agent(
        name="test",
        input_guardrails=[InputGuardrail(guardrail_function=_trip)],
        model=ScriptedModel([[]]),
    )


def output_tripwire() -> Agent[Any]:
    """test_output_guardrail_tripwire_triggered_causes_exception_streamed."""
    return Agent(
        name="test",
        output_guardrails=[OutputGuardrail(guardrail_function=_trip)],
        model=ScriptedModel([[assistant_message("first_test")]]),
    )


def plain_agent_with_answer() -> Agent[Any]:
    """The agent of test_run_output_guardrail_tripwire_triggered_causes_exception_streamed
    (the guardrail is the run config's)."""
    return Agent(name="test", model=ScriptedModel([[assistant_message("first_test")]]))


def silent_agent() -> Agent[Any]:
    """The agent of test_run_input_guardrail_tripwire_triggered_causes_exception_streamed."""
    return Agent(name="test", model=ScriptedModel([[]]))


def streaming_events() -> Agent[Any]:
    """test_streaming_events: tool, message and handoff, tool, structured output."""
    return structured_output_without_preamble()


def structured_output_without_preamble() -> Agent[Any]:
    model = ScriptedModel()
    agent_1 = Agent(name="agent_1", model=model, tools=[tool("bar", "bar_result")], output_type=Foo)
    agent_2 = Agent(
        name="agent_2", model=model, tools=[tool("foo", "foo_result")], handoffs=[agent_1]
    )
    model.extend(
        [
            [function_call("foo", {"bar": "baz"}, call_id="call_foo")],
            [
                assistant_message("a_message"),
                function_call("transfer_to_agent_1", {}, call_id="h1"),
            ],
            [function_call("bar", {"bar": "baz"}, call_id="call_bar")],
            [assistant_message(json.dumps({"bar": "baz"}))],
        ]
    )
    return agent_2


def dynamic_tool_addition() -> Agent[Any]:
    """test_dynamic_tool_addition_run_streamed: a tool adds another tool to the agent."""
    agent = Agent(
        name="test",
        tool_use_behavior="run_llm_again",
        model=ScriptedModel(
            [
                [function_call("add_tool", {}, call_id="call-add-tool")],
                [function_call("tool2", {}, call_id="call-tool-two")],
                [assistant_message("done")],
            ]
        ),
    )

    @function_tool(name_override="tool2")
    def tool2() -> str:
        return "result2"

    @function_tool(name_override="add_tool")
    async def add_tool() -> str:
        agent.tools.append(tool2)
        return "added"

    agent.tools.append(add_tool)
    return agent


def max_turns_pending_outputs() -> Agent[Any]:
    """test_streaming_max_turns_emits_pending_tool_output_events: one turn, a tool call."""
    return Agent(
        name="test",
        tools=[tool("test_tool", "tool_result")],
        model=ScriptedModel(
            [
                [function_call("test_tool", {}, call_id="call_t1")],
                [assistant_message("done")],
            ]
        ),
    )


async def _approved_tool() -> str:
    return "tool_result"


def approval_then_answer() -> Agent[Any]:
    """test_streaming_hitl_resume_with_approved_tools: a call that needs approval, then
    the answer (after the resume)."""
    return Agent(
        name="test",
        tools=[function_tool(_approved_tool, name_override="test_tool", needs_approval=True)],
        model=ScriptedModel(
            [
                [function_call("test_tool", {}, call_id="call_hitl")],
                [assistant_message("done")],
            ]
        ),
    )


# --- tests/test_tool_use_behavior.py -------------------------------------------------------


def _tool_turn_then_unused() -> ScriptedModel:
    return ScriptedModel(
        [
            [function_call("foo", {"a": "1"}, call_id="c1")],
            [assistant_message("not reached")],
        ]
    )


def stop_on_first_tool() -> Agent[Any]:
    """test_stop_on_first_tool_behavior."""
    return Agent(
        name="test",
        tools=[tool("foo", "tool_result")],
        tool_use_behavior="stop_on_first_tool",
        model=_tool_turn_then_unused(),
    )


def stop_at_tool_names() -> Agent[Any]:
    """test_tool_names_to_stop_at_behavior."""
    return Agent(
        name="test",
        tools=[tool("foo", "tool_result")],
        tool_use_behavior=StopAtTools(stop_at_tool_names=["foo"]),
        model=_tool_turn_then_unused(),
    )


def _custom_behavior(_ctx: Any, results: list[Any]) -> ToolsToFinalOutputResult:
    return ToolsToFinalOutputResult(is_final_output=True, final_output="custom")


def custom_tool_use_behavior() -> Agent[Any]:
    """test_custom_tool_use_behavior_sync: the behaviour makes the final output."""
    return Agent(
        name="test",
        tools=[tool("foo", "tool_result")],
        tool_use_behavior=_custom_behavior,
        model=_tool_turn_then_unused(),
    )


def run_llm_again() -> Agent[Any]:
    """test_run_llm_again_behavior: the tool's output goes back to the model."""
    return Agent(
        name="test",
        tools=[tool("foo", "tool_result")],
        tool_use_behavior="run_llm_again",
        model=ScriptedModel(
            [
                [function_call("foo", {"a": "1"}, call_id="c1")],
                [assistant_message("after the tool")],
            ]
        ),
    )


# --- tests/test_max_turns.py ---------------------------------------------------------------


def _numbered_tool_turns(turns: int, *, answer: str | None) -> ScriptedModel:
    steps: list[Any] = [
        [
            assistant_message(str(n)),
            function_call("some_function", {"a": "b"}, call_id=str(n)),
        ]
        for n in range(1, turns + 1)
    ]
    if answer is not None:
        steps.append([assistant_message(answer)])
    return ScriptedModel(steps)


def max_turns_exceeded() -> Agent[Any]:
    """test_streamed_max_turns: five tool turns scripted, three allowed."""
    return Agent(
        name="test_1",
        tools=[tool("some_function", "result")],
        model=_numbered_tool_turns(5, answer=None),
    )


def max_turns_none() -> Agent[Any]:
    """test_streamed_max_turns_none_disables_limit."""
    return Agent(
        name="test_1",
        tools=[tool("some_function", "result")],
        model=_numbered_tool_turns(4, answer="done"),
    )


class SummaryDict(TypedDict):
    a: str


def structured_max_turns() -> Agent[Any]:
    """test_structured_output_streamed_max_turns."""
    return Agent(
        name="test_1",
        tools=[tool("tool_1", "result")],
        output_type=SummaryDict,
        model=ScriptedModel([[function_call("tool_1", {}, call_id=f"call_{n}")] for n in range(5)]),
    )


class FooModel(BaseModel):
    summary: str


def no_turn_agent(output_type: Any = None) -> Agent[Any]:
    """The agents of the ``max_turns=0`` handler tests."""
    if output_type is None:
        return Agent(name="test_1", model=ScriptedModel())
    return Agent(name="test_1", model=ScriptedModel(), output_type=output_type)


def refusing_agent() -> Agent[Any]:
    """test_streamed_refusal_handler_returns_output: the model refuses."""
    return Agent(
        name="test_1", model=ScriptedModel([[refusal("I cannot help with that request.")]])
    )


def max_turns_tool_prefix() -> Agent[Any]:
    """test_streamed_max_turns_trip_preserves_completed_tool_prefix: a tool turn, no turn
    left, the handler's answer blocked by the output guardrail."""
    return Agent(
        name="test",
        tools=[tool("some_function", "accepted-output")],
        output_guardrails=[OutputGuardrail(guardrail_function=_trip)],
        model=ScriptedModel([[function_call("some_function", {}, call_id="accepted-call")]]),
    )


# --- tests/test_invalid_final_output_handler.py --------------------------------------------


class FinalSummary(BaseModel):
    summary: str


def invalid_output() -> Agent[Any]:
    """test_streamed_invalid_final_output_emits_exact_fallback_item."""
    return Agent(
        name="structured",
        model=ScriptedModel([[assistant_message("not valid json")]]),
        output_type=FinalSummary,
    )


def empty_structured_output() -> Agent[Any]:
    """test_streamed_empty_structured_output_handler_avoids_another_model_turn: a model
    call with no output at all."""
    model = ScriptedModel([[], [assistant_message('{"summary":"unused"}')]])
    return Agent(name="structured", model=model, output_type=FinalSummary)


# --- tests/test_streamed_terminal_output_backfill.py ---------------------------------------


def backfill_empty_terminal() -> Agent[Any]:
    """test_streamed_runner_backfills_empty_terminal_output_before_step_resolution: the
    items stream, ``response.completed`` holds no output; the SDK keeps the streamed ones."""
    call = function_call("foo", {"a": "b"}, call_id="call_bf1")
    answer = assistant_message("done")
    return Agent(
        name="test",
        tools=[tool("foo", "tool_result")],
        model=ScriptedModel([model_events([call], []), model_events([answer], [])]),
    )


def backfill_preserves_terminal() -> Agent[Any]:
    """test_streamed_runner_preserves_populated_terminal_output: a streamed call, a final
    response holding only the answer; the SDK acts on the final response."""
    call = function_call("foo", {"a": "b"}, call_id="call_fd1")
    return Agent(
        name="test",
        tools=[tool("foo", "tool_result")],
        model=ScriptedModel([model_events([call], [assistant_message("done")])]),
    )


def backfill_multiple_calls() -> Agent[Any]:
    """test_streamed_runner_backfills_multiple_tool_calls_in_order."""
    first = function_call("foo", {"a": "first"}, call_id="call-1")
    second = function_call("bar", {"b": "second"}, call_id="call-2")
    answer = assistant_message("done")
    return Agent(
        name="test",
        tools=[tool("foo", "foo_result"), tool("bar", "bar_result")],
        model=ScriptedModel([model_events([first, second], []), model_events([answer], [])]),
    )


def _max_turns(n: int | None) -> dict[str, Any]:
    return {"max_turns": n}


PEERS: dict[str, Peer] = {
    f"{RUNNER}::test_simple_first_run": Peer(simple_first_run),
    f"{RUNNER}::test_empty_list_input_reaches_model": Peer(first_message, input=[]),
    f"{RUNNER}::test_streamed_tool_not_found_behavior_returns_error_to_model": Peer(
        tool_not_found_to_model,
        run=lambda: {"run_config": RunConfig(tool_not_found_behavior="return_error_to_model")},
        failed={"call_missing": "Tool 'missing_tool' not found."},
    ),
    f"{RUNNER}::test_streamed_run_rejects_failed_terminal_response_payload_events"
    " (response.incomplete)": Peer(terminal_incomplete, input="test", raises=ModelBehaviorError),
    f"{RUNNER}::test_streamed_run_rejects_failed_terminal_response_payload_events"
    " (response.failed)": Peer(terminal_failed, input="test", raises=ModelBehaviorError),
    f"{RUNNER}::test_streamed_run_rejects_response_error_terminal_event": Peer(
        terminal_error_event, input="test", raises=ModelBehaviorError
    ),
    f"{RUNNER}::test_subsequent_runs": Peer(subsequent_runs_second, input=SUBSEQUENT_INPUT),
    f"{RUNNER}::test_tool_call_runs": Peer(tool_call_runs),
    f"{RUNNER}::test_tool_call_runs (two calls in one turn)": Peer(parallel_tools),
    f"{RUNNER}::test_streamed_parallel_tool_call_with_cancelled_sibling_reaches_final_output": Peer(
        cancelled_sibling, failed={"call_cancel": CANCELLED_TOOL_TEXT}
    ),
    f"{RUNNER}::test_streamed_single_tool_call_with_cancelled_tool_reaches_final_output": Peer(
        cancelled_tool, failed={"call_cancel": CANCELLED_TOOL_TEXT}
    ),
    f"{RUNNER}::test_streamed_reasoning_item_id_policy_omits_follow_up_reasoning_ids": Peer(
        reasoning_then_tool,
        input="hello",
        run=lambda: {"run_config": RunConfig(reasoning_item_id_policy="omit")},
    ),
    f"{RUNNER}::test_handoffs": Peer(handoffs),
    f"{RUNNER}::test_structured_output": Peer(
        structured_output, run=lambda: {"run_config": RunConfig(nest_handoff_history=True)}
    ),
    f"{RUNNER}::test_handoff_filters": Peer(handoff_filters, shown_only={"h1": "output-available"}),
    f"{RUNNER}::test_async_input_filter_supported": Peer(async_input_filter),
    f"{RUNNER}::test_invalid_input_filter_fails": Peer(invalid_input_filter, raises=UserError),
    f"{RUNNER}::test_non_callable_input_filter_causes_error": Peer(
        non_callable_input_filter, raises=UserError
    ),
    f"{RUNNER}::test_handoff_on_input": Peer(handoff_on_input),
    f"{RUNNER}::test_async_handoff_on_input": Peer(async_handoff_on_input),
    f"{RUNNER}::test_input_guardrail_tripwire_triggered_causes_exception_streamed": Peer(
        input_tripwire, raises=InputGuardrailTripwireTriggered
    ),
    f"{RUNNER}::test_output_guardrail_tripwire_triggered_causes_exception_streamed": Peer(
        output_tripwire, raises=OutputGuardrailTripwireTriggered
    ),
    f"{RUNNER}::test_run_input_guardrail_tripwire_triggered_causes_exception_streamed": Peer(
        silent_agent,
        run=lambda: {
            "run_config": RunConfig(input_guardrails=[InputGuardrail(guardrail_function=_trip)])
        },
        raises=InputGuardrailTripwireTriggered,
    ),
    f"{RUNNER}::test_run_output_guardrail_tripwire_triggered_causes_exception_streamed": Peer(
        plain_agent_with_answer,
        run=lambda: {
            "run_config": RunConfig(output_guardrails=[OutputGuardrail(guardrail_function=_trip)])
        },
        raises=OutputGuardrailTripwireTriggered,
    ),
    f"{RUNNER}::test_streaming_events": Peer(
        streaming_events,
        input=[
            {"role": "user", "content": "user_message"},
            {"role": "user", "content": "another_message"},
        ],
        run=lambda: {"run_config": RunConfig(nest_handoff_history=True)},
    ),
    f"{RUNNER}::test_dynamic_tool_addition_run_streamed": Peer(
        dynamic_tool_addition, input="start"
    ),
    f"{RUNNER}::test_streaming_max_turns_emits_pending_tool_output_events": Peer(
        max_turns_pending_outputs,
        input="Use test_tool",
        run=lambda: _max_turns(1),
        raises=MaxTurnsExceeded,
    ),
    f"{RUNNER}::test_streaming_hitl_resume_with_approved_tools": Peer(
        approval_then_answer, input="Use test_tool", approvals=(True,)
    ),
    f"{RUNNER}::test_streaming_hitl_resume_enforces_max_turns": Peer(
        approval_then_answer,
        input="Use test_tool",
        run=lambda: _max_turns(1),
        approvals=(True,),
        raises=MaxTurnsExceeded,
    ),
    "test_tool_use_behavior::test_stop_on_first_tool_behavior": Peer(stop_on_first_tool),
    "test_tool_use_behavior::test_tool_names_to_stop_at_behavior": Peer(stop_at_tool_names),
    "test_tool_use_behavior::test_run_llm_again_behavior": Peer(run_llm_again),
    "test_tool_use_behavior::test_custom_tool_use_behavior_sync": Peer(custom_tool_use_behavior),
    "test_max_turns::test_streamed_max_turns": Peer(
        max_turns_exceeded, run=lambda: _max_turns(3), raises=MaxTurnsExceeded
    ),
    "test_max_turns::test_streamed_max_turns_none_disables_limit": Peer(
        max_turns_none, run=lambda: _max_turns(None)
    ),
    "test_max_turns::test_structured_output_streamed_max_turns": Peer(
        structured_max_turns, run=lambda: _max_turns(3), raises=MaxTurnsExceeded
    ),
    "test_max_turns::test_streamed_max_turns_handler_returns_output": Peer(
        no_turn_agent,
        run=lambda: {
            "max_turns": 0,
            "error_handlers": {
                "max_turns": lambda _data: RunErrorHandlerResult(final_output="summary")  # pyright: ignore[reportUnknownLambdaType]
            },
        },
    ),
    "test_max_turns::test_streamed_refusal_handler_returns_output": Peer(
        refusing_agent,
        run=lambda: {"error_handlers": {"model_refusal": lambda _data: "safe fallback"}},  # pyright: ignore[reportUnknownLambdaType]
    ),
    "test_max_turns::test_streamed_max_turns_handler_pydantic_output": Peer(
        lambda: no_turn_agent(FooModel),
        run=lambda: {
            "max_turns": 0,
            "error_handlers": {"max_turns": lambda _data: FooModel(summary="ok")},  # pyright: ignore[reportUnknownLambdaType]
        },
    ),
    "test_max_turns::test_streamed_max_turns_handler_list_output": Peer(
        lambda: no_turn_agent(list[str]),
        run=lambda: {
            "max_turns": 0,
            "error_handlers": {"max_turns": lambda _data: ["a", "b"]},  # pyright: ignore[reportUnknownLambdaType]
        },
    ),
    "test_max_turns::test_streamed_max_turns_trip_preserves_completed_tool_prefix": Peer(
        max_turns_tool_prefix,
        input="run the tool",
        run=lambda: {
            "max_turns": 1,
            "error_handlers": {"max_turns": lambda _data: "rejected fallback"},  # pyright: ignore[reportUnknownLambdaType]
        },
        raises=OutputGuardrailTripwireTriggered,
    ),
    "test_invalid_final_output_handler::test_streamed_invalid_final_output_emits_exact_fallback_item": Peer(
        invalid_output,
        run=lambda: {
            "error_handlers": {
                "invalid_final_output": lambda _data: FinalSummary(summary="safe fallback")  # pyright: ignore[reportUnknownLambdaType]
            }
        },
    ),
    "test_invalid_final_output_handler::test_streamed_empty_structured_output_handler_avoids_another_model_turn": Peer(
        empty_structured_output,
        run=lambda: {
            "error_handlers": {
                "invalid_final_output": lambda _data: FinalSummary(summary="safe fallback")  # pyright: ignore[reportUnknownLambdaType]
            }
        },
    ),
    "test_streamed_terminal_output_backfill::test_streamed_runner_backfills_empty_terminal_output_before_step_resolution": Peer(
        backfill_empty_terminal
    ),
    "test_streamed_terminal_output_backfill::test_streamed_runner_preserves_populated_terminal_output": Peer(
        backfill_preserves_terminal, shown_only={"call_fd1": "output-error"}
    ),
    "test_streamed_terminal_output_backfill::test_streamed_runner_backfills_multiple_tool_calls_in_order": Peer(
        backfill_multiple_calls
    ),
}
