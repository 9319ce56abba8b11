"""What a model output item means as a tool part: pure functions of the item.

Items reach us as ``openai.types.responses`` models, or as plain dicts (the SDK builds
some itself); ``field`` reads either.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any, Final, cast

__all__ = [
    "HOSTED_TOOLS",
    "LOCAL_RUNTIME_TOOLS",
    "ToolItem",
    "field",
    "parse_arguments",
    "tool_item",
]

HOSTED_TOOLS: Final = {
    "web_search_call": "web_search",
    "file_search_call": "file_search",
    "code_interpreter_call": "code_interpreter",
    "image_generation_call": "image_generation",
    "mcp_call": "mcp",
}
"""Item types the provider runs itself (``providerExecuted``); the result is in the item."""

LOCAL_RUNTIME_TOOLS: Final = {
    "shell_call": "shell",
    "local_shell_call": "local_shell",
    "computer_call": "computer",
    "apply_patch_call": "apply_patch",
}
"""Item types the SDK runs on this machine; their output arrives as a run item."""


def field(item: Any, name: str) -> Any:
    if isinstance(item, Mapping):
        return cast("Mapping[str, Any]", item).get(name)
    return getattr(item, name, None)


def _plain(value: Any) -> Any:
    """A pydantic model (or a list of them) as plain data; anything else as is."""
    if isinstance(value, list):
        return [_plain(v) for v in cast("list[Any]", value)]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_none=True)
    return value


def parse_arguments(text: Any) -> tuple[Any, bool]:
    """Arguments as the model wrote them: ``(parsed JSON, True)`` or ``(text, False)``.
    An empty string is an empty object, as the SDK reads it."""
    if not isinstance(text, str):
        return _plain(text), True
    if not text.strip():
        return {}, True
    try:
        return json.loads(text), True
    except ValueError:
        return text, False


@dataclasses.dataclass(frozen=True, slots=True)
class ToolItem:
    """An output item that becomes a tool part."""

    call_id: str
    name: str
    provider_executed: bool = False
    dynamic: bool = False
    approval_request_id: str | None = None
    """A hosted MCP call that ran after the user approved this request id."""

    def input_of(self, item: Any) -> tuple[Any, bool]:
        """The call's complete input from the finished item, and whether it is valid."""
        kind = field(item, "type")
        if kind in ("function_call", "mcp_call", "mcp_approval_request"):
            return parse_arguments(field(item, "arguments"))
        if kind == "custom_tool_call":
            return field(item, "input") or "", True
        if kind == "web_search_call":
            return _plain(field(item, "action")) or {}, True
        if kind == "file_search_call":
            return {"queries": _plain(field(item, "queries")) or []}, True
        if kind == "code_interpreter_call":
            return _without_none(
                {"code": field(item, "code"), "containerId": field(item, "container_id")}
            ), True
        if kind == "apply_patch_call":
            return _plain(field(item, "operation")) or {}, True
        if kind in ("shell_call", "local_shell_call", "computer_call"):
            return _plain(field(item, "action")) or {}, True
        return {}, True

    def result_of(self, item: Any) -> tuple[Any, str | None]:
        """A hosted call's result, from its finished item: ``(output, error text)``."""
        kind = field(item, "type")
        status = field(item, "status")
        if kind == "mcp_call":
            error = field(item, "error")
            if error:
                return None, _mcp_error_text(error)
            return field(item, "output"), None
        if kind == "file_search_call":
            return {"status": status, "results": _plain(field(item, "results")) or []}, None
        if kind == "code_interpreter_call":
            return {"status": status, "outputs": _plain(field(item, "outputs")) or []}, None
        if kind == "web_search_call":
            action = _plain(field(item, "action"))
            sources = (
                cast("dict[str, Any]", action).get("sources") if isinstance(action, dict) else None
            )
            result: dict[str, Any] = {"status": status}
            if sources:
                result["sources"] = sources
            return result, None
        return _without_none({"status": status}), None


def _mcp_error_text(error: Any) -> str:
    """A hosted MCP call's error as text: a string as is; a protocol or HTTP error by
    its message; a tool execution error by the text of its content."""
    if isinstance(error, str):
        return error
    message = field(error, "message")
    if isinstance(message, str) and message:
        return message
    content = _plain(field(error, "content"))
    if isinstance(content, str) and content:
        return content
    if isinstance(content, list):
        texts = [field(c, "text") for c in cast("list[Any]", content)]
        text = "\n".join(t for t in texts if isinstance(t, str))
        if text:
            return text
    return "The MCP tool call failed."


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def tool_item(item: Any) -> ToolItem | None:
    """The tool part an output item makes, or None (messages, reasoning, listings)."""
    kind = field(item, "type")
    if kind in ("function_call", "custom_tool_call"):
        return ToolItem(str(field(item, "call_id")), str(field(item, "name")))
    if kind in LOCAL_RUNTIME_TOOLS:
        call_id = field(item, "call_id") or field(item, "id")
        return ToolItem(str(call_id), LOCAL_RUNTIME_TOOLS[kind])
    if kind == "mcp_call":
        return ToolItem(
            str(field(item, "id")),
            str(field(item, "name")),
            provider_executed=True,
            dynamic=True,
            approval_request_id=field(item, "approval_request_id"),
        )
    if kind == "mcp_approval_request":
        return ToolItem(
            str(field(item, "id")), str(field(item, "name")), provider_executed=True, dynamic=True
        )
    if kind in HOSTED_TOOLS:
        return ToolItem(str(field(item, "id")), HOSTED_TOOLS[kind], provider_executed=True)
    return None
