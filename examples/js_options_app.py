"""The AI SDK's server options, in uiwire (no LLM needed): what a JS route passes to
``toUIMessageStreamResponse({...})``, grouped in ``ChatHooks`` and ``ResponseOptions``.

    python examples/js_options_app.py           # one turn, printed: headers, stream, saved copy
    python examples/js_options_app.py --serve   # serve http://127.0.0.1:8000/api/chat

The JS route it mirrors::

    return result.toUIMessageStreamResponse({
      messageMetadata: ({ part }) =>
        part.type === 'start' ? { createdAt: Date.now(), model: 'gpt-5' }
        : part.type === 'finish' ? { finishedAt: Date.now() } : undefined,
      generateMessageId: createIdGenerator({ prefix: 'answer', size: 16 }),
      headers: { 'x-served-by': 'eu-1' },
      consumeSseStream: ({ stream }) => saveCopy(stream),
      onFinish: ({ messages }) => saveChat(messages),
      onError: error => (error instanceof QuotaExceeded ? error.message : 'An error occurred.'),
      sendReasoning: false,
    });
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import socket
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from uiwire.protocol import ChatRequestError, FieldError
from uiwire.server import ChatEndpoint, ChatHooks, ChatResult, ResponseOptions
from uiwire.stream import ChatTurn, StreamContext

MODEL = "offline-echo"


class QuotaExceeded(Exception):
    """An error whose text is safe to show."""


async def respond(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
    """A hand-written agent (an ``AgentsAdapter(agent, leave_out={"reasoning"})`` or a
    ``DSPyAdapter`` takes the same options): echoes the user's words."""
    last = turn.messages[-1]
    said = " ".join(p.text for p in last.parts if p.type == "text")  # type: ignore[union-attr]
    for word in f"You said: {said}".split(" "):
        await ctx.write_text(word + " ")


def now_ms() -> int:
    return int(time.time() * 1000)


# --- the hooks: onStart-like, onFinish, onError ---------------------------------------------


def on_start(turn: ChatTurn) -> None:
    """Refuse a turn before the agent begins it (a JSON error, nothing saved)."""
    if len(turn.messages) > 200:
        raise ChatRequestError([FieldError("messages", "this chat is too long", "too_long")])


saved: list[ChatResult] = []


def on_finish(result: ChatResult) -> None:
    """``onFinish``: the conversation after the turn (the server keeps it too)."""
    saved.append(result)


def on_error(exc: BaseException) -> str | None:
    """``onError``: the text the user sees (None: "An error occurred.")."""
    return str(exc) if isinstance(exc, QuotaExceeded) else None


# --- the response options: messageMetadata, generateMessageId, headers, consumeSseStream ---


def start_metadata(turn: ChatTurn) -> Mapping[str, Any]:
    return {"createdAt": now_ms(), "model": MODEL}


def finish_metadata(turn: ChatTurn) -> Mapping[str, Any]:
    return {"finishedAt": now_ms()}


def answer_id() -> str:
    return f"answer-{secrets.token_hex(8)}"


copies: dict[str, bytes] = {}


async def keep_a_copy(turn: ChatTurn, frames: AsyncIterator[bytes]) -> None:
    """``consumeSseStream``: a copy of the raw stream, in its own task."""
    copy = b""
    async for data in frames:
        copy += data
    copies[turn.message_id] = copy


chat = ChatEndpoint(
    respond,
    hooks=ChatHooks(on_start=on_start, on_finish=on_finish, on_error=on_error),
    response=ResponseOptions(
        start_metadata=start_metadata,
        finish_metadata=finish_metadata,
        message_id=answer_id,
        headers={"x-served-by": "eu-1"},
        tee=keep_a_copy,
    ),
)
app = Starlette(routes=chat.routes("/api/chat"))


async def demo() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        user = {"id": "u-1", "role": "user", "parts": [{"type": "text", "text": "hello there"}]}
        body = {"id": "chat-1", "messages": [user], "trigger": "submit-message"}
        async with httpx.AsyncClient() as client:
            response = await client.post(f"http://127.0.0.1:{port}/api/chat", json=body)
        print(f"# x-served-by: {response.headers['x-served-by']}")
        print(response.text, end="")
        for _ in range(500):  # on_finish runs after the last byte
            if saved and copies:
                break
            await asyncio.sleep(0.01)
        answer = saved[-1].message
        print(f"# saved: {json.dumps({'id': answer['id'], 'metadata': answer['metadata']})}")
        print(f"# copy equals the stream: {copies[answer['id']].decode() == response.text}")
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
