"""How ``ChatEndpoint`` calls the agent it serves: checked once, at construction, so a
mistake stops the app with its fix instead of failing every request."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, Protocol, cast

from uiwire._errors import StreamClosed, TurnTimeout
from uiwire.stream.context import StreamContext, is_async_callable
from uiwire.stream.turn import ChatAgent, ChatFunction, ChatTurn, ChatWork

__all__ = [
    "FORGET_DEADLINE",
    "ForgetChat",
    "agent_name",
    "begin_turn_of",
    "forget_chat_of",
    "steering_refusal",
    "time_limited",
    "with_trace_id",
]


class ForgetChat(Protocol):
    """``forget_chat(chat_id, owner=..., message_ids=...)``: see ``ChatAgent``."""

    def __call__(
        self, chat_id: str, /, *, owner: str | None, message_ids: Sequence[str]
    ) -> Awaitable[object]: ...


FORGET_DEADLINE: Final = 5.0
"""Seconds an agent may take to drop what it keeps for a deleted chat."""


def time_limited(work: ChatWork, seconds: float) -> ChatWork:
    async def limited(ctx: StreamContext[Any]) -> None:
        try:
            await asyncio.wait_for(work(ctx), seconds)
        except asyncio.TimeoutError:
            raise TurnTimeout(f"the turn ran past its {seconds:g} s timeout") from None

    return limited


def with_trace_id(work: ChatWork, key: str | None, trace_id: str | None) -> ChatWork:
    """``work``, then (finished or failed, not stopped) ``{key: trace_id}`` added to the
    message metadata before the stream's last chunk; ``work`` itself without a key or a
    recorded trace."""
    if key is None or trace_id is None:
        return work
    metadata = {key: trace_id}

    async def traced(ctx: StreamContext[Any]) -> None:
        try:
            await work(ctx)
        finally:
            if not ctx.is_finished and not ctx.cancelled:
                with contextlib.suppress(StreamClosed):
                    await ctx.write_metadata(metadata)

    return traced


def agent_name(agent: object) -> str:
    """What answers, as telemetry names it: the adapter's class (``AgentsAdapter``), or
    a hand-written function's name."""
    if isinstance(agent, ChatAgent):
        return type(agent).__name__
    return str(getattr(agent, "__name__", type(agent).__name__))


def begin_turn_of(agent: object) -> Callable[[ChatTurn], Awaitable[ChatWork]]:
    """How to begin a turn of ``agent``, checked now: a mistake here would otherwise be
    a 500 on every request, so it is refused at start-up with its fix."""
    if isinstance(agent, ChatAgent):
        if not is_async_callable(agent.begin_turn):
            raise TypeError(
                f"{type(agent).__name__}.begin_turn must be an async def: ChatEndpoint "
                "awaits it for every request"
            )
        check_chat = getattr(agent, "check_chat", None)  # see ChatAgent
        if callable(check_chat):
            check_chat()
        return agent.begin_turn
    wrapper = _adapter_for(agent)
    if wrapper is not None:
        adapter, package, example = wrapper
        raise TypeError(
            f"ChatEndpoint cannot serve this {type(agent).__name__} as it is; wrap the "
            f"{example}: ChatEndpoint({adapter}({example})) (from {package} import {adapter})"
        )
    if not callable(agent):
        raise TypeError(
            "agent must be a ChatAgent (AgentsAdapter, DSPyAdapter, anything with "
            f"begin_turn) or an async def respond(turn, ctx); got {type(agent).__name__}"
        )
    name = getattr(agent, "__name__", type(agent).__name__)
    if not is_async_callable(agent):
        raise TypeError(
            f"agent {name} must be an async def respond(turn, ctx): ChatEndpoint awaits it "
            "on the event loop (run blocking code inside it with asyncio.to_thread)"
        )
    try:
        signature = inspect.signature(agent)
    except (TypeError, ValueError):  # no signature to read: trust it
        signature = None
    if signature is not None:
        try:
            signature.bind(None, None)
        except TypeError:
            raise TypeError(
                f"agent {name} must take two arguments, respond(turn, ctx); its signature "
                f"is {signature}"
            ) from None
    return _function_agent(cast("ChatFunction", agent))


def _adapter_for(agent: object) -> tuple[str, str, str] | None:
    """``(adapter, its package, an example argument)`` when ``agent`` is a framework's
    own object that needs an adapter; the framework is not imported (a DSPy program
    means dspy was imported already)."""
    for module, base, adapter, package, example in (
        ("dspy", "Module", "DSPyAdapter", "uiwire.adapters.dspy", "program"),
        ("agents", "Agent", "AgentsAdapter", "uiwire.adapters.agents", "agent"),
    ):
        cls = getattr(sys.modules.get(module), base, None)
        if isinstance(cls, type) and isinstance(agent, cls):
            return adapter, package, example
    return None


def _function_agent(respond: ChatFunction) -> Callable[[ChatTurn], Awaitable[ChatWork]]:
    async def begin(turn: ChatTurn) -> ChatWork:
        async def work(ctx: StreamContext[Any]) -> None:
            await respond(turn, ctx)

        return work

    return begin


def forget_chat_of(agent: object) -> ForgetChat | None:
    """The agent's ``forget_chat`` (see ``ChatAgent``), checked now; None if it keeps
    nothing per chat."""
    forget = getattr(agent, "forget_chat", None)
    if forget is None or not isinstance(agent, ChatAgent):
        return None
    if not is_async_callable(forget):
        raise TypeError(
            f"{type(agent).__name__}.forget_chat must be an async def: ChatEndpoint awaits "
            "it when a chat is deleted"
        )
    return cast("ForgetChat", forget)


def steering_refusal(agent: object) -> str | None:
    """Why ``agent``'s answers cannot take steering messages, or None when they can: an
    adapter says it can with ``steering = True`` (see ``ChatAgent``); a hand-written
    ``respond(turn, ctx)`` can (it takes them with ``ctx.take_steering()``)."""
    if not isinstance(agent, ChatAgent):
        return None
    if getattr(agent, "steering", False) is True:
        return None
    return (
        f"this chat's agent ({type(agent).__name__}) takes no steering messages: its "
        "answer has no step at which a new user message could reach the model"
    )
