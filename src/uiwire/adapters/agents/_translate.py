"""One run's translation: Agents SDK stream events in, ``MessageWriter`` writes out.

Theory of operation
-------------------
Everything the model produces is read from the raw Responses events, as it streams:
since openai-agents 0.20 the run-item events arrive only after ``response.completed``,
so they are too late for text and tool input. Run items are read for what only the SDK
knows: tool outputs, handoffs, approvals, the active agent.

* ``response.created`` starts a step (one step per model call); the step before it
  ends there, not at ``response.completed``, because the tool outputs of a model call
  arrive after its completion and belong to its step.
* Parts are addressed by ``(step, output_index, ...)``: the Chat Completions path gives
  every item the id ``__fake_id__``, the output index is unique in both paths.
* Text and refusals are text parts, reasoning summaries and reasoning text are
  reasoning parts, one part per content / summary index, closed when their item is done.
* Function calls (handoffs included) and local runtime calls stream their input; the
  finished item gives the complete input, or ``tool-input-error`` when the arguments
  are not JSON. Hosted calls (web search, file search, code interpreter, image
  generation, hosted MCP) are provider-executed: their result is in the finished item.
* ``tool_output`` / ``handoff_occured`` items give the outputs. A failure noted by the
  run's tool error formatter (see ``_channel``) becomes ``tool-output-error``, a call
  the user rejected ``tool-output-denied``. A handoff whose input filter dropped its
  ``handoff_occured`` item is answered by the agent update that follows it, and so are
  the tools that ran beside it whose ``tool_output`` the filter dropped (with what the
  run's tool copies returned).
* ``response.completed`` adds the call's usage to the message metadata and sends, whole,
  any output item that did not stream (a model that sends no deltas). Its output is what
  the SDK acts on: a streamed item it does not hold was superseded (a call is shown
  failed, ``SUPERSEDED_CALL_TEXT``, it never runs) and the items it holds instead are
  sent whole. A model that sends no ``response.created`` starts its next call with its
  first event after ``response.completed``.
* A ``message_output_created`` item whose text no model event carried (the answer an
  ``error_handlers`` entry recovered, for max turns, an invalid final output or a
  refusal) is sent whole: what the SDK made the answer reaches the client.
* The messages of an agent with a structured ``output_type`` are JSON, not prose: their
  text streams as ``data-output`` parts (``StructuredOutput``), one per content part.
  The one the run returned ends with ``final_output`` (``finish_outputs``); the others
  (a message beside a tool call or a handoff) end with their JSON parsed when the run
  goes on to its next model call, or when it ends.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import mimetypes
from collections.abc import Hashable, Mapping
from typing import Any, Literal, cast

from agents import (
    AgentOutputSchema,
    AgentOutputSchemaBase,
    ItemHelpers,
    MessageOutputItem,
    ToolCallOutputItem,
)

from uiwire.adapters._tool_labels import ToolLabel, label_options
from uiwire.adapters.agents._channel import RunChannel
from uiwire.adapters.agents._compat import output_wrapper, timeout_output
from uiwire.adapters.agents._items import ToolItem, field, parse_arguments, tool_item
from uiwire.adapters.agents._labels import hosted_label
from uiwire.protocol._json import to_json_value
from uiwire.stream.message_writer import MessageWriter
from uiwire.stream.record import Usage
from uiwire.stream.structured_output import StructuredOutput

__all__ = [
    "AGENT_PART",
    "INVALID_INPUT_TEXT",
    "SUPERSEDED_CALL_TEXT",
    "Translation",
    "output_schema",
]

logger = logging.getLogger("uiwire.agents")

AGENT_PART = "agent"
"""The active agent, sent as a ``data-agent`` part ``{"name": ...}`` when it changes."""

INVALID_INPUT_TEXT = "The model's tool arguments are not valid JSON."

SUPERSEDED_CALL_TEXT = "The model's final response left this call out; it did not run."
"""The error of a streamed call the model's final response does not hold (the SDK acts
on the final response only)."""


CallState = Literal["input-streaming", "input-available", "input-error", "approval", "done"]


@dataclasses.dataclass(slots=True)
class _Call:
    name: str
    state: CallState


@dataclasses.dataclass(slots=True)
class _Item:
    """One output item of the current model call."""

    kind: str
    tool: ToolItem | None = None
    ident: tuple[str, str] | None = None
    """``(type, call id or id)`` of the item as announced; None for a delta's guess."""
    keys: list[tuple[str, Hashable]] = dataclasses.field(default_factory=list[tuple[str, Hashable]])
    """The text / reasoning parts it opened: ``("text" | "reasoning", key)``."""
    streamed: bool = False
    done: bool = False


