"""Reading the UI messages ``useChat`` POSTs, for the history converters.

``to_agent_input`` and ``to_dspy_inputs`` take the same input: ``UIMessage`` models (as
``parse_chat_request`` made them), or plain JSON objects (camelCase keys, as posted)
that ``as_ui_message`` validates first (another pydantic model is dumped by alias).
After that the messages are trusted: the parser applied every rule about a UI message,
the endpoint's URL schemes included, so a converter passes what a message holds on to
its framework and never refuses a message the parser took. No framework is imported
here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, Final, cast

from pydantic import BaseModel

from uiwire.protocol.ui_message import (
    DataUIPart,
    SteeringFileUIPart,
    SteeringMessageUIPart,
    SteeringTextUIPart,
    TextUIPart,
    UIMessage,
    UIMessagePart,
    as_ui_message,
)
from uiwire.stream.structured_output import OUTPUT_PART

__all__ = [
    "SEPARATOR",
    "is_data_url",
    "joined_text",
    "output_data",
    "output_json",
    "read_messages",
    "steered_segments",
]

SEPARATOR: Final = "\n\n"
"""Joins text parts merged into one input: each part is its own block in the UI (its
own Markdown document), and a blank line keeps it one in Markdown."""


def read_messages(messages: Sequence[UIMessage | Mapping[str, Any] | BaseModel]) -> list[UIMessage]:
    """Every message as a ``UIMessage``: nothing is converted from a conversation that is
    malformed anywhere (pydantic's ``ValidationError`` names the field)."""
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"messages must be a list of UI messages; got {type(messages).__name__}")
    return [as_ui_message(message) for message in messages]


def joined_text(parts: Sequence[UIMessagePart | SteeringTextUIPart | SteeringFileUIPart]) -> str:
    """The text parts joined by ``SEPARATOR`` (empty ones left out)."""
    return SEPARATOR.join(
        p.text for p in parts if isinstance(p, (TextUIPart, SteeringTextUIPart)) and p.text
    )


def steered_segments(
    parts: Sequence[UIMessagePart],
) -> list[tuple[SteeringMessageUIPart | None, list[UIMessagePart]]]:
    """An assistant message's parts cut at its steering messages (AI SDK 7: user
    messages the answer took while it ran): the parts before the first, then each
    steering message with the parts after it."""
    segments: list[tuple[SteeringMessageUIPart | None, list[UIMessagePart]]] = [(None, [])]
    for part in parts:
        if isinstance(part, SteeringMessageUIPart):
            segments.append((part, []))
        else:
            segments[-1][1].append(part)
    return segments


def is_data_url(url: str) -> bool:
    """Whether ``url`` holds its data (``data:``, any case) rather than pointing at it."""
    return url[:5].lower() == "data:"


def output_data(part: UIMessagePart) -> Mapping[str, Any] | None:
    """The ``data`` of a structured output part (``data-output``, ``StructuredOutput``)
    that has a name and a value, else None."""
    if not isinstance(part, DataUIPart) or part.data_name != OUTPUT_PART:
        return None
    data = part.data
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or "value" not in data:
        return None
    return cast("Mapping[str, Any]", data)


def output_json(data: Mapping[str, Any]) -> str:
    """What the model wrote for a structured output: its value as compact JSON, inside
    its wrapper when it has one; the text itself when it was not JSON."""
    if isinstance(data.get("text"), str):
        return data["text"]
    value = data.get("value")
    wrapper = data.get("wrapper")
    if isinstance(wrapper, str):
        value = {wrapper: value}
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
