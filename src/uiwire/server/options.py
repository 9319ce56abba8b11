"""``ChatHooks`` and ``ResponseOptions``: what ``ChatEndpoint`` calls around a request
and a turn, and what its answers are and how they live, grouped so that each of the
endpoint's arguments is one subsystem.

They hold the AI SDK's server options, the Python way: ``onFinish`` / ``onError``, a
turn-start hook and the per-request ``authorize`` check (``ChatHooks``);
``messageMetadata``, ``generateMessageId``, ``headers``, ``consumeSseStream``, the
protocol target, keep-alive comments, a deadline and what a client's departure does
(``ResponseOptions``). Both are checked when made, so a mistake stops the app at
start-up with the option named.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, cast

from starlette.requests import Request

from uiwire.protocol.encode import UI_MESSAGE_STREAM_HEADERS
from uiwire.protocol.targets import DEFAULT_TARGET, Target, as_target
from uiwire.server.response import DEFAULT_KEEP_ALIVE, check_keep_alive
from uiwire.stream.context import OnDisconnect, OnError
from uiwire.stream.turn import ChatTurn

if TYPE_CHECKING:
    from uiwire.server.chat import OnChatFinish

__all__ = [
    "Authorize",
    "ChatHooks",
    "MessageIdFactory",
    "OnTurnStart",
    "PartMetadata",
    "ResponseOptions",
    "StreamTee",
    "TurnMetadata",
]

Authorize = Callable[[Request, "str | None"], "Awaitable[bool] | bool"]
"""``authorize(request, owner)``: may this caller use this route at all? ``owner`` is the
caller's owner id (None without an identity); a resume, stop, steer or history route
names its chat in ``request.path_params["id"]``. It runs before the body is read; False
answers 403. Which chats a caller may touch is not its job: with an identity, only their
own."""

OnTurnStart = Callable[[ChatTurn], "Awaitable[object] | object"]
"""``on_start(turn)``: a turn is about to begin (its request read and checked, before the
agent's ``begin_turn``). Raise ``ChatRequestError`` to refuse it (a JSON error with its
status; nothing is saved or streamed); any other exception is a 500."""

TurnMetadata = Callable[
    [ChatTurn], "Mapping[str, Any] | Awaitable[Mapping[str, Any] | None] | None"
]
"""``metadata(turn)``: message metadata for the turn's answer (a JSON object), or None."""

PartMetadata = Callable[[Mapping[str, Any]], "Mapping[str, Any] | None"]
"""``metadata(chunk)``: message metadata to send after ``chunk`` (a UI message chunk,
read-only), or None; called for every chunk but the stream's end chunk."""

MessageIdFactory = Callable[[], str]
"""``new_id()``: the id of a new assistant message (a continuation keeps its own)."""

StreamTee = Callable[[ChatTurn, AsyncIterator[bytes]], Awaitable[object]]
"""``async def tee(turn, frames)``: a copy of the turn's SSE stream, frame by frame."""

