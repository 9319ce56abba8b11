"""``RedisStreamStore``: resumable streams on Redis Streams, shared by every worker.

Theory of operation
-------------------
Keys, under a prefix (``uiwire`` by default); the part in braces is the Redis Cluster
hash tag, so that a stream's keys share one slot:

* ``<p>:stream:{<stream id>}``: a Redis Stream, one entry per ``append`` (field ``d``,
  its frames joined), an opening entry (``o``) when there is no frame yet, and a last
  entry ``end`` (``ok`` or ``failed``). Replay is ``XRANGE`` from the start; the live
  tail is read by the process's one ``TailReader`` (``_redis_tail``) for all its
  followers. Because the
  frames are in Redis, not in the producing process, what was written survives that
  process. Appends never create the stream (``NOMKSTREAM``): after a Redis restart lost
  it, recording stops instead of leaving a record with a gap.
* ``<p>:stream:{<stream id>}:alive``: the producer's lease, renewed every ``lease / 3``
  seconds (never recreated: after a Redis restart that lost it, followers learn the
  stream is gone). A follower that sees no frame for ``lease / 2`` seconds checks it: a
  missing lease means the producing worker died, and the follower ends with an error
  instead of waiting for ever.
* ``<p>:stream:{<stream id>}:stop``: a stop request, recorded (only while the lease is
  alive) before it is published. The producing worker checks the stop keys of its
  streams with every heartbeat and whenever its stop listener (re)subscribes, so a stop
  whose message was lost (listener reconnecting, short partition) still arrives.
* ``<p>:stream:{<stream id>}:steer``: the steering messages sent to the stream and not
  yet taken (a list of JSON messages), pushed only while the lease is alive, then
  published; the producing worker takes them all at once (read and delete in one
  script, so each is delivered once, in order) when it hears of them, with every
  heartbeat, and whenever its listener (re)subscribes.
* ``<p>:chat:{<chat id>}:active``: the chat's active stream id; deleted at the end (only
  if it still names that stream). Written after the stream's keys, in a call of its own
  (it lives in another slot).
* ``<p>:stop``: the pub/sub channel of stop requests (the message is a stream id), and
  ``<p>:steer`` of steering messages (the stream id: the messages wait in its key).
  Every store instance listens to both on one connection and calls the callbacks
  registered for its own streams; on a cluster, classic ``PUBLISH`` reaches every node.

Every key expires ``ttl`` seconds after its last refresh: while a stream is generated,
the lease heartbeat refreshes it, so ``ttl`` is how long a finished (or orphaned)
stream's frames stay readable.

Connections, per store (per worker process): the command pool (``RedisLimits.
connections``, a pool that waits for a free connection rather than failing), plus one
connection for the tail reader and one for the stop listener, whatever the number of
streams and followers. Writes (opening, appending, closing) of every stream go out
together (``_write_batches``): one pipeline at a time, the next gathering while one is
in flight. Every call has a deadline (``RedisLimits.deadline``; waiting for a pooled
connection or for the batch counts): past it, the call raises ``StreamStoreError``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar, cast

from uiwire._extras import needs_extra

with needs_extra("redis", extra="redis", needed_by="RedisStreamStore", package="the redis package"):
    from redis.asyncio import BlockingConnectionPool, Redis
    from redis.asyncio.cluster import RedisCluster
    from redis.asyncio.retry import Retry
    from redis.backoff import EqualJitterBackoff, NoBackoff
    from redis.exceptions import RedisError, ResponseError

    from uiwire._redis import check_prefix, redis_client

from uiwire._errors import SteeringQueueFull, StreamInterrupted, StreamStoreError
from uiwire.protocol.encode import DONE_FRAME
from uiwire.protocol.ui_message import SteeringMessageUIPart
from uiwire.resume._redis_tail import (
    Entry,
    TailQueue,
    TailReader,
    entry_order,
    tail_replies,
)
from uiwire.resume.store import (
    Listeners,
    SteerCallback,
    StopCallback,
    StopListeners,
    StreamStore,
)
from uiwire.stream.context import MAX_PENDING_STEERING, StopMode

__all__ = ["RedisLimits", "RedisStreamStore"]

logger = logging.getLogger("uiwire")

_T = TypeVar("_T")
_REPLAY_BATCH: Final = 1000
_TAIL_BLOCK: Final = 0.1
"""Seconds one read of the live tails blocks at most: the longest a newly arrived
follower waits before its stream is read too."""
_CLUSTER_POLL: Final = 0.05
"""Seconds between two reads of the live tails on a cluster (where no read blocks)."""
# renew (even after a stalled loop let it lapse), but only while the stream exists
_RENEW_LEASE: Final = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
end
return false
"""
# DEL the chat's active-stream key only if it still names this stream
_CLEAR_ACTIVE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# record a stop (its mode) only for a stream whose producer holds its lease; a stop at
# once is never turned into a graceful one
_RECORD_STOP: Final = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  if ARGV[2] == 'immediate' or redis.call('GET', KEYS[2]) ~= 'immediate' then
    redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[1])
  end
  return 1
