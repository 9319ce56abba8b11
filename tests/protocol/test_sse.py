"""SSE framing and JSON decoding as the AI SDK client does them.

Every expected value below was produced by the client itself: the body fed through
``TextDecoderStream`` + eventsource-parser 3.1.1's ``EventSourceParserStream`` (what
``parseJsonEventStream`` of @ai-sdk/provider-utils runs), and ``safeParseJSON`` of
@ai-sdk/provider-utils 4.0.65 (ai@6.0.326) for the JSON cases.
"""

from __future__ import annotations

import pytest

from uiwire.protocol import StreamViolation
from uiwire.protocol.sse import SSEParser, decode_event_data, parse_sse


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(
            b'data: {"type":"start"}\n\ndata: [DONE]\n\n',
            ['{"type":"start"}', "[DONE]"],
            id="basic-with-done",
        ),
        pytest.param(b"\xef\xbb\xbfdata: 1\n\n", ["1"], id="bom-stripped"),
        # only one BOM is stripped; the second makes the first line an unknown field
        pytest.param(
            b"\xef\xbb\xbf\xef\xbb\xbfdata: 1\n\ndata: 2\n\n", ["2"], id="second-bom-kept"
        ),
        # eventsource-parser compares the first three *characters* with the BOM's bytes
        pytest.param(b"\xc3\xaf\xc2\xbb\xc2\xbfdata: 1\n\n", ["1"], id="latin1-bom-quirk"),
        pytest.param(b"data: 1\r\n\r\ndata: 2\r\n\r\n", ["1", "2"], id="crlf"),
        pytest.param(b"data: 1\r\rdata: 2\r\r\n", ["1", "2"], id="cr"),
        # a CR that is the last character could be half a CRLF: never processed
        pytest.param(b"data: 1\r\rdata: 2\r\r", ["1"], id="cr-at-end-of-body-lost"),
        pytest.param(b"data: a\ndata:b\ndata:  c\n\n", ["a\nb\n c"], id="multi-line-data"),
        pytest.param(b"data: 1\n\ndata: 2\n", ["1"], id="missing-final-blank-line-dropped"),
        pytest.param(b"data: 1\n\ndata: 2", ["1"], id="missing-final-newline-dropped"),
        pytest.param(
            b": stream-open\n\n: keep-alive\ndata: 1\n:x\n\n", ["1"], id="comments-ignored"
        ),
        pytest.param(
            b"event: delta\nid: 7\nretry: 100\nretry: x\nfoo: bar\ndata: 1\n\n"
            b"event: only\n\nid: 8\n\n",
            ["1"],
            id="other-fields-ignored-events-without-data-not-dispatched",
        ),
        pytest.param(b"data\n\ndata\ndata\n\n", ["", "\n"], id="data-field-without-colon"),
        pytest.param(b"data:\n\ndata: \n\n", ["", ""], id="empty-data"),
        pytest.param(b"Data: 1\n\nDATA: 2\n\n", [], id="field-names-case-sensitive"),
        pytest.param(b"data : 1\n\n data: 2\n\n", [], id="no-trimming-around-field-name"),
        pytest.param(b"\n\n\n", [], id="blank-lines-only"),
        pytest.param(
            b"data: \xff\xc3(\xed\xa0\x80\n\ndata: \xe2\x82\n\n",
            ["\ufffd\ufffd(\ufffd\ufffd\ufffd", "\ufffd"],
            id="invalid-utf8-replaced",
        ),
        pytest.param(b"data: 1\n\n\xe2\x82", ["1"], id="incomplete-utf8-tail"),
    ],
)
def test_parse_sse_matches_the_client(body: bytes, expected: list[str]) -> None:
    assert parse_sse(body) == expected


