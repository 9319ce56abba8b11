"""What the DSPy adapter sends for a program, read from the adapter's plan (the same
one its streams follow).

* The tools of its agents (ReAct, ReActV2; ``finish`` and ``submit`` left out):
  ``tool-NAME``, the input as DSPy describes the tool to the model, the output what the
  tool's function returns (its return annotation; else ``unknown``).
* ``data-output`` for every field streamed as a structured output: its name and the
  field's type; ``data-status`` when the adapter sends status messages; the ``usage``
  metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from uiwire.adapters.dspy import DSPyAdapter
from uiwire.adapters.dspy._plan import Plan
from uiwire.adapters.dspy._translate import STATUS_PART
from uiwire.typegen._shape import STATUS_DATA, USAGE_METADATA, OutputShape, ToolShape, UIShape
from uiwire.typegen.declaration import Schema, returned_schema, sent_schema

__all__ = ["dspy_shape"]


def dspy_shape(adapter: DSPyAdapter) -> UIShape:
    plan: Plan = adapter._plan  # pyright: ignore[reportPrivateUsage]
    shape = UIShape(metadata=[USAGE_METADATA])
    if adapter._status is not None:  # pyright: ignore[reportPrivateUsage]
        shape.data[STATUS_PART] = STATUS_DATA
    for name, tool in plan.tools.items():
        shape.tools[name] = ToolShape(input=_parameters(tool), output=_returned(tool))
    for field, annotation in _output_fields(adapter.program, plan):
        output = OutputShape(field, sent_schema(annotation))
        if output not in shape.outputs:
            shape.outputs.append(output)
    return shape


def _parameters(tool: Any) -> Schema | None:
    """The arguments' schema DSPy gives the model for ``tool``."""
    try:
        described = tool.format_as_litellm_function_call()
        parameters = described["function"]["parameters"]
    except Exception:  # a tool DSPy cannot describe: its input is unknown
        return None
    return cast("Mapping[str, Any]", parameters) if isinstance(parameters, Mapping) else None


def _returned(tool: Any) -> Schema | None:
    function = getattr(tool, "func", None)
    return None if function is None else returned_schema(function)


def _output_fields(program: Any, plan: Plan) -> list[tuple[str, Any]]:
    """``(field, annotation)`` of each field sent as a ``data-output`` part: the
    streamed ones and the answer's (the program's own signature when it declares one,
    as the plan reads it)."""
    found: list[tuple[str, Any]] = []
    for route in plan.routes.values():
        if route.role == "output":
            fields = route.predictor.signature.output_fields
            found.append((route.field, fields[route.field].annotation))
    signature = getattr(program, "signature", None)
    found_fields: Any = getattr(signature, "output_fields", None)
    declared: Mapping[str, Any] = (
        cast("Mapping[str, Any]", found_fields) if isinstance(found_fields, Mapping) else {}
    )
    for field, role in plan.final_fields:
        if role != "output":
            continue
        info: Any = declared.get(field)
        if info is None:
            route = plan.routes.get((plan.final_predictor, field))
            info = None if route is None else route.predictor.signature.output_fields[field]
        found.append((field, getattr(info, "annotation", Any)))
    return found