end
return 0
"""

# push a steering message only for a stream whose producer holds its lease, and only
# while fewer than ARGV[3] wait (2: full)
_RECORD_STEER: Final = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('LLEN', KEYS[2]) >= tonumber(ARGV[3]) then return 2 end
  redis.call('RPUSH', KEYS[2], ARGV[2])
  redis.call('PEXPIRE', KEYS[2], ARGV[1])
  return 1
end
return 0
"""
# take every waiting steering message at once: each is delivered once
_TAKE_STEERS: Final = """
local messages = redis.call('LRANGE', KEYS[1], 0, -1)
if #messages > 0 then redis.call('DEL', KEYS[1]) end
return messages
"""


@dataclass(frozen=True)
class RedisLimits:
    """How long ``RedisStreamStore`` waits on Redis, and how many connections it opens.

    ``RedisStreamStore(url, limits=RedisLimits(deadline=1.0))``.
    """

    deadline: float = 2.0
    """Seconds any one Redis call may take, waiting for a pooled connection included.
    Past it the call fails with ``StreamStoreError``: a new answer then streams at once
    without resumption, a resume or a stop answers 503 with ``Retry-After``."""
    connections: int = 10
    """Connections of the command pool (recording, lookups, stops, heartbeats) of a
    store made from a URL; a call finding them all busy waits for one (within
    ``deadline``). The tail reader and the stop listener have one connection each, so a
    process opens at most ``connections + 2``."""

    def __post_init__(self) -> None:
        if not _positive(self.deadline):
            raise ValueError(f"deadline must be positive seconds; got {self.deadline!r}")
        connections = self.connections
        if isinstance(connections, bool) or not isinstance(connections, int) or connections < 1:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"connections must be a positive integer; got {connections!r}")


