"""Which output field of which predictor becomes which part: decided once per adapter.

DSPy streams only fields that have a ``StreamListener``, and names each chunk by the
predictor's path (``predict_name``) and the field. The plan walks the program once,
gives every output field a role (text, reasoning, a structured output, tool input or
nothing: an answer field typed other than ``str`` is a structured output), applies the
user's overrides and rejects overrides that name nothing, so a typo fails at start-up
rather than streaming silence. Listeners themselves hold state, so they are made fresh
from the plan for every request (``Plan.listeners``).
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, cast

import dspy as _dspy
from dspy.streaming import StreamListener

from uiwire.adapters._leave_out import LeftOut
from uiwire.adapters._tool_labels import ToolLabel
from uiwire.adapters.dspy._compat import (
    REACT_TOOL_ARGS_FIELD,
    REACT_TOOL_NAME_FIELD,
    Citations,
    agent_parts,
)
from uiwire.adapters.dspy._listeners import FieldListener, ToolCallDeltaListener

__all__ = ["FieldRole", "Plan", "Route", "build_plan"]

dspy: Any = _dspy  # untyped; its values are Any here

FieldRole = Literal["text", "reasoning", "output", "skip"]
"""What a field becomes: a text part, a reasoning part, a structured output
(``data-output`` part, its value as data), or nothing."""

_Role = Literal["text", "reasoning", "output", "tool_name", "tool_args", "tool_calls", "sources"]
_USER_ROLES: tuple[FieldRole, ...] = ("text", "reasoning", "output", "skip")
_REASONING_NAMES = frozenset({"reasoning", "rationale", "next_thought"})
_REACT_TOOL_FIELDS: Mapping[str, _Role] = {
    REACT_TOOL_NAME_FIELD: "tool_name",
    REACT_TOOL_ARGS_FIELD: "tool_args",
}


@dataclass(frozen=True, slots=True)
class Route:
    """One streamed field."""

    predict_name: str
    predictor: Any
    field: str
    role: _Role
    ends_itself: bool
    """DSPy marks the field's last chunk. Streamable custom types (native
    ``dspy.Reasoning``) never do: their part closes when another field starts."""


@dataclass(frozen=True, slots=True)
class Plan:
    routes: Mapping[tuple[str, str], Route]
    final_predictor: str
    final_fields: tuple[
        tuple[str, Literal["text", "reasoning", "output", "tool_calls", "sources"]], ...
    ]
    """The answer's fields, sent from the Prediction when they did not stream."""
    agent_tools: Mapping[str, frozenset[str]]
    """Per ReAct / ReActV2 predictor, the tools the user sees (``finish`` and ``submit``
    left out). The agent runs every call it makes before its next model call."""
    internal_tools: frozenset[int]
    """``id()`` of the agents' own tools (ReAct's ``finish``, ReActV2's ``submit``)."""
    internal_tool_names: Mapping[str, frozenset[str]]
    """Per predictor, the tool names whose native calls are never shown."""
    agent_predictors: Mapping[int, str]
    """``id()`` of each ReActV2 turn's Predict, to its name: the bridge reports the tool
    calls each turn made, which text mode (no native calls) shows no other way."""
    async_program: bool
    tool_labels: Mapping[str, ToolLabel] = dataclasses.field(default_factory=dict[str, ToolLabel])
    """The agents' tools' labels (``title``, ``toolMetadata``), by tool name, from each
    ``dspy.Tool``'s description."""
    tools: Mapping[str, Any] = dataclasses.field(default_factory=dict[str, Any])
    """The agents' tools the user sees (each a ``dspy.Tool``), by name."""

    def listeners(self) -> list[StreamListener]:
        """Fresh listeners for one request (a used listener streams nothing again)."""
        made: list[StreamListener] = []
        for route in self.routes.values():
            kind = ToolCallDeltaListener if route.role == "tool_calls" else FieldListener
            made.append(
                kind(
                    route.field,
                    predict=route.predictor,
                    predict_name=route.predict_name,
                    allow_reuse=True,  # loops (ReAct) call the same predictor again
                )
            )
        return made


