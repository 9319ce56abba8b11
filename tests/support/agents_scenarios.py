"""Agents SDK runs shared by the pytest suite and the JS conformance corpus.

Each scenario is a real ``agents.Agent`` driven by the SDK's own ``ScriptedModel`` (no
HTTP); ``run_agent`` streams it through ``AgentsAdapter`` and returns the exact SSE
body, the sealed record and the run result. Tests that need the provider's HTTP stream
(disconnects, hosted tools, the Chat Completions path) use ``FakeLLM`` instead.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from agents import (
    Agent,
    GuardrailFunctionOutput,
    HostedMCPTool,
    InputGuardrail,
    OutputGuardrail,
    RunContextWrapper,
    RunErrorHandlerResult,
    Usage,
    function_tool,
    handoff,
    set_tracing_disabled,
)
from agents.mcp import MCPServer
from agents.testing import ModelStep, ScriptedModel, assistant_message, function_call
from agents.tool_context import ToolContext
from mcp.types import CallToolResult, ListPromptsResult, TextContent
from mcp.types import Tool as MCPTool
from openai.types.responses import (
    Response,
    ResponseCompletedEvent,
    ResponseContentPartAddedEvent,
    ResponseContentPartDoneEvent,
    ResponseCreatedEvent,
    ResponseFunctionToolCall,
    ResponseOutputItemAddedEvent,
    ResponseOutputItemDoneEvent,
    ResponseOutputMessage,
    ResponseOutputRefusal,
    ResponseOutputText,
    ResponseReasoningItem,
    ResponseTextDeltaEvent,
)
from openai.types.responses.response_output_item import McpApprovalRequest, McpCall
from openai.types.responses.response_reasoning_item import Summary
from pydantic import BaseModel

from tests.support.agents_http import close_clients, http_agent
from tests.support.context_scenarios import consume
from tests.support.fake_llm import FakeLLM, Reply
from uiwire.adapters.agents import AgentsAdapter, agent_tool_progress, client_tool, tool_stream
from uiwire.protocol.targets import Target
from uiwire.stream import StreamContext, StreamRecord

set_tracing_disabled(True)  # the exporter would post traces to the provider


class ToolLog:
    """Which tools ran, with what, from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def add(self, name: str, **args: Any) -> None:
        with self._lock:
            self.calls.append((name, args))

    def names(self) -> list[str]:
        with self._lock:
            return [name for name, _ in self.calls]

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()


TOOLS = ToolLog()


@function_tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    TOOLS.add("get_weather", city=city)
    return f"Sunny in {city}"


@function_tool
async def broken_lookup(term: str) -> str:
    """Look a term up in the encyclopedia."""
    TOOLS.add("broken_lookup", term=term)
    raise RuntimeError(f"secret internal detail about {term}")


@function_tool(needs_approval=True)
async def delete_file(path: str) -> str:
    """Delete a file on the server."""
    TOOLS.add("delete_file", path=path)
    return f"Deleted {path}"


@function_tool
async def search(ctx: ToolContext[Any], query: str) -> list[str]:
    """Search the web, reporting progress into the stream."""
    TOOLS.add("search", query=query)
    ui = tool_stream(ctx)
    await ui.progress({"status": "searching", "query": query})
    await ui.data("hits", {"count": 2})
    await ui.source("https://example.com/weather", title="Weather")
    return [f"{query} result 1", f"{query} result 2"]


@function_tool
def sync_search(ctx: ToolContext[Any], query: str) -> str:
    """Search the archive (a sync tool, run in a worker thread)."""
    TOOLS.add("sync_search", query=query)
    tool_stream(ctx).sync.progress({"status": "reading the archive"})
    return f"archive: {query}"


def usage(input_tokens: int, output_tokens: int) -> Usage:
    return Usage(
        requests=1,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=input_tokens + output_tokens,
    )


def reasoning(text: str, item_id: str = "rs_1") -> ResponseReasoningItem:
    return ResponseReasoningItem(
        id=item_id, type="reasoning", summary=[Summary(text=text, type="summary_text")]
    )


def refusal(text: str) -> ResponseOutputMessage:
    return ResponseOutputMessage(
        id="msg_refusal",
        type="message",
        role="assistant",
        status="completed",
        content=[ResponseOutputRefusal(refusal=text, type="refusal")],
    )


