"""The ``UIMessage`` model: one message of a ``useChat`` conversation, typed.

Why models and not dicts: a message is untrusted input that the server turns into model
prompts and later hands back to ``useChat`` as saved history. So it is checked with the
rules the AI SDK itself applies (``validateUIMessages`` in ``ai`` 6.x and 7.x,
``packages/ai/src/ui/validate-ui-messages.ts``), and every error names the field the way
a JavaScript developer would write it, ``messages[0].parts[2].url``. Once a message is a
``UIMessage`` every later reader (the lifecycle machine, the message assembler, the
replay, the history converters) takes it as it is: the rules live here, once.

What the SDK's zod schemas mean, mirrored here:

* A field marked optional may be absent but never ``null``; the "unknown" values
  (``input``, ``output``, ``data``, ``metadata``, ...) take any JSON, ``null`` included.
  Absent and ``null`` stay distinct: ``to_json`` gives back exactly what was sent.
* Tool parts change shape with ``state``: ``STATE_FIELDS`` is that table.
* ``tool-*`` and ``data-*`` part types are prefixes, so the part union is discriminated
  by a function. Unknown keys are kept (zod would strip them), so a saved message
  loses nothing.

Beyond the SDK, file URLs are checked against the schemes the server allows (given in
the validation context: ``parse_chat_request`` does it) and must be usable (a ``data:``
URL has its ``,``, an ``http(s):`` URL its host); message ids, tool names and tool call
ids must be non-empty (a model cannot be shown a call with no name or id).

A reader handed a plain dict instead of a ``UIMessage`` validates it with
``as_ui_message`` first, and trusts the result: nothing after this module checks a
message's shape again.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Annotated, Any, Final, Literal, NoReturn, TypeVar, cast
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    Tag,
    ValidationError,
    ValidationInfo,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError
from typing_extensions import LiteralString, Self

from uiwire.protocol.chunks import ProviderMetadata, TextIndex, ToolMetadata

__all__ = [
    "DEFAULT_URL_SCHEMES",
    "CustomUIPart",
    "DataUIPart",
    "DynamicToolUIPart",
    "FileUIPart",
    "ReasoningFileUIPart",
    "ReasoningUIPart",
    "SourceDocumentUIPart",
    "SourceUrlUIPart",
    "SteeringFileUIPart",
    "SteeringMessageUIPart",
    "SteeringTextUIPart",
    "StepStartUIPart",
    "TextUIPart",
    "ToolApproval",
    "ToolState",
    "ToolUIPart",
    "UICitation",
    "UICitationSource",
    "UIMessage",
    "UIMessagePart",
    "allowed_url_schemes",
    "as_ui_message",
]

_T = TypeVar("_T")

_Problem = tuple[tuple[str | int, ...], LiteralString, str]
"""``(location inside the model, error type, message)``."""


def not_null(value: Any) -> Any:
    """zod's ``.optional()`` refusing ``null`` (the OpenAPI schema recognises it)."""
    if value is None:
        raise PydanticCustomError("null_optional", "may be omitted, but must not be null")
    return value


_Omittable = Annotated[_T | None, BeforeValidator(not_null)]
"""zod's ``.optional()``: the key may be absent (read back as None) but not ``null``."""


# --- URL schemes ------------------------------------------------------------------------

URL_SCHEMES_KEY: Final = "uiwire.url_schemes"
"""Validation-context key: the lowercase schemes ``parse_chat_request`` allows."""

_SCHEME_NAME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_URL_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]{0,62}):")


def _check_url_scheme(url: str, info: ValidationInfo) -> str:
    """Refuse a file URL whose scheme the caller did not allow (only under
    ``parse_chat_request``; plain ``model_validate`` takes any URL).

    The scheme must open the string: a leading space, a tab inside the scheme or a
    relative URL is refused rather than guessed at, as URL parsers disagree on them.
    """
    context = cast("Mapping[str, Any] | None", info.context)
    if context is None or URL_SCHEMES_KEY not in context:
        return url
    allowed = cast("frozenset[str]", context[URL_SCHEMES_KEY])
    if not allowed:
        raise PydanticCustomError("url_scheme", "files are not accepted (no URL scheme is allowed)")
    match = _URL_SCHEME.match(url)
    scheme = match.group(1).lower() if match else None
    if scheme not in allowed:
        raise PydanticCustomError(
            "url_scheme",
            "{what} is not allowed (allowed: {allowed})",
            {
                "what": f"URL scheme {scheme!r}" if scheme else "a URL without a scheme",
                "allowed": ", ".join(sorted(allowed)),
            },
        )
    return url


