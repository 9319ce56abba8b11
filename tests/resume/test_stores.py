"""The StreamStore contract, on the in-memory store and on a real redis-server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio

from tests.support.redis_server import RedisServer
from tests.support.tasks import eventually
from uiwire.protocol import SteeringMessageUIPart, parse_steering_message
from uiwire.protocol.encode import DONE_FRAME
from uiwire.resume import (
    MemoryStreamStore,
    StreamInterrupted,
    StreamStore,
    StreamStoreError,
    check_chat_id,
)
from uiwire.resume.redis import RedisLimits, RedisStreamStore
from uiwire.stream import MAX_PENDING_STEERING, SteeringQueueFull


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest) -> AsyncIterator[StreamStore]:
    if request.param == "memory":
        yield MemoryStreamStore()
        return
    server: RedisServer = request.getfixturevalue("redis_server")
    store = RedisStreamStore(server.url, lease=1.0, ttl=30)
    try:
        yield store
    finally:
        await store.aclose()


async def read_all(frames: AsyncIterator[bytes]) -> bytes:
    return b"".join([data async for data in frames])


async def test_a_stream_is_replayed_from_the_start_and_followed_to_done(
    store: StreamStore,
) -> None:
    await store.open("chat-1", "s1", [b"data: p\n\n"])
    assert await store.active_stream("chat-1") == "s1"
    await store.append("s1", [b"data: 1\n\n", b"data: 2\n\n"])
    early = asyncio.create_task(read_all(store.follow("s1")))
    await asyncio.sleep(0.05)
    await store.append("s1", [b"data: 3\n\n", DONE_FRAME])
    late = await read_all(store.follow("s1"))  # after [DONE], before close
    await store.close("chat-1", "s1")
    expected = b"data: p\n\ndata: 1\n\ndata: 2\n\ndata: 3\n\n" + DONE_FRAME
    assert await asyncio.wait_for(early, 10) == expected
    assert late == expected
    assert await store.active_stream("chat-1") is None  # finished: nothing to resume


async def test_a_newer_stream_replaces_the_active_one_and_survives_the_older_closing(
    store: StreamStore,
) -> None:
    await store.open("chat-1", "old")
    await store.open("chat-1", "new")
    await store.close("chat-1", "old")
    assert await store.active_stream("chat-1") == "new"
    assert await store.active_stream("chat-2") is None


async def test_a_failed_stream_interrupts_its_followers(store: StreamStore) -> None:
    await store.open("chat-1", "s1", [b"data: 1\n\n"])
    follower = store.follow("s1")
    assert await anext(follower) == b"data: 1\n\n"
    await store.close("chat-1", "s1", failed=True)
    with pytest.raises(StreamInterrupted):
        await anext(follower)


async def test_following_an_unknown_stream_is_interrupted(store: StreamStore) -> None:
    with pytest.raises(StreamInterrupted):
        await read_all(store.follow("nope"))


async def test_an_idle_follower_gets_keep_alive_items(store: StreamStore) -> None:
    await store.open("chat-1", "s1")
    follower = store.follow("s1", idle=0.05)
    assert await asyncio.wait_for(anext(follower), 10) == b""
    await store.append("s1", [b"data: x\n\n"])
    assert await asyncio.wait_for(anext(follower), 10) == b"data: x\n\n"
    await follower.aclose()


async def test_a_stop_reaches_the_listener_of_that_stream_only(store: StreamStore) -> None:
    stopped: list[str] = []
    unlisten = await store.listen_for_stop("s1", lambda _mode: stopped.append("s1"))
    await store.listen_for_stop("s2", lambda _mode: stopped.append("s2"))
    await store.request_stop("s1")
    for _ in range(200):
        if stopped:
            break
        await asyncio.sleep(0.01)
    assert stopped == ["s1"]
    unlisten()
    await store.request_stop("s1")
    await asyncio.sleep(0.1)
    assert stopped == ["s1"]


async def test_a_stop_carries_its_mode_and_a_stop_at_once_wins(store: StreamStore) -> None:
    """``request_stop(..., "after_turn")`` reaches the listener as such; a stop at once
    that follows it is delivered as one (and, recorded, is never turned back)."""
    modes: list[str] = []
    await store.open("chat-1", "s1")
    await store.listen_for_stop("s1", modes.append)
    assert await store.request_stop("s1", "after_turn") is True
    await eventually(lambda: "after_turn" in modes)
    assert await store.request_stop("s1") is True
    await eventually(lambda: "immediate" in modes)
    assert await store.request_stop("s1", "after_turn") is True
    await asyncio.sleep(0.05)
    assert modes[:2] == ["after_turn", "immediate"]
    if isinstance(store, RedisStreamStore):  # the record, which a heartbeat rereads
        assert await store._redis.get("uiwire:stream:{s1}:stop") == b"immediate"  # pyright: ignore[reportPrivateUsage]
    await store.close("chat-1", "s1")


async def test_redis_keys_expire_and_a_dead_worker_is_noticed(redis_server: RedisServer) -> None:
    producer = RedisStreamStore(redis_server.url, lease=0.6, ttl=5)
    follower = RedisStreamStore(redis_server.url, lease=0.6, ttl=5)
    try:
        await producer.open("chat-1", "s1", [b"data: 1\n\n"])
        client = redis_server.client()
        assert 0 < client.pttl("uiwire:stream:{s1}") <= 5000
        assert 0 < client.pttl("uiwire:chat:{chat-1}:active") <= 5000
        await asyncio.sleep(1.0)  # the heartbeat keeps the lease past its 0.6 s
        assert client.exists("uiwire:stream:{s1}:alive")
        assert await follower.active_stream("chat-1") == "s1"
        await producer.aclose()  # the producing worker dies: no more heartbeats, no close
        frames = follower.follow("s1")
        assert await anext(frames) == b"data: 1\n\n"
        with pytest.raises(StreamInterrupted, match="stopped"):
            await asyncio.wait_for(anext(frames), 10)
        assert await follower.active_stream("chat-1") is None  # not offered for resume
        client.close()
    finally:
        await producer.aclose()
        await follower.aclose()


async def test_redis_down_is_a_store_error(redis_server: RedisServer) -> None:
    store = RedisStreamStore(redis_server.url)
    try:
        await store.open("chat-1", "s1")
        follower = store.follow("s1")
        waiting = asyncio.create_task(anext(follower))  # blocked on the live tail
        await asyncio.sleep(0.2)
        redis_server.stop()
        with pytest.raises(StreamStoreError):
            await asyncio.wait_for(waiting, 10)
        with pytest.raises(StreamStoreError):
            await store.active_stream("chat-1")
        with pytest.raises(StreamStoreError):
            await store.append("s1", [b"x"])
        with pytest.raises(StreamStoreError):
            await store.open("chat-2", "s2")
    finally:
        await store.aclose()


def test_redis_store_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="prefix"):
        RedisStreamStore("redis://127.0.0.1:1/0", prefix="a b")
    with pytest.raises(ValueError, match="ttl"):
        RedisStreamStore("redis://127.0.0.1:1/0", ttl=5, lease=10)
    with pytest.raises(ValueError, match="lease"):
        RedisStreamStore("redis://127.0.0.1:1/0", lease=0)
    with pytest.raises(TypeError, match="redis"):
        RedisStreamStore(42)  # type: ignore[arg-type]
    decoding = redis.asyncio.Redis(port=1, decode_responses=True)
    with pytest.raises(ValueError, match="decode_responses"):
        RedisStreamStore(decoding)
    with pytest.raises(ValueError, match="deadline"):
        RedisLimits(deadline=0)
    with pytest.raises(ValueError, match="connections"):
        RedisLimits(connections=0)
    with pytest.raises(TypeError, match="limits"):
        RedisStreamStore("redis://127.0.0.1:1/0", limits=2.0)  # type: ignore[arg-type]


@pytest.mark.parametrize("chat_id", ["abc", "a1B2-c_3.d~e:f@g", "x" * 128, "550e8400-e29b-41d4"])
def test_chat_ids_that_are_accepted(chat_id: str) -> None:
    assert check_chat_id(chat_id) == chat_id


@pytest.mark.parametrize("chat_id", ["", ".", "..", "a/b", "a b", "x" * 129, "é", "a%2F", 5])
def test_chat_ids_that_are_refused(chat_id: object) -> None:
    with pytest.raises(ValueError, match="chat id"):
        check_chat_id(chat_id)


async def test_open_says_which_active_stream_it_replaced(store: StreamStore) -> None:
    assert await store.open("chat-1", "first") is None
    assert await store.open("chat-1", "second") == "first"
    await store.close("chat-1", "second")
    assert await store.open("chat-1", "third") is None


async def test_a_retried_redis_write_is_not_recorded_twice(redis_server: RedisServer) -> None:
    """redis-py retries a pipeline whose reply was lost; the entry ids make the repeat a
    refused duplicate rather than a second copy of the frames."""
    store = RedisStreamStore(redis_server.url)
    try:
        await store.open("chat-1", "s1", [b"a"])
        await store.append("s1", [b"b", b"c"])
        store._seq["s1"] -= 1  # pyright: ignore[reportPrivateUsage] - replay that write (one entry)
        await store.append("s1", [b"b", b"c"])
        await store.append("s1", [DONE_FRAME])
        assert await read_all(store.follow("s1")) == b"abc" + DONE_FRAME
    finally:
        await store.aclose()


async def test_a_redis_store_works_again_after_aclose_and_on_a_new_loop(
    redis_server: RedisServer,
) -> None:
    store = RedisStreamStore(redis_server.url)
    await store.open("chat-1", "s1")
    await store.aclose()
    stopped: list[str] = []
    await store.listen_for_stop("s2", lambda _mode: stopped.append("s2"))
    await store.open("chat-2", "s2")
    await store.request_stop("s2")
    for _ in range(200):
        if stopped:
            break
        await asyncio.sleep(0.01)
    assert stopped == ["s2"]
    await store.aclose()


async def test_a_stop_says_whether_it_reached_a_running_stream(store: StreamStore) -> None:
    unlisten = await store.listen_for_stop("s1", lambda _mode: None)
    await store.open("chat-1", "s1")
    assert await store.request_stop("s1") is True
    unlisten()
    await store.close("chat-1", "s1")
    assert await store.request_stop("s1") is False  # it ended: nothing to stop
    assert await store.request_stop("nope") is False


def steering_message(text: str, id: str) -> SteeringMessageUIPart:
    return parse_steering_message({"id": id, "parts": [{"type": "text", "text": text}]})


async def test_steering_reaches_the_listener_of_that_stream_once_each_in_order(
    store: StreamStore,
) -> None:
    got: list[tuple[str, str]] = []
    await store.open("chat-1", "s1")
    await store.open("chat-2", "s2")
    unlisten = await store.listen_for_steer("s1", lambda m: got.append(("s1", m.id)))
    await store.listen_for_steer("s2", lambda m: got.append(("s2", m.id)))
    for n in range(5):
        assert await store.request_steer("s1", steering_message(f"m{n}", f"steer_{n}")) is True
    await eventually(lambda: len(got) == 5)
    await asyncio.sleep(0.1)  # a heartbeat, a resubscription: nothing twice
    assert got == [("s1", f"steer_{n}") for n in range(5)]
    unlisten()
    await store.close("chat-1", "s1")
    assert await store.request_steer("s1", steering_message("late", "steer_late")) is False
    assert await store.request_steer("nope", steering_message("who", "steer_who")) is False
    await asyncio.sleep(0.05)
    assert got == [("s1", f"steer_{n}") for n in range(5)]


async def test_steering_crosses_workers_and_keeps_its_parts(redis_server: RedisServer) -> None:
    producer = RedisStreamStore(redis_server.url, lease=1.0, ttl=30)
    other = RedisStreamStore(redis_server.url, lease=1.0, ttl=30)
    try:
        got: list[SteeringMessageUIPart] = []
        await producer.listen_for_steer("s1", got.append)
        await producer.open("chat-1", "s1")
        sent = parse_steering_message(
            {
                "id": "steer_f",
                "parts": [
                    {"type": "text", "text": "look", "providerMetadata": {"p": {"k": 1}}},
                    {"type": "file", "mediaType": "image/png", "url": "data:image/png;base64,AA=="},
                ],
            }
        )
        assert await other.request_steer("s1", sent) is True
        await eventually(lambda: len(got) == 1)
        assert got[0].model_dump(mode="json", by_alias=True, exclude_unset=True) == sent.model_dump(
            mode="json", by_alias=True, exclude_unset=True
        )
    finally:
        await producer.aclose()
        await other.aclose()


async def test_a_steering_message_whose_notice_was_lost_is_taken_by_the_heartbeat(
    redis_server: RedisServer,
) -> None:
    store = RedisStreamStore(redis_server.url, lease=0.6, ttl=30)
    try:
        got: list[str] = []
        await store.listen_for_steer("s1", lambda m: got.append(m.id))
        await store.open("chat-1", "s1")
        data = steering_message("quiet", "steer_q").model_dump_json(
            by_alias=True, exclude_unset=True
        )
        client = redis_server.client()
        client.rpush("uiwire:stream:{s1}:steer", data)  # recorded, never published
        await eventually(lambda: got == ["steer_q"])
        assert client.exists("uiwire:stream:{s1}:steer") == 0
        client.close()
    finally:
        await store.aclose()


async def test_redis_refuses_steering_past_the_bound_while_none_is_taken(
    redis_server: RedisServer,
) -> None:
    store = RedisStreamStore(redis_server.url, lease=1.0, ttl=30)
    try:
        await store.open("chat-1", "s1")  # produced here, but nothing listens: none taken
        for n in range(MAX_PENDING_STEERING):
            assert await store.request_steer("s1", steering_message("m", f"steer_{n}"))
        with pytest.raises(SteeringQueueFull):
            await store.request_steer("s1", steering_message("m", "steer_x"))
    finally:
        await store.aclose()
