"""``ChatHooks`` and ``ResponseOptions``: what ``ChatEndpoint`` calls around a turn and
what it adds to the answer, grouped so the endpoint keeps a short argument list.

They are the AI SDK's server options, the Python way: ``onFinish`` / ``onError`` and a
turn-start hook (``ChatHooks``); ``messageMetadata``, ``generateMessageId``,
``headers`` and ``consumeSseStream`` (``ResponseOptions``). Both are checked when made,
so a mistake stops the app at start-up with the option named.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, cast

from uiwire.protocol.encode import UI_MESSAGE_STREAM_HEADERS
from uiwire.stream.context import OnError
from uiwire.stream.turn import ChatTurn

if TYPE_CHECKING:
    from uiwire.server.chat import OnChatFinish

__all__ = [
    "ChatHooks",
    "MessageIdFactory",
    "OnTurnStart",
    "PartMetadata",
    "ResponseOptions",
    "StreamTee",
    "TurnMetadata",
]

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
    """What ``ChatEndpoint`` calls around each turn: ``ChatEndpoint(agent,
    hooks=ChatHooks(on_start=..., on_finish=..., on_error=...))``.

    Arguments:
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

    on_start: OnTurnStart | None = None
    on_finish: OnChatFinish | None = None
    on_error: OnError | None = None

    def __post_init__(self) -> None:
        for name in ("on_start", "on_finish", "on_error"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise TypeError(
                    f"ChatHooks({name}=...) must be callable; got {type(value).__name__}"
                )


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class ResponseOptions:
    """What ``ChatEndpoint`` adds to each answer: ``ChatEndpoint(agent,
    response=ResponseOptions(...))``.

    Arguments:
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
