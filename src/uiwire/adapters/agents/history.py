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
from typing import TYPE_CHECKING, Any, Final, cast

import pydantic

from uiwire.adapters._ui_messages import (
    SEPARATOR,
    Part,
    check_file_url,
    joined_text,
    optional_string,
    read_messages,
    string,
    type_name,
)
from uiwire.adapters.agents._compat import DEFAULT_APPROVAL_REJECTION_MESSAGE

if TYPE_CHECKING:
    from agents import TResponseInputItem
    from openai.types.responses import ResponseInputContentParam

__all__ = ["to_agent_input"]

_NO_RESULT_STATES: Final = frozenset(
    {"input-streaming", "input-available", "approval-requested", "approval-responded"}
)
_RESULT_STATES: Final = frozenset({"output-available", "output-error", "output-denied"})


def to_agent_input(
    messages: Sequence[Mapping[str, Any] | pydantic.BaseModel], *, system: bool = False
) -> list[TResponseInputItem]:
    """The UI messages ``useChat`` sent, as input items for ``Runner.run_streamed``.

    ``messages`` are plain JSON objects (camelCase keys, as posted) or pydantic models
    (dumped by alias). Malformed ones raise ``TypeError`` (a wrong type) or
    ``ValueError`` (a wrong value), naming the offending path, e.g.
    ``messages[2].parts[0].url``; nothing is converted then.

    * **user**: text parts become ``input_text``; ``image/*`` files ``input_image``
      (``detail: "auto"``); other files ``input_file``: a ``data:`` URL as
      ``file_data`` (with the filename, or ``file.<ext>`` from the media type), an
      ``https:`` URL as ``file_url``. Other URL schemes are refused. The parts keep
      their order in one message; a message of just one text part is
      ``{"role": "user", "content": text}``, what the SDK makes of a string input.
    * **assistant**, per step (``step-start``): the step's text parts as one
      ``{"role": "assistant", "content": text}`` (joined by a blank line); then each
      tool part (``tool-<name>``, ``dynamic-tool``) with a final result as a
      ``function_call``, in part order (arguments: the input as compact JSON; a
      string input, or the ``rawInput`` of a call whose arguments were not JSON, as
      is); then their ``function_call_output``: the output (a string as is, else
      JSON), the ``errorText`` of a failed call, or for a denied call the denial
      ``reason``, else the SDK's own ``"Tool execution was not approved."`` (what
      the model got in the live run either way: a rejection message replaces the
      SDK's default).
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
    * **Sources**, **data parts** (``data-agent`` included: the run starts from the
      agent you pass), **assistant files** (generated images), ``step-start`` and part
      types this version does not know are dropped; so is a user message left with no
      text or file.
    * **Item ids, annotations** (citations) and the model's exact argument text are
      not kept: arguments are re-encoded from the parsed input.
    * **Order inside a step**: text the model wrote after a call in the same model
      call (rare) moves before the calls, joined with the step's other text.
    """
    items: list[TResponseInputItem] = []
    for _, role, parts in read_messages(messages):
        if role == "user":
            user = _user_item(parts)
            if user is not None:
                items.append(user)
        elif role == "assistant":
            items.extend(_assistant_items(parts))
        elif system:
            text = joined_text(parts)
            if text:
                items.append({"role": "system", "content": text})
    return items


# --- user messages -----------------------------------------------------------------------


def _user_item(parts: list[Part]) -> TResponseInputItem | None:
    content: list[ResponseInputContentParam] = []
    for where, part in parts:
        kind = part["type"]
        if kind == "text":
            text = string(part, "text", where)
            if text:
                content.append({"type": "input_text", "text": text})
        elif kind == "file":
            content.append(_file(part, where))
    if not content:
        return None
    first = content[0]
    if len(content) == 1 and first["type"] == "input_text":
        return {"role": "user", "content": first["text"]}
    return {"role": "user", "content": content}


