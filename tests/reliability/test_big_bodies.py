"""Big bodies against a real server: what an 8 MiB body costs the event loop and memory.

Three bodies just under the default 8 MiB limit, each hard on the parser in its own way
(125k tiny messages, one message of ~380k tiny parts, four photos as ``data:`` URLs),
and the biggest body the default ``RequestLimits`` take (1,000 messages of 10 parts).
They are posted concurrently (by ``curl`` processes, so the client takes no share of the
server's GIL) while a probe on the server's loop measures how late its timer fires, next
to a control (small bodies, posted the same way: the machine's own noise); and one at a
time under ``tracemalloc`` with the turn held open, for the memory a turn keeps.
The figures are reported, never asserted; the test asserts that every body gets a
documented answer (200, or a 413 naming the field), never a server error.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
import tracemalloc
from collections.abc import AsyncGenerator, Callable, Generator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from benchmarks._results import Result, Table, Target, fmt
from starlette.applications import Starlette

from tests.support.figures import report
from tests.support.loop_watchdog import frozen_heap
from tests.support.servers import serve
from uiwire.server import ChatEndpoint
from uiwire.stream import ChatTurn, StreamContext

BODY_BYTES = 8 * 1024 * 1024 - 4096
"""Just under the default ``max_body_bytes``."""

COPIES = 2
"""Concurrent posts of each body in a round of the lag run."""

ROUNDS = 3
"""Rounds per body: the table shows the median and the worst round."""

TICK = 0.002
"""The probe's timer: its lateness is the loop's lag."""


def _fill(head: bytes, item: Callable[[int], bytes], tail: bytes) -> bytes:
    """``head`` + as many ``item(i)`` as fit (comma-separated) + ``tail``."""
    pieces: list[bytes] = []
    size = len(head) + len(tail)
    index = 0
    while True:
        piece = item(index)
        if size + len(piece) + 1 > BODY_BYTES:
            break
        pieces.append(piece)
        size += len(piece) + 1
        index += 1
    return head + b",".join(pieces) + tail


def many_messages() -> bytes:
    return _fill(
        b'{"id":"chat-1","trigger":"submit-message","messages":[',
        lambda i: b'{"id":"m%d","role":"user","parts":[{"type":"text","text":"hi"}]}' % i,
        b"]}",
    )


def many_parts() -> bytes:
    return _fill(
        b'{"id":"chat-1","trigger":"submit-message","messages":[{"id":"u1","role":"user","parts":[',
        lambda _: b'{"type":"text","text":"x"}',
        b"]}]}",
    )


def photos() -> bytes:
    photo = "A" * (BODY_BYTES // 4 - 512)
    parts = [
        {"type": "file", "mediaType": "image/jpeg", "url": f"data:image/jpeg;base64,{photo}"}
        for _ in range(4)
    ]
    parts.append({"type": "text", "text": "what is in these photos?"})
    body = {
        "id": "chat-1",
        "trigger": "submit-message",
        "messages": [{"id": "u1", "role": "user", "parts": parts}],
    }
    return orjson.dumps(body)


def at_the_limits() -> bytes:
    """As much as the default ``RequestLimits`` take: 1,000 messages of 10 parts, with
    metadata to bring the body to just under 100,000 JSON values."""
    parts = [{"type": "text", "text": "x"}] * 10
    messages = [
        {"id": f"m{i}", "role": "user", "parts": parts, "metadata": list(range(40))}
        for i in range(1_000)
    ]
    return orjson.dumps({"id": "chat-1", "trigger": "submit-message", "messages": messages})


AT_THE_LIMITS = "at the default limits (1,000 messages x 10 parts)"
UNFROZEN = f"{AT_THE_LIMITS}, start-up heap not frozen"

BODIES: dict[str, Callable[[], bytes]] = {
    AT_THE_LIMITS: at_the_limits,
    "125k small messages": many_messages,
    "~380k parts in one message": many_parts,
    "4 photos as data: URLs": photos,
}


class Held:
    """An agent that answers at once, or holds every turn open until released."""

    def __init__(self, *, hold: bool) -> None:
        self.hold = hold
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def respond(self, turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        self.started.set()
        if self.hold:
            await self.release.wait()
        await ctx.write_text(f"{len(turn.messages)} messages")


@contextlib.asynccontextmanager
async def served(agent: Held) -> AsyncGenerator[str]:
    app = Starlette()
    app.router.routes.extend(ChatEndpoint(agent.respond).routes("/api/chat"))
    async with serve(app) as base:
        yield f"{base}/api/chat"


def small() -> bytes:
    """The control: an ordinary question."""
    message = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "hello"}]}
    return orjson.dumps({"id": "chat-1", "trigger": "submit-message", "messages": [message]})


async def curl(url: str, path: Path) -> int:
    """POST the file at ``path`` from a ``curl`` process; the status."""
    process = await asyncio.create_subprocess_exec(
        *("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "120"),
        *("-H", "content-type: application/json", "--data-binary", f"@{path}", url),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    return int(out or b"0")


@contextlib.contextmanager
def full_collections() -> Generator[list[float]]:
    """The durations of the garbage collector's full (generation 2) collections meanwhile:
    whichever thread runs one holds the GIL throughout, so it stalls the loop too."""
    pauses: list[float] = []
    started = [0.0]

    def timed(phase: str, info: dict[str, int]) -> None:
        if info["generation"] == 2:
            if phase == "start":
                started[0] = time.perf_counter()
            else:
                pauses.append(time.perf_counter() - started[0])

    gc.callbacks.append(timed)
    try:
        yield pauses
    finally:
        gc.callbacks.remove(timed)


async def round_lag(url: str, path: Path) -> tuple[float, float, list[int]]:
    """The worst lag of the loop while ``COPIES`` posts of ``path`` are answered, the
    longest full collection meanwhile, and the posts' statuses."""
    lags: list[float] = []
    stop = asyncio.Event()
    with full_collections() as pauses:
        watcher = asyncio.create_task(probe(lags, stop))
        statuses = await asyncio.gather(*(curl(url, path) for _ in range(COPIES)))
        stop.set()
        await watcher
    return max(lags), max(pauses, default=0.0), sorted(statuses)


