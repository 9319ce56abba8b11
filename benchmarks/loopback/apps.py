"""The servers under test, one uvicorn process each, all streaming the same scripted model.

The model emits one token every ``interval_ms`` for ``chunks`` tokens (both from the
request body). Each token is the time it was *due*, in ``time.monotonic_ns()`` (one clock
for every process on the machine), so the load generator's receive time minus the token
is the delay between the model and the client: event-loop lag, the library's pipeline,
uvicorn and the kernel. Stamping the due time rather than the wake-up time counts a late
timer as delay, as a late read of the model's socket would be in production.

Tokens that are already due when the model wakes come back to back, without a loop pass
between them: a model's HTTP stream read late returns every event its socket buffered
meanwhile, and the SDKs parse and yield them without suspending. So an app whose loop
falls behind gets bursts, as it would in production; on time, one token per wake-up.

The ASGI apps, chosen by ``BENCH_APP`` (``uvicorn --factory benchmarks.loopback.apps:create``):

- ``uiwire``: ``ChatEndpoint`` with an ``async def respond(turn, ctx)`` agent;
- ``uiwire-memory-store``, ``uiwire-redis-store``: the same, resumable, recording every
  answer in ``MemoryStreamStore`` or in ``RedisStreamStore`` (``BENCH_REDIS_URL``), for
  ``benchmarks.resumable``;
- ``uiwire-otel``: ``uiwire`` with ``Telemetry`` on, the OpenTelemetry SDK recording every
  span and metric and exporting them to nowhere, for ``benchmarks.telemetry``;
- ``handwritten``: the floor: a Starlette route returning a ``StreamingResponse`` over an
  async generator that formats each frame with orjson;
- ``asp``: ai-sdk-stream-python's ``StreamContext`` as its README wires it to FastAPI
  (installed in the benchmark environment only).

Each process serving an app (one per uvicorn worker) answers for itself on a Unix socket
of its own, ``$BENCH_STATS_DIR/<pid>.sock``: its CPU seconds, RSS, the requests it took,
and its event loop's lag (a probe that sleeps 5 ms and records how late it wakes). A
line ``get`` asks; ``reset`` also clears the lag samples, so a measurement window can
start after connections are open. Not an HTTP route: with several workers on one
listening socket, a request reaches whichever worker accepts it, and the load generator
needs every worker's figures (see ``loadgen.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import resource
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from benchmarks._results import percentiles

PROBE_INTERVAL = 0.005
_PAGE = os.sysconf("SC_PAGE_SIZE")


async def model_tokens(chunks: int, interval: float) -> AsyncIterator[str]:
    """The scripted model: ``chunks`` tokens, one due every ``interval`` seconds."""
    clock = time.monotonic_ns
    start_ns = clock()
    step_ns = int(interval * 1e9)
    for i in range(1, chunks + 1):
        due_ns = start_ns + i * step_ns
        wait_ns = due_ns - clock()
        if wait_ns > 0:  # not due yet; a due one is already in the socket's buffer
            await asyncio.sleep(wait_ns / 1e9)
        yield f"{due_ns} "


class LoopLag:
    """How late the event loop runs a 5 ms timer, sampled for as long as the app runs."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _probe(self) -> None:
        clock = time.perf_counter  # loop.time() has millisecond resolution on uvloop
        while True:
            due = clock() + PROBE_INTERVAL
            await asyncio.sleep(PROBE_INTERVAL)
            self.samples.append(clock() - due)

    @contextlib.asynccontextmanager
    async def running(self, app: object) -> AsyncIterator[None]:
        # What a production server does after start-up, for every app alike: the
        # imports' objects leave the collector's view, so a full collection under load
        # scans the streams' objects only (tens of milliseconds less per pause).
        gc.collect()
        gc.freeze()
        self._task = asyncio.create_task(self._probe())
        try:
            yield
        finally:
            self._task.cancel()


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


class CountRequests:
    """The app, counting the HTTP requests this process took (how the kernel spread the
    connections over the workers). Per request, not per chunk: ``send`` is not wrapped."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.requests = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.requests += 1
        await self.app(scope, receive, send)


def process_stats(lag: LoopLag, requests: int, reset: bool) -> dict[str, Any]:
    """This process's figures; ``reset`` starts a new loop-lag window after reading."""
    lag_ms = percentiles(lag.samples, scale=1000)
    if reset:
        lag.samples.clear()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "pid": os.getpid(),
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "rss_bytes": _rss_bytes(),
        "requests": requests,
        "lag_samples": lag_ms["n"],
        "lag_p50_ms": lag_ms["p50"],
        "lag_p99_ms": lag_ms["p99"],
        "lag_max_ms": lag_ms["max"],
    }


@contextlib.asynccontextmanager
async def stats_socket(
    directory: Path, answer: Callable[[bool], dict[str, Any]]
) -> AsyncIterator[None]:
    """Serve ``answer(reset)`` as JSON on ``directory/<pid>.sock`` while the app runs."""
    path = directory / f"{os.getpid()}.sock"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await reader.readline()
            writer.write(orjson.dumps(answer(line.strip() == b"reset")))
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_unix_server(handle, path)
    try:
        yield
    finally:
        server.close()
        path.unlink(missing_ok=True)


