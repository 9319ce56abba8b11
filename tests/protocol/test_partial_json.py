"""Partial JSON repair and parsing, compared with the client's ``parsePartialJson``.

All expected values were produced by running ``parsePartialJson`` exported by
ai@6.0.326 (and by ai@5.0.277 / ai@7.0.173 for the per-target table) with node, on
every prefix of two JSON documents plus hand-picked edge cases.
"""

from __future__ import annotations

import pytest

from uiwire.protocol._partial_json import PartialJsonScanner, fix_json, parse_partial_json
from uiwire.protocol.targets import Target

# (text, state, value) from ai@6.0.326's parsePartialJson
AI6_TABLE: list[tuple[str, str, object]] = [
    ("", "failed-parse", None),
    ("{", "repaired-parse", {}),
    ('{"', "repaired-parse", {}),
    ('{"c', "repaired-parse", {}),
    ('{"ci', "repaired-parse", {}),
    ('{"cit', "repaired-parse", {}),
    ('{"city', "repaired-parse", {}),
    ('{"city"', "repaired-parse", {}),
    ('{"city":', "repaired-parse", {}),
    ('{"city": ', "repaired-parse", {}),
    ('{"city": "', "repaired-parse", {"city": ""}),
    ('{"city": "B', "repaired-parse", {"city": "B"}),
    ('{"city": "Be', "repaired-parse", {"city": "Be"}),
    ('{"city": "Ber', "repaired-parse", {"city": "Ber"}),
    ('{"city": "Berl', "repaired-parse", {"city": "Berl"}),
    ('{"city": "Berli', "repaired-parse", {"city": "Berli"}),
    ('{"city": "Berlin', "repaired-parse", {"city": "Berlin"}),
    ('{"city": "Berlin"', "repaired-parse", {"city": "Berlin"}),
    ('{"city": "Berlin",', "repaired-parse", {"city": "Berlin"}),
    ('{"city": "Berlin", ', "repaired-parse", {"city": "Berlin"}),
    ('{"city": "Berlin", "', "repaired-parse", {"city": "Berlin"}),
    ('{"city": "Berlin", "d', "repaired-parse", {"city": "Berlin"}),
    ('{"city": "Berlin", "da', "repaired-parse", {"city": "Berlin"}),
    ('{"city": "Berlin", "day', "repaired-parse", {"city": "Berlin"}),
    ('{"city": "Berlin", "days', "repaired-parse", {"city": "Berlin"}),
    ('{"city": "Berlin", "days"', "repaired-parse", {"city": "Berlin"}),
    ('{"city": "Berlin", "days":', "repaired-parse", {"city": "Berlin"}),
    ('{"city": "Berlin", "days": ', "repaired-parse", {"city": "Berlin"}),
    ('{"city": "Berlin", "days": [', "repaired-parse", {"city": "Berlin", "days": []}),
    ('{"city": "Berlin", "days": [1', "repaired-parse", {"city": "Berlin", "days": [1]}),
    ('{"city": "Berlin", "days": [1,', "repaired-parse", {"city": "Berlin", "days": [1]}),
    ('{"city": "Berlin", "days": [1, ', "repaired-parse", {"city": "Berlin", "days": [1]}),
    ('{"city": "Berlin", "days": [1, -', "repaired-parse", {"city": "Berlin", "days": [1]}),
    ('{"city": "Berlin", "days": [1, -2', "repaired-parse", {"city": "Berlin", "days": [1, -2]}),
    ('{"city": "Berlin", "days": [1, -2.', "repaired-parse", {"city": "Berlin", "days": [1, -2]}),
    (
        '{"city": "Berlin", "days": [1, -2.5',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -2.5]},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -2.5]},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25]},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1]',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25]},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1],',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25]},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], ',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25]},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25]},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "o',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25]},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25]},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok"',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25]},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok":',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25]},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok": ',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25]},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok": t',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25], "ok": True},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok": tr',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25], "ok": True},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok": tru',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25], "ok": True},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok": true',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25], "ok": True},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok": true,',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25], "ok": True},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok": true, ',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25], "ok": True},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok": true, "',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25], "ok": True},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok": true, "n',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25], "ok": True},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok": true, "no',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25], "ok": True},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok": true, "non',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25], "ok": True},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok": true, "none',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25], "ok": True},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok": true, "none"',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25], "ok": True},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok": true, "none":',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25], "ok": True},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok": true, "none": ',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25], "ok": True},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok": true, "none": n',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25], "ok": True, "none": None},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok": true, "none": nu',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25], "ok": True, "none": None},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok": true, "none": nul',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25], "ok": True, "none": None},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok": true, "none": null',
        "repaired-parse",
        {"city": "Berlin", "days": [1, -25], "ok": True, "none": None},
    ),
    (
        '{"city": "Berlin", "days": [1, -2.5e1], "ok": true, "none": null}',
        "successful-parse",
        {"city": "Berlin", "days": [1, -25], "ok": True, "none": None},
    ),
    ("", "failed-parse", None),
    ("[", "repaired-parse", []),
    ("[{", "repaired-parse", [{}]),
    ('[{"', "repaired-parse", [{}]),
    ('[{"q', "repaired-parse", [{}]),
    ('[{"q"', "repaired-parse", [{}]),
    ('[{"q":', "repaired-parse", [{}]),
    ('[{"q": ', "repaired-parse", [{}]),
    ('[{"q": "', "repaired-parse", [{"q": ""}]),
    ('[{"q": "a', "repaired-parse", [{"q": "a"}]),
    ('[{"q": "a\\', "repaired-parse", [{"q": "a"}]),
    ('[{"q": "a\\"', "repaired-parse", [{"q": 'a"'}]),
    ('[{"q": "a\\"b', "repaired-parse", [{"q": 'a"b'}]),
    ('[{"q": "a\\"b\\', "repaired-parse", [{"q": 'a"b'}]),
    ('[{"q": "a\\"b\\u', "repaired-parse", [{"q": 'a"b'}]),
    ('[{"q": "a\\"b\\u0', "repaired-parse", [{"q": 'a"b'}]),
    ('[{"q": "a\\"b\\u00', "repaired-parse", [{"q": 'a"b'}]),
    ('[{"q": "a\\"b\\u00e', "repaired-parse", [{"q": 'a"b'}]),
    ('[{"q": "a\\"b\\u00e9', "repaired-parse", [{"q": 'a"bé'}]),
    ('[{"q": "a\\"b\\u00e9"', "repaired-parse", [{"q": 'a"bé'}]),
    ('[{"q": "a\\"b\\u00e9"}', "repaired-parse", [{"q": 'a"bé'}]),
    ('[{"q": "a\\"b\\u00e9"},', "repaired-parse", [{"q": 'a"bé'}]),
    ('[{"q": "a\\"b\\u00e9"}, ', "repaired-parse", [{"q": 'a"bé'}]),
    ('[{"q": "a\\"b\\u00e9"}, f', "repaired-parse", [{"q": 'a"bé'}, False]),
    ('[{"q": "a\\"b\\u00e9"}, fa', "repaired-parse", [{"q": 'a"bé'}, False]),
    ('[{"q": "a\\"b\\u00e9"}, fal', "repaired-parse", [{"q": 'a"bé'}, False]),
    ('[{"q": "a\\"b\\u00e9"}, fals', "repaired-parse", [{"q": 'a"bé'}, False]),
    ('[{"q": "a\\"b\\u00e9"}, false', "repaired-parse", [{"q": 'a"bé'}, False]),
    ('[{"q": "a\\"b\\u00e9"}, false]', "successful-parse", [{"q": 'a"bé'}, False]),
    (" ", "failed-parse", None),
    ('"', "repaired-parse", ""),
    ("-", "failed-parse", None),
    ('{"a', "repaired-parse", {}),
    ('{"a"', "repaired-parse", {}),
    ('{"a":', "repaired-parse", {}),
    ('{"a": t', "repaired-parse", {"a": True}),
    ('{"a": nu', "repaired-parse", {"a": None}),
    ('{"a": f', "repaired-parse", {"a": False}),
    ("[1, tr", "repaired-parse", [1, True]),
    ('{"a": 1.', "repaired-parse", {"a": 1}),
    ('{"a": 1e', "repaired-parse", {"a": 1}),
    ('{"a": -', "repaired-parse", {}),
    ("[1,", "repaired-parse", [1]),
    ('{"a": "x\\', "repaired-parse", {"a": "x"}),
    ('{"a": "x\\u00', "repaired-parse", {"a": "x"}),
    ('{"a": "x\\u00e9', "repaired-parse", {"a": "xé"}),
    ('{"a": 1}', "successful-parse", {"a": 1}),
    ('{"a": 1}x', "repaired-parse", {"a": 1}),
    ("}", "failed-parse", None),
    ("nullx", "repaired-parse", None),
    ('{"a": tx}', "failed-parse", None),
    ('{"__proto__": {"x": 1}}', "failed-parse", None),
    ('{"__proto__": {"x": 1', "failed-parse", None),
    ('{"constructor": {"prototype": 1', "failed-parse", None),
    ("[-", "failed-parse", None),
    ("[x", "failed-parse", None),
    ("[1😀", "failed-parse", None),
    ('{"a": "😀', "repaired-parse", {"a": "😀"}),
    ('{"a": [1, {"b": [2, {"c": "d', "repaired-parse", {"a": [1, {"b": [2, {"c": "d"}]}]}),
]