def bad_call(name: str, arguments: str, call_id: str) -> ResponseFunctionToolCall:
    return ResponseFunctionToolCall(
        type="function_call", call_id=call_id, name=name, arguments=arguments, id=call_id
    )


@dataclass
class Outcome:
    body: bytes
    record: StreamRecord
    result: Any
    ctx: StreamContext[Any]


async def run_agent(
    agent: Agent[Any] | AgentsAdapter,
    input: Any = "What is the weather in Paris?",
    *,
    context: Any = None,
    target: Target = "v6",
    run_options: dict[str, Any] | None = None,
    **adapter_options: Any,
) -> Outcome:
    """Stream one run through ``AgentsAdapter`` into a collecting context;
    ``run_options`` go to ``Runner.run_streamed`` (``error_handlers``, ...)."""
    adapter = agent if isinstance(agent, AgentsAdapter) else AgentsAdapter(agent, **adapter_options)
    ctx: StreamContext[Any] = StreamContext(collect=True, target=target)
    results: list[Any] = []

    async def work(ctx: StreamContext[Any]) -> None:
        results.append(
            await adapter.stream_into(ctx, input, context=context, **(run_options or {}))
        )

    ctx.run(work)
    body = await consume(ctx)
    await ctx.wait_closed()
    assert ctx.record is not None
    return Outcome(body, ctx.record, results[0] if results else None, ctx)


async def resume_agent(
    adapter: AgentsAdapter, message: Any, *, target: Target = "v6", **options: Any
) -> Outcome:
    """Continue a paused run from the answered ``message`` (``take_approvals``, then
    ``stream_into`` a collecting context that continues it)."""
    resumption = await adapter.take_approvals(message)
    ctx: StreamContext[Any] = StreamContext(
        continued_message=resumption.message, collect=True, target=target
    )
    ctx.run(adapter.stream_into(ctx, resumption, **options))
    body = await consume(ctx)
    await ctx.wait_closed()
    assert ctx.record is not None
    return Outcome(body, ctx.record, None, ctx)


def answer_approvals(message: dict[str, Any], approved: bool, reason: str | None = None) -> None:
    """What ``addToolApprovalResponse`` does to the client's copy of the message."""
    for part in message["parts"]:
        if part.get("state") == "approval-requested":
            part["state"] = "approval-responded"
            part["approval"] = {**part["approval"], "approved": approved}
            if reason is not None:
                part["approval"]["reason"] = reason


# --- scenarios -----------------------------------------------------------------------------


def weather_agent(*extra_tools: Any, steps: Sequence[Any] | None = None) -> Agent[Any]:
    model = ScriptedModel(
        steps
        or [
            ModelStep(
                output=[
                    reasoning("The user wants the weather; I should call the tool."),
                    function_call("get_weather", {"city": "Paris"}, call_id="call_w1"),
                ],
                usage=usage(12, 8),
            ),
            ModelStep(output=[assistant_message("It is sunny in Paris.")], usage=usage(30, 6)),
        ]
    )
    return Agent(name="Weather", tools=[get_weather, *extra_tools], model=model)


def s_text() -> Agent[Any]:
    return Agent(
        name="Greeter",
        model=ScriptedModel(
            [ModelStep(output=[assistant_message("Hello there!")], usage=usage(5, 3))]
        ),
    )


def s_tools() -> Agent[Any]:
    return weather_agent()


def s_tool_errors() -> Agent[Any]:
    return weather_agent(
        broken_lookup,
        steps=[
            [
                function_call("broken_lookup", {"term": "x"}, call_id="call_b1"),
                bad_call("get_weather", '{"city": ', "call_bad"),
            ],
            [assistant_message("Sorry, both failed.")],
        ],
    )


def s_approval() -> Agent[Any]:
    return Agent(
        name="Admin",
        tools=[delete_file, get_weather],
        model=ScriptedModel(
            [
                [
                    function_call("delete_file", {"path": "/tmp/a.txt"}, call_id="call_d1"),
                    function_call("get_weather", {"city": "Oslo"}, call_id="call_w2"),
                ],
                [assistant_message("Done.")],
            ]
        ),
    )


def s_handoff() -> Agent[Any]:
    billing = Agent(
        name="Billing",
        handoff_description="Answers billing questions.",
        model=ScriptedModel([[assistant_message("Your invoice is paid.")]]),
    )
    return Agent(
        name="Triage",
        handoffs=[billing],
        model=ScriptedModel([[function_call("transfer_to_billing", {}, call_id="call_h1")]]),
    )


