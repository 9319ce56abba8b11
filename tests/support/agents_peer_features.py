"""Peer scenarios of the Agents SDK's feature tests (openai-agents 0.24.0): input and
output guardrails (``test_guardrails.py``), stream event order (``test_stream_events.py``),
streamed tool arguments (``test_streaming_tool_call_arguments.py``), local MCP servers
(``mcp/test_runner_calls_mcp.py``), tool guardrails and agents used as tools. Each
builder's docstring names the upstream test; see ``agents_peers`` for ``Peer``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from agents import (
    Agent,
    GuardrailFunctionOutput,
    InputGuardrail,
    InputGuardrailTripwireTriggered,
    ModelBehaviorError,
    OutputGuardrail,
    OutputGuardrailTripwireTriggered,
    RunContextWrapper,
    ToolGuardrailFunctionOutput,
    ToolInputGuardrailData,
    ToolInputGuardrailTripwireTriggered,
    ToolOutputGuardrailData,
    UserError,
    function_tool,
    handoff,
    tool_input_guardrail,
    tool_output_guardrail,
)
from agents.extensions.handoff_filters import nest_handoff_history, remove_all_tools
from agents.mcp import MCPServer
from agents.testing import ModelStep, ScriptedModel, assistant_message, function_call
from mcp.types import CallToolResult, ListPromptsResult, TextContent
from mcp.types import Tool as MCPTool
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseFunctionToolCall,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
)

from tests.support.agents_peers import MASKED, Peer
from tests.support.agents_scenarios import CrashingMCPServer, reasoning
from uiwire.adapters.agents import agent_tool_progress

# --- tests/test_guardrails.py --------------------------------------------------------------


def _verdict(trips: bool) -> Any:
    async def check(_ctx: RunContextWrapper[Any], _agent: Agent[Any], _input: Any) -> Any:
        return GuardrailFunctionOutput(output_info="checked", tripwire_triggered=trips)

    return check


async def _raising_check(_ctx: RunContextWrapper[Any], _agent: Agent[Any], _input: Any) -> Any:
    raise ValueError("guardrail boom")


def _input_guards(*spec: tuple[bool, bool]) -> list[InputGuardrail[Any]]:
    """One guardrail per ``(trips, run_in_parallel)``."""
    return [
        InputGuardrail(guardrail_function=_verdict(trips), run_in_parallel=parallel)
        for trips, parallel in spec
    ]


@function_tool
def fast_tool() -> str:
    """A tool the guarded agent may call."""
    return "tool_executed"


def guarded(guards: list[InputGuardrail[Any]], *, tool_turn: bool = False) -> Agent[Any]:
    steps: list[Any] = [[assistant_message("hello from stream")]]
    if tool_turn:
        steps = [[function_call("fast_tool", {}, call_id="call_fast")], [assistant_message("done")]]
    return Agent(
        name="streaming_agent",
        input_guardrails=guards,
        tools=[fast_tool] if tool_turn else [],
        model=ScriptedModel(steps),
    )


def _output_tripwire_agent() -> Agent[Any]:
    """test_output_guardrail_tripwire_reports_results_streamed: two passing output
    guardrails and one that trips."""
    guards = [OutputGuardrail(guardrail_function=_verdict(t)) for t in (False, True, False)]
    return Agent(
        name="test",
        output_guardrails=guards,
        model=ScriptedModel([[assistant_message("user_message")]]),
    )


def _output_exception_agent() -> Agent[Any]:
    """test_output_guardrail_exception_reports_completed_results_streamed."""
    guards = [
        OutputGuardrail(guardrail_function=_verdict(False)),
        OutputGuardrail(guardrail_function=_raising_check),
    ]
    return Agent(
        name="test",
        output_guardrails=guards,
        model=ScriptedModel([[assistant_message("user_message")]]),
    )


GUARDRAILS = "test_guardrails"

# --- tests/test_stream_events.py -----------------------------------------------------------


@function_tool
async def foo(args: str = "") -> str:
    """The upstream ``foo`` tool."""
    return f"foo_result_{args}"


def stream_events_main() -> Agent[Any]:
    """test_stream_events_main: a message and a call with empty arguments, the answer."""
    return Agent(
        name="Joker",
        tools=[foo],
        model=ScriptedModel(
            [
                [assistant_message("a_message"), function_call("foo", "", call_id="call_foo")],
                [assistant_message("done")],
            ]
        ),
    )


def _english() -> Agent[Any]:
    return Agent(name="EnglishAgent", model=ScriptedModel([[assistant_message("Done")]]))


def stream_events_with_handoff() -> Agent[Any]:
    """test_stream_events_main_with_handoff: text, a tool call and a handoff in one turn,
    the handoff's filter removing the tools."""
    return Agent(
        name="TriageAgent",
        handoffs=[handoff(_english(), input_filter=remove_all_tools)],
        tools=[foo],
        model=ScriptedModel(
            [
                [
                    assistant_message("Hello"),
                    function_call("foo", {"args": "arg1"}, call_id="call_foo"),
                    function_call("transfer_to_englishagent", {}, call_id="call_h"),
                ]
            ]
        ),
    )