def _params(body: dict[str, Any]) -> tuple[int, float]:
    return int(body["chunks"]), float(body["interval_ms"]) / 1000


# --- uiwire -------------------------------------------------------------------------------


def _uiwire_routes(streams: Any = None, telemetry: Any = None) -> list[Route]:
    """``ChatEndpoint`` as configured by default, chats kept in this process's memory (said
    explicitly, so the Redis store's run keeps them the same way as the others)."""
    from uiwire.chats import MemoryChatStore
    from uiwire.server import ChatEndpoint, Conversations
    from uiwire.stream import ChatTurn, StreamContext

    async def respond(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        chunks, interval = _params(turn.body)
        async for token in model_tokens(chunks, interval):
            await ctx.write_text(token)

    conversations = Conversations(store=MemoryChatStore())
    chat = ChatEndpoint(respond, conversations=conversations, streams=streams, telemetry=telemetry)
    return chat.routes("/api/chat")


def uiwire_app() -> list[Route]:
    return _uiwire_routes()


def uiwire_memory_store_app() -> list[Route]:
    """Resumable: every answer recorded in ``MemoryStreamStore``."""
    from uiwire.resume import MemoryStreamStore

    return _uiwire_routes(MemoryStreamStore())


def uiwire_redis_store_app() -> list[Route]:
    """Resumable: every answer recorded in ``RedisStreamStore`` at ``BENCH_REDIS_URL``."""
    from uiwire.resume import RedisStreamStore

    return _uiwire_routes(RedisStreamStore(os.environ["BENCH_REDIS_URL"]))


def uiwire_otel_app() -> list[Route]:
    """``Telemetry`` on, over the OpenTelemetry SDK as production configures it (the batch
    span processor, a periodic metric reader), with exporters that send nothing: what
    remains is uiwire's own cost and the SDK's recording."""
    from benchmarks.telemetry import noop_telemetry

    return _uiwire_routes(telemetry=noop_telemetry())


# --- hand-written: the floor --------------------------------------------------------------

_HEADERS = {
    "cache-control": "no-cache",
    "x-vercel-ai-ui-message-stream": "v1",
    "x-accel-buffering": "no",
}


def handwritten_app() -> list[Route]:
    dumps = orjson.dumps

    async def frames(chunks: int, interval: float) -> AsyncIterator[bytes]:
        yield b'data: {"type":"start","messageId":"m1"}\n\ndata: {"type":"start-step"}\n\n'
        yield b'data: {"type":"text-start","id":"t1"}\n\n'
        async for token in model_tokens(chunks, interval):
            yield b"data: " + dumps({"type": "text-delta", "id": "t1", "delta": token}) + b"\n\n"
        yield (
            b'data: {"type":"text-end","id":"t1"}\n\ndata: {"type":"finish-step"}\n\n'
            b'data: {"type":"finish","finishReason":"stop"}\n\ndata: [DONE]\n\n'
        )

    async def chat(request: Request) -> Response:
        chunks, interval = _params(orjson.loads(await request.body()))
        return StreamingResponse(
            frames(chunks, interval), media_type="text/event-stream", headers=_HEADERS
        )

    return [Route("/api/chat", chat, methods=["POST"])]


# --- ai-sdk-stream-python -----------------------------------------------------------------


def asp_app() -> list[Route]:
    from ai_sdk_stream_python import StreamContext  # pyright: ignore[reportMissingImports]

    async def chat(request: Request) -> Response:
        chunks, interval = _params(orjson.loads(await request.body()))

        async def work(ctx: Any) -> None:
            async for token in model_tokens(chunks, interval):
                await ctx.write_text(token)

        ctx: Any = StreamContext()
        await ctx.run(work)
        return StreamingResponse(
            ctx.stream(), media_type="text/event-stream", headers=ctx.response_headers
        )

    return [Route("/api/chat", chat, methods=["POST"])]


APPS: dict[str, Callable[[], list[Route]]] = {
    "uiwire": uiwire_app,
    "uiwire-memory-store": uiwire_memory_store_app,
    "uiwire-redis-store": uiwire_redis_store_app,
    "uiwire-otel": uiwire_otel_app,
    "handwritten": handwritten_app,
    "asp": asp_app,
}


def create() -> ASGIApp:
    """The app named by ``BENCH_APP``, with the loop-lag probe and, when
    ``BENCH_STATS_DIR`` is set, this process's stats socket there."""
    lag = LoopLag()
    directory = os.environ.get("BENCH_STATS_DIR")

    def answer(reset: bool) -> dict[str, Any]:
        return process_stats(lag, counted.requests, reset)

    @contextlib.asynccontextmanager
    async def lifespan(app: object) -> AsyncIterator[None]:
        async with lag.running(app), contextlib.AsyncExitStack() as stack:
            if directory:
                await stack.enter_async_context(stats_socket(Path(directory), answer))
            yield

    counted = CountRequests(Starlette(routes=APPS[os.environ["BENCH_APP"]](), lifespan=lifespan))
    return counted
