"""Serve a DSPy ReAct agent to useChat with FastAPI.

    python examples/dspy_app.py           # one request against itself, printed
    python examples/dspy_app.py --serve   # serve on http://127.0.0.1:8000/api/chat

Offline it answers with a scripted model (a DSPy custom engine, no network); with
OPENAI_API_KEY set it asks openai/gpt-4o-mini instead. The stream shows the agent's
thoughts as reasoning, each tool call with its streamed input and real output, status
messages as transient data parts, and the answer as text.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # no metadata download

import dspy
import httpx
import uvicorn
from dspy import lm15
from fastapi import FastAPI, Request

from uiwire.adapters.dspy import DSPyAdapter
from uiwire.server import UIMessageStreamResponse
from uiwire.stream import StreamContext, StreamRecord, StreamStatus


def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"Sunny and 21°C in {city}"


# Build once at start-up; the adapter makes fresh listeners for every request.
agent = DSPyAdapter(dspy.ReAct("question -> answer", tools=[get_weather], max_iters=4))
app = FastAPI()


async def save(record: StreamRecord, status: StreamStatus) -> None:
    print(f"# saved: {status}, {len(record.tool_calls)} tool call(s): {record.text!r}")


@app.post("/api/chat")
async def chat(request: Request) -> UIMessageStreamResponse:
    body = await request.json()
    last = body["messages"][-1]  # what useChat sends: the whole conversation
    question = "".join(p.get("text", "") for p in last["parts"] if p.get("type") == "text")
    ctx: StreamContext = StreamContext(on_close=save)
    with dspy.context(lm=model()):
        ctx.run(lambda ctx: agent.stream_into(ctx, question=question))
    return UIMessageStreamResponse(ctx)


# --- the model: real with an API key, scripted without ----------------------------------


def model() -> Any:
    if os.environ.get("OPENAI_API_KEY"):
        return dspy.LM("openai/gpt-4o-mini")
    engine = ScriptedEngine()
    return dspy.LM("openai/scripted", engine=engine, async_engine=AsyncEngine(engine), cache=False)


class ScriptedEngine:
    """Answers ReAct's three kinds of turn by looking at the prompt, in small pieces."""

    def reply(self, request: Any) -> str:
        prompt = str(request.system) + " ".join(str(m) for m in request.messages)
        fields: dict[str, str]
        if "next_thought" not in str(request.system):
            fields = {"reasoning": "The tool said it is sunny.", "answer": "It is sunny in Paris."}
        elif "observation_0" in prompt:
            fields = {"next_thought": "I know enough.", "next_tool_name": "finish"}
            fields["next_tool_args"] = "{}"
        else:
            fields = {"next_thought": "I should check the weather in Paris."}
            fields |= {"next_tool_name": "get_weather", "next_tool_args": '{"city": "Paris"}'}
        return "".join(f"[[ ## {k} ## ]]\n{v}\n\n" for k, v in fields.items()) + (
            "[[ ## completed ## ]]"
        )

    def complete(self, request: Any) -> Any:
        return lm15.Response(
            id="scripted",
            model="scripted",
            message=lm15.Message.assistant((lm15.TextPart(self.reply(request)),)),
            finish_reason="stop",
            usage=lm15.Usage(input_tokens=20, output_tokens=10, total_tokens=30),
        )

    def stream(self, request: Any) -> Iterator[Any]:
        text = self.reply(request)
        yield lm15.StreamStartEvent(id="scripted", model="scripted")
        for i in range(0, len(text), 4):
            yield lm15.StreamDeltaEvent(delta=lm15.TextDelta(text=text[i : i + 4]))
        usage = lm15.Usage(input_tokens=20, output_tokens=10, total_tokens=30)
        yield lm15.StreamEndEvent(finish_reason="stop", usage=usage)

    def close(self) -> None:
        pass


class AsyncEngine:
    def __init__(self, engine: ScriptedEngine) -> None:
        self.engine = engine

    async def complete(self, request: Any) -> Any:
        return self.engine.complete(request)

    async def stream(self, request: Any) -> AsyncIterator[Any]:
        for event in self.engine.stream(request):
            await asyncio.sleep(0.005)  # a model producing tokens
            yield event

    async def aclose(self) -> None:
        pass


# --- running it ----------------------------------------------------------------------------


async def once() -> None:
    """Serve on a free loopback port, send one useChat request, print the stream."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/api/chat"
    message = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "Paris?"}]}
    async with (
        httpx.AsyncClient(timeout=30) as client,
        client.stream("POST", url, json={"id": "chat-1", "messages": [message]}) as response,
    ):
        async for chunk in response.aiter_text():
            print(chunk, end="", flush=True)
    await asyncio.sleep(0.1)  # on_close runs after the last byte
    server.should_exit = True
    await serving


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", action="store_true", help="serve on 127.0.0.1:8000")
    if parser.parse_args().serve:
        uvicorn.run(app, host="127.0.0.1", port=8000)
    else:
        asyncio.run(once())
