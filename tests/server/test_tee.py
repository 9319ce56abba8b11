"""``ResponseOptions(tee=...)``, the AI SDK's ``consumeSseStream``: a copy of each
answer's SSE stream, through a real server and the real ``ai`` 7 client. The copy is
what the client got; a failing, slow or stuck tee never touches the client's stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support.chat_options import USER, OptionsApp, chunks_of, send
from tests.support.js import http_chat, run_node_script
from tests.support.servers import serve
from uiwire.resume import MemoryStreamStore, StreamInterrupted
from uiwire.server import ChatHooks, ResponseOptions
from uiwire.server import _tee as tee_module
from uiwire.stream import ChatTurn


class Copies:
    """A tee that keeps each answer's copy; ``hold`` keeps it from reading until set."""

    def __init__(self, *, fail_after: int | None = None) -> None:
        self.copies: dict[str, bytes] = {}
        self.frames: list[bytes] = []
        self.hold = asyncio.Event()
        self.hold.set()
        self.done = asyncio.Event()
        self.fail_after = fail_after
        self.errors: list[BaseException] = []

    async def tee(self, turn: ChatTurn, frames: AsyncIterator[bytes]) -> None:
        try:
            await self.hold.wait()
            copy = b""
            async for data in frames:
                self.frames.append(data)
                copy += data
                if self.fail_after is not None and len(self.frames) >= self.fail_after:
                    raise RuntimeError("the log disk is full")
            self.copies[turn.message_id] = copy
        finally:
            self.done.set()

    def on_error(self, exc: BaseException) -> str | None:
        self.errors.append(exc)
        return None


def app_with(copies: Copies, **options: Any) -> OptionsApp:
    return OptionsApp(
        hooks=ChatHooks(on_error=copies.on_error),
        response=ResponseOptions(tee=copies.tee),
        **options,
    )


async def test_the_copy_is_what_the_client_got() -> None:
    copies = Copies()
    app = app_with(copies)
    async with serve(app.app) as base:
        got = await send(base)
        await asyncio.wait_for(copies.done.wait(), 10)
    body = got["responses"][0]["body"].encode()
    assert copies.copies == {got["messages"][-1]["id"]: body}
    assert body.endswith(b"data: [DONE]\n\n")
    assert copies.errors == []


async def test_a_failing_tee_is_reported_and_the_client_gets_everything(
    caplog: pytest.LogCaptureFixture,
) -> None:
    copies = Copies(fail_after=1)
    app = app_with(copies)
    async with serve(app.app) as base:
        got = await send(base)
        await asyncio.wait_for(copies.done.wait(), 10)
    assert got["messages"][-1]["parts"][-1]["text"] == "world."
    assert got["responses"][0]["body"].endswith("data: [DONE]\n\n")
    (error,) = copies.errors
    assert str(error) == "the log disk is full"
    assert "the tee of message" in caplog.text


async def test_a_slow_tee_does_not_hold_the_client_up() -> None:
    copies = Copies()
    copies.hold.clear()  # the tee reads nothing until the client has it all
    app = app_with(copies)
    async with serve(app.app) as base:
        got = await send(base)
        assert copies.frames == []  # the whole answer reached the client first
        copies.hold.set()
        await asyncio.wait_for(copies.done.wait(), 10)
    assert b"".join(copies.frames) == got["responses"][0]["body"].encode()


async def test_a_tee_that_falls_too_far_behind_has_its_copy_cut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tee_module, "TEE_MAX_BUFFERED_BYTES", 64)
    copies = Copies()
    copies.hold.clear()
    app = app_with(copies)
    async with serve(app.app) as base:
        got = await send(base)
        copies.hold.set()
        await asyncio.wait_for(copies.done.wait(), 10)
    assert got["messages"][-1]["parts"][-1]["text"] == "world."
    (error,) = copies.errors
    assert isinstance(error, StreamInterrupted)
    assert "fell more than 64 bytes behind" in str(error)
    assert copies.copies == {}


async def test_a_tee_that_outlives_its_answer_is_cancelled_and_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tee_module, "TEE_DEADLINE", 0.05)
    stuck = asyncio.Event()
    errors: list[BaseException] = []

    async def never_done(turn: ChatTurn, frames: AsyncIterator[bytes]) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            stuck.set()

    def on_error(exc: BaseException) -> None:
        errors.append(exc)

    app = OptionsApp(hooks=ChatHooks(on_error=on_error), response=ResponseOptions(tee=never_done))
    async with serve(app.app) as base:
        await send(base)
        await asyncio.wait_for(stuck.wait(), 10)
        for _ in range(100):
            if errors:
                break
            await asyncio.sleep(0.01)
    (error,) = errors
    assert isinstance(error, TimeoutError)


async def test_with_a_stream_store_the_tee_sees_each_answer_once() -> None:
    """Two readers (the POST and a resume) read the answer; the tee copies it once."""
    copies = Copies()
    app = app_with(copies, streams=MemoryStreamStore())
    app.saving.clear()  # resumable until on_finish returns
    async with serve(app.app) as base:
        sent = await send(base)
        resumed = await http_chat(
            f"{base}/api/chat", "resume", chat="chat-1", headers={"x-user": USER}
        )
        app.saving.set()
        await asyncio.wait_for(copies.done.wait(), 10)
    assert resumed["message"] == sent["messages"][-1]
    (copy,) = copies.copies.values()
    assert copy == sent["responses"][0]["body"].encode()


async def test_the_tee_copies_an_answer_sent_over_the_websocket() -> None:
    copies = Copies()
    app = app_with(copies, streams=MemoryStreamStore())
    async with serve(app.app) as base:
        url = base.replace("http://", "ws://") + f"/api/chat/ws?user={USER}"
        got = await run_node_script(
            "websocket_chat.mjs", {"url": url, "run": "send", "chat": "chat-1"}
        )
        await asyncio.wait_for(copies.done.wait(), 10)
    (copy,) = copies.copies.values()
    message = got["messages"][-1]
    first = chunks_of(copy.decode())[0]
    assert first["type"] == "start"
    assert first["messageId"] == message["id"]
    assert copy.endswith(b"data: [DONE]\n\n")
