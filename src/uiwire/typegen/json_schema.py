"""JSON Schema to TypeScript: the types of the values a schema allows.

What each keyword becomes:

* ``type``: ``string``, ``number`` / ``integer`` (``number``), ``boolean``, ``null``;
  ``array`` (``items``, or ``prefixItems`` as a tuple), ``object`` (below); a list of
  types is their union. No ``type`` but ``properties`` (or ``items``) means an object
  (an array).
* ``object``: ``properties``, optional (``?``) unless ``required``;
  ``additionalProperties`` (or ``patternProperties``) adds an index signature: the
  schema's type when there are no properties, else ``unknown`` (TypeScript requires
  every property to fit the index type). ``additionalProperties: false`` or absent
  with properties: only the properties.
* ``enum`` / ``const``: literal unions (objects and arrays in them: ``unknown``).
* ``anyOf`` / ``oneOf``: unions; ``allOf``: an intersection; ``nullable: true``
  (OpenAPI 3.0): ``| null``.
* ``$ref`` to ``#/$defs/NAME`` (or ``#/definitions/NAME``): a named type, emitted once
  (``TypeNames``); recursive definitions are fine. Any other reference: ``unknown``.
* ``true`` / ``{}``: ``unknown``; ``false``: ``never``. Keywords that do not change
  the type (``format``, ``minimum``, ``pattern``...) are ignored; ``description``
  becomes a doc comment on a property or a named type.

A schema is trusted data from the app's own code (pydantic, the frameworks), but the
converter does not assume it is well-formed: anything it does not understand is
``unknown``, never an error.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, cast

__all__ = ["TypeNames", "to_typescript"]

_IDENTIFIER = re.compile(r"^[A-Za-z_$][A-Za-z0-9_$]*$")
_REF = re.compile(r"^#/(\$defs|definitions)/(.+)$")
_INDENT = "  "


class TypeNames:
    """The named types of one ``.d.ts`` file: each definition a schema refers to, and
    each type the caller names, emitted once under a unique name.

    Two definitions with the same name and the same TypeScript are one type; different
    ones get ``Name2``, ``Name3``... ``reserved`` names are never used for definitions
    (the file's own ``ChatMessage``, the imported ``UIMessage``).
    """

    def __init__(self, reserved: Sequence[str] = ()) -> None:
        self._reserved = set(reserved)
        self._bodies: dict[str, str] = {}
        self._docs: dict[str, str | None] = {}
        self._order: list[str] = []

    def add(self, wanted: str, body: str, doc: str | None = None) -> str:
        """Name ``body`` (TypeScript) ``wanted``, or the first free variant of it; the
        name of an identical type already there is reused."""
        return self.settle(self.reserve(wanted), wanted, body, doc)

    def reserve(self, wanted: str) -> str:
        """Claim a unique name now, for a type whose body is known later (a recursive
        definition refers to its own name while it is converted)."""
        base = _identifier(wanted)
        name, n = base, 1
        while name in self._bodies or name in self._reserved:
            n += 1
            name = f"{base}{n}"
        self._reserved.add(name)
        return name

    def settle(self, name: str, wanted: str, body: str, doc: str | None = None) -> str:
        """Give the reserved ``name`` its body; or, when a variant of ``wanted`` already
        holds the same type (and ``body`` does not refer to ``name``), drop ``name`` and
        return that one."""
        self._reserved.discard(name)
        if not re.search(rf"(?<![A-Za-z0-9_$]){re.escape(name)}(?![A-Za-z0-9_$])", body):
            base = _identifier(wanted)
            for existing in self._order:
                if _is_variant(existing, base) and self._bodies[existing] == body:
                    return existing
        self._bodies[name] = body
        self._docs[name] = doc
        self._order.append(name)
        return name

    def declarations(self) -> str:
        """``export type Name = ...;`` for every named type, in the order they were made."""
        blocks: list[str] = []
        for name in self._order:
            doc = _doc_comment(self._docs[name], "")
            blocks.append(f"{doc}export type {name} = {self._bodies[name]};\n")
        return "\n".join(blocks)


def to_typescript(
    schema: object, names: TypeNames, *, name: str | None = None, titled: bool = True
) -> str:
    """The TypeScript type of the values ``schema`` allows. Its definitions become named
    types in ``names``; with ``name``, the schema itself does too (under its ``title``
    when it has one and ``titled``, else ``name``) and the result is that name. A type
    that is a name already (``string``, a definition's) is not aliased."""
    converter = _Converter(schema, names)
    if name is None:
        return converter.convert(schema, 0)
    wanted = name
    title = _mapping(schema).get("title")
    if titled and isinstance(title, str) and title.strip():
        wanted = title
    body = converter.convert(schema, 0)
    if _IDENTIFIER.match(body):
        return body  # a name already (a $ref's type, string, unknown...): no alias
    return names.add(wanted, body, _description(schema))


class _Converter:
    """One root schema's conversion: its ``$defs`` resolve against it."""

    def __init__(self, root: object, names: TypeNames) -> None:
        self._root = _mapping(root)
        self._names = names
        self._named: dict[str, str] = {}  # "$defs/Name" -> its TypeScript name

    def convert(self, schema: object, depth: int) -> str:
        if schema is True:
            return "unknown"
        if schema is False:
            return "never"
        if not isinstance(schema, Mapping):
            return "unknown"
        node = cast("Mapping[str, Any]", schema)
        result = self._convert(node, depth)
        if node.get("nullable") is True and result not in ("unknown", "null"):
            result = _union([result, "null"])
        return result

    def _convert(self, node: Mapping[str, Any], depth: int) -> str:
        if "$ref" in node:
            return self._ref(node["$ref"])
        if "const" in node:
            return _literal(node["const"])
        if "enum" in node:
            values = node["enum"]
            if isinstance(values, list) and values:
                return _union([_literal(v) for v in cast("list[Any]", values)])
            return "never" if isinstance(values, list) else "unknown"
        for keyword in ("anyOf", "oneOf"):
            if keyword in node:
                return _union([self.convert(s, depth) for s in _schemas(node[keyword])])
        if "allOf" in node:
            members = [self.convert(s, depth) for s in _schemas(node["allOf"])]
            members = [m for m in members if m != "unknown"]
            if not members:
                return "unknown"
            return " & ".join(_parenthesized(m) for m in members)
        kind = node.get("type")
        if isinstance(kind, list):
            kinds = [k for k in cast("list[Any]", kind) if isinstance(k, str)]
            return _union([self._typed(node, k, depth) for k in kinds]) if kinds else "unknown"
        if isinstance(kind, str):
            return self._typed(node, kind, depth)
        if "properties" in node or "additionalProperties" in node:
            return self._object(node, depth)
        if "items" in node or "prefixItems" in node:
            return self._array(node, depth)
        return "unknown"

    def _typed(self, node: Mapping[str, Any], kind: str, depth: int) -> str:
        if kind == "string":
            return "string"
        if kind in ("number", "integer"):
            return "number"
        if kind == "boolean":
            return "boolean"
        if kind == "null":
            return "null"
        if kind == "array":
            return self._array(node, depth)
        if kind == "object":
            return self._object(node, depth)
        return "unknown"

    def _array(self, node: Mapping[str, Any], depth: int) -> str:
        prefix = node.get("prefixItems")
        items = node.get("items")
        if isinstance(prefix, list):
            members = [self.convert(s, depth) for s in cast("list[Any]", prefix)]
            if items is not None and items is not False:
                members.append(f"...{_parenthesized(self.convert(items, depth))}[]")
            return f"[{', '.join(members)}]"
        if isinstance(items, list):  # draft 4-7 tuple form
            return f"[{', '.join(self.convert(s, depth) for s in cast('list[Any]', items))}]"
        return f"{_parenthesized(self.convert(items if items is not None else True, depth))}[]"

    def _object(self, node: Mapping[str, Any], depth: int) -> str:
        props = _mapping(node.get("properties"))
        required_list = node.get("required")
        required = (
            {r for r in cast("list[Any]", required_list) if isinstance(r, str)}
            if isinstance(required_list, list)
            else set[str]()
        )
        extra = node.get("additionalProperties")
        if extra is None and "patternProperties" in node:
            extra = True
        if extra is None and not props:
            extra = True  # {"type": "object"}: any object
        inner = _INDENT * (depth + 1)
        lines: list[str] = []
        for key, prop in props.items():
            mark = "" if key in required else "?"
            doc = _doc_comment(_description(prop), inner)
            lines.append(f"{doc}{inner}{_key(key)}{mark}: {self.convert(prop, depth + 1)};")
        if extra is not None and extra is not False:
            value = "unknown" if props else self.convert(extra, depth + 1)
            lines.append(f"{inner}[key: string]: {value};")
        if not lines:
            return "{}"
        return "{\n" + "\n".join(lines) + "\n" + _INDENT * depth + "}"

    def _ref(self, ref: object) -> str:
        match = _REF.match(ref) if isinstance(ref, str) else None
        if match is None:
            return "unknown"
        section, key = match.group(1), match.group(2).replace("~1", "/").replace("~0", "~")
        known = self._named.get(f"{section}/{key}")
        if known is not None:
            return known
        target: object = _mapping(self._root.get(section)).get(key)
        if target is None:
            return "unknown"
        title = _mapping(target).get("title")
        wanted = key if not isinstance(title, str) or not title.strip() else title
        name = self._named[f"{section}/{key}"] = self._names.reserve(wanted)
        body = self.convert(target, 0)
        name = self._named[f"{section}/{key}"] = self._names.settle(
            name, wanted, body, _description(target)
        )
        return name


def _is_variant(name: str, base: str) -> bool:
    """``name`` is ``base`` or ``base`` numbered (``Addr``, ``Addr2``)."""
    return name == base or (name.startswith(base) and name[len(base) :].isdigit())


def _mapping(value: object) -> Mapping[str, Any]:
    """``value`` as a JSON object; anything else as an empty one."""
    return cast("Mapping[str, Any]", value) if isinstance(value, Mapping) else {}


def _schemas(value: object) -> list[object]:
    return list(cast("list[object]", value)) if isinstance(value, list) else []


def _union(members: list[str]) -> str:
    unique: list[str] = []
    for member in members:
        if member == "never":
            continue
        if member == "unknown":
            return "unknown"
        if member not in unique:
            unique.append(member)
    if not unique:
        return "never"
    return " | ".join(_parenthesized(m, union=True) for m in unique)


def _parenthesized(text: str, *, union: bool = False) -> str:
    """``text`` as an operand: a union (or, outside a union, an intersection) in
    parentheses; objects and single names as they are."""
    depth = 0
    for i, char in enumerate(text):
        if char in "{[(<":
            depth += 1
        elif char in "}])>":
            depth -= 1
        elif depth == 0 and (
            text.startswith(" | ", i) or (not union and text.startswith(" & ", i))
        ):
            return f"({text})"
    return text


def _literal(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return "unknown"


def _key(key: str) -> str:
    return key if _IDENTIFIER.match(key) else json.dumps(key, ensure_ascii=False)


_NOT_TYPE_NAMES = frozenset(
    [
        "any",
        "unknown",
        "never",
        "void",
        "undefined",
        "null",
        "object",
        "string",
        "number",
        "bigint",
        "boolean",
        "symbol",
        "true",
        "false",
        "this",
        "typeof",
        "keyof",
        "infer",
        "readonly",
        "unique",
        "asserts",
        "is",
        "in",
        "extends",
    ]
)
"""Names a type alias cannot take (TypeScript's own types and keywords)."""


def _identifier(wanted: str) -> str:
    """A TypeScript type name from ``wanted``: characters a name cannot hold become
    ``_``; one that starts with a digit is prefixed; a reserved one suffixed."""
    name = re.sub(r"[^A-Za-z0-9_$]", "_", wanted.strip()) or "Type"
    if name[0].isdigit():
        return f"T{name}"
    return f"{name}_" if name in _NOT_TYPE_NAMES else name


def _description(schema: object) -> str | None:
    text = _mapping(schema).get("description")
    return text.strip() if isinstance(text, str) and text.strip() else None


def _doc_comment(text: str | None, indent: str) -> str:
    if not text:
        return ""
    lines = text.replace("*/", "*\\/").splitlines()
    if len(lines) == 1:
        return f"{indent}/** {lines[0]} */\n"
    body = "".join(f"{indent} *{' ' + line if line.strip() else ''}\n" for line in lines)
    return f"{indent}/**\n{body}{indent} */\n"
