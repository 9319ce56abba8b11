"""OpenTelemetry spans and metrics for every turn, printed by the SDK's console exporters
(no LLM needed; ``pip install 'uiwire[fastapi,otel]' opentelemetry-sdk``).

    python examples/telemetry_app.py           # one traced request against itself, printed
    python examples/telemetry_app.py --serve   # serve on http://127.0.0.1:8000/api/chat

In production, swap the console exporters for OTLP ones (``opentelemetry-exporter-otlp``)
or let ``opentelemetry-instrument`` configure the SDK from the environment; uiwire uses
only the API, through ``Telemetry()``.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

from uiwire.server import ChatEndpoint, ChatHooks, ChatResult, Telemetry, current_trace_id
from uiwire.stream import ChatTurn, StreamContext

# --- the SDK: where spans and metrics go (the application's choice, not uiwire's) --------

tracer_provider = TracerProvider()
tracer_provider.add_span_processor(
    SimpleSpanProcessor(
        ConsoleSpanExporter(formatter=lambda span: f"# span: {span.to_json(indent=None)}\n")
    )
)
metric_reader = PeriodicExportingMetricReader(
    ConsoleMetricExporter(formatter=lambda data: f"# metrics: {data.to_json(indent=None)}\n"),
    export_interval_millis=60_000,
)
meter_provider = MeterProvider(metric_readers=[metric_reader])
tracer = tracer_provider.get_tracer("telemetry_app")


# --- the agent: its own spans are the turn's children ---------------------------------------


async def respond(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
    with tracer.start_as_current_span("look up the weather"):  # e.g. a tool, a model call
        await asyncio.sleep(0.05)
    print(f"# the agent runs in trace {current_trace_id()}")
    for word in ["Sunny", "in", "Oslo,", "21", "degrees."]:
        await ctx.write_text(word + " ")
        await asyncio.sleep(0.01)


telemetry = Telemetry(
    tracer_provider=tracer_provider,  # default: the global providers
    meter_provider=meter_provider,
    trace_id_key="traceId",  # the message metadata names its trace
)
turns_ended: asyncio.Queue[ChatResult] = asyncio.Queue()


async def on_finish(result: ChatResult) -> None:
    """Called after the turn's span has ended (save the chat here)."""
    turns_ended.put_nowait(result)


chat = ChatEndpoint(respond, telemetry=telemetry, hooks=ChatHooks(on_finish=on_finish))
app = FastAPI()
app.router.routes.extend(chat.routes("/api/chat"))


# --- running it ----------------------------------------------------------------------------

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
"""What a traced caller (a gateway, the browser's own instrumentation) sends."""


async def once() -> None:
    """Serve on a free loopback port, make one traced request, print what came back."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/api/chat"
    body = {
        "id": "chat-1",
        "messages": [{"id": "u1", "role": "user", "parts": [{"type": "text", "text": "Oslo?"}]}],
        "trigger": "submit-message",
    }
    async with httpx.AsyncClient() as client:
        response = await client.post(url, json=body, headers={"traceparent": TRACEPARENT})
    print(response.text, end="")
    await turns_ended.get()  # the span ends as the stream closes, just after the last byte
    server.should_exit = True
    await serving


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", action="store_true", help="serve on 127.0.0.1:8000")
    if parser.parse_args().serve:
        uvicorn.run(app, host="127.0.0.1", port=8000)
    else:
        asyncio.run(once())
    meter_provider.shutdown()  # exports the metrics one last time
    tracer_provider.shutdown()


if __name__ == "__main__":
    main()
