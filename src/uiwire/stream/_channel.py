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

Direct delivery
---------------
A consumer that passes ``receive`` a ``sink`` (the response's ASGI send) lets a writer
on the loop deliver for it. When a loop-thread write lands in an empty buffer while that
consumer is parked, the wake-up is left out: the writer's awaitable write sends the
frames itself (``after_write``) in the same loop step, which saves the consumer task's
resumption per chunk. One sender at a time: while a writer sends, the consumer does not
(it waits for the writer to finish and then sends what came meanwhile), and a writer
sends only what it found when it started. One direct send per loop pass: a ``call_soon``
marks the pass's end, and writes made before it (a burst: a model's socket read that
held several tokens) are left queued, then taken by the consumer at the pass's end,
merged, in one send. That callback also covers a synchronous write on the loop, which
never reaches ``after_write``. An exception from the writer's send is handed to the consumer, which raises it as
if its own send had failed; the writer carries on as after any delivered write.

When the consumer finds several frames queued (it fell behind), consecutive deltas of
one part are merged into one frame (``_merge``) and everything goes out in one send.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Final

from uiwire._errors import StreamClosed, StreamStateError
from uiwire.stream._merge import merge_queued

__all__ = ["Channel", "Sink"]

Sink = Callable[[bytes], Awaitable[object]]
"""The consumer's own send, which a writer on the loop may call for it (direct delivery)."""

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
        # direct delivery (loop thread only): see the module docstring
        self._sink: Sink | None = None  # the parked consumer's send, while it accepts one
        self._direct_due = False  # a loop write left its frames for its writer to send
        self._pass_open = False  # a direct send happened in this loop pass (burst: merge)
        self._sending = False  # a writer is sending: the consumer does not meanwhile
        self._send_error: BaseException | None = None  # a writer's send failed: consumer raises
        self._time: Callable[[], float] = time.monotonic  # the bound loop's clock, once bound

    # --- binding ---------------------------------------------------------------------

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Tie the channel to the running loop; call from the loop's thread."""
        if self.loop is None:
            with self.lock:  # the thread first: writers that see the loop see its thread
                self._loop_thread = threading.get_ident()
                self.loop = loop
                self._time = loop.time
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
            self._wake_for_loop_write()
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

    async def receive(self, timeout: float | None = None, sink: Sink | None = None) -> bytes | None:
        """Everything buffered, joined; ``b""`` after ``timeout`` idle seconds; None at the end.

        Idle means nothing delivered for ``timeout`` seconds. One timer per idle period
        tracks it (re-armed only when it goes off early), not one per call: a stream
        delivering every few milliseconds would otherwise create and cancel a timer per
        frame. With ``sink``, writers on the loop may deliver through it while this call
        waits (direct delivery; see the module docstring); it returns only what they left.
        """
        loop = self.loop
        assert loop is not None, "bind() first"
        if self._last_delivery is None:
            self._last_delivery = loop.time()
        while True:
            with self.lock:
                error = self._send_error
                if error is not None:
                    self._send_error = None
                    raise error
                if not self._sending:  # a writer is sending: its frames go first
                    if self._frames:
                        if timeout is not None:
                            self._last_delivery = loop.time()
                        return self._take_locked()
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
            self._sink = sink
            try:
                await waiter
            finally:
                self._waiter = None
                self._sink = None
                if self._direct_due:  # left for a writer that never came: ours now
                    self._direct_due = False

    def _take_locked(self) -> bytes:
        """Empty the buffer (under ``lock``): its frames, merged and joined for one send."""
        frames = self._frames
        self._frames = []
        self._size = 0
        self._wake_pending = False
        if self._thread_waiters:
            self._room_for_threads.notify_all()
        if not self._room.is_set():
            self._room.set()
        return frames[0] if len(frames) == 1 else merge_queued(frames)

    # --- direct delivery (the loop) ------------------------------------------------------

    def _wake_for_loop_write(self) -> None:
        """A write on the loop thread: leave its frames to the writer when the consumer is
        parked and accepts direct delivery; otherwise wake the consumer."""
        waiter = self._waiter
        if (
            self._sink is None
            or waiter is None
            or waiter.done()
            or self._sending
            or self._eof
            or self._gone
        ):
            self._wake()
            return
        if self._pass_open:  # a write of this pass sends already: the rest of a burst
            return  # waits for the pass's end and goes out merged, in one send
        self._pass_open = True
        self._direct_due = True
        assert self.loop is not None
        self.loop.call_soon(self._end_pass)

    def _end_pass(self) -> None:
        """The loop pass of a direct send is over: the reader takes what was left (a sync
        write that never sends itself, the rest of a burst)."""
        self._pass_open = False
        if self._direct_due or self._frames:
            self._direct_due = False
            self._wake()

    def writer_must_wait(self) -> bool:
        """True when an awaitable write must call ``after_write``: frames it should send
        itself, or a buffer over the limit. An unlocked peek on the loop thread."""
        return self._direct_due or (self._attached and not self._gone and self._size > self._limit)

    async def after_write(self) -> None:
        """The tail of an awaitable write: send what it left for itself, wait for room.

        One coroutine for both (the hot path of every streamed token), so a write that
        sends pays for no second coroutine, and one under the limit for none at all.
        """
        if self._direct_due:
            data = b""
            with self.lock:
                sink = self._sink
                self._direct_due = False
                if sink is None or self._sending or not self._frames or self._gone:
                    sink = None
                    self._wake()
                else:
                    self._sending = True
                    data = self._take_locked()
                    self._last_delivery = self._time()
            if sink is not None:
                try:
                    await sink(data)
                except Exception as exc:  # the consumer's send failed: the consumer raises it
                    self._send_error = exc
                finally:
                    self._sending = False
                    if self._frames or self._eof or self._gone or self._send_error is not None:
                        self._wake()
        while self._attached and not self._gone and self._size > self._limit:
            self._room.clear()
            await self._room.wait()

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
