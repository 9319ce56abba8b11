"""What only the Redis store does: a fixed number of connections whatever the number of
followers, a deadline on every call when Redis stalls or pauses, stops that survive a
lost notification, nothing kept for a failed ``open``, and a real Redis Cluster."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Any

import pytest
from redis.asyncio.cluster import RedisCluster

from tests.support.redis_server import RedisServer, redis_cluster
from tests.support.tasks import eventually
from uiwire.protocol.encode import DONE_FRAME
from uiwire.resume import StreamInterrupted, StreamStoreError
from uiwire.resume.redis import RedisLimits, RedisStreamStore

GUARD = 10.0
"""Seconds a test waits for a store call at most: far above the deadlines below and
far below the stalls, so a call that waited on Redis fails the test instead of hanging."""


async def read_all(frames: AsyncIterator[bytes]) -> bytes:
    return b"".join([data async for data in frames])


async def fails_fast(call: Awaitable[Any]) -> None:
    with pytest.raises(StreamStoreError):
        await asyncio.wait_for(call, GUARD)


def named(url: str, name: str) -> str:
    return f"{url}?client_name={name}"


async def test_followers_share_one_reader_and_producers_a_fixed_pool(
    redis_server: RedisServer,
) -> None:
    limits = RedisLimits(connections=4)
    producer = RedisStreamStore(named(redis_server.url, "producer"), limits=limits)
    follower = RedisStreamStore(named(redis_server.url, "follower"), limits=limits)
    streams, per_stream = 30, 10
    try:
        await asyncio.gather(*(producer.open(f"c{i}", f"s{i}", [b"a"]) for i in range(streams)))
        readers = [
            asyncio.create_task(read_all(follower.follow(f"s{i}")))
            for i in range(streams)
            for _ in range(per_stream)
        ]
        for step in range(5):
            await asyncio.gather(
                *(producer.append(f"s{i}", [f"{step}".encode()]) for i in range(streams))
            )
            await asyncio.sleep(0.02)
        held = redis_server.clients("follower")
        await asyncio.gather(*(producer.append(f"s{i}", [DONE_FRAME]) for i in range(streams)))
        bodies = await asyncio.wait_for(asyncio.gather(*readers), 30)
        assert set(bodies) == {b"a01234" + DONE_FRAME}
        assert len(bodies) == streams * per_stream
        # 300 followers: the command pool and the tail reader, not a connection each
        assert 1 <= held <= limits.connections + 2
        assert redis_server.clients("producer") <= limits.connections + 2
    finally:
        await producer.aclose()
        await follower.aclose()


async def test_a_follower_joining_a_tail_already_read_past_it_catches_up(
    redis_server: RedisServer,
) -> None:
    store = RedisStreamStore(redis_server.url)
    try:
        await store.open("c", "s1", [b"a"])
        first = store.follow("s1")
        assert await anext(first) == b"a"
        waiting = asyncio.create_task(anext(first))  # subscribed at entry 0-1
        await store.append("s1", [b"b"])
        assert await asyncio.wait_for(waiting, GUARD) == b"b"  # the tail is at 0-2
        # a second follower replays to 0-2, then subscribes: no duplicate, nothing lost
        second = store.follow("s1")
        assert await anext(second) == b"ab"
        await store.append("s1", [b"c", DONE_FRAME])
        assert await asyncio.wait_for(read_all(second), GUARD) == b"c" + DONE_FRAME
        assert await asyncio.wait_for(read_all(first), GUARD) == b"c" + DONE_FRAME
    finally:
        await store.aclose()


async def test_a_failed_open_keeps_nothing(redis_server: RedisServer) -> None:
    store = RedisStreamStore(redis_server.url, limits=RedisLimits(deadline=1.0))
    try:
        await store.open("c", "warm")
        await store.close("c", "warm")
        with redis_server.client() as client:
            client.config_set("maxmemory", 1)  # every write refused: out of memory
        for index in range(200):
            with pytest.raises(StreamStoreError):
                await store.open("c", f"s{index}")
        assert store._seq == {}  # pyright: ignore[reportPrivateUsage]
        assert store._open == {}  # pyright: ignore[reportPrivateUsage]
    finally:
        await store.aclose()


async def test_a_write_queued_behind_a_stalled_batch_fails_at_its_own_deadline(
    redis_server: RedisServer,
) -> None:
    store = RedisStreamStore(redis_server.url, lease=30, ttl=60, limits=RedisLimits(deadline=1.0))
    try:
        await store.open("chat-1", "s1", [b"a"])
        redis_server.stall(30)
        first = asyncio.ensure_future(store.append("s1", [b"b"]))  # its batch is in flight
        await asyncio.sleep(0.6)
        queued = asyncio.ensure_future(store.append("s1", [b"c"]))  # gathers the next one
        with pytest.raises(StreamStoreError, match=r"within 1 s"):
            await asyncio.wait_for(first, GUARD)
        assert not queued.done()  # 0.4 s into its own deadline, not failed with the first
        with pytest.raises(StreamStoreError, match=r"record frames within 1 s"):
            await asyncio.wait_for(queued, GUARD)
    finally:
        redis_server.stop()  # ends the stall; the store closes against a dead server
        await store.aclose()


@pytest.mark.parametrize("fault", ["stall", "pause"])
async def test_every_call_fails_within_the_deadline_while_redis_stalls(
    redis_server: RedisServer, fault: str
) -> None:
    store = RedisStreamStore(redis_server.url, lease=30, ttl=60, limits=RedisLimits(deadline=0.5))
    other = RedisStreamStore(redis_server.url, lease=30, ttl=60, limits=RedisLimits(deadline=0.5))
    try:
        await store.listen_for_stop("s1", lambda _mode: None)
        await store.open("chat-1", "s1", [b"a"])
        follower = other.follow("s1")
        assert await anext(follower) == b"a"
        waiting = asyncio.create_task(anext(follower))  # on the live tail
        await asyncio.sleep(0.2)
        if fault == "stall":
            redis_server.stall(30)
        else:
            redis_server.pause(30)
        started = time.monotonic()
        await fails_fast(store.open("chat-2", "s2"))
        await fails_fast(store.append("s1", [b"b"]))
        await fails_fast(other.active_stream("chat-1"))
        await fails_fast(other.request_stop("s1"))
        await fails_fast(waiting)
        await fails_fast(read_all(other.follow("s1")))
        elapsed = time.monotonic() - started
        print(f"{fault}: six calls failed in {elapsed:.2f} s (deadline 0.5 s each)")
    finally:
        redis_server.stop()  # ends the stall; the stores close against a dead server
        await store.aclose()
        await other.aclose()


async def test_a_stop_is_recorded_and_found_without_its_notification(
    redis_server: RedisServer,
) -> None:
    producer = RedisStreamStore(redis_server.url, lease=1.0, ttl=30)
    stopper = RedisStreamStore(redis_server.url, lease=1.0, ttl=30)
    try:
        stopped: list[str] = []
        await producer.listen_for_stop("s1", lambda _mode: stopped.append("s1"))
        await producer.open("c", "s1")
        # a stop whose publication was lost: only its record is there
        with redis_server.client() as client:
            client.set("uiwire:stream:{s1}:stop", b"1")
        await eventually(lambda: bool(stopped))  # the heartbeat found it
        assert await stopper.request_stop("unknown") is False  # nothing generates it
        await producer.close("c", "s1")
        assert await stopper.request_stop("s1") is False  # it ended
    finally:
        await producer.aclose()
        await stopper.aclose()


async def test_a_stop_sent_while_the_listeners_reconnect_is_not_lost(
    redis_server: RedisServer,
) -> None:
    producer = RedisStreamStore(redis_server.url, lease=30, ttl=60)
    stopper = RedisStreamStore(redis_server.url, lease=30, ttl=60)
    try:
        for attempt in range(10):
            stream_id = f"s{attempt}"
            stopped: list[str] = []
            unlisten = await producer.listen_for_stop(
                stream_id, lambda _mode, s=stopped: s.append("x")
            )
            await producer.open("c", stream_id)
            assert redis_server.kill_pubsub() >= 1
            assert await stopper.request_stop(stream_id) is True
            # the heartbeat is 10 s away: the listener's re-subscription looks for it
            await eventually(lambda: bool(stopped))  # noqa: B023 - awaited in this iteration
            unlisten()
            await producer.close("c", stream_id)
    finally:
        await producer.aclose()
        await stopper.aclose()


async def test_a_redis_cluster_records_follows_and_stops(redis_server: RedisServer) -> None:
    del redis_server  # the cluster has servers of its own
    with redis_cluster() as cluster:
        producer_client = RedisCluster.from_url(cluster.url)  # pyright: ignore[reportUnknownMemberType]
        follower_client = RedisCluster.from_url(cluster.url)  # pyright: ignore[reportUnknownMemberType]
        producer = RedisStreamStore(producer_client, lease=1.0, ttl=30)
        follower = RedisStreamStore(follower_client, lease=1.0, ttl=30)
        try:
            stopped: list[str] = []
            ids = [f"strm_{index}" for index in range(12)]  # spread over the three nodes
            for stream_id in ids:
                await producer.listen_for_stop(
                    stream_id, lambda _mode, s=stream_id: stopped.append(s)
                )
                assert await producer.open(f"chat-{stream_id}", stream_id, [b"a"]) is None
            assert await follower.active_stream("chat-strm_3") == "strm_3"
            holding = [node for node in cluster.nodes if node.client().dbsize() > 0]
            assert len(holding) == 3  # the streams are spread over every master
            readers = [asyncio.create_task(read_all(follower.follow(s))) for s in ids]
            await asyncio.sleep(0.2)
            for stream_id in ids:
                await producer.append(stream_id, [b"b", DONE_FRAME])
            assert await asyncio.wait_for(asyncio.gather(*readers), 30) == [
                b"ab" + DONE_FRAME
            ] * len(ids)
            assert await follower.request_stop("strm_5") is True
            await eventually(lambda: stopped == ["strm_5"])
            for stream_id in ids:
                await producer.close(f"chat-{stream_id}", stream_id)
            assert await follower.active_stream("chat-strm_3") is None
            with pytest.raises(StreamInterrupted):
                await read_all(follower.follow("nope"))
        finally:
            await producer.aclose()
            await follower.aclose()
            await producer_client.aclose()
            await follower_client.aclose()