class Translation:
    """Stream events of one run (or a resumed run) in, writes to ``out``: the run's
    ``StreamContext``, or the ``MessageBuilder`` of an agent used as a tool.

    ``channel`` carries tool failures and holds tool writes until the call's input is
    out; ``releases_tool_writes`` is False for a nested (agent-as-tool) run, whose call
    ids the outer stream does not have. ``calls`` are calls the message already holds
    (a continuation): ``{tool_call_id: tool name}``. ``denied`` are calls the user
    rejected, ``settled`` calls whose result the message already has (client-side
    tools), ``agent`` the agent the message last named, ``usage`` what it used so far.
    ``output_guardrails``: the run's config has output guardrails.
    """

    def __init__(
        self,
        out: MessageWriter,
        channel: RunChannel | None,
        *,
        releases_tool_writes: bool = True,
        calls: Mapping[str, str] | None = None,
        denied: frozenset[str] = frozenset(),
        settled: frozenset[str] = frozenset(),
        agent: str | None = None,
        usage: Usage | None = None,
        output_guardrails: bool = False,
    ) -> None:
        self._out = out
        self._channel = channel
        self._releases = releases_tool_writes
        self._calls: dict[str, _Call] = {
            call_id: _Call(name, "done" if call_id in settled else "approval")
            for call_id, name in (calls or {}).items()
        }
        self._denied = denied
        if channel is not None and releases_tool_writes:
            channel.outer = self
        self._agent = agent
        self._step = 0
        self._in_model_call = False
        self._items: dict[int, _Item] = {}
        self._shown_messages: list[str] = []
        """Texts of the message items sent from model events, not yet matched by their
        ``message_output_created`` run item."""
        self._whole_items = 0
        self._output_guardrails = output_guardrails
        self._held: dict[str, tuple[Any, Any]] = {}
        """Tool outputs an output guardrail may still block: ``{call id: (output,
        model text)}``, sent when the run goes on or ends well."""
        self._handoffs: list[str] = []
        """Handoff calls requested and not yet answered by ``handoff_occured``."""
        self._usage = usage or Usage()
        self._output_shape: tuple[str, str | None] | None = None
        """The active agent's structured output: ``(type name, wrapper key)``; None for
        plain text."""
        self._outputs: dict[Hashable, StructuredOutput] = {}
        """The structured outputs not yet finished, by part key."""

    @property
    def usage(self) -> Usage:
        return self._usage

    @property
    def agent(self) -> str | None:
        """The agent the message last named."""
        return self._agent

    def _leaves_out(self, what: str) -> bool:
        """Whether the adapter was told to leave ``what`` out of the message."""
        return self._channel is not None and what in self._channel.leave_out

    def call_state(self, tool_call_id: str) -> CallState | None:
        call = self._calls.get(tool_call_id)
        return None if call is None else call.state

    # --- dispatch --------------------------------------------------------------------

    async def handle(self, event: Any) -> None:
        kind = event.type
        if kind == "raw_response_event":
            await self._raw(event.data)
        elif kind == "run_item_stream_event":
            await self._run_item(event.name, event.item)
        elif kind == "agent_updated_stream_event":
            self._output_shape = _output_shape(event.new_agent)
            await self._agent_updated(str(event.new_agent.name))

    async def _raw(self, data: Any) -> None:
        kind = data.type
        if kind == "response.created" or not self._in_model_call:
            await self._start_model_call()
        if kind == "response.created":
            return
        if kind == "response.output_text.delta" and self._output_shape is not None:
            await self._output_delta(data.output_index, data.content_index, data.delta)
        elif kind in ("response.output_text.delta", "response.refusal.delta"):
            await self._text(data.output_index, data.content_index, data.delta)
        elif kind == "response.content_part.done":
            await self._end_part(data.output_index, "text", (data.content_index,))
        elif kind == "response.reasoning_summary_text.delta":
            await self._reasoning(data.output_index, ("summary", data.summary_index), data.delta)
        elif kind == "response.reasoning_summary_part.done":
            await self._end_part(data.output_index, "reasoning", ("summary", data.summary_index))
        elif kind == "response.reasoning_text.delta":
            await self._reasoning(data.output_index, ("text", data.content_index), data.delta)
        elif kind == "response.reasoning_text.done":
            await self._end_part(data.output_index, "reasoning", ("text", data.content_index))
        elif kind in _INPUT_DELTAS:
            await self._tool_input_delta(data.output_index, data.delta)
        elif kind == "response.output_text.annotation.added":
            await self._annotation(data.annotation)
        elif kind == "response.output_item.added":
            await self._item_added(data.output_index, data.item)
        elif kind == "response.output_item.done":
            await self._item_done(data.output_index, data.item)
        elif kind == "response.completed":
            await self._completed(data.response)
            self._in_model_call = False

    async def _start_model_call(self) -> None:
        """A step per model call: at ``response.created``, or at a call's first event
        for models that send none."""
        if self._in_model_call and not self._items:
            return  # response.created after another event of the same call
        await self.release_held()  # the run goes on: they were not its final output
        await self._finish_outputs(None)  # nor were these messages
        if self._step:
            await self._out.new_step()
        if self._releases and self._channel is not None:  # the run's own model call
            self._channel.show_steering()
        self._step += 1
        self._items = {}
        self._in_model_call = True

    # --- text and reasoning ---------------------------------------------------------------

    def _item(self, index: int, kind: str = "message") -> _Item:
        item = self._items.get(index)
        if item is None:  # a delta without its item.added: some models skip it
            item = self._items[index] = _Item(kind)
        return item

    async def _text(self, index: int, content_index: int, delta: str) -> None:
        if not delta:
            return
        item = self._item(index)
        key = ("text", self._step, index, content_index)
        if ("text", key) not in item.keys:
            item.keys.append(("text", key))
        item.streamed = True
        await self._out.write_text(delta, key=key)

    async def _output_delta(self, index: int, content_index: int, delta: str) -> None:
        if not delta:
            return
        item = self._item(index)
        item.streamed = True
        await self._output(("output", self._step, index, content_index)).write(delta)

    def _output(self, key: Hashable) -> StructuredOutput:
        """The structured output part ``key`` of the active agent, made on first use."""
        output = self._outputs.get(key)
        if output is None:
            assert self._output_shape is not None
            name, wrapper = self._output_shape
            output = self._outputs[key] = StructuredOutput(self._out, name, wrapper=wrapper)
        return output

    async def finish_outputs(self, result: Any) -> None:
        """The run ended: the structured output it returned ends with ``final_output``
        (the SDK's validated value), the others with their JSON parsed."""
        final_text = None
        items = cast("list[Any]", getattr(result, "new_items", None) or [])
        if getattr(result, "final_output", None) is not None and items:
            last = items[-1]
            if isinstance(last, MessageOutputItem):
                final_text = ItemHelpers.extract_last_text(last.raw_item)
        await self._finish_outputs(final_text, getattr(result, "final_output", None))

    async def show_final_output(self, result: Any) -> None:
        """The run's ``final_output`` when no item carries it: a ``tool_use_behavior``
        function may end the run with an output of its own, which the SDK streams in no
        event or item; the user is shown it as the answer (text, or a ``data-output``
        part when it is not a string)."""
        final = getattr(result, "final_output", None)
        if final is None or getattr(result, "interruptions", None):
            return
        items = cast("list[Any]", getattr(result, "new_items", None) or [])
        for item in items:
            if isinstance(item, ToolCallOutputItem) and item.output == final:
                return  # a tool's output ended the run: shown as that tool's output
        last = items[-1] if items else None
        if isinstance(last, MessageOutputItem):
            return  # the run's answer: shown as it streamed (text or structured output)
        if isinstance(final, str):
            if final:
                key = ("final-output", self._step)
                await self._out.write_text(final, key=key)
                await self._out.end_text(key=key)
            return
        await StructuredOutput(self._out, type(final).__name__).finish(final)

    async def _finish_outputs(self, final_text: str | None, final_output: Any = None) -> None:
        returned = None
        if final_text is not None:
            returned = next(
                (o for o in reversed(self._outputs.values()) if o.text == final_text), None
            )
        for output in list(self._outputs.values()):
            if output is returned:
                await output.finish(final_output)
            else:
                await output.finish()
        self._outputs.clear()

    async def _reasoning(self, index: int, sub: tuple[str, int], delta: str) -> None:
        if not delta or self._leaves_out("reasoning"):
            return
        item = self._item(index, "reasoning")
        key = ("reasoning", self._step, index, *sub)
        if ("reasoning", key) not in item.keys:
            item.keys.append(("reasoning", key))
        item.streamed = True
        await self._out.write_reasoning(delta, key=key)

    async def _end_part(self, index: int, family: str, sub: tuple[Hashable, ...]) -> None:
        item = self._items.get(index)
        if item is None:
            return
        key: Hashable = (family, self._step, index, *sub)
        entry: tuple[str, Hashable] = (family, key)
        if entry in item.keys:
            item.keys.remove(entry)
            await self._close(entry)

    async def _close(self, entry: tuple[str, Hashable]) -> None:
        family, key = entry
        if family == "text":
            await self._out.end_text(key=key)
        else:
            await self._out.end_reasoning(key=key)

    async def _annotation(self, annotation: Any) -> None:
        if self._leaves_out("sources"):
            return
        kind = field(annotation, "type")
        if kind == "url_citation" and field(annotation, "url"):
            await self._out.write_source(
                str(field(annotation, "url")), title=field(annotation, "title") or None
            )
        elif kind in ("file_citation", "container_file_citation"):
            filename = field(annotation, "filename") or field(annotation, "file_id") or "file"
            media_type = mimetypes.guess_type(str(filename))[0] or "application/octet-stream"
            await self._out.write_source_document(str(filename), media_type, filename=str(filename))

    # --- output items -------------------------------------------------------------------

    async def _item_added(self, index: int, raw: Any) -> None:
        kind = str(field(raw, "type"))
        tool = tool_item(raw)
        item = self._items[index] = _Item(kind, tool, _ident(raw))
        if tool is None or kind == "mcp_approval_request":
            return
        known = self._calls.get(tool.call_id)
        if tool.approval_request_id is not None and tool.approval_request_id in self._calls:
            item.tool = dataclasses.replace(tool, call_id=tool.approval_request_id)
            return  # the approved MCP call: its result goes to the approval's part
        if known is None:
            await self._begin(tool, raw)

    async def _begin(self, tool: ToolItem, raw: Any) -> _Call:
        call = self._calls[tool.call_id] = _Call(tool.name, "input-streaming")
        await self._out.begin_tool_call(
            tool.name,
            tool_call_id=tool.call_id,
            dynamic=tool.dynamic or None,
            provider_executed=tool.provider_executed or None,
            **label_options(self._out, self._label(tool, raw)),
        )
        return call

    def _label(self, tool: ToolItem, raw: Any) -> ToolLabel | None:
        """What the run knows of the call's tool: its definition's label (``run_view``
        saw it), or what a provider-executed call's item says."""
        if tool.provider_executed:
            return hosted_label(raw)
        if self._channel is None or self._agent is None:
            return None
        return self._channel.labels.get((self._agent, tool.name))

    async def _tool_input_delta(self, index: int, delta: str) -> None:
        item = self._items.get(index)
        if item is None or item.tool is None or not delta:
            return
        call = self._calls.get(item.tool.call_id)
        if call is not None and call.state == "input-streaming":
            item.streamed = True
            await self._out.write_tool_input(item.tool.call_id, delta)

    async def _item_done(self, index: int, raw: Any) -> None:
        item = self._items.get(index)
        if item is None:
            await self._item_added(index, raw)
            item = self._items[index]
        if item.done:
            return
        item.done = True
        while item.keys:
            await self._close(item.keys.pop(0))
        if item.kind == "message":
            self._shown_messages.append(_message_text(raw))
        if item.kind == "message" and not item.streamed:
            await self._whole_message(index, raw)
        elif item.kind == "reasoning" and not item.streamed:
            await self._whole_reasoning(index, raw)
        if item.tool is not None:
            await self._tool_item_done(item.tool, raw)

    async def _whole_message(self, index: Hashable, raw: Any) -> None:
        for content_index, content in enumerate(cast("list[Any]", field(raw, "content") or [])):
            text = field(content, "text") or field(content, "refusal")
            if isinstance(text, str) and text and self._output_shape and field(content, "text"):
                await self._output(("output", self._step, index, content_index)).write(text)
            elif isinstance(text, str) and text:
                key = ("text", self._step, index, content_index)
                await self._out.write_text(text, key=key)
                await self._out.end_text(key=key)
                for annotation in cast("list[Any]", field(content, "annotations") or []):
                    await self._annotation(annotation)

    async def _whole_reasoning(self, index: int, raw: Any) -> None:
        if self._leaves_out("reasoning"):
            return
        pieces = [
            *(
                ("summary", i, p)
                for i, p in enumerate(cast("list[Any]", field(raw, "summary") or []))
            ),
            *(("text", i, p) for i, p in enumerate(cast("list[Any]", field(raw, "content") or []))),
        ]
        for family, i, piece in pieces:
            text = field(piece, "text")
            if isinstance(text, str) and text:
                key = ("reasoning", self._step, index, family, i)
                await self._out.write_reasoning(text, key=key)
                await self._out.end_reasoning(key=key)

    async def _tool_item_done(self, tool: ToolItem, raw: Any) -> None:
        call = self._calls.get(tool.call_id)
        if call is None:  # an approval request is not begun at item.added
            call = await self._begin(tool, raw)
        if call.state == "input-streaming":
            value, valid = tool.input_of(raw)
            if valid:
                await self._out.end_tool_input(tool.call_id, value)
                call.state = "input-available"
                if self._channel is not None and self._releases:
                    await self._channel.input_sent(tool.call_id)
            else:
                await self._out.fail_tool_input(tool.call_id, INVALID_INPUT_TEXT, input=value)
                call.state = "input-error"
        kind = field(raw, "type")
        if not tool.provider_executed or kind == "mcp_approval_request":
            return
        if call.state not in ("input-available", "approval"):
            return
        if kind == "image_generation_call" and isinstance(field(raw, "result"), str):
            await self._out.write_file(f"data:image/png;base64,{field(raw, 'result')}", "image/png")
        output, error = tool.result_of(raw)
        if error is not None:
            await self._out.fail_tool_call(tool.call_id, error)
        else:
            await self._out.complete_tool_call(tool.call_id, _json_output(output, None))
        call.state = "done"

    async def ensure_call(self, raw: Any) -> str | None:
        """Make sure a call the run reported (``tool_called``, an interruption) has its
        part with complete input; returns its id. For models that stream no items."""
        tool = tool_item(raw)
        if tool is None:
            return None
        if tool.approval_request_id is not None and tool.approval_request_id in self._calls:
            tool = dataclasses.replace(tool, call_id=tool.approval_request_id)  # see _item_added
            if self._calls[tool.call_id].state == "approval":
                await self._tool_item_done(tool, raw)
        elif tool.call_id not in self._calls:
            await self._tool_item_done(tool, raw)
        return tool.call_id

    # --- run items ----------------------------------------------------------------------

    async def _run_item(self, name: str, item: Any) -> None:
        if name == "message_output_created":
            await self._message_item(item.raw_item)
        elif name in ("tool_called", "handoff_requested"):
            call_id = await self.ensure_call(item.raw_item)
            if name == "handoff_requested" and call_id is not None:
                self._handoffs.append(call_id)
        elif name == "tool_output":
            raw = item.raw_item
            call_id = field(raw, "call_id") or field(raw, "id")
            call_id = str(call_id)
            call = self._calls.get(call_id)
            if call is not None and item.output == timeout_output(item.agent, call.name):
                await self._finish_call(call_id, None, None, timed_out=item.output)
            elif call is not None and self._may_be_blocked(item.agent, call.name):
                self._held[call_id] = (item.output, field(raw, "output"))
            else:
                await self._finish_call(call_id, item.output, field(raw, "output"))
        elif name == "handoff_occured":
            raw = item.raw_item
            text = field(raw, "output")
            output, _ = parse_arguments(text)
            await self._finish_call(str(field(raw, "call_id")), output, text)
        elif name == "mcp_approval_response":
            raw = item.raw_item
            request_id = str(field(raw, "approval_request_id"))
            call = self._calls.get(request_id)
            if call is not None and call.state == "approval" and not field(raw, "approve"):
                await self._out.deny_tool_call(request_id)
                call.state = "done"

    async def finish_nested_call(self, call_id: str, output: Any, model_text: Any) -> None:
        """The output of a nested run's call whose approval this (outer) message asked."""
        call = self._calls.get(call_id)
        if call is not None and call.state == "approval":
            await self._finish_call(call_id, output, model_text)

    def _may_be_blocked(self, agent: Any, tool_name: str) -> bool:
        """Whether this tool's output may end the run as its final output, which an
        output guardrail then checks (``tool_use_behavior`` other than
        ``run_llm_again``)."""
        behavior = getattr(agent, "tool_use_behavior", "run_llm_again")
        if behavior == "run_llm_again":
            return False
        if not (self._output_guardrails or getattr(agent, "output_guardrails", None)):
            return False
        if isinstance(behavior, Mapping):
            names = cast("Mapping[str, Any]", behavior).get("stop_at_tool_names") or ()
            return tool_name in names
        return True  # stop_on_first_tool, or a function that may stop

    async def release_held(self) -> None:
        """Send the held tool outputs: no guardrail blocked them."""
        for call_id in list(self._held):
            output, model_text = self._held.pop(call_id)
            await self._finish_call(call_id, output, model_text)

    async def block_held(self, error: BaseException) -> None:
        """An output guardrail blocked the run's final output: its held calls end in a
        (masked) ``tool-output-error``, the output never sent."""
        for call_id in list(self._held):
            del self._held[call_id]
            call = self._calls.get(call_id)
            if call is not None and call.state in ("input-available", "approval"):
                await self._out.fail_tool_call(call_id, error)
                call.state = "done"

    async def _message_item(self, raw: Any) -> None:
        """A message the run made: sent whole unless model events carried its text."""
        text = _message_text(raw)
        if text in self._shown_messages:
            self._shown_messages.remove(text)
        elif text:
            self._whole_items += 1
            await self._whole_message(("run-item", self._whole_items), raw)

    async def _finish_call(
        self, call_id: str, output: Any, model_text: Any, *, timed_out: str | None = None
    ) -> None:
        call = self._calls.get(call_id)
        outer = None if self._channel is None else self._channel.outer
        if call is None and not self._releases and outer is not None:
            # a nested run's call the outer message shows (its approval was asked there)
            await outer.finish_nested_call(call_id, output, model_text)
            return
        if call is None:
            logger.debug("output for a call this stream does not know (%s): skipped", call_id)
            return
        if call.state not in ("input-available", "approval"):
            return  # its input failed (the SDK still tells the model), or it is done
        failure = self._channel.failures.pop(call_id, None) if self._channel else None
        if self._channel is not None:
            self._channel.results.pop(call_id, None)
        if call_id in self._denied or (failure is not None and failure.kind == "approval_rejected"):
            await self._out.deny_tool_call(call_id)
        elif timed_out is not None:
            await self._out.fail_tool_call(call_id, timed_out)
        elif failure is not None and failure.kind == "tool_exception":
            await self._out.fail_tool_call(call_id, failure.error or failure.default_message)
        elif failure is not None:
            await self._out.fail_tool_call(call_id, failure.default_message)
        else:
            await self._out.complete_tool_call(call_id, _json_output(output, model_text))
        call.state = "done"
        if self._channel is not None and self._releases:
            self._channel.output_sent(call_id)

    async def _agent_updated(self, name: str) -> None:
        # A handoff's input filter that drops tool items drops its ``handoff_occured``
        # too: the new agent is the handoff's answer (the SDK's transfer message) ...
        for call_id in self._handoffs:
            await self._finish_call(call_id, {"assistant": name}, json.dumps({"assistant": name}))
        self._handoffs.clear()
        # ... and the ``tool_output`` of the tools that ran beside it: their outputs are
        # what the tools returned (or failed with), as the run's tool copies saw them
        channel = self._channel
        if channel is not None:
            for call_id, call in list(self._calls.items()):
                if call.state != "input-available":
                    continue
                if call_id in channel.results:
                    result = channel.results.pop(call_id)
                    await self._finish_call(call_id, result, str(result))
                elif call_id in channel.failures:
                    await self._finish_call(call_id, None, None)
        if name != self._agent:
            self._agent = name
            await self._out.write_data(AGENT_PART, {"name": name})

    # --- the end of a model call -------------------------------------------------------------

    async def _completed(self, response: Any) -> None:
        output = cast("list[Any]", field(response, "output") or [])
        if output:  # an empty output: the SDK keeps the streamed items
            calls = {tool.call_id for tool in map(tool_item, output) if tool is not None}
            for index, item in list(self._items.items()):
                if item.tool is not None and item.tool.call_id in calls:
                    continue  # held, wherever (a model may number its items loosely)
                if index >= len(output) or not _same_item(item, output[index]):
                    await self._supersede(index, item)
        for index, raw in enumerate(output):
            item = self._items.get(index)
            if item is None or not item.done:
                await self._item_done(index, raw)
        usage = _usage(field(response, "usage"))
        if usage is not None:
            self._out.add_usage(usage)
            self._usage = self._usage + usage
            await self._out.write_metadata({"usage": self._usage.as_metadata()})

    async def _supersede(self, index: int, item: _Item) -> None:
        """A streamed item the final response replaced: its parts end, its call is shown
        failed (the SDK never runs it)."""
        del self._items[index]
        while item.keys:
            await self._close(item.keys.pop(0))
        call = None if item.tool is None else self._calls.get(item.tool.call_id)
        if item.tool is None or call is None:
            return
        if call.state == "input-streaming":
            await self._out.fail_tool_input(item.tool.call_id, SUPERSEDED_CALL_TEXT)
        elif call.state == "input-available":
            await self._out.fail_tool_call(item.tool.call_id, SUPERSEDED_CALL_TEXT)
        else:
            return
        call.state = "done"


