"""The lifecycle state machine of one UI message stream, sans I/O.

Theory of operation
-------------------
A caller states *intents* ("here is a text delta", "tool call X has its input", "we are
done"); the machine answers with the *chunks* (wire dicts) that say so correctly, or
raises ``ProtocolError`` and changes nothing. Every ordering rule the AI SDK client
enforces, and the stricter ones uiwire promises, live in this file, except the tool-call
state table and the reading of a continued message, which live in ``_tool_calls``:

1. **Lifecycle.** ``start`` (always with a ``messageId``) comes first, exactly once,
   emitted automatically by the first intent. ``finish``, ``abort`` and ``error`` end
   the stream; after them every intent raises.
2. **Steps.** Content that creates a part (text, reasoning, tool input, source, file,
   custom, reasoning file) lives inside a step: ``start-step`` is emitted on demand and
   ``finish_step()`` closes it. Updates to existing parts (tool outputs, approvals),
   data parts and message metadata need no step, as in the AI SDK's own continuations.
   A ``steering-message`` (v7) is the one part that must be *between* steps, where
   ``streamText`` sends it: before the ``start-step`` of the step whose model saw it.
3. **Parts.** Text and reasoning parts are opened on first delta and closed before
   ``finish-step`` and at the end (v6 clients drop open ids at ``finish-step``). A part
   is addressed by a caller *key*; the default key ``None`` is the "current" part, which
   is closed automatically when any other part is created after it (keyed or not), so
   parts appear in the order they were written. Parts with explicit keys stay open until
   closed, the step ends or the stream ends: adapters use them for interleaved fields.
4. **Tool calls.** Each ``toolCallId`` moves through ``_tool_calls.TOOL_RULES``: a
   chunk is emitted only for a call this stream created or the continued message holds
   (``adopt_continued_message``), and only from a state where the client accepts it.
   When a step or the stream ends, calls still streaming their input are closed with
   ``tool-input-error``: the client updates a tool part only within its step, and no
   part should spin forever.
5. **Target.** A chunk type, field or value the target client rejects raises
   ``TargetError`` (see ``chunks.check_chunk_target``). Payloads (``input``, ``output``,
   ``data``, metadata) are copied to plain JSON and checked for keys the client's secure
   JSON parser refuses.

Text, reasoning and tool-input deltas on an open part take a fast path that builds one
small dict and touches nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Final, Literal, cast

from pydantic import ValidationError

from uiwire._errors import EventTooLarge, ProtocolError
from uiwire._ids import new_id
from uiwire.protocol._json import dumps, to_json_value
from uiwire.protocol._tool_calls import (
    APPROVAL_REQUESTED,
    APPROVED,
    DENIED,
    INPUT_AVAILABLE,
    INPUT_STREAMING,
    NEW,
    OUTPUT_AVAILABLE,
    OUTPUT_DENIED,
    OUTPUT_ERROR,
    PRELIMINARY,
    ToolCall,
    adopt_continued_message,
    check_tool_chunk,
    unfinished_input_error,
)
from uiwire.protocol.chunks import (
    BaseChunk,
    check_chunk_target,
    describe_validation_error,
    parse_chunk,
)
from uiwire.protocol.encode import MAX_EVENT_CHARS, encode_chunk, event_too_long
from uiwire.protocol.targets import DEFAULT_TARGET, Target, as_target
from uiwire.protocol.ui_message import UIMessage

__all__ = ["Chunk", "EndReason", "StreamMachine"]

Chunk = dict[str, Any]
"""A wire chunk: camelCase keys, ready for ``encode_chunk``."""

EndReason = Literal["finish", "abort", "error"]


class _RawId:
    """Key of a text/reasoning part opened through ``send()`` with the caller's own id."""

    __slots__ = ("wire_id",)

    def __init__(self, wire_id: str) -> None:
        self.wire_id = wire_id

    def __hash__(self) -> int:
        return hash(("_RawId", self.wire_id))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _RawId) and other.wire_id == self.wire_id


