"""Slow clients against a real uvicorn server: what a slowloris costs and for how long.

Two attacks, each from ``CLIENTS`` connections on loopback that send a byte every
``DRIP`` seconds: one drips the *body* of a chat POST (uiwire reads bodies, so
``RequestLimits.body_timeout`` ends each with a 408), one drips the *headers* (uvicorn,
which reads them, has no timeout for them: only a proxy in front bounds those, see
``deployment.md``). The test asserts what uiwire promises (every dripped body gets its
408, nothing reaches the agent); how long the connections were held is reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import httpx
import pytest
from benchmarks._results import Result, Table, fmt
from starlette.applications import Starlette

from tests.support.figures import report
from tests.support.servers import RecordingAgent, serve
from uiwire.server import ChatEndpoint, RequestLimits

CLIENTS = 100
DRIP = 0.25
"""Seconds between the bytes a slow client sends."""
BODY_TIMEOUT = 2.0
WATCH = 6.0
"""Seconds the header drippers are watched (then the test closes them itself)."""


async def drip(host: str, port: int, head: bytes, tail: bytes, until: float) -> tuple[str, float]:
    """Send ``head`` at once, then ``tail`` a byte at a time; how the connection ended
    (the status line's code, ``closed`` or ``open`` at ``until``) and when."""
    started = time.perf_counter()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(head)
        await writer.drain()
        answer = asyncio.create_task(reader.read(65536))
        for byte in tail:
            done, _ = await asyncio.wait([answer], timeout=DRIP)
            if done:
                break
            if time.perf_counter() - started > until:
                answer.cancel()
                return "open", until
            writer.write(bytes([byte]))
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        raw = await asyncio.wait_for(answer, max(0.1, until - (time.perf_counter() - started)))
        ended = raw.split(b" ", 2)[1].decode() if raw else "closed"
        return ended, time.perf_counter() - started
    except (asyncio.TimeoutError, ConnectionError):
        return "open", time.perf_counter() - started
    finally:
        writer.close()


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_slow_clients_are_cut_off_where_uiwire_reads() -> None:
    agent = RecordingAgent()
    endpoint = ChatEndpoint(agent.respond, limits=RequestLimits(body_timeout=BODY_TIMEOUT))
    body = b'{"id":"c","message":{"id":"u1","role":"user","parts":[]}}' * 4
    async with serve(Starlette(routes=endpoint.routes("/api/chat"))) as base:
        url = httpx.URL(base)
        host, port = url.host, url.port or 80
        request_head = (
            b"POST /api/chat HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n" % len(body)
        )
        bodies = await asyncio.gather(
            *(drip(host, port, request_head, body, WATCH) for _ in range(CLIENTS))
        )
        headers = await asyncio.gather(
            *(drip(host, port, b"", request_head + body, WATCH) for _ in range(CLIENTS))
        )
    assert {ended for ended, _ in bodies} == {"408"}, bodies
    assert agent.turns == []
    released = sorted(took for _, took in bodies)
    still_open = sum(1 for ended, _ in headers if ended == "open")
    report(
        Result(
            name="slow-clients",
            title="Slow clients (slowloris)",
            params={"clients": CLIENTS, "seconds per byte": DRIP, "body_timeout": BODY_TIMEOUT},
            figures={
                "body_drippers_released_s": {
                    "median": released[len(released) // 2],
                    "max": released[-1],
                },
                "header_drippers_open_after_s": {"seconds": WATCH, "open": still_open},
            },
            tables=[
                Table(
                    "Connections that drip a byte every 0.25 s",
                    ["what drips", "answer", "connection held (s)"],
                    [
                        [
                            "the chat body",
                            "408 `body_timeout`",
                            f"{fmt(released[len(released) // 2], 1)} (median), "
                            f"{fmt(released[-1], 1)} (max)",
                        ],
                        [
                            "the request headers",
                            "none (uvicorn has no header timeout)",
                            f"{still_open} of {CLIENTS} still open after {WATCH:g} s",
                        ],
                    ],
                )
            ],
        )
    )
