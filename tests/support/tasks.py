"""What is left running after a stream: no uiwire task may outlive it."""

from __future__ import annotations

import asyncio


async def uiwire_tasks_left() -> list[str]:
    """Names of uiwire's own tasks still alive after giving them a chance to finish."""
    current = asyncio.current_task()
    left: list[str] = []
    for _ in range(200):
        left = [
            t.get_name()
            for t in asyncio.all_tasks()
            if t is not current and t.get_name().startswith("uiwire-")
        ]
        if not left:
            return []
        await asyncio.sleep(0.005)
    return left
