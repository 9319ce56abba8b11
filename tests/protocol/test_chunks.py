"""Unit tests for ``uiwire.protocol.chunks``: models, wire form, parsing, target gating.

The per-target facts below (which chunk types and fields each client accepts, which
fields are required) were transcribed from the AI SDK's own ``uiMessageChunkSchema``
(``packages/ai/src/ui-message-stream/ui-message-chunks.ts`` in ai 5.x, 6.x and 7.x),
not from ``chunks.py``: they are the oracle these tests hold the models to.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from uiwire.protocol import ProtocolError, TargetError
from uiwire.protocol.chunks import (
    AbortChunk,
    BaseChunk,
    Citation,
    CitationDocumentSource,
    CitationUrlSource,
    CustomChunk,
    DataChunk,
    ErrorChunk,
    FileChunk,
    FinishChunk,
    FinishStepChunk,
    MessageMetadataChunk,
    ReasoningDeltaChunk,
    ReasoningEndChunk,
    ReasoningFileChunk,
    ReasoningStartChunk,
    ResetStepChunk,
    SourceDocumentChunk,
    SourceUrlChunk,
    StartChunk,
    StartStepChunk,
    SteeringFilePart,
    SteeringMessageChunk,
    SteeringTextPart,
    TextDeltaChunk,
    TextEndChunk,
    TextStartChunk,
    ToolApprovalRequestChunk,
    ToolApprovalResponseChunk,
    ToolInputAvailableChunk,
    ToolInputDeltaChunk,
    ToolInputErrorChunk,
    ToolInputStartChunk,
    ToolOutputAvailableChunk,
    ToolOutputDeniedChunk,
    ToolOutputErrorChunk,
    check_chunk_target,
    chunk_fields,
    parse_chunk,
)

# --- the oracle: field sets of the real client schemas --------------------------------

_TEXT_LIKE = {
    "text-start": {"type", "id", "providerMetadata"},
    "text-delta": {"type", "id", "delta", "providerMetadata"},
    "text-end": {"type", "id", "providerMetadata"},
    "reasoning-start": {"type", "id", "providerMetadata"},
    "reasoning-delta": {"type", "id", "delta", "providerMetadata"},
    "reasoning-end": {"type", "id", "providerMetadata"},
}

V5_FIELDS: dict[str, set[str]] = {
    "start": {"type", "messageId", "messageMetadata"},
    "start-step": {"type"},
    "finish-step": {"type"},
    "finish": {"type", "finishReason", "messageMetadata"},
    "abort": {"type"},
    "error": {"type", "errorText"},
    "message-metadata": {"type", "messageMetadata"},
    **_TEXT_LIKE,
    "tool-input-start": {"type", "toolCallId", "toolName", "providerExecuted", "dynamic"},
    "tool-input-delta": {"type", "toolCallId", "inputTextDelta"},
    "tool-input-available": {
        "type", "toolCallId", "toolName", "input", "providerExecuted", "providerMetadata",
        "dynamic",
    },
    "tool-input-error": {
        "type", "toolCallId", "toolName", "input", "errorText", "providerExecuted",
        "providerMetadata", "dynamic",
    },
    "tool-output-available": {
        "type", "toolCallId", "output", "providerExecuted", "dynamic", "preliminary",
    },
    "tool-output-error": {"type", "toolCallId", "errorText", "providerExecuted", "dynamic"},
    "source-url": {"type", "sourceId", "url", "title", "providerMetadata"},
    "source-document": {
        "type", "sourceId", "mediaType", "title", "filename", "providerMetadata",
    },
    "file": {"type", "url", "mediaType", "providerMetadata"},
    "data-*": {"type", "id", "data", "transient"},
}  # fmt: skip

V6_FIELDS: dict[str, set[str]] = {
    **V5_FIELDS,
    "abort": {"type", "reason"},
    "tool-input-start": V5_FIELDS["tool-input-start"]
    | {"inputEncoding", "providerMetadata", "toolMetadata", "title"},
    "tool-input-available": V5_FIELDS["tool-input-available"] | {"toolMetadata", "title"},
    "tool-input-error": V5_FIELDS["tool-input-error"] | {"toolMetadata", "title"},
    "tool-approval-request": {
        "type", "approvalId", "toolCallId", "approvalDescriptor", "inputSchemaInput", "signature",
    },
    "tool-output-available": V5_FIELDS["tool-output-available"]
    | {"providerMetadata", "toolMetadata"},
    "tool-output-error": V5_FIELDS["tool-output-error"] | {"providerMetadata", "toolMetadata"},
    "tool-output-denied": {"type", "toolCallId"},
}  # fmt: skip

V7_FIELDS: dict[str, set[str]] = {
    **V6_FIELDS,
    "text-end": V6_FIELDS["text-end"] | {"citations"},
    "tool-approval-request": V6_FIELDS["tool-approval-request"] | {"reason", "isAutomatic"},
    "tool-approval-response": {
        "type", "approvalId", "approved", "reason", "providerExecuted", "providerMetadata",
    },
    "custom": {"type", "kind", "providerMetadata"},
    "reasoning-file": {"type", "url", "mediaType", "providerMetadata"},
    "steering-message": {"type", "id", "parts"},
    "reset-step": {"type"},
}  # fmt: skip

EXPECTED_FIELDS = {"v5": V5_FIELDS, "v6": V6_FIELDS, "v7": V7_FIELDS}

BASE_REASONS = {"stop", "length", "content-filter", "tool-calls", "error", "other"}
FINISH_REASONS = {
    "v5": BASE_REASONS | {"unknown"},
    "v6": BASE_REASONS,
    "v7": BASE_REASONS | {"interrupted"},
}

# A chunk of every type with exactly its required fields (the client's ``*`` fields).
MINIMAL: dict[str, dict[str, Any]] = {
    "start": {"type": "start"},
    "start-step": {"type": "start-step"},
    "finish-step": {"type": "finish-step"},
    "finish": {"type": "finish"},
    "abort": {"type": "abort"},
    "error": {"type": "error", "errorText": "boom"},
    "message-metadata": {"type": "message-metadata", "messageMetadata": {"a": 1}},
    "text-start": {"type": "text-start", "id": "t1"},
    "text-delta": {"type": "text-delta", "id": "t1", "delta": "hi"},
    "text-end": {"type": "text-end", "id": "t1"},
    "reasoning-start": {"type": "reasoning-start", "id": "r1"},
    "reasoning-delta": {"type": "reasoning-delta", "id": "r1", "delta": "hm"},
    "reasoning-end": {"type": "reasoning-end", "id": "r1"},
    "tool-input-start": {"type": "tool-input-start", "toolCallId": "c1", "toolName": "search"},
    "tool-input-delta": {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": "{"},
    "tool-input-available": {
        "type": "tool-input-available", "toolCallId": "c1", "toolName": "search",
        "input": {"q": "x"},
    },
    "tool-input-error": {
        "type": "tool-input-error", "toolCallId": "c1", "toolName": "search", "input": "{bad",
        "errorText": "invalid input",
    },
    "tool-approval-request": {
        "type": "tool-approval-request", "approvalId": "ap1", "toolCallId": "c1",
    },
    "tool-approval-response": {
        "type": "tool-approval-response", "approvalId": "ap1", "approved": True,
    },
    "tool-output-available": {
        "type": "tool-output-available", "toolCallId": "c1", "output": {"r": 1},
    },
    "tool-output-error": {"type": "tool-output-error", "toolCallId": "c1", "errorText": "failed"},
    "tool-output-denied": {"type": "tool-output-denied", "toolCallId": "c1"},
    "source-url": {"type": "source-url", "sourceId": "s1", "url": "https://example.com"},
    "source-document": {
        "type": "source-document", "sourceId": "s2", "mediaType": "application/pdf",
        "title": "Doc",
    },
    "file": {"type": "file", "url": "data:text/plain;base64,aGk=", "mediaType": "text/plain"},
    "data-*": {"type": "data-weather", "data": {"t": 20}},
    "custom": {"type": "custom", "kind": "openai.thing"},
    "reasoning-file": {
        "type": "reasoning-file", "url": "https://example.com/x.png", "mediaType": "image/png",
    },
    "steering-message": {
        "type": "steering-message", "id": "sm1", "parts": [{"type": "text", "text": "stop"}],
    },
    "reset-step": {"type": "reset-step"},
}  # fmt: skip

PM = {"openai": {"itemId": "x", "n": [1, {"deep": None}]}}
CITATION = {
    "source": {"type": "source", "sourceType": "url", "id": "s1", "url": "https://e.com"},
    "startIndex": 0,
    "endIndex": 4,
    "citedText": "cite",
}

# A non-null value for every optional field a v7 client knows.
OPTIONAL_VALUES: dict[str, dict[str, Any]] = {
    "start": {"messageId": "m1", "messageMetadata": {"k": "v"}},
    "finish": {"finishReason": "stop", "messageMetadata": {"k": "v"}},
    "abort": {"reason": "user stop"},
    **{kind: {"providerMetadata": PM} for kind in _TEXT_LIKE},
    "text-end": {"providerMetadata": PM, "citations": [CITATION]},
    "tool-input-start": {
        "inputEncoding": "text", "providerExecuted": True, "providerMetadata": PM,
        "toolMetadata": {"k": [1]}, "dynamic": True, "title": "Search",
    },
    "tool-input-available": {
        "providerExecuted": False, "providerMetadata": PM, "toolMetadata": {"k": 1},
        "dynamic": False, "title": "Search",
    },
    "tool-input-error": {
        "providerExecuted": False, "providerMetadata": PM, "toolMetadata": {"k": 1},
        "dynamic": True, "title": "Search",
    },
    "tool-approval-request": {
        "approvalDescriptor": {"d": 1}, "inputSchemaInput": [1], "signature": "sig",
        "reason": "risky", "isAutomatic": True,
    },
    "tool-approval-response": {
        "reason": "fine", "providerExecuted": True, "providerMetadata": PM,
    },
    "tool-output-available": {
        "providerExecuted": True, "providerMetadata": PM, "toolMetadata": {"k": 1},
        "dynamic": True, "preliminary": True,
    },
    "tool-output-error": {
        "providerExecuted": True, "providerMetadata": PM, "toolMetadata": {"k": 1},
        "dynamic": False,
    },
    "source-url": {"title": "Example", "providerMetadata": PM},
    "source-document": {"filename": "doc.pdf", "providerMetadata": PM},
    "file": {"providerMetadata": PM},
    "data-*": {"id": "d1", "transient": True},
    "custom": {"providerMetadata": PM},
    "reasoning-file": {"providerMetadata": PM},
}  # fmt: skip

FULL: dict[str, dict[str, Any]] = {
    kind: {**MINIMAL[kind], **OPTIONAL_VALUES.get(kind, {})} for kind in MINIMAL
}

# Optional fields typed ``z.unknown().optional()``: the client accepts null for them.
UNKNOWN_OPTIONALS = {
    ("start", "messageMetadata"),
    ("finish", "messageMetadata"),
    ("tool-approval-request", "approvalDescriptor"),
    ("tool-approval-request", "inputSchemaInput"),
}
# Required fields typed ``z.unknown()``: null passes, absence fails.
NULLABLE_REQUIRED = {
    ("message-metadata", "messageMetadata"),
    ("tool-input-available", "input"),
    ("tool-input-error", "input"),
    ("tool-output-available", "output"),
    ("data-*", "data"),
}

MODEL_BY_TYPE: dict[str, type[BaseChunk]] = {
    "start": StartChunk,
    "start-step": StartStepChunk,
    "finish-step": FinishStepChunk,
    "finish": FinishChunk,
    "abort": AbortChunk,
    "error": ErrorChunk,
    "message-metadata": MessageMetadataChunk,
    "text-start": TextStartChunk,
    "text-delta": TextDeltaChunk,
    "text-end": TextEndChunk,
    "reasoning-start": ReasoningStartChunk,
    "reasoning-delta": ReasoningDeltaChunk,
    "reasoning-end": ReasoningEndChunk,
    "tool-input-start": ToolInputStartChunk,
    "tool-input-delta": ToolInputDeltaChunk,
    "tool-input-available": ToolInputAvailableChunk,
    "tool-input-error": ToolInputErrorChunk,
    "tool-approval-request": ToolApprovalRequestChunk,
    "tool-approval-response": ToolApprovalResponseChunk,
    "tool-output-available": ToolOutputAvailableChunk,
    "tool-output-error": ToolOutputErrorChunk,
    "tool-output-denied": ToolOutputDeniedChunk,
    "source-url": SourceUrlChunk,
    "source-document": SourceDocumentChunk,
    "file": FileChunk,
    "data-*": DataChunk,
    "custom": CustomChunk,
    "reasoning-file": ReasoningFileChunk,
    "steering-message": SteeringMessageChunk,
    "reset-step": ResetStepChunk,
}

ALL_TYPES = sorted(V7_FIELDS)
TARGETS = ("v5", "v6", "v7")


def _field_cases() -> list[tuple[str, str]]:
    return [(kind, field) for kind in ALL_TYPES for field in sorted(V7_FIELDS[kind])]


def _optional_cases() -> list[tuple[str, str]]:
    return [
        (kind, field)
        for kind in ALL_TYPES
        for field in sorted(V7_FIELDS[kind] - set(MINIMAL[kind]))
    ]


def _required_cases() -> list[tuple[str, str]]:
    return [
        (kind, field) for kind in ALL_TYPES for field in sorted(MINIMAL[kind]) if field != "type"
    ]


# --- self-consistency of the fixtures --------------------------------------------------


def test_fixtures_cover_every_v7_field_of_every_type() -> None:
    assert set(FULL) == set(V7_FIELDS) == set(MODEL_BY_TYPE)
    for kind, chunk in FULL.items():
        assert set(chunk) == V7_FIELDS[kind], kind


# --- chunk_fields / check_chunk_target against the real client schemas -------------------


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("kind", ALL_TYPES)
def test_chunk_fields_match_client_schema(target: str, kind: str) -> None:
    expected = EXPECTED_FIELDS[target].get(kind)
    lookup = "data-weather" if kind == "data-*" else kind
    fields = chunk_fields(target, lookup)  # type: ignore[arg-type]
    assert fields == (None if expected is None else frozenset(expected))


@pytest.mark.parametrize("target", TARGETS)
def test_chunk_fields_of_unknown_type_is_none(target: str) -> None:
    assert chunk_fields(target, "bogus") is None  # type: ignore[arg-type]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize(("kind", "field"), _field_cases())
def test_check_chunk_target_accepts_exactly_the_targets_fields(
    target: str, kind: str, field: str
) -> None:
    chunk = {**MINIMAL[kind], field: FULL[kind][field]}
    known = EXPECTED_FIELDS[target].get(kind)
    if known is None:
        with pytest.raises(TargetError) as info:
            check_chunk_target(chunk, target)  # type: ignore[arg-type]
        assert info.value.field is None
        assert info.value.chunk_type == chunk["type"]
        assert info.value.target == target
    elif field in known:
        check_chunk_target(chunk, target)  # type: ignore[arg-type]
    else:
        with pytest.raises(TargetError) as info:
            check_chunk_target(chunk, target)  # type: ignore[arg-type]
        assert info.value.field == field
        assert info.value.chunk_type == kind
        assert info.value.target == target
        assert "or later" in str(info.value)


@pytest.mark.parametrize(
    ("kind", "target", "needs"),
    [
        ("tool-approval-request", "v5", "v6"),
        ("tool-output-denied", "v5", "v6"),
        ("tool-approval-response", "v6", "v7"),
        ("custom", "v6", "v7"),
        ("reasoning-file", "v6", "v7"),
        ("reset-step", "v6", "v7"),
        ("steering-message", "v6", "v7"),
        ("custom", "v5", "v7"),
    ],
)
def test_check_chunk_target_names_the_first_target_with_the_type(
    kind: str, target: str, needs: str
) -> None:
    with pytest.raises(TargetError, match=f"needs target {needs} or later") as info:
        check_chunk_target(MINIMAL[kind], target)  # type: ignore[arg-type]
    assert (info.value.target, info.value.chunk_type, info.value.field) == (target, kind, None)


@pytest.mark.parametrize(
    ("kind", "field", "target", "needs"),
    [
        ("abort", "reason", "v5", "v6"),
        ("tool-input-start", "title", "v5", "v6"),
        ("tool-input-start", "toolMetadata", "v5", "v6"),
        ("tool-input-start", "providerMetadata", "v5", "v6"),
        ("tool-input-start", "inputEncoding", "v5", "v6"),
        ("tool-input-available", "title", "v5", "v6"),
        ("tool-input-error", "toolMetadata", "v5", "v6"),
        ("tool-output-available", "providerMetadata", "v5", "v6"),
        ("tool-output-error", "providerMetadata", "v5", "v6"),
        ("tool-output-available", "toolMetadata", "v5", "v6"),
        ("text-end", "citations", "v6", "v7"),
        ("tool-approval-request", "reason", "v6", "v7"),
        ("tool-approval-request", "isAutomatic", "v6", "v7"),
    ],
)
def test_check_chunk_target_names_the_first_target_with_the_field(
    kind: str, field: str, target: str, needs: str
) -> None:
    chunk = {**MINIMAL[kind], field: FULL[kind][field]}
    with pytest.raises(TargetError, match=f"needs target {needs} or later") as info:
        check_chunk_target(chunk, target)  # type: ignore[arg-type]
    assert (info.value.target, info.value.chunk_type, info.value.field) == (target, kind, field)


@pytest.mark.parametrize("kind", ["tool-input-available", "tool-input-error"])
def test_v5_accepts_provider_metadata_on_tool_input_final_chunks(kind: str) -> None:
    # the only tool chunks on which v5 already had providerMetadata
    check_chunk_target({**MINIMAL[kind], "providerMetadata": PM}, "v5")


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("reason", sorted(BASE_REASONS | {"unknown", "interrupted"}))
def test_check_chunk_target_finish_reason_enum_per_target(target: str, reason: str) -> None:
    chunk = {"type": "finish", "finishReason": reason}
    if reason in FINISH_REASONS[target]:
        check_chunk_target(chunk, target)  # type: ignore[arg-type]
    else:
        with pytest.raises(TargetError, match="finishReason") as info:
            check_chunk_target(chunk, target)  # type: ignore[arg-type]
        assert (info.value.chunk_type, info.value.field) == ("finish", "finishReason")
        assert repr(reason) in str(info.value)


def test_check_chunk_target_unknown_type_has_no_since_hint() -> None:
    with pytest.raises(TargetError) as info:
        check_chunk_target({"type": "bogus"}, "v7")
    assert "'bogus'" in str(info.value)
    assert "needs target" not in str(info.value)
    assert (info.value.chunk_type, info.value.field) == ("bogus", None)


def test_check_chunk_target_unknown_field_on_known_type() -> None:
    with pytest.raises(TargetError) as info:
        check_chunk_target({"type": "text-start", "id": "t1", "extra": 1}, "v7")
    assert (info.value.chunk_type, info.value.field) == ("text-start", "extra")
    assert "needs target" not in str(info.value)


def test_check_chunk_target_unknown_field_on_data_chunk() -> None:
    with pytest.raises(TargetError) as info:
        check_chunk_target({"type": "data-x", "data": 1, "extra": 1}, "v6")
    assert (info.value.chunk_type, info.value.field) == ("data-x", "extra")


@pytest.mark.parametrize("chunk", [{"type": 5}, {"id": "t1"}, {"type": None}])
def test_check_chunk_target_needs_a_string_type(chunk: dict[str, Any]) -> None:
    with pytest.raises(TargetError) as info:
        check_chunk_target(chunk, "v6")
    assert info.value.field == "type"


def test_target_error_is_a_protocol_error() -> None:
    assert issubclass(TargetError, ProtocolError)


# --- parse_chunk: the client's schema --------------------------------------------------


@pytest.mark.parametrize("kind", ALL_TYPES)
def test_parse_chunk_minimal_chunk_gives_its_model(kind: str) -> None:
    model = parse_chunk(MINIMAL[kind])
    assert type(model) is MODEL_BY_TYPE[kind]
    assert model.to_wire() == MINIMAL[kind]


@pytest.mark.parametrize("kind", ALL_TYPES)
def test_parse_chunk_full_chunk_round_trips_through_json(kind: str) -> None:
    text = json.dumps(FULL[kind])
    assert parse_chunk(text).to_wire() == FULL[kind]
    assert parse_chunk(text.encode()).to_wire() == FULL[kind]
    assert parse_chunk(FULL[kind]).to_wire() == FULL[kind]


@pytest.mark.parametrize(("kind", "field"), _required_cases())
def test_parse_chunk_rejects_missing_required_field(kind: str, field: str) -> None:
    chunk = {k: v for k, v in MINIMAL[kind].items() if k != field}
    with pytest.raises(ValidationError):
        parse_chunk(chunk)
    with pytest.raises(ValidationError):
        parse_chunk(json.dumps(chunk))


@pytest.mark.parametrize(("kind", "field"), sorted(NULLABLE_REQUIRED))
def test_parse_chunk_accepts_null_for_required_unknown_field(kind: str, field: str) -> None:
    chunk = {**MINIMAL[kind], field: None}
    assert parse_chunk(json.dumps(chunk)).to_wire() == chunk
    assert parse_chunk(chunk).to_wire() == chunk


@pytest.mark.parametrize(("kind", "field"), _optional_cases())
def test_parse_chunk_null_optional_field(kind: str, field: str) -> None:
    chunk = {**MINIMAL[kind], field: None}
    if (kind, field) in UNKNOWN_OPTIONALS:
        parse_chunk(json.dumps(chunk))  # z.unknown().optional() takes null
        parse_chunk(chunk)
    else:
        with pytest.raises(ValidationError, match="must be omitted rather than null"):
            parse_chunk(json.dumps(chunk))
        with pytest.raises(ValidationError, match="must be omitted rather than null"):
            parse_chunk(chunk)


@pytest.mark.parametrize("kind", ALL_TYPES)
def test_parse_chunk_rejects_unknown_field(kind: str) -> None:
    with pytest.raises(ValidationError):
        parse_chunk({**MINIMAL[kind], "bogus": 1})


@pytest.mark.parametrize(
    "chunk",
    [
        {"type": "bogus"},
        {"type": "data"},
        {"type": "Data-x", "data": 1},
        {"data": 1},
        {"type": 5},
        {"type": "finish", "finishReason": "bogus"},
        {"type": "text-delta", "id": "t1", "delta": 5},
        {"type": "text-start", "id": 1},
        {"type": "text-start", "id": "t1", "providerMetadata": {"openai": 1}},
        {"type": "text-start", "id": "t1", "providerMetadata": [1]},
        {"type": "tool-input-start", "toolCallId": "c", "toolName": "n", "inputEncoding": "xml"},
        {"type": "tool-input-start", "toolCallId": "c", "toolName": "n", "toolMetadata": [1]},
        {"type": "steering-message", "id": "s", "parts": [{"type": "image", "url": "u"}]},
        {"type": "steering-message", "id": "s", "parts": [{"type": "text"}]},
    ],
)
def test_parse_chunk_rejects_invalid_chunks(chunk: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse_chunk(chunk)
    with pytest.raises(ValidationError):
        parse_chunk(json.dumps(chunk))


def test_parse_chunk_accepts_bare_data_prefix() -> None:
    # the client's z.custom check is startsWith("data-"), so "data-" itself passes
    assert isinstance(parse_chunk('{"type":"data-","data":1}'), DataChunk)


@pytest.mark.parametrize("reason", sorted(BASE_REASONS | {"unknown", "interrupted"}))
def test_parse_chunk_accepts_every_finish_reason_of_some_target(reason: str) -> None:
    assert parse_chunk({"type": "finish", "finishReason": reason}).to_wire() == {
        "type": "finish",
        "finishReason": reason,
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [("dynamic", 1), ("dynamic", "true"), ("providerExecuted", 0), ("title", 5)],
)
def test_parse_chunk_json_is_strict(field: str, value: Any) -> None:
    chunk = {**MINIMAL["tool-input-start"], field: value}
    with pytest.raises(ValidationError):
        parse_chunk(json.dumps(chunk))


def test_parse_chunk_mapping_is_lenient_for_scalars() -> None:
    chunk = {**MINIMAL["tool-output-available"], "dynamic": 1}
    assert parse_chunk(chunk).to_wire()["dynamic"] is True


def test_parse_chunk_rejects_invalid_json() -> None:
    with pytest.raises(ValidationError):
        parse_chunk('{"type": "start"')
    with pytest.raises(ValidationError):
        parse_chunk(b"[1, 2]")


@pytest.mark.parametrize(
    "citation",
    [
        {**CITATION, "startIndex": -1},
        {**CITATION, "endIndex": True},
        {**CITATION, "startIndex": "1"},
        {"source": {"type": "source", "sourceType": "web", "id": "s", "url": "u"}},
        {"source": {"type": "source", "sourceType": "document", "id": "s", "mediaType": "m"}},
        {"source": {"type": "src", "sourceType": "url", "id": "s", "url": "u"}},
        {**CITATION, "source": {**CITATION["source"], "title": None}},
    ],
)
def test_parse_chunk_rejects_invalid_citations(citation: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        parse_chunk(json.dumps({"type": "text-end", "id": "t1", "citations": [citation]}))


def test_parse_chunk_accepts_document_citation() -> None:
    doc = {
        "source": {
            "type": "source",
            "sourceType": "document",
            "id": "s2",
            "mediaType": "application/pdf",
            "title": "Doc",
            "filename": "d.pdf",
        }
    }
    chunk = {"type": "text-end", "id": "t1", "citations": [doc]}
    model = parse_chunk(json.dumps(chunk))
    assert isinstance(model, TextEndChunk)
    assert model.citations is not None
    assert isinstance(model.citations[0].source, CitationDocumentSource)
    assert model.to_wire() == chunk


def test_parse_chunk_accepts_integral_float_citation_index() -> None:
    chunk = {"type": "text-end", "id": "t1", "citations": [{**CITATION, "startIndex": 1.0}]}
    parse_chunk(json.dumps(chunk))


def test_parse_chunk_steering_file_part() -> None:
    part = {
        "type": "file",
        "mediaType": "image/png",
        "url": "https://e.com/a.png",
        "filename": "a.png",
        "providerReference": {"openai": "file_1"},
        "providerMetadata": PM,
    }
    chunk = {"type": "steering-message", "id": "sm1", "parts": [part]}
    model = parse_chunk(json.dumps(chunk))
    assert isinstance(model, SteeringMessageChunk)
    assert isinstance(model.parts[0], SteeringFilePart)
    assert model.to_wire() == chunk


# --- the models and their wire form ----------------------------------------------------


def test_to_wire_uses_camel_case_and_omits_unset_optionals() -> None:
    chunk = ToolInputStartChunk(tool_call_id="c1", tool_name="search", provider_executed=True)
    assert chunk.to_wire() == {
        "type": "tool-input-start",
        "toolCallId": "c1",
        "toolName": "search",
        "providerExecuted": True,
    }


def test_to_wire_omits_optionals_given_as_none_in_python() -> None:
    chunk = SourceUrlChunk(source_id="s1", url="https://e.com", title=None, provider_metadata=None)
    assert chunk.to_wire() == {"type": "source-url", "sourceId": "s1", "url": "https://e.com"}


def test_to_wire_keeps_false_and_empty_values() -> None:
    chunk = ToolOutputAvailableChunk(tool_call_id="c1", output="", dynamic=False, preliminary=False)
    assert chunk.to_wire() == {
        "type": "tool-output-available",
        "toolCallId": "c1",
        "output": "",
        "dynamic": False,
        "preliminary": False,
    }


@pytest.mark.parametrize(
    ("chunk", "key"),
    [
        (ToolInputAvailableChunk(tool_call_id="c1", tool_name="n", input=None), "input"),
        (
            ToolInputErrorChunk(tool_call_id="c1", tool_name="n", input=None, error_text="e"),
            "input",
        ),
        (ToolOutputAvailableChunk(tool_call_id="c1", output=None), "output"),
        (DataChunk(type="data-x", data=None), "data"),
        (MessageMetadataChunk(message_metadata=None), "messageMetadata"),
    ],
)
def test_to_wire_always_sends_required_unknown_fields(chunk: BaseChunk, key: str) -> None:
    wire = chunk.to_wire()
    assert key in wire
    assert wire[key] is None
    assert parse_chunk(json.dumps(wire)) == chunk


def test_to_wire_omits_unset_metadata_on_start_and_finish() -> None:
    assert StartChunk().to_wire() == {"type": "start"}
    assert FinishChunk(finish_reason="stop").to_wire() == {"type": "finish", "finishReason": "stop"}
    assert StartChunk(message_id="m1", message_metadata={"a": 1}).to_wire() == {
        "type": "start",
        "messageId": "m1",
        "messageMetadata": {"a": 1},
    }


def test_to_wire_keeps_nulls_inside_payloads() -> None:
    chunk = DataChunk(type="data-x", data={"a": None, "b": [None]})
    assert chunk.to_wire() == {"type": "data-x", "data": {"a": None, "b": [None]}}
    out = ToolOutputAvailableChunk(tool_call_id="c1", output={"a": None})
    assert out.to_wire()["output"] == {"a": None}


def test_to_wire_nested_wire_models_omit_unset_optionals() -> None:
    chunk = TextEndChunk(
        id="t1",
        citations=[Citation(source=CitationUrlSource(id="s1", url="https://e.com"), end_index=3)],
    )
    assert chunk.to_wire() == {
        "type": "text-end",
        "id": "t1",
        "citations": [
            {
                "source": {
                    "type": "source",
                    "sourceType": "url",
                    "id": "s1",
                    "url": "https://e.com",
                },
                "endIndex": 3,
            }
        ],
    }
    steering = SteeringMessageChunk(id="sm1", parts=[SteeringTextPart(text="hi")])
    assert steering.to_wire() == {
        "type": "steering-message",
        "id": "sm1",
        "parts": [{"type": "text", "text": "hi"}],
    }


def test_models_accept_camel_case_names_too() -> None:
    by_alias = ToolOutputErrorChunk.model_validate({"toolCallId": "c1", "errorText": "e"})
    by_name = ToolOutputErrorChunk(tool_call_id="c1", error_text="e")
    assert by_alias == by_name


def test_models_are_frozen() -> None:
    chunk = TextDeltaChunk(id="t1", delta="hi")
    with pytest.raises(ValidationError):
        chunk.delta = "bye"  # type: ignore[misc]


def test_models_reject_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        TextDeltaChunk(id="t1", delta="hi", bogus=1)  # type: ignore[call-arg]


def test_models_reject_wrong_type_literal() -> None:
    with pytest.raises(ValidationError):
        TextDeltaChunk(type="text-start", id="t1", delta="hi")  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["weather", "dat-x", "", "data"])
def test_data_chunk_type_must_start_with_data_prefix(kind: str) -> None:
    with pytest.raises(ValidationError, match='must start with "data-"'):
        DataChunk(type=kind, data=1)


def test_data_chunk_to_wire() -> None:
    chunk = DataChunk(type="data-weather", id="w1", data={"t": 20}, transient=True)
    assert chunk.to_wire() == {
        "type": "data-weather",
        "id": "w1",
        "data": {"t": 20},
        "transient": True,
    }


def test_error_chunk_requires_error_text() -> None:
    with pytest.raises(ValidationError):
        ErrorChunk()  # type: ignore[call-arg]
    assert ErrorChunk(error_text="x").to_wire() == {"type": "error", "errorText": "x"}


@pytest.mark.parametrize("kind", ALL_TYPES)
def test_since_is_the_first_target_knowing_the_type(kind: str) -> None:
    first = next(t for t in TARGETS if kind in EXPECTED_FIELDS[t])
    assert MODEL_BY_TYPE[kind].since == first
