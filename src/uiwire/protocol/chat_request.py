"""The JSON body ``useChat`` POSTs, and ``parse_chat_request`` to read it.

Two bodies are taken: the default one (``{id, messages, trigger, messageId}``: the whole
conversation) and the last-message one (``{id, message, ...}``: what the AI SDK's
persistence docs and the Vercel chatbot template send with
``prepareSendMessagesRequest``). Either way ``ChatRequest.messages`` is a list, and
``ChatRequest.form`` says which came.

The body is decoded (orjson; the standard library only for lone surrogates), checked for
what a server should not take from a browser (``__proto__`` / ``constructor.prototype``
keys, which pollute a JavaScript client that gets the messages back, and nesting deeper
than pydantic and orjson can handle), then validated as a ``ChatRequest`` whose messages
are ``UIMessage`` models (``uiwire.protocol.ui_message``) under the allowed URL schemes.
Every problem becomes a ``FieldError`` naming the field as a JavaScript developer writes
it (``messages[0].parts[2].url``), collected in one ``ChatRequestError``.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Collection, Iterable, Mapping
from typing import Annotated, Any, Final, Literal, NoReturn, TypeVar, cast

import orjson
from pydantic import Field, PrivateAttr, ValidationError
from pydantic_core import ErrorDetails

from uiwire._errors import ChatRequestError, FieldError
from uiwire._ids import new_id
from uiwire.protocol.ui_message import (
    DEFAULT_URL_SCHEMES,
    URL_SCHEMES_KEY,
    SteeringFileUIPart,
    SteeringMessageUIPart,
    SteeringPart,
    SteeringTextUIPart,
    UIMessage,
    UIModel,
    allowed_url_schemes,
    readable_path,
)

__all__ = [
    "ChatForm",
    "ChatRequest",
    "LastMessageRequest",
    "decode_chat_body",
    "parse_chat_request",
    "parse_steering_message",
    "validate_chat_body",
]

ChatForm = Literal["messages", "message"]
"""Which body came: ``"messages"`` (the default body, the whole conversation) or
``"message"`` (the last-message body, only the new or continued message)."""

Trigger = Literal["submit-message", "regenerate-message"]


class ChatRequest(UIModel):
    """A ``useChat`` POST: the body ``DefaultChatTransport`` sends, or the last-message
    body (``messages`` is then that one message, ``form`` is ``"message"``). Any other
    top-level keys (the transport's ``body`` option) are kept and read back with
    ``body``."""

    id: Annotated[str, Field(min_length=1)]
    """The chat id."""
    messages: Annotated[list[UIMessage], Field(min_length=1, fail_fast=True)]
    """The whole conversation, the new user message included; with the last-message
    body, only the message that came (``[message]``)."""
    trigger: Trigger
    message_id: str | None = None
    """The edited user message, the message to regenerate, or the assistant message a
    tool result or approval continues; None otherwise."""
    _form: ChatForm = PrivateAttr(default="messages")

    @property
    def body(self) -> dict[str, Any]:
        """The extra top-level fields, e.g. ``{"model": "gpt-5"}``."""
        return dict(self.model_extra or {})

    @property
    def form(self) -> ChatForm:
        """Which body came: ``"messages"`` (the client sent its whole copy of the
        conversation) or ``"message"`` (only the last message: the server holds the
        rest). Not a body field: a client cannot set it except by the body it sends."""
        return self._form

    @classmethod
    def _of_last_message(cls, sent: LastMessageRequest) -> ChatRequest:
        """The request a validated last-message body stands for (not validated again)."""
        fields_set = {"id", "messages", "trigger"} | (sent.model_fields_set & {"message_id"})
        request = cls.model_construct(
            fields_set,
            id=sent.id,
            messages=[sent.message],
            trigger=sent.trigger,
            message_id=sent.message_id,
            **(sent.model_extra or {}),
        )
        request._form = "message"
        return request


class LastMessageRequest(UIModel):
    """The last-message body: ``{id, message, ...}``, as ``prepareSendMessagesRequest``
    builds it in the AI SDK's persistence docs and the Vercel chatbot template. Only
    validated here: ``parse_chat_request`` returns it as a ``ChatRequest``."""

    id: Annotated[str, Field(min_length=1)]
    """The chat id."""
    message: UIMessage
    """The new user message, or the assistant message a continuation answers."""
    trigger: Trigger = "submit-message"
    message_id: str | None = None


_MAX_REPORTED_ERRORS: Final = 50
"""Lists stop at their first bad element, as the SDK's do; this bounds what is left (a
map with thousands of bad values) so a hostile body cannot grow the 422 response."""

_OBJECT_EXPECTED: Final = frozenset({"model_type", "model_attributes_type", "dict_type"})


def _field_error(error: ErrorDetails) -> FieldError:
    path = readable_path(error["loc"])
    kind = error["type"]
    message = error["msg"]
    if kind == "missing" and path == "messages":
        message = _NEITHER_FORM
    elif kind == "part_type":
        if isinstance(error["input"], dict):
            path += ".type"
        else:
            kind, message = "model_type", "Input should be an object"
    elif kind in _OBJECT_EXPECTED:
        message = "Input should be an object"
    return FieldError(path, message, kind)


# --- parsing ------------------------------------------------------------------------


def _decode(data: bytes | str) -> Any:
    """orjson; or, for a body with an escaped lone surrogate (text cut inside an emoji),
    which ``JSON.parse`` takes and orjson refuses, the standard library."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "surrogate" not in str(exc):
            raise
    text = data.decode() if isinstance(data, bytes) else data
    return json.loads(text, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not JSON")


_MAX_DEPTH: Final = 128
"""Objects and arrays nested deeper than this are refused. Chat data never comes close,
and pydantic (validation, serialization) and orjson (encoding) give up near 255 levels,
so a deeper body would fail later, in the middle of a turn."""


def _unsafe_json(value: Any) -> FieldError | None:
    """The first prototype-polluting key or too-deep nesting in ``value``, or None.

    The keys are those the AI SDK client's secure JSON parser refuses: ``__proto__``,
    and ``prototype`` inside ``constructor``. Iterative, so depth costs no stack.
    """
    pending: list[tuple[Any, str, int]] = [(value, "", 0)]
    while pending:
        node, path, depth = pending.pop()
        if isinstance(node, dict):
            obj = cast("dict[Any, Any]", node)
            if depth >= _MAX_DEPTH:
                return FieldError(
                    path or "body", f"nested over {_MAX_DEPTH} levels deep", "json_too_deep"
                )
            ctor = obj.get("constructor")
            if "__proto__" in obj or (isinstance(ctor, dict) and "prototype" in ctor):
                key = "__proto__" if "__proto__" in obj else "constructor.prototype"
                return FieldError(
                    f"{path}.{key}" if path else key,
                    "this key is not allowed: it pollutes the prototype of JavaScript objects",
                    "proto_key",
                )
            pending.extend(
                (item, f"{path}.{key}" if path else str(key), depth + 1)
                for key, item in reversed(obj.items())
            )
        elif isinstance(node, list):
            items = cast("list[Any]", node)
            if depth >= _MAX_DEPTH:
                return FieldError(
                    path or "body", f"nested over {_MAX_DEPTH} levels deep", "json_too_deep"
                )
            pending.extend(
                (items[i], f"{path}[{i}]", depth + 1) for i in reversed(range(len(items)))
            )
    return None


def parse_chat_request(
    data: bytes | str | Mapping[str, Any],
    *,
    url_schemes: Collection[str] = DEFAULT_URL_SCHEMES,
) -> ChatRequest:
    """Read and check a ``useChat`` POST body: the default body (``messages``) or the
    last-message body (``message``; ``trigger`` then defaults to ``submit-message``).

    ``data`` is the raw body, or a mapping already decoded from JSON. ``url_schemes`` are
    the schemes a ``file`` (and v7 ``reasoning-file`` / steering file) URL may use,
    compared case-insensitively; the default takes uploads (``data:``) and ``https:``
    links, and an empty collection refuses every file.

    Raises ``ChatRequestError`` (status 422) naming each bad field: invalid JSON
    (``body``), a schema violation, both or neither of ``messages`` and ``message``, a
    refused URL scheme, JSON nested over 128 levels, or a ``__proto__`` (or
    ``constructor.prototype``) key anywhere, which would pollute the prototype of a
    JavaScript client that gets these messages back. Raises ``TypeError`` /
    ``ValueError`` for bad arguments.
    """
    allowed = allowed_url_schemes(url_schemes)
    decoded = _decoded(data)
    return validate_chat_body(decoded, url_schemes=allowed)


def _decoded(data: bytes | str | Mapping[str, Any]) -> Any:
    """A body given as JSON text (decoded as the protocol reads it) or as a mapping
    (checked as such JSON would be)."""
    if isinstance(data, (bytes, str)):
        return decode_chat_body(data)
    if isinstance(data, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
        decoded = dict(data)
        _check_json(decoded)
        return decoded
    raise TypeError(f"data must be bytes, str or a mapping, not {type(data).__name__}")


def decode_chat_body(data: bytes | str) -> Any:
    """The JSON value of a raw body, checked for what no chat body may hold (keys that
    pollute JavaScript prototypes, nesting over 128 levels); not yet validated as a
    chat. The first half of ``parse_chat_request``: a server checks its limits between
    the two. Raises ``ChatRequestError`` (422)."""
    try:
        decoded = _decode(data)
    except (ValueError, RecursionError) as exc:
        raise ChatRequestError(
            [FieldError("body", f"the body is not valid JSON ({exc})", "json_invalid")]
        ) from None
    _check_json(decoded)
    return decoded


def _check_json(decoded: Any) -> None:
    if _maybe_unsafe(decoded):
        unsafe = _unsafe_json(decoded)
        if unsafe is not None:
            raise ChatRequestError([unsafe])


def _maybe_unsafe(value: Any) -> bool:
    """Whether ``_unsafe_json`` could find something: the same walk without the paths,
    and with no allocation per node, so a big body costs little (and wakes the garbage
    collector less); only a body it flags is walked again for the path."""
    nodes: list[Any] = [value]
    depths: list[int] = [0]
    while nodes:
        node, depth = nodes.pop(), depths.pop()
        if isinstance(node, dict):
            obj = cast("dict[Any, Any]", node)
            if depth >= _MAX_DEPTH or "__proto__" in obj or "constructor" in obj:
                return True
            children: Iterable[Any] = obj.values()
        elif isinstance(node, list):
            if depth >= _MAX_DEPTH:
                return True
            children = cast("list[Any]", node)
        else:
            continue
        size = len(nodes)
        nodes.extend(children)
        depths.extend(itertools.repeat(depth + 1, len(nodes) - size))
    return False


_BOTH_FORMS: Final = (
    "send either messages (the whole conversation) or message (the last message), not both"
)
_NEITHER_FORM: Final = (
    "Field required: send messages (the whole conversation) or message (the last message)"
)


def validate_chat_body(decoded: Any, *, url_schemes: Collection[str]) -> ChatRequest:
    """``decode_chat_body``'s value as a ``ChatRequest``, in whichever form it came: the
    second half of ``parse_chat_request``. Raises ``ChatRequestError`` (422)."""
    context = {URL_SCHEMES_KEY: allowed_url_schemes(url_schemes)}
    sent_message = isinstance(decoded, dict) and "message" in decoded
    if sent_message and "messages" in decoded:
        raise ChatRequestError([FieldError("message", _BOTH_FORMS, "body_form")])
    model = LastMessageRequest if sent_message else ChatRequest
    try:
        validated = model.model_validate(
            decoded, strict=True, by_alias=True, by_name=False, context=context
        )
    except ValidationError as exc:
        errors = exc.errors(include_url=False)[:_MAX_REPORTED_ERRORS]
        raise ChatRequestError([_field_error(e) for e in errors]) from None
    if isinstance(validated, LastMessageRequest):
        return ChatRequest._of_last_message(validated)  # pyright: ignore[reportPrivateUsage]
    return validated


_Part = TypeVar("_Part", SteeringTextUIPart, SteeringFileUIPart)


class _SteeringBody(UIModel):
    """``{id?, parts}``: a user message for the running answer (``parse_steering_message``)."""

    id: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    parts: Annotated[list[SteeringPart], Field(min_length=1, fail_fast=True)]


def parse_steering_message(
    data: bytes | str | Mapping[str, Any],
    *,
    url_schemes: Collection[str] = DEFAULT_URL_SCHEMES,
) -> SteeringMessageUIPart:
    """Read a steering message (``{"id"?: str, "parts": [text | file, ...]}``: a user
    message for the answer being written) under the rules of a chat request's user
    message: the same JSON checks, file URLs by ``url_schemes``, each problem a
    ``FieldError`` naming its field (``parts[0].url``) in one ``ChatRequestError`` (422).

    ``id`` defaults to a fresh ``steer_...`` id. Fields a steering part does not have (a
    text part's ``state``) are dropped, as the AI SDK's schema drops them."""
    allowed = allowed_url_schemes(url_schemes)
    decoded = _decoded(data)
    try:
        body = _SteeringBody.model_validate(
            decoded, strict=True, by_alias=True, by_name=False, context={URL_SCHEMES_KEY: allowed}
        )
    except ValidationError as exc:
        errors = exc.errors(include_url=False)[:_MAX_REPORTED_ERRORS]
        raise ChatRequestError([_field_error(e) for e in errors]) from None
    parts: list[SteeringTextUIPart | SteeringFileUIPart] = []
    for part in body.parts:  # the known fields only: the chunk's schema has no others
        if isinstance(part, SteeringTextUIPart):
            parts.append(_known_fields(part, SteeringTextUIPart))
        else:
            parts.append(_known_fields(part, SteeringFileUIPart))
    return SteeringMessageUIPart(id=body.id or new_id("steer"), parts=parts)


def _known_fields(part: _Part, model: type[_Part]) -> _Part:
    """``part`` without the keys its model does not declare (``extra="allow"`` kept them)."""
    known = part.model_fields_set & set(model.model_fields)
    return model.model_construct(known, **{name: getattr(part, name) for name in known})