def complete_streaming_events() -> Agent[Any]:
    """test_complete_streaming_events: reasoning and a call, then the answer."""
    return Agent(
        name="TestAgent",
        tools=[foo],
        model=ScriptedModel(
            [
                [
                    reasoning("I need to call foo."),
                    function_call("foo", {"args": "value"}, call_id="c"),
                ],
                [assistant_message("Final response")],
            ]
        ),
    )


def call_before_reasoning() -> Agent[Any]:
    """test_tool_call_event_preserves_order_before_later_reasoning_item."""
    return Agent(
        name="TestAgent",
        tools=[foo],
        model=ScriptedModel(
            [
                [function_call("foo", {"args": "value"}, call_id="c"), reasoning("Afterwards.")],
                [assistant_message("Final response")],
            ]
        ),
    )


def handoff_before_reasoning() -> Agent[Any]:
    """test_handoff_event_preserves_order_before_later_reasoning_item."""
    return Agent(
        name="TriageAgent",
        handoffs=[_english()],
        model=ScriptedModel(
            [[function_call("transfer_to_englishagent", {}, call_id="call_h"), reasoning("Then.")]]
        ),
    )


def _copied_filter(data: Any) -> Any:
    nested = nest_handoff_history(data)
    return nested.clone(new_items=[*nested.new_items])


def handoff_filter_copy() -> Agent[Any]:
    """test_handoff_filter_copy_does_not_duplicate_streamed_model_items."""
    return Agent(
        name="TriageAgent",
        handoffs=[handoff(_english(), input_filter=_copied_filter)],
        model=ScriptedModel(
            [
                [
                    assistant_message("Transferring"),
                    function_call("transfer_to_englishagent", {}, call_id="call_h"),
                ]
            ]
        ),
    )


def handoff_alone() -> Agent[Any]:
    """test_streamed_handoff_call_is_not_emitted_as_tool_called."""
    return Agent(
        name="TriageAgent",
        handoffs=[_english()],
        model=ScriptedModel([[function_call("transfer_to_englishagent", {}, call_id="call_h")]]),
    )


def tool_alongside_handoff() -> Agent[Any]:
    """test_streamed_tool_call_alongside_handoff_still_emits_tool_called."""
    return Agent(
        name="TriageAgent",
        handoffs=[handoff(_english(), input_filter=remove_all_tools)],
        tools=[foo],
        model=ScriptedModel(
            [
                [
                    function_call("foo", {"args": "b"}, call_id="tool_call"),
                    function_call("transfer_to_englishagent", {}, call_id="call_h"),
                ]
            ]
        ),
    )


def handoff_items_match() -> Agent[Any]:
    """test_streamed_handoff_item_events_match_new_items."""
    return Agent(
        name="TriageAgent",
        handoffs=[_english()],
        model=ScriptedModel(
            [
                [
                    assistant_message("Transferring"),
                    function_call("transfer_to_englishagent", {}, call_id="call_h"),
                ]
            ]
        ),
    )


EVENTS = "test_stream_events"

# --- tests/test_streaming_tool_call_arguments.py -------------------------------------------


