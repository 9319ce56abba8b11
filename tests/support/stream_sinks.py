"""A reader that serves a ``StreamContext`` as ``UIMessageStreamResponse`` does, through
a send that records which task called it, and can hold (a slow client) or fail."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from uiwire.stream import StreamContext

SPINS = 200  # loop steps a condition may take to hold (never a time)


class Sink:
    """The consumer's send: appends the bytes first (as a transport writes them before
    draining), then waits while ``held``; raises ``fail`` when set."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []
        self.senders: list[asyncio.Task[Any] | None] = []
        self.open = asyncio.Event()
        self.open.set()
        self.sending = 0
        self.most_at_once = 0
        self.fail: BaseException | None = None

    async def __call__(self, data: bytes) -> None:
        self.sending += 1
        self.most_at_once = max(self.most_at_once, self.sending)
        try:
            if self.fail is not None:
                raise self.fail
            self.sent.append(data)
            self.senders.append(asyncio.current_task())
            await self.open.wait()
        finally:
            self.sending -= 1

    def body(self) -> bytes:
        return b"".join(self.sent)


async def read(ctx: StreamContext[Any], sink: Sink) -> None:
    """The response's loop: writers may send through ``sink``; the rest goes through it too."""
    frames = ctx.stream(sink=sink)
    async with contextlib.aclosing(frames) as body:
        async for data in body:
            await sink(data)


async def until(condition: Any) -> None:
    for _ in range(SPINS):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


def parked(ctx: StreamContext[Any]) -> bool:
    return ctx._channel._waiter is not None  # pyright: ignore[reportPrivateUsage]
