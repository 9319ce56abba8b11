"""Typed UI message chunks: one pydantic model per chunk type of ``uiMessageChunkSchema``.

These models are the single source of truth for the wire schema. Everything else is
derived from them at import time:

* which chunk types and fields each protocol target accepts (``Since`` annotations);
* the validation of chunks read back from a stream (``parse_chunk``), with the client's
  rule that an optional field may be absent but never ``null``;
* the wire form (``BaseChunk.to_wire``): camelCase keys, optional fields omitted when
  unset, ``input`` / ``output`` / ``data`` / ``messageMetadata`` always present.

The lifecycle machine builds plain dicts on its hot path and only consults the derived
tables, so building a model per delta never happens unless a user asks for one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Final, Literal, Union, cast

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    JsonValue,
    Tag,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from uiwire._errors import TargetError
from uiwire.protocol.targets import FINISH_REASONS, TARGETS, Target

__all__ = [
    "AbortChunk",
    "BaseChunk",
    "Citation",
    "CitationDocumentSource",
    "CitationUrlSource",
    "CustomChunk",
    "DataChunk",
    "ErrorChunk",
    "FileChunk",
    "FinishChunk",
    "FinishReason",
    "FinishStepChunk",
    "MessageMetadataChunk",
    "ProviderMetadata",
    "ReasoningDeltaChunk",
    "ReasoningEndChunk",
    "ReasoningFileChunk",
    "ReasoningStartChunk",
    "ResetStepChunk",
    "Since",
    "SourceDocumentChunk",
    "SourceUrlChunk",
    "StartChunk",
    "StartStepChunk",
    "SteeringFilePart",
    "SteeringMessageChunk",
    "SteeringTextPart",
    "TextDeltaChunk",
    "TextEndChunk",
    "TextStartChunk",
    "ToolApprovalRequestChunk",
    "ToolApprovalResponseChunk",
    "ToolInputAvailableChunk",
    "ToolInputDeltaChunk",
    "ToolInputErrorChunk",
    "ToolInputStartChunk",
    "ToolMetadata",
    "ToolOutputAvailableChunk",
    "ToolOutputDeniedChunk",
    "ToolOutputErrorChunk",
    "UIMessageChunk",
    "check_chunk_target",
    "chunk_fields",
    "describe_validation_error",
    "parse_chunk",
]


@dataclass(frozen=True)
class Since:
    """Marks a field as accepted only by clients of ``target`` and later."""

    target: Target


_V6: Final = Since("v6")
_V7: Final = Since("v7")

ProviderMetadata = dict[str, dict[str, JsonValue]]
"""``Record<string, Record<string, JSONValue>>``: opaque per-provider data."""

ToolMetadata = dict[str, JsonValue]
"""``Record<string, JSONValue>``: user data attached to a tool part."""

FinishReason = Literal[
    "stop", "length", "content-filter", "tool-calls", "error", "other", "unknown", "interrupted"
]
"""Every value any target accepts; ``"unknown"`` is v5 only, ``"interrupted"`` v7 only."""


class _WireModel(BaseModel):
    """camelCase on the wire, snake_case in Python, immutable, no unknown fields.

    Validation with ``context={"wire": True}`` applies the client's rule that optional
    fields may be omitted but not sent as ``null``; Python callers may pass ``None`` to
    mean "not set".
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    _omittable: ClassVar[frozenset[str]] = frozenset()
    _nullable_required: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        omittable: set[str] = set()
        nullable: set[str] = set()
        for name, info in cls.model_fields.items():
            wire = info.alias or name
            if name == "type":
                continue
            if info.annotation is Any:
                # z.unknown() accepts null; required ones must still be present
                if info.is_required():
                    nullable.add(wire)
            elif not info.is_required():
                omittable.add(wire)
        cls._omittable = frozenset(omittable)
        cls._nullable_required = frozenset(nullable)

    @model_validator(mode="before")
    @classmethod
    def _reject_null_optionals(cls, data: Any, info: ValidationInfo) -> Any:
        context = cast("Mapping[str, Any] | None", info.context)
        if context is not None and context.get("wire") and isinstance(data, dict):
            for key, value in cast("dict[str, Any]", data).items():
                if value is None and key in cls._omittable:
                    raise ValueError(f"{key!r} must be omitted rather than null")
        return cast("Any", data)

    def to_wire(self) -> dict[str, Any]:
        """The chunk as the client expects it: camelCase, unset optionals omitted."""
        wire = self.model_dump(mode="json", exclude_none=True)
        for key in self._nullable_required:
            wire.setdefault(key, None)
        return wire


