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
   unguessable id (``msg_...``, or ``ResponseOptions(message_id=...)``'s), so the ids
   ``useChat`` keeps are the server's. ``ChatHooks(on_start=...)`` and then the
   agent's ``begin_turn`` check the turn; a ``ChatRequestError`` either raises becomes
   a JSON error with its status, before any stream.
3. **Stream** the work in a ``StreamContext`` (errors masked by default). After the last
   byte, whether the stream finished, failed or the client left, ``on_finish`` gets
   the conversation as it now stands: the request's messages with the assistant
   message added (or, for a continuation, replaced), ready to save and to hand back to
   ``useChat`` as its initial messages.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import TYPE_CHECKING, Any, Final, Literal, NamedTuple, cast

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from typing_extensions import Never

from uiwire._errors import (
    ChatRequestError,
    ChatStoreError,
    FieldError,
    ProtocolError,
    SteeringQueueFull,
    StreamStoreError,
    UnreplayableMessage,
)
from uiwire._ids import new_id
from uiwire.chats.store import Chat, TurnTicket
from uiwire.protocol.chat_request import ChatRequest
from uiwire.protocol.encode import UI_MESSAGE_STREAM_HEADERS, encode_chunks
from uiwire.protocol.replay import message_chunks
from uiwire.protocol.ui_message import SteeringMessageUIPart, UIMessage
from uiwire.resume.recorder import RecordedStream
from uiwire.resume.store import StreamStore, check_chat_id
from uiwire.server._agent import (
    FORGET_DEADLINE,
    agent_name,
    begin_turn_of,
    forget_chat_of,
    steering_refusal,
    time_limited,
    with_trace_id,
)
from uiwire.server._body import (
    DEFAULT_LIMITS,
    RequestLimits,
    read_chat_request,
    read_json_object,
    read_steering_message,
)
from uiwire.server._defaults import check_telemetry, resolve_conversations, resolve_owners
from uiwire.server._follow import FollowResponse
from uiwire.server._kept_turns import PlannedTurn, plan_kept_turn, save_answer, start_kept_turn
from uiwire.server._metadata import PartMetadataContext, with_message_metadata
from uiwire.server._openapi import chat_openapi, merge_openapi
from uiwire.server._problems import (
    chat_store_failed,
    forbidden,
    not_found,
    problem,
    refused,
    stream_store_unavailable,
    with_cookie,
)
from uiwire.server._tee import Tee
from uiwire.server.conversations import Conversations, chat_body, chat_summary
from uiwire.server.identity import Identity, Owner
from uiwire.server.options import ChatHooks, ResponseOptions, check_message_id
from uiwire.server.response import UIMessageStreamResponse
from uiwire.server.websocket import ChatSocket, SocketHandlers
from uiwire.stream.context import (
    OnClose,
    OnDisconnect,
    StopMode,
    StreamContext,
    check_steering,
    is_async_callable,
)
from uiwire.stream.record import StreamRecord, StreamStatus
from uiwire.stream.turn import ChatAgent, ChatFunction, ChatTurn, ChatWork

if TYPE_CHECKING:
    from uiwire.server.telemetry import Telemetry, TurnProbe

__all__ = ["ChatEndpoint", "ChatResult", "OnChatFinish"]

logger = logging.getLogger("uiwire")

SAVE_WAIT: Final = 5.0
"""Seconds a turn waits for the save of the chat's previous answer, streamed to its end
by this process (``ChatEndpoint._saved_first``)."""


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

        chat = ChatEndpoint(AgentsAdapter(agent), hooks=ChatHooks(on_finish=save_chat))
        app.add_route("/api/chat", chat.respond, methods=["POST"])  # FastAPI (typed)
        Route("/api/chat", chat, methods=["POST"])  # Starlette: it is an ASGI app

    Arguments:
        agent: a ``ChatAgent`` (``AgentsAdapter``, ``DSPyAdapter``, anything with
            ``begin_turn``) or an ``async def respond(turn, ctx)``.
        hooks: what is called around each request and turn (``ChatHooks``):
            ``authorize`` for every request (False answers 403), ``on_start`` as a turn
            begins (it may refuse it), ``on_finish`` with the ``ChatResult`` after its
            last byte (to save it), ``on_error`` for the text the client sees for an
            exception.
        response: what each answer is and how it lives (``ResponseOptions``): its
            protocol ``target`` (the AI SDK major the client runs, ``"v6"`` by
            default), ``keep_alive`` comments, a ``timeout``, what ``on_disconnect``
            does when its client leaves; message metadata at its start, its finish and
            per part, the message id factory, extra response headers, a tee of its
            stream.
        limits: what one request may carry (``RequestLimits``: bytes, messages, parts,
            JSON values, the file URL schemes); over a size limit is a 413 naming the
            field (a body is not read past the byte limit), another URL scheme a 422.
        streams: a ``StreamStore`` (``MemoryStreamStore`` for one process,
            ``RedisStreamStore`` for several) makes answers resumable and stoppable from
            any worker; mount ``routes()`` to serve the resume and stop endpoints too.
            Chat ids must then pass ``check_chat_id`` (422 otherwise). With one, an
            answer goes on when its client leaves, unless
            ``ResponseOptions(on_disconnect="cancel")``.
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
        telemetry: OpenTelemetry spans and metrics for every turn (``Telemetry``, the
            ``otel`` extra); off by default.
    """

    def __init__(
        self,
        agent: ChatAgent | ChatFunction,
        *,
        hooks: ChatHooks | None = None,
        response: ResponseOptions | None = None,
        limits: RequestLimits = DEFAULT_LIMITS,
        streams: StreamStore | None = None,
        conversations: Conversations | Literal[False] | None = None,
        identity: Identity | Literal[False] | None = None,
        telemetry: Telemetry | None = None,
        **moved: Never,
    ) -> None:
        _refuse_moved(moved)
        self._agent = agent
        self._begin = begin_turn_of(agent)
        self._forget_chat = forget_chat_of(agent)
        if hooks is None:
            hooks = ChatHooks()
        elif not isinstance(hooks, ChatHooks):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"hooks must be ChatHooks(...); got {type(hooks).__name__}")
        if response is None:
            response = ResponseOptions()
        elif not isinstance(response, ResponseOptions):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"response must be ResponseOptions(...); got {type(response).__name__}")
        if not isinstance(limits, RequestLimits):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"limits must be RequestLimits(...); got {type(limits).__name__}")
        if streams is not None and not isinstance(streams, StreamStore):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(
                "streams must be a StreamStore (MemoryStreamStore, RedisStreamStore); got "
                f"{type(streams).__name__}"
            )
        on_disconnect = response.on_disconnect
        if on_disconnect is None:  # an answer resumable elsewhere goes on by default
            on_disconnect = "continue" if streams is not None else "cancel"
        self._hooks = hooks
        self._options = response
        self._headers = dict(response.headers)
        self._limits = limits
        self._streams = streams
        self._on_disconnect: OnDisconnect = on_disconnect
        self._conversations = resolve_conversations(conversations, streams)
        self._telemetry = check_telemetry(telemetry)
        self._agent_name = agent_name(agent)
        self._owners = resolve_owners(identity, self._conversations, streams)
        self._live: dict[str, RecordedStream] = {}  # streams generated by this endpoint
        self._running: dict[str, _Answer] = {}  # answers being written here, by stream key
        self._told_streams_are_off = False

    def routes(self, path: str = "/api/chat", *, history: str | None = None) -> list[BaseRoute]:
        """The routes, for ``Starlette(routes=...)`` or FastAPI's
        ``app.router.routes.extend(...)``: ``POST path`` (the chat), ``GET
        path/{id}/stream`` (resume, as ``useChat({ resume: true })`` calls it), ``POST
        path/{id}/stop`` (stop the generation, on whichever worker runs it) and the
        WebSocket ``path/ws`` (all three over one socket, for AI SDK 7's
        ``WebSocketChatTransport``: ``socket()``). Without
        ``streams``, resume answers 204 (nothing to resume), stop stops only answers of
        this process (204 for others), and the first 204 logs, once, that they need a
        store.

        With ``conversations``, the history routes too, at ``history`` (default: ``path``
        + ``"s"``, e.g. ``/api/chats``): ``GET history`` (the caller's chats, newest
        first, paged), ``GET history/{id}`` (one chat with its messages) and ``DELETE
        history/{id}``."""
        _check_path(path)
        routes: list[BaseRoute] = [
            Route(path, self.respond, methods=["POST"]),
            Route(f"{path}/{{id}}/stream", self.resume, methods=["GET"]),
            Route(f"{path}/{{id}}/stop", self.stop, methods=["POST"]),
            Route(f"{path}/{{id}}/steer", self.steer, methods=["POST"]),
            WebSocketRoute(f"{path}/ws", self.socket()),
        ]
        history = self._history_path(path, history)
        if history is not None:
            routes += [
                Route(history, self.list_chats, methods=["GET"]),
                Route(f"{history}/{{id}}", self.get_chat, methods=["GET", "DELETE"]),
            ]
        return routes

    @property
    def agent(self) -> ChatAgent | ChatFunction:
        """The agent this endpoint serves (``uiwire types`` reads its tools from it)."""
        return self._agent

    @property
    def telemetry(self) -> Telemetry | None:
        """The endpoint's ``Telemetry``, if it has one."""
        return self._telemetry

    def socket(self, *, origins: Collection[str] = ()) -> ChatSocket:
        """This endpoint's chat over a WebSocket (AI SDK 7's ``WebSocketChatTransport``),
        for a ``WebSocketRoute``: every request on it goes to this endpoint's own routes.
        Pages of this server's origin may open it, and of ``origins``
        (``"https://app.example"``)."""
        handlers = SocketHandlers(
            self._caller,
            self.respond,
            self.resume,
            self.stop,
            self.steer,
            self._limits.max_json_values,
        )
        return ChatSocket(handlers, origins=origins)

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
            url_schemes=self._limits.url_schemes,
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
        if self._telemetry is None:
            return await self._respond(request, None)
        probe = self._telemetry.start_turn(request.headers, agent=self._agent_name)
        with probe.current():  # the agent's and the work's spans are the turn's children
            response = await self._respond(request, probe)
        if not isinstance(response, (UIMessageStreamResponse, FollowResponse)):
            probe.end("refused", http_status=response.status_code)
        return response

    async def _respond(self, request: Request, probe: TurnProbe | None) -> Response:
        if request.method != "POST":
            return problem(
                405, f"use POST, not {request.method}", "method", "method", {"allow": "POST"}
            )
        owner = await self._caller(request)  # before the body: a refused caller costs no parse
        if isinstance(owner, Response):
            return owner
        try:
            chat = await read_chat_request(request, limits=self._limits)
            if self._streams is not None or self._conversations is not None:
                _chat_id(chat.id)
            if self._conversations is None or owner is None:
                planned = PlannedTurn(_turn(chat, request, owner, self._new_message_id))
            else:
                await self._saved_first(self._stream_key(owner, chat.id))
                planned = await plan_kept_turn(
                    self._conversations, chat, request, owner.id, self._new_message_id
                )
        except ChatRequestError as exc:
            return with_cookie(refused(exc), owner)
        except ClientDisconnect:  # gone while sending its body: no one reads the answer
            return Response(status_code=499)
        except ChatStoreError as exc:
            self._store_failed("chat")
            return with_cookie(chat_store_failed(exc), owner)
        turn = planned.turn
        if probe is not None:
            probe.describe(
                chat_id=turn.chat_id,
                message_id=turn.message_id,
                trigger=turn.trigger,
                continued=turn.continued is not None,
            )
            probe.streaming()
        key = self._stream_key(owner, turn.chat_id)
        answer = self._register(turn, key, probe)
        recorded = await self._record(answer, key, turn.continued, probe)
        work = await self._begin_answer(answer, planned)
        if isinstance(work, Response):
            self._withdraw(key, answer)
            return with_cookie(work, owner)
        if recorded is not None and recorded.replaced is not None:
            await self._stop_replaced(key, recorded.replaced)
        if probe is not None and self._telemetry is not None and self._telemetry.trace_id_key:
            work = with_trace_id(work, self._telemetry.trace_id_key, probe.trace_id)
        options = self._options
        work = with_message_metadata(work, turn, options.start_metadata, options.finish_metadata)
        if answer.tee is not None:
            answer.tee.start()
        if not answer.ctx.is_finished:  # else stopped while it began: the stream is its abort
            answer.ctx.run(work)
        return with_cookie(self._answer_response(answer, recorded, probe), owner)

    def _new_message_id(self) -> str:
        """The id of a new answer: ``ResponseOptions(message_id=...)``'s, or uiwire's."""
        factory = self._options.message_id
        return new_id("msg") if factory is None else check_message_id(factory())

    def _store_failed(self, store: Literal["chat", "stream"]) -> None:
        """Count a failed store call in the telemetry, if any (the caller logs it)."""
        if self._telemetry is not None:
            self._telemetry.store_failed(store)

    async def _saved_first(self, key: str) -> None:
        """Wait (up to ``SAVE_WAIT`` seconds) for the save of the chat's answer that this
        process has streamed to its end: it is saved just after its last byte, and
        ``useChat`` sends an approval's or a client tool's continuation at once, which
        would otherwise find the answer still running (409)."""
        answer = self._running.get(key)
        if answer is None or not answer.ctx.is_finished:
            return
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(answer.settled.wait(), SAVE_WAIT)

    def _register(self, turn: ChatTurn, key: str, probe: TurnProbe | None) -> _Answer:
        """The answer's stream context, findable by stop and delete from now on: before
        the agent begins the turn (which may take a while: a paused run is fetched), so
        a stop sent meanwhile is not lost."""
        started: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        answer = _Answer(started=started, probe=probe)
        options: dict[str, Any] = {
            "message_id": turn.message_id,
            "continued_message": turn.continued,
            "target": self._options.target,
            "on_close": self._finish_hook(turn, answer, key),
            "on_error": self._hooks.on_error,
            "on_disconnect": self._on_disconnect,
        }
        part_metadata = self._options.part_metadata
        answer.ctx = (
            StreamContext(**options)
            if part_metadata is None  # no per-chunk cost unless asked for
            else PartMetadataContext(part_metadata, **options)
        )
        if self._options.tee is not None:
            answer.tee = Tee(self._options.tee, turn, self._hooks.on_error)
        self._running[key] = answer
        return answer

    async def _begin_answer(self, answer: _Answer, planned: PlannedTurn) -> ChatWork | Response:
        """The agent's work for the turn, once the turn is saved as started; or the
        response refusing it (the agent's or the store's), which saves nothing."""
        began = False
        try:
            await self._turn_starts(planned.turn)
            work = await self._begin(planned.turn)  # a turn the agent refuses is not saved
            if planned.plan is not None and self._conversations is not None:
                answer.ticket = await start_kept_turn(self._conversations, planned)
            began = True
        except ChatRequestError as exc:
            return refused(exc)
        except ChatStoreError as exc:
            self._store_failed("chat")
            return chat_store_failed(exc)
        finally:
            answer.started.set_result(began)
        if self._options.timeout is not None:
            work = time_limited(work, self._options.timeout)
        return work

    async def _turn_starts(self, turn: ChatTurn) -> None:
        """``ChatHooks(on_start=...)``, if any: a ``ChatRequestError`` it raises refuses
        the turn."""
        on_start = self._hooks.on_start
        if on_start is None:
            return
        if is_async_callable(on_start):
            await cast("Awaitable[object]", on_start(turn))
        else:  # in a thread, as on_finish: a slow hook must not stall every stream
            await asyncio.to_thread(on_start, turn)

    def _withdraw(self, key: str, answer: _Answer) -> None:
        """Forget a refused answer: its stream (recorded, or only registered) ends
        unseen, and nothing about it is saved or reported."""
        self._forget(key, answer)
        answer.ctx.cancel()

    def _forget(self, key: str, answer: _Answer) -> None:
        answer.settled.set()
        if self._running.get(key) is answer:  # not a newer turn's
            del self._running[key]

    def _answer_response(
        self, answer: _Answer, recorded: RecordedStream | None, probe: TurnProbe | None
    ) -> Response:
        ctx = answer.ctx
        if recorded is None:
            response = UIMessageStreamResponse(
                ctx, keep_alive=self._options.keep_alive, headers=self._headers
            )
            response.probe = probe
            if answer.tee is not None:
                response.observe = answer.tee.feed
            return response
        on_disconnect = ctx.cancel if self._on_disconnect == "cancel" else None
        if probe is not None:
            on_disconnect = _told_first(probe.client_left, on_disconnect)
        return FollowResponse(
            recorded.log.follow(start=recorded.prefix_length, idle=self._options.keep_alive),
            name=recorded.stream_id,
            on_disconnect=on_disconnect,
            may_break=False,  # this worker's own log ends with [DONE]
            headers=self._headers,
        )

    async def _caller(self, request: Request) -> Owner | Response | None:
        """Who asks (None without an identity) if ``authorize`` lets them in; else the
        401 (nobody) or 403 to answer."""
        owner: Owner | None = None
        if self._owners is not None:
            try:
                owner = await self._owners.owner(request)
            except ChatStoreError as exc:  # the kept secret could not be read
                self._store_failed("chat")
                return chat_store_failed(exc)
            if owner is None:
                return problem(401, "sign in to use this chat", "identity", "unauthenticated")
        if not await self._allowed(request, None if owner is None else owner.id):
            return with_cookie(forbidden(), owner)
        return owner

    def _stream_key(self, owner: Owner | None, chat_id: str) -> str:
        """The chat's name in the stream store: bound to its owner, so that no one
        else's resume or stop can reach it (without an identity, the chat id)."""
        if owner is None:
            return chat_id
        digest = hashlib.sha256(f"{owner.id}\0{chat_id}".encode()).hexdigest()
        return f"c_{digest[:40]}"

    async def resume(self, request: Request) -> Response:
        """``GET {path}/{id}/stream``: the chat's active answer, replayed from its first
        byte and then followed live; 204 when nothing is being generated."""
        chat = await self._chat_named(request, ("GET", "HEAD"))
        if isinstance(chat, Response):
            return chat
        found = await self._active_stream(request, chat)
        if isinstance(found, Response):
            return found
        streams, stream_id = found
        if request.method == "HEAD":
            return Response(status_code=200, headers=UI_MESSAGE_STREAM_HEADERS)
        live = self._live.get(stream_id)  # generated here: no store round trip
        if live is not None:
            frames = live.log.follow(idle=self._options.keep_alive)
            return FollowResponse(frames, name=stream_id, may_break=False, headers=self._headers)
        return FollowResponse(
            streams.follow(stream_id, idle=self._options.keep_alive),
            name=stream_id,
            headers=self._headers,
        )

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
            return problem(422, "limit must be an integer from 1 to 100", "limit", "limit")
        try:
            page = await conversations.store.list_chats(
                owner.id, limit=limit, before=request.query_params.get("before")
            )
        except ValueError:
            return problem(422, "before is not a cursor this list gave", "before", "cursor")
        except ChatStoreError as exc:
            self._store_failed("chat")
            return chat_store_failed(exc)
        body = {"chats": [chat_summary(c) for c in page.chats], "nextCursor": page.next_cursor}
        return with_cookie(JSONResponse(body), owner)

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
            return with_cookie(not_found(), owner)
        key = self._stream_key(owner, chat_id)
        try:
            chat = await conversations.store.get(owner.id, chat_id)
            if chat is None:
                return with_cookie(not_found(), owner)
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
                await self._agent_forgets(owner.id, chat)
                return with_cookie(Response(status_code=204), owner)
        except ChatStoreError as exc:
            self._store_failed("chat")
            return chat_store_failed(exc)
        except StreamStoreError:
            self._store_failed("stream")
            return stream_store_unavailable()
        body = chat_body(chat, in_progress=in_progress, resumable=self._streams is not None)
        return with_cookie(JSONResponse(body), owner)

    async def _agent_forgets(self, owner: str, chat: Chat) -> None:
        """Let the agent drop what it keeps for a deleted chat (paused runs, a session);
        a failure is logged: the chat itself is gone already."""
        if self._forget_chat is None:
            return
        answers = [m.id for m in chat.messages if m.role == "assistant"]
        try:
            forgotten = self._forget_chat(chat.id, owner=owner, message_ids=answers)
            await asyncio.wait_for(forgotten, FORGET_DEADLINE)
        except Exception:
            logger.exception("chat %s: the agent could not forget the deleted chat", chat.id)

    async def _history_caller(
        self, request: Request, methods: tuple[str, ...]
    ) -> tuple[Conversations | None, Owner | Response]:
        if request.method not in methods:
            allow = ", ".join(methods)
            return None, problem(
                405, f"use {allow}, not {request.method}", "method", "method", {"allow": allow}
            )
        if self._conversations is None:
            return None, not_found()
        owner = await self._caller(request)
        if owner is None:
            return None, not_found()
        return self._conversations, owner

    async def _answer_in_progress(self, key: str, chat: Chat) -> str | None:
        """The id of the chat's answer being written now (here, or on the worker the
        stream store names), if any: a running answer that is neither was cut off."""
        last = chat.messages[-1] if chat.messages else None
        if last is None or chat.answers.get(last.id) != "running":
            return None
        running = self._running.get(key)
        if (
            running is not None
            and running.ticket is not None
            and running.ticket.message_id == last.id
        ):
            return last.id
        if self._streams is not None and await self._streams.active_stream(key) is not None:
            return last.id
        return None

    async def stop(self, request: Request) -> Response:
        """``POST {path}/{id}/stop``: stop the chat's active answer wherever it runs; it
        ends with ``abort``. The body ``{"mode": "after_turn"}`` lets the answer finish
        its current turn first (the model call under way and its tools), where the agent
        can (``AgentsAdapter``; others stop at once); ``{}`` or ``{"mode": "immediate"}``
        stops it at once. 202 when the stop is on its way to a running answer (recorded
        in the stream store, so it arrives even if a notification is lost), 204 when
        nothing is running, 503 when the store could not record it.
        An answer is stoppable from the moment its request is read, before the agent has
        begun it.

        With an identity, the request must say its body is JSON (415 otherwise): a page
        on another site can post a form with the user's cookies, never JSON."""
        chat = await self._chat_named(request, ("POST",))  # who and which, before the body
        if isinstance(chat, Response):
            return chat
        body = await read_json_object(
            request,
            what="a stop",
            timeout=self._limits.body_timeout,
            required=self._owners is not None,
        )
        if isinstance(body, ChatRequestError):
            return with_cookie(refused(body), chat.owner)
        mode = body.get("mode", "immediate")
        if mode not in ("immediate", "after_turn"):
            message = f"mode must be 'immediate' or 'after_turn'; got {mode!r}"
            return with_cookie(problem(422, message, "mode", "stop_mode"), chat.owner)
        answer = self._running.get(chat.key)
        if answer is not None and not answer.ctx.is_finished:  # written here
            answer.ctx.stop(mode)
            return with_cookie(Response(status_code=202), chat.owner)
        found = await self._active_stream(request, chat)
        if isinstance(found, Response):
            return found
        streams, stream_id = found
        try:
            stopped = await self._stop_stream(streams, stream_id, mode)
        except StreamStoreError:  # the stop could not be recorded: it may not arrive
            self._store_failed("stream")
            return stream_store_unavailable()
        return with_cookie(Response(status_code=202 if stopped else 204), chat.owner)

    async def steer(self, request: Request) -> Response:
        """``POST {path}/{id}/steer``: a user message for the chat's running answer
        (AI SDK 7 steering), wherever it runs. The body is the message, ``{"id"?: str,
        "parts": [text | file, ...]}``, checked as a chat request's user message is (the
        same limits and URL schemes). The answer hands it to its model at its next step
        and shows it there (a ``steering-message`` part with this id, before the step);
        a message the answer ends before taking is not delivered, and appears nowhere.

        202 ``{"id"}`` when it is on its way to a running answer (recorded in the stream
        store, so it arrives even if a notification is lost); 409 when no answer is
        running, when the endpoint's target is not ``"v7"`` (older clients reject the
        chunk) or its agent takes no steering; 429 when ``MAX_PENDING_STEERING`` already
        wait for its next step; 422/413/415 for a bad body, naming the field; 404 for a
        chat the caller does not have; 503 when the store failed."""
        chat = await self._chat_named(request, ("POST",))  # who and which, before the body
        if isinstance(chat, Response):
            return chat
        if self._options.target != "v7":
            message = (
                f"steering needs target 'v7': this chat streams to AI SDK {self._options.target} "
                "clients, which reject the steering-message chunk"
            )
            return with_cookie(problem(409, message, "target", "steering_target"), chat.owner)
        refusal = steering_refusal(self._agent)
        if refusal is not None:
            return with_cookie(problem(409, refusal, "agent", "steering_unsupported"), chat.owner)
        try:
            message = await read_steering_message(request, limits=self._limits)
        except ChatRequestError as exc:
            return with_cookie(refused(exc), chat.owner)
        except ClientDisconnect:
            return Response(status_code=499)
        try:
            check_steering(message)
        except ProtocolError as exc:  # an event over the client's limit: never sent
            return with_cookie(problem(413, str(exc), "parts", "event_too_large"), chat.owner)
        accepted = JSONResponse({"id": message.id}, status_code=202)
        try:
            sent = await self._send_steering(request, chat, message)
        except SteeringQueueFull as exc:
            refusal = problem(429, str(exc), "id", "steering_queue_full", {"retry-after": "1"})
            return with_cookie(refusal, chat.owner)
        if isinstance(sent, Response):
            return sent
        return with_cookie(accepted if sent else _not_running(), chat.owner)

    async def _send_steering(
        self, request: Request, chat: _NamedChat, message: SteeringMessageUIPart
    ) -> bool | Response:
        """Hand ``message`` to the chat's running answer, here or on its worker: whether
        one took it, or the response refusing it (404, 503)."""
        answer = self._running.get(chat.key)
        if answer is not None and not answer.ctx.is_finished:  # written here
            return answer.ctx.steer(message)
        found = await self._active_stream(request, chat)
        if isinstance(found, Response):
            return False if found.status_code == 204 else found
        streams, stream_id = found
        live = self._live.get(stream_id)
        if live is not None:
            return live.ctx.steer(message)
        try:
            return await streams.request_steer(stream_id, message)
        except StreamStoreError:  # not recorded: it may not arrive
            self._store_failed("stream")
            return stream_store_unavailable()

    async def _chat_named(
        self, request: Request, methods: tuple[str, ...]
    ) -> _NamedChat | Response:
        """The caller and the chat a resume or stop URL names, or the response refusing
        the request (405, 401, 403, 422)."""
        if request.method not in methods:
            allow = methods[0]
            return problem(
                405, f"use {allow}, not {request.method}", "method", "method", {"allow": allow}
            )
        owner = await self._caller(request)
        if isinstance(owner, Response):
            return owner
        chat_id = str(request.path_params.get("id", ""))
        try:
            _chat_id(chat_id)
        except ChatRequestError as exc:
            return with_cookie(refused(exc), owner)
        return _NamedChat(owner, chat_id, self._stream_key(owner, chat_id))

    async def _active_stream(
        self, request: Request, chat: _NamedChat
    ) -> Response | tuple[StreamStore, str]:
        """The store and the chat's active stream, or the response saying there is none:
        204, or 404 when the caller has no such chat (another owner's included). The
        stream key is the owner's own, so it is looked up first: a chat's first answer
        is active before the chat is saved."""
        streams = self._streams
        if streams is not None:
            try:
                stream_id = await streams.active_stream(chat.key)
            except StreamStoreError:
                self._store_failed("stream")
                return stream_store_unavailable()
            if stream_id is not None:
                return streams, stream_id
        if self._conversations is not None and chat.owner is not None:
            try:
                if await self._conversations.store.get(chat.owner.id, chat.id) is None:
                    return with_cookie(not_found(), chat.owner)
            except ChatStoreError as exc:
                self._store_failed("chat")
                return chat_store_failed(exc)
        if streams is None:
            self._say_streams_are_off(request)
        return with_cookie(Response(status_code=204), chat.owner)

    def _say_streams_are_off(self, request: Request) -> None:
        """Log, once, why resume and stop always answer 204 without a store: the answer
        is the protocol's own "nothing to resume" (a 404 would be an error in
        ``useChat``), but the developer who expected resumption must learn why not."""
        if self._told_streams_are_off:
            return
        self._told_streams_are_off = True
        logger.warning(
            "%s %s answered 204: this ChatEndpoint has no stream store, so no answer can be "
            "resumed, or stopped from another worker. Pass streams=MemoryStreamStore() (one "
            "process) or streams=RedisStreamStore(url) (several workers) to make them so. "
            "Logged once.",
            request.method,
            request.url.path,
        )

    async def _allowed(self, request: Request, owner: str | None) -> bool:
        authorize = self._hooks.authorize
        if authorize is None:
            return True
        verdict = authorize(request, owner)
        if inspect.isawaitable(verdict):
            verdict = await verdict
        if not isinstance(verdict, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(
                f"ChatHooks(authorize=...) must return a bool; got {type(verdict).__name__}"
            )
        return verdict

    async def _record(
        self,
        answer: _Answer,
        chat_id: str,
        continued: UIMessage | None,
        probe: TurnProbe | None,
    ) -> RecordedStream | None:
        """Start recording the answer in the store; None without a store or when it
        fails (the answer is then streamed without resumption). The probe counts the
        frames recorded, and the tee copies them: all the turn wrote, once, whether its
        first client stayed or not."""
        ctx = answer.ctx
        if self._streams is None:
            return None
        try:
            rebuild = (
                [] if continued is None else message_chunks(continued, target=self._options.target)
            )
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
                observe=_observer(probe, answer.tee),
            )
        except StreamStoreError:
            self._store_failed("stream")
            logger.exception(
                "chat %s: the stream store failed; this answer is streamed without resumption",
                chat_id,
            )
            return None
        self._live[stream_id] = recorded
        return recorded

    async def _stop_replaced(self, chat_id: str, stream_id: str) -> None:
        """One answer at a time: the one a new answer replaced is stopped (once the new
        one has begun: a refused turn replaces nothing)."""
        assert self._streams is not None
        try:
            await self._stop_stream(self._streams, stream_id)
        except StreamStoreError:
            self._store_failed("stream")
            logger.exception("chat %s: the answer it replaced could not be stopped", chat_id)

    async def _stop_stream(
        self, streams: StreamStore, stream_id: str, mode: StopMode = "immediate"
    ) -> bool:
        """Stop ``stream_id`` here or on its worker; False when nothing generates it any
        more (it ended meanwhile, or its worker died)."""
        live = self._live.get(stream_id)
        if live is not None:
            live.ctx.stop(mode)
            return True
        return await streams.request_stop(stream_id, mode)

    def _finish_hook(self, turn: ChatTurn, answer: _Answer, key: str) -> OnClose:
        """The context's ``on_close``: once the turn has begun (a refused one is
        forgotten), save the answer (with ``conversations``), then call ``on_finish``
        with the turn's result; exceptions of either are logged here, under the name the
        user gave it."""
        on_finish = self._hooks.on_finish

        async def finished(record: StreamRecord, status: StreamStatus) -> None:
            if answer.tee is not None:
                answer.tee.end()  # every frame was copied: the stream is delivered
            if not await answer.started:
                return
            if answer.probe is not None:
                answer.probe.end(status, cancelled=answer.ctx.stopped, error=record.exception)
            try:
                if answer.ticket is not None:
                    assert self._conversations is not None
                    if not await save_answer(self._conversations, answer.ticket, record, status):
                        self._store_failed("chat")
            finally:  # found by the chat's next turn until saved (``_saved_first``)
                self._forget(key, answer)
            if on_finish is None:
                return
            result = ChatResult(turn.chat_id, _updated(turn, record), record, status, turn)
            try:
                if is_async_callable(on_finish):
                    await cast("Awaitable[object]", on_finish(result))
                else:  # in a thread: a slow save must not stall every other stream
                    await asyncio.to_thread(on_finish, result)
            except Exception:
                logger.exception("on_finish of chat %s raised", turn.chat_id)

        return finished


def _not_running() -> Response:
    return problem(
        409,
        "no answer is running in this chat: send the message as a new chat message",
        "id",
        "no_running_answer",
    )


def _check_path(path: str) -> None:
    if not isinstance(path, str) or not path.startswith("/") or path.endswith("/"):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise ValueError(f"path must start with '/' and not end with one; got {path!r}")


def _turn(
    chat: ChatRequest, request: Request, owner: Owner | None, new_message_id: Callable[[], str]
) -> ChatTurn:
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
        message_id=new_message_id(),
        continued=None,
        request=request,
        owner=None if owner is None else owner.id,
    )


