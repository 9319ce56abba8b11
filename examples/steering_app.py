"""Steering (AI SDK 7): a user message sent while the answer runs reaches it at its next
step (no LLM needed).

    python examples/steering_app.py           # one steered answer, printed
    python examples/steering_app.py --serve   # serve http://127.0.0.1:8000/api/chat

The agent is hand-written with the push API: it works in three steps, and before each
one takes the steering messages sent since the last (``ctx.take_steering()``), which
also shows them in the answer, right before that step. With ``AgentsAdapter`` nothing
is needed: each model call gets the messages as user messages. Here a Python client
plays the page: it posts the question, and while the answer streams it posts a steering
message to ``POST /api/chat/{id}/steer``. It prints the steer's response (``# steer:``)
and the answer's SSE body.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette

from uiwire.protocol import SteeringTextUIPart
from uiwire.resume import MemoryStreamStore
from uiwire.server import ChatEndpoint, ResponseOptions
from uiwire.stream import ChatTurn, StreamContext


async def respond(turn: ChatTurn, ctx: StreamContext[Any]) -> None:
    """Three steps; each starts with what the user said meanwhile (AI SDK 7 clients)."""
    told: list[str] = []
    for step in range(1, 4):
        for message in ctx.take_steering():  # written to the stream as it is taken
            told += [p.text for p in message.parts if isinstance(p, SteeringTextUIPart)]
        plan = f" (taking into account: {'; '.join(told)})" if told else ""
        await ctx.write_text(f"Step {step}{plan}. ")
        await asyncio.sleep(1.0)  # a model call and its tools, in a real agent
        await ctx.new_step()


chat = ChatEndpoint(respond, response=ResponseOptions(target="v7"), streams=MemoryStreamStore())
app = Starlette(routes=chat.routes("/api/chat"))  # ..., POST /api/chat/{id}/steer


async def demo() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}/api/chat"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    question = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "Plan a trip"}]}
    body = {"id": "chat-1", "messages": [question], "trigger": "submit-message"}
    steer = {"parts": [{"type": "text", "text": "Make it Paris, Texas"}]}
    try:
        async with httpx.AsyncClient(timeout=30) as client:
            async with client.stream("POST", base, json=body) as answer:
                lines: list[str] = []
                async for line in answer.aiter_lines():
                    lines.append(line)
                    if '"text-delta"' in line and len(lines) < 8:  # mid-answer: steer it
                        # the anonymous owner's cookie came with the answer: same caller
                        steered = await client.post(f"{base}/chat-1/steer", json=steer)
                        print(f"# steer: {steered.status_code} {json.dumps(steered.json())}")
            print("\n".join(lines))
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
