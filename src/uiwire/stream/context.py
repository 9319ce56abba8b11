"""``StreamContext``: the push API, with the stream's whole lifecycle handled for you.

Theory of operation
-------------------
A context owns one lifecycle machine, one frame channel and (with ``collect``) one
message collector. Every write, awaited on the loop or called through ``ctx.sync`` from
any thread, runs the same ``_apply``: under the channel's lock it steps the machine,
encodes the chunks, appends the frames and feeds the collector, so all three see one
order. The lock covers that microsecond step only: never I/O, never the consumer.
The commonest write, a text delta to a part already open, changes no state: it skips
the lock and goes through the channel's lane (``_text_on_lane``; the ``_channel``
docstring says why the order still holds), so writer threads do not convoy on the lock.

The stream's end is settled by two independent facts:

* the **outcome**: the machine ended (``finish``/``abort``/``error``), which seals the
  record and queues ``[DONE]``;
* the **delivery**: the consumer handed the last byte to the transport, or it left.

When both hold, ``on_close(record, status)`` runs once, in its own task (a sync hook
in a worker thread), so it never delays ``[DONE]`` or the end of the response.

``run(work)`` drives the work in a task it keeps a reference to: a normal return sends
``finish``, an exception is logged and sent as one masked ``error``, and a client
disconnect cancels the task (unless ``on_disconnect="continue"``).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import threading
import weakref
from collections.abc import (
    AsyncGenerator,
    Awaitable,
    Callable,
    Coroutine,
    Hashable,
    Mapping,
    Sequence,
)
from typing import Any, Final, Generic, Literal

from pydantic import BaseModel, ConfigDict
from typing_extensions import TypeVar as DefaultTypeVar

from uiwire._errors import SteeringQueueFull, StreamClosed, StreamStateError, TargetError
from uiwire.protocol.encode import (
    DONE_FRAME,
    KEEP_ALIVE_FRAME,
    UI_MESSAGE_STREAM_HEADERS,
    encode_chunks,
    encode_reasoning_delta,
    encode_text_delta,
)
from uiwire.protocol.machine import EndReason, StreamMachine
from uiwire.protocol.targets import DEFAULT_TARGET, Target
from uiwire.protocol.ui_message import SteeringMessageUIPart, UIMessage
from uiwire.stream._channel import LANE_MAX_FRAME, Channel, Sink
from uiwire.stream._write_target import WriteTarget
from uiwire.stream.record import Collector, StreamRecord, StreamStatus, Usage
from uiwire.stream.state import SharedState
from uiwire.stream.watchdog import (
    blocking_threshold,
    unwatch_loop,
    unwatch_loop_soon,
    watch_loop,
)
from uiwire.stream.writer import Step, SyncWriter

__all__ = [
    "DEFAULT_MAX_BUFFERED_BYTES",
    "MAX_PENDING_STEERING",
    "NoInfo",
    "OnClose",
    "OnDisconnect",
    "OnError",
    "StopMode",
    "StreamContext",
]

logger = logging.getLogger("uiwire")

DEFAULT_MAX_BUFFERED_BYTES: Final = 256 * 1024
"""Bytes a context buffers for a slow client before writers wait (about 4,000 deltas)."""

UNSTARTED_WARNING_SECONDS = 5.0
"""Seconds a stream may be read with no work started and nothing written before a
warning says so (the usual cause: its response was returned without ``ctx.run``).
A plain module variable, so tests can shorten it."""

OnDisconnect = Literal["cancel", "continue"]

MAX_PENDING_STEERING: Final = 16
"""Steering messages one answer queues for its next step; more raise
``SteeringQueueFull`` (the steer route answers 429): a client cannot grow the queue."""

StopMode = Literal["immediate", "after_turn"]
"""How a stop ends an answer: at once, or once the current model call and its tools are
done (where the work can: ``StreamContext.add_graceful_stop``)."""

AFTER_TURN_REASON: Final = "stopped after the turn"
"""The ``abort`` reason of an answer a graceful stop ended."""


class NoInfo(BaseModel):
    """The ``info`` of a context created without one."""

    model_config = ConfigDict(frozen=True)


InfoT = DefaultTypeVar("InfoT", bound=BaseModel, default=NoInfo)

OnClose = Callable[[StreamRecord, StreamStatus], Any]
"""``on_close(record, status)``, once the stream is closed: ended and delivered (or its
client gone), what ``wait_closed`` waits for. An ``async def`` is awaited, a plain
function runs in a worker thread; its exceptions are logged. (``ChatEndpoint``'s
``on_finish`` is another hook: it gets a ``ChatResult``.)"""
OnError = Callable[[BaseException], "str | None"]
"""``on_error(exc)`` returns the text the client sees, or None for the default."""

_background: set[asyncio.Task[Any]] = set()  # tasks nobody else holds a reference to


def _spawn(
    loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], name: str
) -> asyncio.Task[Any]:
    task = loop.create_task(coro, name=name)
    _background.add(task)
    task.add_done_callback(_background.discard)
    return task


class StreamContext(WriteTarget, Generic[InfoT]):
    """One assistant message streamed to ``useChat``, written from anywhere.

    Pass it through your service layers; call ``await ctx.write_text(...)`` and friends
    from async code, ``ctx.sync.write_text(...)`` from threads and sync callbacks. Start
    the work with ``ctx.run(work)`` and return ``UIMessageStreamResponse(ctx)``.

    Arguments:
        info: a frozen pydantic model of request facts (user, tenant, ...), read-only.
        message_id: the assistant message id; defaults to a fresh unguessable one.
        target: the AI SDK major version of the client (``"v5"``, ``"v6"``, ``"v7"``).
        continued_message: the assistant ``UIMessage`` this response continues
            (approvals, client-side tool results), or a dict validated as one; its id
            is reused.
        state: initial contents of ``ctx.state``.
        collect: keep the assembled message in ``ctx.record``; on with ``on_close``.
        on_close: ``on_close(record, status)``, once, after the last byte.
        on_error: ``on_error(exc) -> str | None``, the text the client sees for ``exc``.
        on_disconnect: ``"cancel"`` the work when the client leaves, or ``"continue"``
            it to the end (so ``on_close`` can persist the whole message).
        max_buffered_bytes: the buffer limit for a slow client; over it, async writers
            wait and thread writers block their own thread.
        detect_blocking: warn when the event loop is blocked longer than this many
            seconds while the stream is open (True: 0.1 s); default from the
            ``UIWIRE_DETECT_BLOCKING`` environment variable.
    """

    _logged_as = ("stream", "the client was sent")

    def __init__(
        self,
        info: InfoT | None = None,
        *,
        message_id: str | None = None,
        target: Target = DEFAULT_TARGET,
        continued_message: UIMessage | Mapping[str, Any] | None = None,
        state: Mapping[str, Any] | None = None,
        collect: bool | None = None,
        on_close: OnClose | None = None,
        on_error: OnError | None = None,
        on_disconnect: OnDisconnect = "cancel",
        max_buffered_bytes: int = DEFAULT_MAX_BUFFERED_BYTES,
        detect_blocking: float | bool | None = None,
    ) -> None:
        self._info: Any = _check_info(info)
        self._machine = StreamMachine(
            message_id=message_id, target=target, continued_message=continued_message
        )
        if collect is None:
            collect = on_close is not None
        elif collect is False and on_close is not None:
            raise ValueError("on_close receives the record, so it needs collect=True")
        if on_close is not None and not callable(on_close):
            raise TypeError(f"on_close must be callable; got {type(on_close).__name__}")
        if on_error is not None and not callable(on_error):
            raise TypeError(f"on_error must be callable; got {type(on_error).__name__}")
        if on_disconnect not in ("cancel", "continue"):
            raise ValueError(f"on_disconnect must be 'cancel' or 'continue'; got {on_disconnect!r}")
        if type(max_buffered_bytes) is not int or max_buffered_bytes < 1:
            raise ValueError(
                f"max_buffered_bytes must be a positive int; got {max_buffered_bytes!r}"
            )
        if state is not None and not isinstance(state, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"state must be a mapping; got {type(state).__name__}")
        self._collector = (
            Collector(
                target=self._machine.target,
                message_id=self._machine.message_id,
                continued_message=continued_message,
            )
            if collect
            else None
        )
        self._state = SharedState(dict(state) if state else None)
        self._on_close = on_close
        self._on_error = on_error
        self._on_disconnect: OnDisconnect = on_disconnect
        self._blocking_threshold = blocking_threshold(detect_blocking)
        self._channel = Channel(max_buffered_bytes)
        if self._collector is not None:
            self._channel.record_lane = weakref.WeakMethod(self._record_lane_chunks)
        # weak: a writer held by a thread must not keep the context alive, and a strong
        # reference would make every context a cycle left to the collector's full passes
        self._writer = SyncWriter(weakref.proxy(self), blocking=False)
        self._sync = SyncWriter(weakref.proxy(self), blocking=True)
        self._task: asyncio.Task[None] | None = None
        self._record: StreamRecord | None = None
        self._closed_reason: str | None = None  # set when writes can no longer arrive
        self._cancelled = threading.Event()
        self._cancel_callbacks: list[Callable[[], object]] = []
        self._graceful_stops: list[Callable[[], object]] = []
        self._stopped_after_turn = False
        self._steering: list[SteeringMessageUIPart] = []  # under the channel's lock
        self._not_delivered: tuple[SteeringMessageUIPart, ...] = ()  # set when it ends
        self._consumer_gone = False
        self._delivered = False
        self._unwatch_on_drop: weakref.finalize[Any, Any] | None = None  # set while watched
        self._finalizing = False
        self._status: StreamStatus | None = None
        self._done = asyncio.Event()
        with contextlib.suppress(RuntimeError):  # outside a loop: bound on first async use
            self._channel.bind(asyncio.get_running_loop())

    # --- read-only facts -----------------------------------------------------------------

    @property
    def info(self) -> InfoT:
        """The request facts given at creation (user, tenant, ...): a frozen pydantic
        model, read-only from every coroutine and thread. Mutable state is ``state``."""
        return self._info

    @property
    def state(self) -> SharedState:
        """This stream's mutable state, shared by its writers: dot-path ``get``/``set``/
        ``update``, from any thread. Seeded by ``StreamContext(state=...)``."""
        return self._state

    @property
    def current_text_id(self) -> str | None:
        """The wire id of the open (unkeyed) text part, if any."""
        with self._channel.lock:
            return self._machine.open_text_id()

    @property
    def current_reasoning_id(self) -> str | None:
        """The wire id of the open (unkeyed) reasoning part, if any."""
        with self._channel.lock:
            return self._machine.open_reasoning_id()

    @property
    def is_finished(self) -> bool:
        """True once the stream has ended (``finish``, ``abort`` or ``error`` was queued)."""
        return self._machine.ended is not None

    @property
    def status(self) -> StreamStatus | None:
        """How the stream closed (what ``on_close`` gets): ``finish``, ``abort``,
        ``error`` or ``disconnect``; None until it is ended and delivered (or its client
        gone)."""
        return self._status

    @property
    def cancelled(self) -> bool:
        """True once the client left and the work is being cancelled.

        Thread workers cannot be cancelled from outside: poll this, or stop on the
        ``StreamClosed`` their next write raises.
        """
        return self._cancelled.is_set()

    @property
    def record(self) -> StreamRecord | None:
        """The sealed record (with ``collect``), once the stream has ended; else None."""
        return self._record

    @property
    def response_headers(self) -> dict[str, str]:
        """The UI message stream headers, for a response you build yourself."""
        return dict(UI_MESSAGE_STREAM_HEADERS)

    @property
    def sync(self) -> SyncWriter:
        """The same writes as plain methods, callable from any thread (see ``SyncWriter``)."""
        return self._sync

    def add_usage(self, usage: Usage) -> None:
        """Add token counts to the record's ``usage`` (any thread)."""
        if not isinstance(usage, Usage):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"usage must be a uiwire.Usage; got {type(usage).__name__}")
        with self._channel.lock:
            if self._collector is not None:
                self._collector.usage = self._collector.usage + usage

    # --- the writes (awaitable; ``ctx.sync`` has the same ones for threads) -----------------

    def _writer_on_loop(self, what: str) -> SyncWriter:
        self._bind_here(what)
        return self._writer

    def _over_limit(self) -> bool:
        # an unlocked peek; over the limit, or frames this write is to send itself
        return self._channel.writer_must_wait()

    def _wait_for_room(self) -> Coroutine[Any, Any, None]:
        return self._channel.after_write()

    async def write_text(self, text: str, *, key: Hashable = None) -> None:
        """Append ``text`` to the current text part, opening one if needed.

        ``key`` names a part to keep open beside others (interleaved fields); such a part
        stays open until ``end_text(key=...)``, the step or the stream ends. (The
        hottest write, so spelled out rather than generated: no argument packing, no
        trip through ``ctx.sync``'s method.)
        """
        channel = self._channel
        if not channel.on_bound_loop():
            self._bind_here("write_text")
        sink = channel.parked_sink
        if sink is not None:  # straight to the parked reader's send (send_claimed, inline)
            frame = self._claim_direct_delta(False, text, key)
            if frame is not None:
                error: Exception | None = None
                try:
                    await sink(frame)
                except Exception as exc:  # the reader's send failed: the reader raises it
                    error = exc
                finally:
                    channel.end_direct_send(error)
                return
        if not self._text_on_lane(text, key):  # the loop runs: no need to check it is open
            self._apply(lambda m: m.text_delta(text, key=key))
        if channel.writer_must_wait():  # frames to send itself, or a consumer behind
            await channel.after_write()

    async def write_reasoning(self, text: str, *, key: Hashable = None) -> None:
        """Append ``text`` to the current reasoning part, opening one if needed (spelled
        out for the same reason as ``write_text``)."""
        channel = self._channel
        if not channel.on_bound_loop():
            self._bind_here("write_reasoning")
        sink = channel.parked_sink
        if sink is not None:  # straight to the parked reader's send
            frame = self._claim_direct_delta(True, text, key)
            if frame is not None:
                await channel.send_claimed(sink, frame)
                return
        self._apply(lambda m: m.reasoning_delta(text, key=key))
        if channel.writer_must_wait():  # frames to send itself, or a consumer behind
            await channel.after_write()

    # the other writes are inherited: the awaitable form of each ``SyncWriter`` method

    # --- running work ----------------------------------------------------------------------

    def run(
        self, work: Awaitable[object] | Callable[[StreamContext[InfoT]], Awaitable[object]]
    ) -> None:
        """Start ``work`` in the background and return at once.

        ``work`` is an awaitable (``ctx.run(answer(ctx, question))``) or an async function
        taking the context (``ctx.run(answer)``). When it returns, the stream finishes
        (unless it ended the stream itself); if it raises, the traceback is logged and
        the client gets one masked ``error``. The task is kept referenced; starting a
        second work raises ``StreamStateError``.
        """
        try:
            loop = self._bind_here("run")
            if self._task is not None:
                raise StreamStateError("work was already started on this stream; run() it once")
            if self._machine.ended is not None:
                raise StreamStateError(f"the stream has already ended ({self._machine.ended})")
        except StreamStateError:
            _discard(work)
            raise
        if callable(work) and not inspect.isawaitable(work):
            produced = work(self)
            if not inspect.isawaitable(produced):
                raise TypeError(
                    f"work(ctx) returned {type(produced).__name__}, not an awaitable: pass an "
                    "async function, or run sync code with asyncio.to_thread"
                )
            work = produced
        elif not inspect.isawaitable(work):
            raise TypeError(
                "work must be an awaitable or an async function taking the context; got "
                f"{type(work).__name__}"
            )
        self._task = _spawn(loop, self._drive(work), name=f"uiwire-work-{self.message_id}")
        self._task.add_done_callback(lambda _: _discard(work))  # never started: no warning
        self._watch()

    async def run_and_wait(
        self, work: Awaitable[object] | Callable[[StreamContext[InfoT]], Awaitable[object]]
    ) -> EndReason:
        """``run(work)``, then wait until the work is done and the stream has ended.

        Returns how it ended (``"finish"``, ``"abort"`` or ``"error"``); the work's own
        exception is not raised again (it was logged and sent, and is in
        ``ctx.record.exception``). ``ctx.record`` is complete on return. Cancelling this
        call cancels the work. Delivery to the client is separate: ``on_close`` may
        run later (``wait_closed`` waits for it).
        """
        self.run(work)
        task = self._task
        assert task is not None
        await task
        ended = self._machine.ended
        assert ended is not None
        return ended

    async def wait_closed(self) -> None:
        """Wait until everything about this stream is over, ``on_close`` included."""
        await self._done.wait()

    async def _drive(self, work: Awaitable[object]) -> None:
        try:
            await work
        except asyncio.CancelledError:
            self._stop_writers("the work was cancelled")
            self._end_quietly(lambda m: m.abort())
            if not self._cancelled_by_disconnect():
                raise  # cancelled by someone else: let them see it
        except BaseException as exc:
            if isinstance(exc, StreamClosed) and self._cancelled_by_disconnect():
                self._end_quietly(lambda m: m.abort())  # a write after the client left
                return
            text = self._error_text(exc, what="the stream's work")
            self._end_quietly(lambda m: m.error(text), exc)
            if not isinstance(exc, Exception):
                raise
        else:
            if self._stopped_after_turn:  # it ended early, as the stop asked
                self._end_quietly(lambda m: m.abort(AFTER_TURN_REASON))
            else:
                self._end_quietly(lambda m: m.finish())

    def _end_quietly(self, step: Step, exception: BaseException | None = None) -> None:
        """End the stream unless it already ended (a thread, or the work, may have)."""
        self._apply(lambda m: [] if m.ended else step(m), exception=exception, force=True)

    def _cancelled_by_disconnect(self) -> bool:
        return self._consumer_gone and self._on_disconnect == "cancel"

    def _stop_writers(self, reason: str) -> None:
        """From now on writes raise ``StreamClosed``; threads see ``ctx.cancelled``; the
        cancel callbacks run (once)."""
        with self._channel.lock:
            if self._closed_reason is None:
                self._closed_reason = reason
        self._cancelled.set()
        callbacks, self._cancel_callbacks = self._cancel_callbacks, []
        for callback in callbacks:
            self._call_cancel_callback(callback)

    def _call_cancel_callback(self, callback: Callable[[], object]) -> None:
        try:
            callback()
        except Exception:
            logger.exception("a cancel callback of stream %s raised", self.message_id)

    def add_cancel_callback(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Call ``callback()`` the moment the work is cancelled (the client left and
        ``on_disconnect`` is ``"cancel"``, or ``cancel()``), in the same loop step, before
        the work's task sees its ``CancelledError``; at once if it already is.

        For work that runs in tasks of its own, such as a framework's run loop: cancelling
        it here leaves it no loop step in which to start a model request or a tool. Call
        on the loop; returns a function that removes the callback (call it when that work
        is over). An exception the callback raises is logged.
        """
        if not callable(callback):
            raise TypeError(f"callback must be callable; got {type(callback).__name__}")
        if self._cancelled.is_set():
            self._call_cancel_callback(callback)
            return _nothing_to_remove
        self._cancel_callbacks.append(callback)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._cancel_callbacks.remove(callback)

        return remove

    # --- consuming -------------------------------------------------------------------------

    async def stream(
        self, *, keep_alive: float | None = None, sink: Sink | None = None
    ) -> AsyncGenerator[bytes, None]:
        """The SSE body, as bytes: every buffered frame per item, ``[DONE]`` last.

        ``keep_alive`` seconds of silence yield an SSE comment (the client ignores it).
        Stopping the iteration before the end counts as a client disconnect. One reader.
        ``sink``: the reader's own send (``async def sink(data)``); writers on the loop
        then deliver through it while the reader waits (direct delivery, see
        ``_channel``), and only what they leave is yielded.
        """
        loop = self._bind_here("stream")
        if keep_alive is not None and not keep_alive > 0:
            raise ValueError(f"keep_alive must be a positive number of seconds; got {keep_alive!r}")
        self._channel.attach()
        self._watch()
        unstarted = loop.call_later(UNSTARTED_WARNING_SECONDS, self._warn_if_unstarted)
        complete = False
        try:
            while True:
                data = await self._channel.receive(keep_alive, sink)
                if data is None:
                    complete = not self._consumer_gone
                    return
                yield data or KEEP_ALIVE_FRAME
        finally:
            unstarted.cancel()
            if complete:
                self._delivered = True
                self._settle()
            else:
                self.disconnect()

    def _warn_if_unstarted(self) -> None:
        """A reader has waited ``UNSTARTED_WARNING_SECONDS`` for a stream nobody writes:
        without this, the client gets keep-alives for ever and nobody learns why."""
        machine = self._machine
        if self._task is not None or machine.started or machine.ended or self._consumer_gone:
            return
        logger.warning(
            "stream %s: read for %g s, but no work was started and nothing was written, so "
            "the client gets only keep-alives. Start the work with ctx.run(work) before "
            "returning the response.",
            self.message_id,
            UNSTARTED_WARNING_SECONDS,
        )

    def disconnect(self) -> None:
        """The client is gone, or will never read: stop delivering.

        The work is cancelled (unless ``on_disconnect="continue"``), further writes raise
        ``StreamClosed``, and ``on_close`` gets status ``"disconnect"``. Called for you
        by the response and by ``stream()``; call it yourself if you create a context and
        never return its response. Idempotent; call it on the loop.
        """
        if self._consumer_gone or self._delivered:
            return
        self._bind_here("disconnect")
        self._consumer_gone = True
        self._channel.abandon()
        if self._cancelled_by_disconnect():
            self._stop_writers("the client disconnected and the work is being cancelled")
            # ends the stream now, even if the work task never gets to run its first step
            self._end_quietly(lambda m: m.abort())
            task = self._task
            if task is not None and not task.done():
                task.cancel()
        self._settle()

    def cancel(self) -> None:
        """Stop the work and end the stream with ``abort``, which is still delivered.

        For a stop button that is not a disconnect: the work task is cancelled, further
        writes raise ``StreamClosed`` (threads see ``ctx.cancelled``), and the reader gets
        the open parts closed, ``abort`` and ``[DONE]``. A no-op once the stream has
        ended on its own. Call it on the loop.
        """
        self._bind_here("cancel")
        if self._machine.ended is not None and (self._task is None or self._task.done()):
            return
        self._stop_writers("the stream was cancelled")
        self._end_quietly(lambda m: m.abort())
        task = self._task
        if task is not None and not task.done():
            task.cancel()

    def stop(self, mode: StopMode = "immediate") -> None:
        """Stop the work: at once (``"immediate"``: ``cancel()``), or let it finish its
        current turn (``"after_turn"``: the model call under way and its tools, then no
        more), where the work registered how with ``add_graceful_stop``; other work is
        cancelled at once. A gracefully stopped stream ends with ``abort`` (reason
        ``"stopped after the turn"``) and keeps all it wrote. Call it on the loop."""
        if mode not in ("immediate", "after_turn"):
            raise ValueError(f"mode must be 'immediate' or 'after_turn'; got {mode!r}")
        self._bind_here("stop")
        if mode == "immediate" or not self._graceful_stops or self._cancelled.is_set():
            self.cancel()
            return
        if self._machine.ended is not None:
            return
        self._stopped_after_turn = True
        for callback in list(self._graceful_stops):
            self._call_cancel_callback(callback)

    @property
    def stopped(self) -> bool:
        """The work was cancelled (``cancelled``) or a graceful stop is ending it."""
        return self.cancelled or self._stopped_after_turn

    def add_graceful_stop(self, callback: Callable[[], object]) -> Callable[[], None]:
        """Call ``callback()`` when a stop asks the work to finish its current turn
        (``stop("after_turn")``): e.g. the Agents SDK's ``result.cancel(mode="after_turn")``.
        Without one, such a stop cancels the work at once. Returns a function that removes
        it; an exception it raises is logged."""
        if not callable(callback):
            raise TypeError(f"callback must be callable; got {type(callback).__name__}")
        self._graceful_stops.append(callback)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._graceful_stops.remove(callback)

        return remove

    # --- steering ---------------------------------------------------------------------------

    def steer(self, message: SteeringMessageUIPart) -> bool:
        """Queue a user message for this answer (AI SDK 7 steering): the work hands it to
        its model at its next step boundary with ``take_steering``, which shows it too.

        True when queued; False when the answer has ended or been stopped (nothing will
        take it). Messages still queued when the answer ends were not delivered: they are
        logged by id, appear nowhere in the message, and are in the record's
        ``steering_not_delivered``. Raises ``SteeringQueueFull`` when
        ``MAX_PENDING_STEERING`` already wait, and ``TargetError`` unless the target is
        ``"v7"`` (older clients reject the chunk). From the loop or any thread."""
        if self.target != "v7":
            raise TargetError(
                f"steering needs target 'v7': AI SDK {self.target} clients reject the "
                "steering-message chunk",
                target=self.target,
                chunk_type="steering-message",
                field=None,
            )
        if not isinstance(message, SteeringMessageUIPart):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(
                f"message must be a SteeringMessageUIPart; got {type(message).__name__}"
            )
        check_steering(message)  # now, not half-way through the take that shows it
        with self._channel.lock:
            if self._machine.ended is not None or self._closed_reason is not None:
                return False
            if self.stopped:
                return False
            if len(self._steering) >= MAX_PENDING_STEERING:
                raise SteeringQueueFull(
                    f"{MAX_PENDING_STEERING} steering messages already wait for the "
                    "answer's next step"
                )
            self._steering.append(message)
        return True

    @property
    def pending_steering(self) -> int:
        """How many steering messages wait for the work's next step boundary."""
        return len(self._steering)

    def take_steering(self, *, show: bool = True) -> list[SteeringMessageUIPart]:
        """At a step boundary (before a model call), the steering messages queued since
        the last take, for the work to add to the model's input as user messages; each is
        written to the stream as it is handed over (the open step closed first, so the
        ``steering-message`` chunk lands right before the next ``start-step``, where
        ``streamText`` puts it). Nothing is shown that the model does not get: call it
        only where the messages will be sent. An empty list when none wait. From the
        loop or any thread.

        ``show=False`` leaves the showing to ``show_steering``, for work whose model
        calls run ahead of what it has written (the Agents SDK's run loop): the messages
        are then shown where that model call's output begins."""
        taken: list[SteeringMessageUIPart] = []
        if not show:
            with self._channel.lock:
                taken, self._steering = self._steering, []
            return taken

        def step(machine: StreamMachine) -> list[dict[str, Any]]:
            if not self._steering:
                return []
            taken.extend(self._steering)
            self._steering.clear()
            return _steering_chunks(machine, taken)

        if self._steering:
            self._apply(step)
        return taken

    def show_steering(self, messages: Sequence[SteeringMessageUIPart]) -> None:
        """Show steering messages taken with ``take_steering(show=False)``, at the step
        boundary of the model call they were given to (the open step is closed first).
        From the loop or any thread."""
        if messages:
            self._apply(lambda machine: _steering_chunks(machine, messages))

    def _log_not_delivered(self) -> None:
        """The answer ended: what it did not take was not delivered; say so (by id)."""
        if self._not_delivered:
            logger.info(
                "stream %s ended before its next step: steering %s not delivered",
                self.message_id,
                ", ".join(m.id for m in self._not_delivered),
            )

    # --- internals -------------------------------------------------------------------------

    def _apply(
        self, step: Step, *, exception: BaseException | None = None, force: bool = False
    ) -> None:
        channel = self._channel
        channel.check_loop_open()
        with channel.lock:
            if self._closed_reason is not None and not force:
                raise StreamClosed(self._closed_reason)
            channel.close_lane_locked()  # lock-free deltas so far go first (see _channel)
            try:
                ended = self._step_locked(step, exception)
            finally:
                channel.reopen_lane_locked()
        if ended:
            self._call_on_loop(self._settle)

    def _step_locked(self, step: Step, exception: BaseException | None) -> bool:
        """Step the machine, push its frames, feed the collector; True if the stream ended."""
        channel = self._channel
        chunks = step(self._machine)
        if not chunks:
            return False
        channel.push_locked(encode_chunks(chunks))
        if self._collector is not None:
            self._collect(chunks)
        if self._machine.ended is None:
            return False
        # ended: steering not taken by now never will be (``steer`` refuses from here)
        self._not_delivered, self._steering = tuple(self._steering), []
        if self._collector is not None:
            self._record = self._collector.seal(exception, self._not_delivered)
        channel.push_locked(DONE_FRAME)
        channel.end_locked()
        return True

    def _write_text_fast(self, text: str, key: Hashable) -> bool:
        """``ctx.sync``'s text delta on the lane (``_text_on_lane``), if the loop is open."""
        self._channel.check_loop_open()
        return self._text_on_lane(text, key)

    def _text_on_lane(self, text: str, key: Hashable) -> bool:
        """A delta to an open text part, sent through the channel's lane without the lock.

        False when the write needs the locked way: the part is not open, the delta is
        not a non-empty string, the stream is closing, or a step changed the state
        meanwhile (``Channel.append_to_lane``).
        """
        channel = self._channel
        lane = channel.lane  # before the machine's state: see the _channel docstring
        if lane is None or type(text) is not str or not text or self._closed_reason is not None:
            return False
        try:
            wire_id = self._machine.open_text_id(key)
        except TypeError:  # an unhashable key: the locked way names it
            return False
        if wire_id is None:
            return False
        frame = encode_text_delta(wire_id, text)
        if len(frame) > LANE_MAX_FRAME:
            return False
        if self._collector is None:
            return channel.append_to_lane(lane, (frame, None))
        chunk = {"type": "text-delta", "id": wire_id, "delta": text}
        return channel.append_to_lane(lane, (frame, chunk))

    def _claim_direct_delta(self, reasoning: bool, text: str, key: Hashable) -> bytes | None:
        """A delta to an open text (or ``reasoning``) part that the writer may send
        through the channel's ``parked_sink`` itself (direct delivery,
        ``Channel.claim_direct_locked``): its frame, the chunk recorded; None when the
        write must go the queued way."""
        if type(text) is not str or not text or self._closed_reason is not None:
            return None
        if len(text) > LANE_MAX_FRAME:  # big frames take the locked way, and its checks
            return None
        channel = self._channel
        machine = self._machine
        with channel.lock:
            try:
                wire_id = (machine.open_reasoning_id if reasoning else machine.open_text_id)(key)
            except TypeError:  # an unhashable key: the locked way names it
                return None
            if wire_id is None or not channel.claim_direct_locked():
                return None
            collector = self._collector
            if collector is not None:
                try:
                    collector.delta(reasoning, wire_id, text)
                except Exception:  # a uiwire bug: keep streaming, stop recording
                    logger.exception("uiwire could not record chunks of stream %s", self.message_id)
                    self._collector = None
        return (encode_reasoning_delta if reasoning else encode_text_delta)(wire_id, text)

    def _record_lane_chunks(self, chunks: list[dict[str, Any]]) -> None:
        """The collector's share of a lane move (under the lock, in the frames' order)."""
        if chunks and self._collector is not None:
            self._collect(chunks)

    def _collect(self, chunks: list[dict[str, Any]]) -> None:
        collector = self._collector
        assert collector is not None
        try:
            collector.apply(chunks)
        except Exception:  # a uiwire bug: keep streaming, stop recording
            logger.exception("uiwire could not record chunks of stream %s", self.message_id)
            self._collector = None

    def _wait_for_room_from_thread(self) -> None:
        if not self._channel.on_loop_thread():
            self._channel.wait_for_room_from_thread()

    def _watch(self) -> None:
        """Count this stream as open for the blocked-loop detector (run or read started)."""
        loop = self._channel.loop
        if self._blocking_threshold is None or self._unwatch_on_drop is not None or loop is None:
            return
        watch_loop(loop, self._blocking_threshold)
        # a context dropped without settling must not keep the detector alive
        self._unwatch_on_drop = weakref.finalize(self, unwatch_loop_soon, loop)

    def _bind_here(self, what: str) -> asyncio.AbstractEventLoop:
        """Bind to the running loop (or check we are on it) for an async-side call."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise StreamStateError(
                f"{what}() needs the running event loop; from a thread, use ctx.sync"
            ) from None
        bound = self._channel.loop
        if bound is loop:  # every write after the first
            return loop
        if bound is None:
            self._channel.bind(loop)
        else:
            raise StreamStateError(
                f"{what}() was called from another event loop than the stream's; from a "
                "thread, use ctx.sync"
            )
        return loop

    def _call_on_loop(self, fn: Callable[[], None]) -> None:
        loop = self._channel.loop
        if loop is None:
            return  # nothing bound yet: the consumer settles when it attaches
        if self._channel.on_loop_thread():
            fn()
            return
        with contextlib.suppress(RuntimeError):  # the loop is closed; nobody is left to tell
            loop.call_soon_threadsafe(fn)

    def _settle(self) -> None:
        """Run ``on_close`` once both the outcome and the delivery are settled."""
        ended = self._machine.ended
        if self._finalizing or ended is None or not (self._delivered or self._consumer_gone):
            return
        self._finalizing = True
        self._log_not_delivered()
        status: StreamStatus = "disconnect" if self._consumer_gone else ended
        self._status = status
        loop = self._channel.loop
        assert loop is not None  # settling happens on the loop
        if self._unwatch_on_drop is not None:
            self._unwatch_on_drop.detach()
            self._unwatch_on_drop = None
            unwatch_loop(loop)
        _spawn(loop, self._finalize(status), name=f"uiwire-on-finish-{self.message_id}")

    async def _finalize(self, status: StreamStatus) -> None:
        try:
            on_close = self._on_close
            record = self._record
            if on_close is not None and record is not None:
                if is_async_callable(on_close):
                    result = on_close(record, status)
                else:
                    result = await asyncio.to_thread(on_close, record, status)
                if inspect.isawaitable(result):  # e.g. a lambda returning a coroutine
                    await result
        except Exception:
            logger.exception("on_close of stream %s raised", self.message_id)
        finally:
            self._done.set()

    def __repr__(self) -> str:
        state = self._machine.ended or ("open" if self._machine.started else "new")
        return f"<StreamContext {self.message_id} {state}>"


def is_async_callable(fn: object) -> bool:
    """An ``async def`` function, or an object with ``async def __call__``: awaited on the
    loop; anything else is a sync callable, run in a worker thread."""
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)  # noqa: B004 - an object with ``async def __call__``
    )


def check_steering(message: SteeringMessageUIPart) -> None:
    """Raise what showing ``message`` would (``EventTooLarge`` for an event over the
    client's limit, ``ProtocolError``), before it is queued: the take that shows it
    closes the open step first and must not fail after that."""
    wire = message.model_dump(mode="json", by_alias=True, exclude_unset=True)
    StreamMachine(message_id="steering", target="v7").steering_message(wire["id"], wire["parts"])


def _steering_chunks(
    machine: StreamMachine, messages: Sequence[SteeringMessageUIPart]
) -> list[dict[str, Any]]:
    """Close the open step, then one ``steering-message`` per message."""
    out = machine.finish_step()
    for message in messages:
        wire = message.model_dump(mode="json", by_alias=True, exclude_unset=True)
        out += machine.steering_message(wire["id"], wire["parts"])
    return out


def _discard(work: object) -> None:
    """Close a coroutine that will never run, so Python does not warn it was not awaited."""
    if inspect.iscoroutine(work):
        work.close()


def _check_info(info: object) -> BaseModel:
    if info is None:
        return NoInfo()
    if not isinstance(info, BaseModel):
        raise TypeError(
            f"info must be a pydantic model instance (frozen); got {type(info).__name__}"
        )
    if not info.model_config.get("frozen"):
        raise ValueError(
            f"info must be a frozen model, read safely from every coroutine and thread: "
            f"give {type(info).__name__} model_config = ConfigDict(frozen=True)"
        )
    return info


def _nothing_to_remove() -> None:
    """What ``add_cancel_callback`` returns for a callback it already ran."""