_HOST_SCHEMES: Final = frozenset({"http", "https"})


def _check_url_form(url: str) -> str:
    """Refuse a file URL no reader can use, whatever schemes are allowed: a ``data:``
    URL without the ``,`` before its data, an ``http(s):`` URL without a host.

    Applied by every validation (the parser's and a plain ``model_validate``), so the
    history converters can hand any URL of a ``UIMessage`` to their framework as it is.
    """
    match = _URL_SCHEME.match(url)
    scheme = match.group(1).lower() if match else None
    if scheme == "data" and "," not in url:
        raise PydanticCustomError("url_form", "is not a valid data: URL (no ',' before the data)")
    if scheme in _HOST_SCHEMES and not urlsplit(url).netloc:
        raise PydanticCustomError(
            "url_form", "is not a valid {scheme}: URL (no host)", {"scheme": scheme}
        )
    return url


_FileURL = Annotated[str, AfterValidator(_check_url_scheme), AfterValidator(_check_url_form)]
"""A URL the server may fetch or forward to a model, so its form and scheme are checked."""


DEFAULT_URL_SCHEMES: Final = ("data", "https")
"""File URLs a ``UIMessage`` may use by default: uploads (``data:``) and ``https:``."""


def allowed_url_schemes(
    url_schemes: Collection[str], *, option: str = "url_schemes"
) -> frozenset[str]:
    """``url_schemes`` checked (scheme names, no ``:``) and lower-cased; check them once
    where they are configured, then pass the set to every ``parse_chat_request``.
    ``option`` is how the errors name the argument."""
    if isinstance(url_schemes, (str, bytes)) or not isinstance(url_schemes, Collection):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(
            f"{option} must be a collection of scheme names such as ('data', 'https'), "
            f"not {type(url_schemes).__name__}"
        )
    allowed: set[str] = set()
    for scheme in url_schemes:
        if not isinstance(scheme, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"{option} must hold strings, not {type(scheme).__name__}")
        if not _SCHEME_NAME.fullmatch(scheme):
            raise ValueError(
                f"{option}: {scheme!r} is not a URL scheme name (a letter, then letters, digits, '+', "
                "'-' or '.'; no ':')"
            )
        allowed.add(scheme.lower())
    return frozenset(allowed)


# --- shared base ----------------------------------------------------------------------


