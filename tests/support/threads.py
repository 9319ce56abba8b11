"""Threads still busy with a run: what a run left behind in a worker thread looks like.

``busy_threads()`` takes a snapshot of every thread's current stack
(``sys._current_frames()``) and keeps the threads that are inside code we care about:
a frame of one of ``WATCHED_PACKAGES`` (uiwire, DSPy, litellm, the Agents SDK, the
OpenAI client) or one of the given code objects (a test's tools). An idle pool worker
waiting for work (``concurrent.futures``, AnyIO's worker threads) is inside the
standard library and AnyIO only, so it is never counted: a pool may grow, but its
threads must go back to waiting. The calling thread (the event loop's) is left out.

``threads_left(before)`` is the comparison a leak test makes: the threads busy now
that were not busy in the ``before`` snapshot, after giving them time to finish what
they were doing (a litellm logging callback, a sync tool that cannot be interrupted).
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from types import CodeType, FrameType

WATCHED_PACKAGES = frozenset({"uiwire", "dspy", "litellm", "agents", "openai"})
"""Top-level packages whose frames make a thread busy."""


@dataclass(frozen=True)
class BusyThread:
    """A thread caught inside watched code."""

    ident: int
    name: str
    where: tuple[str, ...]
    """The watched frames of its stack, outermost first, as ``module.function:line``."""

    def __str__(self) -> str:
        return f"{self.name} ({self.ident}) in {' > '.join(self.where[-4:])}"


def _stack(frame: FrameType | None) -> list[FrameType]:
    frames: list[FrameType] = []
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back
    frames.reverse()
    return frames


def _watched(frame: FrameType, packages: Collection[str], code: Collection[CodeType]) -> bool:
    if frame.f_code in code:
        return True
    module = frame.f_globals.get("__name__")
    return isinstance(module, str) and module.split(".", 1)[0] in packages


def busy_threads(
    *, packages: Collection[str] = WATCHED_PACKAGES, code: Collection[CodeType] = ()
) -> dict[int, BusyThread]:
    """The threads (but the calling one) running watched code right now, by ident."""
    names = {t.ident: t.name for t in threading.enumerate()}
    me = threading.get_ident()
    busy: dict[int, BusyThread] = {}
    for ident, top in sys._current_frames().items():  # pyright: ignore[reportPrivateUsage]
        if ident == me:
            continue
        where = tuple(
            f"{f.f_globals.get('__name__', '?')}.{f.f_code.co_name}:{f.f_lineno}"
            for f in _stack(top)
            if _watched(f, packages, code)
        )
        if where:
            busy[ident] = BusyThread(ident, names.get(ident, "?"), where)
    return busy


async def threads_left(
    before: Mapping[int, BusyThread] | Collection[int],
    *,
    timeout: float = 5.0,
    packages: Collection[str] = WATCHED_PACKAGES,
    code: Collection[CodeType] = (),
) -> list[BusyThread]:
    """Threads busy now that were not in ``before``, once they had up to ``timeout``
    seconds to go idle (polled without blocking the loop); empty when none is left."""
    deadline = time.monotonic() + timeout
    while True:
        left = [
            thread
            for ident, thread in busy_threads(packages=packages, code=code).items()
            if ident not in before
        ]
        if not left or time.monotonic() >= deadline:
            return left
        await asyncio.sleep(0.01)
