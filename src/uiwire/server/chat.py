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

import asyncio
import dataclasses
import hashlib
import inspect
import logging
import sys
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Literal, NamedTuple, cast

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from uiwire._errors import (
    ChatConflict,
    ChatRequestError,
    ChatStoreError,
    FieldError,
    StreamStoreError,
    TurnTimeout,
    UnreplayableMessage,
)
from uiwire._ids import new_id
from uiwire.chats.memory import MemoryChatStore
from uiwire.chats.store import AnswerState, Chat, TurnTicket
from uiwire.chats.trust import TurnPlan, plan_turn
from uiwire.protocol.chat_request import ChatRequest
from uiwire.protocol.encode import UI_MESSAGE_STREAM_HEADERS, encode_chunks
from uiwire.protocol.replay import message_chunks
from uiwire.protocol.targets import DEFAULT_TARGET, Target, as_target
from uiwire.protocol.ui_message import DEFAULT_URL_SCHEMES, UIMessage, allowed_url_schemes
from uiwire.resume.recorder import RecordedStream
from uiwire.resume.store import StreamStore, check_chat_id
from uiwire.server._body import DEFAULT_LIMITS, RequestLimits, read_chat_request, require_json
from uiwire.server._follow import FollowResponse
from uiwire.server._openapi import chat_openapi, merge_openapi
from uiwire.server.conversations import Conversations, chat_body, chat_summary
from uiwire.server.identity import Identity, Owner, OwnerResolver
from uiwire.server.response import DEFAULT_KEEP_ALIVE, UIMessageStreamResponse, check_keep_alive
from uiwire.stream.context import (
    OnClose,
    OnDisconnect,
    OnError,
    StreamContext,
    is_async_callable,
)
from uiwire.stream.record import StreamRecord, StreamStatus
from uiwire.stream.turn import ChatAgent, ChatFunction, ChatTurn, ChatWork

__all__ = ["Authorize", "ChatEndpoint", "ChatResult", "OnChatFinish"]

logger = logging.getLogger("uiwire")


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

