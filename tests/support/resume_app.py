"""A chat app whose answers are slow enough to interrupt, for the resumable-stream tests:
served in the test's loop, and as uvicorn workers sharing a redis-server
(``uvicorn tests.support.resume_app:create_app --factory``, ``UIWIRE_TEST_REDIS_URL``,
``UIWIRE_TEST_LEASE``, ``UIWIRE_TEST_REDIS_DEADLINE``; with ``UIWIRE_TEST_DATABASE_URL``,
the chats in that database).

The agent is hand-written with the push API: ``words`` words, ``delay`` seconds apart
(body fields). A turn that starts with a user message saying ``approve`` instead asks to
approve a ``transfer`` call, and its continuation completes the call, then writes the
words. ``GET /test/events`` tells what happened in this process: answers cancelled, and
``on_finish`` statuses with their text.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.support.processes import free_port, server_process
from uiwire.chats import SQLChatStore
from uiwire.resume import StreamStore
from uiwire.server import ChatEndpoint, ChatHooks, ChatResult, Conversations, Identity
from uiwire.stream import ChatFunction, ChatTurn, ChatWork, StreamContext


class Events:
    def __init__(self) -> None:
        self.cancelled: list[str] = []
        self.finished: list[dict[str, Any]] = []
        self.settled = asyncio.Event()

    def to_json(self) -> dict[str, Any]:
        return {"cancelled": self.cancelled, "finished": self.finished}


def words_of(turn: ChatTurn) -> tuple[int, float]:
    return int(turn.body.get("words", 30)), float(turn.body.get("delay", 0.02))


def make_agent(events: Events) -> ChatFunction:
    async def answer(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        words, delay = words_of(turn)
        first = turn.messages[0].parts[0]
        try:
            if turn.continued is None and getattr(first, "text", "") == "approve":
                call = await ctx.begin_tool_call("transfer", {"amount": 5}, tool_call_id="call_1")
                await ctx.request_tool_approval(call, approval_id="aprv_1")
                return
            if turn.continued is not None:
                await ctx.complete_tool_call("call_1", {"sent": 5})
            for index in range(words):
                await ctx.write_text(f"w{index} ")
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            events.cancelled.append(turn.chat_id)
            raise

    return answer


class SlowToBegin:
    """The agent, whose ``begin_turn`` first waits ``beginDelay`` seconds (from the
    body) as one fetching a paused run from a slow store would."""

    def __init__(self, answer: ChatFunction) -> None:
        self.answer = answer

    async def begin_turn(self, turn: ChatTurn) -> ChatWork:
        await asyncio.sleep(float(turn.body.get("beginDelay", 0)))

        async def work(ctx: StreamContext[Any]) -> None:
            await self.answer(turn, ctx)

        return work


def chat_app(
    streams: StreamStore | None, *, hooks: ChatHooks | None = None, **options: Any
) -> tuple[Starlette, Events]:
    """The app, and what happens in it (``hooks``' ``on_finish`` is the app's own)."""
    events = Events()

    async def finished(result: ChatResult) -> None:
        text = "".join(p.get("text", "") for p in result.message["parts"] if p["type"] == "text")
        events.finished.append({"chat": result.chat_id, "status": result.status, "text": text})
        events.settled.set()

    endpoint = ChatEndpoint(
        SlowToBegin(make_agent(events)),
        streams=streams,
        hooks=dataclasses.replace(hooks or ChatHooks(), on_finish=finished),
        **options,
    )

    async def report(request: Request) -> JSONResponse:
        return JSONResponse(events.to_json())

    routes = [*endpoint.routes(), Route("/test/events", report)]
    return Starlette(routes=routes), events


def create_app() -> Starlette:
    """One uvicorn worker of a multi-worker deployment, on the Redis of the test."""
    from uiwire.resume.redis import RedisLimits, RedisStreamStore

    store = RedisStreamStore(
        os.environ["UIWIRE_TEST_REDIS_URL"],
        lease=float(os.environ.get("UIWIRE_TEST_LEASE", "2")),
        limits=RedisLimits(deadline=float(os.environ.get("UIWIRE_TEST_REDIS_DEADLINE", "2"))),
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await store.aclose()

    database = os.environ.get("UIWIRE_TEST_DATABASE_URL")
    if database is None:
        # the chats are the client's here; one secret for both workers' owner cookies
        identity = Identity(secret=os.environ["UIWIRE_TEST_SECRET"])
        app, _ = chat_app(store, conversations=False, identity=identity)
    else:  # the chats, and the cookies' secret, in the database the workers share
        chats = SQLChatStore(database, timeout=float(os.environ.get("UIWIRE_TEST_DB_TIMEOUT", "5")))
        app, _ = chat_app(store, conversations=Conversations(store=chats))
    app.router.lifespan_context = lifespan
    return app


@contextlib.contextmanager
def resume_workers(
    *envs: dict[str, str],
    app: str = "tests.support.resume_app:create_app",
    ready: str = "/test/events",
) -> Iterator[list[str]]:
    """One uvicorn worker process of ``create_app`` (or the factory ``app``, ready once
    ``ready`` answers) per environment, as behind a load balancer; yields their base
    URLs, stops them on exit."""
    root = Path(__file__).resolve().parents[2]
    with contextlib.ExitStack() as stack:
        bases: list[str] = []
        for env in envs:
            port = free_port()
            command = [
                sys.executable, "-m", "uvicorn", app,
                "--factory", "--port", str(port), "--log-level", "warning",
            ]  # fmt: skip
            base = f"http://127.0.0.1:{port}"
            stack.enter_context(
                server_process(command, ready_url=f"{base}{ready}", env=env, cwd=root)
            )
            bases.append(base)
        yield bases