def post(url: str, body: bytes) -> httpx.Response:
    """A blocking post (run in a thread)."""
    headers = {"content-type": "application/json"}
    return httpx.post(url, content=body, headers=headers, timeout=120)


async def probe(lags: list[float], stop: asyncio.Event) -> None:
    """How late each of a stream of short timers fires on this loop."""
    while not stop.is_set():
        asked = time.perf_counter()
        await asyncio.sleep(TICK)
        lags.append(time.perf_counter() - asked - TICK)


@pytest.mark.slow
@pytest.mark.timeout(600)
async def test_big_bodies_cost_of_the_loop_and_memory(tmp_path: Path) -> None:
    bodies = {name: build() for name, build in BODIES.items()}
    assert all(len(body) <= BODY_BYTES for body in bodies.values())

    lag_rows: list[list[str]] = []
    figures: dict[str, Any] = {}
    agent = Held(hold=False)
    lag_runs = {
        "control: a 100-byte question": (small(), True),
        **{name: (body, True) for name, body in bodies.items()},
        UNFROZEN: (bodies[AT_THE_LIMITS], False),
    }
    async with served(agent) as url:
        for name, (body, frozen) in lag_runs.items():
            path = tmp_path / "body.json"
            path.write_bytes(body)
            await curl(url, path)  # warm up: first-use costs are not what is measured
            with frozen_heap() if frozen else contextlib.nullcontext():
                rounds = [await round_lag(url, path) for _ in range(ROUNDS)]
            statuses = sorted(
                {status for *_, round_statuses in rounds for status in round_statuses}
            )
            assert set(statuses) <= {200, 413}, statuses
            worst = sorted(lag * 1000 for lag, _, _ in rounds)
            collections = max(pause * 1000 for _, pause, _ in rounds)
            figures[name] = {
                "max_lag_ms": worst,
                "longest_full_collection_ms": collections,
                "statuses": statuses,
            }
            lag_rows.append(
                [
                    name,
                    f"{len(body) / 2**20:.2f} MiB x {COPIES}",
                    ", ".join(map(str, statuses)),
                    fmt(worst[len(worst) // 2], 1),
                    fmt(worst[-1], 1),
                    fmt(collections, 1) if collections else "none",
                ]
            )

    memory_rows: list[list[str]] = []
    for name, body in bodies.items():
        agent = Held(hold=True)
        async with served(agent) as url:
            gc.collect()
            tracemalloc.start()
            try:
                before = tracemalloc.get_traced_memory()[0]
                sent = asyncio.create_task(asyncio.to_thread(post, url, body))
                started = asyncio.create_task(agent.started.wait())
                await asyncio.wait([sent, started], return_when=asyncio.FIRST_COMPLETED)
                started.cancel()  # refused: the turn never starts
                gc.collect()
                kept = tracemalloc.get_traced_memory()[0] - before if agent.started.is_set() else 0
            finally:
                tracemalloc.stop()
            agent.release.set()
            response = await sent
            assert response.status_code in (200, 413, 422), response.text[:300]
            figures[name]["kept_mib"] = kept / 2**20
            if response.status_code != 200:
                assert response.json()["error"]["fields"], response.text
            memory_rows.append(
                [name, str(response.status_code), fmt(kept / 2**20, 1) if kept else "no turn"]
            )

    worst_lag = max(max(figures[name]["max_lag_ms"]) for name in bodies)
    report(
        Result(
            name="big-bodies",
            title="Big bodies",
            params={
                "body bytes": BODY_BYTES,
                "concurrent copies": COPIES,
                "rounds": ROUNDS,
                "tick": TICK,
            },
            figures=figures,
            tables=[
                Table(
                    "Loop lag while 8 MiB bodies arrive",
                    [
                        "body",
                        "posted per round",
                        "statuses",
                        "max loop lag, median round (ms)",
                        "max loop lag, worst round (ms)",
                        "longest full GC meanwhile (ms)",
                    ],
                    lag_rows,
                ),
                Table(
                    "Memory an open turn keeps (tracemalloc)",
                    ["body", "status", "kept (MiB)"],
                    memory_rows,
                ),
            ],
            targets=[
                Target(
                    "loop lag while 8 MiB bodies arrive",
                    "<= 50 ms",
                    f"{worst_lag:.0f} ms",
                    worst_lag <= 50,
                )
            ],
        )
    )