_INPUT_DELTAS = frozenset(
    {
        "response.function_call_arguments.delta",
        "response.custom_tool_call_input.delta",
        "response.code_interpreter_call_code.delta",
        "response.mcp_call_arguments.delta",
    }
)


def output_schema(agent: Any) -> AgentOutputSchemaBase | None:
    """``agent``'s structured ``output_type`` as the SDK builds its schema; None for
    plain text (no output type, ``str``) or a type the SDK will refuse itself."""
    output_type = getattr(agent, "output_type", None)
    if output_type is None or output_type is str:
        return None
    if isinstance(output_type, AgentOutputSchemaBase):
        schema: AgentOutputSchemaBase = output_type
    else:
        try:
            schema = AgentOutputSchema(output_type, strict_json_schema=False)
        except Exception:  # the SDK will refuse the type itself; show the text
            return None
    return None if schema.is_plain_text() else schema


def _output_shape(agent: Any) -> tuple[str, str | None] | None:
    """``(type name, wrapper key)`` of ``agent``'s structured output; None for text."""
    schema = output_schema(agent)
    return None if schema is None else (schema.name(), output_wrapper(schema))


def _ident(raw: Any) -> tuple[str, str]:
    return str(field(raw, "type")), str(field(raw, "call_id") or field(raw, "id"))


def _same_item(item: _Item, raw: Any) -> bool:
    """Whether the final response's item ``raw`` is the streamed ``item``."""
    if item.ident is None:
        return item.kind == field(raw, "type")
    return item.ident == _ident(raw)


def _message_text(raw: Any) -> str:
    """A message item's text (refusals included), as the client assembles it."""
    pieces = (
        field(content, "text") or field(content, "refusal")
        for content in cast("list[Any]", field(raw, "content") or [])
    )
    return "".join(p for p in pieces if isinstance(p, str))


def _json_output(output: Any, model_text: Any) -> Any:
    """The tool's value as JSON; else the text the model was given; else its repr."""
    plain, reason = to_json_value(output)
    if reason is None:
        return plain
    if isinstance(model_text, str):
        return model_text
    return repr(output)


def _usage(raw: Any) -> Usage | None:
    if raw is None:
        return None
    return Usage.reported(
        input_tokens=field(raw, "input_tokens"),
        output_tokens=field(raw, "output_tokens"),
        reasoning_tokens=field(field(raw, "output_tokens_details"), "reasoning_tokens"),
        cached_input_tokens=field(field(raw, "input_tokens_details"), "cached_tokens"),
    )
