"""What is left running after a stream: no uiwire task, no run of the SDK may outlive it."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable, Iterator


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


@contextlib.contextmanager
def loop_errors() -> Iterator[list[dict[str, object]]]:
    """What the running loop reports to its exception handler meanwhile ("Task
    exception was never retrieved", an async generator closed in another task), as
    the handler's context dicts."""
    loop = asyncio.get_running_loop()
    seen: list[dict[str, object]] = []
    before = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: seen.append(context))
    try:
        yield seen
    finally:
        loop.set_exception_handler(before)


async def collect_garbage() -> None:
    """Collect what was dropped and let the loop run what its collection scheduled
    (async generators are closed in tasks of their own)."""
    for _ in range(3):
        gc.collect()
        for _ in range(5):
            await asyncio.sleep(0)


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Return once ``check()`` is true (polled every 10 ms); fail after ``timeout`` s."""
    for _ in range(int(timeout * 100)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened within {timeout} s")
