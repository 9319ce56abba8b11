"""``MessageWriter``: one vocabulary, two implementations, no drift.

The same scripted writes go through a live ``StreamContext`` and an in-memory
``MessageBuilder`` and must assemble the same message; the protocol, ``SyncWriter``,
``StreamContext`` and ``MessageBuilder`` must name the same writes with the same
parameters, at run time and as pyright sees them.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from typing_extensions import get_protocol_members

from tests.support.context_scenarios import consume
from tests.support.stream_rules import assert_valid_message
from uiwire.protocol import ProtocolError
from uiwire.stream import (
    DEFAULT_ERROR_TEXT,
    MessageBuilder,
    MessageWriter,
    StreamContext,
    StreamRecord,
    SyncWriter,
    Usage,
)

BESIDE_THE_WRITES = frozenset({"sync", "add_usage", "target"})
"""Protocol members that are not writes: ``SyncWriter`` has no twin of these."""

Script = Callable[[MessageWriter], Awaitable[None]]


def sync_writes() -> set[str]:
    return {name for name, _ in inspect.getmembers(SyncWriter) if not name.startswith("_")}


def protocol_writes() -> set[str]:
    return set(get_protocol_members(MessageWriter)) - BESIDE_THE_WRITES


# --- the scripts -------------------------------------------------------------------------


async def every_write(out: MessageWriter) -> None:
    """Each write of the vocabulary at least once, ending with ``finish``."""
    await out.start(metadata={"model": "m1"})
    await out.write_reasoning("Thinking")
    await out.end_reasoning()
    await out.write_text("Hello")
    await out.write_text(" left", key="left")
    await out.write_text(" right", key="right")
    await out.end_text(key="left")
    await out.write_reasoning("more", key="r")
    await out.end_reasoning(key="r")
    await out.end_text(key="right")
    await out.end_text()
    found = await out.begin_tool_call("search", {"q": "rome"}, tool_call_id="call_1")
    await out.write_tool_progress(found, {"progress": 0.5})
    await out.complete_tool_call(found, ["sunny"])
    streamed = await out.begin_tool_call("calc", tool_call_id="call_2", dynamic=True, title="Calc")
    await out.write_tool_input(streamed, '{"a": ')
    await out.write_tool_input(streamed, "1}")
    await out.end_tool_input(streamed, {"a": 1})
    await out.fail_tool_call(streamed, ZeroDivisionError("private detail"))
    broken = await out.begin_tool_call("calc", tool_call_id="call_3")
    await out.fail_tool_input(broken, "The arguments are not JSON.", input="{")
    asked = await out.begin_tool_call("delete", {"id": 7}, tool_call_id="call_4")
    approval = await out.request_tool_approval(asked, approval_id="approval_1")
    assert approval == "approval_1"
    refused = await out.begin_tool_call("delete", {"id": 8}, tool_call_id="call_5")
    await out.request_tool_approval(refused, approval_id="approval_2")
    await out.deny_tool_call(refused)
    failed = await out.begin_tool_call("fetch", {"url": "x"}, tool_call_id="call_6")
    await out.fail_tool_call(failed, "The site is down.")
    await out.new_step()
    source = await out.write_source("https://example.com", title="Example", source_id="s1")
    assert source == "s1"
    await out.write_source_document("Report", "application/pdf", filename="r.pdf", source_id="s2")
    await out.write_file(b"\x89PNG", "image/png")
    await out.write_file("https://example.com/a.png", "image/png")
    await out.write_data("status", {"step": 1}, id="status")
    await out.write_data("status", {"step": 2}, id="status")
    await out.write_data("toast", {"text": "hi"}, transient=True)
    await out.write_metadata({"lang": "en"})
    await out.write({"type": "data-raw", "data": [1, 2]})
    out.add_usage(Usage(input_tokens=3, output_tokens=5))
    await out.finish("stop", metadata={"done": True})


async def ends_with_a_masked_error(out: MessageWriter) -> None:
    await out.write_text("Working")
    await out.error(ValueError("private detail"))


async def ends_with_an_error_text(out: MessageWriter) -> None:
    await out.write_reasoning("Working")
    await out.error("You are out of quota.")


async def ends_aborted(out: MessageWriter) -> None:
    call = await out.begin_tool_call("slow", tool_call_id="call_1")
    await out.write_tool_input(call, '{"n"')
    await out.abort("user stop")


def thread_work(writer: SyncWriter) -> None:
    writer.write_text("From a thread")
    call = writer.begin_tool_call("lookup", {"k": 1}, tool_call_id="call_1")
    writer.complete_tool_call(call, {"v": 2})
    writer.write_data("status", {"ok": True}, id="status")


async def writes_from_a_thread(out: MessageWriter) -> None:
    """The plain writes of ``out.sync``, made in a worker thread."""
    await asyncio.to_thread(thread_work, out.sync)
    await out.finish()


SCRIPTS: dict[str, Script] = {
    "every-write": every_write,
    "masked-error": ends_with_a_masked_error,
    "error-text": ends_with_an_error_text,
    "abort": ends_aborted,
    "sync-from-a-thread": writes_from_a_thread,
}


async def run_on_a_stream(script: Script) -> tuple[StreamRecord, dict[str, Any]]:
    """The record of a ``StreamContext`` the script wrote, and the message the client
    assembles from its body."""
    ctx = StreamContext(message_id="msg_1", collect=True)
    ctx.run(script(ctx))
    body = await consume(ctx)
    await ctx.wait_closed()
    assert ctx.record is not None
    return ctx.record, assert_valid_message(body)


async def run_in_memory(script: Script) -> StreamRecord:
    builder = MessageBuilder(message_id="msg_1")
    await script(builder)
    assert builder.is_finished
    assert builder.record is not None
    assert builder.record.message == builder.message
    return builder.record


@pytest.mark.parametrize("name", list(SCRIPTS))
async def test_a_stream_and_a_builder_assemble_the_same_message(name: str) -> None:
    script = SCRIPTS[name]
    streamed, client_message = await run_on_a_stream(script)
    built = await run_in_memory(script)
    assert built.message == streamed.message == client_message
    assert built.message["parts"]  # the script wrote something
    for field in ("finish_reason", "steps", "usage", "error_text", "tool_calls", "sources"):
        assert getattr(built, field) == getattr(streamed, field), field
    assert type(built.exception) is type(streamed.exception)


async def test_every_write_reaches_the_message() -> None:
    built = await run_in_memory(every_write)
    parts = built.message["parts"]
    types = [p["type"] for p in parts]
    for kind in (
        "reasoning",
        "text",
        "tool-search",
        "dynamic-tool",
        "tool-delete",
        "source-url",
        "source-document",
        "file",
        "data-status",
        "data-raw",
    ):
        assert kind in types, kind
    assert "data-toast" not in types  # transient: for onData only
    states = {call.tool_call_id: call.state for call in built.tool_calls}
    assert states == {
        "call_1": "output-available",
        "call_2": "output-error",
        "call_3": "output-error",
        "call_4": "approval-requested",
        "call_5": "output-denied",
        "call_6": "output-error",
    }
    errors = {call.tool_call_id: call.error_text for call in built.tool_calls}
    assert errors["call_2"] == DEFAULT_ERROR_TEXT  # the exception was masked
    assert errors["call_6"] == "The site is down."  # a string is shown as given
    assert built.message["metadata"] == {"model": "m1", "lang": "en", "done": True}
    assert built.usage == Usage(input_tokens=3, output_tokens=5)
    assert built.finish_reason == "stop"
    assert built.steps == 2


async def test_a_write_that_breaks_the_rules_raises_in_both() -> None:
    async def completes_an_unknown_call(out: MessageWriter) -> None:
        await out.complete_tool_call("call_nope", 1)

    with pytest.raises(ProtocolError):
        await completes_an_unknown_call(MessageBuilder())
    ctx = StreamContext()
    with pytest.raises(ProtocolError):
        await completes_an_unknown_call(ctx)
    ctx.disconnect()


# --- no drift --------------------------------------------------------------------------------


def test_the_protocol_names_every_write_of_sync_writer_and_nothing_else() -> None:
    assert protocol_writes() == sync_writes()
    assert set(get_protocol_members(MessageWriter)) == sync_writes() | BESIDE_THE_WRITES


@pytest.mark.parametrize("implementation", [StreamContext, MessageBuilder])
def test_each_implementation_has_every_member_with_its_parameters(implementation: type) -> None:
    for name in sync_writes():
        expected = inspect.signature(getattr(SyncWriter, name))
        method = getattr(implementation, name)
        assert inspect.iscoroutinefunction(method), f"{implementation.__name__}.{name}"
        assert inspect.signature(method) == expected, f"{implementation.__name__}.{name}"
        declared = inspect.signature(getattr(MessageWriter, name))
        assert declared == expected, f"MessageWriter.{name}"
    assert isinstance(inspect.getattr_static(implementation, "sync"), property)
    assert callable(implementation.add_usage)


PYRIGHT = str(Path(sys.executable).parent / "pyright")
if not Path(PYRIGHT).exists():
    PYRIGHT = shutil.which("pyright") or PYRIGHT

USAGE = """
from typing import Any
from uiwire.stream import MessageBuilder, MessageWriter, StreamContext

