"""The model's own memory: an Agents SDK Session per chat, next to the chats, in SQLite.

    python examples/agents_sessions_app.py           # a few turns against itself, printed
    python examples/agents_sessions_app.py --serve   # serve on http://127.0.0.1:8000

The server keeps the chats (``SQLChatStore``) and, on the same database engine, each
chat's Agents SDK session (``SQLAlchemySession``): the model gets its own items back,
reasoning with its encrypted content and item ids included, instead of the UI messages
converted back. Offline it answers with the SDK's ScriptedModel (no network), which
says what it was given; with OPENAI_API_KEY set it asks gpt-4.1-mini instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from agents import Agent, Model, set_tracing_disabled
from agents.extensions.memory import SQLAlchemySession
from agents.testing import ModelCall, ModelStep, ScriptedModel, assistant_message
from fastapi import FastAPI
from openai.types.responses import ResponseReasoningItem

from uiwire.adapters.agents import AgentsAdapter, chat_session_id
from uiwire.chats import SQLChatStore
from uiwire.server import ChatEndpoint, Conversations, Identity


def model() -> str | Model:
    if os.environ.get("OPENAI_API_KEY"):
        return "gpt-4.1-mini"
    set_tracing_disabled(True)  # the trace exporter would need the key
    scripted = ScriptedModel()

    def respond(call: ModelCall) -> ModelStep:
        scripted.enqueue(ModelStep.respond(respond))  # ready for the next call, forever
        items: list[Any] = (
            [{"role": "user", "content": call.input}]
            if isinstance(call.input, str)
            else list(call.input)
        )
        questions = [i["content"] for i in items if i.get("role") == "user"]
        thoughts = [i["id"] for i in items if i.get("type") == "reasoning"]
        # a reasoning model that keeps nothing on its side (store=False) sends its
        # reasoning encrypted: it is only any use if it comes back exactly
        thought = ResponseReasoningItem(
            id=f"rs_{secrets.token_hex(4)}",
            type="reasoning",
            summary=[],
            encrypted_content=secrets.token_urlsafe(24),
        )
        said = f"You asked {questions}; I got back my reasoning {thoughts}."
        return ModelStep(output=[thought, assistant_message(said)])

    scripted.enqueue(ModelStep.respond(respond))
    return scripted


def make_app(database_url: str) -> tuple[FastAPI, SQLChatStore]:
    store = SQLChatStore(database_url)
    adapter = AgentsAdapter(
        Agent(name="Assistant", instructions="Be brief.", model=model()),
        # one session per (owner, chat), on the chat store's own engine
        sessions=lambda session_id: SQLAlchemySession(
            session_id, engine=store.engine, create_tables=True
        ),
    )
    chat = ChatEndpoint(
        adapter,
        conversations=Conversations(store=store),
        # your own auth: here, whoever the X-User header names (the default, without
        # identify, is an anonymous owner in a signed cookie)
        identity=Identity(identify=lambda request: request.headers.get("x-user")),
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await store.close()

    app = FastAPI(lifespan=lifespan)
    app.router.routes.extend(chat.routes("/api/chat"))
    return app, store


def user(text: str, message_id: str) -> dict[str, Any]:
    return {"id": message_id, "role": "user", "parts": [{"type": "text", "text": text}]}


async def send(browser: httpx.AsyncClient, body: dict[str, Any]) -> str:
    """One turn (retried while the chat's previous answer is still being saved)."""
    for _ in range(100):
        reply = await browser.post("/api/chat", json=body)
        if reply.status_code != 409:
            break
        await asyncio.sleep(0.05)
    reply.raise_for_status()
    deltas = [
        json.loads(line[6:]).get("delta", "")
        for line in reply.text.splitlines()
        if line.startswith('data: {"type":"text-delta"')
    ]
    return "".join(deltas)


async def tour(base: str, store: SQLChatStore) -> None:
    async with (
        httpx.AsyncClient(base_url=base, headers={"x-user": "alice"}) as alice,
        httpx.AsyncClient(base_url=base, headers={"x-user": "bob"}) as bob,
    ):
        for text, message_id in (("Hi!", "u1"), ("What did you think?", "u2")):
            answer = await send(alice, {"id": "trip", "message": user(text, message_id)})
            print(f"alice: {text!r} -> {answer}")
        # regenerate the last answer: the session drops it, the model sees two questions
        regenerate = {
            "id": "trip",
            "message": user("What did you think?", "u2"),
            "trigger": "regenerate-message",
        }
        print("alice (regenerate):", await send(alice, regenerate))
        # edit the first question: everything after it goes, in the session too
        print("alice (edit):", await send(alice, {"id": "trip", "message": user("Hello!", "u1")}))
        # another owner, the same chat id: a session of their own
        print("bob:", await send(bob, {"id": "trip", "message": user("Who are you?", "b1")}))
    session = SQLAlchemySession(chat_session_id("alice", "trip"), engine=store.engine)
    kinds = [item.get("type", "message") for item in await session.get_items()]
    print("alice's session:", kinds)


async def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = os.environ.get("DATABASE_URL", f"sqlite+aiosqlite:///{directory}/chats.db")
        app, store = make_app(url)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.01)
        try:
            await tour(f"http://127.0.0.1:{sock.getsockname()[1]}", store)
        finally:
            server.should_exit = True
            await serving


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", action="store_true", help="serve on 127.0.0.1:8000")
    if parser.parse_args().serve:
        database = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///chats.db")
        uvicorn.run(make_app(database)[0], host="127.0.0.1", port=8000)
    else:
        asyncio.run(main())
