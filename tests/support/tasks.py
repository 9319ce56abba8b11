"""What is left running after a stream: no uiwire task, no run of the SDK may outlive it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def tasks_left(describe: Callable[[asyncio.Task[object]], str | None]) -> list[str]:
    """The tasks ``describe`` names (non-None) still alive after giving them a chance to
    finish, as described."""
    current = asyncio.current_task()
    left: list[str] = []
    for _ in range(200):
        left = [
            name
            for t in asyncio.all_tasks()
            if t is not current and (name := describe(t)) is not None
        ]
        if not left:
            return []
        await asyncio.sleep(0.005)
    return left


async def uiwire_tasks_left() -> list[str]:
    """Names of uiwire's own tasks still alive."""
    return await tasks_left(lambda t: t.get_name() if t.get_name().startswith("uiwire-") else None)


async def agents_tasks_left() -> list[str]:
    """Tasks of the Agents SDK's run loop still alive (a run left behind)."""
    return await tasks_left(
        lambda t: repr(t.get_coro()) if "agents" in repr(t.get_coro()) else None
    )
