"""A thread that watches an event loop's heartbeat and dumps every stack when it stalls.

It has to be a thread: an asyncio watchdog cannot run while the loop is blocked. The
loop bumps a counter every ``interval``; if the counter has not moved for ``limit``
seconds the watchdog writes all threads' stacks (``faulthandler``) to the test's
output and records the stall. Tests assert ``stalls == []`` at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import faulthandler
import gc
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Generator
from dataclasses import dataclass, field


@dataclass
class Watch:
    stalls: list[float] = field(default_factory=list[float])
    """How long the loop had been silent each time the watchdog fired (seconds)."""
    longest_gap: float = 0.0


@contextlib.asynccontextmanager
async def loop_watchdog(
    limit: float = 1.0, interval: float = 0.01, on_stall: Callable[[], None] | None = None
) -> AsyncIterator[Watch]:
    """Watch the running loop; ``on_stall`` runs in the watchdog thread after a dump."""
    loop = asyncio.get_running_loop()
    watch = Watch()
    beat = [time.monotonic()]
    stop = threading.Event()

    def heartbeat() -> None:
        beat[0] = time.monotonic()
        if not stop.is_set():
            loop.call_later(interval, heartbeat)

    def guard() -> None:
        fired_for = None
        while not stop.wait(interval):
            last = beat[0]
            gap = time.monotonic() - last
            watch.longest_gap = max(watch.longest_gap, gap)
            if gap > limit and fired_for != last:
                fired_for = last
                watch.stalls.append(gap)
                print(f"\n--- event loop stalled for {gap:.2f}s; all stacks:", file=sys.stderr)
                faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
                if on_stall is not None:
                    on_stall()

    heartbeat()
    thread = threading.Thread(target=guard, name="loop-watchdog", daemon=True)
    thread.start()
    try:
        yield watch
    finally:
        stop.set()
        thread.join(5)


@contextlib.contextmanager
def frozen_heap() -> Generator[None]:
    """The objects that exist now (this process's start-up: the imports of dspy, the
    Agents SDK, pytest) out of every later pass of the garbage collector, as
    ``deployment.md`` has a server do after start-up: a full pass over them alone takes
    ~190 ms, which a test watching the loop for stalls would take for one."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
