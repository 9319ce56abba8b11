"""Reading a ``useChat`` body off the wire: content type, limits, then the models.

The byte limit is enforced while reading: a declared ``content-length`` over it is
refused before a byte is read, and an undeclared (chunked) body stops being read at
the limit, so an oversized upload costs at most ``max_body_bytes`` of memory.

Bytes alone do not bound the cost of a body: 8 MiB of tiny messages is over a million
JSON values, which takes seconds to decode and validate and some 150 MiB to hold, and
decoding (orjson) and validation (pydantic) hold the GIL, so a worker thread alone would
still stall the loop. So the JSON values are counted first, by a scan that stops at the
limit (``_json_scan``, which also sets long strings aside, so that no single decoder
call holds the GIL long); only a body within it is decoded, its messages and parts
counted, and validated.
Bodies over ``OFF_LOOP_BYTES`` go through all of this in a worker thread, where the
scan and the checks between the (now bounded) decode and validation let the loop run.
One thread per process, so big bodies are parsed one at a time: two threads contending
for the GIL with the loop made its worst stall several times longer (measured), and one
at a time also bounds the memory parsing takes.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final, TypeVar, cast

import orjson
from starlette.requests import Request

from uiwire._errors import ChatRequestError, FieldError
from uiwire.protocol.chat_request import (
    ChatRequest,
    decode_chat_body,
    parse_steering_message,
    validate_chat_body,
)
from uiwire.protocol.ui_message import (
    DEFAULT_URL_SCHEMES,
    SteeringMessageUIPart,
    allowed_url_schemes,
)
from uiwire.server._json_scan import TooManyValues, scan_json

_Parsed = TypeVar("_Parsed")

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_BODY_BYTES",
    "OFF_LOOP_BYTES",
    "SOCKET_FRAME_KEY",
    "RequestLimits",
    "decode_json",
    "read_chat_request",
    "read_json_object",
    "read_steering_message",
    "require_json",
]

DEFAULT_MAX_BODY_BYTES: Final = 8 * 1024 * 1024
"""8 MiB: a long conversation with a few images as ``data:`` URLs."""

OFF_LOOP_BYTES: Final = 64 * 1024
"""Bodies larger than this are parsed in a worker thread; smaller ones cost the loop
well under a millisecond per KiB."""


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class RequestLimits:
    """What one chat request may carry: ``ChatEndpoint(agent, limits=RequestLimits(...))``.
    Over a size limit is a 413 naming the field; a file URL of another scheme is a 422.

    The defaults take a long conversation with a few photos (as ``data:`` URLs) in the
    default body, and refuse the bodies that would cost the server seconds and hundreds
    of MiB while staying under the byte limit (8 MiB of tiny messages or parts). With the
    last-message body only one message travels, far inside all of them. They hold for
    every way a message comes in: the chat POST and the WebSocket's ``send`` frames.
    """

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    """Bytes of body; larger ones are not read past the limit."""
    max_messages: int = 1_000
    """Messages in ``messages``."""
    max_parts: int = 10_000
    """Parts in all the messages together."""
    max_json_values: int = 100_000
    """JSON values in the body (objects, arrays, strings, numbers, ``true`` / ``false``
    / ``null``; an object's keys count too): what decoding and validation cost scales
    with. Counted before the body is decoded."""

    body_timeout: float = 30.0
    """Seconds the whole body may take to arrive; a slower one is a 408 (a client
    sending a byte a second must not hold a connection and a task for ever)."""

    url_schemes: Collection[str] = DEFAULT_URL_SCHEMES
    """The URL schemes file parts may use (``data`` and ``https`` by default, any case);
    others are a 422. The server never fetches them; the model provider may. Kept
    lower-cased, as a frozenset."""

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "url_schemes":
                schemes = allowed_url_schemes(value, option="RequestLimits(url_schemes=...)")
                object.__setattr__(self, "url_schemes", schemes)
            elif field.name == "body_timeout":
                if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                    raise ValueError(
                        f"RequestLimits(body_timeout=...) must be positive seconds; got {value!r}"
                    )
            elif type(value) is not int or value < 1:
                raise ValueError(
                    f"RequestLimits({field.name}=...) must be a positive int; got {value!r}"
                )


def _count_messages_and_parts(decoded: Any, limits: RequestLimits) -> None:
    """413 when the (decoded, not yet validated) body has too many messages or parts;
    anything malformed is left for validation to name."""
    if not isinstance(decoded, dict):
        return
    body = cast("dict[str, Any]", decoded)
    messages: Any = body.get("messages")
    if isinstance(messages, list):
        sent = cast("list[Any]", messages)
        if len(sent) > limits.max_messages:
            raise _too_much(
                "messages",
                f"over {limits.max_messages:,} messages: send only the last one (message)",
                "too_many_messages",
            )
        field = "messages[{}].parts"
    else:
        sent = [body.get("message")]
        field = "message.parts"
    parts = 0
    for index, message in enumerate(sent):
        if isinstance(message, dict):
            message_parts: Any = cast("dict[str, Any]", message).get("parts")
            if isinstance(message_parts, list):
                parts += len(cast("list[Any]", message_parts))
                if parts > limits.max_parts:
                    raise _too_much(
                        field.format(index),
                        f"over {limits.max_parts:,} parts in the body",
                        "too_many_parts",
                    )


def _decoded(body: bytes, limits: RequestLimits) -> Any:
    """``body`` decoded as the protocol reads it, at most ``limits.max_json_values``
    values (long strings set aside while they are counted)."""
    try:
        scanned = scan_json(body, limits.max_json_values)
    except TooManyValues as exc:
        raise _too_much("body", str(exc), "too_many_values") from None
    return scanned.restore(decode_chat_body(scanned.skeleton))


def _parse(body: bytes, limits: RequestLimits, socket_frame: bool = False) -> ChatRequest:
    decoded = _decoded(body, limits)
    if socket_frame:
        decoded = _as_posted_body(decoded)
    _count_messages_and_parts(decoded, limits)
    return validate_chat_body(decoded, url_schemes=limits.url_schemes)


SOCKET_FRAME_KEY: Final = "uiwire.socket_frame"
"""Set (True) in the scope of a request whose body is a ``WebSocketChatTransport``
``send`` frame, not a POST body (``server/websocket.py``)."""

_FRAME_ONLY_KEYS: Final = ("type", "requestId", "headers", "body", "metadata")


def _as_posted_body(frame: Any) -> Any:
    """A ``send`` frame as the POST body ``DefaultChatTransport`` would send for it: the
    frame's ``body`` object spread at the top, under the chat's own fields (which win,
    as in the transport), without the frame's envelope."""
    if not isinstance(frame, dict):
        return frame
    fields = cast("dict[str, Any]", frame)
    extra = fields.get("body", {})
    if not isinstance(extra, dict):
        raise ChatRequestError([FieldError("body", "Input should be an object", "dict_type")])
    chat = {k: v for k, v in fields.items() if k not in _FRAME_ONLY_KEYS}
    return {**cast("dict[str, Any]", extra), **chat}


DEFAULT_LIMITS: Final = RequestLimits()

_PARSER: Final = ThreadPoolExecutor(max_workers=1, thread_name_prefix="uiwire-body")
"""The thread big bodies are parsed in (started on first use)."""


async def decode_json(data: bytes, max_values: int) -> Any:
    """``data`` decoded as a body is (``_json_scan``: at most ``max_values`` values, long
    strings set aside), in the body thread when it is over ``OFF_LOOP_BYTES``; raises
    ``TooManyValues``, or ``ValueError`` for what is not JSON."""

    def decode() -> Any:
        scanned = scan_json(data, max_values)
        return scanned.restore(orjson.loads(scanned.skeleton))

    return await _parsed(data, decode)


async def read_chat_request(
    request: Request, *, limits: RequestLimits = DEFAULT_LIMITS
) -> ChatRequest:
    """The parsed body, within ``limits`` (its sizes and its file URL schemes);
    ``ChatRequestError`` with status 415, 413 or 422 otherwise.

    Nothing is read before this is called: checks that need no body (who asks, may
    they) run first and cost no parse.
    """
    body = await _read_json_body(request, limits, what="the chat")
    socket_frame = bool(request.scope.get(SOCKET_FRAME_KEY))
    return await _parsed(body, _parse, body, limits, socket_frame)


def _parse_steering(body: bytes, limits: RequestLimits) -> SteeringMessageUIPart:
    decoded = _decoded(body, limits)
    if not isinstance(decoded, dict):
        return parse_steering_message(body, url_schemes=limits.url_schemes)  # names what is wrong
    fields = cast("dict[str, Any]", decoded)
    parts: Any = fields.get("parts")
    if isinstance(parts, list) and len(cast("list[Any]", parts)) > limits.max_parts:
        raise _too_much("parts", f"over {limits.max_parts} parts", "too_many_parts")
    return parse_steering_message(fields, url_schemes=limits.url_schemes)


async def read_steering_message(
    request: Request, *, limits: RequestLimits = DEFAULT_LIMITS
) -> SteeringMessageUIPart:
    """A steering body (``{id?, parts}``) read as a chat body is (JSON only, the same
    byte, value and part limits, file URLs by ``limits.url_schemes``);
    ``ChatRequestError`` with status 415, 413, 408 or 422 otherwise."""
    body = await _read_json_body(request, limits, what="a steering message")
    return await _parsed(body, _parse_steering, body, limits)


async def _read_json_body(request: Request, limits: RequestLimits, *, what: str) -> bytes:
    """The body of a JSON request for ``what``, within ``limits``' size and time (a
    declared length over the limit is refused before anything is read)."""
    refused = require_json(request, what=what)
    if refused is not None:
        raise refused
    max_bytes = limits.max_body_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    return await read_body(request, max_bytes, limits.body_timeout, too_large=_too_large)


async def _parsed(body: bytes, parse: Callable[..., _Parsed], *args: Any) -> _Parsed:
    """``parse(*args)`` for ``body``: on the loop when it is small, in the parser's
    thread when it is big (a big JSON parse must not stall every other stream)."""
    if len(body) <= OFF_LOOP_BYTES:
        return parse(*args)
    return await asyncio.get_running_loop().run_in_executor(_PARSER, parse, *args)


async def read_body(
    request: Request,
    max_bytes: int,
    timeout: float,
    *,
    too_large: Callable[[int], ChatRequestError],
) -> bytes:
    """The whole body, read within ``timeout`` seconds (408 otherwise) and never past
    ``max_bytes`` (``too_large(max_bytes)`` otherwise)."""

    async def read() -> bytes:
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            chunks.append(chunk)
            size += len(chunk)
            if size > max_bytes:
                raise too_large(max_bytes)
        return b"".join(chunks)  # one copy: a growing buffer would copy 8 MiB dozens of times

    try:
        return await asyncio.wait_for(read(), timeout)
    except asyncio.TimeoutError:
        message = f"the body did not arrive within {timeout:g} s"
        raise ChatRequestError(
            [FieldError("body", message, "body_timeout")], status_code=408
        ) from None


def _too_much(field: str, message: str, kind: str) -> ChatRequestError:
    return ChatRequestError([FieldError(field, message, kind)], status_code=413)


def require_json(request: Request, *, what: str = "the request") -> ChatRequestError | None:
    """None when the request says its body is JSON (``application/json`` or
    ``application/*+json``); otherwise the 415 to answer. A page on another site can
    post a form (or ``text/plain``) to any URL without asking, never JSON: a route that
    changes something and demands JSON cannot be triggered from another site."""
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        return None
    return ChatRequestError(
        [
            FieldError(
                "content-type",
                f"send {what} as application/json, not {content_type or 'nothing'!r}",
                "content_type",
            )
        ],
        status_code=415,
    )


SMALL_BODY_BYTES: Final = 1024
"""The most a request whose body says nothing (``{}``) may send."""


async def read_json_object(
    request: Request, *, what: str, timeout: float, required: bool = True
) -> dict[str, Any] | ChatRequestError:
    """The small JSON object (``{}``, ``{"mode": ...}``) of the body, or the
    415/413/422 to answer (408 if it takes over ``timeout`` seconds): a page on another
    site cannot send one with the user's cookies. Not ``required``: a body that does not
    say it is JSON is read as ``{}``."""
    refused = require_json(request, what=what)
    if refused is not None:
        return refused if required else {}

    def too_large(_: int) -> ChatRequestError:
        return ChatRequestError(
            [FieldError("body", f"send {what} as a small JSON object", "body_too_large")],
            status_code=413,
        )

    try:
        body = await read_body(request, SMALL_BODY_BYTES, timeout, too_large=too_large)
    except ChatRequestError as exc:
        return exc
    try:
        value: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        return ChatRequestError([FieldError("body", f"send {what} as {{}}", "json_object")])
    return cast("dict[str, Any]", value)


def _too_large(max_bytes: int) -> ChatRequestError:
    return _too_much("body", f"the body is over the {max_bytes}-byte limit", "body_too_large")
