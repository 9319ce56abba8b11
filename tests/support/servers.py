"""Real uvicorn servers on loopback, inside the test's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import uvicorn
from starlette.types import ASGIApp


@contextlib.asynccontextmanager
async def serve(app: ASGIApp) -> AsyncIterator[str]:
    """Run ``app`` on 127.0.0.1 (a free port) and yield its base URL; stop on exit."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):  # up to ~5 s
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if task.done():
            task.result()  # raises the startup error
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.contextmanager
def serve_in_thread(app: ASGIApp) -> Iterator[str]:
    """``serve`` for synchronous tests (schemathesis, requests): uvicorn in a thread of its
    own with its own event loop; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name="uvicorn", daemon=True
    )
    thread.start()
    try:
        for _ in range(500):  # up to ~5 s
            if server.started or not thread.is_alive():
                break
            thread.join(0.01)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


async def read_until(response: httpx.Response, pattern: str) -> list[dict[str, Any]]:
    """Read SSE events until one has ``pattern`` in it; return them."""
    seen: list[dict[str, Any]] = []
    async for line in response.aiter_lines():
        if line.startswith("data: {"):
            seen.append(json.loads(line[6:]))
            if pattern in line:
                return seen
    raise AssertionError(f"the stream ended before {pattern!r}: {seen}")


async def read_events(chunks: AsyncIterator[bytes], count: int) -> bytes:
    """At least ``count`` SSE events from a response's ``aiter_raw()``, as raw bytes; read
    the rest from the same iterator (httpx allows one)."""
    seen = b""
    async for data in chunks:
        seen += data
        if seen.count(b"\n\n") >= count:
            return seen
    raise AssertionError(f"the stream ended early: {seen!r}")
