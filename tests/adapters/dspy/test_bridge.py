"""The callback bridge: ordered with DSPy's own sends, never waiting, cancellable."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

import anyio
import dspy
import pytest

from uiwire.adapters.dspy._bridge import (
    Bridge,
    ModelCallStarted,
    RunCancelled,
    ToolEnded,
    ToolStarted,
    _put,  # pyright: ignore[reportPrivateUsage]
)


def drain(receive: Any) -> list[Any]:
    out: list[Any] = []
    with contextlib.suppress(anyio.WouldBlock):
        while True:
            out.append(receive.receive_nowait())
    return out


async def test_put_queues_behind_a_full_buffer_instead_of_waiting() -> None:
    send, receive = anyio.create_memory_object_stream[Any](2)
    async with send, receive:
        _put(send, "a")
        _put(send, "b")
        _put(send, "c")  # the buffer is full: still queued, in order, at once
        assert drain(receive) == ["a", "b", "c"]


async def test_put_after_the_stream_closed_is_dropped() -> None:
    send, receive = anyio.create_memory_object_stream[Any](2)
    await receive.aclose()
    _put(send, "late")  # no exception: the run is over
    await send.aclose()


async def test_events_from_a_thread_keep_their_order_with_that_threads_sends() -> None:
    """Tokens go through ``anyio.from_thread.run(send)`` (as DSPy does); callback events
    through the bridge. Both from one thread must arrive in the order they happened."""
    loop = asyncio.get_running_loop()
    bridge = Bridge(loop, status=None, internal_tools=frozenset())
    token = anyio.lowlevel.current_token()
    send, receive = anyio.create_memory_object_stream[Any](16)
    got: list[Any] = []

    def producer() -> None:
        with dspy.context(send_stream=send):
            for i in range(200):
                anyio.from_thread.run(send.send, f"token-{i}", token=token)
                if i % 10 == 0:
                    bridge.on_lm_start(f"lm-{i}", object(), {})

    async def consume() -> None:
        async for item in receive:
            got.append(item)
            await asyncio.sleep(0)

    async with send, receive:
        reader = asyncio.create_task(consume())
        await asyncio.to_thread(producer)
        await asyncio.sleep(0.05)
        reader.cancel()
    expected: list[Any] = []
    for i in range(200):
        expected.append(f"token-{i}")
        if i % 10 == 0:
            expected.append(ModelCallStarted())
    assert got == expected


class FakeTool:
    def __init__(self, name: str) -> None:
        self.name = name


async def test_tool_events_carry_name_and_arguments_and_internal_tools_stay_hidden() -> None:
    finish = FakeTool("finish")
    bridge = Bridge(asyncio.get_running_loop(), status=None, internal_tools=frozenset({id(finish)}))
    send, receive = anyio.create_memory_object_stream[Any](16)
    async with send, receive:
        with dspy.context(send_stream=send):
            bridge.on_tool_start("c1", FakeTool("search"), {"kwargs": {"q": "x"}})
            bridge.on_tool_end("c1", "found", None)
            bridge.on_tool_start("c2", finish, {"kwargs": {}})
            bridge.on_tool_end("c2", "Completed.", None)
            error = ValueError("boom")
            bridge.on_tool_start("c3", FakeTool("search"), {"kwargs": "not a dict"})
            bridge.on_tool_end("c3", None, error)
        assert drain(receive) == [
            ToolStarted("c1", "search", {"q": "x"}),
            ToolEnded("c1", "found", None),
            ToolStarted("c3", "search", {}),
            ToolEnded("c3", None, error),
        ]


async def test_after_cancellation_no_model_call_or_tool_starts() -> None:
    bridge = Bridge(asyncio.get_running_loop(), status=None, internal_tools=frozenset())
    bridge.cancelled.set()
    with pytest.raises(RunCancelled):
        bridge.on_lm_start("c", object(), {})
    with pytest.raises(RunCancelled):
        bridge.on_tool_start("c", FakeTool("search"), {"kwargs": {}})
    with pytest.raises(RunCancelled):
        bridge.on_module_start("c", object(), {})
    # a BaseException: ReAct's `except Exception` around tools cannot swallow it
    assert not issubclass(RunCancelled, Exception)


async def test_predictors_in_pool_threads_do_not_stream() -> None:
    """dspy#9154: DSPy cannot send tokens from a thread that is not AnyIO's."""
    bridge = Bridge(asyncio.get_running_loop(), status=None, internal_tools=frozenset())
    predictor = dspy.Predict("q -> a")
    seen: dict[str, Any] = {}
    send, receive = anyio.create_memory_object_stream[Any](16)

    def in_program_thread() -> None:
        with dspy.context(send_stream=send):
            bridge.on_module_start("top", object(), {})
            thread = threading.Thread(target=in_pool_thread)
            thread.start()
            thread.join()

    def in_pool_thread() -> None:
        with dspy.context(send_stream=send):
            bridge.on_module_start("p1", predictor, {})
            seen["during"] = dspy.settings.send_stream
            bridge.on_module_end("p1", None, None)
            seen["after"] = dspy.settings.send_stream

    async with send, receive:
        await asyncio.to_thread(in_program_thread)
    assert seen["during"] is None
    assert seen["after"] is send
