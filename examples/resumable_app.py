"""Resumable answers: reload, lose the network or open a second tab mid-answer, and the
answer is replayed and followed; a stop button stops it on whichever worker runs it.

    uvicorn resumable_app:app                       # one process: kept in memory
    REDIS_URL=redis://127.0.0.1:6379/0 uvicorn resumable_app:app --workers 4

The page side is ``useChat({ id, messages, resume: true })`` plus a stop button that
POSTs ``/api/chat/{id}/stop`` before calling ``stop()``. The agent here is hand-written
(no LLM needed): any ``ChatAgent``, e.g. ``AgentsAdapter(agent)``, works the same.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request

from uiwire.resume import MemoryStreamStore, RedisStreamStore, StreamStore
from uiwire.server import ChatEndpoint, ChatResult
from uiwire.stream import ChatTurn, StreamContext

SAVED: dict[str, list[dict[str, Any]]] = {}  # stands in for your database


async def answer(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
    """A slow answer, one word every 50 ms: plenty of time to reload the page."""
    for number in range(1, int(turn.body.get("words", 100)) + 1):
        await ctx.write_text(f"{number} ")
        await asyncio.sleep(0.05)


def save(result: ChatResult) -> None:
    SAVED[result.chat_id] = result.messages  # whole, even if every client left


def owns_chat(request: Request, chat_id: str) -> bool:
    """Who may post to, resume and stop a chat. Use your session here; this example
    only refuses requests that carry another user's header."""
    return request.headers.get("x-user", "demo") == "demo"


store: StreamStore = (
    RedisStreamStore(os.environ["REDIS_URL"]) if "REDIS_URL" in os.environ else MemoryStreamStore()
)
chat = ChatEndpoint(answer, streams=store, on_finish=save, authorize=owns_chat)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await store.aclose()  # the Redis connections and the stop listener


app = FastAPI(lifespan=lifespan)
app.router.routes.extend(chat.routes("/api/chat"))  # POST, GET {id}/stream, POST {id}/stop