def split_argument_step(calls: Sequence[ResponseFunctionToolCall]) -> ModelStep:
    """Each call added with empty arguments, then done with its arguments, no deltas; every
    item at output index 0, as upstream's ``_split_argument_step`` sends them."""
    events: list[Any] = []
    for call in calls:
        empty = call.model_copy(update={"arguments": ""})
        events.append(
            ResponseOutputItemAddedEvent(
                type="response.output_item.added",
                item=empty,
                output_index=0,
                sequence_number=len(events),
            )
        )
        events.append(
            ResponseOutputItemDoneEvent(
                type="response.output_item.done",
                item=call,
                output_index=0,
                sequence_number=len(events),
            )
        )
    response = Response(
        id="resp_split",
        created_at=0,
        model="scripted",
        object="response",
        output=list(calls),
        tool_choice="auto",
        tools=[],
        parallel_tool_calls=False,
    )
    events.append(
        ResponseCompletedEvent(
            type="response.completed", response=response, sequence_number=len(events)
        )
    )
    return ModelStep.stream(events)


@function_tool
def calculate_sum(a: int, b: int) -> str:
    """Add two numbers together."""
    return str(a + b)


@function_tool
def format_message(name: str, message: str, urgent: bool = False) -> str:
    """Format a message with name and urgency."""
    return f"{'URGENT: ' if urgent else ''}Hello {name}, {message}"


@function_tool
def get_current_time() -> str:
    """Get the current time (no arguments needed)."""
    return "2024-01-15 10:30:00"


def _split_calls(tools: list[Any], *calls: ResponseFunctionToolCall) -> Agent[Any]:
    return Agent(
        name="TestAgent",
        tools=tools,
        model=ScriptedModel([split_argument_step(calls), [assistant_message("done")]]),
    )


def _call(name: str, arguments: str, call_id: str) -> ResponseFunctionToolCall:
    return ResponseFunctionToolCall(
        type="function_call", id=call_id, call_id=call_id, name=name, arguments=arguments
    )


ARGUMENTS = "test_streaming_tool_call_arguments"

# --- tests/mcp/test_runner_calls_mcp.py ----------------------------------------------------


class ScriptedMCPServer(MCPServer):
    """A local MCP server with fixed tools: a call answers
    ``result_<tool>_<arguments as JSON>`` (upstream's ``FakeMCPServer``)."""

    def __init__(self, *tools: str, server_name: str = "fake_mcp_server", **options: Any):
        super().__init__(**options)
        self._tools = [MCPTool(name=t, inputSchema={}) for t in tools]
        self._name = server_name
        self.calls: list[str] = []

    @property
    def name(self) -> str:
        return self._name

    async def connect(self) -> None:
        pass

    async def cleanup(self) -> None:
        pass

    async def list_tools(self, run_context: Any = None, agent: Any = None) -> list[MCPTool]:
        return list(self._tools)

    async def call_tool(
        self, tool_name: str, arguments: dict[str, Any] | None, meta: Any = None
    ) -> CallToolResult:
        self.calls.append(tool_name)
        text = f"result_{tool_name}_{json.dumps(arguments)}"
        return CallToolResult(content=[TextContent(text=text, type="text")])

    async def list_prompts(self) -> ListPromptsResult:
        return ListPromptsResult(prompts=[])

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError


def mcp_agent(servers: list[MCPServer], call: Any, **options: Any) -> Agent[Any]:
    return Agent(
        name="test",
        mcp_servers=servers,
        model=ScriptedModel([[assistant_message("a_message"), call], [assistant_message("done")]]),
        **options,
    )


def _three_tools() -> ScriptedMCPServer:
    return ScriptedMCPServer("test_tool_1", "test_tool_2", "test_tool_3")


