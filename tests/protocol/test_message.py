"""The assembled UIMessage, compared with the AI SDK client's own result.

Every expected message and error below came from running the same chunks through
``readUIMessageStream({message, stream, onError})`` of ai@5.0.277, ai@6.0.326 and
ai@7.0.173 with node (last snapshot, rendered with ``JSON.stringify``), or, for state
that produces no snapshot (``finishReason``), from reading ``processUIMessageStream``.
Messages are compared as JSON text, so key order is checked too.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from uiwire.protocol import StreamViolation
from uiwire.protocol._js_values import UNDEFINED, merge_objects
from uiwire.protocol.message import UIMessageAssembler
from uiwire.protocol.targets import Target

Chunk = dict[str, Any]


def apply_all(assembler: UIMessageAssembler, chunks: list[Chunk]) -> None:
    for chunk in chunks:
        assembler.apply(chunk)


def run(target: Target, chunks: list[Chunk], message: Chunk | None = None) -> UIMessageAssembler:
    assembler = UIMessageAssembler(target=target, message=message)
    apply_all(assembler, chunks)
    return assembler


def run_until_violation(
    target: Target, chunks: list[Chunk], message: Chunk | None = None
) -> tuple[UIMessageAssembler, StreamViolation]:
    assembler = UIMessageAssembler(target=target, message=message)
    with pytest.raises(StreamViolation) as info:
        apply_all(assembler, chunks)
    assert info.value.kind == "ordering"
    return assembler, info.value


def assert_message(assembler: UIMessageAssembler, expected: Chunk) -> None:
    assert json.dumps(assembler.message) == json.dumps(expected)


def empty(parts: list[Chunk], **extra: Any) -> Chunk:
    return {"id": "", **extra, "role": "assistant", "parts": parts}


ALL: list[Target] = ["v5", "v6", "v7"]


# -- text and reasoning ----------------------------------------------------------------


def test_text_parts() -> None:
    assembler = run(
        "v6",
        [
            {"type": "start", "messageId": "m1"},
            {"type": "start-step"},
            {"type": "text-start", "id": "t1", "providerMetadata": {"p": {"a": 1}}},
            {"type": "text-delta", "id": "t1", "delta": "Hel"},
            {"type": "text-delta", "id": "t1", "delta": "lo"},
            {"type": "text-end", "id": "t1"},
            {"type": "text-start", "id": "t2"},
            {
                "type": "text-delta",
                "id": "t2",
                "delta": "open",
                "providerMetadata": {"p": {"b": 2}},
            },
            {"type": "finish-step"},
            {"type": "finish", "finishReason": "stop"},
        ],
    )
    assert_message(
        assembler,
        {
            "id": "m1",
            "role": "assistant",
            "parts": [
                {"type": "step-start"},
                {
                    "type": "text",
                    "text": "Hello",
                    "providerMetadata": {"p": {"a": 1}},
                    "state": "done",
                },
                {
                    "type": "text",
                    "text": "open",
                    "providerMetadata": {"p": {"b": 2}},
                    "state": "streaming",
                },
            ],
        },
    )
    assert assembler.finish_reason == "stop"


def test_reasoning_part_keeps_its_id() -> None:
    assembler = run(
        "v6",
        [
            {"type": "reasoning-start", "id": "r1"},
            {"type": "reasoning-delta", "id": "r1", "delta": "think"},
            {"type": "reasoning-end", "id": "r1", "providerMetadata": {"p": {"sig": "x"}}},
        ],
    )
    assert_message(
        assembler,
        empty(
            [
                {
                    "type": "reasoning",
                    "id": "r1",
                    "text": "think",
                    "providerMetadata": {"p": {"sig": "x"}},
                    "state": "done",
                }
            ]
        ),
    )


def test_a_closed_id_can_be_reopened_and_an_open_one_restarted() -> None:
    assembler = run(
        "v6",
        [
            {"type": "text-start", "id": "t"},
            {"type": "text-end", "id": "t"},
            {"type": "text-start", "id": "t"},
            {"type": "text-delta", "id": "t", "delta": "again"},
            {"type": "text-start", "id": "t"},
            {"type": "text-delta", "id": "t", "delta": "third"},
        ],
    )
    assert_message(
        assembler,
        empty(
            [
                {"type": "text", "text": "", "state": "done"},
                {"type": "text", "text": "again", "state": "streaming"},
                {"type": "text", "text": "third", "state": "streaming"},
            ]
        ),
    )


@pytest.mark.parametrize("target", ["v6", "v7"])
@pytest.mark.parametrize(
    ("chunk_type", "what"),
    [
        ("text-delta", "text part"),
        ("text-end", "text part"),
        ("reasoning-delta", "reasoning part"),
        ("reasoning-end", "reasoning part"),
    ],
)
def test_delta_or_end_for_unknown_id(target: Target, chunk_type: str, what: str) -> None:
    chunk: Chunk = {"type": chunk_type, "id": "x1"}
    if chunk_type.endswith("delta"):
        chunk["delta"] = "a"
    start = chunk_type.split("-")[0] + "-start"
    _, violation = run_until_violation(target, [chunk])
    assert violation.message == (
        f'Received {chunk_type} for missing {what} with ID "x1". '
        f'Ensure a "{start}" chunk is sent before any "{chunk_type}" chunks.'
    )
    assert violation.chunk_type == chunk_type
    assert violation.chunk_id == "x1"


@pytest.mark.parametrize(
    ("chunk", "message"),
    [
        (
            {"type": "text-delta", "id": "x1", "delta": "a"},
            "TypeError: Cannot read properties of undefined (reading 'text')",
        ),
        (
            {"type": "text-end", "id": "x1"},
            "TypeError: Cannot set properties of undefined (setting 'state')",
        ),
        (
            {"type": "reasoning-delta", "id": "x1", "delta": "a"},
            "TypeError: Cannot read properties of undefined (reading 'text')",
        ),
        (
            {"type": "reasoning-end", "id": "x1"},
            "TypeError: Cannot read properties of undefined (reading 'providerMetadata')",
        ),
        (
            {"type": "reasoning-end", "id": "x1", "providerMetadata": {"p": {}}},
            "TypeError: Cannot set properties of undefined (setting 'providerMetadata')",
        ),
        (
            {"type": "tool-input-delta", "toolCallId": "x1", "inputTextDelta": "{"},
            "TypeError: Cannot read properties of undefined (reading 'text')",
        ),
    ],
)
def test_v5_crashes_with_a_type_error(chunk: Chunk, message: str) -> None:
    _, violation = run_until_violation("v5", [chunk])
    assert violation.message == message
    assert violation.chunk_type == chunk["type"]
    assert violation.chunk_id == "x1"


@pytest.mark.parametrize("target", ALL)
def test_id_maps_have_no_prototype(target: Target) -> None:
    _, violation = run_until_violation(
        target,
        [
            {"type": "text-start", "id": "t"},
            {"type": "text-delta", "id": "constructor", "delta": "x"},
        ],
    )
    assert violation.chunk_id == "constructor"


# -- steps ------------------------------------------------------------------------------

STEP_CHUNKS: list[Chunk] = [
    {"type": "start-step"},
    {"type": "text-start", "id": "t1"},
    {"type": "reasoning-start", "id": "r1"},
    {"type": "finish-step"},
    {"type": "start-step"},
    {"type": "text-delta", "id": "t1", "delta": "late"},
    {"type": "reasoning-end", "id": "r1"},
]
STEP_PARTS_BEFORE_LATE_DELTA: list[Chunk] = [
    {"type": "step-start"},
    {"type": "text", "text": "", "state": "streaming"},
    {"type": "reasoning", "id": "r1", "text": "", "state": "streaming"},
    {"type": "step-start"},
]


def test_v6_finish_step_closes_open_text_and_reasoning() -> None:
    assembler, violation = run_until_violation("v6", STEP_CHUNKS)
    assert violation.message == (
        'Received text-delta for missing text part with ID "t1". '
        'Ensure a "text-start" chunk is sent before any "text-delta" chunks.'
    )
    assert_message(assembler, empty(STEP_PARTS_BEFORE_LATE_DELTA))


def test_v5_finish_step_closes_open_text_too() -> None:
    assembler, violation = run_until_violation("v5", STEP_CHUNKS)
    assert violation.message == "TypeError: Cannot read properties of undefined (reading 'text')"
    assert_message(assembler, empty(STEP_PARTS_BEFORE_LATE_DELTA))


def test_v7_finish_step_leaves_parts_open() -> None:
    assert_message(
        run("v7", STEP_CHUNKS),
        empty(
            [
                {"type": "step-start"},
                {"type": "text", "text": "late", "state": "streaming"},
                {"type": "reasoning", "id": "r1", "text": "", "state": "done"},
                {"type": "step-start"},
            ]
        ),
    )


RESET_CHUNKS: list[Chunk] = [
    {"type": "start-step"},
    {"type": "text-start", "id": "t1"},
    {"type": "text-delta", "id": "t1", "delta": "kept"},
    {"type": "text-end", "id": "t1"},
    {"type": "finish-step"},
    {"type": "start-step"},
    {"type": "text-start", "id": "t2"},
    {"type": "tool-input-start", "toolCallId": "c1", "toolName": "search"},
    {"type": "reset-step"},
    {"type": "text-delta", "id": "t2", "delta": "x"},
]


def test_v7_reset_step_drops_the_current_step_and_its_open_ids() -> None:
    assembler, violation = run_until_violation("v7", RESET_CHUNKS)
    assert violation.chunk_id == "t2"
    assert_message(
        assembler,
        empty(
            [
                {"type": "step-start"},
                {"type": "text", "text": "kept", "state": "done"},
                {"type": "step-start"},
            ]
        ),
    )


def test_v7_reset_step_forgets_partial_tool_calls() -> None:
    _, violation = run_until_violation(
        "v7",
        [
            {"type": "tool-input-start", "toolCallId": "c1", "toolName": "search"},
            {"type": "reset-step"},
            {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": "{"},
        ],
    )
    assert violation.chunk_type == "tool-input-delta"


@pytest.mark.parametrize("target", ["v5", "v6"])
def test_reset_step_is_ignored_before_v7(target: Target) -> None:
    assert_message(
        run(target, RESET_CHUNKS),
        empty(
            [
                {"type": "step-start"},
                {"type": "text", "text": "kept", "state": "done"},
                {"type": "step-start"},
                {"type": "text", "text": "x", "state": "streaming"},
                {"type": "tool-search", "toolCallId": "c1", "state": "input-streaming"},
            ]
        ),
    )


# -- files, sources, v7 parts ------------------------------------------------------------

FILE_CHUNKS: list[Chunk] = [
    {
        "type": "file",
        "url": "https://x/a.png",
        "mediaType": "image/png",
        "providerMetadata": {"p": {"k": 1}},
    },
    {"type": "file", "url": "data:text/plain;base64,eA==", "mediaType": "text/plain"},
    {
        "type": "reasoning-file",
        "url": "data:image/png;base64,AA==",
        "mediaType": "image/png",
        "providerMetadata": {"p": {"k": 2}},
    },
]


def test_v5_file_part_has_no_provider_metadata() -> None:
    assert_message(
        run("v5", FILE_CHUNKS),
        empty(
            [
                {"type": "file", "mediaType": "image/png", "url": "https://x/a.png"},
                {"type": "file", "mediaType": "text/plain", "url": "data:text/plain;base64,eA=="},
            ]
        ),
    )


def test_v6_file_part() -> None:
    assert_message(
        run("v6", FILE_CHUNKS),
        empty(
            [
                {
                    "type": "file",
                    "mediaType": "image/png",
                    "url": "https://x/a.png",
                    "providerMetadata": {"p": {"k": 1}},
                },
                {"type": "file", "mediaType": "text/plain", "url": "data:text/plain;base64,eA=="},
            ]
        ),
    )


def test_v7_reasoning_file_part() -> None:
    assert run("v7", FILE_CHUNKS).message["parts"][2] == {
        "type": "reasoning-file",
        "mediaType": "image/png",
        "url": "data:image/png;base64,AA==",
        "providerMetadata": {"p": {"k": 2}},
    }


@pytest.mark.parametrize("target", ALL)
def test_source_parts(target: Target) -> None:
    assembler = run(
        target,
        [
            {
                "type": "source-url",
                "sourceId": "s1",
                "url": "https://a",
                "title": "A",
                "providerMetadata": {"p": {}},
            },
            {"type": "source-url", "sourceId": "s2", "url": "https://b"},
            {
                "type": "source-document",
                "sourceId": "s3",
                "mediaType": "application/pdf",
                "title": "Doc",
                "filename": "d.pdf",
            },
        ],
    )
    assert_message(
        assembler,
        empty(
            [
                {
                    "type": "source-url",
                    "sourceId": "s1",
                    "url": "https://a",
                    "title": "A",
                    "providerMetadata": {"p": {}},
                },
                {"type": "source-url", "sourceId": "s2", "url": "https://b"},
                {
                    "type": "source-document",
                    "sourceId": "s3",
                    "mediaType": "application/pdf",
                    "title": "Doc",
                    "filename": "d.pdf",
                },
            ]
        ),
    )


V7_PART_CHUNKS: list[Chunk] = [
    {"type": "custom", "kind": "openai.thing", "providerMetadata": {"openai": {"x": 1}}},
    {"type": "custom", "kind": "a.b"},
    {
        "type": "steering-message",
        "id": "sm1",
        "parts": [
            {"type": "text", "text": "focus"},
            {"type": "file", "mediaType": "image/png", "url": "data:image/png;base64,AA=="},
        ],
    },
    {"type": "text-start", "id": "t1"},
    {
        "type": "text-end",
        "id": "t1",
        "citations": [
            {
                "source": {"type": "source", "sourceType": "url", "id": "s1", "url": "https://a"},
                "startIndex": 0,
                "endIndex": 4,
                "citedText": "abcd",
            }
        ],
    },
]


def test_v7_custom_steering_and_citations() -> None:
    assert_message(
        run("v7", V7_PART_CHUNKS),
        empty(
            [
                {
                    "type": "custom",
                    "kind": "openai.thing",
                    "providerMetadata": {"openai": {"x": 1}},
                },
                {"type": "custom", "kind": "a.b"},
                {
                    "type": "steering-message",
                    "id": "sm1",
                    "parts": [
                        {"type": "text", "text": "focus"},
                        {
                            "type": "file",
                            "mediaType": "image/png",
                            "url": "data:image/png;base64,AA==",
                        },
                    ],
                },
                {
                    "type": "text",
                    "text": "",
                    "state": "done",
                    "citations": [
                        {
                            "source": {
                                "type": "source",
                                "sourceType": "url",
                                "id": "s1",
                                "url": "https://a",
                            },
                            "startIndex": 0,
                            "endIndex": 4,
                            "citedText": "abcd",
                        }
                    ],
                },
            ]
        ),
    )


@pytest.mark.parametrize("target", ["v5", "v6"])
def test_v7_parts_are_ignored_before_v7(target: Target) -> None:
    assert_message(
        run(target, V7_PART_CHUNKS), empty([{"type": "text", "text": "", "state": "done"}])
    )


# -- tools ------------------------------------------------------------------------------

TOOL_START: Chunk = {
    "type": "tool-input-start",
    "toolCallId": "c1",
    "toolName": "weather",
    "title": "Weather",
    "providerMetadata": {"p": {"call": 1}},
    "toolMetadata": {"v": 1},
}
TOOL_CHUNKS: list[Chunk] = [
    {"type": "start-step"},
    TOOL_START,
    {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": '{"city": "Ber'},
    {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": 'lin"}'},
    {
        "type": "tool-input-available",
        "toolCallId": "c1",
        "toolName": "weather",
        "input": {"city": "Berlin"},
        "providerMetadata": {"p": {"call": 2}},
    },
    {"type": "tool-output-available", "toolCallId": "c1", "output": {"t": 1}, "preliminary": True},
    {
        "type": "tool-output-available",
        "toolCallId": "c1",
        "output": {"t": 20},
        "providerMetadata": {"p": {"result": 1}},
        "toolMetadata": {"v": 2},
    },
]


@pytest.mark.parametrize("target", ["v6", "v7"])
def test_tool_input_streaming(target: Target) -> None:
    assert_message(
        run(target, TOOL_CHUNKS[:3]),
        empty(
            [
                {"type": "step-start"},
                {
                    "type": "tool-weather",
                    "toolCallId": "c1",
                    "state": "input-streaming",
                    "title": "Weather",
                    "toolMetadata": {"v": 1},
                    "input": {"city": "Ber"},
                    "rawInput": '{"city": "Ber',
                    "callProviderMetadata": {"p": {"call": 1}},
                },
            ]
        ),
    )


def test_v5_tool_input_streaming_ignores_title_and_metadata() -> None:
    assert_message(
        run("v5", TOOL_CHUNKS[:3]),
        empty(
            [
                {"type": "step-start"},
                {
                    "type": "tool-weather",
                    "toolCallId": "c1",
                    "state": "input-streaming",
                    "input": {"city": "Ber"},
                    "rawInput": '{"city": "Ber',
                },
            ]
        ),
    )


@pytest.mark.parametrize("target", ["v6", "v7"])
def test_tool_call_to_output(target: Target) -> None:
    assert_message(
        run(target, TOOL_CHUNKS),
        empty(
            [
                {"type": "step-start"},
                {
                    "type": "tool-weather",
                    "toolCallId": "c1",
                    "state": "output-available",
                    "title": "Weather",
                    "toolMetadata": {"v": 2},
                    "input": {"city": "Berlin"},
                    "output": {"t": 20},
                    "callProviderMetadata": {"p": {"call": 2}},
                    "resultProviderMetadata": {"p": {"result": 1}},
                },
            ]
        ),
    )


def test_v5_tool_call_to_output() -> None:
    assert_message(
        run("v5", TOOL_CHUNKS),
        empty(
            [
                {"type": "step-start"},
                {
                    "type": "tool-weather",
                    "toolCallId": "c1",
                    "state": "output-available",
                    "input": {"city": "Berlin"},
                    "output": {"t": 20},
                    "callProviderMetadata": {"p": {"call": 2}},
                },
            ]
        ),
    )


def test_preliminary_output() -> None:
    assert_message(
        run("v6", TOOL_CHUNKS[:6]),
        empty(
            [
                {"type": "step-start"},
                {
                    "type": "tool-weather",
                    "toolCallId": "c1",
                    "state": "output-available",
                    "title": "Weather",
                    "toolMetadata": {"v": 1},
                    "input": {"city": "Berlin"},
                    "output": {"t": 1},
                    "preliminary": True,
                    "callProviderMetadata": {"p": {"call": 2}},
                },
            ]
        ),
    )


TEXT_INPUT_CHUNKS: list[Chunk] = [
    {"type": "tool-input-start", "toolCallId": "c1", "toolName": "shell", "inputEncoding": "text"},
    {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": "ls -"},
    {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": "la"},
]


@pytest.mark.parametrize("target", ["v6", "v7"])
def test_text_encoded_tool_input(target: Target) -> None:
    assert_message(
        run(target, TEXT_INPUT_CHUNKS),
        empty(
            [
                {
                    "type": "tool-shell",
                    "toolCallId": "c1",
                    "state": "input-streaming",
                    "input": "ls -la",
                    "inputEncoding": "text",
                    "rawInput": "ls -la",
                }
            ]
        ),
    )


def test_v5_parses_text_encoded_input_as_json() -> None:
    assert_message(
        run("v5", TEXT_INPUT_CHUNKS),
        empty(
            [
                {
                    "type": "tool-shell",
                    "toolCallId": "c1",
                    "state": "input-streaming",
                    "rawInput": "ls -la",
                }
            ]
        ),
    )


@pytest.mark.parametrize("target", ALL)
def test_input_available_drops_input_encoding_and_raw_input(target: Target) -> None:
    chunks: list[Chunk] = [
        TEXT_INPUT_CHUNKS[0],
        {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": "ls"},
        {"type": "tool-input-available", "toolCallId": "c1", "toolName": "shell", "input": "ls"},
    ]
    assert_message(
        run(target, chunks),
        empty(
            [{"type": "tool-shell", "toolCallId": "c1", "state": "input-available", "input": "ls"}]
        ),
    )


def test_partial_input_with_proto_key_is_undefined() -> None:
    assert_message(
        run(
            "v6",
            [
                {"type": "tool-input-start", "toolCallId": "c1", "toolName": "a"},
                {
                    "type": "tool-input-delta",
                    "toolCallId": "c1",
                    "inputTextDelta": '{"__proto__": {"x": 1}, "b": 2',
                },
            ],
        ),
        empty(
            [
                {
                    "type": "tool-a",
                    "toolCallId": "c1",
                    "state": "input-streaming",
                    "rawInput": '{"__proto__": {"x": 1}, "b": 2',
                }
            ]
        ),
    )


DYNAMIC_CHUNKS: list[Chunk] = [
    {
        "type": "tool-input-start",
        "toolCallId": "c1",
        "toolName": "mcp_search",
        "dynamic": True,
        "providerExecuted": True,
    },
    {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": '{"q": 1'},
    {
        "type": "tool-input-available",
        "toolCallId": "c1",
        "toolName": "mcp_search",
        "dynamic": True,
        "input": {"q": 1},
        "providerMetadata": {"p": {"c": 1}},
    },
    {
        "type": "tool-output-error",
        "toolCallId": "c1",
        "errorText": "boom",
        "dynamic": True,
        "providerMetadata": {"p": {"r": 1}},
    },
]


@pytest.mark.parametrize("target", ["v6", "v7"])
def test_dynamic_tool(target: Target) -> None:
    assert_message(
        run(target, DYNAMIC_CHUNKS),
        empty(
            [
                {
                    "type": "dynamic-tool",
                    "toolName": "mcp_search",
                    "toolCallId": "c1",
                    "state": "output-error",
                    "input": {"q": 1},
                    "errorText": "boom",
                    "providerExecuted": True,
                    "callProviderMetadata": {"p": {"c": 1}},
                    "resultProviderMetadata": {"p": {"r": 1}},
                }
            ]
        ),
    )


def test_v5_dynamic_tool_has_no_result_provider_metadata() -> None:
    assert_message(
        run("v5", DYNAMIC_CHUNKS),
        empty(
            [
                {
                    "type": "dynamic-tool",
                    "toolName": "mcp_search",
                    "toolCallId": "c1",
                    "state": "output-error",
                    "input": {"q": 1},
                    "errorText": "boom",
                    "providerExecuted": True,
                    "callProviderMetadata": {"p": {"c": 1}},
                }
            ]
        ),
    )


@pytest.mark.parametrize("target", ALL)
def test_output_error_keeps_raw_input_of_static_tool(target: Target) -> None:
    chunks: list[Chunk] = [
        {"type": "tool-input-start", "toolCallId": "c1", "toolName": "calc"},
        {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": '{"x": 1'},
        {
            "type": "tool-output-error",
            "toolCallId": "c1",
            "errorText": "Error: nope",
            "providerExecuted": False,
        },
    ]
    assert_message(
        run(target, chunks),
        empty(
            [
                {
                    "type": "tool-calc",
                    "toolCallId": "c1",
                    "state": "output-error",
                    "input": {"x": 1},
                    "rawInput": '{"x": 1',
                    "errorText": "Error: nope",
                    "providerExecuted": False,
                }
            ]
        ),
    )


INPUT_ERROR: Chunk = {
    "type": "tool-input-error",
    "toolCallId": "c1",
    "toolName": "calc",
    "input": "{bad",
    "errorText": "Invalid input",
    "providerMetadata": {"p": {"c": 1}},
}


@pytest.mark.parametrize(
    ("target", "input_key", "metadata_key"),
    [
        # v6 moves a static tool's input to rawInput; v7 keeps it; v5 also stores the
        # provider metadata as call (not result) metadata
        ("v6", "rawInput", "resultProviderMetadata"),
        ("v7", "input", "resultProviderMetadata"),
        ("v5", "rawInput", "callProviderMetadata"),
    ],
)
def test_tool_input_error_on_a_static_tool(
    target: Target, input_key: str, metadata_key: str
) -> None:
    part = {
        "type": "tool-calc",
        "toolCallId": "c1",
        "state": "output-error",
        input_key: "{bad",
        "errorText": "Invalid input",
        metadata_key: {"p": {"c": 1}},
    }
    assert_message(run(target, [INPUT_ERROR]), empty([part]))


@pytest.mark.parametrize("target", ALL)
def test_dynamic_tool_input_error_keeps_input(target: Target) -> None:
    chunk = {**INPUT_ERROR, "dynamic": True}
    del chunk["providerMetadata"]
    assert_message(
        run(target, [chunk]),
        empty(
            [
                {
                    "type": "dynamic-tool",
                    "toolName": "calc",
                    "toolCallId": "c1",
                    "state": "output-error",
                    "input": "{bad",
                    "errorText": "Invalid input",
                }
            ]
        ),
    )


EXISTING_DYNAMIC_THEN_INPUT_ERROR: list[Chunk] = [
    {"type": "tool-input-start", "toolCallId": "c1", "toolName": "calc", "dynamic": True},
    {
        "type": "tool-input-error",
        "toolCallId": "c1",
        "toolName": "calc",
        "input": {"a": 1},
        "errorText": "bad",
    },
]


@pytest.mark.parametrize("target", ["v6", "v7"])
def test_tool_input_error_follows_the_existing_part_type(target: Target) -> None:
    assert_message(
        run(target, EXISTING_DYNAMIC_THEN_INPUT_ERROR),
        empty(
            [
                {
                    "type": "dynamic-tool",
                    "toolName": "calc",
                    "toolCallId": "c1",
                    "state": "output-error",
                    "input": {"a": 1},
                    "errorText": "bad",
                }
            ]
        ),
    )


def test_v5_tool_input_error_trusts_the_chunk_and_duplicates_the_part() -> None:
    assert_message(
        run("v5", EXISTING_DYNAMIC_THEN_INPUT_ERROR),
        empty(
            [
                {
                    "type": "dynamic-tool",
                    "toolName": "calc",
                    "toolCallId": "c1",
                    "state": "input-streaming",
                },
                {
                    "type": "tool-calc",
                    "toolCallId": "c1",
                    "state": "output-error",
                    "rawInput": {"a": 1},
                    "errorText": "bad",
                },
            ]
        ),
    )


RENAME: list[Chunk] = [
    {"type": "tool-input-start", "toolCallId": "c1", "toolName": "a"},
    {"type": "tool-input-available", "toolCallId": "c1", "toolName": "b", "input": {}},
]


def test_v6_tool_part_takes_the_new_tool_name() -> None:
    assert_message(
        run("v6", RENAME),
        empty([{"type": "tool-b", "toolCallId": "c1", "state": "input-available", "input": {}}]),
    )


def test_v5_tool_part_keeps_its_tool_name() -> None:
    assert_message(
        run("v5", RENAME),
        empty([{"type": "tool-a", "toolCallId": "c1", "state": "input-available", "input": {}}]),
    )


def test_tool_lookup_prefers_the_current_step() -> None:
    assembler = run(
        "v6",
        [
            {"type": "start-step"},
            {"type": "tool-input-available", "toolCallId": "c1", "toolName": "a", "input": 1},
            {"type": "start-step"},
            {"type": "tool-input-start", "toolCallId": "c1", "toolName": "b"},
            {"type": "tool-output-available", "toolCallId": "c1", "output": "x"},
        ],
    )
    assert_message(
        assembler,
        empty(
            [
                {"type": "step-start"},
                {"type": "tool-a", "toolCallId": "c1", "state": "input-available", "input": 1},
                {"type": "step-start"},
                {"type": "tool-b", "toolCallId": "c1", "state": "output-available", "output": "x"},
            ]
        ),
    )


def test_input_delta_after_a_new_step_creates_a_second_part() -> None:
    assembler = run(
        "v6",
        [
            {"type": "tool-input-start", "toolCallId": "c1", "toolName": "a"},
            {"type": "start-step"},
            {"type": "tool-input-delta", "toolCallId": "c1", "inputTextDelta": '{"a":1}'},
        ],
    )
    assert_message(
        assembler,
        empty(
            [
                {"type": "tool-a", "toolCallId": "c1", "state": "input-streaming"},
                {"type": "step-start"},
                {
                    "type": "tool-a",
                    "toolCallId": "c1",
                    "state": "input-streaming",
                    "input": {"a": 1},
                    "rawInput": '{"a":1}',
                },
            ]
        ),
    )


@pytest.mark.parametrize("target", ["v6", "v7"])
@pytest.mark.parametrize(
    "chunk",
    [
        {"type": "tool-output-available", "toolCallId": "call_999", "output": None},
        {"type": "tool-output-error", "toolCallId": "call_999", "errorText": "x"},
        {"type": "tool-output-denied", "toolCallId": "call_999"},
        {"type": "tool-approval-request", "toolCallId": "call_999", "approvalId": "ap1"},
    ],
)
def test_unknown_tool_call_id(target: Target, chunk: Chunk) -> None:
    _, violation = run_until_violation(target, [chunk])
    assert violation.message == 'No tool invocation found for tool call ID "call_999".'
    assert violation.chunk_type == "tool-invocation"
    assert violation.chunk_id == "call_999"


@pytest.mark.parametrize(
    "chunk",
    [
        {"type": "tool-output-available", "toolCallId": "call_999", "output": None},
        {"type": "tool-output-error", "toolCallId": "call_999", "errorText": "x"},
    ],
)
def test_v5_unknown_tool_call_id(chunk: Chunk) -> None:
    _, violation = run_until_violation("v5", [chunk])
    assert violation.message == "tool-output-error must be preceded by a tool-input-available"
    assert violation.chunk_type == chunk["type"]
    assert violation.chunk_id == "call_999"


MISMATCHED_DYNAMIC: list[Chunk] = [
    {
        "type": "tool-input-available",
        "toolCallId": "c1",
        "toolName": "calc",
        "input": {},
        "dynamic": True,
    },
    {"type": "tool-output-available", "toolCallId": "c1", "output": 1},
]


def test_v5_output_looks_up_by_the_chunk_dynamic_flag() -> None:
    assembler, violation = run_until_violation("v5", MISMATCHED_DYNAMIC)
    assert violation.message == "tool-output-error must be preceded by a tool-input-available"
    assert_message(
        assembler,
        empty(
            [
                {
                    "type": "dynamic-tool",
                    "toolName": "calc",
                    "toolCallId": "c1",
                    "state": "input-available",
                    "input": {},
                }
            ]
        ),
    )


@pytest.mark.parametrize("target", ["v6", "v7"])
def test_output_finds_the_part_whatever_its_kind(target: Target) -> None:
    assert_message(
        run(target, MISMATCHED_DYNAMIC),
        empty(
            [
                {
                    "type": "dynamic-tool",
                    "toolName": "calc",
                    "toolCallId": "c1",
                    "state": "output-available",
                    "input": {},
                    "output": 1,
                }
            ]
        ),
    )


@pytest.mark.parametrize("target", ["v6", "v7"])
def test_tool_input_delta_without_start(target: Target) -> None:
    _, violation = run_until_violation(
        target, [{"type": "tool-input-delta", "toolCallId": "c9", "inputTextDelta": "{"}]
    )
    assert violation.message == (
        'Received tool-input-delta for missing tool call with ID "c9". '
        'Ensure a "tool-input-start" chunk is sent before any "tool-input-delta" chunks.'
    )
    assert violation.chunk_type == "tool-input-delta"
    assert violation.chunk_id == "c9"


# -- approvals --------------------------------------------------------------------------

APPROVAL_CHUNKS: list[Chunk] = [
    {"type": "tool-input-available", "toolCallId": "c1", "toolName": "delete", "input": {"p": "/"}},
    {
        "type": "tool-approval-request",
        "approvalId": "ap1",
        "toolCallId": "c1",
        "approvalDescriptor": {"d": 1},
        "inputSchemaInput": None,
        "signature": "sig",
        "reason": "policy",
        "isAutomatic": True,
    },
]


def test_v6_approval_request() -> None:
    assert_message(
        run("v6", APPROVAL_CHUNKS),
        empty(
            [
                {
                    "type": "tool-delete",
                    "toolCallId": "c1",
                    "state": "approval-requested",
                    "input": {"p": "/"},
                    "approval": {
                        "id": "ap1",
                        "descriptor": {"d": 1},
                        "inputSchemaInput": None,
                        "signature": "sig",
                    },
                }
            ]
        ),
    )


def test_v7_approval_request_with_reason_and_automatic_flag() -> None:
    assert_message(
        run("v7", APPROVAL_CHUNKS),
        empty(
            [
                {
                    "type": "tool-delete",
                    "toolCallId": "c1",
                    "state": "approval-requested",
                    "input": {"p": "/"},
                    "approval": {
                        "id": "ap1",
                        "descriptor": {"d": 1},
                        "inputSchemaInput": None,
                        "requestReason": "policy",
                        "isAutomatic": True,
                        "signature": "sig",
                    },
                }
            ]
        ),
    )


RESPONSE_CHUNKS: list[Chunk] = [
    {"type": "tool-input-available", "toolCallId": "c1", "toolName": "delete", "input": {"p": "/"}},
    {
        "type": "tool-approval-request",
        "approvalId": "ap1",
        "toolCallId": "c1",
        "reason": "policy",
        "isAutomatic": True,
    },
    {
        "type": "tool-approval-response",
        "approvalId": "ap1",
        "approved": False,
        "reason": "too risky",
        "providerExecuted": True,
        "providerMetadata": {"p": {"x": 1}},
    },
]


def test_v7_approval_response() -> None:
    assert_message(
        run("v7", RESPONSE_CHUNKS),
        empty(
            [
                {
                    "type": "tool-delete",
                    "toolCallId": "c1",
                    "state": "approval-responded",
                    "input": {"p": "/"},
                    "providerExecuted": True,
                    "approval": {
                        "id": "ap1",
                        "requestReason": "policy",
                        "isAutomatic": True,
                        "approved": False,
                        "reason": "too risky",
                    },
                    "callProviderMetadata": {"p": {"x": 1}},
                }
            ]
        ),
    )


@pytest.mark.parametrize("target", ALL)
def test_output_denied(target: Target) -> None:
    chunks = [*RESPONSE_CHUNKS, {"type": "tool-output-denied", "toolCallId": "c1"}]
    parts = run(target, chunks).message["parts"]
    # 5.x knows neither chunk: the part stays input-available
    assert parts[0]["state"] == ("input-available" if target == "v5" else "output-denied")
    if target == "v6":
        assert parts[0]["approval"] == {"id": "ap1"}


def test_v7_approval_response_for_unknown_approval_id() -> None:
    _, violation = run_until_violation(
        "v7", [{"type": "tool-approval-response", "approvalId": "nope", "approved": True}]
    )
    assert violation.message == 'No tool invocation found for approval ID "nope".'
    assert violation.chunk_type == "tool-approval-response"
    assert violation.chunk_id == "nope"


@pytest.mark.parametrize("target", ["v5", "v6"])
def test_approval_response_is_ignored_before_v7(target: Target) -> None:
    assert_message(
        run(target, [{"type": "tool-approval-response", "approvalId": "nope", "approved": True}]),
        empty([]),
    )


# -- continuation -----------------------------------------------------------------------

CONTINUED: Chunk = {
    "id": "a1",
    "role": "assistant",
    "metadata": {"usage": {"in": 1}},
    "parts": [
        {"type": "step-start"},
        {
            "type": "tool-delete",
            "toolCallId": "c1",
            "state": "approval-responded",
            "input": {"p": "/tmp"},
            "approval": {"id": "ap1", "approved": True},
        },
        {"type": "text", "text": "old", "state": "streaming"},
    ],
}


def test_continuation_resolves_a_tool_call_of_the_given_message() -> None:
    original = copy.deepcopy(CONTINUED)
    assembler = run(
        "v6",
        [
            {"type": "start", "messageId": "a1", "messageMetadata": {"usage": {"out": 2}}},
            {"type": "tool-output-available", "toolCallId": "c1", "output": {"deleted": True}},
            {"type": "start-step"},
            {"type": "text-start", "id": "t1"},
            {"type": "text-delta", "id": "t1", "delta": "Done"},
            {"type": "text-end", "id": "t1"},
            {"type": "finish"},
        ],
        CONTINUED,
    )
    assert_message(
        assembler,
        {
            "id": "a1",
            "role": "assistant",
            "metadata": {"usage": {"in": 1, "out": 2}},
            "parts": [
                {"type": "step-start"},
                {
                    "type": "tool-delete",
                    "toolCallId": "c1",
                    "state": "output-available",
                    "input": {"p": "/tmp"},
                    "approval": {"id": "ap1", "approved": True},
                    "output": {"deleted": True},
                },
                {"type": "text", "text": "old", "state": "streaming"},
                {"type": "step-start"},
                {"type": "text", "text": "Done", "state": "done"},
            ],
        },
    )
    assert original == CONTINUED  # never mutated


def test_start_with_another_message_id_drops_the_continued_message() -> None:
    assembler, violation = run_until_violation(
        "v6",
        [
            {"type": "start", "messageId": "a2"},
            {"type": "tool-output-available", "toolCallId": "c1", "output": {}},
        ],
        CONTINUED,
    )
    assert violation.message == 'No tool invocation found for tool call ID "c1".'
    assert_message(assembler, {"id": "a2", "role": "assistant", "parts": []})


def test_text_of_the_continued_message_is_not_open() -> None:
    _, violation = run_until_violation(
        "v6", [{"type": "text-delta", "id": "0", "delta": "x"}], CONTINUED
    )
    assert violation.chunk_type == "text-delta"


def test_continuation_resumes_a_streaming_tool_input() -> None:
    message: Chunk = {
        "id": "a1",
        "role": "assistant",
        "parts": [
            {"type": "step-start"},
            {
                "type": "tool-search",
                "toolCallId": "c7",
                "state": "input-streaming",
                "rawInput": '{"q": "py',
                "input": {"q": "py"},
                "title": "Search",
            },
        ],
    }
    assembler = run(
        "v6",
        [{"type": "tool-input-delta", "toolCallId": "c7", "inputTextDelta": 'thon"}'}],
        message,
    )
    assert_message(
        assembler,
        {
            "id": "a1",
            "role": "assistant",
            "parts": [
                {"type": "step-start"},
                {
                    "type": "tool-search",
                    "toolCallId": "c7",
                    "state": "input-streaming",
                    "rawInput": '{"q": "python"}',
                    "input": {"q": "python"},
                    "title": "Search",
                },
            ],
        },
    )


def test_a_non_assistant_message_starts_a_new_one_with_its_id() -> None:
    assembler = run(
        "v6",
        [{"type": "text-start", "id": "t"}],
        {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "hi"}]},
    )
    assert_message(
        assembler,
        {
            "id": "u1",
            "role": "assistant",
            "parts": [{"type": "text", "text": "", "state": "streaming"}],
        },
    )


def test_message_id_without_message() -> None:
    assert UIMessageAssembler(message_id="gen-1").message == {
        "id": "gen-1",
        "role": "assistant",
        "parts": [],
    }


# -- start / finish / metadata ----------------------------------------------------------


def test_start_with_a_new_message_id_resets_everything() -> None:
    assembler, violation = run_until_violation(
        "v6",
        [
            {"type": "start", "messageId": "m1", "messageMetadata": {"a": 1}},
            {"type": "text-start", "id": "t1"},
            {"type": "finish", "finishReason": "stop"},
            {"type": "start", "messageId": "m2"},
            {"type": "text-delta", "id": "t1", "delta": "x"},
        ],
    )
    assert violation.chunk_id == "t1"
    assert_message(assembler, {"id": "m2", "role": "assistant", "parts": []})
    assert assembler.finish_reason is None


def test_start_with_the_same_id_or_no_id_keeps_state() -> None:
    assembler = run(
        "v6",
        [
            {"type": "start", "messageId": "m1"},
            {"type": "text-start", "id": "t1"},
            {"type": "start", "messageId": "m1", "messageMetadata": {"b": 2}},
            {"type": "text-delta", "id": "t1", "delta": "x"},
            {"type": "start"},
        ],
    )
    assert_message(
        assembler,
        {
            "id": "m1",
            "metadata": {"b": 2},
            "role": "assistant",
            "parts": [{"type": "text", "text": "x", "state": "streaming"}],
        },
    )


def test_metadata_deep_merge() -> None:
    assembler = run(
        "v6",
        [
            {
                "type": "start",
                "messageMetadata": {"model": "x", "usage": {"in": 1, "list": [1, 2]}, "z": 1},
            },
            {
                "type": "message-metadata",
                "messageMetadata": {
                    "usage": {"out": 2, "list": [3]},
                    "2": "two",
                    "10": "ten",
                    "constructor": {"a": 1},
                    "prototype": 1,
                },
            },
            {"type": "message-metadata", "messageMetadata": None},
            {"type": "finish", "messageMetadata": {"model": {"name": "y"}, "usage": None}},
        ],
    )
    assert_message(
        assembler,
        empty(
            [], metadata={"2": "two", "10": "ten", "model": {"name": "y"}, "usage": None, "z": 1}
        ),
    )


def test_metadata_merge_is_deep() -> None:
    assembler = run(
        "v6",
        [
            {"type": "message-metadata", "messageMetadata": {"u": {"in": 1, "list": [1, 2]}}},
            {"type": "message-metadata", "messageMetadata": {"u": {"out": 2, "list": [3]}}},
        ],
    )
    assert assembler.message["metadata"] == {"u": {"in": 1, "list": [3], "out": 2}}


def test_metadata_primitive_then_object_crashes_the_client() -> None:
    assembler, violation = run_until_violation(
        "v6",
        [
            {"type": "message-metadata", "messageMetadata": "v1"},
            {"type": "finish", "messageMetadata": {"a": 1}},
        ],
    )
    assert violation.message == "TypeError: Cannot use 'in' operator to search for 'a' in v1"
    assert violation.chunk_type == "finish"
    assert_message(assembler, empty([], metadata="v1"))


def test_metadata_string_is_spread_into_the_object() -> None:
    assembler = run(
        "v6",
        [
            {"type": "message-metadata", "messageMetadata": {"a": 1}},
            {"type": "message-metadata", "messageMetadata": "hi"},
        ],
    )
    assert_message(assembler, empty([], metadata={"0": "h", "1": "i", "a": 1}))


def test_metadata_arrays_merge_by_index() -> None:
    assembler = run(
        "v6",
        [
            {"type": "message-metadata", "messageMetadata": [1, 2]},
            {"type": "message-metadata", "messageMetadata": [9]},
        ],
    )
    assert_message(assembler, empty([], metadata={"0": 9, "1": 2}))


def test_merge_objects_directly() -> None:
    assert merge_objects(UNDEFINED, UNDEFINED) is UNDEFINED
    assert merge_objects({"a": 1}, UNDEFINED) == {"a": 1}
    assert merge_objects(UNDEFINED, 5) == 5
    assert merge_objects({"a": {"b": 1}}, {"a": {"c": 2}, "__proto__": 1}) == {
        "a": {"b": 1, "c": 2}
    }
    assert merge_objects({"a": 1}, 7) == {"a": 1}
    with pytest.raises(TypeError, match="Cannot use 'in' operator to search for '0' in xy"):
        merge_objects("xy", "ab")


def test_finish_reason_is_the_last_one_given() -> None:
    assembler = run(
        "v6",
        [
            {"type": "finish", "finishReason": "tool-calls"},
            {"type": "finish"},
        ],
    )
    assert assembler.finish_reason == "tool-calls"


# -- data parts -------------------------------------------------------------------------


def test_data_parts_upsert_and_transient() -> None:
    assembler = run(
        "v6",
        [
            {"type": "data-weather", "id": "w1", "data": {"status": "loading"}},
            {"type": "data-notice", "data": "a"},
            {"type": "data-notice", "data": "b"},
            {"type": "data-weather", "id": "w2", "data": 1, "transient": False},
            {"type": "data-status", "id": "w1", "data": "other type"},
            {
                "type": "data-weather",
                "id": "w1",
                "data": {"status": "done"},
                "transient": False,
                "extra": "ignored",
            },
            {"type": "data-progress", "id": "p", "data": 50, "transient": True},
            {"type": "data-", "data": None, "extra": 1},
        ],
    )
    assert_message(
        assembler,
        empty(
            [
                {"type": "data-weather", "id": "w1", "data": {"status": "done"}},
                {"type": "data-notice", "data": "a"},
                {"type": "data-notice", "data": "b"},
                {"type": "data-weather", "id": "w2", "data": 1, "transient": False},
                {"type": "data-status", "id": "w1", "data": "other type"},
                {"type": "data-", "data": None, "extra": 1},
            ]
        ),
    )


# -- errors, unknown chunks, robustness -------------------------------------------------


def test_error_chunks_are_collected_and_processing_continues() -> None:
    assembler = run(
        "v6",
        [
            {"type": "text-start", "id": "t"},
            {"type": "error", "errorText": "first"},
            {"type": "text-delta", "id": "t", "delta": "still"},
            {"type": "error", "errorText": "second"},
            {"type": "abort", "reason": "x"},
        ],
    )
    assert assembler.error_texts == ["first", "second"]
    assert_message(assembler, empty([{"type": "text", "text": "still", "state": "streaming"}]))


@pytest.mark.parametrize(
    ("target", "chunks"),
    [
        (
            "v6",
            [
                {"type": "custom", "kind": "a.b"},
                {"type": "tool-approval-response", "approvalId": "x", "approved": True},
                {"type": "whatever"},
                {"type": "reset-step"},
            ],
        ),
        (
            "v5",
            [
                {"type": "tool-approval-request", "approvalId": "x", "toolCallId": "none"},
                {"type": "tool-output-denied", "toolCallId": "none"},
            ],
        ),
    ],
)
def test_unknown_chunk_types_are_ignored(target: Target, chunks: list[Chunk]) -> None:
    assert_message(run(target, chunks), empty([]))


def test_violation_is_sticky_and_state_is_kept() -> None:
    assembler = UIMessageAssembler()
    assembler.apply({"type": "text-start", "id": "t"})
    with pytest.raises(StreamViolation) as first:
        assembler.apply({"type": "text-delta", "id": "nope", "delta": "x"})
    with pytest.raises(StreamViolation) as again:
        assembler.apply({"type": "text-delta", "id": "t", "delta": "x"})
    assert again.value is first.value
    assert assembler.violation is first.value
    assert_message(assembler, empty([{"type": "text", "text": "", "state": "streaming"}]))


def test_chunks_are_copied() -> None:
    chunk: Chunk = {"type": "data-x", "id": "d", "data": {"n": 1}}
    assembler = run("v6", [chunk])
    chunk["data"]["n"] = 2
    message = assembler.message
    message["parts"][0]["data"]["n"] = 3
    assert assembler.message["parts"][0]["data"] == {"n": 1}


def test_rendering_follows_json_stringify() -> None:
    assembler = run("v6", [{"type": "data-x", "data": {"b": 1, "1": 2, "f": 2.0, "neg": -0.0}}])
    assert json.dumps(assembler.message["parts"][0]["data"]) == '{"1": 2, "b": 1, "f": 2, "neg": 0}'
    # JSON.stringify(NaN) and JSON.stringify(Infinity) are "null"
    assembler = run("v6", [{"type": "data-x", "data": [float("nan"), float("inf")]}])
    assert assembler.message["parts"][0]["data"] == [None, None]


def test_invalid_target() -> None:
    with pytest.raises(ValueError, match="protocol target"):
        UIMessageAssembler(target="v8")  # type: ignore[arg-type]


def test_buffered_deltas_are_visible_to_every_reader() -> None:
    """Plain deltas are buffered and joined once; any read or other chunk sees them."""
    assembler = UIMessageAssembler(message_id="m")
    for chunk in [
        {"type": "start", "messageId": "m"},
        {"type": "text-start", "id": "t"},
        {"type": "text-delta", "id": "t", "delta": "a"},
        {"type": "text-delta", "id": "t", "delta": "b"},
    ]:
        assembler.apply(chunk)
    assert assembler.message["parts"][0]["text"] == "ab"  # read mid-part
    assembler.apply({"type": "text-delta", "id": "t", "delta": "c"})
    assembler.apply(
        {"type": "text-delta", "id": "t", "delta": "d", "providerMetadata": {"p": {"k": 1}}}
    )  # the full handler runs after the buffered "c"
    assembler.apply({"type": "text-end", "id": "t"})
    part = assembler.message["parts"][0]
    assert part["text"] == "abcd"
    assert part["providerMetadata"] == {"p": {"k": 1}}