Authorize = Callable[[Request, "str | None"], Awaitable[bool] | bool]
"""``authorize(request, owner)``: may this caller use this route at all? ``owner`` is the
caller's owner id (None without an identity); a resume, stop or history route names its
chat in ``request.path_params["id"]``. It runs before the body is read; False answers 403.
Which chats a caller may touch is not its job: with an identity, only their own."""


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
        limits: how much one request may hold (``RequestLimits``: bytes, messages,
            parts, JSON values); over a limit is a 413 naming the field, and a body is
            not read past the byte limit.
        url_schemes: the URL schemes file parts may use; others get 422. The server
            never fetches them; the model provider may.
        target: the AI SDK major the client runs (``"v6"`` by default).
        keep_alive: idle seconds between SSE keep-alive comments (None: never).
        streams: a ``StreamStore`` (``MemoryStreamStore`` for one process,
            ``RedisStreamStore`` for several) makes answers resumable and stoppable from
            any worker; mount ``routes()`` to serve the resume and stop endpoints too.
            Chat ids must then pass ``check_chat_id`` (422 otherwise).
        on_disconnect: when the POST's client leaves, ``"cancel"`` the generation or
            ``"continue"`` it (to be resumed, and saved whole by ``on_finish``). Default:
            ``"continue"`` with ``streams``, ``"cancel"`` without.
        authorize: ``authorize(request, owner)`` for every request to every route, before
            the body is read (a plan's limits, a banned user, a rate limit); False
            answers 403.
        timeout: seconds a turn may run (None: no limit). Past it the work is
            cancelled, the client gets the masked error and ``[DONE]``, and
            ``on_finish`` gets status ``error``: a hung tool or a stalled provider
            cannot hold a stream (and its memory) open forever.
        conversations: where the server keeps every chat (``Conversations(store)``): the
            model sees the stored conversation, never the client's copy, and each turn
            is saved as it starts and ends; ``routes()`` adds the history routes. By
            default ``Conversations(MemoryChatStore())``: this process's memory (several
            workers need a shared store: ``SQLChatStore``). ``False``: the client keeps
            the conversation and its copy is believed; only for an agent whose answers
            depend on nothing the client could forge.
        identity: who the caller is (``Identity``): the app's own ``identify`` hook, or
            by default an anonymous owner in a signed cookie. Every route acts only on
            the caller's chats. ``False`` (only with ``conversations=False``): no owner;
            anyone who knows a chat id may resume and stop its answer.
    """

    def __init__(
        self,
        agent: ChatAgent | ChatFunction,
        *,
        on_finish: OnChatFinish | None = None,
        on_error: OnError | None = None,
        limits: RequestLimits = DEFAULT_LIMITS,
        url_schemes: Collection[str] = DEFAULT_URL_SCHEMES,
        target: Target = DEFAULT_TARGET,
        keep_alive: float | None = DEFAULT_KEEP_ALIVE,
        streams: StreamStore | None = None,
        on_disconnect: OnDisconnect | None = None,
        authorize: Authorize | None = None,
        timeout: float | None = None,
        conversations: Conversations | Literal[False] | None = None,
        identity: Identity | Literal[False] | None = None,
    ) -> None:
        self._begin = _begin_turn(agent)
        if on_finish is not None and not callable(on_finish):
            raise TypeError(f"on_finish must be callable; got {type(on_finish).__name__}")
        if on_error is not None and not callable(on_error):
            raise TypeError(f"on_error must be callable; got {type(on_error).__name__}")
        if not isinstance(limits, RequestLimits):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"limits must be RequestLimits(...); got {type(limits).__name__}")
        if streams is not None and not isinstance(streams, StreamStore):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(
                "streams must be a StreamStore (MemoryStreamStore, RedisStreamStore); got "
                f"{type(streams).__name__}"
            )
        if on_disconnect is None:
            on_disconnect = "continue" if streams is not None else "cancel"
        elif on_disconnect not in ("cancel", "continue"):
            raise ValueError(f"on_disconnect must be 'cancel' or 'continue'; got {on_disconnect!r}")
        if authorize is not None and not callable(authorize):
            raise TypeError(f"authorize must be callable; got {type(authorize).__name__}")
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))  # pyright: ignore[reportUnnecessaryIsInstance]
            or not timeout > 0
        ):
            raise ValueError(
                f"timeout must be a positive number of seconds or None; got {timeout!r}"
            )
        self._on_finish = on_finish
        self._on_error = on_error
        self._limits = limits
        self._url_schemes = allowed_url_schemes(url_schemes)
        self._target: Target = as_target(target)
        self._keep_alive = check_keep_alive(keep_alive)
        self._streams = streams
        self._on_disconnect: OnDisconnect = on_disconnect
        self._authorize = authorize
        self._timeout = timeout
        self._conversations = _conversations(conversations, streams)
        self._owners = _owners(identity, self._conversations, streams)
        self._live: dict[str, RecordedStream] = {}  # streams generated by this endpoint
        self._running: dict[str, _Running] = {}  # answers being written here, by stream key
        self._told_streams_are_off = False

    def routes(self, path: str = "/api/chat", *, history: str | None = None) -> list[Route]:
        """The routes, for ``Starlette(routes=...)`` or FastAPI's
        ``app.router.routes.extend(...)``: ``POST path`` (the chat), ``GET
        path/{id}/stream`` (resume, as ``useChat({ resume: true })`` calls it) and ``POST
        path/{id}/stop`` (stop the generation, on whichever worker runs it). Without
        ``streams`` the last two answer 204 (nothing to resume or stop) and the first
        such request logs, once, that they need a store.

        With ``conversations``, the history routes too, at ``history`` (default: ``path``
        + ``"s"``, e.g. ``/api/chats``): ``GET history`` (the caller's chats, newest
        first, paged), ``GET history/{id}`` (one chat with its messages) and ``DELETE
        history/{id}``."""
        _check_path(path)
        routes = [
            Route(path, self.respond, methods=["POST"]),
            Route(f"{path}/{{id}}/stream", self.resume, methods=["GET"]),
            Route(f"{path}/{{id}}/stop", self.stop, methods=["POST"]),
        ]
        history = self._history_path(path, history)
        if history is not None:
            routes += [
                Route(history, self.list_chats, methods=["GET"]),
                Route(f"{history}/{{id}}", self.get_chat, methods=["GET", "DELETE"]),
            ]
        return routes

    def openapi(
        self,
        path: str = "/api/chat",
        *,
        history: str | None = None,
        into: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The routes of ``routes(path, history=history)`` in OpenAPI 3.1: ``{"paths",
        "components"}``.

        ``into`` is an OpenAPI document to add them to (in place), e.g. FastAPI's::

            app.router.routes.extend(chat.routes("/api/chat"))
            chat.openapi("/api/chat", into=app.openapi())  # /docs and /openapi.json show it

        The request schema is ``ChatRequest``'s own, with the parser's rules that JSON
        Schema can say; the others (``__proto__`` keys, depth) can still refuse a body it
        allows, with a 422.
        """
        _check_path(path)
        fragment = chat_openapi(
            path,
            url_schemes=self._url_schemes,
            chat_ids=self._streams is not None or self._conversations is not None,
            history=self._history_path(path, history),
            json_stop=self._owners is not None,
        )
        return fragment if into is None else merge_openapi(into, fragment)

    def _history_path(self, path: str, history: str | None) -> str | None:
        """Where the history routes go (``path`` + ``s`` by default); None without
        conversations."""
        if self._conversations is None:
            return None
        history = f"{path}s" if history is None else history
        _check_path(history)
        return history

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        response = await self.respond(request)
        await response(scope, receive, send)

    async def respond(self, request: Request) -> Response:
        """The response to one request (for use inside your own route)."""
        if request.method != "POST":
            return _problem(
                405, f"use POST, not {request.method}", "method", "method", {"allow": "POST"}
            )
        owner = await self._caller(request)  # before the body: a refused caller costs no parse
        if isinstance(owner, Response):
            return owner
        ticket: TurnTicket | None = None
        try:
            chat = await read_chat_request(
                request, limits=self._limits, url_schemes=self._url_schemes
            )
            if self._streams is not None or self._conversations is not None:
                _chat_id(chat.id)
            if self._conversations is None or owner is None:
                turn = _turn(chat, request, owner)
                work = await self._begin(turn)
            else:
                turn, plan, stored = await self._planned_turn(chat, request, owner.id)
                work = await self._begin(turn)  # a turn the agent refuses is not saved
                ticket = await self._start_turn(turn, plan, stored)
            if self._timeout is not None:
                work = _time_limited(work, self._timeout)
        except ChatRequestError as exc:
            return _with_cookie(JSONResponse(exc.to_json(), status_code=exc.status_code), owner)
        except ClientDisconnect:  # gone while sending its body: no one reads the answer
            return Response(status_code=499)
        except ChatStoreError as exc:
            return _with_cookie(_store_failed(exc), owner)
        continued = turn.continued
        key = self._stream_key(owner, turn.chat_id)
        ctx: StreamContext[Any] = StreamContext(
            message_id=turn.message_id,
            continued_message=continued,
            target=self._target,
            on_close=self._finish_hook(turn, ticket, key),
            on_error=self._on_error,
            on_disconnect=self._on_disconnect,
        )
        if ticket is not None:
            self._running[key] = _Running(ticket, ctx)
        ctx.run(work)  # first: a stop arriving while the store opens must find it running
        recorded = await self._record(ctx, key, continued)
        if recorded is None:
            response: Response = UIMessageStreamResponse(ctx, keep_alive=self._keep_alive)
        else:
            response = FollowResponse(
                recorded.log.follow(start=recorded.prefix_length, idle=self._keep_alive),
                name=recorded.stream_id,
                on_disconnect=ctx.cancel if self._on_disconnect == "cancel" else None,
                may_break=False,  # this worker's own log ends with [DONE]
            )
        return _with_cookie(response, owner)

    async def _caller(self, request: Request) -> Owner | Response | None:
        """Who asks (None without an identity) if ``authorize`` lets them in; else the
        401 (nobody) or 403 to answer."""
        owner: Owner | None = None
        if self._owners is not None:
            try:
                owner = await self._owners.owner(request)
            except ChatStoreError as exc:  # the kept secret could not be read
                return _store_failed(exc)
            if owner is None:
                return _problem(401, "sign in to use this chat", "identity", "unauthenticated")
        if not await self._allowed(request, None if owner is None else owner.id):
            return _with_cookie(_forbidden(), owner)
        return owner

    def _stream_key(self, owner: Owner | None, chat_id: str) -> str:
        """The chat's name in the stream store: bound to its owner, so that no one
        else's resume or stop can reach it (without an identity, the chat id)."""
        if owner is None:
            return chat_id
        digest = hashlib.sha256(f"{owner.id}\0{chat_id}".encode()).hexdigest()
        return f"c_{digest[:40]}"

    async def _planned_turn(
        self, chat: ChatRequest, request: Request, owner: str
    ) -> tuple[ChatTurn, TurnPlan, Chat | None]:
        """The turn the stored chat and the request make (``uiwire.chats.trust``), and
        the stored chat it was planned on (None: a new chat)."""
        assert self._conversations is not None
        stored = await self._conversations.store.get(owner, chat.id)
        field = f"messages[{len(chat.messages) - 1}]"
        plan = plan_turn(stored, chat, field=field)
        trusted = chat.model_copy(update={"messages": list(plan.messages)})
        turn = ChatTurn(
            chat=trusted,
            message_id=plan.answer.id,
            continued=plan.continued,
            request=request,
            owner=owner,
        )
        return turn, plan, stored

    async def _start_turn(self, turn: ChatTurn, plan: TurnPlan, stored: Chat | None) -> TurnTicket:
        """Save the question and the running answer. If the chat's messages are still
        the ones the turn was planned on (only an answer's content changed meanwhile: an
        older turn's late save), the turn starts on the new version: the agent has begun
        it already (a paused run is taken). Otherwise 409: another tab or worker changed
        the conversation."""
        conversations = self._conversations
        assert conversations is not None
        owner = turn.owner
        assert owner is not None
        title = ""
        if stored is None:
            first = next((m for m in plan.messages if m.role == "user"), plan.messages[0])
            title = await conversations.title_of(first)
        version = None if stored is None else stored.info.version

        async def start() -> TurnTicket | None:
            try:
                return await conversations.store.start_turn(
                    owner,
                    turn.chat_id,
                    version=version,
                    keep=plan.keep,
                    add=plan.add,
                    answer=plan.answer,
                    title=title,
                )
            except ChatConflict:
                return None

        for _ in range(_START_ATTEMPTS):
            ticket = await start()
            if ticket is not None:
                return ticket
            now = None if stored is None else await conversations.store.get(owner, turn.chat_id)
            if now is None or stored is None or _ids(now) != _ids(stored):
                break
            version = now.info.version
        raise ChatRequestError(
            [FieldError("id", "this chat changed meanwhile; reload it and retry", "conflict")],
            status_code=409,
        )

    async def resume(self, request: Request) -> Response:
        """``GET {path}/{id}/stream``: the chat's active answer, replayed from its first
        byte and then followed live; 204 when nothing is being generated."""
        found = await self._active_stream(request, ("GET", "HEAD"))
        if isinstance(found, Response):
            return found
        streams, stream_id = found
        if request.method == "HEAD":
            return Response(status_code=200, headers=UI_MESSAGE_STREAM_HEADERS)
        live = self._live.get(stream_id)  # generated here: no store round trip
        if live is not None:
            frames = live.log.follow(idle=self._keep_alive)
            return FollowResponse(frames, name=stream_id, may_break=False)
        return FollowResponse(streams.follow(stream_id, idle=self._keep_alive), name=stream_id)

    async def list_chats(self, request: Request) -> Response:
        """``GET {history}``: the caller's chats, most recently updated first
        (``?limit=`` 1 to 100, ``?before=`` the previous page's ``nextCursor``)."""
        conversations, owner = await self._history_caller(request, ("GET",))
        if isinstance(owner, Response):
            return owner
        assert conversations is not None
        limit_text = request.query_params.get("limit", "50")
        limit = int(limit_text) if limit_text.isdigit() else 0
        if not 1 <= limit <= 100:
            return _problem(422, "limit must be an integer from 1 to 100", "limit", "limit")
        try:
            page = await conversations.store.list_chats(
                owner.id, limit=limit, before=request.query_params.get("before")
            )
        except ValueError:
            return _problem(422, "before is not a cursor this list gave", "before", "cursor")
        except ChatStoreError as exc:
            return _store_failed(exc)
        body = {"chats": [chat_summary(c) for c in page.chats], "nextCursor": page.next_cursor}
        return _with_cookie(JSONResponse(body), owner)

    async def get_chat(self, request: Request) -> Response:
        """``GET {history}/{id}`` (one of the caller's chats, with its ``messages`` for
        ``useChat``) or ``DELETE`` it, stopping its answer if one runs."""
        conversations, owner = await self._history_caller(request, ("GET", "DELETE"))
        if isinstance(owner, Response):
            return owner
        assert conversations is not None
        chat_id = str(request.path_params.get("id", ""))
        try:
            _chat_id(chat_id)
        except ChatRequestError:
            return _with_cookie(_not_found(), owner)
        key = self._stream_key(owner, chat_id)
        try:
            chat = await conversations.store.get(owner.id, chat_id)
            if chat is None:
                return _with_cookie(_not_found(), owner)
            in_progress = await self._answer_in_progress(key, chat)
            if request.method == "DELETE":
                running = self._running.get(key)
                if running is not None:  # written here, whether recorded or not
                    running.ctx.cancel()
                elif in_progress is not None and self._streams is not None:
                    stream_id = await self._streams.active_stream(key)
                    if stream_id is not None:  # written on another worker
                        await self._streams.request_stop(stream_id)
                await conversations.store.delete(owner.id, chat_id)
                return _with_cookie(Response(status_code=204), owner)
        except ChatStoreError as exc:
            return _store_failed(exc)
        except StreamStoreError:
            return _unavailable()
        body = chat_body(chat, in_progress=in_progress, resumable=self._streams is not None)
        return _with_cookie(JSONResponse(body), owner)

    async def _history_caller(
        self, request: Request, methods: tuple[str, ...]
    ) -> tuple[Conversations | None, Owner | Response]:
        if request.method not in methods:
            allow = ", ".join(methods)
            return None, _problem(
                405, f"use {allow}, not {request.method}", "method", "method", {"allow": allow}
            )
        if self._conversations is None:
            return None, _not_found()
        owner = await self._caller(request)
        if owner is None:
            return None, _not_found()
        return self._conversations, owner

    async def _answer_in_progress(self, key: str, chat: Chat) -> str | None:
        """The id of the chat's answer being written now (here, or on the worker the
        stream store names), if any: a running answer that is neither was cut off."""
        last = chat.messages[-1] if chat.messages else None
        if last is None or chat.answers.get(last.id) != "running":
            return None
        running = self._running.get(key)
        if running is not None and running.ticket.message_id == last.id:
            return last.id
        if self._streams is not None and await self._streams.active_stream(key) is not None:
            return last.id
        return None

    async def stop(self, request: Request) -> Response:
        """``POST {path}/{id}/stop``: cancel the chat's active answer wherever it runs; it
        ends with ``abort``. 202 when a stop was requested, 204 when nothing is running.

        With an identity, the request must say its body is JSON (415 otherwise): a page
        on another site can post a form with the user's cookies, never JSON."""
        if self._owners is not None and request.method == "POST":
            refused = await _json_object_body(request, what="a stop")
            if refused is not None:
                return JSONResponse(refused.to_json(), status_code=refused.status_code)
        found = await self._active_stream(request, ("POST",))
        if isinstance(found, Response):
            return found
        streams, stream_id = found
        try:
            await self._stop_stream(streams, stream_id)
        except StreamStoreError:
            return _unavailable()
        return Response(status_code=202)

    async def _active_stream(
        self, request: Request, methods: tuple[str, ...]
    ) -> Response | tuple[StreamStore, str]:
        """The store and the active stream of the chat a resume or stop URL names, or the
        response refusing the request (405, 422, 403, 503, or 204: nothing active)."""
        if request.method not in methods:
            allow = methods[0]
            return _problem(
                405, f"use {allow}, not {request.method}", "method", "method", {"allow": allow}
            )
        owner = await self._caller(request)
        if isinstance(owner, Response):
            return owner
        chat_id = str(request.path_params.get("id", ""))
        try:
            _chat_id(chat_id)
        except ChatRequestError as exc:
            return JSONResponse(exc.to_json(), status_code=exc.status_code)
        if self._conversations is not None and owner is not None:
            try:
                if await self._conversations.store.get(owner.id, chat_id) is None:
                    return _with_cookie(_not_found(), owner)
            except ChatStoreError as exc:
                return _store_failed(exc)
        streams = self._streams
        if streams is None:
            self._say_streams_are_off(request)
            return Response(status_code=204)
        try:
            stream_id = await streams.active_stream(self._stream_key(owner, chat_id))
        except StreamStoreError:
            return _unavailable()
        if stream_id is None:
            return Response(status_code=204)
        return streams, stream_id

    def _say_streams_are_off(self, request: Request) -> None:
        """Log, once, why resume and stop always answer 204 without a store: the answer
        is the protocol's own "nothing to resume" (a 404 would be an error in
        ``useChat``), but the developer who expected resumption must learn why not."""
        if self._told_streams_are_off:
            return
        self._told_streams_are_off = True
        logger.warning(
            "%s %s answered 204: this ChatEndpoint has no stream store, so no answer can be "
            "resumed or stopped from another request. Pass streams=MemoryStreamStore() (one "
            "process) or streams=RedisStreamStore(url) (several workers) to make them so. "
            "Logged once.",
            request.method,
            request.url.path,
        )

    async def _allowed(self, request: Request, owner: str | None) -> bool:
        if self._authorize is None:
            return True
        verdict = self._authorize(request, owner)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        if not isinstance(verdict, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"authorize must return a bool; got {type(verdict).__name__}")
        return verdict

    async def _record(
        self, ctx: StreamContext[Any], chat_id: str, continued: UIMessage | None
    ) -> RecordedStream | None:
        """Start recording ``ctx`` in the store; None without a store or when it fails
        (the answer is then streamed without resumption)."""
        if self._streams is None:
            return None
        try:
            rebuild = [] if continued is None else message_chunks(continued, target=self._target)
        except UnreplayableMessage as exc:  # valid, but not for this target: a warning
            logger.warning(
                "chat %s: the continued message cannot be replayed (%s); this answer is "
                "streamed without resumption",
                chat_id,
                exc,
            )
            return None
        prefix = [encode_chunks(rebuild)] if rebuild else []
        stream_id = new_id("strm")
        try:
            recorded = await RecordedStream.start(
                ctx,
                self._streams,
                chat_id=chat_id,
                stream_id=stream_id,
                prefix=prefix,
                on_closed=lambda done: self._live.pop(done.stream_id, None),
            )
        except StreamStoreError:
            logger.exception(
                "chat %s: the stream store failed; this answer is streamed without resumption",
                chat_id,
            )
            return None
        self._live[stream_id] = recorded
        if recorded.replaced is not None:  # one answer at a time: the older one is stopped
            try:
                await self._stop_stream(self._streams, recorded.replaced)
            except StreamStoreError:
                logger.exception("chat %s: the answer it replaced could not be stopped", chat_id)
        return recorded

    async def _stop_stream(self, streams: StreamStore, stream_id: str) -> None:
        live = self._live.get(stream_id)
        if live is not None:
            live.ctx.cancel()
            return
        await streams.request_stop(stream_id)

    def _finish_hook(self, turn: ChatTurn, ticket: TurnTicket | None, key: str) -> OnClose | None:
        """The context's ``on_close``: save the answer (with ``conversations``, under the
        chat's stream ``key``), then
        call ``on_finish`` with the turn's result; exceptions of either are logged here,
        under the name the user gave it."""
        on_finish = self._on_finish
        if on_finish is None and ticket is None:
            return None

        def result(record: StreamRecord, status: StreamStatus) -> ChatResult:
            return ChatResult(turn.chat_id, _updated(turn, record), record, status, turn)

        if ticket is None and not is_async_callable(on_finish):
            # a sync hook stays sync, so StreamContext runs it in a worker thread (a slow
            # database save must not stall every other stream on the loop)
            def finished_in_thread(record: StreamRecord, status: StreamStatus) -> object:
                try:
                    return cast("OnChatFinish", on_finish)(result(record, status))
                except Exception:
                    logger.exception("on_finish of chat %s raised", turn.chat_id)
                    return None

            return finished_in_thread

        async def finished(record: StreamRecord, status: StreamStatus) -> None:
            if ticket is not None:
                await self._save_answer(key, ticket, record, status)
            if on_finish is None:
                return
            try:
                if is_async_callable(on_finish):
                    await cast("Awaitable[object]", on_finish(result(record, status)))
                else:
                    await asyncio.to_thread(on_finish, result(record, status))
            except Exception:
                logger.exception("on_finish of chat %s raised", turn.chat_id)

        return finished

    async def _save_answer(
        self, key: str, ticket: TurnTicket, record: StreamRecord, status: StreamStatus
    ) -> None:
        """The answer's end, saved; a failed save is logged (the chat then shows the
        answer as interrupted), never raised into the stream."""
        assert self._conversations is not None
        running = self._running.get(key)
        if running is not None and running.ticket is ticket:  # not a newer turn's
            del self._running[key]
        state: AnswerState = status
        try:
            message = UIMessage.model_validate(record.message)
            saved = await self._conversations.store.finish_turn(ticket, message, state)
        except (ChatStoreError, ValueError):
            logger.exception("chat %s: the answer could not be saved", ticket.chat_id)
            return
        if not saved:
            logger.info(
                "chat %s: answer %s was not saved: a newer turn replaced it",
                ticket.chat_id,
                ticket.message_id,
            )