# (target, text, state, value) from ai@5.0.277, ai@6.0.326 and ai@7.0.173
PER_TARGET: list[tuple[Target, str, str, object]] = [
    ("v5", '{"a": "x\\u00', "failed-parse", None),
    ("v6", '{"a": "x\\u00', "repaired-parse", {"a": "x"}),
    ("v7", '{"a": "x\\u00', "repaired-parse", {"a": "x"}),
    ("v5", '{"a": "x\\u0', "failed-parse", None),
    ("v6", '{"a": "x\\u0', "repaired-parse", {"a": "x"}),
    ("v7", '{"a": "x\\u0', "repaired-parse", {"a": "x"}),
    ("v5", '["\\u12', "failed-parse", None),
    ("v6", '["\\u12', "repaired-parse", [""]),
    ("v7", '["\\u12', "repaired-parse", [""]),
    ("v5", "[-", "failed-parse", None),
    ("v6", "[-", "failed-parse", None),
    ("v7", "[-", "repaired-parse", []),
    ("v5", "[x", "failed-parse", None),
    ("v6", "[x", "failed-parse", None),
    ("v7", "[x", "repaired-parse", []),
    ("v5", "[ ", "repaired-parse", []),
    ("v6", "[ ", "repaired-parse", []),
    ("v7", "[ ", "repaired-parse", []),
    ("v5", "[t", "repaired-parse", [True]),
    ("v6", "[t", "repaired-parse", [True]),
    ("v7", "[t", "repaired-parse", [True]),
    ("v5", "[1😀", "failed-parse", None),
    ("v6", "[1😀", "failed-parse", None),
    ("v7", "[1😀", "failed-parse", None),
    ("v5", '["😀', "repaired-parse", ["😀"]),
    ("v6", '["😀', "repaired-parse", ["😀"]),
    ("v7", '["😀', "repaired-parse", ["😀"]),
    ("v5", "[1, 😀", "repaired-parse", [1]),
    ("v6", "[1, 😀", "repaired-parse", [1]),
    ("v7", "[1, 😀", "repaired-parse", [1]),
    ("v5", '{"a": 1😀', "repaired-parse", {"a": 1}),
    ("v6", '{"a": 1😀', "repaired-parse", {"a": 1}),
    ("v7", '{"a": 1😀', "repaired-parse", {"a": 1}),
]