def both(ctx: StreamContext[Any], builder: MessageBuilder) -> list[MessageWriter]:
    return [ctx, builder]

async def calls(out: MessageWriter, ctx: StreamContext[Any], builder: MessageBuilder) -> None:
"""


def run_pyright(module: str, tmp_path: Path) -> list[dict[str, Any]]:
    (tmp_path / "usage.py").write_text(module)
    (tmp_path / "pyrightconfig.json").write_text(
        json.dumps({"typeCheckingMode": "strict", "pythonVersion": "3.10"})
    )
    done = subprocess.run(
        [PYRIGHT, "--outputjson", "--pythonpath", sys.executable, "usage.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    report = json.loads(done.stdout)
    return report["generalDiagnostics"]


def test_pyright_sees_every_signature(tmp_path: Path) -> None:
    """Each write, on the protocol and on both implementations, has the parameters of
    its ``SyncWriter`` method as pyright sees them, and an unknown keyword is an error."""
    if not Path(PYRIGHT).exists():
        pytest.skip("pyright is not installed")
    names = sorted(sync_writes())
    lines: list[tuple[str, str]] = []  # (what the line checks, the line)
    for owner in ("out", "ctx", "builder"):
        for name in names:
            lines.append((f"reveal {owner} {name}", f"reveal_type({owner}.{name})"))
            lines.append((f"reveal {owner}.sync {name}", f"reveal_type({owner}.sync.{name})"))
            lines.append((f"wrong {owner} {name}", f"await {owner}.{name}(no_such_parameter=1)"))
    body = "\n".join("    " + line for _, line in lines)
    diagnostics = run_pyright(textwrap.dedent(USAGE) + body + "\n", tmp_path)
    first = textwrap.dedent(USAGE).count("\n")
    by_line: dict[str, list[dict[str, Any]]] = {}
    for diagnostic in diagnostics:
        row = diagnostic["range"]["start"]["line"] - first
        what = lines[row][0] if 0 <= row < len(lines) else f"line {row + first}"
        by_line.setdefault(what, []).append(diagnostic)
    unexpected = [d for what, found in by_line.items() if what.startswith("line") for d in found]
    assert unexpected == []  # both implementations are MessageWriters
    revealed = {
        what: found[0]["message"] for what, found in by_line.items() if what.startswith("reveal")
    }
    for owner in ("out", "ctx", "builder"):
        for name in names:
            wrong = by_line.get(f"wrong {owner} {name}", [])
            assert any(d["severity"] == "error" for d in wrong), f"{owner}.{name} takes anything"
            awaitable = revealed[f"reveal {owner} {name}"]
            plain = revealed[f"reveal {owner}.sync {name}"]
            # 'Type of "x" is "(text: str, *, key: Hashable = None) -> ..."': the parameters
            parameters = awaitable.split(" is ", 1)[1].rsplit(" -> ", 1)[0]
            assert parameters == plain.split(" is ", 1)[1].rsplit(" -> ", 1)[0], (
                f"{owner}.{name}: {awaitable} vs {plain}"
            )
            assert "..." not in parameters, awaitable
