"""Assemble the ``UIMessage`` a stream of chunks produces, exactly as the AI SDK client does.

:class:`UIMessageAssembler` mirrors ``processUIMessageStream``
(``packages/ai/src/ui/process-ui-message-stream.ts``) of ai 5.0.277, 6.0.326 and 7.0.173
as ``readUIMessageStream({message, stream, onError})``
(``packages/ai/src/ui-message-stream/read-ui-message-stream.ts``) runs it: state seeded
by ``createStreamingUIMessageState`` from the continued message, and
``resetStateOnMessageIdChange: true``. Where the client throws, :meth:`~UIMessageAssembler.apply`
raises ``StreamViolation(kind="ordering")`` with the client's message; ``error`` chunks
go to :attr:`~UIMessageAssembler.error_texts` (``onError``) and processing goes on.

Where the behaviour comes from:

* chunk handlers: the ``switch (chunk.type)`` of ``processUIMessageStream``, one method
  each (``_on_<type>``), gated by target where the three sources differ;
* tool parts: its ``updateToolPart`` / ``updateDynamicToolPart`` and
  ``getToolInvocation`` (5.x also ``getDynamicToolInvocation``);
* metadata: ``mergeObjects`` (``packages/ai/src/util/merge-objects.ts``), ported with the
  JavaScript semantics it has on non-object values (spreading strings and arrays);
* partial tool input: ``parsePartialJson`` (:mod:`uiwire.protocol._partial_json`).

Values the client leaves ``undefined`` are kept internally as :data:`UNDEFINED`, so that
key order follows JavaScript's insertion order, and are dropped from :attr:`message`,
which is rendered as ``JSON.stringify`` would (integer-like keys first, ``NaN`` and
infinities as ``null``, integral floats as integers).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any, Final, NoReturn, cast

from uiwire._errors import StreamViolation
from uiwire.protocol._js_values import (
    UNDEFINED,
    JSTypeError,
    clone,
    js_key,
    js_string,
    merge_objects,
    nullish,
    render,
    spread,
    strict_equal,
    truthy,
)
from uiwire.protocol._partial_json import parse_partial_json
from uiwire.protocol.targets import Target, as_target
from uiwire.protocol.ui_message import UIMessage, as_ui_message

__all__ = ["UIMessageAssembler"]

_OUTPUT_STATES: Final = frozenset(("output-available", "output-error"))


# ---------------------------------------------------------------------------------------
# Parts


def _type_of(part: Any) -> Any:
    if isinstance(part, dict):
        return cast("dict[str, Any]", part).get("type", UNDEFINED)
    return UNDEFINED


def _is_static_tool(part: Any) -> bool:
    kind = _type_of(part)
    return isinstance(kind, str) and kind.startswith("tool-")


def _is_dynamic_tool(part: Any) -> bool:
    return _type_of(part) == "dynamic-tool"


def _is_tool(part: Any) -> bool:
    return _is_static_tool(part) or _is_dynamic_tool(part)


def _static_tool_name(part: dict[str, Any]) -> str:
    """``part.type.split('-').slice(1).join('-')``."""
    return "-".join(str(part["type"]).split("-")[1:])


def _get(obj: Mapping[str, Any], key: str) -> Any:
    return obj.get(key, UNDEFINED)


def _or(value: Any, fallback: Any) -> Any:
    """``value ?? fallback``."""
    return fallback if nullish(value) else value


def _new_message(message_id: Any) -> dict[str, Any]:
    return {"id": message_id, "metadata": UNDEFINED, "role": "assistant", "parts": []}


Handler = Callable[["UIMessageAssembler", dict[str, Any]], None]


class UIMessageAssembler:
    """Feed chunks with :meth:`apply`; read the assembled assistant :attr:`message`.

    ``message`` is the assistant message being continued: a ``UIMessage``, or a dict
    validated as one (``as_ui_message``); deep-copied, never mutated. With no message,
    or a message whose role is not ``"assistant"``, a new assistant message starts, with
    ``message_id`` (or the given message's id) as its id. A
    ``start`` chunk with a different ``messageId`` starts over with a new message, as
    ``readUIMessageStream`` does.
    """

    finish_reason: str | None
    """The last ``finish.finishReason`` seen (``state.finishReason``); reset by a new message."""
    error_texts: list[str]
    """The ``errorText`` of every ``error`` chunk, in order."""

    def __init__(
        self,
        *,
        target: Target = "v6",
        message: UIMessage | Mapping[str, Any] | None = None,
        message_id: str = "",
    ) -> None:
        self._target: Target = as_target(target)
        self.finish_reason = None
        self.error_texts = []
        self._violation: StreamViolation | None = None
        self._text: dict[str, dict[str, Any]] = {}
        self._reasoning: dict[str, dict[str, Any]] = {}
        self._partial: dict[str, dict[str, Any]] = {}
        self._pending_text: dict[int, tuple[dict[str, Any], list[str]]] = {}

        if message is None:
            self._msg = _new_message(message_id)
        else:
            typed = as_ui_message(message)
            if typed.role == "assistant":
                # a dict keeps its own key order, as the client's copy of it would
                self._msg = clone(typed.to_json() if message is typed else message)
                self._seed_partial_tool_calls()
            else:
                self._msg = _new_message(typed.id)

        self._handlers = self._handler_table(self._target)

    @staticmethod
    @functools.cache
    def _handler_table(target: Target) -> dict[str, Handler]:
        """The chunk handlers ``target``'s client has, by chunk type (unbound methods, shared
        by every assembler: a table of bound methods would make each assembler a reference
        cycle, freed only by the garbage collector's full passes)."""
        a = UIMessageAssembler
        handlers: dict[str, Handler] = {
            "text-start": a._on_text_start,
            "text-delta": a._on_text_delta,
            "text-end": a._on_text_end,
            "reasoning-start": a._on_reasoning_start,
            "reasoning-delta": a._on_reasoning_delta,
            "reasoning-end": a._on_reasoning_end,
            "file": a._on_file,
            "source-url": a._on_source_url,
            "source-document": a._on_source_document,
            "tool-input-start": a._on_tool_input_start,
            "tool-input-delta": a._on_tool_input_delta,
            "tool-input-available": a._on_tool_input_available,
            "tool-input-error": a._on_tool_input_error,
            "tool-output-available": a._on_tool_output_available,
            "tool-output-error": a._on_tool_output_error,
            "start-step": a._on_start_step,
            "finish-step": a._on_finish_step,
            "start": a._on_start,
            "finish": a._on_finish,
            "message-metadata": a._on_message_metadata,
            "error": a._on_error,
        }
        if target != "v5":
            handlers["tool-approval-request"] = a._on_tool_approval_request
            handlers["tool-output-denied"] = a._on_tool_output_denied
        if target == "v7":
            handlers["tool-approval-response"] = a._on_tool_approval_response
            handlers["custom"] = a._on_custom
            handlers["reasoning-file"] = a._on_file
            handlers["steering-message"] = a._on_steering_message
            handlers["reset-step"] = a._on_reset_step
        return handlers

    # -- public ----------------------------------------------------------------------

    @property
    def target(self) -> Target:
        return self._target

    @property
    def message(self) -> dict[str, Any]:
        """A deep copy of the current message, as ``JSON.stringify`` would render it."""
        self._flush_text()
        rendered: dict[str, Any] = render(self._msg)
        return rendered

    @property
    def violation(self) -> StreamViolation | None:
        """The violation that stopped the assembler, if any."""
        return self._violation

    def apply(self, chunk: Mapping[str, Any]) -> None:
        """Process one (schema-valid) chunk, or raise ``StreamViolation(kind="ordering")``.

        After a violation the state is the one before the offending chunk and every
        later call raises the same violation again.
        """
        if self._violation is not None:
            raise self._violation
        if len(chunk) == 3 and self._append_delta(chunk):
            return
        if self._pending_text:
            self._flush_text()
        data: dict[str, Any] = clone(chunk)
        kind = data.get("type", UNDEFINED)
        try:
            handler = self._handlers.get(kind) if isinstance(kind, str) else None
            if handler is not None:
                handler(self, data)
            elif not isinstance(kind, str):
                raise JSTypeError(f"chunk.type.startsWith is not a function ({js_string(kind)})")
            elif kind.startswith("data-"):
                self._on_data(data)
            # any other type: the client's default branch ignores it
        except JSTypeError as exc:
            self._fail(data, f"TypeError: {exc}", chunk_id=None)

    def _append_delta(self, chunk: Mapping[str, Any]) -> bool:
        """The common case, a plain text/reasoning delta on an open part, without a copy.

        Same effect as the full handlers; anything unusual returns False for them.
        """
        kind = chunk.get("type")
        if kind == "text-delta":
            parts = self._text
        elif kind == "reasoning-delta":
            parts = self._reasoning
        else:
            return False
        delta, part_id = chunk.get("delta"), chunk.get("id")
        if type(delta) is not str or type(part_id) is not str:
            return False
        return self._buffer_delta(parts, part_id, delta)

    def append_delta(self, reasoning: bool, part_id: str, delta: str) -> bool:
        """``apply`` of a plain text (or ``reasoning``) delta to an open part, without the
        chunk: a streaming server's hottest record. False (nothing done) when the case
        is not that plain one; ``apply`` the chunk then."""
        if self._violation is not None:
            return False
        return self._buffer_delta(self._reasoning if reasoning else self._text, part_id, delta)

    def _buffer_delta(self, parts: dict[str, dict[str, Any]], part_id: str, delta: str) -> bool:
        part = parts.get(part_id)
        if part is None or type(part.get("text")) is not str:
            return False
        pending = self._pending_text.get(id(part))
        if pending is None:
            self._pending_text[id(part)] = (part, [delta])
        else:
            pending[1].append(delta)  # joined once, not copied per delta
        if "providerMetadata" not in part:
            part["providerMetadata"] = UNDEFINED
        return True

    def _flush_text(self) -> None:
        """Append the buffered deltas to their parts, before anything reads them."""
        for part, deltas in self._pending_text.values():
            part["text"] += "".join(deltas)
        self._pending_text.clear()

    # -- failures --------------------------------------------------------------------

    def _fail(
        self,
        chunk: dict[str, Any],
        message: str,
        *,
        chunk_id: Any,
        chunk_type: str | None = None,
    ) -> NoReturn:
        """Record and raise the violation (``UIMessageStreamError`` or a 5.x crash)."""
        if chunk_type is None:
            kind = chunk.get("type")
            chunk_type = kind if isinstance(kind, str) else None
        self._violation = StreamViolation(
            message,
            kind="ordering",
            chunk_type=chunk_type,
            chunk_id=None if nullish(chunk_id) else js_string(chunk_id),
        )
        raise self._violation

    def _missing_part(self, chunk: dict[str, Any], what: str, v5_error: str) -> NoReturn:
        """A text/reasoning delta or end for an id that is not open."""
        kind = chunk["type"]
        part_id = _get(chunk, "id")
        if self._target == "v5":  # 5.x dereferences undefined
            self._fail(chunk, f"TypeError: {v5_error}", chunk_id=part_id)
        start = kind.split("-")[0] + "-start"
        self._fail(
            chunk,
            f'Received {kind} for missing {what} with ID "{js_string(part_id)}". '
            f'Ensure a "{start}" chunk is sent before any "{kind}" chunks.',
            chunk_id=part_id,
        )

    # -- state helpers ---------------------------------------------------------------

    @property
    def _parts(self) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = self._msg["parts"]
        return parts

    def _seed_partial_tool_calls(self) -> None:
        """``createStreamingUIMessageState``: resume input-streaming tool calls of the last step."""
        for part in self._current_step_parts():
            if not _is_tool(part) or _get(part, "state") != "input-streaming":
                continue
            dynamic = _is_dynamic_tool(part)
            entry: dict[str, Any] = {
                "text": _or(_get(part, "rawInput"), ""),
                "toolName": _get(part, "toolName") if dynamic else _static_tool_name(part),
                "dynamic": dynamic,
            }
            if self._target != "v5":
                entry["inputEncoding"] = _get(part, "inputEncoding")
                entry["title"] = _get(part, "title")
                entry["toolMetadata"] = _get(part, "toolMetadata")
            self._partial[js_key(_get(part, "toolCallId"))] = entry

    def _current_step_parts(self) -> list[dict[str, Any]]:
        parts = self._parts
        index = len(parts) - 1
        while index >= 0 and _type_of(parts[index]) != "step-start":
            index -= 1
        return parts[index + 1 :]

    def _find_tool(
        self, tool_call_id: Any, matches: Callable[[Any], bool]
    ) -> dict[str, Any] | None:
        """Current step first, then the whole message, newest first."""
        for part in self._current_step_parts():
            if matches(part) and strict_equal(_get(part, "toolCallId"), tool_call_id):
                return part
        for part in reversed(self._parts):
            if matches(part) and strict_equal(_get(part, "toolCallId"), tool_call_id):
                return part
        return None

    def _tool_invocation(self, chunk: dict[str, Any]) -> dict[str, Any]:
        """``getToolInvocation`` (5.x: static parts only, or ``getDynamicToolInvocation``)."""
        tool_call_id = _get(chunk, "toolCallId")
        if self._target == "v5":
            matches = _is_dynamic_tool if truthy(_get(chunk, "dynamic")) else _is_static_tool
            part = self._find_tool(tool_call_id, matches)
            if part is None:
                self._fail(
                    chunk,
                    "tool-output-error must be preceded by a tool-input-available",
                    chunk_id=tool_call_id,
                )
            return part
        part = self._find_tool(tool_call_id, _is_tool)
        if part is None:
            self._fail(
                chunk,
                f'No tool invocation found for tool call ID "{js_string(tool_call_id)}".',
                chunk_id=tool_call_id,
                chunk_type="tool-invocation",
            )
            raise AssertionError  # unreachable: _fail raises
        return part

    def _set_provider_metadata(self, part: dict[str, Any], options: dict[str, Any]) -> None:
        metadata = _get(options, "providerMetadata")
        if nullish(metadata):
            return
        if self._target == "v5":
            if part["state"] == "input-available":
                part["callProviderMetadata"] = metadata
        elif options["state"] in _OUTPUT_STATES:
            part["resultProviderMetadata"] = metadata
        else:
            part["callProviderMetadata"] = metadata

    def _new_provider_metadata(self, options: dict[str, Any]) -> dict[str, Any]:
        metadata = _get(options, "providerMetadata")
        if nullish(metadata):
            return {}
        if self._target != "v5" and options["state"] in _OUTPUT_STATES:
            return {"resultProviderMetadata": metadata}
        return {"callProviderMetadata": metadata}

    def _update_common(self, part: dict[str, Any], options: dict[str, Any]) -> None:
        """The field updates ``updateToolPart`` and ``updateDynamicToolPart`` share."""
        o = options
        part["input"] = _get(o, "input")
        part["output"] = _get(o, "output")
        part["errorText"] = _get(o, "errorText")
        part["rawInput"] = _get(o, "rawInput")
        if self._target != "v5":
            if not nullish(_get(o, "inputEncoding")):
                part["inputEncoding"] = o["inputEncoding"]
            else:
                part.pop("inputEncoding", None)
        part["preliminary"] = _get(o, "preliminary")
        if self._target != "v5":
            if _get(o, "title") is not UNDEFINED:
                part["title"] = o["title"]
            if _get(o, "toolMetadata") is not UNDEFINED:
                part["toolMetadata"] = o["toolMetadata"]
        # once providerExecuted is set, it stays
        part["providerExecuted"] = _or(_get(o, "providerExecuted"), _get(part, "providerExecuted"))
        self._set_provider_metadata(part, o)

    def _update_tool_part(
        self, options: dict[str, Any], existing: dict[str, Any] | None = None
    ) -> None:
        """``updateToolPart``: a ``tool-<name>`` part, updated in place or appended."""
        o = options
        part = existing
        if part is None:
            part = next(
                (
                    p
                    for p in self._current_step_parts()
                    if _is_static_tool(p) and strict_equal(_get(p, "toolCallId"), o["toolCallId"])
                ),
                None,
            )
        if part is not None:
            part["state"] = o["state"]
            if self._target != "v5":
                part["type"] = f"tool-{js_string(o['toolName'])}"
            self._update_common(part, o)
            return
        new: dict[str, Any] = {
            "type": f"tool-{js_string(o['toolName'])}",
            "toolCallId": o["toolCallId"],
            "state": o["state"],
        }
        if self._target != "v5":
            new["title"] = _get(o, "title")
            if _get(o, "toolMetadata") is not UNDEFINED:
                new["toolMetadata"] = o["toolMetadata"]
        new["input"] = _get(o, "input")
        if self._target != "v5" and not nullish(_get(o, "inputEncoding")):
            new["inputEncoding"] = o["inputEncoding"]
        new["output"] = _get(o, "output")
        new["rawInput"] = _get(o, "rawInput")
        new["errorText"] = _get(o, "errorText")
        new["providerExecuted"] = _get(o, "providerExecuted")
        new["preliminary"] = _get(o, "preliminary")
        new.update(self._new_provider_metadata(o))
        self._parts.append(new)

    def _update_dynamic_tool_part(
        self, options: dict[str, Any], existing: dict[str, Any] | None = None
    ) -> None:
        """``updateDynamicToolPart``: a ``dynamic-tool`` part, updated in place or appended."""
        o = options
        part = existing
        if part is None:
            part = next(
                (
                    p
                    for p in self._current_step_parts()
                    if _is_dynamic_tool(p) and strict_equal(_get(p, "toolCallId"), o["toolCallId"])
                ),
                None,
            )
        if part is not None:
            part["state"] = o["state"]
            part["toolName"] = o["toolName"]
            self._update_common(part, o)
            return
        new: dict[str, Any] = {
            "type": "dynamic-tool",
            "toolName": o["toolName"],
            "toolCallId": o["toolCallId"],
            "state": o["state"],
            "input": _get(o, "input"),
        }
        if self._target != "v5" and not nullish(_get(o, "inputEncoding")):
            new["inputEncoding"] = o["inputEncoding"]
        new["output"] = _get(o, "output")
        new["errorText"] = _get(o, "errorText")
        new["preliminary"] = _get(o, "preliminary")
        new["providerExecuted"] = _get(o, "providerExecuted")
        if self._target != "v5":
            new["title"] = _get(o, "title")
            if _get(o, "toolMetadata") is not UNDEFINED:
                new["toolMetadata"] = o["toolMetadata"]
        new.update(self._new_provider_metadata(o))
        self._parts.append(new)

    def _update_tool(self, dynamic: bool, options: dict[str, Any], existing: Any = None) -> None:
        if dynamic:
            self._update_dynamic_tool_part(options, existing)
        else:
            self._update_tool_part(options, existing)

    def _update_metadata(self, metadata: Any) -> None:
        """``updateMessageMetadata``: deep-merge into ``message.metadata``."""
        if nullish(metadata):
            return
        current = _get(self._msg, "metadata")
        try:
            merged = metadata if nullish(current) else merge_objects(current, metadata)
        except TypeError as exc:
            raise JSTypeError(str(exc)) from exc
        self._msg["metadata"] = merged

    def _pick(self, chunk: dict[str, Any], *names: str) -> dict[str, Any]:
        """Options copied from the chunk (absent keys stay absent, i.e. ``undefined``)."""
        return {name: chunk[name] for name in names if name in chunk}

    # -- text and reasoning ----------------------------------------------------------

    def _on_text_start(self, chunk: dict[str, Any]) -> None:
        part: dict[str, Any] = {
            "type": "text",
            "text": "",
            "providerMetadata": _get(chunk, "providerMetadata"),
            "state": "streaming",
        }
        self._text[js_key(_get(chunk, "id"))] = part
        self._parts.append(part)

    def _on_text_delta(self, chunk: dict[str, Any]) -> None:
        part = self._text.get(js_key(_get(chunk, "id")))
        if part is None:
            self._missing_part(
                chunk, "text part", "Cannot read properties of undefined (reading 'text')"
            )
        part["text"] = js_string(part["text"]) + js_string(_get(chunk, "delta"))
        part["providerMetadata"] = _or(
            _get(chunk, "providerMetadata"), _get(part, "providerMetadata")
        )

    def _on_text_end(self, chunk: dict[str, Any]) -> None:
        key = js_key(_get(chunk, "id"))
        part = self._text.get(key)
        if part is None:
            self._missing_part(
                chunk, "text part", "Cannot set properties of undefined (setting 'state')"
            )
        part["state"] = "done"
        if self._target == "v7" and not nullish(_get(chunk, "citations")):
            part["citations"] = chunk["citations"]
        part["providerMetadata"] = _or(
            _get(chunk, "providerMetadata"), _get(part, "providerMetadata")
        )
        del self._text[key]

    def _on_reasoning_start(self, chunk: dict[str, Any]) -> None:
        part: dict[str, Any] = {
            "type": "reasoning",
            "id": _get(chunk, "id"),
            "text": "",
            "providerMetadata": _get(chunk, "providerMetadata"),
            "state": "streaming",
        }
        self._reasoning[js_key(_get(chunk, "id"))] = part
        self._parts.append(part)

    def _on_reasoning_delta(self, chunk: dict[str, Any]) -> None:
        part = self._reasoning.get(js_key(_get(chunk, "id")))
        if part is None:
            self._missing_part(
                chunk, "reasoning part", "Cannot read properties of undefined (reading 'text')"
            )
        part["text"] = js_string(part["text"]) + js_string(_get(chunk, "delta"))
        part["providerMetadata"] = _or(
            _get(chunk, "providerMetadata"), _get(part, "providerMetadata")
        )

    def _on_reasoning_end(self, chunk: dict[str, Any]) -> None:
        key = js_key(_get(chunk, "id"))
        part = self._reasoning.get(key)
        if part is None:
            # 5.x evaluates `chunk.providerMetadata ?? reasoningPart.providerMetadata` first
            v5_error = (
                "Cannot read properties of undefined (reading 'providerMetadata')"
                if nullish(_get(chunk, "providerMetadata"))
                else "Cannot set properties of undefined (setting 'providerMetadata')"
            )
            self._missing_part(chunk, "reasoning part", v5_error)
        part["providerMetadata"] = _or(
            _get(chunk, "providerMetadata"), _get(part, "providerMetadata")
        )
        part["state"] = "done"
        del self._reasoning[key]

    # -- other content parts ---------------------------------------------------------

    def _on_file(self, chunk: dict[str, Any]) -> None:
        part: dict[str, Any] = {
            "type": chunk["type"],
            "mediaType": _get(chunk, "mediaType"),
            "url": _get(chunk, "url"),
        }
        if self._target != "v5" and not nullish(_get(chunk, "providerMetadata")):
            part["providerMetadata"] = chunk["providerMetadata"]
        self._parts.append(part)

    def _on_source_url(self, chunk: dict[str, Any]) -> None:
        self._parts.append(
            {
                "type": "source-url",
                "sourceId": _get(chunk, "sourceId"),
                "url": _get(chunk, "url"),
                "title": _get(chunk, "title"),
                "providerMetadata": _get(chunk, "providerMetadata"),
            }
        )

    def _on_source_document(self, chunk: dict[str, Any]) -> None:
        self._parts.append(
            {
                "type": "source-document",
                "sourceId": _get(chunk, "sourceId"),
                "mediaType": _get(chunk, "mediaType"),
                "title": _get(chunk, "title"),
                "filename": _get(chunk, "filename"),
                "providerMetadata": _get(chunk, "providerMetadata"),
            }
        )

    def _on_custom(self, chunk: dict[str, Any]) -> None:
        self._parts.append(
            {
                "type": "custom",
                "kind": _get(chunk, "kind"),
                "providerMetadata": _get(chunk, "providerMetadata"),
            }
        )

    def _on_steering_message(self, chunk: dict[str, Any]) -> None:
        self._parts.append(
            {"type": "steering-message", "id": _get(chunk, "id"), "parts": _get(chunk, "parts")}
        )

    def _on_data(self, chunk: dict[str, Any]) -> None:
        """``data-*``: transient ones are not stored; others upsert by type and id."""
        if truthy(_get(chunk, "transient")):
            return
        data_id = _get(chunk, "id")
        if not nullish(data_id):
            for part in self._parts:
                if strict_equal(chunk["type"], _get(part, "type")) and strict_equal(
                    data_id, _get(part, "id")
                ):
                    part["data"] = _get(chunk, "data")
                    return
        self._parts.append(chunk)  # the client stores the chunk object itself

    # -- tools -----------------------------------------------------------------------

    def _on_tool_input_start(self, chunk: dict[str, Any]) -> None:
        dynamic = truthy(_get(chunk, "dynamic"))
        partial: dict[str, Any] = {
            "text": "",
            "toolName": _get(chunk, "toolName"),
            "dynamic": _get(chunk, "dynamic"),
        }
        names = ["toolCallId", "toolName", "providerExecuted"]
        if self._target != "v5":
            partial["inputEncoding"] = _get(chunk, "inputEncoding")
            partial["title"] = _get(chunk, "title")
            partial["toolMetadata"] = _get(chunk, "toolMetadata")
            names += ["inputEncoding", "title", "toolMetadata", "providerMetadata"]
        self._partial[js_key(_get(chunk, "toolCallId"))] = partial
        options = self._pick(chunk, *names)
        options["state"] = "input-streaming"
        self._update_tool(dynamic, options)

    def _on_tool_input_delta(self, chunk: dict[str, Any]) -> None:
        tool_call_id = _get(chunk, "toolCallId")
        partial = self._partial.get(js_key(tool_call_id))
        if partial is None:
            if self._target == "v5":
                self._fail(
                    chunk,
                    "TypeError: Cannot read properties of undefined (reading 'text')",
                    chunk_id=tool_call_id,
                )
            self._fail(
                chunk,
                "Received tool-input-delta for missing tool call with ID "
                f'"{js_string(tool_call_id)}". '
                'Ensure a "tool-input-start" chunk is sent before any "tool-input-delta" chunks.',
                chunk_id=tool_call_id,
            )
        text = js_string(partial["text"]) + js_string(_get(chunk, "inputTextDelta"))
        partial["text"] = text
        if self._target != "v5" and partial["inputEncoding"] == "text":
            args: Any = text
        else:
            value, state = parse_partial_json(text, target=self._target)
            args = value if state in ("successful-parse", "repaired-parse") else UNDEFINED
        options: dict[str, Any] = {
            "toolCallId": tool_call_id,
            "toolName": partial["toolName"],
            "state": "input-streaming",
            "input": args,
            "rawInput": text,
        }
        if self._target != "v5":
            options["inputEncoding"] = partial["inputEncoding"]
            options["title"] = partial["title"]
            options["toolMetadata"] = partial["toolMetadata"]
        self._update_tool(truthy(partial["dynamic"]), options)

    def _on_tool_input_available(self, chunk: dict[str, Any]) -> None:
        names = ["toolCallId", "toolName", "input", "providerExecuted", "providerMetadata"]
        if self._target != "v5":
            names += ["title", "toolMetadata"]
        options = self._pick(chunk, *names)
        options["state"] = "input-available"
        self._update_tool(truthy(_get(chunk, "dynamic")), options)

    def _on_tool_input_error(self, chunk: dict[str, Any]) -> None:
        if self._target == "v5":
            dynamic = truthy(_get(chunk, "dynamic"))
        else:  # honour the type of a part already in the current step
            existing = next(
                (
                    p
                    for p in self._current_step_parts()
                    if _is_tool(p)
                    and strict_equal(_get(p, "toolCallId"), _get(chunk, "toolCallId"))
                ),
                None,
            )
            dynamic = (
                _is_dynamic_tool(existing)
                if existing is not None
                else truthy(_get(chunk, "dynamic"))
            )
        names = ["toolCallId", "toolName", "errorText", "providerExecuted", "providerMetadata"]
        if self._target != "v5":
            names.append("toolMetadata")
        options = self._pick(chunk, *names)
        options["state"] = "output-error"
        if dynamic or self._target == "v7":
            options["input"] = _get(chunk, "input")
        else:  # 5.x and 6.x static tools: the invalid input goes to rawInput
            options["input"] = UNDEFINED
            options["rawInput"] = _get(chunk, "input")
        self._update_tool(dynamic, options)

    def _on_tool_approval_request(self, chunk: dict[str, Any]) -> None:
        part = self._tool_invocation(chunk)
        part["state"] = "approval-requested"
        approval: dict[str, Any] = {"id": _get(chunk, "approvalId")}
        if not nullish(_get(chunk, "approvalDescriptor")):
            approval["descriptor"] = chunk["approvalDescriptor"]
        if "inputSchemaInput" in chunk:  # hasOwnProperty: kept even when null
            approval["inputSchemaInput"] = chunk["inputSchemaInput"]
        if self._target == "v7":
            if not nullish(_get(chunk, "reason")):
                approval["requestReason"] = chunk["reason"]
            if _get(chunk, "isAutomatic") is True:
                approval["isAutomatic"] = True
        if not nullish(_get(chunk, "signature")):
            approval["signature"] = chunk["signature"]
        part["approval"] = approval

    def _on_tool_approval_response(self, chunk: dict[str, Any]) -> None:
        approval_id = _get(chunk, "approvalId")
        part = next(
            (
                p
                for p in self._parts
                if _is_tool(p)
                and isinstance(p.get("approval"), dict)
                and strict_equal(_get(p["approval"], "id"), approval_id)
            ),
            None,
        )
        if part is None:
            self._fail(
                chunk,
                f'No tool invocation found for approval ID "{js_string(approval_id)}".',
                chunk_id=approval_id,
            )
        previous = _get(part, "approval")
        base = {"id": approval_id} if nullish(previous) else spread(previous)
        part["state"] = "approval-responded"
        approval: dict[str, Any] = {**base, "id": approval_id, "approved": _get(chunk, "approved")}
        if not nullish(_get(chunk, "reason")):
            approval["reason"] = chunk["reason"]
        part["approval"] = approval
        if not nullish(_get(chunk, "providerExecuted")):
            part["providerExecuted"] = chunk["providerExecuted"]
        if not nullish(_get(chunk, "providerMetadata")):
            part["callProviderMetadata"] = chunk["providerMetadata"]

    def _on_tool_output_denied(self, chunk: dict[str, Any]) -> None:
        self._tool_invocation(chunk)["state"] = "output-denied"

    def _output_options(
        self, chunk: dict[str, Any], part: dict[str, Any], state: str, dynamic: bool
    ) -> dict[str, Any]:
        """Options ``tool-output-available`` / ``tool-output-error`` pass to the update."""
        options: dict[str, Any] = {
            "toolCallId": _get(chunk, "toolCallId"),
            "toolName": _get(part, "toolName") if dynamic else _static_tool_name(part),
            "state": state,
            "input": _get(part, "input"),
        }
        if state == "output-available":
            options.update(self._pick(chunk, "output", "preliminary"))
        else:
            if not dynamic:
                options["rawInput"] = _get(part, "rawInput")
            options.update(self._pick(chunk, "errorText"))
        if self._target == "v5":
            if not (dynamic and state == "output-available"):  # 5.x drops it there
                options.update(self._pick(chunk, "providerExecuted"))
            return options
        options.update(self._pick(chunk, "providerExecuted", "providerMetadata"))
        options["title"] = _get(part, "title")
        options["toolMetadata"] = _or(_get(chunk, "toolMetadata"), _get(part, "toolMetadata"))
        return options

    def _on_tool_output(self, chunk: dict[str, Any], state: str) -> None:
        part = self._tool_invocation(chunk)
        dynamic = _is_dynamic_tool(part)
        self._update_tool(dynamic, self._output_options(chunk, part, state, dynamic), part)

    def _on_tool_output_available(self, chunk: dict[str, Any]) -> None:
        self._on_tool_output(chunk, "output-available")

    def _on_tool_output_error(self, chunk: dict[str, Any]) -> None:
        self._on_tool_output(chunk, "output-error")

    # -- steps, lifecycle, metadata --------------------------------------------------

    def _on_start_step(self, chunk: dict[str, Any]) -> None:
        self._parts.append({"type": "step-start"})

    def _on_finish_step(self, chunk: dict[str, Any]) -> None:
        if self._target != "v7":  # 7.x leaves open parts to their end chunks
            self._text = {}
            self._reasoning = {}

    def _on_reset_step(self, chunk: dict[str, Any]) -> None:
        step = self._current_step_parts()
        self._text = {}
        self._reasoning = {}
        self._partial = {}
        if step:
            del self._parts[len(self._parts) - len(step) :]

    def _on_start(self, chunk: dict[str, Any]) -> None:
        message_id = _get(chunk, "messageId")
        if not nullish(message_id) and not strict_equal(message_id, _get(self._msg, "id")):
            # resetStateOnMessageIdChange: a separate response starts from empty state
            self._msg = _new_message(message_id)
            self._text = {}
            self._reasoning = {}
            self._partial = {}
            self.finish_reason = None
        if not nullish(message_id):
            self._msg["id"] = message_id
        self._update_metadata(_get(chunk, "messageMetadata"))

    def _on_finish(self, chunk: dict[str, Any]) -> None:
        if not nullish(_get(chunk, "finishReason")):
            self.finish_reason = chunk["finishReason"]
        self._update_metadata(_get(chunk, "messageMetadata"))

    def _on_message_metadata(self, chunk: dict[str, Any]) -> None:
        self._update_metadata(_get(chunk, "messageMetadata"))

    def _on_error(self, chunk: dict[str, Any]) -> None:
        error_text = _get(chunk, "errorText")
        self.error_texts.append("" if error_text is UNDEFINED else js_string(error_text))