class UIModel(BaseModel):
    """camelCase on the wire, snake_case in Python; unknown keys are kept verbatim."""

    model_config = ConfigDict(
        extra="allow",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


class _UIPart(UIModel):
    """A part whose ``type`` has a default: it still counts as sent, so ``to_json``
    always writes it."""

    def model_post_init(self, context: Any, /) -> None:
        self.model_fields_set.add("type")


def _validation_error(model: str, problems: Sequence[_Problem]) -> NoReturn:
    """Raise errors at exact field locations from inside a model validator.

    pydantic re-roots a ``ValidationError`` raised in a validator at the model's own
    location, so ``("approval", "approved")`` becomes ``messages[0].parts[3].approval.approved``.
    """
    raise ValidationError.from_exception_data(
        model,
        [
            InitErrorDetails(
                type=PydanticCustomError(kind, "{message}", {"message": message}),
                loc=loc,
                input=None,
            )
            for loc, kind, message in problems
        ],
    )


# --- text, reasoning, sources, files ------------------------------------------------


class UICitationSource(UIModel):
    """The source a citation points at (v7): a URL or a document."""

    type: Literal["source"]
    source_type: Literal["url", "document"]
    id: str
    url: _Omittable[str] = None
    media_type: _Omittable[str] = None
    title: _Omittable[str] = None
    filename: _Omittable[str] = None
    provider_metadata: _Omittable[ProviderMetadata] = None

    @model_validator(mode="after")
    def _fields_of_source_type(self) -> Self:
        needed = ("url",) if self.source_type == "url" else ("media_type", "title")
        missing: list[_Problem] = [
            (
                (self._wire(name),),
                "missing",
                f"Field required when sourceType is {self.source_type!r}",
            )
            for name in needed
            if name not in self.model_fields_set
        ]
        if missing:
            _validation_error(type(self).__name__, missing)
        return self

    @classmethod
    def _wire(cls, name: str) -> str:
        return cls.model_fields[name].alias or name


class UICitation(UIModel):
    """A span of a text part backed by a source (v7 ``citations``)."""

    source: UICitationSource
    start_index: _Omittable[TextIndex] = None
    end_index: _Omittable[TextIndex] = None
    cited_text: _Omittable[str] = None


class TextUIPart(_UIPart):
    type: Literal["text"] = "text"
    text: str
    state: _Omittable[Literal["streaming", "done"]] = None
    provider_metadata: _Omittable[ProviderMetadata] = None
    citations: _Omittable[Annotated[list[UICitation], Field(fail_fast=True)]] = None


class ReasoningUIPart(_UIPart):
    type: Literal["reasoning"] = "reasoning"
    id: _Omittable[str] = None
    text: str
    state: _Omittable[Literal["streaming", "done"]] = None
    provider_metadata: _Omittable[ProviderMetadata] = None


class SourceUrlUIPart(_UIPart):
    type: Literal["source-url"] = "source-url"
    source_id: str
    url: str
    title: _Omittable[str] = None
    provider_metadata: _Omittable[ProviderMetadata] = None


class SourceDocumentUIPart(_UIPart):
    type: Literal["source-document"] = "source-document"
    source_id: str
    media_type: str
    title: str
    filename: _Omittable[str] = None
    provider_metadata: _Omittable[ProviderMetadata] = None


class FileUIPart(_UIPart):
    """A file; user uploads arrive as ``data:`` URLs."""

    type: Literal["file"] = "file"
    media_type: str
    filename: _Omittable[str] = None
    url: _FileURL
    provider_reference: _Omittable[dict[str, str]] = None
    provider_metadata: _Omittable[ProviderMetadata] = None


class StepStartUIPart(_UIPart):
    type: Literal["step-start"] = "step-start"


class DataUIPart(_UIPart):
    """App data, ``type`` ``data-<name>``; ``data`` is required but may be ``null``."""

    type: str = Field(pattern=r"^data-")
    id: _Omittable[str] = None
    data: JsonValue

    @property
    def data_name(self) -> str:
        """``"weather"`` for ``type`` ``"data-weather"``."""
        return self.type[len("data-") :]


# --- tools ------------------------------------------------------------------------------

ToolState = Literal[
    "input-streaming",
    "input-available",
    "approval-requested",
    "approval-responded",
    "output-available",
    "output-error",
    "output-denied",
]

REQUIRED: Final = "required"
OPTIONAL: Final = "optional"

STATE_FIELDS: Final[dict[str, dict[str, str]]] = {
    "input-streaming": {"input": OPTIONAL},
    "input-available": {"input": REQUIRED},
    "approval-requested": {"input": REQUIRED, "approval": REQUIRED},
    "approval-responded": {"input": REQUIRED, "approval": REQUIRED},
    "output-available": {"input": REQUIRED, "output": REQUIRED, "approval": OPTIONAL},
    "output-error": {"input": OPTIONAL, "error_text": REQUIRED, "approval": OPTIONAL},
    "output-denied": {"input": REQUIRED, "approval": REQUIRED},
}
"""Per state, which of the state-dependent fields are required or optional; the ones not
listed must be absent (zod's ``z.never().optional()``). ``input`` may be ``null`` where
it is required: presence is what counts."""

STATE_DEPENDENT: Final = ("input", "output", "error_text", "approval")

APPROVAL_ANSWERS: Final[dict[str, frozenset[bool]]] = {
    "approval-requested": frozenset(),  # not answered: no ``approved``, no ``reason``
    "approval-responded": frozenset({True, False}),
    "output-available": frozenset({True}),
    "output-error": frozenset({True}),
    "output-denied": frozenset({False}),
}
"""Per state, the values ``approval.approved`` may take (it is then required)."""


class ToolApproval(UIModel):
    """A tool call's approval: asked (``id``), then answered (``approved``, ``reason``)."""

    id: str
    approved: _Omittable[bool] = None
    reason: _Omittable[str] = None
    request_reason: _Omittable[str] = None
    is_automatic: _Omittable[bool] = None
    signature: _Omittable[str] = None
    descriptor: JsonValue = None
    input_schema_input: JsonValue = None


class _ToolPart(_UIPart):
    """The fields static and dynamic tool parts share, and the rules ``state`` sets.

    ``input``, ``output`` and ``rawInput`` are any JSON; whether they were sent is
    ``model_fields_set``, not ``is None``.
    """

    tool_call_id: Annotated[str, Field(min_length=1)]
    state: ToolState
    title: _Omittable[str] = None
    tool_metadata: _Omittable[ToolMetadata] = None
    provider_executed: _Omittable[bool] = None
    input: JsonValue = None
    output: JsonValue = None
    raw_input: JsonValue = None
    input_encoding: _Omittable[Literal["json", "text"]] = None
    error_text: _Omittable[str] = None
    preliminary: _Omittable[bool] = None
    approval: _Omittable[ToolApproval] = None
    call_provider_metadata: _Omittable[ProviderMetadata] = None
    result_provider_metadata: _Omittable[ProviderMetadata] = None

    @model_validator(mode="after")
    def _fields_of_state(self) -> Self:
        state = self.state
        sent = self.model_fields_set
        problems: list[_Problem] = []
        for name in STATE_DEPENDENT:
            rule = STATE_FIELDS[state].get(name)
            wire = (type(self).model_fields[name].alias or name,)
            if rule == REQUIRED and name not in sent:
                problems.append((wire, "missing", f"Field required when state is {state!r}"))
            elif rule is None and name in sent:
                problems.append((wire, "tool_state", f"must be absent when state is {state!r}"))
        if (
            state == "input-streaming"
            and "raw_input" in sent
            and not isinstance(self.raw_input, str)
        ):
            problems.append(
                (("rawInput",), "string_type", "must be a string when state is 'input-streaming'")
            )
        if self.approval is not None and state in APPROVAL_ANSWERS:
            problems.extend(_approval_problems(self.approval, state))
        if problems:
            _validation_error(type(self).__name__, problems)
        return self


def _approval_problems(approval: ToolApproval, state: str) -> list[_Problem]:
    answers = APPROVAL_ANSWERS[state]
    if not answers:
        return [
            (("approval", key), "tool_state", f"must be absent when state is {state!r}")
            for key in ("approved", "reason")
            if key in approval.model_fields_set
        ]
    if approval.approved is None:
        return [(("approval", "approved"), "missing", f"Field required when state is {state!r}")]
    if approval.approved not in answers:
        (expected,) = answers
        return [
            (
                ("approval", "approved"),
                "tool_state",
                f"must be {str(expected).lower()} when state is {state!r}",
            )
        ]
    return []


class ToolUIPart(_ToolPart):
    """A call of a tool the app declared, ``type`` ``tool-<name>``."""

    type: str = Field(pattern=r"^tool-.")

    @property
    def tool_name(self) -> str:
        """``"getWeather"`` for ``type`` ``"tool-getWeather"``."""
        return self.type[len("tool-") :]


class DynamicToolUIPart(_ToolPart):
    """A call of a tool known only at run time (MCP, user-defined), named by ``toolName``."""

    type: Literal["dynamic-tool"] = "dynamic-tool"
    tool_name: Annotated[str, Field(min_length=1)]
    dynamic: _Omittable[Literal[False]] = None
    """``false`` marks a static tool part the SDK turned dynamic (its tool was gone)."""


# --- AI SDK 7 parts -----------------------------------------------------------------


class CustomUIPart(_UIPart):
    """Provider-specific content, ``kind`` as ``"{provider}.{type}"`` (v7)."""

    type: Literal["custom"] = "custom"
    kind: str
    provider_metadata: _Omittable[ProviderMetadata] = None


class ReasoningFileUIPart(_UIPart):
    """A file the model produced while reasoning (v7)."""

    type: Literal["reasoning-file"] = "reasoning-file"
    media_type: str
    url: _FileURL
    provider_metadata: _Omittable[ProviderMetadata] = None


class SteeringTextUIPart(_UIPart):
    type: Literal["text"] = "text"
    text: str
    provider_metadata: _Omittable[ProviderMetadata] = None


class SteeringFileUIPart(_UIPart):
    type: Literal["file"] = "file"
    media_type: str
    filename: _Omittable[str] = None
    url: _FileURL
    provider_reference: _Omittable[dict[str, str]] = None
    provider_metadata: _Omittable[ProviderMetadata] = None


def _part_type(value: Any) -> object:
    if isinstance(value, dict):
        return cast("dict[str, Any]", value).get("type")
    return getattr(value, "type", None)


def _steering_tag(value: Any) -> str | None:
    part_type = _part_type(value)
    return part_type if part_type in ("text", "file") else None


SteeringPart = Annotated[
    Annotated[SteeringTextUIPart, Tag("text")] | Annotated[SteeringFileUIPart, Tag("file")],
    Discriminator(
        _steering_tag,
        custom_error_type="part_type",
        custom_error_message="unknown steering part type; accepted: text, file",
    ),
]


class SteeringMessageUIPart(_UIPart):
    """Input the user sent while the answer was streaming (v7, experimental)."""

    type: Literal["steering-message"] = "steering-message"
    id: str
    parts: Annotated[list[SteeringPart], Field(fail_fast=True)]


# --- the part union -----------------------------------------------------------------

_STATIC_PART_TYPES: Final = frozenset(
    {
        "text",
        "reasoning",
        "dynamic-tool",
        "source-url",
        "source-document",
        "file",
        "step-start",
        "custom",
        "reasoning-file",
        "steering-message",
    }
)


def _part_tag(value: Any) -> str | None:
    """``tool-*`` and ``data-*`` are prefixes; the other types are tags themselves."""
    part_type = _part_type(value)
    if not isinstance(part_type, str):
        return None
    if part_type.startswith("data-"):
        return "data"
    if part_type.startswith("tool-"):
        return "tool"
    return part_type if part_type in _STATIC_PART_TYPES else None


_ACCEPTED_PART_TYPES: Final = (
    "text, reasoning, tool-<name>, dynamic-tool, source-url, source-document, file, "
    "step-start, data-<name>, custom, reasoning-file, steering-message"
)

UIMessagePart = Annotated[
    Annotated[TextUIPart, Tag("text")]
    | Annotated[ReasoningUIPart, Tag("reasoning")]
    | Annotated[ToolUIPart, Tag("tool")]
    | Annotated[DynamicToolUIPart, Tag("dynamic-tool")]
    | Annotated[SourceUrlUIPart, Tag("source-url")]
    | Annotated[SourceDocumentUIPart, Tag("source-document")]
    | Annotated[FileUIPart, Tag("file")]
    | Annotated[StepStartUIPart, Tag("step-start")]
    | Annotated[DataUIPart, Tag("data")]
    | Annotated[CustomUIPart, Tag("custom")]
    | Annotated[ReasoningFileUIPart, Tag("reasoning-file")]
    | Annotated[SteeringMessageUIPart, Tag("steering-message")],
    Discriminator(
        _part_tag,
        custom_error_type="part_type",
        custom_error_message=f"unknown part type; accepted: {_ACCEPTED_PART_TYPES}",
    ),
]
"""Any part of a ``UIMessage``, chosen by its ``type``."""

UNION_TAGS: Final = _STATIC_PART_TYPES | {"tool", "data"}


# --- message and request ------------------------------------------------------------


class UIMessage(UIModel):
    """One message of the conversation, as ``useChat`` keeps it."""

    id: Annotated[str, Field(min_length=1)]
    role: Literal["system", "user", "assistant"]
    metadata: JsonValue = None
    parts: Annotated[list[UIMessagePart], Field(fail_fast=True)]

    @model_validator(mode="after")
    def _parts_unless_assistant(self) -> Self:
        # An assistant message may be empty: a failed answer is saved that way, and
        # the SDK accepts it so that such a chat can still be loaded.
        if not self.parts and self.role != "assistant":
            _validation_error(
                type(self).__name__,
                [(("parts",), "too_short", f"a {self.role} message must have at least one part")],
            )
        return self

    def to_json(self) -> dict[str, Any]:
        """The message as the client sent it (unknown keys included), ready to save and
        to hand back to ``useChat`` as initial messages."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


def as_ui_message(message: UIMessage | Mapping[str, Any] | BaseModel) -> UIMessage:
    """``message`` as a ``UIMessage``: itself, or validated as one.

    The one door for readers that also take a plain JSON object (camelCase keys, as
    ``useChat`` sends it; another pydantic model is dumped by alias first). It is
    validated as ``parse_chat_request`` does, strictly and by alias, but with any URL
    scheme: the scheme policy is the endpoint's, applied when the request was parsed.
    Raises pydantic's ``ValidationError`` (a ``ValueError``) naming each bad field.
    """
    if isinstance(message, UIMessage):
        return message
    if isinstance(message, BaseModel):
        message = message.model_dump(mode="json", by_alias=True, exclude_unset=True)
    return UIMessage.model_validate(message, strict=True, by_alias=True, by_name=False)


def readable_path(loc: Sequence[int | str]) -> str:
    """A validation error's location as a JavaScript developer writes it:
    ``("messages", 0, "parts", 1, "text", "text")`` -> ``"messages[0].parts[1].text"``.

    pydantic puts a discriminated-union member's tag after the list index
    (``parts, 1, "text"``); that segment is not a field, so it is dropped.
    """
    path = ""
    for i, segment in enumerate(loc):
        if isinstance(segment, int):
            path += f"[{segment}]"
        elif (
            i >= 2
            and loc[i - 2] == "parts"
            and isinstance(loc[i - 1], int)
            and segment in UNION_TAGS
        ):
            continue
        else:
            path += f".{segment}" if path else segment
    return path or "body"
