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

The lane: deltas without the lock
---------------------------------
Under contention a lock that every write takes convoys: a writer preempted (the GIL
switched) while holding it makes every other writer sleep on it, and each hand-off
then costs a context switch. So the commonest write, a delta to a part that is already
open, takes no lock: the writer encodes its frame and appends it to ``lane``, a deque
(one atomic append). That is sound because such a delta changes no state of the
machine, and every step that does change state (under ``lock``) first retires the
lane: ``close_lane_locked`` sets it to None and moves its frames into the buffer, and
``reopen_lane_locked`` installs a fresh deque after the step. A writer reads the lane
*before* the machine's state, appends, then checks the lane is still the one it read.
If it is, its frame is in order: the state it read was current. If not, a step retired
the lane meanwhile; the frame was either moved out before that step (in order), or it
is still in the retired deque, and ``withdraw_from_lane`` takes it back, so the writer
goes the locked way. The consumer moves the lane into the buffer under ``lock`` (no
step runs then); it clears ``_wake_pending`` first, so a frame appended after that
move wakes it again. The byte limit counts the lane's frames too: a writer that takes the
buffer over it moves the lane itself (so the frames count where the waiting looks).
Only frames up to ``LANE_MAX_FRAME`` bytes take the lane. Each frame goes with its
chunk when the context records the message: whoever moves the lane hands the chunks to
``record_lane`` (under the lock, in the frames' order), frames dropped or not.

Direct delivery
---------------
A consumer that passes ``receive`` a ``sink`` (the response's ASGI send) lets a writer
on the loop deliver for it. When a loop-thread write lands in an empty buffer while that
consumer is parked, the wake-up is left out: the writer's awaitable write sends the
frames itself (``after_write``) in the same loop step, which saves the consumer task's
resumption per chunk. The commonest write, a text delta to an open part, goes further:
``claim_direct_locked`` hands the writer the sink before anything is queued, so the
frame goes from the writer straight to the send (no buffer, no lane). One sender at a
time: while a writer sends, the consumer does not (it waits for the writer to finish and
then sends what came meanwhile), and a writer sends only what it found when it started.
One direct send per stream and loop pass: writes made after it in the same pass (a
burst: a model's socket read that held several tokens) are left queued, then taken by
the consumer at the pass's end, merged, in one send. The pass's end is marked by one
callback per loop pass, shared by every stream on the loop (``_Passes``), so a direct
send schedules nothing of its own; the same callback wakes the consumer of a
synchronous write on the loop, which never reaches ``after_write``. An exception from
the writer's send is handed to the consumer, which raises it as if its own send had
failed; the writer carries on as after any delivered write. The lane is moved into the
buffer before every take, direct or not.

When the consumer finds several frames queued (it fell behind), consecutive deltas of
one part are merged into one frame (``_merge``) and everything goes out in one send.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from itertools import repeat
from threading import get_ident
from typing import Any, Final

from uiwire._errors import StreamClosed, StreamStateError
from uiwire.stream._merge import merge_queued

__all__ = ["LANE_MAX_FRAME", "Channel", "LaneItem", "Sink"]

Sink = Callable[[bytes], Awaitable[object]]
"""The consumer's own send, which a writer on the loop may call for it (direct delivery)."""

_THREAD_WAIT_SLICE: Final = 0.25  # seconds; a blocked writer re-checks the loop this often
LANE_MAX_FRAME: Final = 1024  # bytes; a larger frame is pushed under the lock
LaneItem = tuple[bytes, "dict[str, Any] | None"]
"""A lane frame and its chunk (None unless the context records the message)."""
_LOOP_CLOSED: Final = "the event loop serving this stream is closed; the write cannot be delivered"


class _Passes:
    """The passes of one event loop, counted for direct delivery.

    ``current`` changes once per loop pass in which a stream asked for it (``arm``): the
    one callback that changes it is shared by every stream of the loop, so the streams'
    direct sends schedule nothing of their own. Channels registered with ``wake_at_end``
    are told when the pass is over.
    """

    __slots__ = ("__weakref__", "_armed", "_due", "_loop", "current")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.current = 0
        self._armed = False
        self._due: list[Channel] = []
        self._loop = loop

    def arm(self) -> None:
        """Make sure this pass ends with ``current`` changed."""
        if not self._armed:
            self._armed = True
            self._loop.call_soon(self._tick)

    def wake_at_end(self, channel: Channel) -> None:
        """Call ``channel.pass_ended()`` at the end of this pass."""
        self._due.append(channel)
        self.arm()

    def _tick(self) -> None:
        self.current += 1
        self._armed = False
        due = self._due
        if due:
            self._due = []
            for channel in due:
                channel.pass_ended()


_PASSES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Passes] = weakref.WeakKeyDictionary()


def _passes_of(loop: asyncio.AbstractEventLoop) -> _Passes:
    passes = _PASSES.get(loop)
    if passes is None:
        passes = _PASSES[loop] = _Passes(loop)
    return passes


class Channel:
    """Frames from many writers to one consumer, with a byte limit and coalesced wake-ups."""

    def __init__(self, limit: int) -> None:
        self.lock = threading.Lock()  # guards everything below; held for microseconds
        self._room_for_threads = threading.Condition(self.lock)
        self._thread_waiters = 0
        self._limit = limit
        self._frames: list[bytes] = []
        self.lane: deque[LaneItem] | None = deque()  # lock-free deltas; None while a step runs
        # the recorder of the lane's chunks (weak: the context owns the channel)
        self.record_lane: weakref.WeakMethod[Callable[[list[dict[str, Any]]], None]] | None = None
        self._lane_size = 0  # bytes in the lane, about (see append_to_lane)
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
        # the parked consumer's send, while it accepts direct delivery (read-only outside:
        # an unlocked hint for writers on the loop thread; ``claim_direct_locked`` decides)
        self.parked_sink: Sink | None = None
        self._direct_due = False  # a loop write left its frames for its writer to send
        self._passes: _Passes | None = None  # the bound loop's passes, once bound
        self._direct_pass = -1  # the loop pass of this stream's last direct send
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
                self._passes = _passes_of(loop)
        elif self.loop is not loop:
            raise StreamStateError(
                "this stream belongs to another event loop; a StreamContext is used from "
                "the loop that created or first ran it"
            )

    def on_loop_thread(self) -> bool:
        """True on the loop's thread, or if no loop is bound yet (nothing to hand off to)."""
        return self._loop_thread is None or self._loop_thread == threading.get_ident()

    def on_bound_loop(self) -> bool:
        """True when called from the bound loop while it runs: the cheap form of
        ``self.loop is asyncio.get_running_loop()`` (one loop runs per thread at a time,
        and ``get_running_loop`` costs several times more)."""
        loop = self.loop
        return loop is not None and self._loop_thread == get_ident() and loop.is_running()

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

    # --- the lane (see the module docstring) ----------------------------------------------

    def close_lane_locked(self) -> None:
        """Before a step that may change state: retire the lane, its frames go first."""
        lane = self.lane
        self.lane = None
        if lane:
            self._move_lane_locked(lane)

    def reopen_lane_locked(self) -> None:
        """After the step: a fresh lane, unless no frame can come any more."""
        if not (self._gone or self._eof):
            self.lane = deque()

    def move_lane_locked(self) -> None:
        """Move the open lane's frames into the buffer (they count towards the limit)."""
        lane = self.lane
        if lane:
            self._move_lane_locked(lane)

    def _move_lane_locked(self, lane: deque[LaneItem]) -> None:
        # popleft, not a copy and a clear, so a frame appended meanwhile is kept (for
        # the next move); only lock holders take frames out, so len() of them are there
        self._lane_size = 0
        record = None if self.record_lane is None else self.record_lane()
        if len(lane) == 1:  # the common case (a reader keeping up): no lists to build
            frame, chunk = lane.popleft()
            if record is not None and chunk is not None:
                record([chunk])
            if not (self._gone or self._eof):
                self._frames.append(frame)
                self._size += len(frame)
            return
        take = lane.popleft
        items = [take() for _ in repeat(None, len(lane))]
        if record is not None:
            record([chunk for _, chunk in items if chunk is not None])
        if self._gone or self._eof:
            return
        frames = [frame for frame, _ in items]
        self._frames += frames
        self._size += sum(map(len, frames))

    def append_to_lane(self, lane: deque[LaneItem], item: LaneItem) -> bool:
        """Append ``item`` to ``lane`` (read before the state its frame was made from).

        True: the frame is in order and will be delivered. False: a step retired the
        lane meanwhile and the frame was taken back; nothing was sent, so make the write
        again the locked way. Wakes the consumer; over the limit, moves the lane into
        the buffer, where the writer's wait for room counts it.
        """
        lane.append(item)
        if self.lane is not lane and self.withdraw_from_lane(lane, item):
            return False
        # unlocked, so two threads may lose an addition: the count is exact again once
        # moved, and only the limit's precision, not delivery, depends on it
        self._lane_size += len(item[0])
        if self._attached and self._size + self._lane_size > self._limit:
            with self.lock:  # count them now, so the writer's limit check sees them
                self.move_lane_locked()
                self._wake_locked()
        elif not self._wake_pending:
            # unlocked: two writers may both wake the consumer, which is harmless; a frame
            # appended after the consumer cleared the flag sees it cleared (see receive)
            self._wake_locked()
        return True

    def withdraw_from_lane(self, lane: deque[LaneItem], item: LaneItem) -> bool:
        """Take ``item`` (this very object) back from a retired lane; False if it was moved."""
        with self.lock:  # only lock holders take items out: indexes stay put while we look
            # a copy (one C call): late writers may append to the retired lane meanwhile,
            # which would break iterating the deque itself, but never shifts an index
            for index, queued in enumerate(list(lane)):
                if queued is item:
                    del lane[index]
                    return True
        return False

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
                    self._wake_pending = False  # before the lane moves: a later frame wakes us
                    self.move_lane_locked()
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
            self.parked_sink = sink
            try:
                await waiter
            finally:
                self._waiter = None
                self.parked_sink = None
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
            self.parked_sink is None
            or waiter is None
            or waiter.done()
            or self._sending
            or self._eof
            or self._gone
        ):
            self._wake()
            return
        passes = self._passes
        assert passes is not None
        if passes.current == self._direct_pass:  # this pass sent already: the rest of a
            passes.wake_at_end(self)  # burst waits for the pass's end, merged, one send
            return
        self._direct_pass = passes.current
        self._direct_due = True
        passes.wake_at_end(self)  # a sync write never sends itself: the reader takes it

    def pass_ended(self) -> None:
        """The loop pass is over (``_Passes``): the reader takes what was left (a sync
        write that never sends itself, the rest of a burst)."""
        if self._direct_due or self._frames or self.lane:
            self._direct_due = False
            self._wake()

    def claim_direct_locked(self) -> bool:
        """Under ``lock``, on the loop thread: may a writer send one frame that it has not
        queued through ``parked_sink`` itself? Yes when nothing is queued, nobody sends,
        the consumer is parked and this stream sent nothing directly in this loop pass.
        After a yes the writer must call ``end_direct_send`` (sent, or failed)."""
        waiter = self._waiter
        passes = self._passes
        if (
            self.parked_sink is None
            or waiter is None
            or waiter.done()
            or self._sending
            or self._frames
            or self.lane
            or self._direct_due
            or self._eof
            or self._gone
            or self._send_error is not None
            or passes is None
            or passes.current == self._direct_pass
        ):
            return False
        self._sending = True
        self._direct_pass = passes.current
        passes.arm()
        self._last_delivery = self._time()
        return True

    async def send_claimed(self, sink: Sink, frame: bytes) -> None:
        """Send ``frame`` through ``sink`` after ``claim_direct_locked`` said yes."""
        error: Exception | None = None
        try:
            await sink(frame)
        except Exception as exc:  # the consumer's send failed: the consumer raises it
            error = exc
        finally:
            self.end_direct_send(error)

    def end_direct_send(self, error: Exception | None = None) -> None:
        """A writer's direct send is over (``error``: it failed; the consumer raises it)."""
        self._sending = False
        if error is not None:
            self._send_error = error
        if self._frames or self.lane or self._eof or self._gone or self._send_error is not None:
            self._wake()

    def writer_must_wait(self) -> bool:
        """True when an awaitable write must call ``after_write``: frames it should send
        itself, or a buffer over the limit. An unlocked peek on the loop thread."""
        return self._direct_due or (self._attached and not self._gone and self._size > self._limit)

    async def after_write(self) -> None:
        """The tail of an awaitable write that queued its frames: send what it left for
        itself, then wait for room (a write under the limit calls neither)."""
        if self._direct_due:
            data = b""
            with self.lock:
                self.move_lane_locked()
                sink = self.parked_sink
                self._direct_due = False
                if sink is None or self._sending or not self._frames or self._gone:
                    sink = None
                    self._wake()
                else:
                    self._sending = True
                    data = self._take_locked()
                    self._last_delivery = self._time()
            if sink is not None:
                await self.send_claimed(sink, data)
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
            self.close_lane_locked()  # its chunks are still recorded; its frames dropped
            self._frames = []
            self._size = 0
            self._room_for_threads.notify_all()
        self._room.set()
        self._cancel_idle_timer()
        self._wake()
