"""The reversible escaping that lets PostgreSQL's ``jsonb`` (and UTF-8) keep any text."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from uiwire.chats._json_text import ESCAPE, decode, encode, escape_string, unescape_string

# every code point, surrogates included, with the troublemakers often
characters = st.one_of(
    st.characters(codec=None, exclude_categories=()),
    st.sampled_from(["\x00", "\ud800", "\udbff", "\udc00", "\udfff", ESCAPE, "\\", '"']),
)
texts = st.text(characters)
hex_tails = st.sampled_from(["0000", "fdd0", "d800", "zz", "", "00"])
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(texts, children, max_size=5),
    max_leaves=30,
)


def storable(text: str) -> bool:
    """What PostgreSQL's text and a UTF-8 encoder accept: no NUL, no lone surrogate."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


def storable_json(text: str) -> bool:
    """What PostgreSQL's jsonb accepts: storable text whose strings are all storable."""
    return storable(text) and all(storable(string) for string in strings(orjson.loads(text)))


def strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for key, item in value.items() for s in [key, *strings(item)]]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return []


@given(texts)
@example("\x00")
@example("half \ud83d of a pair, \ude00 the other half, \ud83d\ude00 a whole pair")
@example(f"{ESCAPE} {ESCAPE}fdd0 {ESCAPE}0000")
def test_a_string_round_trips_and_is_storable(text: str) -> None:
    escaped = escape_string(text)
    assert storable(escaped)
    assert unescape_string(escaped) == text


@given(st.text(st.sampled_from(["a", ESCAPE, "0", "f", "d"])), hex_tails)
def test_text_that_looks_escaped_round_trips(text: str, tail: str) -> None:
    original = text + ESCAPE + tail
    assert unescape_string(escape_string(original)) == original


@given(json_values)
@example({"\x00": ["\ud800", {"\udfff": ESCAPE}], "n": 1.5})
def test_a_json_value_round_trips_through_storable_text(value: Any) -> None:
    text = encode(value)
    assert storable_json(text)
    assert decode(text) == value


def test_plain_json_is_stored_as_orjson_writes_it() -> None:
    value = {"id": "m1", "parts": [{"type": "text", "text": "héllo 😀 \\u0000"}]}
    assert encode(value) == orjson.dumps(value).decode()


def test_an_escape_uiwire_did_not_write_is_refused() -> None:
    for stray in (ESCAPE, f"{ESCAPE}zz00", f"x{ESCAPE}12"):
        with pytest.raises(ValueError, match="escape character uiwire did not write"):
            unescape_string(stray)