class RedisStreamStore(StreamStore):
    """Streams in Redis (6.2 or later, or a Redis Cluster), readable and stoppable from
    any worker.

    Arguments:
        redis: a URL (``redis://127.0.0.1:6379/0``; the store owns that client and closes
            it in ``aclose``), your ``redis.asyncio.Redis`` (bytes responses, i.e. no
            ``decode_responses``; best on a ``BlockingConnectionPool``, which waits for
            a free connection instead of failing) or your
            ``redis.asyncio.cluster.RedisCluster``.
        prefix: the key prefix, to share a database with other data.
        ttl: seconds a stream's keys live after their last refresh.
        lease: seconds without a heartbeat after which a stream's worker counts as dead.
        limits: the deadline of every Redis call and the size of the command pool.
    """

    shared = True

    def __init__(
        self,
        redis: Redis | RedisCluster | str,
        *,
        prefix: str = "uiwire",
        ttl: float = 600.0,
        lease: float = 10.0,
        limits: RedisLimits | None = None,
    ) -> None:
        prefix = check_prefix(prefix)
        if not _positive(lease):
            raise ValueError(f"lease must be positive seconds; got {lease!r}")
        if not _positive(ttl) or ttl <= lease:
            raise ValueError(f"ttl must be seconds longer than lease ({lease}); got {ttl!r}")
        limits = RedisLimits() if limits is None else limits
        if not isinstance(limits, RedisLimits):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"limits must be a RedisLimits; got {type(limits).__name__}")
        self.limits = limits
        self._check_every = lease / 2
        self._cluster = isinstance(redis, RedisCluster)
        self._redis: Any
        if isinstance(redis, RedisCluster):
            self._redis, self._owns_client = redis, False
            # pub/sub on any node (a PUBLISH reaches them all); known before the client
            # has asked the cluster for its nodes
            node = cast("Any", next(iter(redis.nodes_manager.startup_nodes.values())))
            connection_class, options = node.connection_class, dict(node.connection_kwargs)
        else:
            self._redis, self._owns_client = redis_client(
                redis,
                pool_size=limits.connections,
                pool_wait=limits.deadline,
                socket_timeout=limits.deadline + 1,  # a backstop: calls have deadlines
                socket_connect_timeout=limits.deadline,
                health_check_interval=15,  # notices an idle connection silently dropped
                # two quick retries when Redis is gone; callers degrade or end streams
                retry=Retry(EqualJitterBackoff(cap=0.2, base=0.02), 2),
            )
            if not self._owns_client:
                _check_client(self._redis)
            pool = self._redis.connection_pool
            connection_class, options = pool.connection_class, dict(pool.connection_kwargs)
        # the tail reader and the stop listener: one connection each, never taken by
        # (nor taking) the commands, blocking reads included in their socket timeout
        options.update(socket_timeout=limits.deadline + _TAIL_BLOCK + 1)
        self._tail_client = _single_connection(connection_class, options, limits.deadline)
        # no retries under the listener: it must see a dropped connection (and look for
        # the stops it missed) rather than be resubscribed behind its back
        options.update(retry=Retry(NoBackoff(), 0))
        self._listen_client = _single_connection(connection_class, options, limits.deadline)
        self._tails = TailReader(
            self._read_cluster_tails if self._cluster else self._read_tails,
            block=_TAIL_BLOCK,
            deadline=limits.deadline,
        )
        self._prefix = prefix
        self._ttl_ms = int(ttl * 1000)
        self._lease_ms = int(lease * 1000)
        self._channel = f"{prefix}:stop"
        self._steer_channel = f"{prefix}:steer"
        self._open: dict[str, str] = {}  # stream id -> chat id, streams produced here
        self._seq: dict[str, int] = {}  # stream id -> last entry id written
        self._stops = StopListeners()
        self._steers = Listeners[SteeringMessageUIPart]("steer")
        self._writes: list[_Write] = []
        self._writes_expire: asyncio.TimerHandle | None = None  # the gathering batch's
        self._writer: asyncio.Task[None] | None = None
        self._first_attempt: asyncio.Event | None = None
        """Set once the listener's first subscription succeeded or failed."""
        self._tasks: list[asyncio.Task[None]] = []
        self._steer_tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False

    # --- keys --------------------------------------------------------------------------

    def _stream_key(self, stream_id: str) -> str:
        return f"{self._prefix}:stream:{{{stream_id}}}"

    def _alive_key(self, stream_id: str) -> str:
        return f"{self._prefix}:stream:{{{stream_id}}}:alive"

    def _stop_key(self, stream_id: str) -> str:
        return f"{self._prefix}:stream:{{{stream_id}}}:stop"

    def _steer_key(self, stream_id: str) -> str:
        return f"{self._prefix}:stream:{{{stream_id}}}:steer"

    def _active_key(self, chat_id: str) -> str:
        return f"{self._prefix}:chat:{{{chat_id}}}:active"

    # --- calls -------------------------------------------------------------------------

    async def _call(self, what: str, call: Awaitable[_T]) -> _T:
        """``call``, within the deadline; any failure is a ``StreamStoreError``."""
        deadline = self.limits.deadline
        try:
            return await asyncio.wait_for(call, deadline)
        except asyncio.TimeoutError as exc:
            raise _too_late(what, deadline) from exc
        except (RedisError, OSError) as exc:
            raise StreamStoreError(f"Redis could not {what}: {exc}") from exc

    async def _pipeline(
        self, fill: Callable[[Any], object], *, transaction: bool = True
    ) -> list[Any]:
        """The replies (errors included) of the commands ``fill`` queues on a pipeline
        (a transaction, unless on a cluster or told otherwise)."""
        async with self._redis.pipeline(transaction=transaction and not self._cluster) as pipe:
            fill(pipe)
            return cast("list[Any]", await pipe.execute(raise_on_error=False))

    # --- producing ---------------------------------------------------------------------

    async def open(self, chat_id: str, stream_id: str, frames: Sequence[bytes] = ()) -> str | None:
        key = self._stream_key(stream_id)
        entries: list[dict[str, bytes]] = [{"d": frame} for frame in frames] or [{"o": b""}]
        ids = [f"0-{sequence}" for sequence in range(1, len(entries) + 1)]

        def fill(pipe: Any) -> None:
            for entry_id, fields in zip(ids, entries, strict=True):
                pipe.xadd(key, fields, id=entry_id)
            pipe.pexpire(key, self._ttl_ms)
            pipe.set(self._alive_key(stream_id), b"1", px=self._lease_ms)

        results = await self._batched("open a stream", fill, len(entries) + 2)
        _check_added(stream_id, results, len(entries))
        # only once the stream exists may the chat name it (a resume would follow it)
        [previous] = await self._batched(
            "set a chat's active stream",
            lambda pipe: pipe.set(self._active_key(chat_id), stream_id, px=self._ttl_ms, get=True),
            1,
        )
        if isinstance(previous, BaseException):
            raise StreamStoreError(f"Redis could not set a chat's active stream: {previous}")
        self._seq[stream_id] = len(entries)
        self._open[stream_id] = chat_id
        self._start_background()
        previous = cast("bytes | None", previous)
        return None if previous is None or previous == stream_id.encode() else previous.decode()

    async def append(self, stream_id: str, frames: Sequence[bytes]) -> None:
        if not frames:
            return
        key = self._stream_key(stream_id)
        entry_id = self._next_id(stream_id)
        # one entry for the frames of one call (readers join entries' frames anyway):
        # one command and one reply per batch of the recorder, not per frame
        data = frames[0] if len(frames) == 1 else b"".join(frames)

        def fill(pipe: Any) -> None:
            pipe.xadd(key, {"d": data}, id=entry_id, nomkstream=True)

        _check_added(stream_id, await self._batched("record frames", fill, 1), 1)

    async def _batched(self, what: str, fill: Callable[[Any], object], count: int) -> list[Any]:
        """The replies of the ``count`` commands ``fill`` queues, sent in the process's
        next batch (``_write_batches``), within the deadline.

        The deadline is kept per batch, not per write (one timer for every write that
        joins it, rather than a timer, a shield and a wait per frame recorded): when it
        passes, the batch's writes still waiting fail."""
        loop = asyncio.get_running_loop()
        write = _Write(fill, count, loop.create_future(), what)
        write.done.add_done_callback(_retrieve)
        if not self._writes:  # the first write of a new batch: its deadline
            self._writes_expire = loop.call_later(
                self.limits.deadline, _expire, self._writes, self.limits.deadline
            )
        self._writes.append(write)
        task = self._writer
        if task is None or task.done() or task.get_loop() is not loop:
            self._writer = loop.create_task(self._write_batches(), name="uiwire-redis-writer")
        # on a timeout the write may still land later: entry ids make that harmless
        return await write.done

    async def _write_batches(self) -> None:
        """Send the writes of every stream of this process together, one pipeline at a
        time: while one is in flight the next gathers, so the number of round trips
        does not grow with the number of streams. Not a transaction: each write's
        commands run in order, and a repeated ``XADD`` is refused by its id."""
        while self._writes:
            batch, self._writes = self._writes, []
            expire, self._writes_expire = self._writes_expire, None

            def fill(pipe: Any, batch: list[_Write] = batch) -> None:
                for write in batch:
                    write.fill(pipe)

            try:
                results = await self._call("write", self._pipeline(fill, transaction=False))
            except StreamStoreError as exc:
                for write in batch:
                    if not write.done.done():
                        write.done.set_exception(exc)
                continue
            finally:
                if expire is not None:
                    expire.cancel()
            position = 0
            for write in batch:
                if not write.done.done():
                    write.done.set_result(results[position : position + write.count])
                position += write.count

    async def close(self, chat_id: str, stream_id: str, *, failed: bool = False) -> None:
        self._open.pop(stream_id, None)
        key = self._stream_key(stream_id)
        end = {"end": b"failed" if failed else b"ok"}
        entry_id = self._next_id(stream_id)
        self._seq.pop(stream_id, None)

        def fill(pipe: Any) -> None:
            pipe.xadd(key, end, id=entry_id, nomkstream=True)
            pipe.pexpire(key, self._ttl_ms)
            pipe.delete(self._alive_key(stream_id), self._stop_key(stream_id))

        results = await self._batched("close a stream", fill, 3)
        if isinstance(results[0], ResponseError) and not _already_added(results[0]):
            raise StreamStoreError(f"Redis could not close stream {stream_id}: {results[0]}")
        await self._batched(
            "clear a chat's active stream",
            lambda pipe: pipe.eval(_CLEAR_ACTIVE, 1, self._active_key(chat_id), stream_id),
            1,
        )

    def _next_id(self, stream_id: str) -> str:
        """Entry ids ``0-1``, ``0-2``, ...: a write that redis-py retries after its reply
        was lost is refused as a duplicate instead of being recorded twice."""
        self._seq[stream_id] = sequence = self._seq.get(stream_id, 0) + 1
        return f"0-{sequence}"

    # --- resuming ----------------------------------------------------------------------

    async def active_stream(self, chat_id: str) -> str | None:
        found = cast(
            "bytes | None",
            await self._call(
                "look up a chat's active stream", self._redis.get(self._active_key(chat_id))
            ),
        )
        if found is None:
            return None
        stream_id = found.decode()

        def fill(pipe: Any) -> None:
            pipe.xrevrange(self._stream_key(stream_id), count=1)
            pipe.exists(self._alive_key(stream_id))

        last, alive = await self._call("look up a stream", self._pipeline(fill, transaction=False))
        for reply in (last, alive):
            if isinstance(reply, BaseException):
                raise StreamStoreError(f"Redis could not look up stream {stream_id}: {reply}")
        if not last or b"end" in last[0][1] or not alive:
            return None  # finished, expired, or its worker died: nothing to follow
        return stream_id

    async def follow(
        self, stream_id: str, *, idle: float | None = None
    ) -> AsyncGenerator[bytes, None]:
        quiet_since = time.monotonic()
        async for entries in self._entries(stream_id, idle=idle):
            if not entries:
                if idle is not None and time.monotonic() - quiet_since >= idle:
                    quiet_since = time.monotonic()
                    yield b""
                continue
            data, end = _frames(entries)
            if data:
                quiet_since = time.monotonic()
                yield data
                if data.endswith(DONE_FRAME):
                    return
            if end == b"failed":
                raise StreamInterrupted(f"stream {stream_id}: frames were lost while recording")
            if end is not None:
                raise StreamInterrupted(f"stream {stream_id} ended before [DONE]")

    async def _entries(
        self, stream_id: str, *, idle: float | None
    ) -> AsyncGenerator[list[Entry], None]:
        """The stream's entries in order, in batches: replayed, then live from the tail
        reader; an empty batch after ``min(idle, lease / 2)`` seconds without one."""
        key = self._stream_key(stream_id)
        last_id = "-"
        while True:  # replay
            batch = await self._range(key, last_id)
            if not batch and last_id == "-":
                raise StreamInterrupted(f"stream {stream_id} is unknown or expired")
            if batch:
                last_id = batch[-1][0].decode()
                yield batch
            if len(batch) < _REPLAY_BATCH:
                break
        wait = self._check_every if idle is None else min(idle, self._check_every)
        queue, behind = self._tails.subscribe(key, last_id)
        try:
            quiet_since = time.monotonic()
            while True:
                if behind:  # the tail was read past us: catch up from the record
                    batch = await self._range(key, last_id)
                    behind = len(batch) == _REPLAY_BATCH
                else:
                    batch = await _next_batch(queue, wait)
                batch = [entry for entry in batch if entry_order(entry[0]) > entry_order(last_id)]
                if batch:
                    last_id = batch[-1][0].decode()
                    quiet_since = time.monotonic()
                    yield batch
                    continue
                if time.monotonic() - quiet_since >= self._check_every:
                    quiet_since = time.monotonic()
                    if not await self._alive(stream_id):
                        # it may have ended meanwhile: read once more
                        batch = await self._range(key, last_id, count=1)
                        if not batch:
                            raise StreamInterrupted(
                                f"stream {stream_id}: the worker generating it stopped"
                            )
                        behind = True
                        continue
                yield []
        finally:
            self._tails.unsubscribe(key, queue)

    async def _range(self, key: str, after: str, *, count: int = _REPLAY_BATCH) -> list[Entry]:
        start = after if after == "-" else f"({after}"
        return cast(
            "list[Entry]",
            await self._call("read a stream", self._redis.xrange(key, start, "+", count=count)),
        )

    async def _alive(self, stream_id: str) -> bool:
        return bool(
            await self._call(
                "check a stream's lease", self._redis.exists(self._alive_key(stream_id))
            )
        )

    async def _read_tails(self, cursors: Mapping[str, str]) -> Mapping[str, list[Entry]]:
        """One ``XREAD BLOCK`` over every followed stream, on the tail connection."""
        streams: dict[Any, Any] = dict(cursors)
        reply = await self._tail_client.xread(
            streams, count=_REPLAY_BATCH, block=int(_TAIL_BLOCK * 1000)
        )
        return tail_replies(reply)

    async def _read_cluster_tails(self, cursors: Mapping[str, str]) -> Mapping[str, list[Entry]]:
        """On a cluster (where one ``XREAD`` cannot span slots): one non-blocking
        ``XREAD`` per stream, pipelined per node; a short sleep when none had news."""
        keys = list(cursors)

        def fill(pipe: Any) -> None:
            for key in keys:
                pipe.xread({key: cursors[key]}, count=_REPLAY_BATCH)

        found: dict[str, list[Entry]] = {}
        for reply in await self._pipeline(fill, transaction=False):
            if isinstance(reply, BaseException):
                raise reply
            found.update(tail_replies(reply))
        if not found:
            await asyncio.sleep(_CLUSTER_POLL)
        return found

    # --- stopping ----------------------------------------------------------------------

    async def request_stop(self, stream_id: str, mode: StopMode = "immediate") -> bool:
        alive, stop = self._alive_key(stream_id), self._stop_key(stream_id)
        recorded = await self._call(
            "record a stop", self._redis.eval(_RECORD_STOP, 2, alive, stop, self._ttl_ms, mode)
        )
        # published even when not recorded: a listener of a stream not yet opened hears it
        message = stream_id if mode == "immediate" else f"{stream_id} {mode}"
        try:
            # as a raw command: redis-py 5's cluster client has no ``publish``
            await self._call(
                "publish a stop", self._redis.execute_command("PUBLISH", self._channel, message)
            )
        except StreamStoreError as exc:
            if recorded:  # the worker's heartbeat will see it
                logger.warning("uiwire: stop of %s recorded, not published (%s)", stream_id, exc)
        return bool(recorded)

    async def listen_for_stop(self, stream_id: str, callback: StopCallback) -> Callable[[], None]:
        # a new listener's first subscription is awaited (within the deadline), so a stop
        # published from now on is heard; later, no wait: while the listener
        # resubscribes, stops are recorded, and it looks for them once subscribed (the
        # heartbeat does too). Whether Redis can be reached, ``open`` learns.
        self._start_background()
        first = self._first_attempt
        if first is not None and not first.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(first.wait(), self.limits.deadline)
        return self._stops.add(stream_id, callback)

    # --- steering ---------------------------------------------------------------------

    async def request_steer(self, stream_id: str, message: SteeringMessageUIPart) -> bool:
        data = message.model_dump_json(by_alias=True, exclude_unset=True)
        alive, key = self._alive_key(stream_id), self._steer_key(stream_id)
        recorded = await self._call(
            "record a steering message",
            self._redis.eval(
                _RECORD_STEER, 2, alive, key, self._ttl_ms, data, MAX_PENDING_STEERING
            ),
        )
        if recorded == 2:
            raise SteeringQueueFull(
                f"{MAX_PENDING_STEERING} steering messages already wait for the answer's next step"
            )
        if not recorded:
            return False
        try:
            await self._call(
                "publish a steering message",
                self._redis.execute_command("PUBLISH", self._steer_channel, stream_id),
            )
        except StreamStoreError as exc:  # the worker's heartbeat will take it
            logger.warning("uiwire: steering of %s recorded, not published (%s)", stream_id, exc)
        return True

    async def listen_for_steer(self, stream_id: str, callback: SteerCallback) -> Callable[[], None]:
        self._start_background()
        first = self._first_attempt
        if first is not None and not first.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(first.wait(), self.limits.deadline)
        return self._steers.add(stream_id, callback)

    def _steers_arrived(self, stream_id: str) -> None:
        """A steering message was published for ``stream_id``: take it, if listened here."""
        if stream_id not in self._steers.stream_ids() or self._loop is None:
            return
        task = self._loop.create_task(self._take_steers([stream_id]), name="uiwire-redis-steer")
        self._steer_tasks.add(task)
        task.add_done_callback(self._steer_tasks.discard)

    async def _take_steers(self, stream_ids: Sequence[str]) -> None:
        """Take and deliver the steering messages waiting for ``stream_ids``."""
        if not stream_ids:
            return

        def fill(pipe: Any) -> None:
            for stream_id in stream_ids:
                pipe.eval(_TAKE_STEERS, 1, self._steer_key(stream_id))

        try:
            found = await self._call(
                "take steering messages", self._pipeline(fill, transaction=False)
            )
        except StreamStoreError as exc:  # still there: the heartbeat takes them
            logger.warning("uiwire: steering messages could not be taken (%s)", exc)
            return
        for stream_id, messages in zip(stream_ids, found, strict=True):
            if isinstance(messages, BaseException):
                logger.warning(
                    "uiwire: steering of %s could not be taken (%s)", stream_id, messages
                )
                continue
            for data in cast("list[bytes]", messages):
                try:
                    message = SteeringMessageUIPart.model_validate_json(data)
                except ValueError:
                    logger.exception("uiwire: a steering message of %s is unreadable", stream_id)
                    continue
                self._steers.notify(stream_id, message)

    async def aclose(self) -> None:
        self._closing = True
        tasks, self._tasks = self._tasks, []
        tasks += list(self._steer_tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            # redis-py can swallow a cancellation that lands in a read with a timeout; the
            # loops also stop on _closing within a second
            await asyncio.wait(tasks, timeout=3)
        await self._tails.aclose()
        writer, self._writer = self._writer, None
        if writer is not None and writer.get_loop() is asyncio.get_running_loop():
            writer.cancel()
            await asyncio.wait((writer,), timeout=3)
        for write in self._writes:
            if not write.done.done():
                write.done.set_exception(StreamStoreError("the stream store was closed"))
        self._writes = []
        if self._writes_expire is not None:
            self._writes_expire.cancel()
            self._writes_expire = None
        for client in (self._tail_client, self._listen_client):
            await client.aclose()
            await client.connection_pool.disconnect()
        if self._owns_client:
            await self._redis.aclose()
            await self._redis.connection_pool.disconnect()

    # --- background work ---------------------------------------------------------------

    def _start_background(self) -> None:
        """Start (or, after ``aclose``, on another loop, or if one died, restart) the stop
        listener and the heartbeat, on the running loop."""
        loop = asyncio.get_running_loop()
        if self._tasks and self._loop is loop and not any(t.done() for t in self._tasks):
            return
        for task in self._tasks:
            task.cancel()
        self._closing = False
        self._loop = loop
        self._first_attempt = asyncio.Event()
        self._tasks = [
            loop.create_task(self._listen(), name="uiwire-redis-stop-listener"),
            loop.create_task(self._heartbeat(), name="uiwire-redis-heartbeat"),
        ]

    async def _listen(self) -> None:
        """Deliver stop requests to this process's callbacks; reconnect after failures,
        then look for the stops recorded meanwhile."""
        first_attempt = self._first_attempt
        assert first_attempt is not None
        backoff = 0.1
        while not self._closing:
            pubsub = self._listen_client.pubsub(ignore_subscribe_messages=True)  # pyright: ignore[reportUnknownMemberType]
            try:
                await asyncio.wait_for(
                    pubsub.subscribe(self._channel, self._steer_channel), self.limits.deadline
                )
                first_attempt.set()
                backoff = 0.1
                with contextlib.suppress(StreamStoreError):  # the heartbeat looks again
                    await self._check_stops()
                await self._take_steers(self._steers.stream_ids())
                steer_channel = self._steer_channel.encode()
                while not self._closing:
                    message = cast("dict[str, Any] | None", await pubsub.get_message(timeout=1.0))
                    if message is not None and message.get("type") == "message":
                        data = cast("bytes", message["data"]).decode(errors="replace")
                        if message.get("channel") == steer_channel:
                            self._steers_arrived(data)
                            continue
                        stream_id, _, mode = data.partition(" ")
                        self._stops.notify(stream_id, _stop_mode(mode))
            except (Exception, asyncio.TimeoutError) as exc:
                first_attempt.set()
                logger.warning("uiwire: stop requests are not received (%r); reconnecting", exc)
            finally:
                with contextlib.suppress(RedisError, OSError, asyncio.TimeoutError):
                    await asyncio.wait_for(pubsub.aclose(), self.limits.deadline)
            if self._closing:
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def _check_stops(self) -> None:
        """Stop the streams listened to here whose stop is recorded (a published stop
        this process missed)."""
        listened = self._stops.stream_ids()
        if not listened:
            return

        def fill(pipe: Any) -> None:
            for stream_id in listened:
                pipe.get(self._stop_key(stream_id))

        found = await self._call("look for stops", self._pipeline(fill, transaction=False))
        for stream_id, mode in zip(listened, found, strict=True):
            if mode is not None:
                text = mode.decode(errors="replace") if isinstance(mode, bytes) else str(mode)
                self._stops.notify(stream_id, _stop_mode(text))

    async def _heartbeat(self) -> None:
        """Renew the lease and the expiry of every stream this process is producing, and
        look for the stops recorded for them."""
        failing = False
        while not self._closing:
            await asyncio.sleep(self._lease_ms / 3000)
            try:
                await self._renew()
                await self._check_stops()
                await self._take_steers(self._steers.stream_ids())
            except StreamStoreError as exc:
                if not failing:
                    logger.warning("uiwire: stream leases could not be renewed (%s)", exc)
                failing = True
            else:
                failing = False

    async def _renew(self) -> None:
        streams = list(self._open.items())
        if not streams:
            return

        def fill(pipe: Any) -> None:
            for stream_id, chat_id in streams:
                # renew (even after a stalled loop let it lapse), but only while the
                # stream exists: a lease lost with its stream stays lost
                pipe.eval(
                    _RENEW_LEASE, 2, self._stream_key(stream_id), self._alive_key(stream_id),
                    self._lease_ms,
                )  # fmt: skip
                pipe.pexpire(self._stream_key(stream_id), self._ttl_ms)
                pipe.pexpire(self._active_key(chat_id), self._ttl_ms)

        await self._call("renew leases", self._pipeline(fill, transaction=False))


@dataclass
class _Write:
    """Commands waiting for the next batch: ``fill`` queues ``count`` of them; ``done``
    gets their replies."""

    fill: Callable[[Any], object]
    count: int
    done: asyncio.Future[list[Any]]
    what: str


def _expire(batch: list[_Write], deadline: float) -> None:
    """A batch's deadline passed: its writes still waiting fail (the pipeline may land
    later; entry ids make that harmless)."""
    for write in batch:
        if not write.done.done():
            write.done.set_exception(_too_late(write.what, deadline))


def _too_late(what: str, deadline: float) -> StreamStoreError:
    """The error of a Redis call (``what``) past its deadline."""
    return StreamStoreError(f"Redis did not {what} within {deadline:g} s")


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a write's failure as seen: its ``append`` may have given up already."""
    if not future.cancelled():
        future.exception()


async def _next_batch(queue: TailQueue, wait: float) -> list[Entry]:
    """The next entries from the tail reader, or none after ``wait`` seconds."""
    try:
        item = await asyncio.wait_for(queue.get(), wait)
    except asyncio.TimeoutError:
        return []
    if isinstance(item, StreamStoreError):
        raise item
    return item


def _already_added(error: BaseException) -> bool:
    return isinstance(error, ResponseError) and "equal or smaller" in str(error)


def _check_added(stream_id: str, results: list[Any], count: int) -> None:
    """The replies of ``count`` XADDs (first in ``results``): each added, or refused as
    already added (a retried write); anything else means the record is broken."""
    for result in results[:count]:
        if result is None:  # NOMKSTREAM: the stream is gone (Redis restarted, evicted it)
            raise StreamStoreError(f"the record of stream {stream_id} was lost")
        if isinstance(result, BaseException) and not _already_added(result):
            raise StreamStoreError(f"Redis refused a frame of stream {stream_id}: {result}")
    for result in results[count:]:
        if isinstance(result, BaseException):
            raise StreamStoreError(f"Redis could not record stream {stream_id}: {result}")


def _frames(entries: list[Entry]) -> tuple[bytes, bytes | None]:
    """The frames of some entries, joined, and the ``end`` entry's value if one is there."""
    data: list[bytes] = []
    for _, fields in entries:
        frame = fields.get(b"d")
        if frame is not None:
            data.append(frame)
        elif b"end" in fields:
            return b"".join(data), fields[b"end"]
    return b"".join(data), None


def _single_connection(connection_class: Any, options: dict[str, Any], wait: float) -> Redis:
    pool = BlockingConnectionPool(
        connection_class=connection_class, max_connections=1, timeout=wait, **options
    )
    return Redis(connection_pool=pool)


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _check_client(client: Redis) -> None:
    options = client.connection_pool.connection_kwargs
    if options.get("decode_responses"):
        raise ValueError(
            "redis: the client decodes responses (decode_responses=True); frames are bytes, "
            "so give RedisStreamStore a client without it (or a URL)"
        )


def _stop_mode(text: str) -> StopMode:
    """A recorded or published stop's mode (a bare stream id, or an old ``1``: at once)."""
    return "after_turn" if text == "after_turn" else "immediate"