def _file(part: Mapping[str, Any], where: str) -> ResponseInputContentParam:
    media_type = string(part, "mediaType", where)
    url = string(part, "url", where)
    filename = optional_string(part, "filename", where)
    is_data = check_file_url(url, f"{where}.url")
    if media_type.lower().startswith("image/"):
        return {"type": "input_image", "image_url": url, "detail": "auto"}
    if not is_data:
        return {"type": "input_file", "file_url": url}
    if not filename:
        extension = mimetypes.guess_extension(media_type.split(";")[0].strip().lower())
        filename = f"file{extension or ''}"
    return {"type": "input_file", "file_data": url, "filename": filename}


# --- assistant messages ------------------------------------------------------------------


def _assistant_items(parts: list[Part]) -> list[TResponseInputItem]:
    steps: list[list[Part]] = [[]]
    for where, part in parts:
        if part["type"] == "step-start":
            steps.append([])
        else:
            steps[-1].append((where, part))
    return [item for step in steps for item in _step_items(step)]


def _step_items(step: list[Part]) -> list[TResponseInputItem]:
    """One model call: its text, its calls, then what the calls returned.

    The step's text goes first, as one message, even text the model wrote after a
    call: the SDK's Chat Completions converter would put a later assistant message
    between the calls and their outputs, which that API rejects.
    """
    texts: list[str] = []
    calls: list[TResponseInputItem] = []
    outputs: list[TResponseInputItem] = []
    for where, part in step:
        kind = cast("str", part["type"])
        if kind == "text":
            text = string(part, "text", where)
            if text:
                texts.append(text)
        elif kind.startswith("tool-") or kind == "dynamic-tool":
            call = _tool_call(part, where)
            if call is not None:
                calls.append(call[0])
                outputs.append(call[1])
    items: list[TResponseInputItem] = []
    if texts:
        items.append({"role": "assistant", "content": SEPARATOR.join(texts)})
    return items + calls + outputs


def _tool_call(
    part: Mapping[str, Any], where: str
) -> tuple[TResponseInputItem, TResponseInputItem] | None:
    """The call and its output, or None when the part holds no final result."""
    kind = cast("str", part["type"])
    name = string(part, "toolName", where) if kind == "dynamic-tool" else kind.removeprefix("tool-")
    if not name:
        raise ValueError(f"{where}.type names no tool; got {kind!r}")
    call_id = string(part, "toolCallId", where)
    if not call_id:
        raise ValueError(f"{where}.toolCallId must not be empty")
    state = part.get("state")
    if state not in _RESULT_STATES and state not in _NO_RESULT_STATES:
        raise ValueError(f"{where}.state is not a tool state; got {state!r}")
    if part.get("providerExecuted") is True or state in _NO_RESULT_STATES:
        return None
    if state == "output-available":
        if part.get("preliminary") is True:
            return None
        output = part.get("output")
        text = output if isinstance(output, str) else _json(output, f"{where}.output")
    elif state == "output-error":
        text = string(part, "errorText", where)
    else:
        approval = part.get("approval")
        if approval is not None and not isinstance(approval, Mapping):
            raise TypeError(f"{where}.approval must be an object; got {type_name(approval)}")
        reason = (
            None
            if approval is None
            else optional_string(cast("Mapping[str, Any]", approval), "reason", f"{where}.approval")
        )
        text = reason or DEFAULT_APPROVAL_REJECTION_MESSAGE
    call: TResponseInputItem = {
        "type": "function_call",
        "call_id": call_id,
        "name": name,
        "arguments": _arguments(part, where),
    }
    output_item: TResponseInputItem = {
        "type": "function_call_output",
        "call_id": call_id,
        "output": text,
    }
    return call, output_item


def _arguments(part: Mapping[str, Any], where: str) -> str:
    """The call's arguments as text: the input as compact JSON (as OpenAI models write
    it); a string as is (free-form input, or arguments that were not JSON, which the
    client keeps in ``input`` or ``rawInput``); ``{}`` when the part has neither."""
    for key in ("input", "rawInput"):
        value = part.get(key)
        if isinstance(value, str):
            return value
        if value is not None:
            return _json(value, f"{where}.{key}")
    return "{}"


def _json(value: object, where: str) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where} is not JSON: {exc}") from None
