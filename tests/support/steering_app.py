"""An Agents SDK chat whose answers can be steered, for the steering tests: served in the
test's loop, and as uvicorn workers sharing a redis-server (``uvicorn
tests.support.steering_app:create_app --factory``, ``UIWIRE_TEST_REDIS_URL``,
``UIWIRE_TEST_LLM_URL``).

The model (``echo_model``) first calls ``look_up``; unless the question starts with
``quick``, the tool waits until a steering message waits for the run's next model call
(up to ``STEER_WAIT`` seconds), so a steer sent while it runs is taken by the second
call, deterministically. The second call
answers with every user text of its input, so what it saw is in the answer as well as
in the fake model's recorded requests. The caller is the ``user`` query parameter.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

from agents import function_tool
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tests.support.agents_http import http_agent
from tests.support.fake_llm import Reply, ToolCallReply
from uiwire.adapters.agents import AgentsAdapter
from uiwire.adapters.agents._channel import current_channel  # pyright: ignore[reportPrivateUsage]
from uiwire.resume import StreamStore
from uiwire.server import ChatEndpoint, ChatHooks, ChatResult, Identity, ResponseOptions

STEER_WAIT: Final = 20.0
"""Seconds the tool waits for a steering message before it returns anyway."""

ANSWER_PREFIX: Final = "The model saw: "


@function_tool
async def look_up(city: str, wait: bool) -> str:
    """Look a city up."""
    channel = current_channel()
    steering = None if channel is None else channel.steering
    for _ in range(int(STEER_WAIT * 100) if wait else 0):
        if steering is None or steering.pending_steering:
            break
        await asyncio.sleep(0.01)
    return f"{city}: found"


def user_texts(payload: dict[str, Any]) -> list[str]:
    """The texts of the user messages of a Responses API request, in order."""
    texts: list[str] = []
    for item in payload.get("input", []):
        if item.get("role") != "user":
            continue
        content = item.get("content")
        if isinstance(content, str):
            texts.append(content)
        else:
            texts += [c["text"] for c in content if c.get("type") == "input_text"]
    return texts


def echo_model(payload: dict[str, Any]) -> Reply:
    """A tool call first; then the user texts the call got."""
    called = any(item.get("type") == "function_call_output" for item in payload["input"])
    if not called:
        wait = "false" if user_texts(payload)[-1].startswith("quick") else "true"
        arguments = f'{{"city": "Paris", "wait": {wait}}}'
        return Reply(tool_calls=[ToolCallReply("look_up", arguments, id="call_1")])
    return Reply(text=ANSWER_PREFIX + " | ".join(user_texts(payload)))


def steering_endpoint(llm_url: str, **options: Any) -> ChatEndpoint:
    """The endpoint (``ResponseOptions(target="v7")`` unless told), its caller named by
    ``?user=``."""
    adapter = AgentsAdapter(http_agent(llm_url, tools=[look_up]))
    options.setdefault("response", ResponseOptions(target="v7"))
    options.setdefault(
        "identity", Identity(identify=lambda request: request.query_params.get("user"))
    )
    return ChatEndpoint(adapter, **options)


def steering_app(
    llm_url: str, finished: list[ChatResult] | None = None, **options: Any
) -> tuple[Starlette, ChatEndpoint]:
    endpoint = steering_endpoint(
        llm_url, hooks=None if finished is None else ChatHooks(on_finish=finished.append), **options
    )
    return Starlette(routes=endpoint.routes()), endpoint


def create_app() -> Starlette:
    """One uvicorn worker of a multi-worker deployment, on the Redis of the test."""
    from uiwire.resume.redis import RedisStreamStore

    store: StreamStore = RedisStreamStore(os.environ["UIWIRE_TEST_REDIS_URL"], lease=2)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await store.aclose()

    identity = Identity(
        identify=lambda request: request.query_params.get("user"),
    )
    endpoint = steering_endpoint(
        os.environ["UIWIRE_TEST_LLM_URL"],
        streams=store,
        conversations=False,
        identity=identity,
    )

    async def ready(request: Request) -> Response:
        return Response(status_code=204)

    app = Starlette(routes=[*endpoint.routes(), Route("/test/ready", ready)])
    app.router.lifespan_context = lifespan
    return app