class StreamMachine:
    """Turns intents into a correctly ordered UI message stream for one assistant message.

    ``message_id`` defaults to a fresh unguessable id. ``continued_message`` is the
    assistant ``UIMessage`` (or a dict, validated as one) this response continues, after
    an approval or a client-side tool result: its id is reused and its tool calls can
    receive outputs (``_tool_calls.adopt_continued_message``).
    """

    def __init__(
        self,
        *,
        message_id: str | None = None,
        target: Target = DEFAULT_TARGET,
        continued_message: UIMessage | Mapping[str, Any] | None = None,
    ) -> None:
        self._target: Target = as_target(target)
        self._tools: dict[str, ToolCall] = {}
        self._approvals: dict[str, str] = {}
        self._data_ids: dict[tuple[str, str], int] = {}  # (type, id) -> step, -1 outside
        self._reserved_part_ids: set[str] = set()  # ids the continued message already uses
        self._metadata_mergeable = True
        self._interrupted_to_close: list[str] = []  # closed right after start
        if continued_message is not None:
            continued = adopt_continued_message(continued_message, target=self._target)
            if message_id is not None and message_id != continued.message_id:
                raise ValueError(
                    f"message_id {message_id!r} differs from the continued message's id "
                    f"{continued.message_id!r}; a continuation must reuse the continued id"
                )
            message_id = continued.message_id
            self._tools = continued.tools
            self._approvals = continued.approvals
            self._data_ids = continued.data_ids
            self._reserved_part_ids = continued.reserved_part_ids
            self._metadata_mergeable = continued.metadata_mergeable
            self._interrupted_to_close = continued.interrupted_to_close
        if message_id is None:
            message_id = new_id("msg")
        elif not isinstance(message_id, str) or not message_id:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"message_id must be a non-empty string; got {message_id!r}")
        self._message_id: str = message_id
        self._started = False
        self._in_step = False
        self._step = 0
        self._ended: EndReason | None = None
        self._text: dict[Hashable, str] = {}
        self._reasoning: dict[Hashable, str] = {}
        self._next_part = 0

    # --- introspection ---------------------------------------------------------------

    @property
    def message_id(self) -> str:
        return self._message_id

    @property
    def target(self) -> Target:
        return self._target

    @property
    def started(self) -> bool:
        return self._started

    @property
    def in_step(self) -> bool:
        return self._in_step

    @property
    def ended(self) -> EndReason | None:
        """``"finish"``, ``"abort"`` or ``"error"`` once the stream has ended, else None."""
        return self._ended

    def open_text_id(self, key: Hashable = None) -> str | None:
        """The wire id of the open text part for ``key``, if any."""
        return self._text.get(key)

    def open_reasoning_id(self, key: Hashable = None) -> str | None:
        """The wire id of the open reasoning part for ``key``, if any."""
        return self._reasoning.get(key)

    def tool_call_state(self, tool_call_id: str) -> str | None:
        """The state of a known tool call (for diagnostics), or None if unknown."""
        call = self._tools.get(tool_call_id)
        return None if call is None else call.state

    # --- lifecycle -------------------------------------------------------------------

    def start(self, *, metadata: Any = None) -> list[Chunk]:
        """Send ``start`` explicitly, to attach message metadata to it.

        Optional: the first intent sends ``start`` by itself.
        """
        self._check_open("start")
        if self._started:
            raise ProtocolError("start was already sent; it must be the first chunk, once")
        chunk: Chunk = {"type": "start", "messageId": self._message_id}
        if metadata is not None:
            chunk["messageMetadata"] = self._metadata(metadata, "start")
            self._fits(chunk)
        return self._ensure_started([], chunk)

    def finish_step(self) -> list[Chunk]:
        """Close the current step (and its open text/reasoning parts); no-op outside one."""
        self._check_open("finish-step")
        out: list[Chunk] = []
        if self._in_step:
            self._close_parts(out)
            self._close_tool_inputs(out)
            out.append({"type": "finish-step"})
            self._in_step = False
        return out

    def finish(self, finish_reason: str | None = None, *, metadata: Any = None) -> list[Chunk]:
        """End the stream normally: close every open part and the step, then ``finish``."""
        self._check_open("finish")
        chunk: Chunk = {"type": "finish"}
        if finish_reason is not None:
            chunk["finishReason"] = self._string(finish_reason, "finish", "finishReason")
        if metadata is not None:
            chunk["messageMetadata"] = self._metadata(metadata, "finish")
        self._gate(chunk)
        out = self._ensure_started([])
        self._close_everything(out)
        if self._in_step:
            out.append({"type": "finish-step"})
            self._in_step = False
        out.append(chunk)
        self._ended = "finish"
        return out

    def abort(self, reason: str | None = None) -> list[Chunk]:
        """End the stream as cancelled: close open parts, then ``abort`` (no ``finish``)."""
        self._check_open("abort")
        chunk: Chunk = {"type": "abort"}
        if reason is not None:
            chunk["reason"] = self._string(reason, "abort", "reason")
        self._gate(chunk)
        out = self._ensure_started([])
        self._close_everything(out)
        out.append(chunk)
        self._in_step = False
        self._ended = "abort"
        return out

    def error(self, error_text: str) -> list[Chunk]:
        """End the stream as failed: close open parts, then one ``error`` chunk.

        ``error_text`` reaches the user verbatim; mask it before it gets here.
        """
        self._check_open("error")
        chunk: Chunk = {
            "type": "error",
            "errorText": self._string(error_text, "error", "errorText"),
        }
        out = self._ensure_started([])
        self._close_everything(out)
        out.append(chunk)
        self._in_step = False
        self._ended = "error"
        return out

    # --- text and reasoning ----------------------------------------------------------

    def text_delta(
        self,
        delta: str,
        *,
        key: Hashable = None,
        provider_metadata: Mapping[str, Any] | None = None,
    ) -> list[Chunk]:
        """Append to the text part ``key`` (opened on demand). Empty deltas send nothing."""
        return self._family_delta("text", self._text, delta, key, provider_metadata)

    def reasoning_delta(
        self,
        delta: str,
        *,
        key: Hashable = None,
        provider_metadata: Mapping[str, Any] | None = None,
    ) -> list[Chunk]:
        """Append to the reasoning part ``key`` (opened on demand). Empty deltas send nothing."""
        return self._family_delta("reasoning", self._reasoning, delta, key, provider_metadata)

    def text_start(
        self, *, key: Hashable = None, provider_metadata: Mapping[str, Any] | None = None
    ) -> list[Chunk]:
        """Open the text part ``key`` explicitly (to attach provider metadata to it)."""
        return self._start_part("text", self._text, key, provider_metadata, None)

    def reasoning_start(
        self, *, key: Hashable = None, provider_metadata: Mapping[str, Any] | None = None
    ) -> list[Chunk]:
        """Open the reasoning part ``key`` explicitly."""
        return self._start_part("reasoning", self._reasoning, key, provider_metadata, None)

    def text_end(
        self,
        *,
        key: Hashable = None,
        provider_metadata: Mapping[str, Any] | None = None,
        citations: Sequence[Mapping[str, Any]] | None = None,
    ) -> list[Chunk]:
        """Close the text part ``key``; no-op if it is not open. ``citations`` needs v7."""
        return self._end_part("text", self._text, key, provider_metadata, citations)

    def reasoning_end(
        self, *, key: Hashable = None, provider_metadata: Mapping[str, Any] | None = None
    ) -> list[Chunk]:
        """Close the reasoning part ``key``; no-op if it is not open."""
        return self._end_part("reasoning", self._reasoning, key, provider_metadata, None)

    # --- tool calls ------------------------------------------------------------------

    def tool_input_start(
        self,
        tool_call_id: str,
        tool_name: str,
        *,
        dynamic: bool | None = None,
        provider_executed: bool | None = None,
        title: str | None = None,
        provider_metadata: Mapping[str, Any] | None = None,
        tool_metadata: Mapping[str, Any] | None = None,
        input_encoding: Literal["json", "text"] | None = None,
    ) -> list[Chunk]:
        """Create a tool part whose input will stream as ``tool_input_delta`` text."""
        kind = "tool-input-start"
        chunk: Chunk = {
            "type": kind,
            "toolCallId": self._string(tool_call_id, kind, "toolCallId"),
            "toolName": self._string(tool_name, kind, "toolName"),
        }
        self._optional(
            chunk, kind, inputEncoding=input_encoding, providerExecuted=provider_executed
        )
        self._tool_extras(chunk, kind, provider_metadata, tool_metadata, dynamic, title)
        self._gate(chunk)
        self._tool_transition(kind, tool_call_id)
        out = self._ensure_step(self._close_current_parts([]))
        out.append(chunk)
        self._tools[tool_call_id] = ToolCall(tool_name, INPUT_STREAMING, self._step, bool(dynamic))
        return out

    def tool_input_delta(self, tool_call_id: str, delta: str) -> list[Chunk]:
        """Append raw input text (JSON unless the call was started with ``input_encoding="text"``)."""
        try:
            call = self._tools.get(tool_call_id)
        except TypeError:
            call = None  # unhashable id: the slow path names it
        if (
            call is not None
            and call.state is INPUT_STREAMING
            and type(delta) is str
            and delta
            and len(delta) < _SURELY_FITS
        ):
            return [
                {"type": "tool-input-delta", "toolCallId": tool_call_id, "inputTextDelta": delta}
            ]
        self._check_open("tool-input-delta")
        self._string(delta, "tool-input-delta", "inputTextDelta")
        self._tool_transition("tool-input-delta", tool_call_id)
        if not delta:
            return []
        chunk: Chunk = {
            "type": "tool-input-delta",
            "toolCallId": tool_call_id,
            "inputTextDelta": delta,
        }
        self._fits(chunk)
        out = self._ensure_started([])
        out.append(chunk)
        return out

    def tool_input_available(
        self,
        tool_call_id: str,
        input: Any,
        *,
        tool_name: str | None = None,
        dynamic: bool | None = None,
        provider_executed: bool | None = None,
        title: str | None = None,
        provider_metadata: Mapping[str, Any] | None = None,
        tool_metadata: Mapping[str, Any] | None = None,
    ) -> list[Chunk]:
        """The complete input of a tool call (creating its part if no input streamed)."""
        return self._tool_input_final(
            "tool-input-available", tool_call_id, input, None, tool_name, dynamic,
            provider_executed, title, provider_metadata, tool_metadata,
        )  # fmt: skip

    def tool_input_error(
        self,
        tool_call_id: str,
        input: Any,
        error_text: str,
        *,
        tool_name: str | None = None,
        dynamic: bool | None = None,
        provider_executed: bool | None = None,
        title: str | None = None,
        provider_metadata: Mapping[str, Any] | None = None,
        tool_metadata: Mapping[str, Any] | None = None,
    ) -> list[Chunk]:
        """The model produced input that cannot be used (invalid JSON, failed validation)."""
        return self._tool_input_final(
            "tool-input-error", tool_call_id, input, error_text, tool_name, dynamic,
            provider_executed, title, provider_metadata, tool_metadata,
        )  # fmt: skip

    def tool_approval_request(
        self,
        tool_call_id: str,
        approval_id: str,
        *,
        descriptor: Any = None,
        input_schema_input: Any = None,
        signature: str | None = None,
        reason: str | None = None,
        is_automatic: bool | None = None,
    ) -> list[Chunk]:
        """Ask the user to approve a call whose input is available (v6+; reason etc. v7)."""
        kind = "tool-approval-request"
        chunk: Chunk = {
            "type": kind,
            "approvalId": self._string(approval_id, kind, "approvalId"),
            "toolCallId": self._string(tool_call_id, kind, "toolCallId"),
        }
        if descriptor is not None:
            chunk["approvalDescriptor"] = self._payload(descriptor, kind, "approvalDescriptor")
        if input_schema_input is not None:
            chunk["inputSchemaInput"] = self._payload(input_schema_input, kind, "inputSchemaInput")
        self._optional(chunk, kind, signature=signature, reason=reason, isAutomatic=is_automatic)
        self._gate(chunk)
        if approval_id in self._approvals:
            raise ProtocolError(f"{kind}: approval id {approval_id!r} was already used")
        call = self._tool_transition(kind, tool_call_id)
        out = self._ensure_started([])
        out.append(chunk)
        call.state = APPROVAL_REQUESTED
        call.approval_id = approval_id
        self._approvals[approval_id] = tool_call_id
        return out

    def tool_approval_response(
        self,
        approval_id: str,
        approved: bool,
        *,
        reason: str | None = None,
        provider_executed: bool | None = None,
        provider_metadata: Mapping[str, Any] | None = None,
    ) -> list[Chunk]:
        """The server's own decision on an approval request (v7 only, e.g. automatic)."""
        kind = "tool-approval-response"
        if type(approved) is not bool:
            raise ProtocolError(f"{kind}.approved must be a boolean; got {approved!r}")
        chunk: Chunk = {
            "type": kind,
            "approvalId": self._string(approval_id, kind, "approvalId"),
            "approved": approved,
        }
        self._optional(chunk, kind, reason=reason, providerExecuted=provider_executed)
        if provider_metadata is not None:
            chunk["providerMetadata"] = self._provider_metadata(provider_metadata, kind)
        self._gate(chunk)
        tool_call_id = self._approvals.get(approval_id)
        if tool_call_id is None:
            raise ProtocolError(f"{kind}: unknown approval id {approval_id!r}")
        call = self._tool_transition(kind, tool_call_id)
        out = self._ensure_started([])
        out.append(chunk)
        call.state = APPROVED if approved else DENIED
        return out

    def tool_output_available(
        self,
        tool_call_id: str,
        output: Any,
        *,
        preliminary: bool | None = None,
        provider_executed: bool | None = None,
        provider_metadata: Mapping[str, Any] | None = None,
        tool_metadata: Mapping[str, Any] | None = None,
        dynamic: bool | None = None,
    ) -> list[Chunk]:
        """The tool's result. ``preliminary=True`` sends an interim result, replaced by the next."""
        kind = "tool-output-available"
        call = self._tool_transition(kind, tool_call_id)
        chunk: Chunk = {
            "type": kind,
            "toolCallId": tool_call_id,
            "output": self._payload(output, kind, "output"),
        }
        self._optional(chunk, kind, providerExecuted=provider_executed)
        dynamic = self._same_dynamic(call, dynamic, kind, tool_call_id)
        self._tool_extras(chunk, kind, provider_metadata, tool_metadata, dynamic, None)
        self._optional(chunk, kind, preliminary=preliminary)
        self._gate(chunk)
        out = self._ensure_started([])
        out.append(chunk)
        call.state = PRELIMINARY if preliminary else OUTPUT_AVAILABLE
        return out

    def tool_output_error(
        self,
        tool_call_id: str,
        error_text: str,
        *,
        provider_executed: bool | None = None,
        provider_metadata: Mapping[str, Any] | None = None,
        tool_metadata: Mapping[str, Any] | None = None,
        dynamic: bool | None = None,
    ) -> list[Chunk]:
        """The tool failed. ``error_text`` reaches the user: mask it before it gets here."""
        kind = "tool-output-error"
        call = self._tool_transition(kind, tool_call_id)
        chunk: Chunk = {
            "type": kind,
            "toolCallId": tool_call_id,
            "errorText": self._string(error_text, kind, "errorText"),
        }
        self._optional(chunk, kind, providerExecuted=provider_executed)
        dynamic = self._same_dynamic(call, dynamic, kind, tool_call_id)
        self._tool_extras(chunk, kind, provider_metadata, tool_metadata, dynamic, None)
        self._gate(chunk)
        out = self._ensure_started([])
        out.append(chunk)
        call.state = OUTPUT_ERROR
        return out

    def tool_output_denied(self, tool_call_id: str) -> list[Chunk]:
        """The call was not run because its approval was refused."""
        kind = "tool-output-denied"
        chunk: Chunk = {"type": kind, "toolCallId": self._string(tool_call_id, kind, "toolCallId")}
        self._gate(chunk)
        call = self._tool_transition(kind, tool_call_id)
        out = self._ensure_started([])
        out.append(chunk)
        call.state = OUTPUT_DENIED
        return out

    # --- sources, files, data, metadata ----------------------------------------------

    def source_url(
        self,
        source_id: str,
        url: str,
        *,
        title: str | None = None,
        provider_metadata: Mapping[str, Any] | None = None,
    ) -> list[Chunk]:
        kind = "source-url"
        chunk: Chunk = {
            "type": kind,
            "sourceId": self._string(source_id, kind, "sourceId"),
            "url": self._string(url, kind, "url"),
        }
        self._optional(chunk, kind, title=title)
        return self._new_part(chunk, provider_metadata)

    def source_document(
        self,
        source_id: str,
        media_type: str,
        title: str,
        *,
        filename: str | None = None,
        provider_metadata: Mapping[str, Any] | None = None,
    ) -> list[Chunk]:
        kind = "source-document"
        chunk: Chunk = {
            "type": kind,
            "sourceId": self._string(source_id, kind, "sourceId"),
            "mediaType": self._string(media_type, kind, "mediaType"),
            "title": self._string(title, kind, "title"),
        }
        self._optional(chunk, kind, filename=filename)
        return self._new_part(chunk, provider_metadata)

    def file(
        self, url: str, media_type: str, *, provider_metadata: Mapping[str, Any] | None = None
    ) -> list[Chunk]:
        """A file part; ``url`` may be a ``data:`` URL."""
        kind = "file"
        chunk: Chunk = {
            "type": kind,
            "url": self._string(url, kind, "url"),
            "mediaType": self._string(media_type, kind, "mediaType"),
        }
        return self._new_part(chunk, provider_metadata)

    def data(
        self, name: str, data: Any, *, id: str | None = None, transient: bool | None = None
    ) -> list[Chunk]:
        """A ``data-<name>`` part. With ``id``, a later call with the same name and id
        replaces it in place; ``transient=True`` reaches ``onData`` but is never stored."""
        if not isinstance(name, str) or not name:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ProtocolError(f"data part name must be a non-empty string; got {name!r}")
        kind = f"data-{name}"
        chunk: Chunk = {"type": kind}
        self._optional(chunk, kind, id=id)
        chunk["data"] = self._payload(data, kind, "data")
        self._optional(chunk, kind, transient=transient)
        self._check_open(kind)
        self._fits(chunk)
        creates_part = not transient and (id is None or (kind, id) not in self._data_ids)
        out = self._ensure_started([])
        if creates_part:
            self._close_current_parts(out)
        out.append(chunk)
        if creates_part and id is not None:
            self._data_ids[kind, id] = self._step if self._in_step else -1
        return out

    def message_metadata(self, metadata: Any) -> list[Chunk]:
        """Deep-merge ``metadata`` into the message's metadata on the client."""
        self._check_open("message-metadata")
        chunk = self.metadata_chunk(metadata)
        out = self._ensure_started([])
        out.append(chunk)
        return out

    def metadata_chunk(self, metadata: Any) -> Chunk:
        """A ``message-metadata`` chunk, checked as ``message_metadata`` checks it, for
        the caller to place among chunks this machine has just made (before their end
        chunk, if they ended the stream): metadata computed from each chunk. It changes
        no state."""
        kind = "message-metadata"
        chunk: Chunk = {"type": kind, "messageMetadata": self._metadata(metadata, kind)}
        self._fits(chunk)
        return chunk

    # --- AI SDK 7 ----------------------------------------------------------------------

    def custom(
        self, kind: str, *, provider_metadata: Mapping[str, Any] | None = None
    ) -> list[Chunk]:
        """A provider-specific ``custom`` part, ``kind`` as ``"{provider}.{type}"`` (v7)."""
        chunk: Chunk = {"type": "custom", "kind": self._string(kind, "custom", "kind")}
        return self._new_part(chunk, provider_metadata)

    def reasoning_file(
        self, url: str, media_type: str, *, provider_metadata: Mapping[str, Any] | None = None
    ) -> list[Chunk]:
        """A file produced as part of reasoning (v7)."""
        kind = "reasoning-file"
        chunk: Chunk = {
            "type": kind,
            "url": self._string(url, kind, "url"),
            "mediaType": self._string(media_type, kind, "mediaType"),
        }
        return self._new_part(chunk, provider_metadata)

    def steering_message(self, id: str, parts: Sequence[Mapping[str, Any]]) -> list[Chunk]:
        """A user message injected into the run (v7): it goes between steps, where
        ``streamText`` sends it (right before the ``start-step`` of the step whose model
        call saw it), so it needs no open step; inside one it raises."""
        kind = "steering-message"
        self._check_open(kind)
        chunk: Chunk = {
            "type": kind,
            "id": self._string(id, kind, "id"),
            "parts": self._payload(self._sequence(parts, kind, "parts"), kind, "parts"),
        }
        chunk = self._wire_form(chunk)
        self._gate(chunk)
        if self._in_step:
            raise ProtocolError(
                "steering-message goes between steps (before the start-step of the step "
                "whose model call saw it); call finish_step() first"
            )
        out = self._ensure_started([])
        out.append(chunk)
        return out

    def reset_step(self) -> list[Chunk]:
        """Discard everything sent in the current step (v7): the client removes those parts."""
        kind = "reset-step"
        self._check_open(kind)
        self._gate({"type": kind})
        if not self._in_step:
            raise ProtocolError("reset-step needs an open step")
        dropped = [cid for cid, call in self._tools.items() if call.step == self._step]
        for tool_call_id in dropped:
            call = self._tools.pop(tool_call_id)
            if call.approval_id is not None:
                del self._approvals[call.approval_id]
        for data_key in [k for k, step in self._data_ids.items() if step == self._step]:
            del self._data_ids[data_key]
        self._text.clear()
        self._reasoning.clear()
        return [{"type": kind}]

    # --- the low-level path: a chunk the caller built ----------------------------------

    def send(self, chunk: BaseChunk | Mapping[str, Any]) -> list[Chunk]:
        """Emit a chunk the caller built, under the same rules as the intents.

        Text and reasoning chunks use the caller's own ids; ``start`` and ``start-step``
        are still sent automatically when needed, and ``finish-step`` / ``finish`` close
        what is open.
        """
        if isinstance(chunk, BaseChunk):
            model = chunk
        elif isinstance(chunk, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
            try:
                model = parse_chunk(chunk)
            except ValidationError as exc:
                raise ProtocolError(describe_validation_error(chunk.get("type"), exc)) from None
        else:
            raise ProtocolError(f"send() takes a chunk model or a mapping; got {chunk!r}")
        wire = model.to_wire()
        kind: str = wire["type"]
        if kind.startswith("data-"):
            return self.data(
                kind[len("data-") :],
                wire["data"],
                id=wire.get("id"),
                transient=wire.get("transient"),
            )
        return _SEND_HANDLERS[kind](self, wire)

    def _send_start(self, wire: Chunk) -> list[Chunk]:
        given = wire.get("messageId")
        if given is not None and given != self._message_id:
            raise ProtocolError(
                f"start.messageId {given!r} differs from this stream's message id "
                f"{self._message_id!r}; pass message_id= when creating the machine"
            )
        return self.start(metadata=wire.get("messageMetadata"))

    def _send_start_step(self, wire: Chunk) -> list[Chunk]:
        self._check_open("start-step")
        if self._in_step:
            raise ProtocolError("start-step inside an open step; send finish-step first")
        return self._ensure_step([])

    def _send_part(self, wire: Chunk) -> list[Chunk]:
        kind: str = wire["type"]
        family, _, action = kind.partition("-")
        parts = self._text if family == "text" else self._reasoning
        key = _RawId(wire["id"])
        pm = wire.get("providerMetadata")
        if action == "start":
            if wire["id"] in parts.values():
                raise ProtocolError(
                    f"{kind}: a {family} part with id {wire['id']!r} is already open"
                )
            return self._start_part(family, parts, key, pm, wire["id"])
        if key not in parts:
            raise ProtocolError(
                f"{kind}: no {family} part with id {wire['id']!r} was opened through send(); "
                f"send {family}-start first (parts opened by intents are not addressable here)"
            )
        if action == "delta":
            return self._delta(family, parts, wire["delta"], key, pm)
        return self._end_part(family, parts, key, pm, wire.get("citations"))

    # --- internals ---------------------------------------------------------------------

    def _check_open(self, what: str) -> None:
        if self._ended is not None:
            raise ProtocolError(
                f"the stream has already ended with {self._ended!r}; cannot send {what}"
            )

    @staticmethod
    def _check_key(key: Hashable, kind: str) -> None:
        try:
            hash(key)
        except TypeError:
            raise ProtocolError(f"{kind}: key must be hashable; got {key!r}") from None

    def _gate(self, chunk: Chunk) -> None:
        check_chunk_target(chunk, self._target)
        self._fits(chunk)

    @staticmethod
    def _fits(chunk: Chunk, slack: int = 0) -> None:
        """Raise ``EventTooLarge`` unless ``chunk``'s event fits what the client reads
        (``MAX_EVENT_CHARS``, ``slack`` characters kept for fields added later). Measured
        only when its values could reach that: a nested value, or long strings."""
        bound = slack
        for value in chunk.values():
            if type(value) is str:
                bound += len(value)
            elif not (value is None or type(value) in (bool, int, float)):
                break  # nested: only its encoding tells
        else:
            if bound < _SURELY_FITS:
                return
        size = event_too_long(encode_chunk(chunk), slack)
        if size is None:
            return
        kind = str(chunk.get("type"))
        field = max(chunk, key=lambda name: len(dumps(chunk[name])))
        raise EventTooLarge(
            f"{kind}.{field} makes an SSE event of {size:,} characters; AI SDK clients fail "
            f"the whole stream on an event over {MAX_EVENT_CHARS:,} (64 Mi), so it was not "
            "sent: send large content by URL (or in smaller pieces) instead of inline",
            chunk_type=kind,
            field=field,
            size=size,
        )

    def _ensure_started(self, out: list[Chunk], start: Chunk | None = None) -> list[Chunk]:
        if not self._started:
            out.append(start or {"type": "start", "messageId": self._message_id})
            self._started = True
            for tool_call_id in self._interrupted_to_close:
                call = self._tools[tool_call_id]
                out.append(unfinished_input_error(tool_call_id, call.name, dynamic=call.dynamic))
                call.state = OUTPUT_ERROR
        return out

    def _ensure_step(self, out: list[Chunk]) -> list[Chunk]:
        self._ensure_started(out)
        if not self._in_step:
            out.append({"type": "start-step"})
            self._in_step = True
            self._step += 1
        return out

    def _new_part_id(self, family: str, parts: dict[Hashable, str]) -> str:
        in_use = set(parts.values())
        while True:
            self._next_part += 1
            candidate = f"{family[0]}{self._next_part}"
            if candidate not in in_use and candidate not in self._reserved_part_ids:
                return candidate

    def _close_part(
        self, family: str, parts: dict[Hashable, str], key: Hashable, out: list[Chunk]
    ) -> None:
        wire_id = parts.pop(key)
        out.append({"type": f"{family}-end", "id": wire_id})

    def _close_current_parts(self, out: list[Chunk]) -> list[Chunk]:
        """Close the default-key text and reasoning parts (a new part follows them)."""
        if None in self._reasoning:
            self._close_part("reasoning", self._reasoning, None, out)
        if None in self._text:
            self._close_part("text", self._text, None, out)
        return out

    def _close_parts(self, out: list[Chunk]) -> None:
        for key in list(self._reasoning):
            self._close_part("reasoning", self._reasoning, key, out)
        for key in list(self._text):
            self._close_part("text", self._text, key, out)

    def _close_everything(self, out: list[Chunk]) -> None:
        self._close_parts(out)
        self._close_tool_inputs(out)

    def _close_tool_inputs(self, out: list[Chunk]) -> None:
        """End calls still streaming input: the client finds a tool part to update only
        within the current step, so a call's input must not outlive its step."""
        for tool_call_id, call in self._tools.items():
            if call.state is INPUT_STREAMING:
                out.append(unfinished_input_error(tool_call_id, call.name, dynamic=call.dynamic))
                call.state = OUTPUT_ERROR

    def _start_part(
        self,
        family: str,
        parts: dict[Hashable, str],
        key: Hashable,
        provider_metadata: Mapping[str, Any] | None,
        wire_id: str | None,
    ) -> list[Chunk]:
        kind = f"{family}-start"
        self._check_key(key, kind)
        self._check_open(kind)
        if key in parts:
            raise ProtocolError(f"{kind}: the {family} part {key!r} is already open")
        chunk: Chunk = {"type": kind, "id": ""}
        if provider_metadata is not None:
            chunk["providerMetadata"] = self._provider_metadata(provider_metadata, kind)
        out: list[Chunk] = []
        if key is not None:
            # a keyed part is a new part too: the current parts end where it begins
            self._close_current_parts(out)
        else:
            # a new current part: the other family's current part ends where this begins
            other, other_parts = (
                ("text", self._text) if family == "reasoning" else ("reasoning", self._reasoning)
            )
            if None in other_parts:
                self._close_part(other, other_parts, None, out)
        self._ensure_step(out)
        chunk["id"] = wire_id if wire_id is not None else self._new_part_id(family, parts)
        parts[key] = chunk["id"]
        out.append(chunk)
        return out

    def _family_delta(
        self,
        family: str,
        parts: dict[Hashable, str],
        delta: str,
        key: Hashable,
        provider_metadata: Mapping[str, Any] | None,
    ) -> list[Chunk]:
        """A text or reasoning delta: the plain one to an open part without a check more
        than it needs (the hot case), anything else by ``_delta``."""
        try:
            wire_id = parts.get(key)
        except TypeError:
            wire_id = None  # unhashable key: the slow path names it
        if (
            wire_id is not None
            and type(delta) is str
            and delta
            and provider_metadata is None
            and len(delta) < _SURELY_FITS
        ):
            return [{"type": f"{family}-delta", "id": wire_id, "delta": delta}]
        return self._delta(family, parts, delta, key, provider_metadata)

    def _delta(
        self,
        family: str,
        parts: dict[Hashable, str],
        delta: str,
        key: Hashable,
        provider_metadata: Mapping[str, Any] | None,
    ) -> list[Chunk]:
        kind = f"{family}-delta"
        self._check_key(key, kind)
        self._check_open(kind)
        self._string(delta, kind, "delta")
        pm = None if provider_metadata is None else self._provider_metadata(provider_metadata, kind)
        if not delta and pm is None:
            return []
        chunk: Chunk = {"type": kind, "id": parts.get(key, ""), "delta": delta}
        if pm is not None:
            chunk["providerMetadata"] = pm
        self._fits(chunk, slack=0 if key in parts else _NEW_ID_SLACK)
        out = [] if key in parts else self._start_part(family, parts, key, None, None)
        chunk["id"] = parts[key]
        out.append(chunk)
        return out

    def _end_part(
        self,
        family: str,
        parts: dict[Hashable, str],
        key: Hashable,
        provider_metadata: Mapping[str, Any] | None,
        citations: Sequence[Mapping[str, Any]] | None,
    ) -> list[Chunk]:
        kind = f"{family}-end"
        self._check_key(key, kind)
        self._check_open(kind)
        chunk: Chunk = {"type": kind, "id": parts.get(key, "")}
        if provider_metadata is not None:
            chunk["providerMetadata"] = self._provider_metadata(provider_metadata, kind)
        if citations is not None:
            chunk["citations"] = self._payload(
                self._sequence(citations, kind, "citations"), kind, "citations"
            )
            self._gate(chunk)
            chunk = self._wire_form(chunk)
        if key not in parts:
            return []
        del parts[key]
        return [chunk]

    def _tool_input_final(
        self,
        kind: str,
        tool_call_id: str,
        input: Any,
        error_text: str | None,
        tool_name: str | None,
        dynamic: bool | None,
        provider_executed: bool | None,
        title: str | None,
        provider_metadata: Mapping[str, Any] | None,
        tool_metadata: Mapping[str, Any] | None,
    ) -> list[Chunk]:
        self._string(tool_call_id, kind, "toolCallId")
        known = self._tools.get(tool_call_id)
        if tool_name is None:
            if known is None:
                raise ProtocolError(
                    f"{kind}: tool call {tool_call_id!r} was not started, so tool_name is required"
                )
            tool_name = known.name
        elif known is not None and tool_name != known.name:
            raise ProtocolError(
                f"{kind}: tool call {tool_call_id!r} was started as {known.name!r}, not {tool_name!r}"
            )
        if known is not None:
            dynamic = self._same_dynamic(known, dynamic, kind, tool_call_id)
        chunk: Chunk = {
            "type": kind,
            "toolCallId": tool_call_id,
            "toolName": self._string(tool_name, kind, "toolName"),
            "input": self._payload(input, kind, "input"),
        }
        if kind == "tool-input-error":
            chunk["errorText"] = self._string(error_text, kind, "errorText")
        self._optional(chunk, kind, providerExecuted=provider_executed)
        self._tool_extras(chunk, kind, provider_metadata, tool_metadata, dynamic, title)
        self._gate(chunk)
        self._tool_transition(kind, tool_call_id)
        out = self._ensure_step([] if known is not None else self._close_current_parts([]))
        out.append(chunk)
        state = OUTPUT_ERROR if kind == "tool-input-error" else INPUT_AVAILABLE
        if known is None:
            self._tools[tool_call_id] = ToolCall(tool_name, state, self._step, bool(dynamic))
        else:
            known.state = state
        return out

    @staticmethod
    def _same_dynamic(
        call: ToolCall, dynamic: bool | None, kind: str, tool_call_id: str
    ) -> bool | None:
        """A call's chunks all say ``dynamic: true`` or none do (v5 clients need it on outputs)."""
        if dynamic is not None and dynamic != call.dynamic:
            raise ProtocolError(
                f"{kind}: tool call {tool_call_id!r} is {'' if call.dynamic else 'not '}dynamic; "
                f"got dynamic={dynamic!r}"
            )
        return True if call.dynamic else None

    def _tool_transition(self, kind: str, tool_call_id: str) -> ToolCall:
        """Check that ``kind`` may be sent for the call now; return the call (a stub if new)."""
        self._check_open(kind)
        if not isinstance(tool_call_id, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ProtocolError(f"{kind}.toolCallId must be a string; got {tool_call_id!r}")
        call = self._tools.get(tool_call_id)
        check_tool_chunk(kind, tool_call_id, NEW if call is None else call.state)
        return call if call is not None else ToolCall("", NEW, self._step, False)

    def _new_part(self, chunk: Chunk, provider_metadata: Mapping[str, Any] | None) -> list[Chunk]:
        kind: str = chunk["type"]
        self._check_open(kind)
        if provider_metadata is not None:
            chunk["providerMetadata"] = self._provider_metadata(provider_metadata, kind)
        self._gate(chunk)
        out = self._ensure_step(self._close_current_parts([]))
        out.append(chunk)
        return out

    def _tool_extras(
        self,
        chunk: Chunk,
        kind: str,
        provider_metadata: Mapping[str, Any] | None,
        tool_metadata: Mapping[str, Any] | None,
        dynamic: bool | None,
        title: str | None,
    ) -> None:
        if provider_metadata is not None:
            chunk["providerMetadata"] = self._provider_metadata(provider_metadata, kind)
        if tool_metadata is not None:
            if not isinstance(tool_metadata, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise ProtocolError(f"{kind}.toolMetadata must be a mapping; got {tool_metadata!r}")
            chunk["toolMetadata"] = self._payload(tool_metadata, kind, "toolMetadata")
        self._optional(chunk, kind, dynamic=dynamic, title=title)

    def _optional(self, chunk: Chunk, kind: str, **fields: str | bool | None) -> None:
        """Add optional scalar fields that were given, checking each one's type."""
        for field, value in fields.items():
            if value is None:
                continue
            expected = _OPTIONAL_SCALARS[field]
            if type(value) is not expected:
                noun = "string" if expected is str else "boolean"
                raise ProtocolError(f"{kind}.{field} must be a {noun}; got {value!r}")
            if field == "inputEncoding" and value not in ("json", "text"):
                raise ProtocolError(f"{kind}.inputEncoding must be 'json' or 'text'; got {value!r}")
            chunk[field] = value

    def _provider_metadata(self, value: Mapping[str, Any], kind: str) -> dict[str, Any]:
        plain = self._payload(value, kind, "providerMetadata")
        if not isinstance(plain, dict) or not all(
            isinstance(v, dict) for v in cast("dict[str, Any]", plain).values()
        ):
            raise ProtocolError(
                f"{kind}.providerMetadata must map provider names to objects "
                f"(Record<string, Record<string, JSONValue>>); got {value!r}"
            )
        return cast("dict[str, Any]", plain)

    def _metadata(self, value: Any, kind: str) -> dict[str, Any]:
        """Message metadata is deep-merged by the client, which throws when it merges an
        object into a non-object: only objects are sent, onto object (or no) metadata."""
        plain = self._payload(value, kind, "messageMetadata")
        if not isinstance(plain, dict):
            raise ProtocolError(f"{kind}.messageMetadata must be an object; got {value!r}")
        if not self._metadata_mergeable:
            raise ProtocolError(
                f"{kind}.messageMetadata cannot be merged: the continued message's metadata "
                "is not an object, and the client would throw merging into it"
            )
        return cast("dict[str, Any]", plain)

    @staticmethod
    def _payload(value: Any, kind: str, field: str) -> Any:
        plain, problem = to_json_value(value)
        if problem is not None:
            raise ProtocolError(f"{kind}.{field} {problem}")
        return plain

    @staticmethod
    def _sequence(value: Any, kind: str, field: str) -> list[Any]:
        if not isinstance(value, (list, tuple)):
            raise ProtocolError(f"{kind}.{field} must be a list; got {value!r}")
        return list(cast("list[Any] | tuple[Any, ...]", value))

    @staticmethod
    def _string(value: Any, kind: str, field: str) -> str:
        if type(value) is not str:
            raise ProtocolError(f"{kind}.{field} must be a string; got {value!r}")
        return value

    @staticmethod
    def _wire_form(chunk: Chunk) -> Chunk:
        """Validate a chunk with nested structure (citations, steering parts) against its
        model and return its wire form: camelCase all the way down, unset fields omitted."""
        try:
            return parse_chunk(chunk).to_wire()
        except ValidationError as exc:
            raise ProtocolError(describe_validation_error(chunk.get("type"), exc)) from None


_SURELY_FITS: Final = (MAX_EVENT_CHARS - 4096) // 6
"""Characters of string values that fit in any event: JSON escapes one in at most six."""
_NEW_ID_SLACK: Final = 64
"""Characters kept for a part id not made yet (``t12``: a few characters)."""

_OPTIONAL_SCALARS: Final[dict[str, type]] = {
    "dynamic": bool,
    "providerExecuted": bool,
    "preliminary": bool,
    "transient": bool,
    "isAutomatic": bool,
    "title": str,
    "signature": str,
    "reason": str,
    "filename": str,
    "id": str,
    "inputEncoding": str,
}


def _send_by_method(machine: StreamMachine, wire: Chunk) -> list[Chunk]:
    """Route a validated wire chunk to the intent method of the same name."""
    kwargs = {_SNAKE.get(k, k): v for k, v in wire.items() if k != "type"}
    method = getattr(machine, wire["type"].replace("-", "_"))
    return cast("list[Chunk]", method(**kwargs))


_SNAKE: Final[dict[str, str]] = {
    "toolCallId": "tool_call_id",
    "toolName": "tool_name",
    "inputTextDelta": "delta",
    "errorText": "error_text",
    "providerExecuted": "provider_executed",
    "providerMetadata": "provider_metadata",
    "toolMetadata": "tool_metadata",
    "inputEncoding": "input_encoding",
    "approvalId": "approval_id",
    "approvalDescriptor": "descriptor",
    "inputSchemaInput": "input_schema_input",
    "isAutomatic": "is_automatic",
    "sourceId": "source_id",
    "mediaType": "media_type",
    "messageMetadata": "metadata",
    "finishReason": "finish_reason",
}

_SEND_HANDLERS: Final[dict[str, Callable[[StreamMachine, Chunk], list[Chunk]]]] = {
    "start": StreamMachine._send_start,  # pyright: ignore[reportPrivateUsage]
    "start-step": StreamMachine._send_start_step,  # pyright: ignore[reportPrivateUsage]
    **{
        f"{family}-{action}": StreamMachine._send_part  # pyright: ignore[reportPrivateUsage]
        for family in ("text", "reasoning")
        for action in ("start", "delta", "end")
    },
    **dict.fromkeys(
        (
            "tool-input-start",
            "tool-input-delta",
            "tool-input-available",
            "tool-input-error",
            "tool-approval-request",
            "tool-approval-response",
            "tool-output-available",
            "tool-output-error",
            "tool-output-denied",
            "source-url",
            "source-document",
            "file",
            "custom",
            "reasoning-file",
            "steering-message",
            "finish",
            "abort",
            "error",
            "finish-step",
            "reset-step",
            "message-metadata",
        ),
        _send_by_method,
    ),
}
