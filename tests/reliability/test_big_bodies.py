"""Big bodies against a real server: what an 8 MiB body costs the event loop and memory.

Three bodies just under the default 8 MiB limit, each hard on the parser in its own way:
125k tiny messages, one message of ~380k tiny parts, and a few photos as ``data:`` URLs.
They are posted concurrently (from threads, so the client costs the server's loop
nothing) while a probe on the server's loop measures how late its timer fires; and one
at a time under ``tracemalloc`` with the turn held open, for the memory a turn keeps.
The figures are reported, never asserted; the test asserts that every body gets a
documented answer (200, or a 413 naming the field), never a server error.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest
from benchmarks._results import Result, Table, Target, fmt
from starlette.applications import Starlette

from tests.support.figures import report
from tests.support.servers import serve
from uiwire.server import ChatEndpoint
from uiwire.stream import ChatTurn, StreamContext

BODY_BYTES = 8 * 1024 * 1024 - 4096
"""Just under the default ``max_body_bytes``."""

COPIES = 2
"""Concurrent posts of each body in the lag run."""

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
        b'{"id":"chat-1","trigger":"submit-message","messages":[{"id":"u1","role":"user",'
        b'"parts":[',
        lambda _: b'{"type":"text","text":"x"}',
        b"]}]}",
    )


def photos() -> bytes:
    photo = "A" * (2 * 1024 * 1024 - 512)
    parts = [
        {"type": "file", "mediaType": "image/jpeg", "url": f"data:image/jpeg;base64,{photo}"}
        for _ in range(3)
    ]
    parts.append({"type": "text", "text": "what is in these photos?"})
    body = {
        "id": "chat-1",
        "trigger": "submit-message",
        "messages": [{"id": "u1", "role": "user", "parts": parts}],
    }
    return orjson.dumps(body)


BODIES: dict[str, Callable[[], bytes]] = {
    "125k small messages": many_messages,
    "~380k parts in one message": many_parts,
    "3 photos as data: URLs": photos,
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
async def served(agent: Held) -> AsyncIterator[str]:
    app = Starlette()
    app.router.routes.extend(ChatEndpoint(agent.respond).routes("/api/chat"))
    async with serve(app) as base:
        yield f"{base}/api/chat"


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
async def test_big_bodies_cost_of_the_loop_and_memory() -> None:
    bodies = {name: build() for name, build in BODIES.items()}
    assert all(len(body) <= BODY_BYTES for body in bodies.values())

    lag_rows: list[list[str]] = []
    figures: dict[str, Any] = {}
    agent = Held(hold=False)
    async with served(agent) as url:
        for name, body in bodies.items():
            lags: list[float] = []
            stop = asyncio.Event()
            watcher = asyncio.create_task(probe(lags, stop))
            started = time.perf_counter()
            responses = await asyncio.gather(
                *(asyncio.to_thread(post, url, body) for _ in range(COPIES))
            )
            wall = time.perf_counter() - started
            stop.set()
            await watcher
            statuses = sorted(response.status_code for response in responses)
            for response in responses:
                assert response.status_code in (200, 413, 422), response.text[:300]
                if response.status_code != 200:
                    assert response.json()["error"]["fields"], response.text
            worst = max(lags) * 1000
            figures[name] = {"max_lag_ms": worst, "wall_s": wall, "statuses": statuses}
            lag_rows.append(
                [
                    name,
                    f"{len(body) / 2**20:.1f} MiB × {COPIES}",
                    ", ".join(map(str, statuses)),
                    fmt(worst, 1),
                    fmt(wall, 2),
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
                done, _ = await asyncio.wait(
                    [sent, asyncio.create_task(agent.started.wait())],
                    return_when=asyncio.FIRST_COMPLETED,
                )
                gc.collect()
                kept = tracemalloc.get_traced_memory()[0] - before if agent.started.is_set() else 0
            finally:
                tracemalloc.stop()
            agent.release.set()
            response = await sent
            assert response.status_code in (200, 413, 422), response.text[:300]
            figures[name]["kept_mib"] = kept / 2**20
            memory_rows.append(
                [name, str(response.status_code), fmt(kept / 2**20, 1) if kept else "no turn"]
            )

    worst_lag = max(figure["max_lag_ms"] for figure in figures.values())
    report(
        Result(
            name="big-bodies",
            title="Big bodies",
            params={"body bytes": BODY_BYTES, "concurrent copies": COPIES, "tick": TICK},
            figures=figures,
            tables=[
                Table(
                    "Loop lag while 8 MiB bodies arrive",
                    ["body", "posted", "statuses", "max loop lag (ms)", "wall (s)"],
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