class BaseChunk(_WireModel):
    """Base of every chunk model. ``since`` is the first target that knows the type."""

    since: ClassVar[Target] = "v5"


# --- message lifecycle -------------------------------------------------------------


class StartChunk(BaseChunk):
    type: Literal["start"] = "start"
    message_id: str | None = None
    message_metadata: Any = None


class StartStepChunk(BaseChunk):
    type: Literal["start-step"] = "start-step"


class FinishStepChunk(BaseChunk):
    type: Literal["finish-step"] = "finish-step"


class FinishChunk(BaseChunk):
    type: Literal["finish"] = "finish"
    finish_reason: FinishReason | None = None
    message_metadata: Any = None


class AbortChunk(BaseChunk):
    type: Literal["abort"] = "abort"
    reason: Annotated[str | None, _V6] = None


class ErrorChunk(BaseChunk):
    type: Literal["error"] = "error"
    error_text: str


class MessageMetadataChunk(BaseChunk):
    type: Literal["message-metadata"] = "message-metadata"
    message_metadata: Any


# --- text and reasoning -------------------------------------------------------------


class CitationUrlSource(_WireModel):
    type: Literal["source"] = "source"
    source_type: Literal["url"] = "url"
    id: str
    url: str
    title: str | None = None
    provider_metadata: ProviderMetadata | None = None


class CitationDocumentSource(_WireModel):
    type: Literal["source"] = "source"
    source_type: Literal["document"] = "document"
    id: str
    media_type: str
    title: str
    filename: str | None = None
    provider_metadata: ProviderMetadata | None = None