def build_plan(
    program: Any,
    fields: Mapping[str, FieldRole] | None,
    async_program: bool | None,
    leave_out: LeftOut = frozenset(),
) -> Plan:
    if not isinstance(program, dspy.Module):
        raise TypeError(f"program must be a dspy.Module; got {type(program).__name__}")
    predictors = cast("list[tuple[str, Any]]", list(program.named_predictors()))
    if not predictors:
        raise ValueError("program has no dspy.Predict inside it, so nothing can stream")
    name_of = {id(p): name for name, p in predictors}
    final_name = predictors[-1][0]

    agent_tools: dict[str, frozenset[str]] = {}
    text_react: set[str] = set()  # ReAct (not V2): tool calls written as text fields
    internal_names: dict[str, frozenset[str]] = {}
    internal_ids: set[int] = set()
    agent_predictors: dict[int, str] = {}
    user_tools: list[Any] = []
    for _, module in cast("list[tuple[str, Any]]", list(program.named_sub_modules())):
        agent = agent_parts(module)
        if agent is None:
            continue
        internal = agent.own_tool
        tools = agent.tools
        react_name = name_of[id(agent.predictor)]
        if internal in tools:
            internal_ids.add(id(tools[internal]))
        visible = [tool for name, tool in tools.items() if name != internal]
        user_tools.extend(visible)
        internal_names[react_name] = frozenset({internal})
        agent_tools[react_name] = frozenset(tool.name for tool in visible)
        if agent.calls_as_text:
            text_react.add(react_name)
        else:
            agent_predictors[id(agent.predictor)] = react_name

    roles: dict[tuple[str, str], _Role | Literal["skip"]] = {}
    annotations: dict[tuple[str, str], Any] = {}
    for name, predictor in predictors:
        for field, info in cast("dict[str, Any]", predictor.signature.output_fields).items():
            annotations[name, field] = info.annotation
            roles[name, field] = _default_role(
                field, info.annotation, final=name == final_name, react=name in text_react
            )
    for key, role in (fields or {}).items():
        _apply_override(roles, key, role)
    for key, role in roles.items():  # left out whatever the overrides said
        if role in leave_out:
            roles[key] = "skip"

    routes = {
        (name, field): Route(
            predict_name=name,
            predictor=predictor,
            field=field,
            role=role,
            ends_itself=not _streams_natively(annotations[name, field]),
        )
        for name, predictor in predictors
        for field in predictor.signature.output_fields
        if (role := roles[name, field]) != "skip"
    }
    return Plan(
        routes=routes,
        final_predictor=final_name,
        final_fields=_final_fields(program, final_name, roles),
        agent_tools=agent_tools,
        internal_tools=frozenset(internal_ids),
        internal_tool_names=internal_names,
        agent_predictors=agent_predictors,
        async_program=_choose_async(program, user_tools)
        if async_program is None
        else async_program,
        tool_labels={
            str(tool.name): ToolLabel.of(getattr(tool, "desc", None), origin="function")
            for tool in user_tools
        },
        tools={str(tool.name): tool for tool in user_tools},
    )


def _default_role(
    field: str, annotation: Any, *, final: bool, react: bool
) -> _Role | Literal["skip"]:
    if react and field in _REACT_TOOL_FIELDS:
        return _REACT_TOOL_FIELDS[field]
    if _is_subclass(annotation, dspy.ToolCalls):
        return "tool_calls"
    if _is_subclass(annotation, Citations):
        return "sources"
    if _is_subclass(annotation, dspy.Reasoning) or field in _REASONING_NAMES:
        return "reasoning"
    if not final:
        return "skip"
    return "text" if _is_text(annotation) else "output"


