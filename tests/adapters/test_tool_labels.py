"""The one rule for a tool part's ``title`` and ``toolMetadata`` (both adapters use it),
and the client versions that are sent them."""

from __future__ import annotations

import pytest

from uiwire.adapters._tool_labels import ToolLabel, label_options
from uiwire.protocol.targets import Target
from uiwire.stream import MessageBuilder


def test_the_title_is_the_definitions_own_else_the_descriptions_first_line() -> None:
    described = ToolLabel.of("\n  Look a term up.\n\n  In the archive.", origin="function")
    assert described.title == "Look a term up."
    assert described.metadata == {
        "origin": "function",
        "description": "Look a term up.\n\n  In the archive.",
    }
    titled = ToolLabel.of("Forecast.", origin="mcp", title="Weather", server="w", agent=None)
    assert titled.title == "Weather"
    assert titled.metadata == {"origin": "mcp", "description": "Forecast.", "server": "w"}
    bare = ToolLabel.of(None, origin="hosted", title="  ")
    assert bare.title is None
    assert bare.metadata == {"origin": "hosted"}


@pytest.mark.parametrize(("target", "sent"), [("v5", False), ("v6", True), ("v7", True)])
def test_only_clients_that_take_them_are_sent_title_and_tool_metadata(
    target: Target, sent: bool
) -> None:
    label = ToolLabel.of("Look a term up.", origin="function")
    options = label_options(MessageBuilder(target=target), label)
    expected = {"title": "Look a term up.", "tool_metadata": dict(label.metadata)}
    assert options == (expected if sent else {})
    assert label_options(MessageBuilder(target=target), None) == {}
