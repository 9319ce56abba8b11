"""Agents behind real HTTP: an agent whose model is ``FakeLLM`` on loopback, and a chat
endpoint that streams it (and resumes approvals) the way ``useChat`` calls it."""

from __future__ import annotations

from typing import Any

from agents import Agent, OpenAIChatCompletionsModel, OpenAIResponsesModel
from openai import AsyncOpenAI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.support.fake_llm import FakeLLM
from uiwire import StreamContext, StreamRecord, StreamStatus, UIMessageStreamResponse
from uiwire.adapters.agents import AgentsAdapter, ApprovalError, approval_responses

OPEN_CLIENTS: list[AsyncOpenAI] = []
"""Clients ``http_agent`` made; ``close_clients`` closes them (a pool left open warns)."""


async def close_clients() -> None:
    while OPEN_CLIENTS:
        await OPEN_CLIENTS.pop().close()


def http_agent(
    llm: FakeLLM, *, tools: list[Any] | None = None, chat_completions: bool = False, **kw: Any
) -> Agent[Any]:
    """An agent whose model talks to ``llm`` over HTTP (Responses API by default)."""
    client = AsyncOpenAI(base_url=llm.base_url, api_key="test-key", max_retries=0)
    OPEN_CLIENTS.append(client)
    model_class = OpenAIChatCompletionsModel if chat_completions else OpenAIResponsesModel
    model = model_class(model="gpt-4.1", openai_client=client)
    return Agent(name=kw.pop("name", "Assistant"), tools=tools or [], model=model, **kw)


def last_user_text(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            return "".join(p.get("text", "") for p in message["parts"] if p["type"] == "text")
    return ""


class ChatApp:
    """``POST /api/chat`` with a useChat body; records what ``on_finish`` got."""

    def __init__(self, adapter: AgentsAdapter) -> None:
        self.adapter = adapter
        self.finished: list[tuple[StreamRecord, StreamStatus]] = []
        self.app = Starlette(routes=[Route("/api/chat", self.chat, methods=["POST"])])

    async def _on_finish(self, record: StreamRecord, status: StreamStatus) -> None:
        self.finished.append((record, status))

    async def chat(self, request: Request) -> Response:
        body = await request.json()
        last = body["messages"][-1]
        if last.get("role") == "assistant" and approval_responses(last):
            try:
                resumption = await self.adapter.take_approvals(last)
            except ApprovalError as exc:
                return JSONResponse(
                    {"error": str(exc), "field": exc.field}, status_code=exc.status_code
                )
            ctx: StreamContext[Any] = StreamContext(
                continued_message=resumption.message, on_finish=self._on_finish
            )
            ctx.run(self.adapter.stream_into(ctx, resumption))
            return UIMessageStreamResponse(ctx)
        ctx = StreamContext(on_finish=self._on_finish)
        ctx.run(self.adapter.stream_into(ctx, last_user_text(body["messages"])))
        return UIMessageStreamResponse(ctx)


def user(text: str, message_id: str = "u1") -> dict[str, Any]:
    return {"id": message_id, "role": "user", "parts": [{"type": "text", "text": text}]}
