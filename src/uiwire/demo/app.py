"""The demo server: the chat page, ``POST /api/chat`` with resume and stop, and saved
chats to reload.

Everything the page needs is in the package (``static/``, built from ``web/``): nothing
is fetched from a CDN.

Answers are resumable (``MemoryStreamStore``): the generation runs on whether or not the
page stays, ``GET /api/chat/{id}/stream`` replays the answer in progress to a reloaded
page or a second tab, and ``POST /api/chat/{id}/stop`` stops it. A reloaded page first
loads the saved chat, then resumes; so that the question is there to resume under, a
conversation is saved when a turn starts (as the client sent it) and again when it ends
(with the answer).
"""

from __future__ import annotations

import collections
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
from uiwire.resume import MemoryStreamStore, check_chat_id
from uiwire.server import ChatEndpoint, ChatResult
from uiwire.stream import ChatAgent, ChatTurn, ChatWork

__all__ = ["ChatHistory", "demo_app"]

STATIC: Final = Path(str(resources.files("uiwire.demo") / "static"))


class ChatHistory:
    """Saved conversations in memory, newest kept (the demo's persistence).

    A conversation is saved twice per turn: as the client sent it when the turn starts
    (``start``), so that a page reloaded mid-answer finds its question, and with the
    answer when it ends (``save``, the ``on_finish`` hook). An answer that a newer turn
    of the chat replaced (a new answer stops the chat's previous one) is not saved over
    that turn's conversation."""

    def __init__(self, *, max_chats: int = 1000) -> None:
        self._chats: collections.OrderedDict[str, list[dict[str, Any]]] = collections.OrderedDict()
        self._turns: dict[str, ChatTurn] = {}  # per chat, the turn whose answer runs
        self._max = max_chats

    def start(self, turn: ChatTurn) -> None:
        """A turn was accepted: save the conversation as the client sent it."""
        self._turns[turn.chat_id] = turn
        self._put(turn.chat_id, [message.to_json() for message in turn.messages])

    def save(self, result: ChatResult) -> None:
        """``on_finish``: the conversation with the turn's answer."""
        if self._turns.get(result.chat_id, result.turn) is not result.turn:
            return  # a newer turn started since: its conversation stands
        self._turns.pop(result.chat_id, None)
        self._put(result.chat_id, result.messages)

    def get(self, chat_id: str) -> list[dict[str, Any]] | None:
        return self._chats.get(chat_id)

    def _put(self, chat_id: str, messages: list[dict[str, Any]]) -> None:
        self._chats[chat_id] = messages
        self._chats.move_to_end(chat_id)
        while len(self._chats) > self._max:
            self._chats.popitem(last=False)


class _SavedAtStart:
    """A ``ChatAgent`` that calls ``history.start(turn)`` once ``agent`` accepted the turn,
    before the answer starts (``ChatEndpoint`` has a hook for a turn's end only)."""

    def __init__(self, agent: ChatAgent, history: ChatHistory) -> None:
        self._agent = agent
        self._history = history

    async def begin_turn(self, turn: ChatTurn, /) -> ChatWork:
        work = await self._agent.begin_turn(turn)  # a refused turn is not saved
        self._history.start(turn)
        return work


def demo_app(agent: Agent[Any] | None = None, *, history: ChatHistory | None = None) -> FastAPI:
    """The demo as an ASGI app (``uiwire demo`` serves it with uvicorn)."""
    chats = history if history is not None else ChatHistory()
    adapter = _SavedAtStart(AgentsAdapter(agent or demo_agent()), chats)
    app = FastAPI(title="uiwire demo", docs_url=None, redoc_url=None)
    chat = ChatEndpoint(adapter, on_finish=chats.save, streams=MemoryStreamStore())
    # POST /api/chat, GET /api/chat/{id}/stream (resume), POST /api/chat/{id}/stop
    app.router.routes.extend(chat.routes("/api/chat"))

    @app.get("/api/chats/{chat_id}")
    async def saved_chat(chat_id: str) -> JSONResponse:  # pyright: ignore[reportUnusedFunction]
        messages = chats.get(chat_id) if _valid_chat_id(chat_id) else None
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


def _valid_chat_id(chat_id: str) -> bool:
    try:
        check_chat_id(chat_id)
    except ValueError:
        return False
    return True
