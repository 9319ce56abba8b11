"""Opt-in detector for code that blocks the event loop while a stream is open.

A blocked loop is the most common streaming bug (``time.sleep``, a sync database call
or file read inside async code): every stream on the server stalls and tokens arrive
in bursts. This detector names the line responsible.

How: while at least one stream is open, the loop re-arms a cheap timer every
``threshold / 2`` seconds that records "the loop was alive now". A daemon thread checks
that timestamp; when it is older than the threshold, the loop is stuck, and the thread
logs a warning with the loop thread's current stack, taken *while it is still blocked*,
so the innermost frame is the culprit. One warning per blocking episode.

Turn it on with ``StreamContext(detect_blocking=True)`` (or a threshold in seconds) or
the environment variable ``UIWIRE_DETECT_BLOCKING`` (``1`` or a number of seconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
import time
import traceback
from typing import Final

__all__ = ["DEFAULT_THRESHOLD", "ENV_VAR", "blocking_threshold"]

logger = logging.getLogger("uiwire.watchdog")

ENV_VAR: Final = "UIWIRE_DETECT_BLOCKING"
DEFAULT_THRESHOLD: Final = 0.1
"""Seconds the loop may stay busy before a warning (100 ms: well above any healthy step)."""


def blocking_threshold(setting: float | bool | None) -> float | None:
    """The threshold in seconds from a constructor setting, falling back to the env var."""
    if setting is None:
        raw = os.environ.get(ENV_VAR, "").strip().lower()
        if raw in ("", "0", "false", "no", "off"):
            return None
        if raw in ("1", "true", "yes", "on"):
            return DEFAULT_THRESHOLD
        try:
            seconds = float(raw)
        except ValueError:
            raise ValueError(
                f"{ENV_VAR} must be 1/true or a threshold in seconds; got {raw!r}"
            ) from None
        return _positive(seconds, ENV_VAR)
    if setting is True:
        return DEFAULT_THRESHOLD
    if setting is False:
        return None
    if not isinstance(setting, (int, float)):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(
            f"detect_blocking must be a bool or seconds (float); got {type(setting).__name__}"
        )
    return _positive(float(setting), "detect_blocking")


def _positive(seconds: float, name: str) -> float:
    if not seconds > 0 or seconds == float("inf"):
        raise ValueError(f"{name} must be a positive number of seconds; got {seconds!r}")
    return seconds


class _LoopWatch:
    """Watches one loop; shared by every open stream on it that asked for detection."""

    def __init__(self, loop: asyncio.AbstractEventLoop, threshold: float) -> None:
        self.users = 0
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._threshold = threshold
        self._interval = threshold / 2
        self._last_alive = time.monotonic()
        self._stop = threading.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._thread = threading.Thread(
            target=self._watch, name="uiwire-blocking-detector", daemon=True
        )

    def start(self) -> None:
        self._alive()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _alive(self) -> None:
        self._last_alive = time.monotonic()
        self._timer = self._loop.call_later(self._interval, self._alive)

    def _watch(self) -> None:
        reported: float | None = None
        while not self._stop.wait(self._interval / 2):
            if self._loop.is_closed():
                with _watches_lock:
                    if _watches.get(self._loop) is self:
                        del _watches[self._loop]
                return
            last = self._last_alive
            stalled = time.monotonic() - last
            if stalled <= self._threshold + self._interval or reported == last:
                continue
            frame = sys._current_frames().get(self._loop_thread)  # pyright: ignore[reportPrivateUsage]
            if frame is None:
                return
            stack = traceback.extract_stack(frame)
            culprit = stack[-1]
            logger.warning(
                "event loop blocked for at least %.3f s by %s:%s in %s(): %s\n"
                "Blocking calls stall every stream on this loop; move them to a thread "
                "(asyncio.to_thread) or use an async API. Stack of the loop thread:\n%s",
                stalled - self._interval,
                culprit.filename,
                culprit.lineno,
                culprit.name,
                (culprit.line or "").strip(),
                "".join(traceback.format_list(stack)),
            )
            reported = last


_watches: dict[asyncio.AbstractEventLoop, _LoopWatch] = {}
_watches_lock = threading.Lock()


def watch_loop(loop: asyncio.AbstractEventLoop, threshold: float) -> None:
    """Count one more open stream on ``loop``; call from the loop's thread."""
    with _watches_lock:
        watch = _watches.get(loop)
        if watch is None:
            watch = _watches[loop] = _LoopWatch(loop, threshold)
            watch.start()
        watch.users += 1


def unwatch_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Count one stream fewer; the last one stops the detector. Call on the loop."""
    with _watches_lock:
        watch = _watches.get(loop)
        if watch is None:
            return
        watch.users -= 1
        if watch.users <= 0:
            watch.stop()
            del _watches[loop]


def unwatch_loop_soon(loop: asyncio.AbstractEventLoop) -> None:
    """``unwatch_loop`` from any thread (a garbage-collected context's finalizer)."""
    if loop.is_closed():
        with _watches_lock:
            watch = _watches.pop(loop, None)
        if watch is not None:
            watch.stop()
        return
    with contextlib.suppress(RuntimeError):  # closed in between: its thread exits alone
        loop.call_soon_threadsafe(unwatch_loop, loop)
