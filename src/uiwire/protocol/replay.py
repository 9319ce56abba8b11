"""The chunks that rebuild an assistant message from nothing: the prefix of a replay.

Theory of operation
-------------------
A resumed ``useChat`` (``resume: true``) GETs a replay of the whole response and, on the
replay's first ``start`` chunk, throws away the assistant message it holds and rebuilds
it from the replay alone (``resetStateOnFirstMessageStart`` in ai 6 and 7; ai 5 starts
its resume from an empty state, unless the message it holds has an ``input-streaming``
tool part: then it keeps that message and never resets, so any full replay, the SDK's
own included, duplicates its parts there). A *continuation* response (the POST after approvals
or client-side tool results) only holds the new chunks, and they name tool calls that
an earlier response created, so its raw bytes cannot be replayed: the client would
fail with "No tool invocation found". :func:`message_chunks` writes what goes first: a
``start`` with the message's id (and metadata), then, part by part, the chunks that
recreate each part in place. The continuation's own bytes follow; their ``start``
carries the same id, so the client does not reset again, and from there on its state is
the one it had when it sent the continuation's request.

Per part, in message order (``start-step`` for each ``step-start`` part, a
``finish-step`` before the next one and at the end):

* ``text`` / ``reasoning``: start (with ``providerMetadata``), one delta with the whole
  text, and the end chunk (with v7 ``citations``) only if the part is ``done``. A
  ``streaming`` part is left open, as it was. Text ids are made up (``replay-t<i>``,
  parts do not store them); reasoning parts keep their own ``id``.
* ``source-url``, ``source-document``, ``file``, ``data-*`` (with ``id`` and any
  ``transient: false``), and v7 ``custom``, ``reasoning-file``, ``steering-message``: the
  one chunk that pushes the part, field for field.
* tool parts (``tool-<name>`` and ``dynamic-tool``; every chunk of a dynamic one says
  ``dynamic: true``), by ``state``:

  - ``input-streaming``: ``tool-input-start`` (``title``, ``toolMetadata``,
    ``inputEncoding``, ``providerExecuted``, ``callProviderMetadata`` as its
    ``providerMetadata``), then one ``tool-input-delta`` with the whole ``rawInput``,
    if it has one; the client re-derives the partial ``input`` from it.
  - ``input-available``: ``tool-input-available`` with the same fields.
  - ``approval-requested``: that, then ``tool-approval-request`` rebuilding
    ``approval`` (``descriptor``, ``inputSchemaInput``, ``signature``; v7
    ``requestReason``, ``isAutomatic``).
  - ``approval-responded``: v7 adds ``tool-approval-response`` (``approved``,
    ``reason``), which is exactly what the client's ``addToolApprovalResponse`` did.
    **Not exact on v6**, where no chunk says it: the part is rebuilt as
    ``approval-requested``, its ``approval`` without ``approved`` and ``reason``. The
    continuation then sends ``tool-output-available`` or ``tool-output-denied`` for the
    call, which moves it on from there; only those two fields stay missing.
  - ``output-available``, ``output-error``, ``output-denied`` with an ``approval``: as
    above, then ``tool-output-available`` / ``tool-output-error`` /
    ``tool-output-denied`` (with ``resultProviderMetadata`` as ``providerMetadata``,
    ``preliminary``). The same v6 gap: ``approval.approved`` and ``approval.reason``.
  - ``output-available`` without an approval: ``tool-input-start``, one
    ``tool-input-delta`` with the input as JSON text, ``tool-output-available``.
  - ``output-error`` without an approval, by what the part holds:
    ``rawInput`` and ``input`` (input streamed, then the tool failed): start, the
    ``rawInput`` delta, ``tool-output-error``; ``rawInput`` only (an input error on a
    v5/v6 static tool): ``tool-input-error`` carrying it; no input at all: start,
    ``tool-output-error``; ``input`` only: ``tool-input-error`` carrying it for dynamic
    tools and on v7, and on v5/v6 static tools (where ``tool-input-error`` moves it to
    ``rawInput``) start, the JSON delta, ``tool-output-available`` with a null output and
    ``tool-output-error``, which clears that output again. A ``tool-input-start`` goes
    first wherever ``title`` or ``callProviderMetadata`` need it.
  - ``output-denied`` without an approval: ``tool-input-available``,
    ``tool-output-denied``.

  Settled calls are rebuilt without ``tool-input-available`` wherever an exact sequence
  exists, because that chunk makes the browser run ``onToolCall`` again: a client-side
  tool that was already answered would run twice, and its late ``addToolOutput`` would
  post yet another request. Parts with an approval, unanswered ``input-available`` parts
  (ai 5 also output parts with ``callProviderMetadata``) still need it.

No ``finish``, ``abort``, ``error`` or ``[DONE]`` is written. The chunks are checked the
way the client would read them: against the target's schema and by assembling them with
:class:`~uiwire.protocol.message.UIMessageAssembler`; the result must be the message
(with the v6 approval gap above). The message itself is a valid ``UIMessage`` (typed, or
a dict validated as one): its shape is not checked again here. What can still fail is
its *replay*, and that raises ``UnreplayableMessage`` naming the field,
``parts[3].state``: a message that is not an assistant message, a part type, field or
state the target does not know, a field no chunk can set (a ``file`` part's
``filename``, ``null`` metadata, a text part without ``state``), a tool call id used
twice in one step, a ``data-*`` part id used twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, cast

from pydantic import ValidationError

from uiwire._errors import StreamViolation, TargetError, UnreplayableMessage
from uiwire.protocol._json import dumps
from uiwire.protocol._partial_json import parse_partial_json
from uiwire.protocol.chunks import check_chunk_target, describe_validation_error, parse_chunk
from uiwire.protocol.machine import Chunk
from uiwire.protocol.message import UIMessageAssembler
from uiwire.protocol.targets import DEFAULT_TARGET, TARGETS, Target, as_target
from uiwire.protocol.ui_message import UIMessage, as_ui_message

__all__ = ["message_chunks"]

# the call's own fields, as a tool-input-start / tool-input-available chunk carries them
_CALL_FIELDS: Final = (
    ("providerExecuted", "providerExecuted"),
    ("callProviderMetadata", "providerMetadata"),
    ("toolMetadata", "toolMetadata"),
    ("title", "title"),
)
_APPROVAL_STATES: Final = frozenset(("approval-requested", "approval-responded"))
_SIMPLE_PARTS: Final[dict[str, tuple[Target, tuple[str, ...]]]] = {
    # part type: (first target that knows it, the fields its one chunk copies)
    "source-url": ("v5", ("sourceId", "url", "title", "providerMetadata")),
    "source-document": ("v5", ("sourceId", "mediaType", "title", "filename", "providerMetadata")),
    "file": ("v5", ("url", "mediaType", "providerMetadata")),
    "custom": ("v7", ("kind", "providerMetadata")),
    "reasoning-file": ("v7", ("url", "mediaType", "providerMetadata")),
    "steering-message": ("v7", ("id", "parts")),
}
_V6_TOOL_FIELDS: Final = ("title", "toolMetadata", "inputEncoding", "resultProviderMetadata")
_V7_APPROVAL_FIELDS: Final = ("requestReason", "isAutomatic")
_ABSENT: Final = object()


def message_chunks(
    message: UIMessage | Mapping[str, Any], *, target: Target = DEFAULT_TARGET
) -> list[Chunk]:
    """The chunks that rebuild ``message`` (an assistant ``UIMessage``, or a dict
    validated as one) from nothing.

    See the module docstring for what each part becomes, and the one state (v6
    ``approval-responded``) rebuilt as its nearest neighbour. Raises
    ``UnreplayableMessage`` naming the offending field when the message is not an
    assistant message or holds something no chunk sequence of ``target`` rebuilds (and
    pydantic's ``ValidationError`` for a dict that is not a ``UIMessage``).
    """
    target = as_target(target)
    typed = as_ui_message(message)
    if typed.role != "assistant":
        raise UnreplayableMessage(
            f"role must be 'assistant': only an assistant message can be rebuilt; "
            f"got {typed.role!r}",
            field="role",
        )
    wire = typed.to_json()
    builder = _Builder(target)
    chunks = builder.build(wire)
    _verify(wire, chunks, builder.owners, target)
    return chunks


def _rank(target: Target) -> int:
    return TARGETS.index(target)


def _unreplayable(where: str, problem: str) -> UnreplayableMessage:
    """``where`` is ``"message"`` or the path of the part the chunk rebuilds."""
    return UnreplayableMessage(f"{where}{problem}", field=None if where == "message" else where)


class _Builder:
    """Writes the chunks part by part and remembers which part each chunk rebuilds."""

    def __init__(self, target: Target) -> None:
        self.target: Target = target
        self.chunks: list[Chunk] = []
        self.owners: list[int | None] = []  # the part index of each chunk
        self._part: int | None = None
        self._in_step = False
        self._left_open = False
        self.step_tool_ids: dict[str, int] = {}
        self._data_ids: dict[tuple[str, str], int] = {}

    def emit(self, chunk: Chunk) -> None:
        self.chunks.append(chunk)
        self.owners.append(self._part)

    def build(self, message: Mapping[str, Any]) -> list[Chunk]:
        """``message`` is a valid assistant ``UIMessage`` as JSON (``to_json``)."""
        start: Chunk = {"type": "start", "messageId": message["id"]}
        metadata = message.get("metadata", _ABSENT)
        if metadata is None:
            raise UnreplayableMessage(
                "metadata: null cannot be rebuilt (the client ignores null metadata); "
                "leave the key out instead",
                field="metadata",
            )
        if metadata is not _ABSENT:
            start["messageMetadata"] = metadata
        self.emit(start)
        for index, part in enumerate(cast("list[Mapping[str, Any]]", message["parts"])):
            self._part = index
            self._add_part(index, part)
        self._part = None
        if self._in_step or self._left_open:
            # v5/v6 clients forget open text and reasoning ids here, as a client whose
            # state is seeded from the message has none
            self.emit({"type": "finish-step"})
        return self.chunks

    # --- parts ---------------------------------------------------------------------

    def _add_part(self, index: int, part: Mapping[str, Any]) -> None:
        where = f"parts[{index}]"
        kind: str = part["type"]
        if kind == "step-start":
            if self._in_step:
                self.emit({"type": "finish-step"})
            self.emit({"type": "start-step"})
            self._in_step = True
            self.step_tool_ids = {}
        elif kind in ("text", "reasoning"):
            self._text(index, kind, part)
        elif kind == "dynamic-tool" or kind.startswith("tool-"):
            _Tool(self, index, part).build()
        elif kind.startswith("data-"):
            self._data(index, kind, part)
        elif kind in _SIMPLE_PARTS:
            since, fields = _SIMPLE_PARTS[kind]
            self.needs(since, f"{where}.type", f"a {kind!r} part")
            chunk: Chunk = {"type": kind}
            chunk.update({f: part[f] for f in fields if f in part})
            self.emit(chunk)
        else:  # a valid UIMessage holds no other part type
            raise AssertionError(f"{where}.type {kind!r} is not a UIMessage part type")

    def needs(self, since: Target, where: str, what: str) -> None:
        """A target-capability check: the message is valid, the target lacks ``what``."""
        if _rank(self.target) < _rank(since):
            raise UnreplayableMessage(
                f"{where}: {what} cannot be rebuilt for AI SDK {self.target} clients; "
                f"it needs target {since} or later",
                field=where,
            )

    def _text(self, index: int, kind: str, part: Mapping[str, Any]) -> None:
        where = f"parts[{index}]"
        text: str = part["text"]
        state = part.get("state")
        if state is None:
            raise UnreplayableMessage(
                f"{where}.state: a {kind} part without a state cannot be rebuilt (the "
                "client's parts always have one)",
                field=f"{where}.state",
            )
        part_id = f"replay-t{index}" if kind == "text" else part.get("id")
        if part_id is None:
            raise UnreplayableMessage(
                f"{where}.id: a reasoning part without an id cannot be rebuilt (the "
                "client's parts always have one)",
                field=f"{where}.id",
            )
        if "citations" in part:
            self.needs("v7", f"{where}.citations", "citations")
        start: Chunk = {"type": f"{kind}-start", "id": part_id}
        if "providerMetadata" in part:
            start["providerMetadata"] = part["providerMetadata"]
        self.emit(start)
        if text:
            self.emit({"type": f"{kind}-delta", "id": part_id, "delta": text})
        if state == "streaming":
            self._left_open = True
            return
        end: Chunk = {"type": f"{kind}-end", "id": part_id}
        if "citations" in part:
            end["citations"] = part["citations"]
        self.emit(end)

    def _data(self, index: int, kind: str, part: Mapping[str, Any]) -> None:
        where = f"parts[{index}]"
        if part.get("transient") is True:
            raise UnreplayableMessage(
                f"{where}.transient: a transient data part is never stored",
                field=f"{where}.transient",
            )
        data_id = part.get("id")
        if isinstance(data_id, str):
            earlier = self._data_ids.get((kind, data_id))
            if earlier is not None:
                raise UnreplayableMessage(
                    f"{where}.id {data_id!r} is also the id of parts[{earlier}] ({kind}); "
                    "the client would update that part instead of adding this one",
                    field=f"{where}.id",
                )
            self._data_ids[kind, data_id] = index
        self.emit(dict(part))  # the client stores the chunk itself as the part


class _Tool:
    """One tool part: the recipe of chunks for its state (see the module docstring)."""

    def __init__(self, builder: _Builder, index: int, part: Mapping[str, Any]) -> None:
        self.b = builder
        self.target: Target = builder.target
        self.part = part
        self.where = f"parts[{index}]"
        self.index = index
        kind: str = part["type"]
        self.dynamic = kind == "dynamic-tool"
        self.name: str = part["toolName"] if self.dynamic else kind[5:]
        self.call_id: str = part["toolCallId"]
        self.state: str = part["state"]
        self.approval: Mapping[str, Any] | None = part.get("approval")

    # --- gating --------------------------------------------------------------------

    def _check(self) -> None:
        """What the target or the client's part lookup cannot take (the part's shape is
        the UIMessage's own: approvals are where the state needs them)."""
        where = self.where
        earlier = self.b.step_tool_ids.get(self.call_id)
        if earlier is not None:
            raise UnreplayableMessage(
                f"{where}.toolCallId {self.call_id!r} is also the id of parts[{earlier}] in "
                "the same step; the client would update that part instead of adding this one",
                field=f"{where}.toolCallId",
            )
        self.b.step_tool_ids[self.call_id] = self.index
        for field in _V6_TOOL_FIELDS:
            if field in self.part:
                self.b.needs("v6", f"{where}.{field}", field)
        if self.state in _APPROVAL_STATES or self.state == "output-denied":
            self.b.needs("v6", f"{where}.state", f"state {self.state!r}")
        if self.approval is not None:
            self.b.needs("v6", f"{where}.approval", "an approval")
            for field in _V7_APPROVAL_FIELDS:
                if field in self.approval:
                    self.b.needs("v7", f"{where}.approval.{field}", field)

    # --- chunks --------------------------------------------------------------------

    def _chunk(self, kind: str, **fields: Any) -> Chunk:
        chunk: Chunk = {"type": kind, "toolCallId": self.call_id}
        chunk.update(fields)
        if self.dynamic:
            chunk["dynamic"] = True
        return chunk

    def _copy(self, chunk: Chunk, *pairs: tuple[str, str]) -> Chunk:
        """Copy part fields present into chunk fields: ``(part field, chunk field)``."""
        for part_field, chunk_field in pairs:
            if part_field in self.part:
                chunk[chunk_field] = self.part[part_field]
        return chunk

    def _start(self, *, encoding: str | None = None) -> None:
        chunk = self._chunk("tool-input-start", toolName=self.name)
        if encoding is not None:
            chunk["inputEncoding"] = encoding
        self.b.emit(self._copy(chunk, *_CALL_FIELDS))

    def _delta(self, text: Any) -> None:
        if not isinstance(text, str):  # any JSON after an error; a delta is text
            raise UnreplayableMessage(
                f"{self.where}.rawInput: a {type(text).__name__} cannot be streamed as "
                "input text; only a string can",
                field=f"{self.where}.rawInput",
            )
        self.b.emit(
            {"type": "tool-input-delta", "toolCallId": self.call_id, "inputTextDelta": text}
        )

    def _json_delta(self) -> None:
        """The input as JSON text: the client parses it back to the same value."""
        if "input" in self.part:
            try:
                text = dumps(self.part["input"]).decode()
            except TypeError as exc:
                raise UnreplayableMessage(
                    f"{self.where}.input is not JSON: {exc}", field=f"{self.where}.input"
                ) from None
            self._delta(text)

    def _available(self) -> None:
        chunk = self._chunk("tool-input-available", toolName=self.name)
        chunk["input"] = self.part.get("input")  # required; an absent input cannot be sent
        self.b.emit(self._copy(chunk, *_CALL_FIELDS))

    def _input_error(self, value: Any) -> None:
        chunk = self._chunk("tool-input-error", toolName=self.name, input=value)
        chunk["errorText"] = self.part.get("errorText")
        # v5 files a new part's metadata under callProviderMetadata, later ones elsewhere
        metadata = "callProviderMetadata" if self.target == "v5" else "resultProviderMetadata"
        self.b.emit(
            self._copy(
                chunk,
                ("providerExecuted", "providerExecuted"),
                (metadata, "providerMetadata"),
                ("toolMetadata", "toolMetadata"),
            )
        )

    def _output_available(self) -> None:
        chunk = self._chunk("tool-output-available", output=self.part.get("output"))
        self.b.emit(
            self._copy(
                chunk,
                ("resultProviderMetadata", "providerMetadata"),
                ("preliminary", "preliminary"),
            )
        )

    def _output_error(self) -> None:
        chunk = self._chunk("tool-output-error", errorText=self.part.get("errorText"))
        self.b.emit(self._copy(chunk, ("resultProviderMetadata", "providerMetadata")))

    def _approval(self) -> None:
        approval = self.approval
        assert approval is not None
        chunk: Chunk = {
            "type": "tool-approval-request",
            "approvalId": approval["id"],
            "toolCallId": self.call_id,
        }
        for source, field in (
            ("descriptor", "approvalDescriptor"),
            ("inputSchemaInput", "inputSchemaInput"),
            ("signature", "signature"),
            ("requestReason", "reason"),
            ("isAutomatic", "isAutomatic"),
        ):
            if source in approval:
                chunk[field] = approval[source]
        self.b.emit(chunk)
        if self.target == "v7" and "approved" in approval:
            response: Chunk = {
                "type": "tool-approval-response",
                "approvalId": approval["id"],
                "approved": approval["approved"],
            }
            if "reason" in approval:
                response["reason"] = approval["reason"]
            self.b.emit(response)

    # --- recipes -------------------------------------------------------------------

    def _optional_start(self) -> None:
        """A start for what a ``tool-input-error`` alone cannot set (v6 and later)."""
        if self.target != "v5" and ("title" in self.part or "callProviderMetadata" in self.part):
            self._start()

    def build(self) -> None:
        self._check()
        state, part = self.state, self.part
        if state == "input-streaming":
            self._start(encoding=part.get("inputEncoding"))
            if "rawInput" in part:
                self._delta(part["rawInput"])
        elif state == "input-available":
            self._available()
        elif self.approval is not None:
            self._available()
            self._approval()
            self._final()
        elif state == "output-available":
            if self.target == "v5" and "callProviderMetadata" in part:
                self._available()  # a v5 tool-input-start has no providerMetadata
            else:
                self._start()
                self._json_delta()
            self._output_available()
        elif state == "output-error":
            self._settled_error()
        else:  # output-denied without an approval
            self._available()
            self._final()

    def _final(self) -> None:
        if self.state == "output-available":
            self._output_available()
        elif self.state == "output-error":
            self._output_error()
        elif self.state == "output-denied":
            self.b.emit({"type": "tool-output-denied", "toolCallId": self.call_id})

    def _settled_error(self) -> None:
        part = self.part
        has_raw, has_input = "rawInput" in part, "input" in part
        if has_raw and has_input:  # input streamed, then the tool failed
            self._start(encoding=self._encoding_of(part["rawInput"], part["input"]))
            self._delta(part["rawInput"])
            self._output_error()
        elif has_raw:  # a v5/v6 static tool's input error keeps the input as rawInput
            self._optional_start()
            self._input_error(part["rawInput"])
        elif not has_input:
            self._start()
            self._output_error()
        elif self.dynamic or self.target == "v7":
            self._optional_start()
            self._input_error(part["input"])
        elif self.target == "v5" and "callProviderMetadata" in part:
            self._available()
            self._output_error()
        else:
            # v5/v6 static: tool-input-error would move the input to rawInput, and a
            # streamed input keeps rawInput through tool-output-error; an interim null
            # output clears rawInput, and the error then clears the output
            self._start()
            self._json_delta()
            self.b.emit(self._chunk("tool-output-available", output=None))
            self._output_error()

    def _encoding_of(self, raw: Any, value: Any) -> str | None:
        """``"text"`` when the input is the raw text itself rather than its JSON parse."""
        if self.target == "v5" or not isinstance(raw, str) or raw != value:
            return None
        parsed, state = parse_partial_json(raw, target=self.target)
        if state in ("successful-parse", "repaired-parse") and _same(parsed, value):
            return None
        return "text"


# --- verification ----------------------------------------------------------------------


def _verify(
    message: Mapping[str, Any], chunks: list[Chunk], owners: list[int | None], target: Target
) -> None:
    """Read the chunks as the target's client would; they must rebuild the message."""
    assembler = UIMessageAssembler(target=target)
    for chunk, owner in zip(chunks, owners, strict=True):
        where = "message" if owner is None else f"parts[{owner}]"
        try:
            check_chunk_target(chunk, target)
            parse_chunk(dumps(chunk))
        except TargetError as exc:
            raise _unreplayable(where, f": cannot be rebuilt: {exc}") from None
        except ValidationError as exc:
            problem = describe_validation_error(chunk.get("type"), exc)
            raise _unreplayable(
                where, f": cannot be rebuilt, the chunk is invalid: {problem}"
            ) from None
        except TypeError as exc:
            raise _unreplayable(where, f": cannot be rebuilt, not JSON: {exc}") from None
        try:
            assembler.apply(chunk)
        except StreamViolation as exc:
            raise _unreplayable(
                where, f": cannot be rebuilt, the client rejects it: {exc}"
            ) from None
    expected = _nearest(message, target)
    difference = _difference(expected, assembler.message, "")
    if difference is not None:
        path, wanted, got = difference
        raise UnreplayableMessage(
            f"{path}: cannot be rebuilt for AI SDK {target} clients: the message has "
            f"{_show(wanted)}, the chunks give {_show(got)}",
            field=path or None,
        )


def _nearest(message: Mapping[str, Any], target: Target) -> Mapping[str, Any]:
    """The message as the chunks rebuild it: v6 loses what only the client sets."""
    if target != "v6":
        return message
    parts: list[Any] = []
    for part in cast("list[Any]", message["parts"]):
        approval = cast("Mapping[str, Any]", part).get("approval")
        if isinstance(approval, Mapping):
            part = dict(cast("Mapping[str, Any]", part))
            part["approval"] = {
                k: v
                for k, v in cast("Mapping[str, Any]", approval).items()
                if k not in ("approved", "reason")
            }
            if part["state"] == "approval-responded":
                part["state"] = "approval-requested"
        parts.append(part)
    return {**message, "parts": parts}


def _difference(expected: Any, actual: Any, path: str) -> tuple[str, Any, Any] | None:
    """The first place two JSON values differ (JavaScript's view: ``true`` is not ``1``)."""
    if _is_map(expected) and _is_map(actual):
        exp = cast("Mapping[str, Any]", expected)
        act = cast("Mapping[str, Any]", actual)
        for key in [*exp, *(k for k in act if k not in exp)]:
            where = f"{path}.{key}" if path else key
            if key not in exp or key not in act:
                return where, exp.get(key, _ABSENT), act.get(key, _ABSENT)
            found = _difference(exp[key], act[key], where)
            if found is not None:
                return found
        return None
    if _is_list(expected) and _is_list(actual):
        exp_items = cast("Sequence[Any]", expected)
        act_items = cast("Sequence[Any]", actual)
        for index, (a, b) in enumerate(zip(exp_items, act_items, strict=False)):
            found = _difference(a, b, f"{path}[{index}]")
            if found is not None:
                return found
        if len(exp_items) != len(act_items):
            index = min(len(exp_items), len(act_items))
            exp_item = exp_items[index] if index < len(exp_items) else _ABSENT
            act_item = act_items[index] if index < len(act_items) else _ABSENT
            return f"{path}[{index}]", exp_item, act_item
        return None
    return None if _same(expected, actual) else (path, expected, actual)


def _is_map(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_list(value: Any) -> bool:
    return isinstance(value, (list, tuple))


def _same(a: Any, b: Any) -> bool:
    if (_is_map(a) and _is_map(b)) or (_is_list(a) and _is_list(b)):
        return _difference(a, b, "") is None
    if type(a) is bool or type(b) is bool:
        return a is b
    if type(a) in (int, float) and type(b) in (int, float):
        return a == b  # NaN differs from everything, as in JavaScript
    return type(a) is type(b) and a == b


def _show(value: Any) -> str:
    if value is _ABSENT:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
