"""What the generator is told beside the agent: the app's own data parts, metadata and
tool types (``UITypes``), and how a Python type becomes a JSON schema.

The agent says what uiwire sends for it (its tools, the adapter's parts); only the app
knows what its own code writes (``ctx.write_data``, ``ctx.write_metadata``, a
``tool_stream(ctx).data(...)``) and what the browser answers a client-side tool. Those
are declared here, so neither ``ChatEndpoint`` nor the adapters grow an option for
types. Types are Python types (a pydantic model, a ``TypedDict``, a dataclass, ``list[X]``,
a ``Literal``...: anything pydantic can describe) or JSON schemas (a ``dict``).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from typing import Any, cast

from pydantic import TypeAdapter
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema

__all__ = ["Schema", "ToolTypes", "UITypes", "returned_schema", "schema_of", "sent_schema"]

Schema = Mapping[str, Any] | bool
"""A JSON schema (``True``: anything)."""


@dataclasses.dataclass(frozen=True, slots=True)
class ToolTypes:
    """A tool's types, as the app declares them: ``input`` (the arguments the model
    writes) and ``output`` (what the part's ``output`` holds). None keeps what the
    agent's definition says (``unknown`` when it says nothing)."""

    input: object = None
    output: object = None


@dataclasses.dataclass(frozen=True, slots=True)
class UITypes:
    """The ``UIMessage`` type of an app: its agent, and what the app writes itself.

    ::

        ui_types = UITypes(
            adapter,                                   # or the Agent, the program, the endpoint
            data={"weather": Weather},                 # data-weather parts
            metadata=ChatMetadata,                     # merged with uiwire's own (usage)
            tools={"get_location": ToolTypes(output=Location)},  # a client tool's answer
        )

    and ``python -m uiwire types app:ui_types -o src/chat-types.d.ts``.

    Arguments:
        agent: what the endpoint serves: a ``ChatEndpoint``, an ``AgentsAdapter``, a
            ``DSPyAdapter``, an ``agents.Agent``, a ``dspy.Module``; or None (push API:
            only what is declared here).
        data: ``data-NAME`` parts the app writes, by NAME: the type of ``data``.
        metadata: the message metadata the app writes; with an adapter's (``usage``),
            the type is both.
        tools: tool types to add, or to put in place of what the agent's definition
            says (a client-side tool's output; a tool whose ``tool_stream`` progress
            differs from its return value; the push API's tools).
        name: the message type's name (``ChatMessage``); the other types are named
            after it (``ChatTools``, ``ChatDataParts``, ``ChatMetadata``).
    """

    agent: object = None
    data: Mapping[str, object] = dataclasses.field(default_factory=dict[str, object])
    metadata: object = None
    tools: Mapping[str, ToolTypes] = dataclasses.field(default_factory=dict[str, ToolTypes])
    name: str = "ChatMessage"

    def __post_init__(self) -> None:
        if not isinstance(self.data, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"data must map part names to types; got {self.data!r}")
        if not isinstance(self.tools, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"tools must map tool names to ToolTypes; got {self.tools!r}")
        for key in self.data:
            if not isinstance(key, str) or not key:  # pyright: ignore[reportUnnecessaryIsInstance]
                raise TypeError(f"data: part names must be non-empty strings; got {key!r}")
        for key, types in self.tools.items():
            if not isinstance(key, str) or not key:  # pyright: ignore[reportUnnecessaryIsInstance]
                raise TypeError(f"tools: tool names must be non-empty strings; got {key!r}")
            if not isinstance(types, ToolTypes):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise TypeError(f"tools[{key!r}] must be ToolTypes(input=, output=); got {types!r}")
        if not isinstance(self.name, str) or not self.name.isidentifier():  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"name must be a TypeScript identifier; got {self.name!r}")


def schema_of(declared: object, what: str) -> Schema:
    """The JSON schema of ``declared``: a dict as it is, a Python type as ``sent_schema``
    describes it; a type it cannot describe is refused, naming ``what`` declared it."""
    if isinstance(declared, Mapping):
        return cast("Mapping[str, Any]", declared)
    if isinstance(declared, bool):
        return declared
    try:
        return _sent(declared)
    except Exception as exc:  # pydantic's errors for types it cannot describe vary
        raise TypeError(
            f"{what}: cannot make a JSON schema of {declared!r} (give a type pydantic "
            f"can describe, or a JSON schema dict): {exc}"
        ) from exc


def sent_schema(kind: object) -> Schema | None:
    """The JSON schema of a value of type ``kind`` as uiwire sends it (pydantic's JSON
    form, by alias; every field of a model or dataclass is there, defaults included);
    None for ``Any`` or a type pydantic cannot describe (``unknown``)."""
    if kind is Any:
        return None
    try:
        return _sent(kind)
    except Exception:  # pydantic's errors for types it cannot describe vary
        return None


def returned_schema(function: object) -> Schema | None:
    """``sent_schema`` of what ``function`` returns, from its return annotation; None
    when it has none."""
    try:
        hints = typing.get_type_hints(function)
    except Exception:  # unresolvable annotations: nothing is known
        return None
    return sent_schema(hints["return"]) if "return" in hints else None


def _sent(kind: Any) -> dict[str, Any]:
    adapter: TypeAdapter[Any] = TypeAdapter(kind)
    return adapter.json_schema(mode="serialization", schema_generator=_AsSent)


class _AsSent(GenerateJsonSchema):
    """Serialization schemas with the fields a dump always writes required: a model
    or dataclass field with a default is still sent (only ``exclude_if`` may drop it)."""

    def field_is_required(
        self,
        field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField,
        total: bool,
    ) -> bool:
        if self.mode == "serialization" and field["type"] != "typed-dict-field":
            return field.get("serialization_exclude_if") is None
        return super().field_is_required(field, total)