def _integral(value: Any) -> Any:
    """JSON has one number type: ``1.0`` is the integer 1 to the client's ``z.int()``."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


TextIndex = Annotated[int, BeforeValidator(_integral), Field(ge=0)]
"""A position in a text (citation bounds), in chunks and in saved messages alike."""


class Citation(_WireModel):
    """A span of text-part output backed by a source (v7 ``text-end.citations``)."""

    source: Annotated[
        CitationUrlSource | CitationDocumentSource, Field(discriminator="source_type")
    ]
    start_index: TextIndex | None = None
    end_index: TextIndex | None = None
    cited_text: str | None = None


class TextStartChunk(BaseChunk):
    type: Literal["text-start"] = "text-start"
    id: str
    provider_metadata: ProviderMetadata | None = None


class TextDeltaChunk(BaseChunk):
    type: Literal["text-delta"] = "text-delta"
    id: str
    delta: str
    provider_metadata: ProviderMetadata | None = None


class TextEndChunk(BaseChunk):
    type: Literal["text-end"] = "text-end"
    id: str
    provider_metadata: ProviderMetadata | None = None
    citations: Annotated[list[Citation] | None, _V7] = None


class ReasoningStartChunk(BaseChunk):
    type: Literal["reasoning-start"] = "reasoning-start"
    id: str
    provider_metadata: ProviderMetadata | None = None


class ReasoningDeltaChunk(BaseChunk):
    type: Literal["reasoning-delta"] = "reasoning-delta"
    id: str
    delta: str
    provider_metadata: ProviderMetadata | None = None


class ReasoningEndChunk(BaseChunk):
    type: Literal["reasoning-end"] = "reasoning-end"
    id: str
    provider_metadata: ProviderMetadata | None = None


# --- tools --------------------------------------------------------------------------


class ToolInputStartChunk(BaseChunk):
    type: Literal["tool-input-start"] = "tool-input-start"
    tool_call_id: str
    tool_name: str
    input_encoding: Annotated[Literal["json", "text"] | None, _V6] = None
    provider_executed: bool | None = None
    provider_metadata: Annotated[ProviderMetadata | None, _V6] = None
    tool_metadata: Annotated[ToolMetadata | None, _V6] = None
    dynamic: bool | None = None
    title: Annotated[str | None, _V6] = None


class ToolInputDeltaChunk(BaseChunk):
    type: Literal["tool-input-delta"] = "tool-input-delta"
    tool_call_id: str
    input_text_delta: str


class ToolInputAvailableChunk(BaseChunk):
    type: Literal["tool-input-available"] = "tool-input-available"
    tool_call_id: str
    tool_name: str
    input: Any
    provider_executed: bool | None = None
    provider_metadata: ProviderMetadata | None = None
    tool_metadata: Annotated[ToolMetadata | None, _V6] = None
    dynamic: bool | None = None
    title: Annotated[str | None, _V6] = None


class ToolInputErrorChunk(BaseChunk):
    type: Literal["tool-input-error"] = "tool-input-error"
    tool_call_id: str
    tool_name: str
    input: Any
    error_text: str
    provider_executed: bool | None = None
    provider_metadata: ProviderMetadata | None = None
    tool_metadata: Annotated[ToolMetadata | None, _V6] = None
    dynamic: bool | None = None
    title: Annotated[str | None, _V6] = None


class ToolApprovalRequestChunk(BaseChunk):
    since: ClassVar[Target] = "v6"
    type: Literal["tool-approval-request"] = "tool-approval-request"
    approval_id: str
    tool_call_id: str
    approval_descriptor: Any = None
    input_schema_input: Any = None
    signature: str | None = None
    reason: Annotated[str | None, _V7] = None
    is_automatic: Annotated[bool | None, _V7] = None


class ToolApprovalResponseChunk(BaseChunk):
    since: ClassVar[Target] = "v7"
    type: Literal["tool-approval-response"] = "tool-approval-response"
    approval_id: str
    approved: bool
    reason: str | None = None
    provider_executed: bool | None = None
    provider_metadata: ProviderMetadata | None = None


class ToolOutputAvailableChunk(BaseChunk):
    type: Literal["tool-output-available"] = "tool-output-available"
    tool_call_id: str
    output: Any
    provider_executed: bool | None = None
    provider_metadata: Annotated[ProviderMetadata | None, _V6] = None
    tool_metadata: Annotated[ToolMetadata | None, _V6] = None
    dynamic: bool | None = None
    preliminary: bool | None = None


class ToolOutputErrorChunk(BaseChunk):
    type: Literal["tool-output-error"] = "tool-output-error"
    tool_call_id: str
    error_text: str
    provider_executed: bool | None = None
    provider_metadata: Annotated[ProviderMetadata | None, _V6] = None
    tool_metadata: Annotated[ToolMetadata | None, _V6] = None
    dynamic: bool | None = None


class ToolOutputDeniedChunk(BaseChunk):
    since: ClassVar[Target] = "v6"
    type: Literal["tool-output-denied"] = "tool-output-denied"
    tool_call_id: str


# --- sources, files, data ------------------------------------------------------------


class SourceUrlChunk(BaseChunk):
    type: Literal["source-url"] = "source-url"
    source_id: str
    url: str
    title: str | None = None
    provider_metadata: ProviderMetadata | None = None


class SourceDocumentChunk(BaseChunk):
    type: Literal["source-document"] = "source-document"
    source_id: str
    media_type: str
    title: str
    filename: str | None = None
    provider_metadata: ProviderMetadata | None = None


class FileChunk(BaseChunk):
    type: Literal["file"] = "file"
    url: str
    media_type: str
    provider_metadata: ProviderMetadata | None = None


class DataChunk(BaseChunk):
    """A ``data-<name>`` part: upserted by ``type`` + ``id``; ``transient`` is never stored."""

    type: str
    id: str | None = None
    data: Any
    transient: bool | None = None

    @field_validator("type")
    @classmethod
    def _data_prefix(cls, value: str) -> str:
        if not value.startswith("data-"):
            raise ValueError('a data chunk type must start with "data-"')
        return value


# --- AI SDK 7 additions -------------------------------------------------------------


class CustomChunk(BaseChunk):
    since: ClassVar[Target] = "v7"
    type: Literal["custom"] = "custom"
    kind: str
    provider_metadata: ProviderMetadata | None = None


class ReasoningFileChunk(BaseChunk):
    since: ClassVar[Target] = "v7"
    type: Literal["reasoning-file"] = "reasoning-file"
    url: str
    media_type: str
    provider_metadata: ProviderMetadata | None = None


class ResetStepChunk(BaseChunk):
    since: ClassVar[Target] = "v7"
    type: Literal["reset-step"] = "reset-step"


class SteeringTextPart(_WireModel):
    type: Literal["text"] = "text"
    text: str
    provider_metadata: ProviderMetadata | None = None


class SteeringFilePart(_WireModel):
    type: Literal["file"] = "file"
    media_type: str
    url: str
    filename: str | None = None
    provider_reference: dict[str, str] | None = None
    provider_metadata: ProviderMetadata | None = None


class SteeringMessageChunk(BaseChunk):
    since: ClassVar[Target] = "v7"
    type: Literal["steering-message"] = "steering-message"
    id: str
    parts: list[Annotated[SteeringTextPart | SteeringFilePart, Field(discriminator="type")]]


# --- the union and the derived tables ------------------------------------------------

_MODELS: Final[tuple[type[BaseChunk], ...]] = (
    StartChunk,
    StartStepChunk,
    FinishStepChunk,
    FinishChunk,
    AbortChunk,
    ErrorChunk,
    MessageMetadataChunk,
    TextStartChunk,
    TextDeltaChunk,
    TextEndChunk,
    ReasoningStartChunk,
    ReasoningDeltaChunk,
    ReasoningEndChunk,
    ToolInputStartChunk,
    ToolInputDeltaChunk,
    ToolInputAvailableChunk,
    ToolInputErrorChunk,
    ToolApprovalRequestChunk,
    ToolApprovalResponseChunk,
    ToolOutputAvailableChunk,
    ToolOutputErrorChunk,
    ToolOutputDeniedChunk,
    SourceUrlChunk,
    SourceDocumentChunk,
    FileChunk,
    DataChunk,
    CustomChunk,
    ReasoningFileChunk,
    ResetStepChunk,
    SteeringMessageChunk,
)

_DATA_TAG: Final = "data-*"


def _type_tag(model: type[BaseChunk]) -> str:
    if model is DataChunk:
        return _DATA_TAG
    default = model.model_fields["type"].default
    assert isinstance(default, str)
    return default


_BY_TAG: Final[dict[str, type[BaseChunk]]] = {_type_tag(m): m for m in _MODELS}


def _discriminate(value: Any) -> str | None:
    if isinstance(value, dict):
        chunk_type = cast("dict[str, Any]", value).get("type")
    else:
        chunk_type = getattr(value, "type", None)
    if isinstance(chunk_type, str) and chunk_type.startswith("data-"):
        return _DATA_TAG
    return chunk_type if isinstance(chunk_type, str) else None


UIMessageChunk = Annotated[
    Union[tuple(Annotated[m, Tag(_type_tag(m))] for m in _MODELS)],  # type: ignore[valid-type]  # noqa: UP007
    Discriminator(_discriminate),
]
"""Any UI message chunk, discriminated by ``type`` (``data-*`` for data parts)."""

_ADAPTER: Final[TypeAdapter[BaseChunk]] = TypeAdapter(
    cast("type[BaseChunk]", UIMessageChunk), config=ConfigDict(title="UIMessageChunk")
)


def _field_targets(model: type[BaseChunk]) -> dict[str, Target]:
    fields: dict[str, Target] = {}
    for name, info in model.model_fields.items():
        marks: list[Target] = [m.target for m in info.metadata if isinstance(m, Since)]
        fields[info.alias or name] = marks[0] if marks else TARGETS[0]
    return fields


def _rank(target: Target) -> int:
    return TARGETS.index(target)


_FIELDS_BY_TARGET: Final[dict[Target, dict[str, frozenset[str]]]] = {
    target: {
        tag: frozenset(
            field for field, since in _field_targets(model).items() if _rank(since) <= _rank(target)
        )
        for tag, model in _BY_TAG.items()
        if _rank(model.since) <= _rank(target)
    }
    for target in TARGETS
}


def chunk_fields(target: Target, chunk_type: str) -> frozenset[str] | None:
    """The wire fields ``target``'s client knows for ``chunk_type``; None if it knows no such type."""
    tag = _DATA_TAG if chunk_type.startswith("data-") else chunk_type
    return _FIELDS_BY_TARGET[target].get(tag)