def s_agent_as_tool() -> Agent[Any]:
    researcher = Agent(
        name="Researcher",
        tools=[get_weather],
        model=ScriptedModel(
            [
                [function_call("get_weather", {"city": "Rome"}, call_id="call_n1")],
                [assistant_message("Rome is sunny.")],
            ]
        ),
    )
    tool = researcher.as_tool(
        tool_name="research",
        tool_description="Research a question.",
        on_stream=agent_tool_progress,
    )
    return Agent(
        name="Lead",
        tools=[tool],
        model=ScriptedModel(
            [
                [function_call("research", {"input": "weather in Rome"}, call_id="call_r1")],
                [assistant_message("The researcher says Rome is sunny.")],
            ]
        ),
    )


def s_tool_stream() -> Agent[Any]:
    return weather_agent(
        search,
        sync_search,
        steps=[
            [
                function_call("search", {"query": "weather"}, call_id="call_s1"),
                function_call("sync_search", {"query": "1999"}, call_id="call_s2"),
            ],
            [assistant_message("Found it.")],
        ],
    )


def s_refusal() -> Agent[Any]:
    return Agent(name="Careful", model=ScriptedModel([[refusal("I can't help with that.")]]))


def s_max_turns() -> Agent[Any]:
    return weather_agent(
        steps=[
            [function_call("get_weather", {"city": "Paris"}, call_id="call_m1")],
            [function_call("get_weather", {"city": "Lyon"}, call_id="call_m2")],
        ]
    )


async def _tripwire(ctx: RunContextWrapper[Any], agent: Agent[Any], input: Any) -> Any:
    return GuardrailFunctionOutput(output_info={"blocked": True}, tripwire_triggered=True)


def s_guardrail() -> Agent[Any]:
    return Agent(
        name="Guarded",
        input_guardrails=[InputGuardrail(guardrail_function=_tripwire)],
        model=ScriptedModel([[assistant_message("never sent")]]),
    )


# --- upstream scenarios (the Agents SDK's own tests, openai-agents 0.24.0) -----------------


class FinalSummary(BaseModel):
    summary: str


def s_recovered_max_turns() -> Agent[Any]:
    """tests/test_max_turns.py::test_streamed_max_turns_handler_returns_output: no turn
    allowed, the ``max_turns`` handler answers."""
    return Agent(name="Limited", model=ScriptedModel())


def recover_max_turns(_data: Any) -> RunErrorHandlerResult:
    return RunErrorHandlerResult(final_output="summary")


def s_recovered_invalid_output() -> Agent[Any]:
    """tests/test_invalid_final_output_handler.py::
    test_streamed_invalid_final_output_emits_exact_fallback_item."""
    return Agent(
        name="Structured",
        model=ScriptedModel([[assistant_message("not valid json")]]),
        output_type=FinalSummary,
    )


def recover_invalid_output(_data: Any) -> FinalSummary:
    return FinalSummary(summary="safe fallback")


def recover_refusal(_data: Any) -> str:
    return "safe fallback"


def s_recovered_refusal() -> Agent[Any]:
    """tests/test_max_turns.py::test_streamed_refusal_handler_returns_output."""
    return Agent(
        name="Careful",
        model=ScriptedModel([[refusal("I cannot help with that request.")]]),
    )


def _response(output: Sequence[Any]) -> Response:
    return Response(
        id="resp_scripted",
        created_at=0,
        model="scripted",
        object="response",
        output=list(output),
        tool_choice="auto",
        tools=[],
        parallel_tool_calls=False,
    )


def model_events(
    streamed: Sequence[Any], final: Sequence[Any], *, created: bool = True
) -> ModelStep:
    """A model call as exact Responses events: each of ``streamed`` as a finished item,
    then ``response.completed`` holding ``final`` (tests/
    test_streamed_terminal_output_backfill.py's ``_stream_step``); ``created=False`` is a
    hand-written model that sends no ``response.created``."""
    response = _response(final)
    events: list[Any] = []
    if created:
        events.append(
            ResponseCreatedEvent(type="response.created", response=response, sequence_number=0)
        )
    for index, item in enumerate(streamed):
        events.append(
            ResponseOutputItemDoneEvent(
                type="response.output_item.done",
                item=item,
                output_index=index,
                sequence_number=len(events),
            )
        )
    events.append(
        ResponseCompletedEvent(
            type="response.completed", response=response, sequence_number=len(events)
        )
    )
    return ModelStep.stream(events)


