"""``Telemetry``: a turn's span and the stream metrics, read with the OpenTelemetry SDK's
in-memory exporter and reader, through a real uvicorn server on loopback.

The span must cover the turn from the request to the stream's end (not to the handler's
return), be parented on the request's ``traceparent``, parent the spans the agent opens,
say how the turn ended (finish, error, disconnect, stop, refused) and carry no content.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tests.support.messages import user
from tests.support.servers import read_until, serve
from uiwire._errors import ChatStoreError
from uiwire.chats import MemoryChatStore
from uiwire.chats.store import AnswerState, TurnTicket
from uiwire.protocol.ui_message import UIMessage
from uiwire.resume import MemoryStreamStore
from uiwire.server import ChatEndpoint, Conversations, Telemetry, UIMessageStreamResponse
from uiwire.server.telemetry import SPAN_NAME
from uiwire.stream import ChatTurn, StreamContext

SECRET = "the user's secret words"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_SPAN_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_SPAN_ID}-01"


class Observed:
    """A ``Telemetry`` over SDK providers that keep everything in memory."""

    def __init__(self, **options: Any) -> None:
        self.spans = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.tracer = tracer_provider.get_tracer("tests")
        self.reader = InMemoryMetricReader()
        self.telemetry = Telemetry(
            tracer_provider=tracer_provider,
            meter_provider=MeterProvider(metric_readers=[self.reader]),
            **options,
        )

    def turns(self) -> list[ReadableSpan]:
        return [s for s in self.spans.get_finished_spans() if s.name == SPAN_NAME]

    async def turn(self) -> ReadableSpan:
        """The one turn span, once it has ended (up to ~10 s)."""
        for _ in range(1000):
            turns = self.turns()
            if turns:
                assert len(turns) == 1, turns
                return turns[0]
            await asyncio.sleep(0.01)
        raise AssertionError("the turn's span never ended")

    def metrics(self) -> dict[str, list[Any]]:
        """Each metric's data points, by name."""
        data = self.reader.get_metrics_data()
        points: dict[str, list[Any]] = {}
        if data is None:
            return points
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    points.setdefault(metric.name, []).extend(metric.data.data_points)
        return points

    def value(self, name: str, **attributes: Any) -> float:
        """The sum of ``name``'s points that carry ``attributes``."""
        return sum(
            p.value
            for p in self.metrics().get(name, [])
            if all(p.attributes.get(k) == v for k, v in attributes.items())
        )


Respond = Callable[[ChatTurn, StreamContext[Any]], Awaitable[None]]


def endpoint_app(respond: Respond, observed: Observed, **options: Any) -> Starlette:
    options.setdefault("conversations", False)
    options.setdefault("identity", False)
    chat = ChatEndpoint(respond, telemetry=observed.telemetry, **options)
    return Starlette(routes=chat.routes("/api/chat"))


def body(chat_id: str = "chat-1") -> dict[str, Any]:
    return {"id": chat_id, "messages": [user(SECRET)], "trigger": "submit-message"}


def events(raw: bytes) -> list[dict[str, Any]]:
    """The JSON chunks of an SSE body."""
    lines = raw.decode().split("\n")
    return [json.loads(line[6:]) for line in lines if line.startswith("data: {")]


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as http:
        yield http


