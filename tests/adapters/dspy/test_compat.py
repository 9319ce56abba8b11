"""Every entry of ``uiwire/adapters/dspy/_compat.py`` still holds for the installed
dspy and anyio: run this first after upgrading either.

``test_the_framework_still_has`` resolves each private name an entry relies on without
importing ``_compat`` (whose own import would fail at collection, naming less), so a
vanished name fails here with the entry that needs it. The other tests check that each
entry still does what the adapter relies on.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
from importlib import metadata
from typing import Any

import anyio
import dspy
import pytest

RELIED_ON: list[tuple[str, str, str]] = [
    # (module, attribute path in it, the _compat name that relies on it)
    ("dspy.dsp.utils.settings", "settings", "send_stream"),
    ("dspy.dsp.utils.settings", "thread_local_overrides", "stop_sending_here"),
    ("dspy.dsp.utils.settings", "thread_local_overrides", "restore_sending"),
    ("dspy.streaming.messages", "StatusStreamingCallback", "StatusStreamingCallback"),
    ("anyio.streams.memory", "MemoryObjectSendStream._state", "append_past_the_limit"),
    ("anyio.streams.memory", "_MemoryObjectStreamState.buffer", "append_past_the_limit"),
    ("dspy.streaming", "StreamListener.receive", "ChunkListener"),
    ("dspy.streaming", "StreamListener.finalize", "ChunkListener"),
    ("dspy.predict.react", "ReAct", "agent_parts"),
    ("dspy.predict.react", "ReAct", "AgentParts"),
    ("dspy.predict.react", "ReAct", "REACT_TOOL_NAME_FIELD"),
    ("dspy.predict.react", "ReAct", "REACT_TOOL_ARGS_FIELD"),
    ("dspy.predict.react_v2", "ReActV2", "agent_parts"),
    ("dspy.streaming.streamify", "streamify", "stop_streamify_here"),
    ("dspy.experimental", "Citations", "Citations"),
]


def _versions() -> str:
    return f"dspy {metadata.version('dspy')}, anyio {metadata.version('anyio')}"


@pytest.mark.parametrize(("module", "path", "entry"), RELIED_ON)
def test_the_framework_still_has(module: str, path: str, entry: str) -> None:
    where = f"{module}.{path}"
    try:
        value: Any = importlib.import_module(module)
    except ImportError as exc:
        pytest.fail(f"{module} is gone ({_versions()}: {exc}); _compat.{entry} relies on it")
    for part in path.split("."):
        if part not in dir(value) and not _is_dataclass_field(value, part):
            pytest.fail(f"{where} is gone ({_versions()}); _compat.{entry} relies on it")
        value = getattr(value, part, None)


def _is_dataclass_field(owner: Any, name: str) -> bool:
    return name in getattr(owner, "__dataclass_fields__", {})


def test_every_compat_name_is_checked_here() -> None:
    from uiwire.adapters.dspy import _compat

    assert {entry for _, _, entry in RELIED_ON} == set(_compat.__all__)


# --- how a streamify generator ends ---------------------------------------------------------


class _Talker(dspy.Module):
    """Sends items into the stream until cancelled; records whether it was."""

    def __init__(self) -> None:
        super().__init__()
        self.cancelled = False

    async def aforward(self) -> Any:
        try:
            while True:
                await dspy.settings.send_stream.send("item")
        except asyncio.CancelledError:
            self.cancelled = True
            raise


async def _stopped_at_a_yield(stop: Any) -> tuple[_Talker, list[dict[str, Any]]]:
    from tests.support.tasks import collect_garbage, loop_errors

    talker = _Talker()
    with loop_errors() as errors:
        items = dspy.streamify(talker, is_async_program=True)()
        assert await anext(items) == "item"  # it waits at a yield now
        await stop(items)
        del items
        await collect_garbage()
    return talker, errors


async def test_stopping_streamify_here_ends_dspys_task_in_this_task() -> None:
    from uiwire.adapters.dspy._compat import stop_streamify_here

    talker, errors = await _stopped_at_a_yield(stop_streamify_here)
    assert talker.cancelled
    assert errors == []
    await asyncio.sleep(0)  # the task's own cancellation was taken back: it runs on


# --- the run's send stream ----------------------------------------------------------------


async def test_send_stream_is_the_stream_dspy_context_installs() -> None:
    from uiwire.adapters.dspy._compat import send_stream

    send, receive = anyio.create_memory_object_stream[Any](1)
    async with send, receive:
        assert send_stream() is None
        with dspy.context(send_stream=send):
            assert send_stream() is send
        assert send_stream() is None


async def test_sending_stops_in_this_context_only_and_comes_back() -> None:
    from uiwire.adapters.dspy._compat import restore_sending, send_stream, stop_sending_here

    send, receive = anyio.create_memory_object_stream[Any](1)
    async with send, receive:
        with dspy.context(send_stream=send, track_usage=True):
            token = stop_sending_here()
            assert send_stream() is None
            assert dspy.settings.track_usage is True  # the other overrides stay
            elsewhere = await asyncio.to_thread(lambda: dspy.settings.send_stream)
            restore_sending(token)
            assert send_stream() is send
    assert elsewhere is None  # a fresh thread never had the run's stream


# --- StatusStreamingCallback ------------------------------------------------------------------


class _Probe(dspy.Module):
    """Records the callbacks DSPy runs the program with."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[Any] = []

    def forward(self) -> Any:
        self.seen.extend(dspy.settings.callbacks)
        return dspy.Prediction(answer="done")


