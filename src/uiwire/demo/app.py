"""The demo server: the chat page, ``POST /api/chat``, and saved chats to reload.

Everything the page needs is in the package (``static/``, built from ``web/``): nothing
is fetched from a CDN.
"""

from __future__ import annotations

import collections
import re
from importlib import resources
from pathlib import Path
from typing import Any, Final

from agents import Agent
from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse
from starlette.staticfiles import StaticFiles

from uiwire.adapters.agents import AgentsAdapter
from uiwire.demo.agent import demo_agent
from uiwire.demo.model import PROMPTS
from uiwire.server import ChatEndpoint, ChatResult

__all__ = ["ChatHistory", "demo_app"]

STATIC: Final = Path(str(resources.files("uiwire.demo") / "static"))
_CHAT_ID: Final = re.compile(r"[A-Za-z0-9_-]{1,128}")


class ChatHistory:
    """Saved conversations in memory, newest kept (the demo's persistence)."""

    def __init__(self, *, max_chats: int = 1000) -> None:
        self._chats: collections.OrderedDict[str, list[dict[str, Any]]] = collections.OrderedDict()
        self._max = max_chats

    def save(self, result: ChatResult) -> None:
        self._chats[result.chat_id] = result.messages
        self._chats.move_to_end(result.chat_id)
        while len(self._chats) > self._max:
            self._chats.popitem(last=False)

    def get(self, chat_id: str) -> list[dict[str, Any]] | None:
        return self._chats.get(chat_id)


def demo_app(agent: Agent[Any] | None = None, *, history: ChatHistory | None = None) -> FastAPI:
    """The demo as an ASGI app (``uiwire demo`` serves it with uvicorn)."""
    adapter = AgentsAdapter(agent or demo_agent())
    chats = history or ChatHistory()
    app = FastAPI(title="uiwire demo", docs_url=None, redoc_url=None)
    chat = ChatEndpoint(adapter, on_finish=chats.save)
    app.add_route("/api/chat", chat.respond, methods=["POST"])

    @app.get("/api/chats/{chat_id}")
    async def saved_chat(chat_id: str) -> JSONResponse:  # pyright: ignore[reportUnusedFunction]
        messages = chats.get(chat_id) if _CHAT_ID.fullmatch(chat_id) else None
        if messages is None:
            return JSONResponse({"error": {"message": "no such chat"}}, status_code=404)
        return JSONResponse({"id": chat_id, "messages": messages})

    @app.get("/api/demo/prompts")
    async def prompts() -> dict[str, Any]:  # pyright: ignore[reportUnusedFunction]
        return {"prompts": [{"label": label, "text": text} for label, text in PROMPTS]}

    @app.get("/")
    async def page() -> FileResponse:  # pyright: ignore[reportUnusedFunction]
        return FileResponse(STATIC / "index.html")

    app.mount("/assets", StaticFiles(directory=STATIC), name="assets")
    return app
