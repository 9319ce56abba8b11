"""The scan before a body is decoded: long strings set aside and put back give exactly
the value the decoder gives for the whole body, and only strings that are safe to copy
are set aside."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from uiwire.server._json_scan import LONG_STRING_BYTES, TooManyValues, scan_json

LONG = LONG_STRING_BYTES


def repeated(piece: str, count: int) -> str:
    return piece * count


texts: st.SearchStrategy[str] = st.one_of(
    st.text(max_size=20),
    st.builds(
        repeated,
        st.sampled_from(["a", "é", "😀", '"', "\\", "\n", "\x01"]),
        st.integers(LONG // 4 - 2, LONG + 10),
    ),
)
scalars: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**53), 2**53), texts
)


def containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.lists(children, max_size=4), st.dictionaries(texts, children, max_size=4))


json_values: st.SearchStrategy[Any] = st.recursive(scalars, containers, max_leaves=12)


def decoded(body: bytes) -> Any:
    scanned = scan_json(body, 1_000_000)
    return scanned.restore(orjson.loads(scanned.skeleton))


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_setting_long_strings_aside_changes_no_value(value: Any) -> None:
    body = orjson.dumps(value)
    assert decoded(body) == orjson.loads(body)


def test_a_long_string_is_set_aside_and_a_short_one_is_not() -> None:
    photo = "data:image/png;base64," + "A" * LONG
    body = orjson.dumps({"parts": [{"url": photo}, {"text": "short"}]})
    scanned = scan_json(body, 1000)
    assert len(scanned.skeleton) < 200
    assert list(scanned.long_strings.values()) == [photo]
    assert scanned.restore(orjson.loads(scanned.skeleton)) == orjson.loads(body)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b'{"' + b"k" * LONG + b'":1}', "a key"),
        (b'["' + b"a" * LONG + b'\\n"]', "an escape"),
        (b'["' + b"\xff" * LONG + b'"]', "not UTF-8"),
        (b'["' + b"a" * LONG, "unclosed"),
    ],
)
def test_strings_the_decoder_must_judge_stay_in_the_body(body: bytes, why: str) -> None:
    scanned = scan_json(body, 1000)
    assert scanned.skeleton == body, why
    assert scanned.long_strings == {}


def test_raw_control_characters_read_as_their_escapes_would() -> None:
    escaped = b'["' + b"a" * LONG + b'\\u0001"]'
    raw = b'["' + b"a" * LONG + b'\x01"]'
    assert decoded(raw) == orjson.loads(escaped)


def test_a_placeholder_cannot_be_forged_from_the_body() -> None:
    photo = "A" * LONG
    scanned = scan_json(orjson.dumps([photo]), 1000)
    (placeholder,) = scanned.long_strings
    forged = orjson.dumps([placeholder, photo])  # the same text, sent as a value
    again = scan_json(forged, 1000)
    assert again.restore(orjson.loads(again.skeleton)) == [placeholder, photo]


def test_the_count_stops_at_the_limit() -> None:
    with pytest.raises(TooManyValues, match="over 10 JSON values"):
        scan_json(orjson.dumps(list(range(11))), 10)
    assert scan_json(orjson.dumps(list(range(9))), 10).long_strings == {}
