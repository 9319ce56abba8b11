"""One run's translation: DSPy stream items in, ``StreamContext`` writes out.

Theory of operation
-------------------
Each item the streamify generator yields is translated into ``StreamContext`` writes:

* ``StreamResponse`` chunks: one open part per (predictor, field), text or reasoning by
  the plan (XMLAdapter and JSONAdapter text decoded to the value's own text); a field
  typed other than ``str`` is a structured output: its JSON streams as a ``data-output``
  part (``StructuredOutput``), which ends with the Prediction's value; ReAct's
  ``next_tool_name`` / ``next_tool_args`` become a streamed tool input; ``Citations``
  become ``source-document`` parts; any other non-text chunk (a streamable custom type's
  pieces, DSPy's markers among them) is not shown: the field's value is sent whole from
  the Prediction;
* native tool-call pieces (``ToolCallDelta``): tool input start and deltas;
* bridge events: a model call starting ends the step; a tool starting gives the call its
  real arguments (``tool-input-available``), its end gives the output or the error; a
  ReActV2 turn ending shows the calls it made to tools the agent does not have (text
  mode has no native call to show them by);
* ``StatusMessage``: a transient ``data-status`` part;
* the final ``Prediction``: open parts close, answer fields that never streamed (a cache
  hit streams nothing) are sent whole (a ``None`` value, as a native tool-call turn
  leaves its answer, is no text at all), structured outputs end with the Prediction's
  validated value (those of other predictors, or of a run that returned no
  Prediction, with their JSON parsed), and the usage goes into the message metadata.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Hashable, Mapping
from typing import Any, cast

import dspy as _dspy
from dspy.streaming import StatusMessage, StreamResponse

from uiwire.adapters._tool_labels import label_options
from uiwire.adapters.dspy._bridge import AgentTurnEnded, ModelCallStarted, ToolEnded, ToolStarted
from uiwire.adapters.dspy._json_fields import JsonFieldText
from uiwire.adapters.dspy._listeners import ToolCallDelta
from uiwire.adapters.dspy._plan import Plan, Route
from uiwire.adapters.dspy._xml_fields import XmlFieldText
from uiwire.protocol._json import to_json_value
from uiwire.stream.context import StreamContext
from uiwire.stream.record import Usage
from uiwire.stream.structured_output import StructuredOutput

__all__ = ["STATUS_PART", "Translation"]

dspy: Any = _dspy  # untyped; its values are Any here

STATUS_PART = "status"
"""Status messages are sent as transient ``data-status`` parts: ``{"message": ...}``."""


@dataclasses.dataclass(slots=True)
class _ToolPart:
    part_id: str
    name: str
    native: bool
    args_text: str = ""
    input_done: bool = False
    bound: bool = False
    hidden: bool = False
    agent: bool = False
    """An agent (ReActV2) runs its calls before its next model call; a plain
    predictor's calls are for the app to run."""


