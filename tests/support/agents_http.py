"""Agents behind real HTTP: an agent whose model is ``FakeLLM`` on loopback, served by
``ChatEndpoint`` the way ``useChat`` calls it."""

from __future__ import annotations

from typing import Any

from agents import Agent, OpenAIChatCompletionsModel, OpenAIResponsesModel
from openai import AsyncOpenAI
from starlette.applications import Starlette
from starlette.routing import Route

from tests.support.fake_llm import FakeLLM
from uiwire.adapters.agents import AgentsAdapter
from uiwire.server import ChatEndpoint, ChatHooks, ChatResult
from uiwire.stream import StreamRecord, StreamStatus

OPEN_CLIENTS: list[AsyncOpenAI] = []
"""Clients ``http_agent`` made; ``close_clients`` closes them (a pool left open warns)."""


async def close_clients() -> None:
    while OPEN_CLIENTS:
        await OPEN_CLIENTS.pop().close()


def http_agent(
    llm: FakeLLM | str,
    *,
    tools: list[Any] | None = None,
    chat_completions: bool = False,
    **kw: Any,
) -> Agent[Any]:
    """An agent whose model talks to ``llm`` (or the fake model at that URL, served by
    another process) over HTTP (Responses API by default)."""
    base_url = llm if isinstance(llm, str) else llm.base_url
    client = AsyncOpenAI(base_url=base_url, api_key="test-key", max_retries=0)
    OPEN_CLIENTS.append(client)
    model_class = OpenAIChatCompletionsModel if chat_completions else OpenAIResponsesModel
    model = model_class(model="gpt-4.1", openai_client=client)
    return Agent(name=kw.pop("name", "Assistant"), tools=tools or [], model=model, **kw)


class ChatApp:
    """``ChatEndpoint`` at ``POST /api/chat`` on Starlette (``options`` passed on); records
    what ``on_finish`` got."""

    def __init__(self, adapter: AgentsAdapter, **options: Any) -> None:
        self.adapter = adapter
        self.finished: list[tuple[StreamRecord, StreamStatus]] = []
        chat = ChatEndpoint(adapter, hooks=ChatHooks(on_finish=self._on_finish), **options)
        self.app = Starlette(routes=[Route("/api/chat", chat, methods=["POST"])])

    def _on_finish(self, result: ChatResult) -> None:
        self.finished.append((result.record, result.status))