@tool_input_guardrail
def reject_input(data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
    return ToolGuardrailFunctionOutput.reject_content("blocked MCP input")


@tool_output_guardrail
def reject_output(data: ToolOutputGuardrailData) -> ToolGuardrailFunctionOutput:
    return ToolGuardrailFunctionOutput.reject_content("blocked MCP output")


MCP = "mcp/test_runner_calls_mcp"

# --- tests/test_tool_guardrails.py ---------------------------------------------------------


@tool_input_guardrail
def trip_input(data: ToolInputGuardrailData) -> ToolGuardrailFunctionOutput:
    return ToolGuardrailFunctionOutput.raise_exception(output_info="stop")


def tool_tripwire_after_turn() -> Agent[Any]:
    """test_tool_tripwire_preserves_completed_turn_results: a turn whose tool ran, then a
    tool whose input guardrail raises."""

    @function_tool
    def safe() -> str:
        """A tool without guardrails."""
        return "safe result"

    @function_tool(tool_input_guardrails=[trip_input])
    def guarded_tool() -> str:
        """A tool whose input guardrail trips."""
        return "never"

    return Agent(
        name="test",
        tools=[safe, guarded_tool],
        model=ScriptedModel(
            [
                [function_call("safe", {}, call_id="call_safe")],
                [function_call("guarded_tool", {}, call_id="call_guarded")],
            ]
        ),
    )


# --- tests/test_agent_as_tool.py (the streamed nested run, end to end) ---------------------


def _lead(tool: Any) -> Agent[Any]:
    return Agent(
        name="Lead",
        tools=[tool],
        model=ScriptedModel(
            [
                [function_call(tool.name, {"input": "hello"}, call_id="call_agent")],
                [assistant_message("lead done")],
            ]
        ),
    )


def agent_tool_streams() -> Agent[Any]:
    """test_agent_as_tool_streams_events_with_on_stream: the nested run's events reach
    the handler (here uiwire's), the tool's output is its final output."""
    streamer = Agent(name="streamer", model=ScriptedModel([[assistant_message("streamed output")]]))
    return _lead(
        streamer.as_tool(
            tool_name="stream_tool", tool_description="", on_stream=agent_tool_progress
        )
    )


def agent_tool_handoff() -> Agent[Any]:
    """test_agent_as_tool_streaming_updates_agent_on_handoff: the nested run hands off."""
    delegate = Agent(name="delegate", model=ScriptedModel([[assistant_message("delegated")]]))
    router = Agent(
        name="router",
        handoffs=[delegate],
        model=ScriptedModel([[function_call("transfer_to_delegate", {}, call_id="call_nh")]]),
    )
    return _lead(
        router.as_tool(tool_name="router_tool", tool_description="", on_stream=agent_tool_progress)
    )


async def _extract(result: Any) -> str:
    return f"custom:{result.final_output}"


def agent_tool_extractor() -> Agent[Any]:
    """test_agent_as_tool_streaming_works_with_custom_extractor."""
    streamer = Agent(name="streamer", model=ScriptedModel([[assistant_message("raw output")]]))
    return _lead(
        streamer.as_tool(
            tool_name="stream_tool",
            tool_description="",
            on_stream=agent_tool_progress,
            custom_output_extractor=_extract,
        )
    )


def agent_tool_without_stream() -> Agent[Any]:
    """test_agent_as_tool_without_stream_uses_run: no ``on_stream``, the nested run is
    not streamed."""
    inner = Agent(name="inner", model=ScriptedModel([[assistant_message("plain output")]]))
    return _lead(inner.as_tool(tool_name="inner_tool", tool_description=""))


AS_TOOL = "test_agent_as_tool"


PEERS: dict[str, Peer] = {
    f"{GUARDRAILS}::test_parallel_guardrail_runs_concurrently_with_agent_streaming": Peer(
        lambda: guarded(_input_guards((False, True))), input="test input"
    ),
    f"{GUARDRAILS}::test_blocking_guardrail_prevents_agent_execution_streaming": Peer(
        lambda: guarded(_input_guards((True, False))),
        input="test input",
        raises=InputGuardrailTripwireTriggered,
    ),
    f"{GUARDRAILS}::test_parallel_guardrail_error_cancels_streaming_model": Peer(
        lambda: guarded([InputGuardrail(guardrail_function=_raising_check)]),
        input="trigger guardrail",
        raises=ValueError,
    ),
    f"{GUARDRAILS}::test_parallel_guardrail_trip_before_tool_execution_stops_streaming_turn": Peer(
        lambda: guarded(_input_guards((True, True)), tool_turn=True),
        input="trigger guardrail",
        raises=InputGuardrailTripwireTriggered,
    ),
    f"{GUARDRAILS}::test_blocking_guardrail_prevents_tool_execution_streaming": Peer(
        lambda: guarded(_input_guards((True, False)), tool_turn=True),
        input="trigger guardrail",
        raises=InputGuardrailTripwireTriggered,
    ),
    f"{GUARDRAILS}::test_parallel_guardrail_may_not_prevent_tool_execution_streaming": Peer(
        lambda: guarded(_input_guards((False, True)), tool_turn=True), input="use the tool"
    ),
    f"{GUARDRAILS}::test_parallel_guardrail_passes_agent_continues_streaming": Peer(
        lambda: guarded(_input_guards((False, True))), input="test input"
    ),
    f"{GUARDRAILS}::test_blocking_guardrail_passes_agent_continues_streaming": Peer(
        lambda: guarded(_input_guards((False, False))), input="test input"
    ),
    f"{GUARDRAILS}::test_mixed_blocking_and_parallel_guardrails_streaming": Peer(
        lambda: guarded(_input_guards((False, False), (False, True))), input="test input"
    ),
    f"{GUARDRAILS}::test_multiple_blocking_guardrails_complete_before_agent_streaming": Peer(
        lambda: guarded(_input_guards((False, False), (False, False))), input="test input"
    ),
    f"{GUARDRAILS}::test_multiple_blocking_guardrails_one_triggers_streaming": Peer(
        lambda: guarded(_input_guards((False, False), (True, False))),
        input="test input",
        raises=InputGuardrailTripwireTriggered,
    ),
    f"{GUARDRAILS}::test_blocking_guardrail_cancels_remaining_on_trigger_streaming": Peer(
        lambda: guarded(_input_guards((True, False), (False, False))),
        input="test input",
        raises=InputGuardrailTripwireTriggered,
    ),
    f"{GUARDRAILS}::test_input_guardrail_tripwire_reports_results_streamed": Peer(
        lambda: guarded(_input_guards((False, True), (True, True))),
        input="user_message",
        raises=InputGuardrailTripwireTriggered,
    ),
    f"{GUARDRAILS}::test_input_guardrail_exception_reports_completed_results_streamed": Peer(
        lambda: guarded([*_input_guards((False, False)), InputGuardrail(_raising_check)]),
        input="user_message",
        raises=ValueError,
    ),
    f"{GUARDRAILS}::test_output_guardrail_tripwire_reports_results_streamed": Peer(
        _output_tripwire_agent, raises=OutputGuardrailTripwireTriggered
    ),
    f"{GUARDRAILS}::test_output_guardrail_exception_reports_completed_results_streamed": Peer(
        _output_exception_agent, raises=ValueError
    ),
    f"{EVENTS}::test_stream_events_main": Peer(stream_events_main, input="Hello"),
    f"{EVENTS}::test_stream_events_main_with_handoff": Peer(
        stream_events_with_handoff,
        input="Start",
        shown_only={"call_foo": "output-available", "call_h": "output-available"},
    ),
    f"{EVENTS}::test_complete_streaming_events": Peer(complete_streaming_events, input="Hello"),
    f"{EVENTS}::test_tool_call_event_preserves_order_before_later_reasoning_item": Peer(
        call_before_reasoning, input="Hello"
    ),
    f"{EVENTS}::test_handoff_event_preserves_order_before_later_reasoning_item": Peer(
        handoff_before_reasoning, input="Start"
    ),
    f"{EVENTS}::test_handoff_filter_copy_does_not_duplicate_streamed_model_items": Peer(
        handoff_filter_copy, input="Start"
    ),
    f"{EVENTS}::test_streamed_handoff_call_is_not_emitted_as_tool_called": Peer(
        handoff_alone, input="Start"
    ),
    f"{EVENTS}::test_streamed_tool_call_alongside_handoff_still_emits_tool_called": Peer(
        tool_alongside_handoff,
        input="Start",
        shown_only={"tool_call": "output-available", "call_h": "output-available"},
    ),
    f"{EVENTS}::test_streamed_handoff_item_events_match_new_items": Peer(
        handoff_items_match, input="Start"
    ),
    f"{ARGUMENTS}::test_streaming_tool_call_arguments_not_empty": Peer(
        lambda: _split_calls(
            [calculate_sum], _call("calculate_sum", '{"a": 5, "b": 3}', "call_123")
        )
    ),
    f"{ARGUMENTS}::test_streaming_tool_call_arguments_complex": Peer(
        lambda: _split_calls(
            [format_message],
            _call(
                "format_message",
                '{"name": "Alice", "message": "Your meeting is starting soon", "urgent": true}',
                "call_456",
            ),
        )
    ),
    f"{ARGUMENTS}::test_streaming_multiple_tool_calls_arguments": Peer(
        lambda: _split_calls(
            [calculate_sum, format_message],
            _call("calculate_sum", '{"a": 10, "b": 20}', "call_1"),
            _call("format_message", '{"name": "Bob", "message": "Test"}', "call_2"),
        ),
        input="Do some calculations",
    ),
    f"{ARGUMENTS}::test_streaming_tool_call_with_empty_arguments": Peer(
        lambda: _split_calls([get_current_time], _call("get_current_time", "{}", "call_time"))
    ),
    f"{MCP}::test_runner_calls_mcp_tool": Peer(
        lambda: mcp_agent([_three_tools()], function_call("test_tool_2", "", call_id="c2"))
    ),
    f"{MCP}::test_runner_calls_mcp_tool_with_args": Peer(
        lambda: mcp_agent(
            [_three_tools()], function_call("test_tool_2", {"bar": "baz", "baz": 1}, call_id="c2")
        )
    ),
    f"{MCP}::test_runner_works_with_multiple_mcp_servers": Peer(
        lambda: mcp_agent(
            [ScriptedMCPServer("test_tool_1"), ScriptedMCPServer("test_tool_2", "test_tool_3")],
            function_call("test_tool_2", "", call_id="c2"),
        )
    ),
    f"{MCP}::test_runner_asserts_when_mcp_tool_not_found": Peer(
        lambda: mcp_agent(
            [_three_tools()], function_call("test_tool_doesnt_exist", "", call_id="c9")
        ),
        raises=ModelBehaviorError,
    ),
    f"{MCP}::test_runner_errors_when_mcp_tools_clash": Peer(
        lambda: mcp_agent(
            [
                ScriptedMCPServer("test_tool_1", "test_tool_2"),
                ScriptedMCPServer("test_tool_2", "test_tool_3"),
            ],
            function_call("test_tool_3", "", call_id="c3"),
        ),
        raises=UserError,
    ),
    f"{MCP}::test_runner_can_call_server_prefixed_mcp_tool_names": Peer(
        lambda: mcp_agent(
            [
                ScriptedMCPServer("search", server_name="docs"),
                ScriptedMCPServer("search", server_name="calendar"),
            ],
            function_call("mcp_calendar__search", "", call_id="c_search"),
            mcp_config={"include_server_in_tool_names": True},
        )
    ),
    f"{MCP}::test_mcp_input_guardrail_rejection_prevents_server_call": Peer(
        lambda: mcp_agent(
            [ScriptedMCPServer("sensitive", tool_input_guardrails=[reject_input])],
            function_call("sensitive", {"secret": "value"}, call_id="c_s"),
        )
    ),
    f"{MCP}::test_mcp_output_guardrail_checks_converted_output_before_model_input": Peer(
        lambda: mcp_agent(
            [ScriptedMCPServer("lookup", tool_output_guardrails=[reject_output])],
            function_call("lookup", {}, call_id="c_l"),
        )
    ),
    f"{MCP}::test_runner_emits_mcp_error_tool_call_output_item": Peer(
        lambda: mcp_agent([CrashingMCPServer()], function_call("crashing_tool", {}, call_id="c_x")),
        failed={"c_x": MASKED},
    ),
    "test_tool_guardrails::test_tool_tripwire_preserves_completed_turn_results": Peer(
        tool_tripwire_after_turn, raises=ToolInputGuardrailTripwireTriggered
    ),
    f"{AS_TOOL}::test_agent_as_tool_streams_events_with_on_stream": Peer(agent_tool_streams),
    f"{AS_TOOL}::test_agent_as_tool_streaming_updates_agent_on_handoff": Peer(agent_tool_handoff),
    f"{AS_TOOL}::test_agent_as_tool_streaming_works_with_custom_extractor": Peer(
        agent_tool_extractor
    ),
    f"{AS_TOOL}::test_agent_as_tool_without_stream_uses_run": Peer(agent_tool_without_stream),
}