class Translation:
    """One request's translation state: DSPy items in, ``StreamContext`` writes out."""

    def __init__(
        self, plan: Plan, ctx: StreamContext[Any], *, json_fields: bool, xml_fields: bool = False
    ) -> None:
        self._plan = plan
        self._ctx = ctx
        self._open: dict[tuple[str, str], Route] = {}  # parts open, by (predictor, field)
        self._streamed: set[tuple[str, str]] = set()  # (predictor, field) that streamed
        self._step_has_content = False
        self._tool_name: dict[str, str] = {}  # ReAct: the name streaming, per predictor
        self._tool_args: dict[str, str] = {}  # ReAct: args streamed before the name was done
        self._react_part: dict[str, _ToolPart | None] = {}  # ReAct: this turn's call
        self._native: dict[tuple[str, int], _ToolPart] = {}  # this step's native calls
        self._waiting: list[_ToolPart] = []  # streamed calls not yet run
        self._running: dict[str, _ToolPart] = {}  # DSPy call_id -> part
        self._json_fields = json_fields  # JSONAdapter: chunks are raw JSON, decoded per field
        self._xml_fields = xml_fields  # XMLAdapter: chunks are XML text, entities decoded
        self._decoders: dict[tuple[str, str], JsonFieldText | XmlFieldText] = {}
        self._cited: dict[tuple[int, str | None], str] = {}  # document -> its source id
        self._outputs: dict[tuple[str, str], StructuredOutput] = {}  # streaming, by field
        self._written: list[tuple[tuple[str, str], StructuredOutput]] = []  # not yet done

    # --- dispatch --------------------------------------------------------------------------

    async def handle(self, item: object) -> None:
        if isinstance(item, StreamResponse):
            await self._chunk(item)
        elif isinstance(item, list):
            for piece in cast("list[object]", item):
                if isinstance(piece, ToolCallDelta):
                    await self._native_piece(piece)
        elif isinstance(item, ModelCallStarted):
            await self._end_step()
        elif isinstance(item, ToolStarted):
            await self._tool_started(item)
        elif isinstance(item, ToolEnded):
            await self._tool_ended(item)
        elif isinstance(item, AgentTurnEnded):
            await self._agent_turn_ended(item)
        elif isinstance(item, StatusMessage):
            await self._ctx.write_data(STATUS_PART, {"message": item.message}, transient=True)

    async def close(self, result: Any) -> None:
        """After the program: close what is open, send what never streamed, the usage."""
        await self._settle_tool_inputs()
        await self._end_parts()
        if _predictions(result) and not self._streamed:
            # a list of Predictions (dspy.Parallel's): their predictors ran in threads,
            # which stream nothing; each is shown whole, in the list's order
            await self._finish_outputs(None)
            predictions = cast("list[Any]", result)
            for index, prediction in enumerate(predictions):
                await self._show_unstreamed(prediction, ("dspy", "prediction", index))
            await self._report_usage(predictions)
            return
        if not isinstance(result, dspy.Prediction):
            await self._finish_outputs(None)
            return
        await self._finish_outputs(result)
        await self._show_unstreamed(result, ("dspy", "prediction"))
        await self._report_usage([result])

    async def _report_usage(self, predictions: list[Any]) -> None:
        """The usage DSPy reports for ``predictions``, summed, into the message metadata."""
        reported = [u for u in map(_usage, predictions) if u is not None]
        if reported:
            usage = sum(reported[1:], reported[0])
            self._ctx.add_usage(usage)
            await self._ctx.write_metadata({"usage": usage.as_metadata()})

    async def _show_unstreamed(self, result: Any, key_prefix: tuple[Hashable, ...]) -> None:
        """The final fields of ``result`` (a Prediction) that never streamed, whole."""
        final = self._plan.final_predictor
        for field, role in self._plan.final_fields:
            if (final, field) in self._streamed or field not in result:
                continue
            value = result[field]
            if value is None:  # a native tool-call turn leaves its answer None: no text
                continue
            if role == "output":
                output = StructuredOutput(self._ctx, field)
                await output.finish(value)
                continue
            if role == "tool_calls":
                await self._tool_calls_from(value)
                continue
            if role == "sources":
                await self._sources(value)
                continue
            text = _as_text(value)
            if not text:
                continue
            key = (*key_prefix, field)
            if role == "reasoning":
                await self._ctx.write_reasoning(text, key=key)
                await self._ctx.end_reasoning(key=key)
            else:
                await self._ctx.write_text(text, key=key)
                await self._ctx.end_text(key=key)

    async def _begin(self, name: str, *input: Any, tool_call_id: str | None = None) -> str:
        """Begin a tool part (``input``: its complete input, if it has it), labelled from
        the tool's definition when the plan has it."""
        label = label_options(self._ctx, self._plan.tool_labels.get(name))
        return await self._ctx.begin_tool_call(name, *input, tool_call_id=tool_call_id, **label)

    async def _finish_outputs(self, result: Any) -> None:
        """End every structured output: the last one of each of the answer's fields with
        the Prediction's value, the others with their JSON parsed."""
        self._outputs.clear()
        final = self._plan.final_predictor
        last = dict(self._written)
        for slot, output in self._written:
            field = slot[1]
            if result is not None and slot[0] == final and field in result and last[slot] is output:
                await output.finish(result[field])
            else:
                await output.finish()
        self._written.clear()

    async def _tool_calls_from(self, value: Any) -> None:
        """Tool calls the model wrote as text (no native function calling): whole."""
        for call in cast("list[Any]", getattr(value, "tool_calls", None) or []):
            await self._begin(
                str(call.name),
                _as_json_args(getattr(call, "args", None) or {}),
                tool_call_id=call.id or None,
            )

    # --- text, reasoning and ReAct's tool fields ----------------------------------------------

    async def _chunk(self, item: StreamResponse) -> None:
        route = self._plan.routes.get((item.predict_name, item.signature_field_name))
        if route is None:
            return
        await self._end_unmarked_parts(route.predict_name, route.field)
        chunk: Any = item.chunk  # typed str by DSPy; a streamable type's own value at times
        if route.role == "sources":
            if await self._sources(chunk):
                self._streamed.add((route.predict_name, route.field))
            return
        if chunk is None:
            chunk = ""
        if not isinstance(chunk, str):
            # A streamable custom type's piece: a value of its own, not text (its pieces
            # include DSPy's markers); the field is sent whole from the Prediction.
            if item.is_last_chunk:
                await self._end_part((route.predict_name, route.field))
            return
        text = self._decoded(route, chunk, last=item.is_last_chunk)
        if route.role == "output":
            await self._output_chunk(route, text, last=item.is_last_chunk)
            return
        if route.role == "tool_name":
            await self._react_name(route.predict_name, text, item.is_last_chunk)
            return
        if route.role == "tool_args":
            await self._react_args(route.predict_name, text)
            return
        key = _key(route)
        if text:
            self._streamed.add((route.predict_name, route.field))
            self._step_has_content = True
            self._open[route.predict_name, route.field] = route
            if route.role == "text":
                await self._ctx.write_text(text, key=key)
            else:
                await self._ctx.write_reasoning(text, key=key)
        if item.is_last_chunk:
            await self._end_part((route.predict_name, route.field))

    async def _output_chunk(self, route: Route, text: str, *, last: bool) -> None:
        """A structured output's JSON; its part ends when the Prediction is in."""
        slot = (route.predict_name, route.field)
        output = self._outputs.get(slot)
        if output is None and text:
            output = self._outputs[slot] = StructuredOutput(self._ctx, route.field)
            self._written.append((slot, output))
            self._streamed.add(slot)
            self._step_has_content = True
        if output is not None:
            await output.write(text)
        if last:
            self._outputs.pop(slot, None)  # the field may stream again: a new part

    def _decoded(self, route: Route, chunk: str, *, last: bool) -> str:
        """The chunk as the value's own text: JSONAdapter and XMLAdapter chunks are raw
        JSON / XML (quotes, escapes, entities), decoded per field."""
        if not (self._json_fields or self._xml_fields):
            return chunk
        slot = (route.predict_name, route.field)
        decoder = self._decoders.get(slot)
        if decoder is None:
            decoder = JsonFieldText() if self._json_fields else XmlFieldText()
            self._decoders[slot] = decoder
        text = (
            decoder.feed(chunk, last=last)
            if isinstance(decoder, XmlFieldText)
            else (decoder.feed(chunk))
        )
        if last:
            del self._decoders[slot]
        return text

    async def _sources(self, value: object) -> bool:
        """``Citations`` as ``source-document`` parts, one per cited document (its
        title, or "Document n"); whether ``value`` held any."""
        citations = cast("list[Any]", getattr(value, "citations", None) or [])
        for citation in citations:
            index: Any = getattr(citation, "document_index", 0)
            title: Any = getattr(citation, "document_title", None)
            document = (index if isinstance(index, int) else 0, title if title else None)
            if document in self._cited:
                continue
            shown = document[1] or f"Document {document[0] + 1}"
            self._cited[document] = await self._ctx.write_source_document(shown, "text/plain")
        return bool(citations)

    async def _end_unmarked_parts(self, predict_name: str, field: str) -> None:
        """A streamable type (native reasoning) never says it ended: another field (or
        a tool call) of the same predictor starting is the sign."""
        for open_key, open_route in list(self._open.items()):
            if not open_route.ends_itself and open_key[0] == predict_name and open_key[1] != field:
                await self._end_part(open_key)

    async def _end_part(self, open_key: tuple[str, str]) -> None:
        route = self._open.pop(open_key, None)
        if route is None:
            return
        if route.role == "text":
            await self._ctx.end_text(key=_key(route))
        else:
            await self._ctx.end_reasoning(key=_key(route))

    async def _end_parts(self) -> None:
        for open_key in list(self._open):
            await self._end_part(open_key)

    async def _react_name(self, predict_name: str, chunk: str, last: bool) -> None:
        name = self._tool_name.get(predict_name, "") + chunk
        self._tool_name[predict_name] = name
        if not last or predict_name in self._react_part:
            return
        name = name.strip()
        part: _ToolPart | None = None
        if name in self._plan.agent_tools.get(predict_name, frozenset()):
            part = _ToolPart(await self._begin(name), name, native=False)
            self._step_has_content = True
            self._waiting.append(part)
        self._react_part[predict_name] = part  # None: finish, or no such tool
        early = self._tool_args.pop(predict_name, "")
        if part is not None and early:
            await self._tool_input(part, early)

    async def _react_args(self, predict_name: str, chunk: str) -> None:
        if not chunk:
            return
        if predict_name not in self._react_part:  # the name has not finished yet
            self._tool_args[predict_name] = self._tool_args.get(predict_name, "") + chunk
            return
        part = self._react_part[predict_name]
        if part is not None:
            await self._tool_input(part, chunk)

    async def _tool_input(self, part: _ToolPart, delta: str) -> None:
        if part.input_done:
            return
        part.args_text += delta
        await self._ctx.write_tool_input(part.part_id, delta)

    # --- native tool calls ----------------------------------------------------------------------

    async def _native_piece(self, piece: ToolCallDelta) -> None:
        slot = (piece.predict_name, piece.index)
        self._streamed.add((piece.predict_name, piece.field))
        part = self._native.get(slot)
        if part is None:
            if piece.name is None:
                return  # no name yet; providers send it in the first piece
            await self._end_unmarked_parts(piece.predict_name, "")
            hidden = piece.name in self._plan.internal_tool_names.get(piece.predict_name, ())
            part_id = "" if hidden else await self._begin(piece.name, tool_call_id=piece.call_id)
            part = _ToolPart(part_id, piece.name, native=True, hidden=hidden)
            part.agent = piece.predict_name in self._plan.agent_tools
            self._native[slot] = part
            if not hidden:
                self._step_has_content = True
                self._waiting.append(part)
        if piece.arguments and not part.hidden:
            await self._tool_input(part, piece.arguments)

    # --- tool execution (bridge events) ---------------------------------------------------------

    async def _tool_started(self, event: ToolStarted) -> None:
        await self._settle_native_inputs()
        part = next((p for p in self._waiting if p.name == event.name), None)
        args = _as_json_args(event.args)
        if part is None:
            part_id = await self._begin(event.name, args)
            part = _ToolPart(part_id, event.name, native=False, input_done=True)
        else:
            self._waiting.remove(part)
            if not part.input_done:
                part.input_done = True
                await self._ctx.end_tool_input(part.part_id, args)
        part.bound = True
        self._step_has_content = True
        self._running[event.call_id] = part

    async def _agent_turn_ended(self, event: AgentTurnEnded) -> None:
        """A ReActV2 turn's calls to tools the agent does not have: DSPy answers the model
        "Unknown tool: name" without running anything. Native calls were shown as they
        streamed (and settle at the step's end); text mode's are shown here."""
        if any(slot[0] == event.predict_name for slot in self._native):
            return
        known = self._plan.agent_tools.get(event.predict_name, frozenset())
        internal = self._plan.internal_tool_names.get(event.predict_name, frozenset())
        for name, args, call_id in event.calls:
            if name in known or name in internal:
                continue
            part_id = await self._ctx.begin_tool_call(
                name, _as_json_args(args), tool_call_id=call_id
            )
            self._step_has_content = True
            await self._ctx.fail_tool_call(part_id, f"Unknown tool: {name}")

    async def _tool_ended(self, event: ToolEnded) -> None:
        part = self._running.pop(event.call_id, None)
        if part is None:
            return
        if event.error is not None:
            await self._ctx.fail_tool_call(part.part_id, event.error)
        else:
            await self._ctx.complete_tool_call(part.part_id, _as_json(event.output))

    # --- step boundaries ------------------------------------------------------------------------

    async def _end_step(self) -> None:
        await self._settle_tool_inputs()
        await self._end_parts()
        self._tool_name.clear()
        self._tool_args.clear()
        self._react_part.clear()
        self._native.clear()
        self._waiting.clear()
        self._decoders.clear()
        self._outputs.clear()  # a new model call writes its outputs anew
        if self._step_has_content:
            self._step_has_content = False
            await self._ctx.new_step()

    async def _settle_native_inputs(self) -> None:
        """Native calls whose input is complete get it parsed (``tool-input-available``),
        or ``tool-input-error`` when the model's arguments are not JSON."""
        for part in self._waiting:
            if part.native and not part.input_done:
                part.input_done = True
                args, problem = _parse_args(part.args_text)
                if problem is None:
                    await self._ctx.end_tool_input(part.part_id, args)
                else:
                    await self._ctx.fail_tool_input(part.part_id, problem, input=part.args_text)

    async def _settle_tool_inputs(self) -> None:
        """At a step's end: native inputs are parsed; a ReAct call that streamed but
        was never run (its turn did not parse) is marked failed, not left streaming."""
        await self._settle_native_inputs()
        for part in self._waiting:
            if not part.native and not part.input_done:
                part.input_done = True
                await self._ctx.fail_tool_input(
                    part.part_id, "The tool call could not be parsed.", input=part.args_text
                )
            elif part.agent and not part.bound and part.input_done:
                # the agent went on without running it: it named no tool it has
                part.bound = True
                await self._ctx.fail_tool_call(part.part_id, f"Unknown tool: {part.name}")


