"""The server of the soak test: ``ChatEndpoint`` over a paced, scripted agent, in its own
process (``python -m uvicorn --factory tests.support.soak_app:create_app``).

Each answer is ``play_script(ctx, seed, text_deltas, pace)`` (from the request body): a
reasoning part, a tool call whose input streams in pieces before its output, a data
part, a new step, a source, then ``text_deltas`` text deltas, one write every
``pace_ms``. The client knows the script too, so it can check that a completed answer
carries every word.

Besides ``POST /api/chat``, the app serves ``GET /stats``: what the soak test compares
before and after the load. Plain ``/stats`` is cheap (read during the load): CPU, RSS
and peak RSS, tasks, threads, file descriptors, requests in flight, responses by status,
``on_finish`` statuses, errors logged, loop lag, the collector's pauses. ``?reset=1``
starts a new window for the lag, the pauses and the peak RSS. ``?settle=1`` first runs a
full collection, counts the live objects of uiwire's own types and all small objects
(``sys.getallocatedblocks``), then calls ``malloc_trim(0)`` so that freed memory the
C allocator keeps cached is not counted as a leak.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import logging
import os
import resource
import sys
import threading
import time
from collections import Counter
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any

from benchmarks._results import percentiles
from benchmarks.loopback.apps import LoopLag
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.support.processes import raise_open_files_limit
from uiwire.server import ChatEndpoint, ChatHooks, ChatResult
from uiwire.stream import ChatTurn, StreamContext

_PAGE = os.sysconf("SC_PAGE_SIZE")
DEFAULT_PACE_MS = 200.0


# --- the script, shared with the client --------------------------------------------------


def tool_input_pieces(seed: int) -> list[str]:
    """The tool call's input, as the pieces streamed (their concatenation is the JSON)."""
    return ['{"query": ', f'"soak #{seed}", ', '"limit": 3}']


def text_pieces(seed: int, text_deltas: int) -> list[str]:
    """The answer's text deltas; a completed stream carries all of them, in order."""
    return [f"s{seed}w{i} " for i in range(text_deltas)]


def writes_in_script(text_deltas: int) -> int:
    """How many paced writes one answer makes (each followed by one pause)."""
    return 3 + 1 + len(tool_input_pieces(0)) + 1 + 1 + 1 + 1 + 1 + text_deltas


async def play_script(ctx: StreamContext[Any], seed: int, text_deltas: int, pace: float) -> None:
    """Write one answer: every kind of part the client assembles, one write per ``pace``."""
    loop = asyncio.get_running_loop()
    due = loop.time()

    async def paced() -> None:
        nonlocal due
        due += pace
        await asyncio.sleep(max(0.0, due - loop.time()))

    for i in range(3):
        await ctx.write_reasoning(f"thinking {i} ")
        await paced()
    call = await ctx.begin_tool_call("lookup")
    await paced()
    for piece in tool_input_pieces(seed):
        await ctx.write_tool_input(call, piece)
        await paced()
    await ctx.end_tool_input(call, {"query": f"soak #{seed}", "limit": 3})
    await paced()
    await ctx.complete_tool_call(call, {"hits": [seed, seed + 1, seed + 2]})
    await paced()
    await ctx.write_data("progress", {"stage": "looked up", "seed": seed}, id=f"p{seed}")
    await paced()
    await ctx.new_step()
    await paced()
    await ctx.write_source(f"https://example.com/doc/{seed}", title=f"Document {seed}")
    await paced()
    for piece in text_pieces(seed, text_deltas):
        await ctx.write_text(piece)
        await paced()


# --- what the app counts ------------------------------------------------------------------


@dataclass
class Counts:
    """Everything the soak test reads from the server, kept by the app as it serves."""

    in_flight: int = 0
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter[int])
    finished: Counter[str] = field(default_factory=Counter[str])
    errors_logged: Counter[str] = field(default_factory=Counter[str])
    error_examples: list[str] = field(default_factory=list[str])