def _conversations(
    conversations: Conversations | Literal[False] | None, streams: StreamStore | None
) -> Conversations | None:
    """The endpoint's conversations, checked: the default keeps them in memory, which
    several workers cannot share (refused at start-up rather than losing chats)."""
    if conversations is False:
        return None
    if conversations is None:
        if streams is not None and streams.shared:
            raise ValueError(
                f"{type(streams).__name__} serves several workers, but chats would be kept "
                "in each worker's memory: pass conversations=Conversations(SQLChatStore(url)) "
                "with a database the workers share"
            )
        return Conversations(store=MemoryChatStore())
    if not isinstance(conversations, Conversations):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(
            "conversations must be Conversations(store) or False; got "
            f"{type(conversations).__name__}"
        )
    return conversations


def _owners(
    identity: Identity | Literal[False] | None,
    conversations: Conversations | None,
    streams: StreamStore | None,
) -> OwnerResolver | None:
    """How the endpoint learns who asks, resolved now (a missing secret for several
    workers is a start-up error); None only when both were turned off."""
    if identity is False:
        if conversations is not None:
            raise ValueError(
                "identity=False needs conversations=False: kept chats must have an owner"
            )
        return None
    if identity is None:
        identity = Identity()
    if not isinstance(identity, Identity):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"identity must be an Identity or False; got {type(identity).__name__}")
    return identity.resolve(
        kept_secret=None if conversations is None else conversations.store.kept_secret,
        shared=streams is not None and streams.shared,
    )