def _key(route: Route) -> Hashable:
    return ("dspy", route.predict_name, route.field)


def _parse_args(text: str) -> tuple[Any, str | None]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return None, "The tool arguments are not valid JSON."
    plain, problem = to_json_value(value)
    return (plain, None) if problem is None else (None, "The tool arguments are not usable.")


def _as_json(value: Any) -> Any:
    """A tool's output as JSON the client takes; text when it is not JSON-able."""
    plain, problem = to_json_value(value)
    if problem is None:
        return plain
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        plain, problem = to_json_value(dataclasses.asdict(value))
        if problem is None:
            return plain
    return str(value)


def _as_json_args(args: Mapping[str, Any]) -> Any:
    """Tool arguments as JSON the client takes; values that are not JSON become text."""
    plain, problem = to_json_value(args)
    return plain if problem is None else {str(k): _as_text(v) for k, v in args.items()}


def _as_text(value: Any) -> str:
    """A field value as the text shown: a str as it is; a ``dspy.Type`` holding a single
    text (a custom streamable type, ``dspy.Code``) as that text; anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, dspy.Type):
        kind: Any = cast("Any", type(value))
        names = list(cast("dict[str, Any]", kind.model_fields))
        only: Any = getattr(value, names[0], None) if len(names) == 1 else None
        if isinstance(only, str):
            return only
    plain = _as_json(value)
    if isinstance(plain, str):
        return plain
    return json.dumps(plain, ensure_ascii=False)


def _predictions(result: Any) -> bool:
    """Whether ``result`` is a non-empty list of Predictions (``dspy.Parallel``'s)."""
    items = cast("list[Any]", result) if isinstance(result, (list, tuple)) else []
    return bool(items) and all(isinstance(item, dspy.Prediction) for item in items)


def _usage(prediction: Any) -> Usage | None:
    """Summed over the models DSPy reports (``Prediction.get_lm_usage()``)."""
    try:
        per_model = prediction.get_lm_usage()
    except Exception:
        return None
    if not isinstance(per_model, Mapping) or not per_model:
        return None
    total = Usage()
    for counts in cast("Mapping[str, Any]", per_model).values():
        if not isinstance(counts, Mapping):
            continue
        entry = cast("Mapping[str, Any]", counts)
        total = total + Usage.reported(
            input_tokens=entry.get("prompt_tokens"),
            output_tokens=entry.get("completion_tokens"),
            reasoning_tokens=_detail(entry, "completion_tokens_details", "reasoning_tokens"),
            cached_input_tokens=_detail(entry, "prompt_tokens_details", "cached_tokens"),
        )
    return total


def _detail(entry: Mapping[str, Any], group: str, name: str) -> Any:
    details = entry.get(group)
    return cast("Mapping[str, Any]", details).get(name) if isinstance(details, Mapping) else None