_MOVED: Final = {
    "on_finish": "hooks=ChatHooks(on_finish=...)",
    "on_error": "hooks=ChatHooks(on_error=...)",
    "authorize": "hooks=ChatHooks(authorize=...)",
    "target": "response=ResponseOptions(target=...)",
    "keep_alive": "response=ResponseOptions(keep_alive=...)",
    "timeout": "response=ResponseOptions(timeout=...)",
    "on_disconnect": "response=ResponseOptions(on_disconnect=...)",
    "url_schemes": "limits=RequestLimits(url_schemes=...)",
}
"""Keywords ``ChatEndpoint`` took before they were grouped, and where each went."""


def _refuse_moved(moved: Mapping[str, object]) -> None:
    """A keyword ``ChatEndpoint`` no longer takes: say where it went."""
    for name in moved:
        where = _MOVED.get(name)
        if where is not None:
            raise TypeError(f"ChatEndpoint({name}=...) has moved: pass {where}")
        raise TypeError(f"ChatEndpoint() got an unexpected keyword argument {name!r}")


def _observer(probe: TurnProbe | None, tee: Tee | None) -> Callable[[bytes], object] | None:
    """What is told of each recorded frame: the turn's telemetry, its tee, both or
    nothing."""
    if probe is None or tee is None:
        return tee.feed if tee is not None else None if probe is None else probe.delivered

    def both(frame: bytes) -> None:
        probe.delivered(frame)
        tee.feed(frame)

    return both


def _told_first(tell: Callable[[], None], then: Callable[[], None] | None) -> Callable[[], None]:
    """``tell()``, then ``then()`` if there is one: a disconnect the telemetry hears of
    before the answer is cancelled."""

    def both() -> None:
        tell()
        if then is not None:
            then()

    return both


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


@dataclasses.dataclass(eq=False, slots=True)
class _Answer:
    """An answer this endpoint writes, from before the agent begins its turn to its
    save."""

    started: asyncio.Future[bool]
    """True once the turn began (with conversations: saved as started), False if it was
    refused."""
    ticket: TurnTicket | None = None
    """The saved turn, with conversations."""
    probe: TurnProbe | None = None
    """The turn's telemetry, when the endpoint has some."""
    tee: Tee | None = None
    """The copy of its stream for ``ResponseOptions(tee=...)``."""
    settled: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    """Set once the answer is saved (or was refused): the endpoint forgets it then."""
    ctx: StreamContext[Any] = dataclasses.field(init=False)


class _NamedChat(NamedTuple):
    """The chat a resume, stop or history URL names, with who asks."""

    owner: Owner | None
    id: str
    key: str
    """Its name in the stream store and the running answers."""
