"""OpenParts: a follower cut short closes what its client has open, as the machine would."""

from __future__ import annotations

from uiwire.protocol import check_stream
from uiwire.protocol.encode import encode_chunks
from uiwire.protocol.machine import StreamMachine
from uiwire.resume.open_parts import OpenParts
from uiwire.resume.store import interruption_frames


def test_open_text_reasoning_and_tool_input_are_closed_before_the_error() -> None:
    machine = StreamMachine(message_id="m1")
    chunks = machine.reasoning_delta("thinking")
    chunks += machine.text_delta("partial answer")
    chunks += machine.tool_input_start("call_1", "search")
    chunks += machine.tool_input_delta("call_1", '{"q": "os')
    sent = encode_chunks(chunks)
    parts = OpenParts()
    for event in sent.split(b"\n\n"):  # fed in pieces, as a follower reads it
        parts.feed(event + b"\n\n")
    body = sent + interruption_frames(parts.closing_chunks())
    report = check_stream(body)
    assert report.violation is None
    message = report.message
    assert message is not None
    assert [(p["type"], p.get("state")) for p in message["parts"][1:]] == [
        ("reasoning", "done"),
        ("text", "done"),
        ("tool-search", "output-error"),
    ]
    assert report.chunks[-1]["type"] == "error"


def test_closed_parts_and_finished_steps_leave_nothing_to_close() -> None:
    machine = StreamMachine(message_id="m1")
    chunks = machine.text_delta("one")
    chunks += machine.finish_step()
    chunks += machine.tool_input_available("call_1", {"q": 1}, tool_name="search")
    parts = OpenParts()
    parts.feed(encode_chunks(chunks))
    assert parts.closing_chunks() == []
    parts.feed(b"data: not json\n\n: keep-alive\n\n")  # ignored
    assert parts.closing_chunks() == []
