"""Unit tests for ``uiwire.protocol.encode``: SSE framing, headers, special frames."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson
import pytest
from pydantic import BaseModel, Field

from tests.support.js import run_node_script
from uiwire.protocol import ProtocolError
from uiwire.protocol import encode as encode_module
from uiwire.protocol.chunks import Citation, CitationUrlSource
from uiwire.protocol.encode import (
    DONE_FRAME,
    KEEP_ALIVE_FRAME,
    MAX_EVENT_CHARS,
    STREAM_OPEN_FRAME,
    UI_MESSAGE_STREAM_HEADERS,
    encode_chunk,
    encode_chunks,
    encode_reasoning_delta,
    encode_text_delta,
    event_too_long,
)
from uiwire.protocol.machine import StreamMachine
from uiwire.protocol.sse import parse_sse
from uiwire.protocol.validate import validate_stream


def _decode(body: bytes) -> list[Any]:
    """Every event's data as the client's SSE parser sees it, JSON-decoded ([DONE] kept)."""
    return [data if data == "[DONE]" else json.loads(data) for data in parse_sse(body)]


class Weather(BaseModel):
    city: str
    temp_c: float = Field(alias="tempC")
    note: str | None = None


# --- headers and fixed frames ----------------------------------------------------------


def test_headers_are_exactly_the_sdk_headers() -> None:
    assert dict(UI_MESSAGE_STREAM_HEADERS) == {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        "connection": "keep-alive",
        "x-vercel-ai-ui-message-stream": "v1",
        "x-accel-buffering": "no",
    }
    assert list(UI_MESSAGE_STREAM_HEADERS) == [
        "content-type",
        "cache-control",
        "connection",
        "x-vercel-ai-ui-message-stream",
        "x-accel-buffering",
    ]


def test_headers_are_immutable() -> None:
    assert isinstance(UI_MESSAGE_STREAM_HEADERS, Mapping)
    with pytest.raises(TypeError):
        UI_MESSAGE_STREAM_HEADERS["x-extra"] = "1"  # type: ignore[index]
    with pytest.raises(TypeError):
        del UI_MESSAGE_STREAM_HEADERS["content-type"]  # type: ignore[attr-defined]
    assert "x-extra" not in UI_MESSAGE_STREAM_HEADERS


def test_special_frames_bytes() -> None:
    assert DONE_FRAME == b"data: [DONE]\n\n"
    assert KEEP_ALIVE_FRAME == b": keep-alive\n\n"
    assert STREAM_OPEN_FRAME == b": stream-open\n\n"


def test_comment_frames_dispatch_no_events() -> None:
    assert parse_sse(STREAM_OPEN_FRAME + KEEP_ALIVE_FRAME + KEEP_ALIVE_FRAME) == []
    assert parse_sse(DONE_FRAME) == ["[DONE]"]


def test_comment_frames_interleave_with_chunks() -> None:
    start = {"type": "start", "messageId": "m1"}
    finish = {"type": "finish"}
    body = (
        STREAM_OPEN_FRAME
        + encode_chunk(start)
        + KEEP_ALIVE_FRAME
        + encode_chunk(finish)
        + KEEP_ALIVE_FRAME
        + DONE_FRAME
    )
    assert _decode(body) == [start, finish, "[DONE]"]
    report = validate_stream(body, target="v6")
    assert report.chunks == [start, finish]


# --- framing ---------------------------------------------------------------------------


def test_encode_chunk_is_one_compact_data_event() -> None:
    chunk = {"type": "text-delta", "id": "t1", "delta": "Hello, world"}
    assert (
        encode_chunk(chunk) == b'data: {"type":"text-delta","id":"t1","delta":"Hello, world"}\n\n'
    )


def test_encode_chunk_keeps_key_order_and_nulls() -> None:
    chunk = {"type": "tool-output-available", "toolCallId": "c1", "output": None}
    assert encode_chunk(chunk) == (
        b'data: {"type":"tool-output-available","toolCallId":"c1","output":null}\n\n'
    )


def test_encode_chunks_concatenates_events() -> None:
    chunks = [
        {"type": "start", "messageId": "m1"},
        {"type": "start-step"},
        {"type": "finish-step"},
        {"type": "finish"},
    ]
    body = encode_chunks(chunks)
    assert body == b"".join(encode_chunk(c) for c in chunks)
    assert body == (
        b'data: {"type":"start","messageId":"m1"}\n\n'
        b'data: {"type":"start-step"}\n\n'
        b'data: {"type":"finish-step"}\n\n'
        b'data: {"type":"finish"}\n\n'
    )
    assert _decode(body + DONE_FRAME) == [*chunks, "[DONE]"]


def test_encode_chunks_accepts_any_iterable() -> None:
    chunks = [{"type": "start"}, {"type": "finish"}]
    assert encode_chunks(iter(chunks)) == encode_chunks(chunks)
    assert encode_chunks(c for c in chunks) == encode_chunks(chunks)
    assert encode_chunks(tuple(chunks)) == encode_chunks(chunks)


def test_encode_chunks_of_nothing_is_empty() -> None:
    assert encode_chunks([]) == b""


@pytest.mark.parametrize(
    "text",
    [
        "line\nbreak",
        "two\n\nblank lines",
        "crlf\r\n\r\nand cr\r",
        "data: [DONE]\n\n",
        "\n\ndata: [DONE]\n\ndata: {}\n\n",
        ": comment\n\nevent: x\nid: 3\nretry: 1\n\n",
        "\u2028\u2029",
        'tab\tand \\ backslash and " quote',
        "\x00\x1f control",
    ],
)
def test_newlines_and_sse_syntax_inside_strings_cannot_break_framing(text: str) -> None:
    chunk = {"type": "text-delta", "id": "t1", "delta": text}
    frame = encode_chunk(chunk)
    assert frame.startswith(b"data: ")
    assert frame.endswith(b"\n\n")
    body = frame[len(b"data: ") : -2]
    assert b"\n" not in body
    assert b"\r" not in body
    assert _decode(frame + DONE_FRAME) == [chunk, "[DONE]"]


def test_newlines_in_keys_and_nested_payloads_cannot_break_framing() -> None:
    chunk = {"type": "data-x", "data": {"a\n\nb": ["data: [DONE]\n\n", {"\r": "\r\n"}]}}
    assert _decode(encode_chunk(chunk) + DONE_FRAME) == [chunk, "[DONE]"]


def test_non_ascii_is_written_as_utf8() -> None:
    chunk = {"type": "text-delta", "id": "t1", "delta": "ünïcödé ✓ 🎉 中文"}
    frame = encode_chunk(chunk)
    assert "ünïcödé ✓ 🎉 中文".encode() in frame
    assert _decode(frame + DONE_FRAME) == [chunk, "[DONE]"]


def test_numbers_and_literals_round_trip() -> None:
    chunk = {"type": "data-x", "data": [0, -1, 1.5, 10**15, True, False, None, "", [], {}]}
    assert _decode(encode_chunk(chunk)) == [chunk]


# --- values Python users hand us ---------------------------------------------------------


def test_pydantic_model_in_payload_becomes_plain_object_by_alias() -> None:
    chunk = {"type": "data-weather", "data": Weather(city="Berlin", tempC=21.5)}
    assert _decode(encode_chunk(chunk)) == [
        {"type": "data-weather", "data": {"city": "Berlin", "tempC": 21.5, "note": None}}
    ]


def test_nested_pydantic_models_and_sets_in_payload() -> None:
    chunk = {
        "type": "tool-output-available",
        "toolCallId": "c1",
        "output": {"items": [Weather(city="A", tempC=1)], "tags": {"x"}, "ids": frozenset({1})},
    }
    assert _decode(encode_chunk(chunk)) == [
        {
            "type": "tool-output-available",
            "toolCallId": "c1",
            "output": {
                "items": [{"city": "A", "tempC": 1.0, "note": None}],
                "tags": ["x"],
                "ids": [1],
            },
        }
    ]


def test_set_in_payload_becomes_array_of_its_members() -> None:
    chunk = {"type": "data-x", "data": {3, 1, 2}}
    (decoded,) = _decode(encode_chunk(chunk))
    assert sorted(decoded["data"]) == [1, 2, 3]


def test_tuple_in_payload_becomes_array() -> None:
    assert _decode(encode_chunk({"type": "data-x", "data": (1, "a")})) == [
        {"type": "data-x", "data": [1, "a"]}
    ]


def test_wire_models_inside_a_chunk_are_encoded_in_wire_form() -> None:
    citation = Citation(source=CitationUrlSource(id="s1", url="https://e.com"))
    chunk = {"type": "text-end", "id": "t1", "citations": [citation]}
    assert _decode(encode_chunk(chunk)) == [
        {
            "type": "text-end",
            "id": "t1",
            "citations": [
                {
                    "source": {
                        "type": "source",
                        "sourceType": "url",
                        "id": "s1",
                        "url": "https://e.com",
                    }
                }
            ],
        }
    ]


# --- failures ------------------------------------------------------------------------------


class _Opaque:
    pass


@pytest.mark.parametrize(
    ("chunk", "culprit"),
    [
        ({"type": "data-x", "data": _Opaque()}, "_Opaque"),
        ({"type": "tool-output-available", "toolCallId": "c", "output": [object()]}, "object"),
        ({"type": "data-x", "data": {1: "int key"}}, "str"),
        ({"type": "data-x", "data": b"bytes"}, "bytes"),
    ],
)
def test_unserializable_chunk_raises_protocol_error_naming_the_type(
    chunk: dict[str, Any], culprit: str
) -> None:
    with pytest.raises(ProtocolError) as info:
        encode_chunk(chunk)
    message = str(info.value)
    assert repr(chunk["type"]) in message
    assert "not JSON-serializable" in message
    assert culprit in message


def test_encode_chunks_names_the_unserializable_chunk() -> None:
    chunks = [
        {"type": "start", "messageId": "m1"},
        {"type": "data-bad", "data": _Opaque()},
        {"type": "finish"},
    ]
    with pytest.raises(ProtocolError, match="chunk 'data-bad' is not JSON-serializable"):
        encode_chunks(chunks)


def test_encode_chunks_names_the_unserializable_chunk_from_a_generator() -> None:
    def chunks() -> Iterator[dict[str, Any]]:
        yield {"type": "start", "messageId": "m1"}
        yield {"type": "data-bad", "data": _Opaque()}
        yield {"type": "finish"}

    with pytest.raises(ProtocolError, match="chunk 'data-bad' is not JSON-serializable"):
        encode_chunks(chunks())


# --- what orjson refuses but JSON.stringify writes ------------------------------------------


@pytest.mark.parametrize(
    ("value", "escaped"),
    [
        ("split emoji \ud83d", b'"split emoji \\ud83d"'),  # a lone high surrogate
        ("\ude00 rest", b'"\\ude00 rest"'),  # and its low half in the next delta
        (2**70, b"1180591620717411303424"),
    ],
)
def test_lone_surrogates_and_huge_ints_are_written_escaped(value: object, escaped: bytes) -> None:
    frame = encode_chunk({"type": "data-x", "data": value})
    assert escaped in frame
    frame.decode("ascii")  # the slow path escapes everything
    assert json.loads(frame[len(b"data: ") :]) == {"type": "data-x", "data": value}


def test_a_delta_split_inside_a_surrogate_pair_reassembles() -> None:
    machine = StreamMachine()
    chunks = machine.text_delta("smile \ud83d")
    chunks += machine.text_delta("\ude00!")
    chunks += machine.finish()
    report = validate_stream(encode_chunks(chunks) + DONE_FRAME)
    text = report.message["parts"][1]["text"]
    assert text.encode("utf-16", "surrogatepass").decode("utf-16") == "smile 😀!"


# --- the text-delta frame without a dict ---------------------------------------------------


@pytest.mark.parametrize(
    "delta",
    ["a", " the", 'say "hi"\n', "\\ back\tslash", "✓ ünï", "😀", "\ud83d", "x\ud800y", "</script>"],
)
@pytest.mark.parametrize("wire_id", ["t1", "msg-abc_1", 'odd"id'])
@pytest.mark.parametrize("kind", ["text-delta", "reasoning-delta"])
def test_encode_text_delta_is_byte_for_byte_the_chunk_frame(
    kind: str, wire_id: str, delta: str
) -> None:
    encode = encode_text_delta if kind == "text-delta" else encode_reasoning_delta
    chunk = {"type": kind, "id": wire_id, "delta": delta}
    assert encode(wire_id, delta) == encode_chunk(chunk)
    assert _decode(encode(wire_id, delta)) == [chunk]


def test_encode_text_delta_keeps_its_prefix_cache_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    cache: dict[tuple[bool, str], bytes] = {}
    monkeypatch.setattr(encode_module, "_DELTA_PREFIXES", cache)
    monkeypatch.setattr(encode_module, "_MAX_PREFIXES", 3)
    for n in range(10):
        frame = encode_text_delta(f"t{n}", "x")
        assert frame == encode_chunk({"type": "text-delta", "id": f"t{n}", "delta": "x"})
        assert len(cache) <= 3


# --- the client's limit on one event --------------------------------------------------------

_BIG_HEAD = 'data: {"type":"data-big","data":"'
_BIG_TAIL = '"}'


def _event_of_length(units: int, char: str) -> tuple[dict[str, Any], str]:
    """A ``data-big`` chunk whose event line is ``units`` UTF-16 code units long, its
    string made of ``char`` (padded with ``x``), and that line."""
    room = units - len(_BIG_HEAD) - len(_BIG_TAIL)
    width = len(char.encode("utf-16-le")) // 2
    text = char * (room // width) + "x" * (room % width)
    return {"type": "data-big", "data": text}, _BIG_HEAD + text + _BIG_TAIL


@pytest.mark.slow
@pytest.mark.parametrize("char", ["x", "é", "😀"])
async def test_the_event_limit_is_the_one_the_real_client_enforces(
    char: str, tmp_path: Path
) -> None:
    """An event line of exactly MAX_EVENT_CHARS client characters passes the real ai 7
    parser, one more fails the whole stream; uiwire measures both as the client does
    (UTF-16 units, not bytes: "é" is 2 bytes and 1 unit, "😀" 4 bytes and 2 units)."""
    files: list[str] = []
    measured: list[int | None] = []
    for units in (MAX_EVENT_CHARS, MAX_EVENT_CHARS + 1):
        chunk, line = _event_of_length(units, char)
        frame = encode_chunk(chunk)
        assert frame == b"data: " + orjson.dumps(chunk) + b"\n\n"
        assert frame[:-2].decode() == line
        measured.append(event_too_long(frame))
        path = tmp_path / f"event-{units}.txt"
        path.write_bytes(frame[:-2])
        files.append(str(path))
    assert measured == [None, MAX_EVENT_CHARS + 1]
    client = await run_node_script("event_limit.mjs", {"files": files})
    assert [result["accepted"] for result in client] == [True, False]
    assert "max buffer size" in client[1]["error"]
