"""``TailReader``: the live tails of many Redis Streams, read for every follower of one
process by one reader task, whatever the number of followers.

Theory of operation
-------------------
A follower first replays its stream with ``XRANGE`` (on the command pool), then
``subscribe``\\ s to the stream's tail after the last entry it read. The reader task
loops: one read over every subscribed stream (``XREAD BLOCK`` over all their keys on
one connection, or on a cluster one non-blocking ``XREAD`` per stream, pipelined per
node), each from its *cursor*, the last entry delivered for that stream; it puts the
entries it got in the queue of every subscriber of that stream and moves the cursor.

* A stream joins at the next read: reads block for at most ``block`` seconds, so a new
  follower waits that long at most for its first live entries (none are lost: its
  cursor is where its replay ended).
* A follower that subscribes to a tail whose cursor is already past its own position
  is told to catch up with one more ``XRANGE``; entries it gets twice are dropped by
  comparing ids (the follower's side).
* When a read fails or takes longer than ``block + deadline`` (Redis down, stalled or
  paused), every subscriber gets a ``StreamStoreError`` and the tails are dropped: the
  followers end, their clients get a valid end and can resume later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from uiwire._errors import StreamStoreError

__all__ = ["Entry", "TailQueue", "TailReader", "entry_order", "tail_replies"]

logger = logging.getLogger("uiwire")

Entry = tuple[bytes, dict[bytes, bytes]]
"""A Redis Stream entry: its id and its fields."""

TailQueue = asyncio.Queue["list[Entry] | StreamStoreError"]
"""What a subscriber receives: batches of new entries, or the error that ended them."""

ReadTails = Callable[[Mapping[str, str]], Awaitable[Mapping[str, list[Entry]]]]
"""Reads the entries after each cursor (stream key -> entry id), blocking a little
when there are none; returns the entries per key (keys without new entries may be
missing)."""


def entry_order(entry_id: bytes | str) -> tuple[int, int]:
    """An entry id (``<ms>-<seq>``) as a comparable pair."""
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    milliseconds, _, sequence = text.partition("-")
    return int(milliseconds), int(sequence or 0)


class _Tail:
    __slots__ = ("cursor", "queues")

    def __init__(self, cursor: str) -> None:
        self.cursor = cursor
        self.queues: set[TailQueue] = set()


class TailReader:
    """The live tails of this process's followers (one event loop at a time)."""

    def __init__(self, read: ReadTails, *, block: float, deadline: float) -> None:
        self._read = read
        self._limit = block + deadline
        self._tails: dict[str, _Tail] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def streams(self) -> int:
        """How many streams are read now."""
        return len(self._tails)

    def subscribe(self, key: str, after: str) -> tuple[TailQueue, bool]:
        """A queue of the entries of ``key`` after entry ``after`` (and maybe some
        before: drop them by id), and whether the follower must catch up with an
        ``XRANGE`` first (the tail is already read past ``after``)."""
        tail = self._tails.get(key)
        behind = False
        if tail is None:
            tail = self._tails[key] = _Tail(after)
        else:
            behind = entry_order(tail.cursor) > entry_order(after)
        queue: TailQueue = asyncio.Queue()
        tail.queues.add(queue)
        task, loop = self._task, asyncio.get_running_loop()
        if task is None or task.done() or task.get_loop() is not loop:
            self._task = loop.create_task(self._run(), name="uiwire-redis-tail-reader")
        return queue, behind

    def unsubscribe(self, key: str, queue: TailQueue) -> None:
        tail = self._tails.get(key)
        if tail is None:
            return
        tail.queues.discard(queue)
        if not tail.queues:
            del self._tails[key]

    async def aclose(self) -> None:
        """Stop reading (followers still subscribed get nothing more)."""
        task, self._task = self._task, None
        if task is not None and task.get_loop() is asyncio.get_running_loop():
            task.cancel()
            await asyncio.wait((task,), timeout=3)
        self._fail(StreamStoreError("the stream store was closed"))

    async def _run(self) -> None:
        while self._tails:
            tails = dict(self._tails)
            cursors = {key: tail.cursor for key, tail in tails.items()}
            try:
                replies = await asyncio.wait_for(self._read(cursors), self._limit)
            except asyncio.TimeoutError:
                self._fail(StreamStoreError(f"Redis did not answer within {self._limit:g} s"))
                continue
            except Exception as exc:  # a store error, or a bug: either way the followers end
                logger.warning("uiwire: the live tails of streams could not be read (%s)", exc)
                self._fail(StreamStoreError(f"Redis could not read streams: {exc}"))
                continue
            for key, entries in replies.items():
                tail = self._tails.get(key)
                # a tail dropped and made again meanwhile has a cursor of its own
                if not entries or tail is None or tail is not tails.get(key):
                    continue
                tail.cursor = entries[-1][0].decode()
                for queue in tail.queues:
                    queue.put_nowait(entries)

    def _fail(self, error: StreamStoreError) -> None:
        tails, self._tails = self._tails, {}
        for tail in tails.values():
            for queue in tail.queues:
                queue.put_nowait(error)


def tail_replies(reply: object) -> dict[str, list[Entry]]:
    """An ``XREAD`` reply (a RESP2 list of ``[key, entries]`` or a RESP3 map) by key."""
    if not reply:
        return {}
    pairs = reply.items() if isinstance(reply, dict) else reply  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    found: dict[str, list[Entry]] = {}
    for key, entries in pairs:  # pyright: ignore[reportUnknownVariableType, reportGeneralTypeIssues]
        name = key.decode() if isinstance(key, bytes) else str(key)  # pyright: ignore[reportUnknownArgumentType]
        found[name] = [(entry_id, fields) for entry_id, fields in entries]  # pyright: ignore[reportUnknownVariableType]
    return found
