"""Real uvicorn servers on loopback, inside the test's own event loop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any, Generic, TypeVar

import httpx
import uvicorn
from starlette.types import ASGIApp

from uiwire.stream import ChatTurn, StreamContext

Saved = TypeVar("Saved")
ServedChatT = TypeVar("ServedChatT", bound="ServedChat[Any]")


def loopback_server(app: ASGIApp, **config: Any) -> tuple[uvicorn.Server, socket.socket, str]:
    """A uvicorn server for ``app`` (quiet, no lifespan, ``config`` on top), the socket it
    is to serve on (127.0.0.1, a free port, bound) and its base URL; not started."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    options: dict[str, Any] = {"log_level": "warning", "lifespan": "off"}
    options["timeout_graceful_shutdown"] = 5
    server = uvicorn.Server(uvicorn.Config(app, **(options | config)))
    return server, sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextlib.asynccontextmanager
async def serve(app: ASGIApp) -> AsyncIterator[str]:
    """Run ``app`` on 127.0.0.1 (a free port) and yield its base URL; stop on exit."""
    server, sock, url = loopback_server(app)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        for _ in range(500):  # up to ~5 s
            if server.started or task.done():
                break
            await asyncio.sleep(0.01)
        if task.done():
            task.result()  # raises the startup error
        assert server.started, "uvicorn did not start"
        yield url
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.contextmanager
def serve_in_thread(app: ASGIApp, *, name: str = "uvicorn", **config: Any) -> Iterator[str]:
    """``serve`` in a thread of its own with its own event loop, for synchronous tests
    (schemathesis) and for servers that must keep answering while the test's loop is
    busy (the fake model); yields the base URL."""
    server, sock, url = loopback_server(app, **config)
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[sock])), name=name, daemon=True
    )
    thread.start()
    try:
        for _ in range(500):  # up to ~5 s
            if server.started or not thread.is_alive():
                break
            thread.join(0.01)
        assert server.started, "uvicorn did not start"
        yield url
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


class ServedChat(Generic[Saved]):
    """A chat endpoint served at ``<base>/api/chat``, called as ``useChat`` calls it: a
    turn's POST, a chat's resume and stop URLs, and a wait for what the persistence hook
    saved. ``async with`` closes its client. A test that also inspects what is behind
    the endpoint (its model double, its events) subclasses it to carry that along."""

    def __init__(self, base: str, saved: list[Saved], *, chat_id: str = "chat-1") -> None:
        self.base = base
        self.chat = f"{base}/api/chat"
        """The URL of ``POST /api/chat``."""
        self.saved = saved
        """What the endpoint's ``on_finish`` was given, in order (the test's own list)."""
        self.chat_id = chat_id
        self.client = httpx.AsyncClient(timeout=30)

    async def __aenter__(self: ServedChatT) -> ServedChatT:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.client.aclose()

    async def post(self, *messages: dict[str, Any], **fields: Any) -> httpx.Response:
        """POST a ``submit-message`` turn of chat ``chat_id``; ``fields`` top-level."""
        body = {"id": self.chat_id, "messages": list(messages), "trigger": "submit-message"}
        return await self.client.post(self.chat, json=body | fields)

    def stream_url(self, chat: str = "chat-1") -> str:
        return f"{self.chat}/{chat}/stream"

    def stop_url(self, chat: str = "chat-1") -> str:
        return f"{self.chat}/{chat}/stop"

    async def until_saved(self, count: int = 1) -> list[Saved]:
        """``saved`` once it holds ``count`` entries (up to ~10 s)."""
        for _ in range(1000):
            if len(self.saved) >= count:
                return self.saved
            await asyncio.sleep(0.01)
        raise AssertionError(f"on_finish ran {len(self.saved)} times, not {count}")


async def read_until(response: httpx.Response, pattern: str) -> list[dict[str, Any]]:
    """Read SSE events until one has ``pattern`` in it; return them.

    The line iterator is kept on the response (and later calls go on reading it): an
    abandoned one is closed by its finalizer, which closes the connection, so the server
    would see a disconnect the test never made, whenever the garbage collector ran.
    """
    lines: AsyncIterator[str] = response.extensions.setdefault(
        "tests_sse_lines", response.aiter_lines()
    )
    seen: list[dict[str, Any]] = []
    async for line in lines:
        if line.startswith("data: {"):
            seen.append(json.loads(line[6:]))
            if pattern in line:
                return seen
    raise AssertionError(f"the stream ended before {pattern!r}: {seen}")


async def read_rest(response: httpx.Response) -> list[dict[str, Any]]:
    """The SSE events after those ``read_until`` returned, to the end of the body."""
    lines: AsyncIterator[str] = response.extensions.setdefault(
        "tests_sse_lines", response.aiter_lines()
    )
    return [json.loads(line[6:]) async for line in lines if line.startswith("data: {")]


async def read_events(chunks: AsyncIterator[bytes], count: int) -> bytes:
    """At least ``count`` SSE events from a response's ``aiter_raw()``, as raw bytes; read
    the rest from the same iterator (httpx allows one)."""
    seen = b""
    async for data in chunks:
        seen += data
        if seen.count(b"\n\n") >= count:
            return seen
    raise AssertionError(f"the stream ended early: {seen!r}")


def raw_chat_post(port: int, index: int, **fields: Any) -> bytes:
    """A whole HTTP/1.1 ``POST /api/chat`` to 127.0.0.1:``port`` as ``useChat`` sends its
    first turn (chat ``chat-<index>``), ``fields`` added to the body; for load clients
    that speak raw HTTP (httpx costs more per chunk than the server under test)."""
    user = {"id": f"u-{index}", "role": "user", "parts": [{"type": "text", "text": "hi"}]}
    chat = {"id": f"chat-{index}", "messages": [user], "trigger": "submit-message"}
    body = json.dumps(chat | fields).encode()
    return (
        f"POST /api/chat HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\n"
        f"content-type: application/json\r\ncontent-length: {len(body)}\r\n"
        "connection: close\r\n\r\n"
    ).encode() + body


class RecordingAgent:
    """An agent that answers "ok" and keeps every turn it was given: a test reads from
    ``turns`` whether a request reached the agent."""

    def __init__(self) -> None:
        self.turns: list[ChatTurn] = []

    async def respond(self, turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        self.turns.append(turn)
        await ctx.write_text("ok")