class GCPauses:
    """The collector's pauses, per generation (``gc.callbacks``): the usual cause of the
    loop lag's tail when many streams are open. Wall time and the thread's CPU time: on a
    busy machine the first exceeds the second by the time the process waited for a core."""

    def __init__(self) -> None:
        self.count: list[int] = []
        self.wall: list[float] = []
        self.cpu: list[float] = []
        self.longest: list[float] = []
        self.longest_cpu: list[float] = []
        self._started = (0.0, 0.0)
        self.reset()

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = (time.perf_counter(), time.thread_time())
            return
        wall = time.perf_counter() - self._started[0]
        cpu = time.thread_time() - self._started[1]
        generation = info["generation"]
        self.count[generation] += 1
        self.wall[generation] += wall
        self.cpu[generation] += cpu
        self.longest[generation] = max(self.longest[generation], wall)
        self.longest_cpu[generation] = max(self.longest_cpu[generation], cpu)

    def to_json(self) -> dict[str, list[float]]:
        return {
            "count": list(self.count),
            "total_ms": [t * 1000 for t in self.wall],
            "total_cpu_ms": [t * 1000 for t in self.cpu],
            "max_ms": [t * 1000 for t in self.longest],
            "max_cpu_ms": [t * 1000 for t in self.longest_cpu],
        }

    def reset(self) -> None:
        self.count = [0, 0, 0]
        self.wall = [0.0, 0.0, 0.0]
        self.cpu = [0.0, 0.0, 0.0]
        self.longest = [0.0, 0.0, 0.0]
        self.longest_cpu = [0.0, 0.0, 0.0]


_LOGGERS = ("uiwire", "uvicorn", "uvicorn.error", "asyncio")


class _ErrorCounter(logging.Handler):
    """Counts ERROR records (uiwire's, uvicorn's, asyncio's): a disconnect must log none.

    It replaces those loggers' handlers: the test reads the counts and the first few
    messages from ``/stats``, and nothing is written to a stderr pipe that nobody reads
    while the server runs (a full pipe would block the event loop)."""

    def __init__(self, counts: Counts) -> None:
        super().__init__(logging.ERROR)
        self._counts = counts

    def emit(self, record: logging.LogRecord) -> None:
        self._counts.errors_logged[record.name] += 1
        if len(self._counts.error_examples) < 5:
            cause = f" ({record.exc_info[1]!r})" if record.exc_info else ""
            self._counts.error_examples.append(
                f"{record.name}: {record.getMessage()[:300]}{cause[:300]}"
            )

    def install(self) -> None:
        for name in _LOGGERS:
            logger = logging.getLogger(name)
            logger.handlers = [self]
            logger.propagate = False


class _CountRequests:
    """ASGI middleware: chat requests in flight, and the status of every response."""

    def __init__(self, app: ASGIApp, counts: Counts) -> None:
        self._app = app
        self._counts = counts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/api/chat":
            await self._app(scope, receive, send)
            return
        counts = self._counts
        counts.in_flight += 1
        counts.requests += 1

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                counts.statuses[int(message["status"])] += 1
            await send(message)

        try:
            await self._app(scope, receive, counted)
        finally:
            counts.in_flight -= 1


# --- memory and liveness ------------------------------------------------------------------


def _malloc_trim() -> Callable[[], object] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim: Callable[[int], object] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None
    return lambda: trim(0)


_TRIM = _malloc_trim()


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


