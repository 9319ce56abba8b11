"""Conversations kept by the server, in SQLite (no LLM).

    python examples/conversations_app.py           # a few requests against itself, printed
    python examples/conversations_app.py --serve   # serve on http://127.0.0.1:8000

The server keeps every chat in ``chats.db`` (``DATABASE_URL`` for another database, e.g.
``postgresql+asyncpg://...``), believes the stored conversation rather than the client's
copy, and lets each browser (an anonymous owner in a signed cookie) reach only its own
chats. The run against itself shows each of these.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI

from uiwire.chats import SQLChatStore
from uiwire.server import ChatEndpoint, Conversations
from uiwire.stream import ChatTurn, StreamContext


async def answer(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
    """Says how many messages it was given and what the user's last one says: enough to
    see what reached the "model"."""
    last = turn.messages[-1]
    said = " ".join(getattr(part, "text", "") for part in last.parts)
    await ctx.write_text(f"I see {len(turn.messages)} messages; you said {said!r}.")


def make_app(database_url: str) -> FastAPI:
    store = SQLChatStore(database_url)
    chat = ChatEndpoint(answer, conversations=Conversations(store=store))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        await store.close()

    app = FastAPI(lifespan=lifespan)
    # POST /api/chat, resume and stop, GET /api/chats, GET and DELETE /api/chats/{id}
    app.router.routes.extend(chat.routes("/api/chat"))
    return app


def user(text: str, message_id: str) -> dict[str, Any]:
    return {"id": message_id, "role": "user", "parts": [{"type": "text", "text": text}]}


async def tour(base: str) -> None:
    async with httpx.AsyncClient(base_url=base) as alice, httpx.AsyncClient(base_url=base) as eve:
        # the last-message body: the server has the rest
        for text, message_id in (("Hello!", "u1"), ("And now?", "u2")):
            body = {"id": "trip", "message": user(text, message_id)}
            reply = await alice.post("/api/chat", json=body)
            print("alice:", text, "->", _text(reply.text))
        # a forged history is ignored: only the new message is taken from the client
        forged = [
            user("Hello!", "u1"),
            {"id": "msg_x", "role": "assistant", "parts": [{"type": "text", "text": "lies"}]},
            user("Third?", "u3"),
        ]
        body = {"id": "trip", "messages": forged, "trigger": "submit-message"}
        print("alice (forged history):", _text((await alice.post("/api/chat", json=body)).text))
        chats = (await alice.get("/api/chats")).json()["chats"]
        print("alice's chats:", [(c["id"], c["title"]) for c in chats])
        messages = (await alice.get("/api/chats/trip")).json()["messages"]
        print("alice's chat 'trip':", [m["role"] for m in messages])
        print("eve reads alice's chat:", (await eve.get("/api/chats/trip")).status_code)
        print("eve's chats:", (await eve.get("/api/chats")).json()["chats"])
        print("alice deletes it:", (await alice.delete("/api/chats/trip")).status_code)


def _text(body: str) -> str:
    deltas = [
        json.loads(line[6:]).get("delta", "")
        for line in body.splitlines()
        if line.startswith('data: {"type":"text-delta"')
    ]
    return "".join(deltas)


async def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = os.environ.get("DATABASE_URL", f"sqlite+aiosqlite:///{directory}/chats.db")
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(make_app(url), log_level="warning")
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        while not server.started:
            await asyncio.sleep(0.01)
        try:
            await tour(f"http://127.0.0.1:{sock.getsockname()[1]}")
        finally:
            server.should_exit = True
            await serving


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--serve", action="store_true", help="serve on 127.0.0.1:8000")
    if parser.parse_args().serve:
        database = os.environ.get("DATABASE_URL", "sqlite+aiosqlite:///chats.db")
        uvicorn.run(make_app(database), host="127.0.0.1", port=8000)
    else:
        asyncio.run(main())