def s_no_response_created() -> Agent[Any]:
    """The streamed runner's tool turn then answer (tests/test_agent_runner_streamed.py::
    test_tool_call_runs), from a model that sends no ``response.created``."""
    call = function_call("get_weather", {"city": "Paris"}, call_id="call_nc1")
    answer = assistant_message("It is sunny in Paris.")
    return weather_agent(
        steps=[
            model_events([call], [call], created=False),
            model_events([answer], [answer], created=False),
        ]
    )


def s_final_response_differs() -> Agent[Any]:
    """tests/test_streamed_terminal_output_backfill.py::
    test_streamed_runner_preserves_populated_terminal_output: a streamed tool call, a final
    response holding only the answer; the SDK acts on the final response."""
    call = function_call("get_weather", {"city": "Paris"}, call_id="call_fd1")
    return weather_agent(steps=[model_events([call], [assistant_message("done")])])


def lookup_failed(_ctx: Any, error: Exception) -> str:
    """A tool's own failure function: what the model is told."""
    return f"lookup failed: {error}"


@function_tool(failure_error_function=lookup_failed)
async def guarded_lookup(term: str) -> str:
    """Look a term up in the archive."""
    raise RuntimeError(f"secret internal detail about {term}")


def s_tool_own_failure_function() -> Agent[Any]:
    """tests/test_function_tool.py's custom ``failure_error_function``, in a streamed run."""
    return weather_agent(
        guarded_lookup,
        steps=[
            [function_call("guarded_lookup", {"term": "x"}, call_id="call_g1")],
            [assistant_message("The lookup failed.")],
        ],
    )


def s_agent_as_tool_own_failure_function() -> Agent[Any]:
    """An agent used as a tool whose own tool fails through its failure function: the
    nested run runs the user's agent, and its tools too must report the failure."""
    archivist = Agent(
        name="Archivist",
        tools=[guarded_lookup],
        model=ScriptedModel(
            [
                [function_call("guarded_lookup", {"term": "x"}, call_id="call_ng1")],
                [assistant_message("The archive lookup failed.")],
            ]
        ),
    )
    tool = archivist.as_tool(
        tool_name="archive", tool_description="Search the archive.", on_stream=agent_tool_progress
    )
    return Agent(
        name="Lead",
        tools=[tool],
        model=ScriptedModel(
            [
                [function_call("archive", {"input": "x"}, call_id="call_na1")],
                [assistant_message("The archivist could not find it.")],
            ]
        ),
    )


async def _cancel_tool() -> str:
    raise asyncio.CancelledError("tool-cancelled")


def s_cancelled_tool() -> Agent[Any]:
    """tests/test_agent_runner_streamed.py::
    test_streamed_single_tool_call_with_cancelled_tool_reaches_final_output."""
    return Agent(
        name="Canceller",
        tools=[function_tool(_cancel_tool, name_override="cancel_tool")],
        model=ScriptedModel(
            [
                [function_call("cancel_tool", {}, call_id="call_cancel")],
                [assistant_message("final answer")],
            ]
        ),
    )


class CrashingMCPServer(MCPServer):
    """tests/mcp/test_runner_calls_mcp.py's ``CrashingFakeMCPServer``: one tool, which
    raises."""

    def __init__(self) -> None:
        super().__init__(use_structured_content=False)

    @property
    def name(self) -> str:
        return "fake_mcp_server"

    async def connect(self) -> None:
        pass

    async def cleanup(self) -> None:
        pass

    async def list_tools(self, run_context: Any = None, agent: Any = None) -> list[MCPTool]:
        return [MCPTool(name="crashing_tool", inputSchema={})]

    async def call_tool(
        self, tool_name: str, arguments: dict[str, Any] | None, meta: Any = None
    ) -> CallToolResult:
        raise Exception("Crash! secret internal detail")

    async def list_prompts(self) -> ListPromptsResult:
        return ListPromptsResult(prompts=[])

    async def get_prompt(self, name: str, arguments: dict[str, Any] | None = None) -> Any:
        raise NotImplementedError


def s_mcp_tool_error() -> Agent[Any]:
    """tests/mcp/test_runner_calls_mcp.py::test_runner_emits_mcp_error_tool_call_output_item."""
    return Agent(
        name="Mcp",
        mcp_servers=[CrashingMCPServer()],
        model=ScriptedModel(
            [
                [
                    assistant_message("a_message"),
                    function_call("crashing_tool", {}, call_id="call_mcp1"),
                ],
                [assistant_message("done")],
            ]
        ),
    )


