"""One ``useChat`` request, as the agent behind ``ChatEndpoint`` sees it.

A ``ChatTurn`` is what is left once the HTTP layer has done its part: the body parsed and
checked, and the id of the assistant message this response writes decided (a new
server-generated one, or the continued message's own). An agent is anything with
``begin_turn(turn)``, which checks the turn and returns the work that streams the answer:
errors raised there become HTTP errors before a byte of stream is sent, errors raised by
the work become a masked ``error`` chunk. ``DSPyAdapter`` and ``AgentsAdapter`` are agents;
a plain ``async def respond(turn, ctx)`` is one too.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from uiwire.protocol.chat_request import ChatRequest
from uiwire.protocol.ui_message import UIMessage

if TYPE_CHECKING:
    from starlette.requests import Request

    from uiwire.stream.context import StreamContext

__all__ = ["ChatAgent", "ChatFunction", "ChatTurn", "ChatWork"]

ChatWork = Callable[["StreamContext[Any]"], Awaitable[object]]
"""Streams one answer into the context it is given (``ctx.run`` finishes the stream)."""

ChatFunction = Callable[["ChatTurn", "StreamContext[Any]"], Awaitable[object]]
"""``async def respond(turn, ctx)``: a hand-written agent."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ChatTurn:
    """One ``useChat`` POST, parsed, with the assistant message id decided."""

    chat: ChatRequest
    """The body: ``id``, ``messages``, ``trigger``, ``messageId`` and extra fields (with
    server-kept conversations, ``messages`` is the trusted conversation)."""
    message_id: str
    """The id of the assistant message this response writes."""
    continued: UIMessage | None
    """The assistant message this response continues (the last of ``messages``): after
    tool approvals or client-side tool results. None for a new answer."""
    request: Request | None = None
    """The HTTP request (headers, cookies, ``request.state`` for auth)."""
    owner: str | None = None
    """Who asked: the owner id the endpoint's identity gave (None outside a server).
    Anything the agent keeps between requests (a paused run) is bound to it."""

    @property
    def chat_id(self) -> str:
        return self.chat.id

    @property
    def messages(self) -> list[UIMessage]:
        """The whole conversation, new user message included: the server's stored one
        when it keeps conversations (the default of ``ChatEndpoint``), else the client's."""
        return self.chat.messages

    @property
    def trigger(self) -> str:
        return self.chat.trigger

    @property
    def body(self) -> dict[str, Any]:
        """Extra body fields (``DefaultChatTransport``'s ``body`` option)."""
        return self.chat.body


@runtime_checkable
class ChatAgent(Protocol):
    """What ``ChatEndpoint`` serves: checks a turn, returns the work that answers it.

    An agent that can tell at start-up that it could never answer a turn (a DSPy
    program with no field for the user's message) may also define ``check_chat(self)
    -> None``, raising ``TypeError`` with the fix: ``ChatEndpoint`` calls it once, at
    construction, so the mistake stops the app instead of failing every request.

    An agent that keeps something per chat between requests (paused runs, a framework
    session) may also define ``async def forget_chat(self, chat_id, /, *, owner,
    message_ids) -> None``: ``ChatEndpoint`` calls it when the owner deletes the chat,
    with the ids of the chat's assistant messages, so nothing of it outlives the chat.

    An agent whose work takes steering messages (AI SDK 7: user messages sent while an
    answer runs, handed to the model at its next step with ``ctx.take_steering()``)
    says so with a class attribute ``steering = True``; ``ChatEndpoint``'s steer route
    refuses steering for other agents.
    """

    async def begin_turn(self, turn: ChatTurn, /) -> ChatWork:
        """Raise ``ChatRequestError`` to refuse the turn with
        its HTTP status; nothing has been sent yet."""
        ...
