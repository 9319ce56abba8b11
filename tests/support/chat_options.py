"""An endpoint for the tests of ``ChatHooks`` and ``ResponseOptions`` (tests/server):
a short answer in two text parts, a kept conversation, and what its hooks saw."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from starlette.applications import Starlette

from tests.support.js import http_chat
from uiwire.chats import MemoryChatStore
from uiwire.server import ChatEndpoint, ChatHooks, ChatResult, Conversations, Identity
from uiwire.stream import ChatTurn, StreamContext

USER = "u1"


def chunks_of(body: str) -> list[dict[str, Any]]:
    return [json.loads(line[6:]) for line in body.splitlines() if line.startswith("data: {")]


def text_of(message: Mapping[str, Any]) -> str:
    return "".join(p.get("text", "") for p in message["parts"] if p["type"] == "text")


def started_at(turn: ChatTurn) -> dict[str, Any]:
    return {"createdAt": 1700000000000, "model": "test-model", "chat": turn.chat_id}


async def finished_at(turn: ChatTurn) -> dict[str, Any]:
    await asyncio.sleep(0)  # an async hook is awaited
    return {"finishedAt": 1700000000500}


def after_each_text_end(chunk: Mapping[str, Any]) -> dict[str, Any] | None:
    """Per-part metadata: which text parts ended (the JS ``messageMetadata({part})``)."""
    if chunk["type"] == "text-end":
        return {"lastTextEnded": chunk["id"]}
    return None


class OptionsApp:
    """An endpoint answering "Hello, world." in two text parts, with a kept conversation
    for user ``u1`` (the ``x-user`` header, or ``?user=`` on the socket)."""

    def __init__(self, *, hooks: ChatHooks | None = None, **options: Any) -> None:
        self.store = MemoryChatStore()
        self.turns: list[ChatTurn] = []
        self.finished: list[ChatResult] = []
        self.saving = asyncio.Event()
        self.saving.set()
        self.endpoint = ChatEndpoint(
            self.respond,
            hooks=dataclasses.replace(hooks or ChatHooks(), on_finish=self.on_finish),
            conversations=Conversations(store=self.store),
            identity=Identity(
                identify=lambda r: r.headers.get("x-user") or r.query_params.get("user")
            ),
            **options,
        )
        self.app = Starlette(routes=self.endpoint.routes("/api/chat"))

    async def respond(self, turn: ChatTurn, ctx: StreamContext[Any]) -> None:
        self.turns.append(turn)
        await ctx.write_text("Hello, ")
        await ctx.end_text()
        await ctx.write_text("world.")

    async def on_finish(self, result: ChatResult) -> None:
        await self.saving.wait()
        self.finished.append(result)

    async def saved_answer(self, chat_id: str = "chat-1") -> Mapping[str, Any]:
        for _ in range(500):
            if self.finished:
                break
            await asyncio.sleep(0.01)
        chat = await self.store.get(USER, chat_id)
        assert chat is not None
        return chat.messages[-1].to_json()


async def send(base: str, **options: Any) -> Any:
    got = await http_chat(f"{base}/api/chat", chat="chat-1", headers={"x-user": USER}, **options)
    assert got["errors"] == [], got["errors"]
    return got
