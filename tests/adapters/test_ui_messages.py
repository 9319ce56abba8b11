"""Tests for ``uiwire.adapters._ui_messages``: the reading both history converters share.

The converters' own tests (``tests/adapters/*/test_history.py``) cover what each makes
of the messages; these pin what the shared reader promises on its own.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pydantic
import pytest

from uiwire.adapters import _ui_messages as ui
from uiwire.adapters._ui_messages import Part


def test_imports_without_any_framework() -> None:
    """Both adapters use it, so it must not pull in either framework."""
    code = (
        "import sys\n"
        "for name in ('agents', 'openai', 'dspy', 'litellm'):\n"
        "    sys.modules[name] = None  # importing it now raises ImportError\n"
        "import uiwire.adapters._ui_messages\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


class _Part(pydantic.BaseModel):
    type: str
    tool_call_id: str | None = pydantic.Field(default=None, alias="toolCallId")


class _Message(pydantic.BaseModel):
    role: str
    parts: list[_Part]


def test_reads_paths_roles_and_parts_of_json_and_pydantic_messages() -> None:
    wire: list[Any] = [
        {"role": "system", "parts": []},
        {"role": "assistant", "parts": [{"type": "tool-x", "toolCallId": "c1"}]},
    ]
    read = ui.read_messages(wire)
    assert read == [
        ("messages[0]", "system", []),
        ("messages[1]", "assistant", [("messages[1].parts[0]", wire[1]["parts"][0])]),
    ]
    models = [_Message.model_validate(message) for message in wire]
    assert ui.read_messages(models) == read  # dumped by alias, unset fields left out


def test_text_is_checked_where_it_is_read() -> None:
    """The reader checks a part's ``type`` only: a skipped part is not refused."""
    ((_, _, parts),) = ui.read_messages([{"role": "user", "parts": [{"type": "text"}]}])
    with pytest.raises(TypeError, match=r"^messages\[0\]\.parts\[0\]\.text must be a string"):
        ui.joined_text(parts)
    parts: list[Part] = [("p0", {"type": "text", "text": "a"}), ("p1", {"type": "file"})]
    parts += [("p2", {"type": "text", "text": ""}), ("p3", {"type": "text", "text": "b"})]
    assert ui.joined_text(parts) == "a\n\nb"


def test_strings() -> None:
    part = {"a": "x", "n": None, "i": 1}
    assert ui.string(part, "a", "p") == "x"
    assert ui.optional_string(part, "n", "p") is None
    with pytest.raises(TypeError, match=r"^p\.n must be a string; got null$"):
        ui.string(part, "n", "p")
    with pytest.raises(TypeError, match=r"^p\.i must be a string; got int$"):
        ui.optional_string(part, "i", "p")


@pytest.mark.parametrize(
    ("url", "is_data"),
    [("data:image/png;base64,AAAA", True), ("DATA:text/plain,", True), ("https://x/a", False)],
)
def test_file_urls_data_and_https(url: str, is_data: bool) -> None:
    assert ui.check_file_url(url, "u") is is_data


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("data:image/png;base64", r"^u is not a valid data: URL"),
        ("http://x/a.png", r"^u must be a data: or https: URL; got 'http://x/a.png'$"),
        ("https:///a.png", r"^u must be a data: or https: URL"),
        ("file:///etc/passwd", r"^u must be a data: or https: URL"),
        ("ftp://x/" + "a" * 80, r"got 'ftp://x/a{49}\.\.\.'$"),
    ],
)
def test_other_file_urls_are_refused(url: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        ui.check_file_url(url, "u")
