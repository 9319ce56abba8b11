"""Reading the UI messages ``useChat`` POSTs, for the history converters.

``to_agent_input`` and ``to_dspy_inputs`` take the same input: plain JSON objects
(camelCase keys, as posted) or pydantic models (dumped by alias). Both read it here, so
a malformed conversation is refused the same way whichever framework serves it: a
``TypeError`` (a wrong type) or ``ValueError`` (a wrong value) naming the offending
path, e.g. ``messages[2].parts[0].url``. No framework is imported here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, cast
from urllib.parse import urlsplit

import pydantic

__all__ = [
    "SEPARATOR",
    "Part",
    "check_file_url",
    "joined_text",
    "optional_string",
    "read_messages",
    "string",
    "type_name",
]

_ROLES: Final = ("system", "user", "assistant")
SEPARATOR: Final = "\n\n"
"""Joins text parts merged into one input: each part is its own block in the UI (its
own Markdown document), and a blank line keeps it one in Markdown."""

Part = tuple[str, Mapping[str, Any]]
"""A part and its path, e.g. ``messages[2].parts[0]``."""


def _object(value: object, where: str, what: str) -> Mapping[str, Any]:
    """``value`` as a JSON object: a pydantic model dumped by alias, as it was posted."""
    if isinstance(value, pydantic.BaseModel):
        value = value.model_dump(mode="json", by_alias=True, exclude_unset=True)
    if not isinstance(value, Mapping):
        raise TypeError(f"{where} must be {what} object; got {type_name(value)}")
    return cast("Mapping[str, Any]", value)


def read_messages(messages: object) -> list[tuple[str, str, list[Part]]]:
    """Every message checked, as ``(path, role, parts)``: nothing is converted from a
    conversation that is malformed anywhere.

    Checked here: the list, each message's ``role`` and ``parts``, each part's ``type``.
    A part's other fields are checked where they are read (``joined_text``, ``string``)."""
    if isinstance(messages, (str, bytes)) or not isinstance(messages, Sequence):
        raise TypeError(f"messages must be a list of UI messages; got {type_name(messages)}")
    read: list[tuple[str, str, list[Part]]] = []
    for index, raw in enumerate(cast("Sequence[object]", messages)):
        where = f"messages[{index}]"
        message = _object(raw, where, "a UI message")
        role = message.get("role")
        if role not in _ROLES:
            raise ValueError(f"{where}.role must be 'system', 'user' or 'assistant'; got {role!r}")
        raw_parts = message.get("parts")
        if not isinstance(raw_parts, list):
            raise TypeError(f"{where}.parts must be a list; got {type_name(raw_parts)}")
        parts: list[Part] = []
        for part_index, raw_part in enumerate(cast("list[object]", raw_parts)):
            part_where = f"{where}.parts[{part_index}]"
            part = _object(raw_part, part_where, "a part")
            string(part, "type", part_where)
            parts.append((part_where, part))
        read.append((where, cast("str", role), parts))
    return read


def type_name(value: object) -> str:
    """The type as an error message names it: JSON's ``null`` for None."""
    return "null" if value is None else type(value).__name__


def string(part: Mapping[str, Any], key: str, where: str) -> str:
    value = part.get(key)
    if not isinstance(value, str):
        raise TypeError(f"{where}.{key} must be a string; got {type_name(value)}")
    return value


def optional_string(part: Mapping[str, Any], key: str, where: str) -> str | None:
    value = part.get(key)
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{where}.{key} must be a string; got {type_name(value)}")
    return value


def joined_text(parts: list[Part]) -> str:
    """The text parts, checked, joined by ``SEPARATOR`` (empty ones left out)."""
    texts = [string(part, "text", where) for where, part in parts if part["type"] == "text"]
    return SEPARATOR.join(filter(None, texts))


def check_file_url(url: str, where: str) -> bool:
    """Whether ``url`` is a ``data:`` URL (else it is ``https:``). Any other scheme is
    refused: the provider (or DSPy's LM client) would fetch it, from wherever the
    browser pointed."""
    if url[:5].lower() == "data:":
        if "," not in url:
            raise ValueError(f"{where} is not a valid data: URL (no ',' before the data)")
        return True
    split = urlsplit(url)
    if split.scheme.lower() != "https" or not split.netloc:
        shown = url if len(url) <= 60 else f"{url[:57]}..."
        raise ValueError(f"{where} must be a data: or https: URL; got {shown!r}")
    return False