def _check_path(path: str) -> None:
    if not isinstance(path, str) or not path.startswith("/") or path.endswith("/"):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ValueError(f"path must start with '/' and not end with one; got {path!r}")


def _turn(chat: ChatRequest, request: Request, owner: Owner | None) -> ChatTurn:
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
        return ChatTurn(
            chat=chat,
            message_id=last.id,
            continued=last,
            request=request,
            owner=None if owner is None else owner.id,
        )
    return ChatTurn(
        chat=chat,
        message_id=new_id("msg"),
        continued=None,
        request=request,
        owner=None if owner is None else owner.id,
    )


def _updated(turn: ChatTurn, record: StreamRecord) -> list[dict[str, Any]]:
    messages = [m.to_json() for m in turn.messages]
    if turn.continued is not None:
        messages[-1] = record.message
    elif record.message.get("parts"):
        messages.append(record.message)
    return messages


def _chat_id(chat_id: str) -> str:
    try:
        return check_chat_id(chat_id)
    except ValueError as exc:
        raise ChatRequestError([FieldError("id", str(exc), "chat_id")]) from None


async def _json_object_body(request: Request, *, what: str) -> ChatRequestError | None:
    """None when the body is a small JSON object (``{}``), else the 415/413/422: a page on
    another site cannot send one with the user's cookies."""
    refused = require_json(request, what=what)
    if refused is not None:
        return refused
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > _SMALL_BODY:
            return ChatRequestError(
                [FieldError("body", f"send {what} as {{}}", "body_too_large")], status_code=413
            )
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        return ChatRequestError([FieldError("body", f"send {what} as {{}}", "json_object")])
    return None