def _peak_rss_bytes() -> int | None:
    """VmHWM: the highest RSS since start, or since the last ``_reset_peak_rss``."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return None


def _reset_peak_rss() -> None:
    with contextlib.suppress(OSError), open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # Linux: reset VmHWM to the current RSS


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def uiwire_objects() -> dict[str, int]:
    """Live objects the collector tracks whose type is defined in uiwire, by type.

    Objects frozen at start-up (``gc.freeze``) are not listed: none of them belongs to a
    stream."""
    found: Counter[str] = Counter()
    objects: list[object] = gc.get_objects()
    for obj in objects:
        kind = type(obj)
        module = kind.__dict__.get("__module__")  # a metaclass may have a descriptor here
        if isinstance(module, str) and module.startswith("uiwire."):
            found[f"{module}.{kind.__qualname__}"] += 1
    return dict(found)


def create_app() -> ASGIApp:
    """The soak server: ``POST /api/chat`` and ``GET /stats``. It takes over the process's
    error logging (see ``_ErrorCounter``): create it in a server process of its own."""
    with contextlib.suppress(ValueError, OSError):  # best effort: the client checks
        raise_open_files_limit()
    counts = Counts()
    lag = LoopLag()
    pauses = GCPauses()
    gc.callbacks.append(pauses)
    errors = _ErrorCounter(counts)
    errors.install()

    async def respond(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        body = turn.body
        pace = float(body.get("pace_ms", DEFAULT_PACE_MS)) / 1000
        await play_script(ctx, int(body["seed"]), int(body["text_deltas"]), pace)

    async def on_finish(result: ChatResult) -> None:
        counts.finished[result.status] += 1

    # no conversations kept: the soak's memory check counts what streams leave behind,
    # and every one of its 10,000s of turns is a new chat (kept chats are bounded by
    # MemoryChatStore(max_chats), tested in tests/chats)
    endpoint = ChatEndpoint(respond, hooks=ChatHooks(on_finish=on_finish), conversations=False)

    async def stats(request: Request) -> Response:
        # Figures of the window that ends now (loop lag, collector pauses, peak RSS),
        # then, with ``reset``, a new window; with ``settle``, memory measured after a
        # full collection, without the lag samples (floats spread over the heap would
        # keep its arenas from being given back).
        lag_ms = percentiles(lag.samples, scale=1000)
        payload: dict[str, Any] = {
            "lag_samples": lag_ms["n"],
            "lag_p50_ms": lag_ms["p50"],
            "lag_p99_ms": lag_ms["p99"],
            "lag_max_ms": lag_ms["max"],
            "gc_pauses": pauses.to_json(),
            "peak_rss_bytes": _peak_rss_bytes(),
        }
        if request.query_params.get("reset"):
            lag.samples.clear()
            pauses.reset()
        if request.query_params.get("settle"):
            gc.collect()
            objects = uiwire_objects()
            payload["uiwire_objects"] = objects
            payload["live_contexts"] = objects.get("uiwire.stream.context.StreamContext", 0)
            payload["gc_objects"] = len(gc.get_objects())
            payload["allocated_blocks"] = sys.getallocatedblocks()
            if _TRIM is not None:
                _TRIM()
        current = asyncio.current_task()
        usage = resource.getrusage(resource.RUSAGE_SELF)
        payload |= {
            "cpu_seconds": usage.ru_utime + usage.ru_stime,
            "rss_bytes": _rss_bytes(),
            "tasks": sum(1 for t in asyncio.all_tasks() if t is not current),
            "threads": threading.active_count(),
            "open_fds": _open_fds(),
            "in_flight": counts.in_flight,
            "requests": counts.requests,
            "statuses": {str(k): v for k, v in counts.statuses.items()},
            "finished": dict(counts.finished),
            "errors_logged": dict(counts.errors_logged),
            "error_examples": counts.error_examples,
            "malloc_trim": _TRIM is not None,
        }
        if request.query_params.get("reset"):
            _reset_peak_rss()
        return JSONResponse(payload)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncGenerator[None, None]:
        errors.install()  # again, should the server have configured logging since
        async with lag.running(app):
            yield

    routes = [*endpoint.routes("/api/chat"), Route("/stats", stats)]
    return _CountRequests(Starlette(routes=routes, lifespan=lifespan), counts)