def check_chunk_target(chunk: Mapping[str, Any], target: Target) -> None:
    """Raise ``TargetError`` unless ``target``'s client accepts this chunk's type, fields and values.

    ``chunk`` is a wire dict. Only target support is checked here; the field types are the
    models' business (``parse_chunk``).
    """
    chunk_type = chunk.get("type")
    if not isinstance(chunk_type, str):
        raise TargetError(
            "a chunk needs a string 'type'", target=target, chunk_type=str(chunk_type), field="type"
        )
    known = chunk_fields(target, chunk_type)
    if known is None:
        newest = _BY_TAG.get(chunk_type)
        needs = f"; it needs target {newest.since} or later" if newest is not None else ""
        raise TargetError(
            f"chunk type {chunk_type!r} is not accepted by AI SDK {target} clients{needs}",
            target=target,
            chunk_type=chunk_type,
            field=None,
        )
    for field in chunk:
        if field not in known:
            model = _BY_TAG[_DATA_TAG if chunk_type.startswith("data-") else chunk_type]
            since = _field_targets(model).get(field)
            needs = f"; it needs target {since} or later" if since is not None else ""
            raise TargetError(
                f"field {field!r} of chunk {chunk_type!r} is not accepted by AI SDK {target} "
                f"clients{needs}",
                target=target,
                chunk_type=chunk_type,
                field=field,
            )
    if chunk_type == "finish":
        reason = chunk.get("finishReason")
        if reason is not None and reason not in FINISH_REASONS[target]:
            allowed = ", ".join(sorted(FINISH_REASONS[target]))
            raise TargetError(
                f"finishReason {reason!r} is not accepted by AI SDK {target} clients "
                f"(accepted: {allowed})",
                target=target,
                chunk_type="finish",
                field="finishReason",
            )


