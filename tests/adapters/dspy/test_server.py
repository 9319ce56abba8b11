"""DSPy behind a real uvicorn server: concurrency and client disconnects."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import dspy
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from tests.support.dspy_scenarios import TOOLS, lm
from tests.support.fake_llm import FakeLLM, Reply, chat
from tests.support.servers import read_until, serve
from tests.support.stream_rules import assert_valid_body
from tests.support.tasks import uiwire_tasks_left
from uiwire.adapters.dspy import DSPyAdapter
from uiwire.server import UIMessageStreamResponse
from uiwire.stream import StreamContext, StreamRecord, StreamStatus


def lookup(city: str) -> str:
    """Get the weather in a city."""
    TOOLS.add(f"lookup:{city}")
    return f"Sunny in {city}"


async def alookup(city: str) -> str:
    """Get the weather in a city, slowly."""
    TOOLS.add(f"alookup-start:{city}")
    await asyncio.sleep(1.0)
    TOOLS.add(f"alookup-end:{city}")
    return f"Sunny in {city}"


def react_turn(payload: dict[str, Any], tool: str = "lookup", delay: float = 0.0) -> Reply:
    """Answers a ReAct run by where it stands, so concurrent runs can share one server."""
    system = payload["messages"][0]["content"]
    user = payload["messages"][-1]["content"]
    city = re.search(r"city-\d+", user)
    name = city.group(0) if city else "nowhere"
    if "next_thought" not in system:  # the extract step
        return Reply(chat(reasoning=f"Looked up {name}.", answer=f"It is sunny in {name}."))
    if "observation_0" in user:
        return Reply(
            chat(next_thought="I know enough now.", next_tool_name="finish", next_tool_args={})
        )
    thought = f"I should look up the weather in {name} with the tool."
    return Reply(
        chat(next_thought=thought, next_tool_name=tool, next_tool_args={"city": name}),
        delay=delay,
    )


class App:
    """One route streaming a ReAct agent; records what ``on_close`` got."""

    def __init__(self, adapter: DSPyAdapter, model: Any) -> None:
        self.finished: list[tuple[StreamRecord, StreamStatus]] = []

        async def chat_route(request: Request) -> UIMessageStreamResponse:
            body = await request.json()

            async def on_close(record: StreamRecord, status: StreamStatus) -> None:
                self.finished.append((record, status))

            ctx: StreamContext[Any] = StreamContext(on_close=on_close)
            with dspy.context(lm=model):
                ctx.run(lambda ctx: adapter.stream_into(ctx, question=body["question"]))
            return UIMessageStreamResponse(ctx)

        self.app = Starlette(routes=[Route("/chat", chat_route, methods=["POST"])])


@pytest.fixture(autouse=True)
def _quiet(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="uiwire")


@pytest.mark.timeout(120)
async def test_twenty_concurrent_react_runs_through_uvicorn() -> None:
    adapter = DSPyAdapter(dspy.ReAct("question -> answer", tools=[lookup], max_iters=3))
    with FakeLLM(react_turn) as llm:
        app = App(adapter, lm(llm.base_url))
        async with serve(app.app) as base, httpx.AsyncClient(timeout=60) as client:

            async def ask(i: int) -> bytes:
                question = f"What is the weather in city-{i}?"
                response = await client.post(f"{base}/chat", json={"question": question})
                assert response.status_code == 200
                assert response.headers["x-vercel-ai-ui-message-stream"] == "v1"
                return response.content

            bodies = await asyncio.gather(*(ask(i) for i in range(20)))
        for _ in range(200):  # on_close runs after the last byte
            if len(app.finished) == 20:
                break
            await asyncio.sleep(0.01)
    assert len(llm.requests) == 60  # three model calls each
    for i, body in enumerate(bodies):
        chunks = assert_valid_body(body)
        text = "".join(c["delta"] for c in chunks if c["type"] == "text-delta")
        assert text == f"It is sunny in city-{i}."  # no run saw another's tokens
        inputs = [c["input"] for c in chunks if c["type"] == "tool-input-available"]
        assert inputs == [{"city": f"city-{i}"}]
    assert sorted(status for _, status in app.finished) == ["finish"] * 20
    assert await uiwire_tasks_left() == []


@pytest.mark.timeout(60)
@pytest.mark.parametrize("async_program", [True, False], ids=["async-program", "sync-program"])
async def test_disconnect_mid_model_call_stops_it_and_no_tool_starts(
    async_program: bool,
) -> None:
    tool = alookup if async_program else lookup
    adapter = DSPyAdapter(
        dspy.ReAct("question -> answer", tools=[tool], max_iters=3), async_program=async_program
    )
    before = len(TOOLS.calls)
    with FakeLLM(lambda p: react_turn(p, tool.__name__, delay=0.05)) as llm:
        app = App(adapter, lm(llm.base_url))
        async with serve(app.app) as base, httpx.AsyncClient(timeout=30) as client:
            question = {"question": "What is the weather in city-7?"}
            async with client.stream("POST", f"{base}/chat", json=question) as response:
                seen = await read_until(response, "reasoning-delta")
            assert seen[0]["type"] == "start"
            # the client is gone, mid-thought: the model stream must be cut
            for _ in range(300):
                if app.finished and llm.streams[0].cut:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(1.2)  # time for a left-behind run to reach its tool
            assert llm.streams[0].cut, "the model call kept streaming after the disconnect"
            assert not llm.streams[0].finished
            assert len(llm.requests) == 1  # no further model call
            assert TOOLS.calls[before:] == []  # no tool started
            assert [status for _, status in app.finished] == ["disconnect"]
            assert await uiwire_tasks_left() == []
            # the server keeps serving
            response = await client.post(f"{base}/chat", json={"question": "city-8?"})
            assert response.status_code == 200


@pytest.mark.timeout(60)
async def test_disconnect_mid_tool_cancels_the_tool_and_nothing_runs_after() -> None:
    adapter = DSPyAdapter(dspy.ReAct("question -> answer", tools=[alookup], max_iters=3))
    assert adapter.async_program
    before = len(TOOLS.calls)
    with FakeLLM(lambda p: react_turn(p, "alookup")) as llm:
        app = App(adapter, lm(llm.base_url))
        async with serve(app.app) as base, httpx.AsyncClient(timeout=30) as client:
            question = {"question": "What is the weather in city-3?"}
            async with client.stream("POST", f"{base}/chat", json=question) as response:
                seen = await read_until(response, "tool-input-available")
            assert seen[-1]["input"] == {"city": "city-3"}
            for _ in range(300):
                if app.finished:
                    break
                await asyncio.sleep(0.01)
            await asyncio.sleep(1.5)  # longer than the tool would have taken
    assert TOOLS.calls[before:] == ["alookup-start:city-3"]  # started, never finished
    assert len(llm.requests) == 1
    record, status = app.finished[0]
    assert status == "disconnect"
    (call,) = record.tool_calls
    assert call.state == "input-available"
    assert await uiwire_tasks_left() == []


def slow_lookup(city: str) -> str:
    """Get the weather in a city, slowly (a sync tool cannot be interrupted)."""
    import time

    TOOLS.add(f"slow_lookup-start:{city}")
    time.sleep(0.8)
    TOOLS.add(f"slow_lookup-end:{city}")
    return f"Sunny in {city}"


@pytest.mark.timeout(60)
async def test_a_sync_run_left_in_its_thread_stops_before_the_next_model_call() -> None:
    adapter = DSPyAdapter(dspy.ReAct("question -> answer", tools=[slow_lookup], max_iters=3))
    assert not adapter.async_program
    before = len(TOOLS.calls)
    with FakeLLM(lambda p: react_turn(p, "slow_lookup")) as llm:
        app = App(adapter, lm(llm.base_url))
        async with serve(app.app) as base, httpx.AsyncClient(timeout=30) as client:
            question = {"question": "What is the weather in city-5?"}
            async with client.stream("POST", f"{base}/chat", json=question) as response:
                await read_until(response, "tool-input-available")
            await asyncio.sleep(1.5)  # the tool's thread finishes; DSPy would go on
    # the thread could not be interrupted mid-tool, but nothing started after it
    assert TOOLS.calls[before:] == ["slow_lookup-start:city-5", "slow_lookup-end:city-5"]
    assert len(llm.requests) == 1
    assert [status for _, status in app.finished] == ["disconnect"]