async def test_streamify_adds_no_status_callback_when_one_is_there() -> None:
    from uiwire.adapters.dspy._compat import StatusStreamingCallback

    def status_callbacks(probe: _Probe) -> list[Any]:
        return [c for c in probe.seen if isinstance(c, StatusStreamingCallback)]

    bare, ours = _Probe(), _Probe()
    mine = StatusStreamingCallback(None)
    items = [item async for item in dspy.streamify(bare)()]
    with dspy.context(callbacks=[mine]):
        items += [item async for item in dspy.streamify(ours)()]
    assert len(status_callbacks(bare)) == 1  # DSPy's own, added by streamify
    assert status_callbacks(ours) == [mine]  # ours stands in for it
    assert [type(item) for item in items] == [dspy.Prediction, dspy.Prediction]


# --- anyio's buffer -----------------------------------------------------------------------------


async def test_append_past_the_limit_queues_in_order_without_waiting() -> None:
    from uiwire.adapters.dspy._compat import append_past_the_limit

    send, receive = anyio.create_memory_object_stream[Any](1)
    async with send, receive:
        send.send_nowait("a")
        with pytest.raises(anyio.WouldBlock):
            send.send_nowait("b")
        append_past_the_limit(send, "b")
        append_past_the_limit(send, "c")
        assert [receive.receive_nowait() for _ in range(3)] == ["a", "b", "c"]


# --- StreamListener -------------------------------------------------------------------------------


def test_streamify_calls_the_listener_hooks_by_these_names() -> None:
    source = inspect.getsource(importlib.import_module("dspy.streaming.streamify"))
    for hook in (".receive(", ".finalize()"):
        assert hook in source, f"streamify no longer calls listener{hook} ({_versions()})"


def test_a_listener_has_the_state_chunk_listener_reads() -> None:
    from uiwire.adapters.dspy._compat import ChunkListener

    listener = ChunkListener("answer", predict=dspy.Predict("question -> answer"))
    assert listener.gave_up_the_field is False
    markers = listener.field_markers
    assert markers, "StreamListener.adapter_identifiers is empty"
    for ids in markers.values():
        assert {"start_identifier", "end_identifier"} <= set(ids)
    assert listener.on_end() is None  # nothing started: DSPy's finalize has nothing


# --- ReAct / ReActV2 -----------------------------------------------------------------------------


def lookup(city: str) -> str:
    """A tool."""
    return city


def test_react_parts_are_where_the_plan_reads_them() -> None:
    from uiwire.adapters.dspy._compat import (
        REACT_TOOL_ARGS_FIELD,
        REACT_TOOL_NAME_FIELD,
        AgentParts,
        agent_parts,
    )

    parts = agent_parts(dspy.ReAct("question -> answer", tools=[lookup]))
    assert isinstance(parts, AgentParts)
    assert isinstance(parts.predictor, dspy.Predict)
    assert set(parts.tools) == {"lookup", parts.own_tool}
    assert parts.calls_as_text
    outputs = parts.predictor.signature.output_fields
    assert {REACT_TOOL_NAME_FIELD, REACT_TOOL_ARGS_FIELD} <= set(outputs)
    assert agent_parts(dspy.Predict("question -> answer")) is None


def test_react_v2_parts_are_where_the_plan_reads_them() -> None:
    from uiwire.adapters.dspy._compat import agent_parts

    parts = agent_parts(dspy.ReActV2("question -> answer", tools=[lookup]))
    assert parts is not None
    assert isinstance(parts.predictor, dspy.Predict)
    assert set(parts.tools) == {"lookup", parts.own_tool}
    assert not parts.calls_as_text
