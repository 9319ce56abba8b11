"""StreamContext's steering: messages queued by ``steer``, handed over (and shown) by
``take_steering`` at a step boundary, dropped (and logged) when the answer ends first."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from tests.support.context_scenarios import consume
from tests.support.stream_rules import assert_valid_body
from uiwire.protocol import (
    SteeringMessageUIPart,
    SteeringTextUIPart,
    TargetError,
    parse_steering_message,
)
from uiwire.stream import MAX_PENDING_STEERING, SteeringQueueFull, StreamContext


def steering(text: str, id: str = "steer_1") -> SteeringMessageUIPart:
    return parse_steering_message({"id": id, "parts": [{"type": "text", "text": text}]})


async def test_taken_messages_are_shown_before_the_next_step() -> None:
    seen: list[list[str]] = []

    async def work(ctx: StreamContext[Any]) -> None:
        await ctx.write_text("first")
        assert ctx.steer(steering("use Paris, Texas", "steer_a"))
        assert ctx.pending_steering == 1
        taken = ctx.take_steering()  # the next model call gets these
        seen.append([p.text for m in taken for p in m.parts if isinstance(p, SteeringTextUIPart)])
        assert ctx.take_steering() == []  # once
        await ctx.write_text("second")

    ctx: StreamContext[Any] = StreamContext(target="v7")
    ctx.run(work)
    chunks = assert_valid_body(await consume(ctx), target="v7")
    assert seen == [["use Paris, Texas"]]
    kinds = [c["type"] for c in chunks]
    at = kinds.index("steering-message")
    assert kinds[at - 1 : at + 2] == ["finish-step", "steering-message", "start-step"]
    assert chunks[at] == {
        "type": "steering-message",
        "id": "steer_a",
        "parts": [{"type": "text", "text": "use Paris, Texas"}],
    }


async def test_nothing_is_written_when_nothing_waits() -> None:
    async def work(ctx: StreamContext[Any]) -> None:
        await ctx.write_text("a")
        assert ctx.take_steering() == []
        await ctx.write_text("b")

    ctx: StreamContext[Any] = StreamContext(target="v7")
    ctx.run(work)
    chunks = assert_valid_body(await consume(ctx), target="v7")
    assert [c["type"] for c in chunks].count("start-step") == 1


async def test_take_steering_from_a_thread() -> None:
    async def work(ctx: StreamContext[Any]) -> None:
        ctx.steer(steering("from afar"))
        taken = await asyncio.to_thread(ctx.take_steering)
        assert [m.id for m in taken] == ["steer_1"]

    ctx: StreamContext[Any] = StreamContext(target="v7")
    ctx.run(work)
    chunks = assert_valid_body(await consume(ctx), target="v7")
    assert [c["type"] for c in chunks][:2] == ["start", "steering-message"]


async def test_messages_not_taken_are_logged_as_not_delivered(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = asyncio.Event()

    async def work(ctx: StreamContext[Any]) -> None:
        await ctx.write_text("the only step")
        await gate.wait()

    ctx: StreamContext[Any] = StreamContext(target="v7", collect=True)
    ctx.run(work)
    reading = asyncio.ensure_future(consume(ctx))
    await asyncio.sleep(0)
    assert ctx.steer(steering("too late", "steer_late"))
    gate.set()
    with caplog.at_level(logging.INFO, logger="uiwire"):
        chunks = assert_valid_body(await reading, target="v7")
        await ctx.wait_closed()
    assert "steering-message" not in [c["type"] for c in chunks]
    assert "steer_late not delivered" in caplog.text
    assert ctx.record is not None
    assert [m.id for m in ctx.record.steering_not_delivered] == ["steer_late"]
    assert ctx.pending_steering == 0
    assert not ctx.steer(steering("after the end"))  # nothing would take it


async def test_a_stopped_answer_takes_no_steering() -> None:
    ctx: StreamContext[Any] = StreamContext(target="v7")
    ctx.cancel()
    assert not ctx.steer(steering("stop already"))
    assert ctx.pending_steering == 0
    ctx.disconnect()


@pytest.mark.parametrize("target", ["v5", "v6"])
def test_steering_needs_the_v7_target(target: str) -> None:
    ctx: StreamContext[Any] = StreamContext(target=target)  # type: ignore[arg-type]
    with pytest.raises(TargetError, match=f"steering needs target 'v7': AI SDK {target}"):
        ctx.steer(steering("hi"))


def test_steer_takes_a_steering_message() -> None:
    ctx: StreamContext[Any] = StreamContext(target="v7")
    with pytest.raises(TypeError, match="SteeringMessageUIPart"):
        ctx.steer({"id": "x", "parts": []})  # type: ignore[arg-type]


def test_a_client_cannot_grow_the_queue_past_its_bound() -> None:
    ctx: StreamContext[Any] = StreamContext(target="v7")
    for n in range(MAX_PENDING_STEERING):
        assert ctx.steer(steering("again", f"steer_{n}"))
    with pytest.raises(SteeringQueueFull, match=f"{MAX_PENDING_STEERING} steering messages"):
        ctx.steer(steering("once more", "steer_x"))
    assert ctx.pending_steering == MAX_PENDING_STEERING
