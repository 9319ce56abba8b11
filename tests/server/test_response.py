"""UIMessageStreamResponse through a real uvicorn server on loopback and an httpx client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from tests.support.servers import serve
from tests.support.stream_rules import assert_valid_body
from tests.support.tasks import uiwire_tasks_left
from uiwire.server import UIMessageStreamResponse
from uiwire.stream import StreamContext, StreamRecord, StreamStatus

Work = Callable[[StreamContext], Awaitable[None]]


class Harness:
    """A one-route app whose contexts the test can inspect."""

    def __init__(self, work: Work, **options: Any) -> None:
        self.work = work
        self.options = options
        self.contexts: list[StreamContext] = []
        self.finished: list[tuple[StreamRecord, StreamStatus]] = []
        self.keep_alive: float | None = options.pop("keep_alive", 15.0)

        async def chat(request: Request) -> UIMessageStreamResponse:
            async def on_close(record: StreamRecord, status: StreamStatus) -> None:
                self.finished.append((record, status))

            ctx = StreamContext(on_close=on_close, **self.options)
            self.contexts.append(ctx)
            ctx.run(self.work)
            return UIMessageStreamResponse(ctx, keep_alive=self.keep_alive)

        self.app = Starlette(routes=[Route("/chat", chat, methods=["POST"])])


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


async def test_tokens_arrive_while_the_work_is_still_running(client: httpx.AsyncClient) -> None:
    proceed = asyncio.Event()
    work_done = asyncio.Event()
    events: list[str] = []

    async def work(ctx: StreamContext) -> None:
        await ctx.write_text("first")
        events.append("work: wrote first, waiting")
        await proceed.wait()  # released only once the client has seen "first"
        await ctx.write_text(" second")
        work_done.set()

    harness = Harness(work)
    async with serve(harness.app) as url:
        async with client.stream("POST", f"{url}/chat") as response:
            assert response.status_code == 200
            assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
            assert response.headers["content-type"].startswith("text/event-stream")
            body = b""
            async for data in response.aiter_bytes():
                body += data
                if b'"delta":"first"' in body and not proceed.is_set():
                    assert not work_done.is_set()
                    events.append("client: got first")
                    proceed.set()
        await harness.contexts[0].wait_closed()
    assert events == ["work: wrote first, waiting", "client: got first"]
    chunks = assert_valid_body(body)
    assert [c["delta"] for c in chunks if c["type"] == "text-delta"] == ["first", " second"]
    assert harness.finished[0][1] == "finish"


async def test_a_disconnect_mid_stream_cancels_the_work(client: httpx.AsyncClient) -> None:
    cancelled = asyncio.Event()

    async def work(ctx: StreamContext) -> None:
        await ctx.write_text("first")
        try:
            await asyncio.Event().wait()  # idle: only the disconnect watcher can notice
        except asyncio.CancelledError:
            cancelled.set()
            raise

    harness = Harness(work)
    async with serve(harness.app) as url:
        async with client.stream("POST", f"{url}/chat") as response:
            async for data in response.aiter_bytes():
                if b'"delta":"first"' in data:
                    break  # leaving the block closes the connection
        ctx = harness.contexts[0]
        await asyncio.wait_for(ctx.wait_closed(), 10)
        assert cancelled.is_set()
        assert await uiwire_tasks_left() == []
    record, status = harness.finished[0]
    assert status == "disconnect"
    assert record.text == "first"
    assert len(harness.finished) == 1


async def test_keep_alive_comments_while_idle(client: httpx.AsyncClient) -> None:
    async def work(ctx: StreamContext) -> None:
        await ctx.write_text("thinking")
        await asyncio.sleep(0.3)
        await ctx.write_text(" done")

    harness = Harness(work, keep_alive=0.05)
    async with serve(harness.app) as url:
        response = await client.post(f"{url}/chat")
    assert response.content.count(b": keep-alive\n\n") >= 2
    assert_valid_body(response.content)


async def test_errors_reach_the_client_masked(client: httpx.AsyncClient) -> None:
    async def work(ctx: StreamContext) -> None:
        await ctx.write_text("partial")
        raise RuntimeError("connection string postgres://admin:pw@db")

    harness = Harness(work)
    async with serve(harness.app) as url:
        response = await client.post(f"{url}/chat")
        await harness.contexts[0].wait_closed()
    assert response.status_code == 200
    assert b"postgres" not in response.content
    chunks = assert_valid_body(response.content)
    assert chunks[-1] == {"type": "error", "errorText": "An error occurred."}
    assert harness.finished[0][1] == "error"


async def test_a_slow_on_close_does_not_hold_the_response(client: httpx.AsyncClient) -> None:
    release = asyncio.Event()
    statuses: list[str] = []

    async def on_close(record: StreamRecord, status: StreamStatus) -> None:
        await release.wait()  # held until the client has the whole response
        statuses.append(status)

    async def chat(request: Request) -> UIMessageStreamResponse:
        ctx = StreamContext(on_close=on_close)

        async def work(ctx: StreamContext) -> None:
            await ctx.write_text("answer")

        ctx.run(work)
        return UIMessageStreamResponse(ctx)

    app = Starlette(routes=[Route("/chat", chat, methods=["POST"])])
    async with serve(app) as url:
        response = await asyncio.wait_for(client.post(f"{url}/chat"), 10)
        assert response.content.endswith(b"data: [DONE]\n\n")
        assert statuses == []
        release.set()
        for _ in range(200):
            if statuses:
                break
            await asyncio.sleep(0.005)
    assert statuses == ["finish"]


async def test_fastapi_route_with_extra_headers(client: httpx.AsyncClient) -> None:
    app = FastAPI()

    @app.post("/api/chat")
    async def chat() -> UIMessageStreamResponse:  # pyright: ignore[reportUnusedFunction]
        ctx = StreamContext()

        async def work(ctx: StreamContext) -> None:
            await ctx.write_text("from fastapi")

        ctx.run(work)
        return UIMessageStreamResponse(ctx, headers={"x-request-id": "r1"})

    async with serve(app) as url:
        response = await client.post(f"{url}/api/chat")
    assert response.headers["x-request-id"] == "r1"
    assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
    assert_valid_body(response.content)


def test_response_arguments_are_checked() -> None:
    with pytest.raises(TypeError, match="ctx must be a StreamContext"):
        UIMessageStreamResponse("ctx")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="keep_alive"):
        UIMessageStreamResponse(StreamContext(), keep_alive=0)