async def test_a_finished_turn_is_one_span_with_its_counts_and_no_content(
    client: httpx.AsyncClient,
) -> None:
    observed = Observed()

    async def respond(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        for word in ("one ", "two ", "three"):
            await ctx.write_text(word)

    async with serve(endpoint_app(respond, observed)) as base:
        response = await client.post(f"{base}/api/chat", json=body())
    raw = response.content
    chunks = events(raw)
    span = await observed.turn()
    attributes = dict(span.attributes or {})
    assert attributes["uiwire.turn.status"] == "finish"
    assert attributes["uiwire.message.id"] == chunks[0]["messageId"]
    assert attributes["uiwire.agent"] == "respond"
    assert attributes["uiwire.turn.trigger"] == "submit-message"
    assert attributes["uiwire.stream.chunks"] == len(chunks)  # [DONE] is not a chunk
    assert attributes["uiwire.stream.bytes"] == len(raw)
    assert 0 < attributes["uiwire.stream.time_to_first_chunk"] < span_seconds(span)
    assert attributes["uiwire.chat.id"] not in ("chat-1", "")  # hashed by default
    assert span.kind is SpanKind.SERVER  # nothing instrumented the server: it is the root
    assert span.parent is None
    assert span.events == ()
    assert SECRET not in repr(attributes)
    assert "one" not in repr(attributes)

    assert observed.value("uiwire.turns", **{"uiwire.turn.status": "finish"}) == 1
    assert observed.value("uiwire.streams.open") == 0
    assert observed.value("uiwire.stream.chunks", **{"uiwire.agent": "respond"}) == len(chunks)
    assert observed.value("uiwire.stream.disconnects") == 0
    (first_chunk,) = observed.metrics()["uiwire.stream.time_to_first_chunk"]
    assert first_chunk.count == 1


def span_seconds(span: ReadableSpan) -> float:
    assert span.start_time is not None
    assert span.end_time is not None
    return (span.end_time - span.start_time) / 1e9


async def test_the_span_is_the_traceparents_child_and_the_agents_spans_parent(
    client: httpx.AsyncClient,
) -> None:
    observed = Observed(trace_id_key="traceId", chat_id="plain")

    async def respond(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        with observed.tracer.start_as_current_span("model call"):
            await asyncio.sleep(0)
            await ctx.write_text("hi")

    async with serve(endpoint_app(respond, observed)) as base:
        response = await client.post(
            f"{base}/api/chat", json=body(), headers={"traceparent": TRACEPARENT}
        )
    turn = await observed.turn()
    assert turn.context is not None
    assert turn.parent is not None
    assert format(turn.context.trace_id, "032x") == TRACE_ID
    assert format(turn.parent.span_id, "016x") == PARENT_SPAN_ID
    assert turn.parent.is_remote
    (model_call,) = [s for s in observed.spans.get_finished_spans() if s.name == "model call"]
    assert model_call.parent is not None
    assert model_call.parent.span_id == turn.context.span_id
    assert (turn.attributes or {})["uiwire.chat.id"] == "chat-1"
    # the trace id rides in the message metadata, for a user's report to name it
    metadata = [c for c in events(response.content) if c["type"] == "message-metadata"]
    assert metadata == [{"type": "message-metadata", "messageMetadata": {"traceId": TRACE_ID}}]


async def test_the_span_stays_open_after_the_handler_returns_until_the_stream_ends(
    client: httpx.AsyncClient,
) -> None:
    observed = Observed()
    go_on = asyncio.Event()

    async def respond(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        await ctx.write_text("first")
        await go_on.wait()
        await ctx.write_text(" last")

    async with (
        serve(endpoint_app(respond, observed)) as base,
        client.stream("POST", f"{base}/api/chat", json=body()) as response,
    ):
        await read_until(response, "first")  # the handler has returned its response
        await asyncio.sleep(0.05)  # time for a wrongly ended span to reach the exporter
        assert observed.turns() == []
        assert observed.value("uiwire.streams.open") == 1
        go_on.set()
        await read_until(response, '"finish"')
        span = await observed.turn()
    assert (span.attributes or {})["uiwire.turn.status"] == "finish"
    assert observed.value("uiwire.streams.open") == 0


async def test_a_failed_turn_is_an_error_span_without_the_exceptions_text(
    client: httpx.AsyncClient,
) -> None:
    observed = Observed()

    async def respond(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        await ctx.write_text("partial")
        raise RuntimeError(f"boom: {SECRET}")

    async with serve(endpoint_app(respond, observed)) as base:
        response = await client.post(f"{base}/api/chat", json=body())
    assert events(response.content)[-1]["type"] == "error"
    span = await observed.turn()
    attributes = dict(span.attributes or {})
    assert attributes["uiwire.turn.status"] == "error"
    assert attributes["error.type"] == "RuntimeError"
    assert span.status.status_code is StatusCode.ERROR
    assert SECRET not in repr(attributes) + repr(span.events) + str(span.status.description)
    assert observed.value("uiwire.turns", **{"uiwire.turn.status": "error"}) == 1


async def test_a_client_that_leaves_ends_the_span_as_a_disconnect(
    client: httpx.AsyncClient,
) -> None:
    observed = Observed()
    never = asyncio.Event()

    async def respond(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        await ctx.write_text("first")
        await never.wait()

    async with serve(endpoint_app(respond, observed)) as base:
        async with client.stream("POST", f"{base}/api/chat", json=body()) as response:
            await read_until(response, "first")
        span = await observed.turn()
    assert (span.attributes or {})["uiwire.turn.status"] == "disconnect"
    assert observed.value("uiwire.stream.disconnects") == 1
    assert observed.value("uiwire.streams.open") == 0
    assert observed.value("uiwire.turns", **{"uiwire.turn.status": "disconnect"}) == 1


async def test_a_stop_request_ends_the_span_as_a_stop_and_a_resumable_turn_counts_too(
    client: httpx.AsyncClient,
) -> None:
    observed = Observed()
    never = asyncio.Event()

    async def respond(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        await ctx.write_text("first")
        await never.wait()

    app = endpoint_app(respond, observed, streams=MemoryStreamStore())
    async with (
        serve(app) as base,
        client.stream("POST", f"{base}/api/chat", json=body()) as response,
    ):
        seen = await read_until(response, "first")
        stopped = await client.post(f"{base}/api/chat/chat-1/stop")
        assert stopped.status_code == 202
        seen += await read_until(response, '"abort"')
        span = await observed.turn()
    attributes = dict(span.attributes or {})
    assert attributes["uiwire.turn.status"] == "stop"
    assert attributes["uiwire.stream.chunks"] == len(seen)  # counted through the log
    assert observed.value("uiwire.turns", **{"uiwire.turn.status": "stop"}) == 1
    assert observed.value("uiwire.stream.disconnects") == 0


async def test_a_resumable_turn_whose_client_left_goes_on_and_counts_the_disconnect(
    client: httpx.AsyncClient,
) -> None:
    observed = Observed()
    go_on = asyncio.Event()

    async def respond(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        await ctx.write_text("first")
        await go_on.wait()
        await ctx.write_text(" last")

    app = endpoint_app(respond, observed, streams=MemoryStreamStore())
    async with serve(app) as base:
        async with client.stream("POST", f"{base}/api/chat", json=body()) as response:
            await read_until(response, "first")
        for _ in range(500):  # the server hears of the disconnect
            if observed.value("uiwire.stream.disconnects"):
                break
            await asyncio.sleep(0.01)
        assert observed.turns() == []  # the generation goes on, to be resumed
        go_on.set()
        span = await observed.turn()
    assert (span.attributes or {})["uiwire.turn.status"] == "finish"
    assert [e.name for e in span.events] == ["uiwire.client_disconnected"]
    assert observed.value("uiwire.stream.disconnects") == 1


async def test_a_refused_request_ends_its_span_with_the_http_status(
    client: httpx.AsyncClient,
) -> None:
    observed = Observed()

    async def respond(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        await ctx.write_text("never")

    async with serve(endpoint_app(respond, observed)) as base:
        response = await client.post(f"{base}/api/chat", json={"id": "chat-1"})
    assert response.status_code == 422
    span = await observed.turn()
    attributes = dict(span.attributes or {})
    assert attributes["uiwire.turn.status"] == "refused"
    assert attributes["http.response.status_code"] == 422
    assert observed.value("uiwire.streams.open") == 0


class FailingSaves(MemoryChatStore):
    """A chat store whose answers cannot be saved."""

    async def finish_turn(self, ticket: TurnTicket, message: UIMessage, state: AnswerState) -> bool:
        raise ChatStoreError("the database is down")


async def test_a_failed_save_counts_a_store_error(client: httpx.AsyncClient) -> None:
    observed = Observed()

    async def respond(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        await ctx.write_text("hi")

    app = endpoint_app(
        respond, observed, conversations=Conversations(store=FailingSaves()), identity=None
    )
    async with serve(app) as base:
        response = await client.post(f"{base}/api/chat", json=body())
        assert response.status_code == 200
        for _ in range(500):
            if observed.value("uiwire.store.errors"):
                break
            await asyncio.sleep(0.01)
    assert observed.value("uiwire.store.errors", **{"uiwire.store": "chat"}) == 1


async def test_a_response_of_its_own_has_a_span_from_creation_to_the_streams_end(
    client: httpx.AsyncClient,
) -> None:
    observed = Observed()

    async def route(request: Request) -> Response:
        ctx = StreamContext()
        ctx.run(lambda ctx: ctx.write_text("hi"))
        return UIMessageStreamResponse(ctx, telemetry=observed.telemetry)

    app = Starlette(routes=[Route("/stream", route, methods=["POST"])])
    async with serve(app) as base:
        response = await client.post(f"{base}/stream", headers={"traceparent": TRACEPARENT})
    span = await observed.turn()
    attributes = dict(span.attributes or {})
    assert span.context is not None
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert attributes["uiwire.turn.status"] == "finish"
    assert attributes["uiwire.message.id"] == events(response.content)[0]["messageId"]
    assert attributes["uiwire.stream.bytes"] == len(response.content)
    assert observed.value("uiwire.streams.open") == 0


async def test_a_response_whose_work_goes_on_after_its_client_left_ends_with_the_work(
    client: httpx.AsyncClient,
) -> None:
    observed = Observed()
    go_on = asyncio.Event()

    async def work(ctx: StreamContext[Any]) -> None:
        await ctx.write_text("first")
        await go_on.wait()
        await ctx.write_text(" last")

    async def route(request: Request) -> Response:
        ctx = StreamContext(on_disconnect="continue")
        ctx.run(work)
        return UIMessageStreamResponse(ctx, telemetry=observed.telemetry)

    routes = Starlette(routes=[Route("/stream", route, methods=["POST"])])
    answered = asyncio.Event()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await routes(scope, receive, send)
        answered.set()  # the response has returned: it saw its client leave

    async with serve(app) as base:
        async with client.stream("POST", f"{base}/stream") as response:
            await read_until(response, "first")
        await asyncio.wait_for(answered.wait(), 10)
        assert observed.turns() == []  # the work goes on: so does the span
        go_on.set()
        span = await observed.turn()
    assert (span.attributes or {})["uiwire.turn.status"] == "disconnect"
    assert observed.value("uiwire.stream.disconnects") == 1


def test_telemetry_checks_its_options() -> None:
    with pytest.raises(ValueError, match="chat_id must be"):
        Telemetry(chat_id="clear")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="trace_id_key must be"):
        Telemetry(trace_id_key="")
    with pytest.raises(TypeError, match="telemetry must be a Telemetry"):
        ChatEndpoint(_noop, telemetry=object())  # type: ignore[arg-type]


async def _noop(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
    return None