@pytest.mark.parametrize(("text", "state", "value"), AI6_TABLE)
def test_matches_ai6(text: str, state: str, value: object) -> None:
    assert parse_partial_json(text) == (value, state)


@pytest.mark.parametrize(("target", "text", "state", "value"), PER_TARGET)
def test_target_differences(target: Target, text: str, state: str, value: object) -> None:
    # 5.x has no \uXXXX state; 7.x no longer treats every character after "[" as valid
    assert parse_partial_json(text, target=target) == (value, state)


def test_undefined_input() -> None:
    assert parse_partial_json(None) == (None, "undefined-input")


def test_json_null_is_a_successful_parse() -> None:
    assert parse_partial_json("null") == (None, "successful-parse")


@pytest.mark.parametrize("target", ["v5", "v6", "v7"])
@pytest.mark.parametrize(
    "text",
    [
        '{"city": "Berlin", "days": [1, -2.5e1, true, null, fal',
        "[[1, 2], [3, [4.5e-1, -0.5]], [], [[]]]",
        '{"s": "a\\"b\\\\c\\u00e9\\ud83d\\ude00 \U0001f600", "n": nul',
        '{"response": ["umbrella", "boots"]}, "next": 1',
    ],
)
def test_the_scanner_fed_in_pieces_repairs_as_fix_json_does(target: Target, text: str) -> None:
    """Fed any way (every cut into two pieces, and one character at a time), the
    incremental scan repairs each prefix exactly as the one-shot ``fix_json``."""
    for cut in range(len(text) + 1):
        scanner = PartialJsonScanner(target=target)
        scanner.feed(text[:cut])
        assert scanner.repaired() == fix_json(text[:cut], target=target)
        scanner.feed(text[cut:])
        assert scanner.repaired() == fix_json(text, target=target)
    scanner = PartialJsonScanner(target=target)
    for end, char in enumerate(text, 1):
        scanner.feed(char)
        assert scanner.parsed() == parse_partial_json(text[:end], target=target)
