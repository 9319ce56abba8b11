"""JSON Schema to TypeScript, keyword by keyword (``uiwire.typegen.json_schema``)."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel

from uiwire.typegen.json_schema import TypeNames, to_typescript


def ts(schema: object, names: TypeNames | None = None) -> str:
    return to_typescript(schema, names if names is not None else TypeNames())


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "string"}, "string"),
        ({"type": "integer"}, "number"),
        ({"type": "number", "minimum": 0}, "number"),
        ({"type": "boolean"}, "boolean"),
        ({"type": "null"}, "null"),
        ({"type": ["string", "null"]}, "string | null"),
        ({"type": "string", "format": "date-time"}, "string"),
        ({}, "unknown"),
        (True, "unknown"),
        (False, "never"),
        ("not a schema", "unknown"),
        ({"type": "mystery"}, "unknown"),
    ],
)
def test_scalars(schema: object, expected: str) -> None:
    assert ts(schema) == expected


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"const": "done"}, '"done"'),
        ({"const": 3}, "3"),
        ({"const": None}, "null"),
        ({"const": False}, "false"),
        ({"const": {"a": 1}}, "unknown"),
        ({"enum": ["a", "b", 1, None]}, '"a" | "b" | 1 | null'),
        ({"enum": []}, "never"),
        ({"enum": ['quote"d']}, '"quote\\"d"'),
    ],
)
def test_literals(schema: object, expected: str) -> None:
    assert ts(schema) == expected


def test_arrays_and_tuples() -> None:
    assert ts({"type": "array", "items": {"type": "string"}}) == "string[]"
    assert ts({"type": "array"}) == "unknown[]"
    union_items = {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "null"}]}}
    assert ts(union_items) == "(string | null)[]"
    assert ts({"items": {"type": "number"}}) == "number[]"
    tuple_schema = {
        "type": "array",
        "prefixItems": [{"type": "string"}, {"type": "integer"}],
        "items": False,
    }
    assert ts(tuple_schema) == "[string, number]"
    rest = {"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "number"}}
    assert ts(rest) == "[string, ...number[]]"


def test_objects_required_optional_and_quoted_keys() -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string", "description": "Where."},
            "zip code": {"type": "string"},
        },
        "required": ["city"],
    }
    assert ts(schema) == '{\n  /** Where. */\n  city: string;\n  "zip code"?: string;\n}'


def test_nested_objects_are_indented() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "object", "properties": {"b": {"type": "integer"}}}},
        "required": ["a"],
    }
    assert ts(schema) == "{\n  a: {\n    b?: number;\n  };\n}"


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "object"}, "{\n  [key: string]: unknown;\n}"),
        (
            {"type": "object", "additionalProperties": {"type": "integer"}},
            "{\n  [key: string]: number;\n}",
        ),
        ({"type": "object", "additionalProperties": False}, "{}"),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            "{\n  a: string;\n}",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "string"}},
                "required": ["a"],
                "additionalProperties": {"type": "integer"},
            },
            # every property must fit the index type: unknown keeps `a: string` valid
            "{\n  a: string;\n  [key: string]: unknown;\n}",
        ),
        ({"type": "object", "patternProperties": {"^x": {}}}, "{\n  [key: string]: unknown;\n}"),
    ],
)
def test_additional_properties(schema: object, expected: str) -> None:
    assert ts(schema) == expected


def test_unions_intersections_and_nullable() -> None:
    assert ts({"anyOf": [{"type": "string"}, {"type": "integer"}]}) == "string | number"
    assert ts({"oneOf": [{"type": "string"}, {"type": "string"}]}) == "string"
    assert ts({"anyOf": [{"type": "string"}, {}]}) == "unknown"
    assert ts({"type": "string", "nullable": True}) == "string | null"
    both = {
        "allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"type": "object", "properties": {"b": {"type": "string"}}, "required": ["b"]},
        ]
    }
    assert ts(both) == "{\n  a: string;\n} & {\n  b: string;\n}"
    union_in_intersection = {
        "allOf": [{"anyOf": [{"type": "string"}, {"type": "number"}]}, {"const": "x"}]
    }
    assert ts(union_in_intersection) == '(string | number) & "x"'


def test_refs_become_named_types_once() -> None:
    names = TypeNames()
    schema = {
        "type": "object",
        "properties": {
            "home": {"$ref": "#/$defs/Address"},
            "work": {"$ref": "#/$defs/Address"},
            "old": {"$ref": "#/definitions/Legacy"},
        },
        "required": ["home", "work", "old"],
        "$defs": {
            "Address": {
                "type": "object",
                "description": "A place.",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            }
        },
        "definitions": {"Legacy": {"type": "string"}},
    }
    assert ts(schema, names) == "{\n  home: Address;\n  work: Address;\n  old: Legacy;\n}"
    assert names.declarations() == (
        "/** A place. */\nexport type Address = {\n  city: string;\n};\n\n"
        "export type Legacy = string;\n"
    )


def test_unresolvable_refs_are_unknown() -> None:
    assert ts({"$ref": "https://example.com/schema.json"}) == "unknown"
    assert ts({"$ref": "#/$defs/Missing"}) == "unknown"


def test_recursive_definitions_refer_to_themselves() -> None:
    class Node(BaseModel):
        name: str
        children: list[Node] = []

    names = TypeNames()
    assert to_typescript(Node.model_json_schema(), names, name="Tree") == "Node"
    assert "export type Node = {\n  name: string;\n  children?: Node[];\n};" in (
        names.declarations()
    )


def test_same_name_different_types_are_numbered_identical_ones_shared() -> None:
    names = TypeNames(reserved=["ChatMessage"])
    first = {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]}
    second = {"type": "object", "properties": {"b": {"type": "string"}}, "required": ["b"]}
    assert to_typescript(first, names, name="Thing") == "Thing"
    assert to_typescript(second, names, name="Thing") == "Thing2"
    assert to_typescript(dict(first), names, name="Thing") == "Thing"
    assert to_typescript({"type": "integer"}, names, name="ChatMessage") == "number"
    assert to_typescript(first | {"title": "ChatMessage"}, names, name="X") == "ChatMessage2"


def test_names_are_made_identifiers() -> None:
    names = TypeNames()
    schema = {"type": "object", "properties": {}, "additionalProperties": False}
    assert to_typescript(schema | {"title": "Page[Item]"}, names, name="X") == "Page_Item_"
    assert to_typescript(schema | {"title": "1st"}, names, name="X") == "T1st"
    assert to_typescript(schema | {"title": "string"}, names, name="X") == "string_"


def test_titles_name_types_unless_told_not_to() -> None:
    names = TypeNames()
    schema = {
        "title": "get_weather_args",
        "type": "object",
        "properties": {"city": {"type": "string"}},
        "required": ["city"],
    }
    assert to_typescript(schema, names, name="GetWeatherInput", titled=False) == ("GetWeatherInput")
    assert to_typescript(schema, names, name="Other") == "get_weather_args"


def test_doc_comments_cannot_end_early() -> None:
    schema = {
        "type": "object",
        "properties": {"a": {"type": "string", "description": "ends */ here\nsecond line"}},
    }
    assert ts(schema) == "{\n  /**\n   * ends *\\/ here\n   * second line\n   */\n  a?: string;\n}"


def test_a_pydantic_model_round_trip() -> None:
    class Hit(BaseModel):
        url: str
        score: float | None = None
        kind: Literal["web", "doc"] = "web"
        extra: dict[str, Any] = {}

    names = TypeNames()
    assert to_typescript(Hit.model_json_schema(), names, name="X") == "Hit"
    assert names.declarations() == (
        "export type Hit = {\n"
        "  url: string;\n"
        "  score?: number | null;\n"
        '  kind?: "web" | "doc";\n'
        "  extra?: {\n    [key: string]: unknown;\n  };\n"
        "};\n"
    )