def test_parse_sse_accepts_text_and_strips_its_bom() -> None:
    assert parse_sse('\ufeffdata: {"a":"é"}\r\n\r\ndata: x\n') == ['{"a":"é"}']


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        # the CR ending chunk 1 waits for chunk 2, which makes it a CRLF
        pytest.param([b"data: 1\n\ndata: 2\r", b"\ndata: 3\r"], ["1"], id="crlf-across-chunks"),
        # a CR ending a chunk is only processed once a later chunk brings a line break
        pytest.param([b"data: 1\r", b"\r"], [], id="cr-waits"),
        pytest.param([b"data: 1\r\r", b"x"], [], id="cr-waits-for-a-line-break"),
        # the latin-1 BOM check only looks at the first decoded chunk
        pytest.param([b"\xc3\xaf\xc2", b"\xbb\xc2\xbfdata: 1\n\n"], [], id="split-latin1-bom"),
        pytest.param([b"\xef", b"\xbb\xbfdata: 1\n\n"], ["1"], id="split-bom"),
        pytest.param([b"data: caf\xc3", b"\xa9\n\n"], ["café"], id="split-utf8-sequence"),
    ],
)
def test_sse_parser_chunk_boundaries(chunks: list[bytes], expected: list[str]) -> None:
    parser = SSEParser()
    events: list[str] = []
    for chunk in chunks:
        events += parser.feed(chunk)
    events += parser.close()
    assert events == expected


def test_sse_parser_returns_events_as_they_complete() -> None:
    parser = SSEParser()
    assert parser.feed(b"data: 1\n") == []
    assert parser.feed(b"\ndata: 2\n\nda") == ["1", "2"]
    assert parser.feed(b"ta: 3\n\n") == ["3"]
    assert parser.close() == []


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            '{"type":"text-delta","id":"t","delta":"hi"}',
            {"type": "text-delta", "id": "t", "delta": "hi"},
        ),
        (' \t\n\r{"a":[1,-0.5,1e3,true,null]} \n', {"a": [1, -0.5, 1000.0, True, None]}),
        ('{"a":1,"a":2}', {"a": 2}),
        ('"\\ud800"', "\ud800"),
        ('"\u2028\x7f"', "\u2028\x7f"),
        ("-1e400", float("-inf")),
        ('{"constructor":[1]}', {"constructor": [1]}),
        ('{"constructor":"prototype"}', {"constructor": "prototype"}),
        ('{"constructor":{"x":{"prototype":1}}}', {"constructor": {"x": {"prototype": 1}}}),
        ('{"constructor":{"prototype":1},"constructor":2}', {"constructor": 2}),
        ('{"prototype":1,"__proto__x":2}', {"prototype": 1, "__proto__x": 2}),
        ('{"x":"\\"__proto__\\": 1"}', {"x": '"__proto__": 1'}),
        ('[["__proto__"]]', [["__proto__"]]),
    ],
)
def test_decode_event_data_accepts_what_the_client_accepts(data: str, expected: object) -> None:
    assert decode_event_data(data) == expected


def test_decode_event_data_duplicate_key_keeps_first_position() -> None:
    assert list(decode_event_data('{"a":1,"b":2,"a":3}')) == ["a", "b"]  # type: ignore[arg-type]


def test_decode_event_data_huge_integer_is_accepted() -> None:
    assert decode_event_data("1" * 5000) == float("inf")


@pytest.mark.parametrize(
    "data",
    [
        "NaN",
        "[NaN]",
        "Infinity",
        "-Infinity",
        "",
        "\u00a01",
        "\ufeff1",
        "1 2",
        "01",
        "1.",
        ".5",
        "+1",
        "[1,]",
        '{"a":1,}',
        "tru",
        '"\\x"',
        '"\x01"',
        "[1\u0663]",
        "\u0661",
        "{'a':1}",
    ],
)
def test_decode_event_data_rejects_invalid_json(data: str) -> None:
    with pytest.raises(StreamViolation) as info:
        decode_event_data(data)
    assert info.value.kind == "json"
    assert info.value.message.startswith("JSON parsing failed")


@pytest.mark.parametrize(
    "data",
    [
        '{"__proto__":1}',
        '{"a":{"__proto__":{}}}',
        '[{"__proto__":null}]',
        '{"\\u005f_proto__":1}',
        '{"_\\u005Fproto__":1}',
        '{"__pr\\u006fto__" : 1}',
        '{"constructor":{"prototype":1}}',
        '{"constructor":{"prototype":null}}',
        '{"a":[{"constructor":{"prototype":{}}}]}',
        '{"c\\u006fnstructor":{"prototype":1}}',
        '{"constructor":{"prot\\u006ftype":1}}',
        '{"constructor":2,"constructor":{"prototype":1}}',
    ],
)
def test_decode_event_data_rejects_prototype_keys(data: str) -> None:
    with pytest.raises(StreamViolation) as info:
        decode_event_data(data)
    assert info.value.kind == "json"
    assert "Object contains forbidden prototype property" in info.value.message
