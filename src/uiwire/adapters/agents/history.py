"""The conversation ``useChat`` sends, as Agents SDK input items.

``useChat`` POSTs the whole conversation on every turn as UI messages. The model needs
it as Responses API input items, which ``Runner.run_streamed(agent, items)`` takes.
``to_agent_input`` converts one into the other, following the AI SDK's own
``convertToModelMessages`` wherever the Agents SDK lets it:

* An assistant message is cut into steps at its ``step-start`` parts (one per model
  call). Each step gives what the model wrote (its text, then its function calls),
  then the outputs of those calls: the order the run itself sent them in, and the
  only one the SDK's Chat Completions converter turns into a valid request too.
* Only tool calls with a final result are kept: the Responses API rejects a
  ``function_call`` without its ``function_call_output``.
* Nothing is fetched: file URLs go to the provider as they are.

Theory of the loss points: the UI message is what the *user* saw, not what the *model*
saw. Reasoning (encrypted or summarized), hosted tool calls and their results, item ids
and annotations are not in it, or not in a form the provider takes back; they are left
out, and listed in ``to_agent_input``'s docstring.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import pydantic

from uiwire.adapters._ui_messages import (
    SEPARATOR,
    is_data_url,
    joined_text,
    output_data,
    output_json,
    read_messages,
)
from uiwire.adapters.agents._compat import DEFAULT_APPROVAL_REJECTION_MESSAGE
from uiwire.protocol.ui_message import (
    DynamicToolUIPart,
    FileUIPart,
    SteeringFileUIPart,
    SteeringMessageUIPart,
    SteeringTextUIPart,
    StepStartUIPart,
    TextUIPart,
    ToolUIPart,
    UIMessage,
    UIMessagePart,
)

if TYPE_CHECKING:
    from agents import TResponseInputItem
    from openai.types.responses import ResponseInputContentParam

__all__ = ["steering_item", "to_agent_input"]

_NO_RESULT_STATES: Final = frozenset(
    {"input-streaming", "input-available", "approval-requested", "approval-responded"}
)


def to_agent_input(
    messages: Sequence[UIMessage | Mapping[str, Any] | pydantic.BaseModel],
    *,
    system: bool = False,
) -> list[TResponseInputItem]:
    """The UI messages ``useChat`` sent, as input items for ``Runner.run_streamed``.

    ``messages`` are ``UIMessage`` models (``ChatTurn.messages``), or plain JSON objects
    (camelCase keys, as posted; another pydantic model is dumped by alias) validated as
    ``UIMessage`` first: a malformed one raises pydantic's ``ValidationError`` naming
    the field, and nothing is converted. A valid message is never refused.

    * **user**: text parts become ``input_text``; ``image/*`` files ``input_image``
      (``detail: "auto"``); other files ``input_file``: a ``data:`` URL as
      ``file_data`` (with the filename, or ``file.<ext>`` from the media type), any
      other URL as ``file_url``. The URL schemes are the endpoint's choice
      (``RequestLimits(url_schemes=...)``, checked when the request was parsed): the
      provider fetches what it is given. The parts keep their order in one message; a message of just one text part is
      ``{"role": "user", "content": text}``, what the SDK makes of a string input.
    * **assistant**, per step (``step-start``): the step's text parts as one
      ``{"role": "assistant", "content": text}`` (joined by a blank line; a structured
      output, ``data-output``, is its JSON as the model wrote it, in its wrapper
      when the SDK wrapped the output type); then each
      tool part (``tool-<name>``, ``dynamic-tool``) with a final result as a
      ``function_call``, in part order (arguments: the input as compact JSON; a
      string input, or the ``rawInput`` of a call whose arguments were not JSON, as
      is); then their ``function_call_output``: the output (a string as is, else
      JSON), the ``errorText`` of a failed call, or for a denied call the denial
      ``reason``, else the SDK's own ``"Tool execution was not approved."`` (what
      the model got in the live run either way: a rejection message replaces the
      SDK's default).
    * **steering** (``steering-message``, AI SDK 7: a user message sent while the
      answer ran): ends its step and becomes a user message there, converted as a
      user message is, as the model got it then.
    * **system**: skipped, unless ``system=True``, then ``{"role": "system", "content":
      text}``. The browser writes these messages; by default it must not be able to
      give the agent instructions.

    Loss points (what the model saw that the next run will not):

    * **Reasoning** parts are dropped: a reasoning item cannot be sent back without
      its id and encrypted content, which the UI message does not carry.
    * **Provider-executed tools** (``providerExecuted``: web search, file search, code
      interpreter, image generation, hosted MCP) are dropped, call and result: the
      provider only takes its own items back, by id. The text the model wrote about
      them stays.
    * Tool calls **without a final result** are dropped: ``input-streaming``,
      ``input-available``, ``approval-requested``, ``approval-responded`` and
      ``preliminary`` outputs. Continue a paused run with ``AgentsAdapter.resume``,
      not from history.
    * **Tool outputs** are what the message holds: JSON where the SDK gave the model
      ``str()`` of the value (so ``["a"]`` where it saw ``['a']``); for a failed call
      the ``errorText``, which uiwire masks by default ("An error occurred."), not the
      SDK's text.
    * **Local runtime tools** (``tool-shell``, ``tool-computer``, ``tool-apply_patch``,
      ``tool-local_shell``) and free-form custom tools come back as plain function
      calls: their own item types need ids and fields the message does not keep.
    * **Sources**, **data parts** other than structured outputs (``data-agent`` included: the run starts from the
      agent you pass), **assistant files** (generated images), ``step-start`` and part
      types this version does not know are dropped; so is a user message left with no
      text or file.
    * **Item ids, annotations** (citations) and the model's exact argument text are
      not kept: arguments are re-encoded from the parsed input.
    * **Order inside a step**: text the model wrote after a call in the same model
      call (rare) moves before the calls, joined with the step's other text.
    """
    items: list[TResponseInputItem] = []
    for message in read_messages(messages):
        if message.role == "user":
            user = _user_item(message.parts)
            if user is not None:
                items.append(user)
        elif message.role == "assistant":
            items.extend(_assistant_items(message.parts))
        elif system:
            text = joined_text(message.parts)
            if text:
                items.append({"role": "system", "content": text})
    return items


# --- user messages -----------------------------------------------------------------------


def _user_item(
    parts: Sequence[UIMessagePart | SteeringTextUIPart | SteeringFileUIPart],
) -> TResponseInputItem | None:
    content: list[ResponseInputContentParam] = []
    for part in parts:
        if isinstance(part, (TextUIPart, SteeringTextUIPart)):
            if part.text:
                content.append({"type": "input_text", "text": part.text})
        elif isinstance(part, (FileUIPart, SteeringFileUIPart)):
            content.append(_file(part))
    if not content:
        return None
    first = content[0]
    if len(content) == 1 and first["type"] == "input_text":
        return {"role": "user", "content": first["text"]}
    return {"role": "user", "content": content}


def _file(part: FileUIPart | SteeringFileUIPart) -> ResponseInputContentParam:
    url = part.url
    if part.media_type.lower().startswith("image/"):
        return {"type": "input_image", "image_url": url, "detail": "auto"}
    if not is_data_url(url):
        return {"type": "input_file", "file_url": url}
    filename = part.filename
    if not filename:
        extension = mimetypes.guess_extension(part.media_type.split(";")[0].strip().lower())
        filename = f"file{extension or ''}"
    return {"type": "input_file", "file_data": url, "filename": filename}


# --- assistant messages ------------------------------------------------------------------


def _assistant_items(parts: Sequence[UIMessagePart]) -> list[TResponseInputItem]:
    """Step by step; a steering message ends the step it is in and is the user message
    the next model call got, at that point (as ``convertToModelMessages`` reads it)."""
    items: list[TResponseInputItem] = []
    step: list[UIMessagePart] = []
    for part in parts:
        if isinstance(part, (StepStartUIPart, SteeringMessageUIPart)):
            items += _step_items(step)
            step = []
            if isinstance(part, SteeringMessageUIPart):
                steered = steering_item(part)
                if steered is not None:
                    items.append(steered)
        else:
            step.append(part)
    return items + _step_items(step)


def steering_item(message: SteeringMessageUIPart) -> TResponseInputItem | None:
    """A steering message as the user message item a model call gets (None if it holds
    no text or file), converted as a user message's parts are."""
    return _user_item(message.parts)


def _step_items(step: list[UIMessagePart]) -> list[TResponseInputItem]:
    """One model call: its text, its calls, then what the calls returned.

    The step's text goes first, as one message, even text the model wrote after a
    call: the SDK's Chat Completions converter would put a later assistant message
    between the calls and their outputs, which that API rejects.
    """
    texts: list[str] = []
    calls: list[TResponseInputItem] = []
    outputs: list[TResponseInputItem] = []
    for part in step:
        output = output_data(part)
        if isinstance(part, TextUIPart):
            if part.text:
                texts.append(part.text)
        elif output is not None:  # a structured output: the JSON the model wrote
            texts.append(output_json(output))
        elif isinstance(part, (ToolUIPart, DynamicToolUIPart)):
            call = _tool_call(part)
            if call is not None:
                calls.append(call[0])
                outputs.append(call[1])
    items: list[TResponseInputItem] = []
    if texts:
        items.append({"role": "assistant", "content": SEPARATOR.join(texts)})
    return items + calls + outputs


def _tool_call(
    part: ToolUIPart | DynamicToolUIPart,
) -> tuple[TResponseInputItem, TResponseInputItem] | None:
    """The call and its output, or None when the part holds no final result."""
    state = part.state
    if part.provider_executed is True or state in _NO_RESULT_STATES:
        return None
    if state == "output-available":
        if part.preliminary is True:
            return None
        output = part.output
        text = output if isinstance(output, str) else _json(output)
    elif state == "output-error":
        text = part.error_text or ""  # required in this state
    else:  # output-denied
        reason = None if part.approval is None else part.approval.reason
        text = reason or DEFAULT_APPROVAL_REJECTION_MESSAGE
    call: TResponseInputItem = {
        "type": "function_call",
        "call_id": part.tool_call_id,
        "name": part.tool_name,
        "arguments": _arguments(part),
    }
    output_item: TResponseInputItem = {
        "type": "function_call_output",
        "call_id": part.tool_call_id,
        "output": text,
    }
    return call, output_item


def _arguments(part: ToolUIPart | DynamicToolUIPart) -> str:
    """The call's arguments as text: the input as compact JSON (as OpenAI models write
    it); a string as is (free-form input, or arguments that were not JSON, which the
    client keeps in ``input`` or ``rawInput``); ``{}`` when the part has neither."""
    for value in (part.input, part.raw_input):
        if isinstance(value, str):
            return value
        if value is not None:
            return _json(value)
    return "{}"


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
