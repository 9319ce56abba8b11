"""A FastAPI chat endpoint written with the push API (no LLM needed).

    python examples/push_api_server.py           # one request against itself, printed
    python examples/push_api_server.py --serve   # serve on http://127.0.0.1:8000/api/chat

It shows the context passed through service layers, a sync tool reporting progress from
a worker thread, sources, and on_close persisting the assembled message.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import time

import httpx
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict

from uiwire.server import UIMessageStreamResponse
from uiwire.stream import StreamContext, StreamRecord, StreamStatus

app = FastAPI()
SAVED: list[dict[str, object]] = []  # stands in for a database


class RequestInfo(BaseModel):
    model_config = ConfigDict(frozen=True)
    user_id: str


# --- a service layer that knows nothing of HTTP ---------------------------------------


def search_flights(destination: str, ctx: StreamContext[RequestInfo]) -> list[dict[str, str]]:
    """A sync tool (think: a blocking SDK), run in a worker thread."""
    airlines = ["Aurora Air", "Boreal", "Cumulus"]
    for n, _airline in enumerate(airlines, start=1):
        time.sleep(0.05)  # one blocking call per airline, off the event loop
        ctx.sync.write_data("progress", {"checked": n, "of": len(airlines)}, id="flights")
    return [{"airline": a, "to": destination} for a in airlines]


async def answer(ctx: StreamContext[RequestInfo]) -> None:
    await ctx.write_reasoning(f"User {ctx.info.user_id} wants flights to Oslo.")
    call = await ctx.begin_tool_call("search_flights", {"destination": "Oslo"})
    flights = await asyncio.to_thread(search_flights, "Oslo", ctx)
    await ctx.complete_tool_call(call, flights)
    await ctx.write_source("https://example.com/timetables", title="Timetables")
    await ctx.new_step()
    for word in f"I found {len(flights)} flights to Oslo.".split(" "):
        await ctx.write_text(word + " ")
        await asyncio.sleep(0.01)  # a model streaming tokens


async def persist(record: StreamRecord, status: StreamStatus) -> None:
    SAVED.append({"status": status, "text": record.text, "tools": len(record.tool_calls)})


@app.post("/api/chat")
async def chat() -> UIMessageStreamResponse:
    ctx = StreamContext(RequestInfo(user_id="u_42"), on_close=persist)
    ctx.run(answer)
    return UIMessageStreamResponse(ctx)


# --- running it ----------------------------------------------------------------------------


async def once() -> None:
    """Serve on a free loopback port, make one request, print what came back."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    url = f"http://127.0.0.1:{sock.getsockname()[1]}/api/chat"
    async with httpx.AsyncClient() as client:
        response = await client.post(url)
    for _ in range(100):  # on_close runs just after the response ends
        if SAVED:
            break
        await asyncio.sleep(0.01)
    server.should_exit = True
    await serving
    print(response.text, end="")
    print("# saved:", json.dumps(SAVED))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--serve", action="store_true", help="serve on 127.0.0.1:8000")
    if parser.parse_args().serve:
        uvicorn.run(app, host="127.0.0.1", port=8000)
    else:
        asyncio.run(once())


if __name__ == "__main__":
    main()
