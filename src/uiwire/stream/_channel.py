"""The bounded frame buffer between writers (any thread) and the one consumer (the loop).

Theory of operation
-------------------
Writers append encoded SSE frames while holding ``lock`` (the context holds it around
the machine step too, so frames are appended in exactly the order the machine made
them). The consumer runs on the event loop and takes *everything* buffered in one go.

Wake-ups are coalesced: the first frame after a drain schedules one wake-up (a direct
``Event.set`` on the loop thread, ``loop.call_soon_threadsafe`` from any other thread);
later frames see ``_wake_pending`` and add nothing until the consumer drains again. A
burst of N writes from a thread therefore costs about one loop callback, not N.

Nothing here ever waits for the consumer on the loop thread. The limit applies only
while a consumer is attached: before that (a response not yet returned), the buffer
holds the output, so finishing the work before streaming cannot deadlock. Over the
limit, async writers await ``wait_for_room`` and thread writers block *their own
thread* in ``wait_for_room_from_thread``; a write made synchronously on the loop thread
is accepted over the limit, since blocking there would stop the consumer itself.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Final

from uiwire._errors import StreamClosed, StreamStateError

__all__ = ["Channel"]

_THREAD_WAIT_SLICE: Final = 0.25  # seconds; a blocked writer re-checks the loop this often
_LOOP_CLOSED: Final = "the event loop serving this stream is closed; the write cannot be delivered"


class Channel:
    """Frames from many writers to one consumer, with a byte limit and coalesced wake-ups."""

    def __init__(self, limit: int) -> None:
        self.lock = threading.Lock()  # guards everything below; held for microseconds
        self._room_for_threads = threading.Condition(self.lock)
        self._thread_waiters = 0
        self._limit = limit
        self._frames: list[bytes] = []
        self._size = 0
        self.loop: asyncio.AbstractEventLoop | None = None  # set once by bind(); read-only after
        self._loop_thread: int | None = None
        self._waiter: asyncio.Future[None] | None = None  # the consumer, while it waits
        self._room = asyncio.Event()  # the buffer went below the limit
        self._last_delivery: float | None = None  # loop time receive() last returned data
        self._idle_timer: asyncio.TimerHandle | None = None
        self._wake_pending = False
        self._attached = False
        self._gone = False  # the consumer left: frames are dropped from now on
        self._eof = False  # no more frames will come

    # --- binding ---------------------------------------------------------------------

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Tie the channel to the running loop; call from the loop's thread."""
        if self.loop is None:
            with self.lock:  # the thread first: writers that see the loop see its thread
                self._loop_thread = threading.get_ident()
                self.loop = loop
        elif self.loop is not loop:
            raise StreamStateError(
                "this stream belongs to another event loop; a StreamContext is used from "
                "the loop that created or first ran it"
            )

    def on_loop_thread(self) -> bool:
        """True on the loop's thread, or if no loop is bound yet (nothing to hand off to)."""
        return self._loop_thread is None or self._loop_thread == threading.get_ident()

    def check_loop_open(self) -> None:
        """Raise ``StreamClosed`` if the bound loop is closed (a write could never arrive)."""
        loop = self.loop
        if loop is not None and loop.is_closed():
            raise StreamClosed(_LOOP_CLOSED)

    # --- writer side (hold ``lock``) ---------------------------------------------------

    def push_locked(self, frame: bytes) -> None:
        """Append one frame (or several, already joined); wakes the consumer at most once."""
        if self._gone or self._eof:
            return
        self._frames.append(frame)
        self._size += len(frame)
        if not self._wake_pending:  # a burst pays for one wake-up, and for no call after it
            self._wake_locked()

    def end_locked(self) -> None:
        """No more frames: the consumer gets what is buffered, then the end."""
        self._eof = True
        self._wake_locked()

    def over_limit_locked(self) -> bool:
        return self._attached and not self._gone and self._size > self._limit

    def _wake_locked(self) -> None:
        if self._wake_pending or self.loop is None:
            return
        self._wake_pending = True
        if self._loop_thread == threading.get_ident():
            self._wake()
            return
        try:
            self.loop.call_soon_threadsafe(self._wake)
        except RuntimeError:  # the loop closed under us
            self._wake_pending = False
            raise StreamClosed(_LOOP_CLOSED) from None

    # --- waiting for room ----------------------------------------------------------------

    async def wait_for_room(self) -> None:
        """Suspend an async writer (on the loop) until the buffer is below the limit."""
        while self._attached and not self._gone and self._size > self._limit:
            self._room.clear()
            await self._room.wait()

    def wait_for_room_from_thread(self) -> None:
        """Block the calling thread (never the loop's) until the buffer is below the limit."""
        if not self.over_limit_locked():  # an unlocked peek: the common case takes no lock
            return
        with self.lock:
            self._thread_waiters += 1
            try:
                while self.over_limit_locked():
                    self.check_loop_open()
                    self._room_for_threads.wait(_THREAD_WAIT_SLICE)
            finally:
                self._thread_waiters -= 1

    # --- consumer side (the loop) --------------------------------------------------------

    def attach(self) -> None:
        """Register the one consumer; a second raises."""
        with self.lock:
            if self._attached:
                raise StreamStateError("this stream is already being consumed; it has one reader")
            self._attached = True

    async def receive(self, timeout: float | None = None) -> bytes | None:
        """Everything buffered, joined; ``b""`` after ``timeout`` idle seconds; None at the end.

        Idle means nothing returned for ``timeout`` seconds. One timer per idle period
        tracks it (re-armed only when it goes off early), not one per call: a stream
        delivering every few milliseconds would otherwise create and cancel a timer per
        frame.
        """
        loop = self.loop
        assert loop is not None, "bind() first"
        if self._last_delivery is None:
            self._last_delivery = loop.time()
        while True:
            with self.lock:
                if self._frames:
                    frames = self._frames
                    self._frames = []
                    self._size = 0
                    self._wake_pending = False
                    if self._thread_waiters:
                        self._room_for_threads.notify_all()
                    if not self._room.is_set():
                        self._room.set()
                    if timeout is not None:
                        self._last_delivery = loop.time()
                    return frames[0] if len(frames) == 1 else b"".join(frames)
                if self._eof or self._gone:
                    self._cancel_idle_timer()
                    return None
                self._wake_pending = False
            if timeout is not None:
                due = self._last_delivery + timeout
                if loop.time() >= due:
                    self._last_delivery = loop.time()
                    return b""
                if self._idle_timer is None:  # one going off before due re-arms from here
                    self._idle_timer = loop.call_at(due, self._idle_timer_went_off)
            # Writers on other threads wake us through call_soon_threadsafe, which runs
            # after this await: creating the waiter outside the lock loses no wake-up.
            waiter = loop.create_future()
            self._waiter = waiter
            try:
                await waiter
            finally:
                self._waiter = None

    def _wake(self) -> None:
        """Resume the consumer if it is waiting (on the loop)."""
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _idle_timer_went_off(self) -> None:
        self._idle_timer = None
        self._wake()

    def _cancel_idle_timer(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None

    def abandon(self) -> None:
        """The consumer left: drop what is buffered and release every waiting writer."""
        with self.lock:
            self._gone = True
            self._frames = []
            self._size = 0
            self._room_for_threads.notify_all()
        self._room.set()
        self._cancel_idle_timer()
        self._wake()
