"""``ChatEndpoint``: ``POST /api/chat`` for ``useChat``, serving any ``ChatAgent``.

Theory of operation
-------------------
One request goes through three stages; only the last one streams.

1. **Read** (``_body``): content type (415), size (413), then
   ``parse_chat_request`` (422 with the path of the offending field). Nothing is
   fetched: file URLs are only checked against the allowed schemes.
2. **Decide** the assistant message: when the last message is the assistant's, the
   request continues it (approval answers, client-side tool results) and the response
   reuses its id, as the AI SDK's own server does; otherwise the server generates a new
   unguessable id (``msg_...``), so the ids ``useChat`` keeps are the server's. The
   agent's ``begin_turn`` then checks the turn; a ``ChatRequestError`` it raises
   becomes a JSON error with its status, before any stream.
3. **Stream** the work in a ``StreamContext`` (errors masked by default). After the last
   byte, whether the stream finished, failed or the client left, ``on_finish`` gets
   the conversation as it now stands: the request's messages with the assistant
   message added (or, for a continuation, replaced), ready to save and to hand back to
   ``useChat`` as its initial messages.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from uiwire._ids import new_id
from uiwire.protocol.request import (
    DEFAULT_URL_SCHEMES,
    ChatRequest,
    ChatRequestError,
    FieldError,
    UIMessage,
    allowed_url_schemes,
)
from uiwire.protocol.targets import DEFAULT_TARGET, Target, as_target
from uiwire.server._body import DEFAULT_MAX_BODY_BYTES, read_chat_request
from uiwire.server.response import DEFAULT_KEEP_ALIVE, UIMessageStreamResponse, check_keep_alive
from uiwire.server.turn import ChatAgent, ChatFunction, ChatTurn, ChatWork
from uiwire.stream.context import OnError, StreamContext
from uiwire.stream.record import StreamRecord, StreamStatus

__all__ = ["ChatEndpoint", "ChatResult", "OnChatFinish"]


@dataclasses.dataclass(frozen=True, slots=True)
class ChatResult:
    """A finished turn, as ``on_finish`` gets it: what to save."""

    chat_id: str
    messages: list[dict[str, Any]]
    """The whole conversation after this turn, as JSON: the request's messages with the
    assistant message added or (a continuation) replaced. Save it; hand it back to
    ``useChat({ messages })`` to restore the chat."""
    record: StreamRecord
    """The assistant message, its finish reason, steps, usage and tool calls."""
    status: StreamStatus
    """How the stream ended: ``finish``, ``error``, ``abort`` or ``disconnect``."""
    turn: ChatTurn

    @property
    def message(self) -> dict[str, Any]:
        """The assistant message this turn wrote."""
        return self.record.message


OnChatFinish = Callable[[ChatResult], Awaitable[object] | object]


class ChatEndpoint:
    """The ``useChat`` endpoint, as an ASGI app: mount it at ``POST /api/chat``.

    ::

        chat = ChatEndpoint(AgentsAdapter(agent), on_finish=save_chat)
        app.add_route("/api/chat", chat.respond, methods=["POST"])  # FastAPI (typed)
        Route("/api/chat", chat, methods=["POST"])  # Starlette: it is an ASGI app

    Arguments:
        agent: a ``ChatAgent`` (``AgentsAdapter``, ``DSPyAdapter``, anything with
            ``begin_turn``) or an ``async def respond(turn, ctx)``.
        on_finish: called once per streamed turn, after the last byte, with a
            ``ChatResult`` (sync functions run in a thread). Its exceptions are logged.
        on_error: the text the client sees for an exception (default: a generic
            message; the exception is logged either way).
        max_body_bytes: larger bodies get 413 (they are not read past the limit).
        url_schemes: the URL schemes file parts may use; others get 422. The server
            never fetches them; the model provider may.
        target: the AI SDK major the client runs (``"v6"`` by default).
        keep_alive: idle seconds between SSE keep-alive comments (None: never).
    """

    def __init__(
        self,
        agent: ChatAgent | ChatFunction,
        *,
        on_finish: OnChatFinish | None = None,
        on_error: OnError | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        url_schemes: Collection[str] = DEFAULT_URL_SCHEMES,
        target: Target = DEFAULT_TARGET,
        keep_alive: float | None = DEFAULT_KEEP_ALIVE,
    ) -> None:
        if isinstance(agent, ChatAgent):
            self._begin: Callable[[ChatTurn], Awaitable[ChatWork]] = agent.begin_turn
        elif callable(agent):  # pyright: ignore[reportUnnecessaryIsInstance]
            self._begin = _function_agent(agent)
        else:
            raise TypeError(
                "agent must be a ChatAgent (AgentsAdapter, DSPyAdapter, anything with "
                f"begin_turn) or an async function (turn, ctx); got {type(agent).__name__}"
            )
        if on_finish is not None and not callable(on_finish):
            raise TypeError(f"on_finish must be callable; got {type(on_finish).__name__}")
        if on_error is not None and not callable(on_error):
            raise TypeError(f"on_error must be callable; got {type(on_error).__name__}")
        if type(max_body_bytes) is not int or max_body_bytes < 1:
            raise ValueError(f"max_body_bytes must be a positive int; got {max_body_bytes!r}")
        self._on_finish = on_finish
        self._on_error = on_error
        self._max_body_bytes = max_body_bytes
        self._url_schemes = allowed_url_schemes(url_schemes)
        self._target: Target = as_target(target)
        self._keep_alive = check_keep_alive(keep_alive)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.respond(request)
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        """The response to one request (for use inside your own route)."""
        if request.method != "POST":
            return _problem(405, f"use POST, not {request.method}", "method", {"allow": "POST"})
        try:
            chat = await read_chat_request(
                request, max_bytes=self._max_body_bytes, url_schemes=self._url_schemes
            )
            turn = _turn(chat, request)
            work = await self._begin(turn)
        except ChatRequestError as exc:
            return JSONResponse(exc.to_json(), status_code=exc.status_code)
        ctx: StreamContext[Any] = StreamContext(
            message_id=turn.message_id,
            continued_message=turn.continued.to_json() if turn.continued else None,
            target=self._target,
            on_finish=self._finish_hook(turn),
            on_error=self._on_error,
        )
        ctx.run(work)
        return UIMessageStreamResponse(ctx, keep_alive=self._keep_alive)

    def _finish_hook(self, turn: ChatTurn) -> Callable[[StreamRecord, StreamStatus], Any] | None:
        on_finish = self._on_finish
        if on_finish is None:
            return None

        async def finished(record: StreamRecord, status: StreamStatus) -> None:
            result = ChatResult(turn.chat_id, _updated(turn, record), record, status, turn)
            outcome = on_finish(result)
            if inspect.isawaitable(outcome):
                await outcome

        return finished


def _turn(chat: ChatRequest, request: Request) -> ChatTurn:
    last: UIMessage = chat.messages[-1]
    if last.role == "assistant":
        if chat.message_id is not None and chat.message_id != last.id:
            raise ChatRequestError(
                [
                    FieldError(
                        "messageId",
                        f"continues message {chat.message_id!r}, but the last message is "
                        f"{last.id!r}",
                        "message_id",
                    )
                ]
            )
        return ChatTurn(chat=chat, message_id=last.id, continued=last, request=request)
    return ChatTurn(chat=chat, message_id=new_id("msg"), continued=None, request=request)


def _updated(turn: ChatTurn, record: StreamRecord) -> list[dict[str, Any]]:
    messages = [m.to_json() for m in turn.messages]
    if turn.continued is not None:
        messages[-1] = record.message
    elif record.message.get("parts"):
        messages.append(record.message)
    return messages


def _problem(
    status: int, message: str, field: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = {"error": {"message": message, "fields": [{"field": field, "message": message}]}}
    return JSONResponse(body, status_code=status, headers=headers)


def _function_agent(respond: ChatFunction) -> Callable[[ChatTurn], Awaitable[ChatWork]]:
    async def begin(turn: ChatTurn) -> ChatWork:
        async def work(ctx: StreamContext[Any]) -> None:
            await respond(turn, ctx)

        return work

    return begin