class ForecastMCPServer(CrashingMCPServer):
    """tests/mcp/helpers.py's ``FakeMCPServer`` with one tool that has a display title
    (tests/mcp/test_runner_calls_mcp.py::test_runner_calls_mcp_tool); ``calls`` counts
    what reached the server."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    @property
    def name(self) -> str:
        return "weather_server"

    async def list_tools(self, run_context: Any = None, agent: Any = None) -> list[MCPTool]:
        return [
            MCPTool(
                name="get_forecast",
                title="Weather forecast",
                description="Forecast the weather in a city.\nGives three days.",
                inputSchema={"type": "object", "properties": {"city": {"type": "string"}}},
            )
        ]

    async def call_tool(
        self, tool_name: str, arguments: dict[str, Any] | None, meta: Any = None
    ) -> CallToolResult:
        self.calls.append(tool_name)
        return CallToolResult(content=[TextContent(type="text", text="Rain in Oslo")])


def s_mcp_tool() -> Agent[Any]:
    """tests/mcp/test_runner_calls_mcp.py::test_runner_calls_mcp_tool, with a titled tool."""
    return Agent(
        name="Forecaster",
        mcp_servers=[ForecastMCPServer()],
        model=ScriptedModel(
            [
                [function_call("get_forecast", {"city": "Oslo"}, call_id="call_f1")],
                [assistant_message("Rain in Oslo.")],
            ]
        ),
    )


class HandoffInput(BaseModel):
    bar: str


HANDOFF_INPUTS: list[str] = []


def _on_handoff(_ctx: RunContextWrapper[Any], data: HandoffInput) -> None:
    HANDOFF_INPUTS.append(data.bar)


def target_of(handoff: Any) -> Any:
    """The agent a ``handoff()`` object keeps a reference to (what ``RunState`` follows)."""
    ref = handoff._agent_ref
    return None if ref is None else ref()


def s_handoff_object() -> Agent[Any]:
    """tests/test_agent_runner_streamed.py::test_handoff_on_input (a ``handoff()`` object
    with ``on_handoff`` and ``input_type``), whose target runs a tool with its own failure
    function (tests/test_function_tool.py)."""
    librarian = Agent(
        name="Librarian",
        tools=[guarded_lookup],
        model=ScriptedModel(
            [
                [function_call("guarded_lookup", {"term": "x"}, call_id="call_hg1")],
                [assistant_message("last")],
            ]
        ),
    )
    to_librarian = handoff(
        agent=librarian,
        on_handoff=_on_handoff,
        input_type=HandoffInput,
        tool_description_override="Hand over to the librarian.",
    )
    return Agent(
        name="Desk",
        handoffs=[to_librarian],
        model=ScriptedModel(
            [
                [
                    assistant_message("1"),
                    function_call(
                        to_librarian.tool_name, {"bar": "test_input"}, call_id="call_ho1"
                    ),
                ]
            ]
        ),
    )


def _block_everything(ctx: RunContextWrapper[Any], agent: Agent[Any], output: Any) -> Any:
    return GuardrailFunctionOutput(output_info={"blocked": True}, tripwire_triggered=True)


def s_guardrail_after_tool() -> Agent[Any]:
    """tests/test_agent_runner_streamed.py: an agent with ``stop_on_first_tool`` whose
    output guardrail trips (as in test_output_guardrail_tripwire_triggered_causes_
    exception_streamed): the tool's output is the final output, which it blocks."""
    return weather_agent(
        steps=[[function_call("get_weather", {"city": "Paris"}, call_id="call_og1")]]
    ).clone(
        tool_use_behavior="stop_on_first_tool",
        output_guardrails=[OutputGuardrail(guardrail_function=_block_everything)],
    )


def s_stop_on_first_tool() -> Agent[Any]:
    """The same agent whose guardrail passes: the held output is sent."""
    return s_guardrail_after_tool().clone(output_guardrails=[OutputGuardrail(_pass)])


async def _pass(ctx: RunContextWrapper[Any], agent: Agent[Any], output: Any) -> Any:
    return GuardrailFunctionOutput(output_info=None, tripwire_triggered=False)


# --- structured output (issue 22 item 3) ------------------------------------------------


class DayForecast(BaseModel):
    day: str
    high_c: float


