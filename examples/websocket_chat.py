"""A chat over one WebSocket, as AI SDK 7's ``WebSocketChatTransport`` speaks it (no LLM
needed).

    python examples/websocket_chat.py           # two requests on one socket, printed
    python examples/websocket_chat.py --serve   # serve ws://127.0.0.1:8000/api/chat/ws

``ChatEndpoint.routes`` mounts the socket beside the HTTP routes; the page picks it with
``useChat({ transport: new WebSocketChatTransport({ url: "/api/chat/ws" }) })``. Here a
Python client plays the page: two ``send`` frames on one socket, their answers arriving
interleaved, each numbered from 0 and ended by ``end``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
from typing import Any

import uvicorn
import websockets
from starlette.applications import Starlette

from uiwire.server import ChatEndpoint
from uiwire.stream import ChatTurn, StreamContext


async def respond(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
    """A hand-written agent: echoes the user's words, one at a time."""
    last = turn.messages[-1]
    said = " ".join(p.text for p in last.parts if p.type == "text")  # type: ignore[union-attr]
    for word in f"You said: {said}".split(" "):
        await ctx.write_text(word + " ")
        await asyncio.sleep(0.01)


chat = ChatEndpoint(respond)
app = Starlette(routes=chat.routes("/api/chat"))  # POST /api/chat, ..., and /api/chat/ws


def send_frame(request_id: str, chat_id: str, text: str) -> str:
    """What ``WebSocketChatTransport`` sends for ``useChat``'s ``sendMessage({ text })``."""
    message = {"id": f"u-{chat_id}", "role": "user", "parts": [{"type": "text", "text": text}]}
    return json.dumps(
        {
            "type": "send",
            "requestId": request_id,
            "id": chat_id,
            "trigger": "submit-message",
            "messageId": None,
            "messages": [message],
            "headers": {},
            "body": {},
            "metadata": None,
        }
    )


async def demo() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/api/chat/ws") as ws:
            await ws.send(send_frame("r1", "chat-1", "hello there"))
            await ws.send(send_frame("r2", "chat-2", "good morning"))
            ended = 0
            while ended < 2:
                frame = json.loads(await ws.recv())
                print(json.dumps(frame))
                ended += frame["type"] == "end"
    finally:
        server.should_exit = True
        await serving


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", action="store_true", help="serve on 127.0.0.1:8000")
    if parser.parse_args().serve:
        uvicorn.run(app, host="127.0.0.1", port=8000)
    else:
        asyncio.run(demo())
