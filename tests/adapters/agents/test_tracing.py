"""openai-agents#515: a run started in the request handler and read in the response's
task must finish its trace without "Token was created in a different Context"; and the
context variable uiwire sets is reset where it was set."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from agents import Runner, function_tool, set_trace_processors, set_tracing_disabled
from agents.tracing import Span, Trace, TracingProcessor, get_trace_provider
from agents.tracing.scope import Scope
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from tests.support.agents_http import close_clients, http_agent
from tests.support.context_scenarios import consume
from tests.support.fake_llm import FakeLLM, Reply, ToolCallReply
from tests.support.messages import user
from tests.support.servers import serve
from tests.support.stream_rules import assert_valid_body
from uiwire.adapters.agents import AgentsAdapter
from uiwire.adapters.agents._channel import current_channel
from uiwire.server import UIMessageStreamResponse


class MemoryTraces(TracingProcessor):
    """Every trace and span event, in order, from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.events: list[tuple[str, str]] = []

    def _add(self, kind: str, ident: str) -> None:
        with self._lock:
            self.events.append((kind, ident))

    def on_trace_start(self, trace: Trace) -> None:
        self._add("trace-start", trace.trace_id)

    def on_trace_end(self, trace: Trace) -> None:
        self._add("trace-end", trace.trace_id)

    def on_span_start(self, span: Span[Any]) -> None:
        self._add("span-start", span.span_id)

    def on_span_end(self, span: Span[Any]) -> None:
        self._add("span-end", span.span_id)

    def shutdown(self) -> None:
        return None

    def force_flush(self) -> None:
        return None


@pytest.fixture
def traces(monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryTraces]:
    """Tracing on, into memory only (the default exporter would post to the provider)."""
    provider: Any = get_trace_provider()
    monkeypatch.setattr(provider, "_manual_disabled", provider._manual_disabled)
    monkeypatch.setattr(provider, "_disabled", provider._disabled)
    memory = MemoryTraces()
    set_trace_processors([memory])
    set_tracing_disabled(False)
    try:
        yield memory
    finally:
        set_trace_processors([])


@pytest.fixture(autouse=True)
async def _close() -> AsyncIterator[None]:
    yield
    await close_clients()


@function_tool
async def lookup(city: str) -> str:
    """Look up the weather."""
    return f"Sunny in {city}"


def script() -> list[Reply]:
    return [
        Reply(tool_calls=[ToolCallReply("lookup", '{"city": "Paris"}', id="call_1")]),
        Reply(text="Sunny in Paris."),
    ]


def check_closed(traces: MemoryTraces) -> None:
    events = traces.events
    starts = [i for k, i in events if k == "trace-start"]
    ends = [i for k, i in events if k == "trace-end"]
    assert len(starts) == 1
    assert ends == starts, f"the trace was not finished: {events}"
    spans_started = {i for k, i in events if k == "span-start"}
    spans_ended = {i for k, i in events if k == "span-end"}
    assert spans_started
    assert spans_started == spans_ended, "a span was left open"
    assert events[-1][0] == "trace-end"


@pytest.mark.timeout(60)
@pytest.mark.parametrize("started_by", ["handler", "adapter"])
async def test_run_started_in_the_handler_and_read_in_the_response_task(
    traces: MemoryTraces, started_by: str, caplog: pytest.LogCaptureFixture
) -> None:
    errors: list[BaseException] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: errors.append(context.get("exception")))  # type: ignore[arg-type]
    with FakeLLM(script()) as llm:
        agent = http_agent(llm, tools=[lookup])
        adapter = AgentsAdapter(agent)
        handler_tasks: list[asyncio.Task[Any] | None] = []

        async def chat(request: Request) -> UIMessageStreamResponse:
            handler_tasks.append(asyncio.current_task())
            if started_by == "handler":
                result = Runner.run_streamed(agent, "weather?")  # the trace is created here
                return UIMessageStreamResponse(adapter.stream(result))
            return UIMessageStreamResponse(adapter.stream("weather?"))

        app = Starlette(routes=[Route("/api/chat", chat, methods=["POST"])])
        with caplog.at_level(logging.WARNING):
            async with serve(app) as base, httpx.AsyncClient(timeout=30) as client:
                body = {"id": "c", "messages": [user("weather?")]}
                response = await client.post(f"{base}/api/chat", json=body)
    loop.set_exception_handler(None)
    chunks = assert_valid_body(response.content)
    assert chunks[-1] == {"type": "finish"}
    assert errors == []
    problems = [
        r for r in caplog.records if r.levelno >= logging.ERROR or "Context" in r.getMessage()
    ]
    assert problems == []
    check_closed(traces)


