"""Resumable answers: reload, lose the network or open a second tab mid-answer, and the
answer is replayed and followed; a stop button stops it on whichever worker runs it.

    uvicorn resumable_app:app                       # one process: streams kept in memory
    REDIS_URL=redis://127.0.0.1:6379/0 uvicorn resumable_app:app --workers 4

Chats are kept in SQLite (``chats.db``; ``DATABASE_URL`` for another database), which
every worker shares, with the secret of the anonymous owners' cookies: each browser
reaches only its own chats, on any worker. The page side is ``useChat({ id, messages,
resume: true })`` plus a stop button that POSTs ``{}`` as JSON to ``/api/chat/{id}/stop``
before calling ``stop()``. The agent here is hand-written (no LLM needed): any
``ChatAgent``, e.g. ``AgentsAdapter(agent)``, works the same.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from uiwire.chats import SQLChatStore
from uiwire.resume import MemoryStreamStore, RedisStreamStore, StreamStore
from uiwire.server import ChatEndpoint, Conversations
from uiwire.stream import ChatTurn, StreamContext


async def answer(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
    """A slow answer, one word every 50 ms: plenty of time to reload the page."""
    for number in range(1, int(turn.body.get("words", 100)) + 1):
        await ctx.write_text(f"{number} ")
        await asyncio.sleep(0.05)


store: StreamStore = (
    RedisStreamStore(os.environ["REDIS_URL"]) if "REDIS_URL" in os.environ else MemoryStreamStore()
)
chats = SQLChatStore(os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///chats.db"))
chat = ChatEndpoint(answer, streams=store, conversations=Conversations(store=chats))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    yield
    await store.aclose()  # the Redis connections and the stop listener
    await chats.close()


app = FastAPI(lifespan=lifespan)
app.router.routes.extend(chat.routes("/api/chat"))  # the chat, resume, stop and the history routes