_SMALL_BODY = 1024


class _Running(NamedTuple):
    """An answer this endpoint is writing in a kept conversation."""

    ticket: TurnTicket
    ctx: StreamContext[Any]


_START_ATTEMPTS = 3
"""How often a turn tries to start on a chat that keeps changing under it."""


def _ids(chat: Chat) -> list[str]:
    return [message.id for message in chat.messages]


def _with_cookie(response: Response, owner: Owner | Response | None) -> Response:
    """``response``, with the cookie of a newly made anonymous owner if there is one."""
    if isinstance(owner, Owner) and owner.set_cookie is not None:
        response.headers.append("set-cookie", owner.set_cookie)
    return response


def _store_failed(exc: ChatStoreError) -> JSONResponse:
    logger.error("the chat store failed: %s", exc)
    response = _problem(
        503, "the chat store is unavailable; try again shortly", "id", "store_unavailable"
    )
    response.headers["retry-after"] = "2"
    return response


def _not_found() -> JSONResponse:
    return _problem(404, "no such chat", "id", "not_found")


def _forbidden() -> JSONResponse:
    return _problem(403, "you may not use this chat", "authorize", "forbidden")


def _unavailable() -> JSONResponse:
    response = _problem(
        503, "the stream store is unavailable; try again shortly", "id", "store_unavailable"
    )
    response.headers["retry-after"] = "2"
    return response


def _problem(
    status: int, message: str, field: str, kind: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    fields = [{"field": field, "message": message, "type": kind}]
    body = {"error": {"message": message, "fields": fields}}
    return JSONResponse(body, status_code=status, headers=headers)


def _time_limited(work: ChatWork, seconds: float) -> ChatWork:
    async def limited(ctx: StreamContext[Any]) -> None:
        try:
            await asyncio.wait_for(work(ctx), seconds)
        except asyncio.TimeoutError:
            raise TurnTimeout(f"the turn ran past its {seconds:g} s timeout") from None

    return limited


def _begin_turn(agent: object) -> Callable[[ChatTurn], Awaitable[ChatWork]]:
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