def describe_validation_error(chunk_type: object, exc: ValidationError) -> str:
    """``"<type>.<field path>: <reason>"`` for the first error ``parse_chunk`` raised."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"][1:])
    return f"{chunk_type}{'.' + where if where else ''}: {first['msg']}"


def parse_chunk(data: Mapping[str, Any] | str | bytes) -> BaseChunk:
    """Validate one chunk against the client's schema and return its model.

    A JSON text (``str`` / ``bytes``) is validated strictly, as zod validates decoded JSON
    (no ``1`` for ``true``); a Python mapping is validated leniently. Either way an optional
    field sent as ``null`` is rejected, as the client rejects it, and so are unknown fields:
    clients before 6.0.231 reject them and uiwire never emits them. Only the camelCase
    wire names are accepted (a snake_case key is an unknown field to the client).

    Raises ``pydantic.ValidationError``.
    """
    if isinstance(data, (str, bytes)):
        try:
            return _ADAPTER.validate_json(
                data, strict=True, context=_WIRE, by_alias=True, by_name=False
            )
        except ValidationError as exc:
            if exc.errors()[0]["type"] != "json_invalid":
                raise
            try:  # JSON.parse takes escaped lone surrogates; pydantic's parser does not
                decoded = json.loads(data)
            except ValueError:
                raise exc from None
        return _ADAPTER.validate_python(
            decoded, strict=True, context=_WIRE, by_alias=True, by_name=False
        )
    return _ADAPTER.validate_python(dict(data), context=_WIRE, by_alias=True, by_name=False)


_WIRE: Final = {"wire": True}