async def test_the_context_variable_is_reset_where_it_was_set(traces: MemoryTraces) -> None:
    seen_in_tool: list[bool] = []

    @function_tool
    async def probe() -> str:
        """Report whether the run's channel is visible."""
        seen_in_tool.append(current_channel() is not None)
        return "ok"

    with FakeLLM(
        [Reply(tool_calls=[ToolCallReply("probe", "{}", id="c1")]), Reply(text="done")]
    ) as llm:
        adapter = AgentsAdapter(http_agent(llm, tools=[probe]))
        assert current_channel() is None
        ctx = adapter.stream("q")  # the run starts in the context's work task
        assert_valid_body(await consume(ctx))
    assert seen_in_tool == [True]  # the run's tools saw it
    assert current_channel() is None  # nothing leaked into this context
    assert Scope.get_current_trace() is None
    check_closed(traces)


class OpenTelemetryTraces(TracingProcessor):
    """The SDK's traces as OpenTelemetry spans, each trace's root started in the current
    context (what docs/observability.md asks of a bridging processor)."""

    def __init__(self, tracer: Any) -> None:
        self._tracer = tracer
        self._open: dict[str, Any] = {}

    def on_trace_start(self, trace: Trace) -> None:
        self._open[trace.trace_id] = self._tracer.start_span(f"agents {trace.name}")

    def on_trace_end(self, trace: Trace) -> None:
        self._open.pop(trace.trace_id).end()

    def on_span_start(self, span: Span[Any]) -> None:
        from opentelemetry.trace import set_span_in_context

        parent = self._open.get(span.parent_id or "") or self._open[span.trace_id]
        context = set_span_in_context(parent)
        self._open[span.span_id] = self._tracer.start_span(span.span_data.type, context)

    def on_span_end(self, span: Span[Any]) -> None:
        self._open.pop(span.span_id).end()

    def shutdown(self) -> None:
        return None

    def force_flush(self) -> None:
        return None


async def test_a_bridged_agents_trace_nests_under_the_turns_span(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from tests.support.agents_http import ChatApp
    from uiwire.server import Telemetry

    exported = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exported))
    provider: Any = get_trace_provider()
    monkeypatch.setattr(provider, "_manual_disabled", provider._manual_disabled)
    monkeypatch.setattr(provider, "_disabled", provider._disabled)
    set_trace_processors([OpenTelemetryTraces(tracer_provider.get_tracer("bridge"))])
    set_tracing_disabled(False)
    try:
        with FakeLLM(script()) as llm:
            adapter = AgentsAdapter(http_agent(llm, tools=[lookup]))
            chat = ChatApp(
                adapter,
                telemetry=Telemetry(tracer_provider=tracer_provider),
                conversations=False,
                identity=False,
            )
            async with serve(chat.app) as base, httpx.AsyncClient(timeout=30) as client:
                body = {"id": "c", "messages": [user("weather?")], "trigger": "submit-message"}
                response = await client.post(f"{base}/api/chat", json=body)
                for _ in range(500):  # the turn's span ends as its stream closes
                    if any(s.name == "uiwire.turn" for s in exported.get_finished_spans()):
                        break
                    await asyncio.sleep(0.01)
    finally:
        set_trace_processors([])
    assert_valid_body(response.content)
    spans = {s.name: s for s in exported.get_finished_spans()}
    turn, run = spans["uiwire.turn"], spans["agents Agent workflow"]
    assert turn.context is not None
    assert run.parent is not None
    assert run.parent.span_id == turn.context.span_id
    assert (turn.attributes or {})["uiwire.agent"] == "AgentsAdapter"
    assert {"agent", "function"} <= set(spans)  # the run's own spans, below it
