"""``RedisStreamStore``: resumable streams on Redis Streams, shared by every worker.

Theory of operation
-------------------
Keys, under a prefix (``uiwire`` by default):

* ``<p>:stream:<stream id>``: a Redis Stream, one entry per SSE frame (field ``d``), an
  opening entry (``o``) when there is no frame yet, and a last entry ``end`` (``ok`` or
  ``failed``). Replay is ``XRANGE`` from the start; the live tail is ``XREAD BLOCK``.
  Because the frames are in Redis, not in the producing process, what was written
  survives that process. Appends never create the stream (``NOMKSTREAM``): after a Redis
  restart lost it, recording stops instead of leaving a record with a gap.
* ``<p>:stream:<stream id>:alive``: the producer's lease, renewed every ``lease / 3``
  seconds (never recreated: after a Redis restart that lost it, followers learn the
  stream is gone). A follower that sees no frame for ``lease / 2`` seconds checks it: a missing
  lease means the producing worker died, and the follower ends with an error instead of
  waiting for ever.
* ``<p>:chat:<chat id>:active``: the chat's active stream id; deleted at the end (only
  if it still names that stream).
* ``<p>:stop``: the pub/sub channel of stop requests (the message is a stream id). Every
  store instance listens on one connection and calls the callbacks registered for its
  own streams.

Every key expires ``ttl`` seconds after its last refresh: while a stream is generated,
the lease heartbeat refreshes it, so ``ttl`` is how long a finished (or orphaned)
stream's frames stay readable. Redis Cluster is not supported (a stream's keys are not
hash-tagged into one slot).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from typing import Any, Final, cast

from uiwire._extras import needs_extra

with needs_extra("redis", extra="redis", needed_by="RedisStreamStore", package="the redis package"):
    from redis.asyncio import ConnectionPool, Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import ExponentialWithJitterBackoff
    from redis.exceptions import RedisError, ResponseError

    from uiwire._redis import check_prefix, redis_client

from uiwire._errors import StreamInterrupted, StreamStoreError
from uiwire.protocol.encode import DONE_FRAME
from uiwire.resume.store import StopCallback, StopListeners, StreamStore

__all__ = ["RedisStreamStore"]

logger = logging.getLogger("uiwire")

_REPLAY_BATCH: Final = 1000
_SUBSCRIBE_WAIT: Final = 2.0
# DEL the chat's active-stream key only if it still names this stream
_RENEW_LEASE: Final = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('SET', KEYS[2], '1', 'PX', ARGV[1])
end
return false
"""
_CLEAR_ACTIVE: Final = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class RedisStreamStore(StreamStore):
    """Streams in Redis (6.2 or later), readable and stoppable from any worker.

    Arguments:
        redis: a URL (``redis://127.0.0.1:6379/0``; the store owns that client and closes
            it in ``aclose``) or your ``redis.asyncio.Redis`` (bytes responses, i.e. no
            ``decode_responses``, and a ``socket_timeout`` above ``lease / 2`` or None).
        prefix: the key prefix, to share a database with other data.
        ttl: seconds a stream's keys live after their last refresh.
        lease: seconds without a heartbeat after which a stream's worker counts as dead.
    """

    shared = True

    def __init__(
        self,
        redis: Redis | str,
        *,
        prefix: str = "uiwire",
        ttl: float = 600.0,
        lease: float = 10.0,
    ) -> None:
        prefix = check_prefix(prefix)
        if not _positive(lease):
            raise ValueError(f"lease must be positive seconds; got {lease!r}")
        if not _positive(ttl) or ttl <= lease:
            raise ValueError(f"ttl must be seconds longer than lease ({lease}); got {ttl!r}")
        self._check_every = lease / 2
        self._redis, self._owns_client = redis_client(
            redis,
            socket_timeout=self._check_every + 10,  # above the longest XREAD BLOCK
            socket_connect_timeout=5,
            health_check_interval=15,  # notices an idle pub/sub connection silently dropped
            # fail within a second when Redis is gone; callers degrade or end streams
            retry=Retry(ExponentialWithJitterBackoff(cap=0.2, base=0.02), 2),
        )
        if not self._owns_client:
            _check_client(self._redis, self._check_every)
        # followers block in XREAD on connections of their own: however many there are,
        # they never take the connections the producers record with
        pool = self._redis.connection_pool
        self._reader = Redis(
            connection_pool=ConnectionPool(
                connection_class=pool.connection_class, **pool.connection_kwargs
            )
        )
        self._prefix = prefix
        self._ttl_ms = int(ttl * 1000)
        self._lease_ms = int(lease * 1000)
        self._channel = f"{prefix}:stop"
        self._open: dict[str, str] = {}  # stream id -> chat id, streams produced here
        self._seq: dict[str, int] = {}  # stream id -> last entry id written
        self._stops = StopListeners()
        self._subscribed: asyncio.Event | None = None
        self._first_attempt: asyncio.Event | None = None
        """Set once the listener's first subscribe succeeded or failed: a turn starting
        while Redis is down learns it then, not after ``_SUBSCRIBE_WAIT``."""
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing = False

    # --- keys --------------------------------------------------------------------------

    def _stream_key(self, stream_id: str) -> str:
        return f"{self._prefix}:stream:{stream_id}"

    def _alive_key(self, stream_id: str) -> str:
        return f"{self._prefix}:stream:{stream_id}:alive"

    def _active_key(self, chat_id: str) -> str:
        return f"{self._prefix}:chat:{chat_id}:active"

    # --- producing ---------------------------------------------------------------------

    async def open(self, chat_id: str, stream_id: str, frames: Sequence[bytes] = ()) -> str | None:
        key = self._stream_key(stream_id)
        self._seq[stream_id] = 0
        entries: list[dict[str, bytes]] = [{"d": frame} for frame in frames] or [{"o": b""}]
        with _store_errors("open a stream"):
            async with self._redis.pipeline(transaction=True) as pipe:
                for fields in entries:
                    pipe.xadd(key, fields, id=self._next_id(stream_id))  # pyright: ignore[reportArgumentType]
                pipe.pexpire(key, self._ttl_ms)
                pipe.set(self._alive_key(stream_id), b"1", px=self._lease_ms)
                pipe.set(self._active_key(chat_id), stream_id, px=self._ttl_ms, get=True)
                results = await pipe.execute(raise_on_error=False)
                _check_added(stream_id, results, len(entries))
        self._open[stream_id] = chat_id
        self._start_background()
        previous = cast("bytes | None", results[-1])
        return None if previous is None or previous == stream_id.encode() else previous.decode()

    async def append(self, stream_id: str, frames: Sequence[bytes]) -> None:
        if not frames:
            return
        key = self._stream_key(stream_id)
        with _store_errors("record frames"):
            async with self._redis.pipeline(transaction=True) as pipe:
                for frame in frames:
                    pipe.xadd(key, {"d": frame}, id=self._next_id(stream_id), nomkstream=True)
                _check_added(stream_id, await pipe.execute(raise_on_error=False), len(frames))

    async def close(self, chat_id: str, stream_id: str, *, failed: bool = False) -> None:
        self._open.pop(stream_id, None)
        key = self._stream_key(stream_id)
        end = {"end": b"failed" if failed else b"ok"}
        entry_id = self._next_id(stream_id)
        self._seq.pop(stream_id, None)
        with _store_errors("close a stream"):
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.xadd(key, end, id=entry_id, nomkstream=True)  # pyright: ignore[reportArgumentType]
                pipe.pexpire(key, self._ttl_ms)
                pipe.delete(self._alive_key(stream_id))
                pipe.eval(_CLEAR_ACTIVE, 1, self._active_key(chat_id), stream_id)
                results = await pipe.execute(raise_on_error=False)
        if isinstance(results[0], ResponseError) and not _already_added(results[0]):
            raise StreamStoreError(f"Redis could not close stream {stream_id}: {results[0]}")

    def _next_id(self, stream_id: str) -> str:
        """Entry ids ``0-1``, ``0-2``, ...: a write that redis-py retries after its reply
        was lost is refused as a duplicate instead of being recorded twice."""
        self._seq[stream_id] = sequence = self._seq.get(stream_id, 0) + 1
        return f"0-{sequence}"

    # --- resuming ----------------------------------------------------------------------

    async def active_stream(self, chat_id: str) -> str | None:
        with _store_errors("look up a chat's active stream"):
            found = cast("bytes | None", await self._redis.get(self._active_key(chat_id)))
            if found is None:
                return None
            stream_id = found.decode()
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.xrevrange(self._stream_key(stream_id), count=1)
                pipe.exists(self._alive_key(stream_id))
                last, alive = cast("tuple[list[Any], int]", tuple(await pipe.execute()))
        if not last or b"end" in last[0][1] or not alive:
            return None  # finished, expired, or its worker died: nothing to follow
        return stream_id

    async def follow(
        self, stream_id: str, *, idle: float | None = None
    ) -> AsyncGenerator[bytes, None]:
        key = self._stream_key(stream_id)
        last_id = "-"
        wait = self._check_every if idle is None else min(idle, self._check_every)
        quiet_since = time.monotonic()
        replaying = True
        while True:
            with _store_errors("read a stream"):
                if replaying:
                    start = last_id if last_id == "-" else f"({last_id}"
                    entries = cast(
                        "list[tuple[bytes, dict[bytes, bytes]]]",
                        await self._reader.xrange(key, start, "+", count=_REPLAY_BATCH),
                    )
                    if not entries and last_id == "-":
                        raise StreamInterrupted(f"stream {stream_id} is unknown or expired")
                    replaying = len(entries) == _REPLAY_BATCH
                else:
                    reply = cast(
                        "list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]]",
                        await self._reader.xread(
                            {key: last_id}, count=_REPLAY_BATCH, block=int(wait * 1000) or 1
                        ),
                    )
                    entries = reply[0][1] if reply else []
                    if not entries and not await self._reader.exists(self._alive_key(stream_id)):
                        replaying = True  # it may have ended meanwhile: read once more
                        entries = cast(
                            "list[tuple[bytes, dict[bytes, bytes]]]",
                            await self._reader.xrange(key, f"({last_id}", "+", count=1),
                        )
                        if not entries:
                            raise StreamInterrupted(
                                f"stream {stream_id}: the worker generating it stopped"
                            )
            if not entries:
                if idle is not None and time.monotonic() - quiet_since >= idle:
                    quiet_since = time.monotonic()
                    yield b""
                continue
            last_id = entries[-1][0].decode()
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

    # --- stopping ----------------------------------------------------------------------

    async def request_stop(self, stream_id: str) -> None:
        with _store_errors("request a stop"):
            await self._redis.publish(self._channel, stream_id)  # pyright: ignore[reportUnknownMemberType]

    async def listen_for_stop(self, stream_id: str, callback: StopCallback) -> Callable[[], None]:
        self._start_background()
        subscribed, first_attempt = self._subscribed, self._first_attempt
        assert subscribed is not None
        assert first_attempt is not None
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(first_attempt.wait(), _SUBSCRIBE_WAIT)
        if not subscribed.is_set():  # the attempt failed (or never ended): Redis is down
            raise StreamStoreError(f"not subscribed to {self._channel!r}: Redis is unreachable")
        return self._stops.add(stream_id, callback)

    async def aclose(self) -> None:
        self._closing = True
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        if tasks:
            # redis-py can swallow a cancellation that lands in a read with a timeout; the
            # loops also stop on _closing within a second
            await asyncio.wait(tasks, timeout=3)
        self._subscribed = None
        await self._reader.aclose()
        await self._reader.connection_pool.disconnect()
        if self._owns_client:
            await self._redis.aclose()

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
        self._subscribed = asyncio.Event()
        self._first_attempt = asyncio.Event()
        self._tasks = [
            loop.create_task(self._listen(), name="uiwire-redis-stop-listener"),
            loop.create_task(self._heartbeat(), name="uiwire-redis-heartbeat"),
        ]

    async def _listen(self) -> None:
        """Deliver stop requests to this process's callbacks; reconnect after failures."""
        subscribed, first_attempt = self._subscribed, self._first_attempt
        assert subscribed is not None
        assert first_attempt is not None
        backoff = 0.1
        while not self._closing:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)  # pyright: ignore[reportUnknownMemberType]
            try:
                await pubsub.subscribe(self._channel)
                subscribed.set()
                first_attempt.set()
                backoff = 0.1
                while not self._closing:
                    message = cast("dict[str, Any] | None", await pubsub.get_message(timeout=1.0))
                    if message is not None and message.get("type") == "message":
                        data = cast("bytes", message["data"])
                        self._stops.notify(data.decode(errors="replace"))
            except Exception as exc:
                subscribed.clear()
                first_attempt.set()
                logger.warning("uiwire: stop requests are not received (%s); reconnecting", exc)
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            if self._closing:
                return
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 5.0)

    async def _heartbeat(self) -> None:
        """Renew the lease and the expiry of every stream this process is producing."""
        failing = False
        while not self._closing:
            await asyncio.sleep(self._lease_ms / 3000)
            streams = list(self._open.items())
            if not streams:
                continue
            try:
                async with self._redis.pipeline(transaction=False) as pipe:
                    for stream_id, chat_id in streams:
                        # renew (even after a stalled loop let it lapse), but only while
                        # the stream exists: a lease lost with its stream stays lost
                        pipe.eval(
                            _RENEW_LEASE,
                            2,
                            self._stream_key(stream_id),
                            self._alive_key(stream_id),
                            self._lease_ms,
                        )
                        pipe.pexpire(self._stream_key(stream_id), self._ttl_ms)
                        pipe.pexpire(self._active_key(chat_id), self._ttl_ms)
                    await pipe.execute()
            except (RedisError, OSError) as exc:
                if not failing:
                    logger.warning("uiwire: stream leases could not be renewed (%s)", exc)
                failing = True
            else:
                failing = False


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


def _frames(entries: list[tuple[bytes, dict[bytes, bytes]]]) -> tuple[bytes, bytes | None]:
    """The frames of some entries, joined, and the ``end`` entry's value if one is there."""
    data: list[bytes] = []
    for _, fields in entries:
        frame = fields.get(b"d")
        if frame is not None:
            data.append(frame)
        elif b"end" in fields:
            return b"".join(data), fields[b"end"]
    return b"".join(data), None


@contextlib.contextmanager
def _store_errors(what: str) -> Generator[None, None, None]:
    try:
        yield
    except (RedisError, OSError) as exc:
        raise StreamStoreError(f"Redis could not {what}: {exc}") from exc


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


def _check_client(client: Redis, check_every: float) -> None:
    options = client.connection_pool.connection_kwargs
    if options.get("decode_responses"):
        raise ValueError(
            "redis: the client decodes responses (decode_responses=True); frames are bytes, "
            "so give RedisStreamStore a client without it (or a URL)"
        )
    timeout = options.get("socket_timeout")
    if timeout is not None and timeout < check_every + 2:
        raise ValueError(
            f"redis: socket_timeout={timeout} would cut the {check_every} s blocking reads; "
            f"use at least {check_every + 2} s, or None"
        )
