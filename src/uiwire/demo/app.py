"""The demo server: the chat page, ``POST /api/chat`` with resume and stop, and each
browser's own chats.

Everything the page needs is in the package (``static/``, built from ``web/``): nothing
is fetched from a CDN.

The server owns the conversation (``Conversations``): each chat is kept in the chat
store, saved when a turn starts (the question) and when it ends (the answer), and the
model sees the stored conversation, never the page's copy of it. Owners are anonymous:
a signed HttpOnly cookie, signed with the secret the chat store keeps, so that the same
browser still owns its chats after a restart. ``routes("/api/chat")`` serves, next to
the chat, its history: ``GET /api/chats`` (the caller's chats) and ``GET`` / ``DELETE
/api/chats/{id}``.

Answers are resumable (``MemoryStreamStore``): the generation runs on whether or not the
page stays, ``GET /api/chat/{id}/stream`` replays the answer in progress to a reloaded
page or a second tab, ``POST /api/chat/{id}/stop`` stops it, and ``POST
/api/chat/{id}/steer`` hands it a message for its next step (the page's Steer, over
either transport). The first three go over
one WebSocket at ``/api/chat/ws`` (AI SDK 7's ``WebSocketChatTransport``), which the
page uses when its HTTP / WebSocket switch says so.

The page runs AI SDK 7, so the stream targets ``v7``. ``GET /api/demo/config`` tells it
the example prompts and the body limit (it checks attachments before sending them).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncGenerator
from importlib import resources
from pathlib import Path
from typing import Any, Final

from agents import Agent
from fastapi import FastAPI
from fastapi.responses import FileResponse
from starlette.staticfiles import StaticFiles

from uiwire.adapters.agents import AgentsAdapter
from uiwire.chats import ChatStore, MemoryChatStore, SQLChatStore
from uiwire.demo.agent import demo_agent
from uiwire.demo.model import PROMPTS
from uiwire.resume import MemoryStreamStore
from uiwire.server import ChatEndpoint, Conversations, Identity, RequestLimits, ResponseOptions

__all__ = ["default_db_path", "demo_app", "open_chat_store"]

STATIC: Final = Path(str(resources.files("uiwire.demo") / "static"))


def default_db_path() -> Path:
    """Where ``uiwire demo`` keeps its chats unless ``--db`` says otherwise: ``demo.db``
    in uiwire's data directory (``$XDG_DATA_HOME/uiwire``, by default
    ``~/.local/share/uiwire``)."""
    data_home = os.environ.get("XDG_DATA_HOME") or ""
    base = Path(data_home) if Path(data_home).is_absolute() else Path.home() / ".local" / "share"
    return base / "uiwire" / "demo.db"


def open_chat_store(db: Path | None) -> ChatStore:
    """The demo's chat store: the chats, and the owner cookies' secret, in the SQLite
    file ``db`` (they survive a restart); None keeps them in this process's memory (the
    tests' servers)."""
    if db is None:
        return MemoryChatStore()
    db.parent.mkdir(parents=True, exist_ok=True)
    return SQLChatStore(f"sqlite+aiosqlite:///{db}")


def demo_app(
    agent: Agent[Any] | None = None,
    *,
    db: Path | None = None,
    limits: RequestLimits | None = None,
) -> FastAPI:
    """The demo as an ASGI app (``uiwire demo`` serves it with uvicorn).

    ``agent``: the agent to serve (``demo_agent()`` by default). ``db``: the SQLite file
    that keeps the chats (see ``open_chat_store``); None keeps them in memory.
    ``limits``: what one chat request may carry (``RequestLimits()`` by default); the
    page is told the byte limit, to refuse too large attachments before sending them.
    """
    store = open_chat_store(db)
    limits = limits or RequestLimits()

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            await store.close()

    app = FastAPI(title="uiwire demo", docs_url=None, redoc_url=None, lifespan=lifespan)
    chat = ChatEndpoint(
        AgentsAdapter(agent or demo_agent()),
        conversations=Conversations(store=store),
        identity=Identity(),  # anonymous owners, signed with the store's kept secret
        streams=MemoryStreamStore(),
        limits=limits,
        response=ResponseOptions(target="v7"),  # the page runs AI SDK 7 (web/package.json)
    )
    # POST /api/chat, GET /api/chat/{id}/stream (resume), POST /api/chat/{id}/stop, the
    # WebSocket /api/chat/ws, GET /api/chats, GET and DELETE /api/chats/{id}
    app.router.routes.extend(chat.routes("/api/chat"))

    @app.get("/api/demo/config")
    async def config() -> dict[str, Any]:  # pyright: ignore[reportUnusedFunction]
        """What the page needs to know: the example prompts, and the largest body
        ``POST /api/chat`` takes (the page checks attachments against it)."""
        return {
            "prompts": [{"label": label, "text": text} for label, text in PROMPTS],
            "maxBodyBytes": limits.max_body_bytes,
        }

    @app.get("/")
    async def page() -> FileResponse:  # pyright: ignore[reportUnusedFunction]
        return FileResponse(STATIC / "index.html")

    app.mount("/assets", StaticFiles(directory=STATIC), name="assets")
    return app