def _apply_override(
    roles: dict[tuple[str, str], _Role | Literal["skip"]], key: object, role: object
) -> None:
    if not isinstance(key, str) or not key:
        raise TypeError(f"fields: keys must be field names or 'predictor.field'; got {key!r}")
    if role not in _USER_ROLES:
        raise ValueError(f"fields[{key!r}] must be one of {_USER_ROLES}; got {role!r}")
    predictor, _, field = key.rpartition(".")
    matched = [k for k in roles if k[1] == field and (not predictor or k[0] == predictor)]
    if not matched:
        known = ", ".join(f"{p}.{f}" for p, f in roles)
        raise ValueError(f"fields[{key!r}] names no output field of the program; it has: {known}")
    for k in matched:
        current = roles[k]
        if current in ("tool_name", "tool_args", "tool_calls", "sources") and role != "skip":
            what = "sources" if current == "sources" else "tool calls"
            raise ValueError(
                f"fields[{key!r}]: {k[0]}.{k[1]} streams {what}; it can only be 'skip'"
            )
        roles[k] = role


def _final_fields(
    program: Any, final_name: str, roles: Mapping[tuple[str, str], _Role | Literal["skip"]]
) -> tuple[tuple[str, Literal["text", "reasoning", "output", "tool_calls", "sources"]], ...]:
    """The program's own output fields when it declares a signature (ReAct, ReActV2),
    else the last predictor's text, reasoning and tool-call fields."""
    signature = getattr(program, "signature", None)
    declared = getattr(signature, "output_fields", None)
    if isinstance(declared, Mapping) and not isinstance(program, dspy.Predict):
        names = cast("Mapping[str, Any]", declared)
        return tuple(
            (
                name,
                "reasoning"
                if name in _REASONING_NAMES
                else "output"
                if roles.get((final_name, name)) == "output"
                else "text",
            )
            for name in names
            if roles.get((final_name, name), "text") != "skip"
        )
    return tuple(
        (field, role)
        for (name, field), role in roles.items()
        if name == final_name and role in ("text", "reasoning", "output", "tool_calls", "sources")
    )


def _choose_async(program: Any, tools: list[Any]) -> bool:
    """Async when the program has an async entry (``aforward``, or its own ``acall``)
    and every tool is async: a sync tool would run on the event loop there. Otherwise
    DSPy runs in a worker thread, unless the program has only an async entry (no
    ``forward`` or own ``__call__`` to run there)."""
    kind: Any = cast("Any", type(program))  # the class: reading .forward off the instance warns
    if not (callable(getattr(kind, "aforward", None)) or _overrides(kind, "acall")):
        return False
    if not (callable(getattr(kind, "forward", None)) or _overrides(kind, "__call__")):
        return True
    return all(inspect.iscoroutinefunction(getattr(tool, "func", None)) for tool in tools)


def _overrides(kind: Any, name: str) -> bool:
    """The class defines ``name`` itself, not as ``dspy.Module`` does."""
    return getattr(kind, name, None) is not getattr(dspy.Module, name, None)


def _is_text(annotation: Any) -> bool:
    """Whether a field's value is shown as text: ``str`` (or ``str | None``), a
    ``Literal`` of strings, a ``str`` enum, a ``dspy.Type`` (its own roles and text);
    anything else (lists, dicts, models, numbers, booleans) is a structured output."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return len(args) == 1 and _is_text(args[0])
    if typing.get_origin(annotation) is Literal:
        return all(isinstance(v, str) for v in typing.get_args(annotation))
    if annotation is str or annotation is Any:
        return True
    if _is_subclass(annotation, enum.Enum):
        return _is_subclass(annotation, str)
    return _is_subclass(annotation, dspy.Type)


def _streams_natively(annotation: Any) -> bool:
    return _is_subclass(annotation, dspy.Type) and bool(annotation.is_streamable())


def _is_subclass(annotation: Any, base: Any) -> bool:
    return inspect.isclass(annotation) and issubclass(annotation, base)
