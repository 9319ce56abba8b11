"""Serve an OpenAI Agents SDK agent to useChat with FastAPI.

    python examples/agents_app.py           # a chat with an approval, against itself, printed
    python examples/agents_app.py --serve   # serve on http://127.0.0.1:8000/api/chat

Offline it answers with the SDK's own ScriptedModel (no network, tracing off); with
OPENAI_API_KEY set it asks gpt-4.1-mini instead. The agent checks the weather (a plain
tool, and a forecast tool that reports its progress into the stream), then books a
hotel: that tool needs the user's approval, so the first request ends with a
tool-approval-request. The second request carries the answer and continues the same
assistant message; replaying it is refused, since a paused run resumes once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import socket
from typing import Any

import httpx
import uvicorn
from agents import Agent, Model, function_tool, set_tracing_disabled
from agents.testing import ModelCall, ModelStep, ScriptedModel, assistant_message, function_call
from agents.tool_context import ToolContext
from agents.usage import Usage
from fastapi import FastAPI

from uiwire.adapters.agents import AgentsAdapter, tool_stream
from uiwire.protocol import validate_stream
from uiwire.server import ChatEndpoint, ResponseOptions


@function_tool
def get_weather(city: str) -> str:
    """Get the current weather in a city."""
    return f"Sunny and 21°C in {city}"


@function_tool
async def get_forecast(ctx: ToolContext[Any], city: str, days: int) -> list[str]:
    """Get the forecast for the next days in a city."""
    ui = tool_stream(ctx)  # the stream, as seen from this call
    forecast: list[str] = []
    for day in range(1, days + 1):
        await ui.progress({"status": f"day {day} of {days}"})  # replaced by the result
        await asyncio.sleep(0.01)  # a slow weather service
        forecast.append(f"Day {day}: sunny in {city}")
    return forecast


@function_tool(needs_approval=True)
async def book_hotel(city: str, nights: int) -> str:
    """Book a hotel room in a city."""
    return f"Booked {nights} nights at the Hotel du Parc in {city} (ref. HP-4821)"


# --- the model: real with an API key, scripted without ----------------------------------


def model() -> str | Model:
    if os.environ.get("OPENAI_API_KEY"):
        return "gpt-4.1-mini"
    set_tracing_disabled(True)  # the trace exporter would need the key
    scripted = ScriptedModel()

    def respond(call: ModelCall) -> ModelStep:
        scripted.enqueue(ModelStep.respond(respond))  # ready for the next call, forever
        items: list[Any] = [] if isinstance(call.input, str) else list(call.input)
        names = {i["call_id"]: i["name"] for i in items if i.get("type") == "function_call"}
        outputs = [i for i in items if i.get("type") == "function_call_output"]
        booked = [str(i["output"]) for i in outputs if names[i["call_id"]] == "book_hotel"]
        usage = Usage(requests=1, input_tokens=40, output_tokens=12, total_tokens=52)
        if not items or items[-1].get("role") == "user":  # a question: check the weather
            output: list[Any] = [
                function_call("get_weather", {"city": "Paris"}, call_id=new_id()),
                function_call("get_forecast", {"city": "Paris", "days": 3}, call_id=new_id()),
            ]
        elif not booked:  # the weather is in: book (the run pauses for the approval)
            output = [
                assistant_message("Sunny all weekend. I'll book you a hotel for two nights."),
                function_call("book_hotel", {"city": "Paris", "nights": 2}, call_id=new_id()),
            ]
        elif booked[-1].startswith("Booked"):
            output = [assistant_message(f"Done: {booked[-1]}. Enjoy the sun!")]
        else:  # the user said no: the SDK told the model so
            output = [assistant_message("All right, I did not book anything.")]
        return ModelStep(output=output, usage=usage)

    scripted.enqueue(ModelStep.respond(respond))
    return scripted


def new_id() -> str:
    return f"call_{secrets.token_hex(6)}"


# Build once at start-up: paused runs wait in the adapter's approval store.
agent = Agent(
    name="Travel agent",
    instructions="Help plan trips. Check the weather and the forecast before booking.",
    tools=[get_weather, get_forecast, book_hotel],
    model=model(),
)
app = FastAPI()
# POST /api/chat as useChat calls it: the history goes to the agent, a message carrying
# approval answers continues its paused run (once), anything malformed gets a 4xx.
# timeout: a hung tool or a stalled model cannot hold a stream open past two minutes.
chat = ChatEndpoint(AgentsAdapter(agent), response=ResponseOptions(timeout=120))
app.router.routes.extend(chat.routes("/api/chat"))
chat.openapi("/api/chat", into=app.openapi())  # /docs and /openapi.json describe the chat


# --- running it ----------------------------------------------------------------------------


async def once() -> None:
    """Serve on a free loopback port and chat with it as useChat would, printing it all."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/api/chat"
    question = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "Paris?"}]}
    async with httpx.AsyncClient(timeout=30) as client:

        async def send(messages: list[Any]) -> str:
            body = {"id": "chat-1", "messages": messages, "trigger": "submit-message"}
            async with client.stream("POST", url, json=body) as response:
                text = ""
                async for chunk in response.aiter_text():
                    print(chunk, end="", flush=True)
                    text += chunk
                return text

        answer = validate_stream(await send([question])).message
        for part in answer["parts"]:  # what addToolApprovalResponse does on the client
            if part.get("state") == "approval-requested":
                part["state"] = "approval-responded"
                part["approval"] = {**part["approval"], "approved": True}
                print(f"# approved {part['type']} ({part['approval']['id']})")
        await send([question, answer])
        body = {
            "id": "chat-1",
            "messages": [question, answer],
            "trigger": "submit-message",
            "messageId": answer["id"],
        }
        replay = await client.post(url, json=body)
        print(f"# replayed: {replay.status_code} {json.dumps(replay.json())}")
    server.should_exit = True
    await serving


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", action="store_true", help="serve on 127.0.0.1:8000")
    if parser.parse_args().serve:
        uvicorn.run(app, host="127.0.0.1", port=8000)
    else:
        asyncio.run(once())