class WeatherReport(BaseModel):
    city: str
    days: list[DayForecast]
    summary: str


WEATHER_REPORT_JSON = (
    '{"city": "Paris", "days": [{"day": "Mon", "high_c": 21.5}, '
    '{"day": "Tue", "high_c": 19}], "summary": "Mild, then \u00e9clairs."}'
)
"""What the scripted model writes for ``WeatherReport``, streamed in ``PIECES`` pieces."""

PIECES = 9


def pieces(text: str, count: int = PIECES) -> list[str]:
    """``text`` cut into ``count`` pieces, as a provider's deltas."""
    size = -(-len(text) // count)
    return [text[i : i + size] for i in range(0, len(text), size)]


def streamed_message(text: str, *, item_id: str = "msg_streamed") -> ModelStep:
    """A model call that streams one assistant message in ``pieces``: every Responses
    event a provider sends (created, item and content part added, text deltas, content
    part and item done, completed)."""
    message = assistant_message(text, item_id=item_id)
    in_progress = ResponseOutputMessage(
        id=item_id, type="message", role="assistant", status="in_progress", content=[]
    )
    empty = ResponseOutputText(type="output_text", text="", annotations=[])
    whole = ResponseOutputText(type="output_text", text=text, annotations=[])
    response = _response([message])
    events: list[Any] = [
        ResponseCreatedEvent(type="response.created", response=response, sequence_number=0),
        ResponseOutputItemAddedEvent(
            type="response.output_item.added", item=in_progress, output_index=0, sequence_number=1
        ),
        ResponseContentPartAddedEvent(
            type="response.content_part.added",
            item_id=item_id,
            output_index=0,
            content_index=0,
            part=empty,
            sequence_number=2,
        ),
    ]
    for piece in pieces(text):
        events.append(
            ResponseTextDeltaEvent(
                type="response.output_text.delta",
                item_id=item_id,
                output_index=0,
                content_index=0,
                delta=piece,
                logprobs=[],
                sequence_number=len(events),
            )
        )
    events += [
        ResponseContentPartDoneEvent(
            type="response.content_part.done",
            item_id=item_id,
            output_index=0,
            content_index=0,
            part=whole,
            sequence_number=len(events),
        ),
        ResponseOutputItemDoneEvent(
            type="response.output_item.done",
            item=message,
            output_index=0,
            sequence_number=len(events) + 1,
        ),
        ResponseCompletedEvent(
            type="response.completed", response=response, sequence_number=len(events) + 2
        ),
    ]
    return ModelStep.stream(events)


def s_structured_output() -> Agent[Any]:
    """An agent with a pydantic ``output_type`` whose answer streams in pieces."""
    return Agent(
        name="Forecaster",
        output_type=WeatherReport,
        model=ScriptedModel([streamed_message(WEATHER_REPORT_JSON)]),
    )


def s_structured_list_after_handoff() -> Agent[Any]:
    """A plain-text triage agent says a word and hands off to one whose ``output_type``
    is ``list[str]`` (the SDK wraps it: the model writes ``{"response": [...]}``)."""
    lister = Agent(
        name="Lister",
        output_type=list[str],
        model=ScriptedModel([streamed_message('{"response": ["umbrella", "boots", "coat"]}')]),
    )
    return Agent(
        name="Triage",
        handoffs=[lister],
        model=ScriptedModel(
            [
                [
                    assistant_message("Let me hand you to the packing list."),
                    function_call("transfer_to_lister", {}, call_id="call_hl"),
                ]
            ]
        ),
    )


@dataclass(frozen=True)
class Scenario:
    build: Callable[[], Agent[Any]]
    options: dict[str, Any]
    run: dict[str, Any] = field(default_factory=dict[str, Any])
    """Options for ``Runner.run_streamed``."""


SCENARIOS: dict[str, Scenario] = {
    "text": Scenario(s_text, {}),
    "tools": Scenario(s_tools, {}),
    "tool-errors": Scenario(s_tool_errors, {}),
    "approval": Scenario(s_approval, {}),
    "handoff": Scenario(s_handoff, {}),
    "agent-as-tool": Scenario(s_agent_as_tool, {}),
    "tool-stream": Scenario(s_tool_stream, {}),
    "refusal": Scenario(s_refusal, {}),
    "max-turns": Scenario(s_max_turns, {"max_turns": 1}),
    "guardrail": Scenario(s_guardrail, {}),
    "recovered-max-turns": Scenario(
        s_recovered_max_turns,
        {},
        {"max_turns": 0, "error_handlers": {"max_turns": recover_max_turns}},
    ),
    "recovered-invalid-output": Scenario(
        s_recovered_invalid_output,
        {},
        {"error_handlers": {"invalid_final_output": recover_invalid_output}},
    ),
    "recovered-refusal": Scenario(
        s_recovered_refusal, {}, {"error_handlers": {"model_refusal": recover_refusal}}
    ),
    "no-response-created": Scenario(s_no_response_created, {}),
    "final-response-differs": Scenario(s_final_response_differs, {}),
    "tool-own-failure-function": Scenario(s_tool_own_failure_function, {}),
    "agent-as-tool-own-failure-function": Scenario(s_agent_as_tool_own_failure_function, {}),
    "cancelled-tool": Scenario(s_cancelled_tool, {}),
    "mcp-tool-error": Scenario(s_mcp_tool_error, {}),
    "mcp-tool": Scenario(s_mcp_tool, {}),
    "handoff-object": Scenario(s_handoff_object, {}),
    "guardrail-after-tool": Scenario(s_guardrail_after_tool, {}),
    "stop-on-first-tool": Scenario(s_stop_on_first_tool, {}),
    "structured-output": Scenario(s_structured_output, {}),
    "structured-list-after-handoff": Scenario(s_structured_list_after_handoff, {}),
}


async def run_scenario(name: str, target: Target = "v6") -> Outcome:
    scenario = SCENARIOS[name]
    return await run_agent(
        scenario.build(), target=target, run_options=scenario.run, **scenario.options
    )


async def approval_round_trip(approved: bool, target: Target = "v6") -> tuple[Outcome, Outcome]:
    """The approval scenario paused, answered and resumed: both outcomes."""
    adapter = AgentsAdapter(s_approval())
    first = await run_agent(adapter, target=target)
    message = first.record.message
    answer_approvals(message, approved)
    return first, await resume_agent(adapter, message, target=target)


async def client_tool_round_trip(target: Target = "v6") -> tuple[Outcome, Outcome]:
    """A client-side tool: the run pauses on it, the browser answers (``addToolOutput``),
    the run resumes into the same message. Both outcomes and the answered message."""
    agent = Agent(
        name="Guide",
        tools=[client_tool("get_location", "The user's location, from the browser.")],
        model=ScriptedModel(
            [
                [function_call("get_location", {}, call_id="call_loc")],
                [assistant_message("You are in Lyon.")],
            ]
        ),
    )
    adapter = AgentsAdapter(agent)
    first = await run_agent(adapter, "Where am I?", target=target)
    message = first.record.message
    for part in message["parts"]:
        if part.get("toolCallId") == "call_loc":
            part.update(state="output-available", output={"city": "Lyon"})
    return first, await resume_agent(adapter, message, target=target)


# --- hosted tools (a scripted Responses API on loopback) ------------------------------------

PNG = base64.b64encode(b"\x89PNG fake image bytes").decode()

HOSTED_ITEMS: list[dict[str, Any]] = [
    {
        "type": "web_search_call",
        "id": "ws_1",
        "status": "completed",
        "action": {"type": "search", "query": "weather Paris"},
    },
    {
        "type": "file_search_call",
        "id": "fs_1",
        "status": "completed",
        "queries": ["refund policy"],
        "results": [
            {"file_id": "file_1", "filename": "policy.pdf", "score": 0.9, "text": "30 days"}
        ],
    },
    {
        "type": "code_interpreter_call",
        "id": "ci_1",
        "status": "completed",
        "code": "print(6 * 7)",
        "container_id": "cntr_1",
        "outputs": [{"type": "logs", "logs": "42"}],
    },
    {"type": "image_generation_call", "id": "ig_1", "status": "completed", "result": PNG},
    {
        "type": "mcp_call",
        "id": "mcp_1",
        "name": "lookup_order",
        "server_label": "shop",
        "arguments": '{"order": 7}',
        "output": "shipped",
    },
    {
        "type": "mcp_call",
        "id": "mcp_2",
        "name": "cancel_order",
        "server_label": "shop",
        "arguments": '{"order": 7}',
        "error": "permission denied by the shop",
    },
    {"type": "mcp_list_tools", "id": "mcpl_1", "server_label": "shop", "tools": []},
]

CITATIONS: list[dict[str, Any]] = [
    {
        "type": "url_citation",
        "url": "https://weather.example/paris",
        "title": "Paris weather",
        "start_index": 0,
        "end_index": 5,
    },
    {"type": "file_citation", "file_id": "file_1", "filename": "policy.pdf", "index": 3},
]


async def hosted_tools_run(target: Target = "v6") -> Outcome:
    """One model call with every hosted tool item, citations and text."""
    reply = Reply(text="Sunny. Refunds: 30 days.", items=HOSTED_ITEMS, annotations=CITATIONS)
    try:
        with FakeLLM([reply]) as llm:
            return await run_agent(http_agent(llm), target=target)
    finally:
        await close_clients()


# --- hosted MCP approval (tests/test_run_state.py::
# test_hosted_mcp_approval_round_trip_uses_typed_identity_records, streamed) ---------------

MCP_REQUEST = McpApprovalRequest(
    type="mcp_approval_request",
    id="mcpr_1",
    server_label="shop",
    name="cancel_order",
    arguments='{"order": 7}',
)


def hosted_mcp_agent(call: McpCall) -> Agent[Any]:
    """A hosted MCP tool that needs approval; after it, ``call`` and an answer."""
    answer = assistant_message("Order 7: see the tool's result.")
    return Agent(
        name="Shop",
        tools=[
            HostedMCPTool(
                tool_config={
                    "type": "mcp",
                    "server_label": "shop",
                    "server_url": "https://shop.example/mcp",
                    "require_approval": "always",
                }
            )
        ],
        model=ScriptedModel(
            [
                model_events([MCP_REQUEST], [MCP_REQUEST]),
                model_events([call, answer], [call, answer]),
            ]
        ),
    )


def approved_mcp_call(**result: Any) -> McpCall:
    return McpCall(
        type="mcp_call",
        id="mcp_9",
        server_label="shop",
        name="cancel_order",
        arguments='{"order": 7}',
        approval_request_id="mcpr_1",
        **result,
    )


async def hosted_mcp_round_trip(call: McpCall, target: Target = "v6") -> tuple[Outcome, Outcome]:
    """The hosted MCP call paused for approval, approved, resumed: both outcomes."""
    adapter = AgentsAdapter(hosted_mcp_agent(call))
    first = await run_agent(adapter, "Cancel order 7", target=target)
    message = first.record.message
    answer_approvals(message, True)
    return first, await resume_agent(adapter, message, target=target)


# --- an agent used as a tool, with approvals inside (tests/test_agent_as_tool.py's nested
# approvals, e.g. test_agent_as_tool_rejected_nested_approval_resumes_run, run end to end) --


def nested_approval_agent(outer_gated: bool) -> Agent[Any]:
    """A lead whose tool is an agent that deletes a file (``needs_approval``); with
    ``outer_gated`` the agent tool needs approval too."""
    janitor = Agent(
        name="Janitor",
        tools=[delete_file],
        model=ScriptedModel(
            [
                [function_call("delete_file", {"path": "/tmp/a.txt"}, call_id="call_inner")],
                [assistant_message("Deleted it.")],
            ]
        ),
    )
    tool = janitor.as_tool(
        tool_name="janitor",
        tool_description="Cleans up.",
        on_stream=agent_tool_progress,
        needs_approval=outer_gated,
    )
    return Agent(
        name="Lead",
        tools=[tool],
        model=ScriptedModel(
            [
                [function_call("janitor", {"input": "delete /tmp/a.txt"}, call_id="call_outer")],
                [assistant_message("The janitor is done.")],
            ]
        ),
    )


async def nested_approval_rounds(
    outer_gated: bool, target: Target = "v6"
) -> list[tuple[Outcome, dict[str, Any] | None]]:
    """Run, then approve whatever is asked and resume until nothing is: each outcome
    with the message it continued (None for the first)."""
    adapter = AgentsAdapter(nested_approval_agent(outer_gated))
    outcome = await run_agent(adapter, "Clean up", target=target)
    rounds: list[tuple[Outcome, dict[str, Any] | None]] = [(outcome, None)]
    for _ in range(3):
        message = outcome.record.message
        if not any(p.get("state") == "approval-requested" for p in message["parts"]):
            break
        answer_approvals(message, True)
        continued = copy.deepcopy(message)
        outcome = await resume_agent(adapter, message, target=target)
        rounds.append((outcome, continued))
    return rounds