PROTOCOL_HEADERS: Final = frozenset(
    {*UI_MESSAGE_STREAM_HEADERS, "content-length", "transfer-encoding", "content-encoding"}
)
"""Headers the stream's own framing needs: ``ResponseOptions(headers=...)`` cannot set
them (the client would reject the stream, or a proxy would buffer or mangle it)."""

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ChatHooks:
    """What ``ChatEndpoint`` calls around each request and turn: ``ChatEndpoint(agent,
    hooks=ChatHooks(authorize=..., on_start=..., on_finish=..., on_error=...))``.

    Arguments:
        authorize: ``authorize(request, owner)`` for every request to every route (the
            chat, resume, stop, steer, history, the WebSocket's), before the body is read: a
            plan's limits, a banned user, a rate limit. False answers 403. An ``async
            def`` is awaited; a plain function is called on the loop, so it must be
            quick.
        on_start: ``on_start(turn)`` as a turn begins (before the agent's
            ``begin_turn``): log it, count it, or refuse it by raising
            ``ChatRequestError``. An ``async def`` is awaited; a plain function runs in
            a worker thread.
        on_finish: ``on_finish(result)`` once per streamed turn, after the last byte,
            with a ``ChatResult`` (sync functions run in a thread). Its exceptions are
            logged.
        on_error: ``on_error(exc)``: the text the client sees for an exception (None:
            the generic message); the exception is logged either way. It is also told of
            a failing ``ResponseOptions(tee=...)`` (its text is not used there).
    """

    authorize: Authorize | None = None
    on_start: OnTurnStart | None = None
    on_finish: OnChatFinish | None = None
    on_error: OnError | None = None

    def __post_init__(self) -> None:
        for name in ("authorize", "on_start", "on_finish", "on_error"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise TypeError(
                    f"ChatHooks({name}=...) must be callable; got {type(value).__name__}"
                )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ResponseOptions:
    """What each of ``ChatEndpoint``'s answers is and how it lives: ``ChatEndpoint(agent,
    response=ResponseOptions(...))``.

    Arguments:
        target: the AI SDK major the client runs (``"v5"``, ``"v6"`` or ``"v7"``;
            ``"v6"`` by default): which chunks and fields the answers may hold.
        keep_alive: idle seconds between SSE keep-alive comments (None: never), so that
            proxies keep an answer's connection open while the model thinks.
        timeout: seconds a turn may run (None: no limit). Past it the work is cancelled,
            the client gets the masked error and ``[DONE]``, and ``on_finish`` gets
            status ``error``: a hung tool or a stalled provider cannot hold a stream
            (and its memory) open forever.
        on_disconnect: when the client of an answer leaves, ``"cancel"`` the generation
            or ``"continue"`` it (to be resumed, and saved whole by ``on_finish``).
            Default (None): ``"continue"`` when the endpoint has ``streams``,
            ``"cancel"`` without.
        start_metadata: ``start_metadata(turn)``: message metadata sent on the answer's
            ``start`` chunk (``createdAt``, ``model``); sync or ``async def``.
        finish_metadata: ``finish_metadata(turn)``: message metadata sent on its
            ``finish`` chunk, when the answer ends well (not on an error or a stop).
        part_metadata: ``part_metadata(chunk)``: called for every chunk of the answer
            (deltas included) but its end chunk, under the stream's lock, so it must
            be quick and plain (no I/O, no ``async``); what it returns is sent as a
            ``message-metadata`` chunk after that chunk. Its exceptions are logged and
            end the per-part metadata of that answer, not the answer. Costs nothing when
            unset; when set, every text delta takes the locked way.
        message_id: ``message_id()``: the id of each new assistant message (default
            ``msg_`` and 96 random bits); it must be unique in its chat.
        headers: extra headers on the streaming responses (the chat POST and the resume
            GET). The stream's own (``content-type``, ``x-vercel-ai-ui-message-stream``,
            ``cache-control``, ``connection``, ``x-accel-buffering``, and the body's
            framing) cannot be set here. Not sent over the WebSocket transport, which
            has no per-answer headers.
        tee: ``async def tee(turn, frames)``: a copy of each answer's SSE stream (bytes,
            one frame per item, ``data: [DONE]`` last when it ended; keep-alive comments
            left out), to log or keep it. It runs in its own task and never holds the
            client up: frames wait for it in a buffer of ``TEE_MAX_BUFFERED_BYTES``;
            past that its copy is cut (the iteration raises ``StreamInterrupted``).
            Its exceptions are logged and given to ``ChatHooks(on_error=...)``. With a
            stream store it sees the answer's frames once, however many clients read
            them.

    Metadata from all three reaches the client's ``message.metadata`` (merged, as the
    client merges it) and the saved conversation, and is replayed on resume.
    """

    target: Target = DEFAULT_TARGET
    keep_alive: float | None = DEFAULT_KEEP_ALIVE
    timeout: float | None = None
    on_disconnect: OnDisconnect | None = None
    start_metadata: TurnMetadata | None = None
    finish_metadata: TurnMetadata | None = None
    part_metadata: PartMetadata | None = None
    message_id: MessageIdFactory | None = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict[str, str])
    tee: StreamTee | None = None

    def __post_init__(self) -> None:
        for name in ("start_metadata", "finish_metadata", "part_metadata", "message_id", "tee"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise TypeError(
                    f"ResponseOptions({name}=...) must be callable; got {type(value).__name__}"
                )
        try:
            target = as_target(self.target)
        except ValueError as exc:
            raise ValueError(f"ResponseOptions(target=...): {exc}") from None
        object.__setattr__(self, "target", target)
        try:
            check_keep_alive(self.keep_alive)
        except ValueError:
            raise ValueError(
                "ResponseOptions(keep_alive=...) must be positive seconds or None; got "
                f"{self.keep_alive!r}"
            ) from None
        timeout = self.timeout
        if timeout is not None and (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))  # pyright: ignore[reportUnnecessaryIsInstance]
            or not timeout > 0
        ):
            raise ValueError(
                "ResponseOptions(timeout=...) must be a positive number of seconds or None; "
                f"got {timeout!r}"
            )
        if self.on_disconnect not in (None, "cancel", "continue"):
            raise ValueError(
                "ResponseOptions(on_disconnect=...) must be 'cancel', 'continue' or None; "
                f"got {self.on_disconnect!r}"
            )
        object.__setattr__(self, "headers", _checked_headers(self.headers))


def _checked_headers(headers: object) -> Mapping[str, str]:
    if not isinstance(headers, Mapping):
        raise TypeError(
            f"ResponseOptions(headers=...) must be a mapping of names to values; got "
            f"{type(headers).__name__}"
        )
    checked: dict[str, str] = {}
    for name, value in cast("Mapping[object, object]", headers).items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise ValueError(f"ResponseOptions(headers=...): {name!r} is not a header name")
        if not isinstance(value, str) or not _VALUE.fullmatch(value):
            raise ValueError(
                f"ResponseOptions(headers=...): the value of {name!r} must be a string "
                f"without line breaks; got {value!r}"
            )
        key = name.lower()
        if key in PROTOCOL_HEADERS:
            raise ValueError(
                f"ResponseOptions(headers=...) cannot set {name!r}: the UI message stream "
                "sets it, and the client or a proxy would break the stream without its value"
            )
        if key in checked:
            raise ValueError(f"ResponseOptions(headers=...) names {name!r} twice")
        checked[key] = value
    return MappingProxyType(checked)


def check_message_id(value: object) -> str:
    """A message id the factory made, or TypeError saying what it made instead."""
    if not isinstance(value, str) or not value or len(value) > 256:
        raise TypeError(
            "ResponseOptions(message_id=...) must return a non-empty string of at most 256 "
            f"characters; it returned {value!r}"
        )
    return value
