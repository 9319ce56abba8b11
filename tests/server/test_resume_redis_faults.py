"""Redis misbehaving under two real workers: stalled (``DEBUG SLEEP``), paused
(``CLIENT PAUSE``), cut from the generating worker (a loopback proxy that stops moving
bytes), and its pub/sub connections killed. A new answer still streams at once, resumes
and stops answer within the deadline, no stop is lost, and every body is valid."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.support.redis_server import RedisServer
from tests.support.resume_app import resume_workers
from tests.support.servers import read_events
from tests.support.stream_rules import assert_valid_message
from tests.support.tcp_proxy import cuttable_proxy
from uiwire.protocol.encode import DONE_FRAME

DEADLINE = 1.0
"""The workers' Redis deadline (``RedisLimits.deadline``)."""
GUARD = 15.0
"""Seconds a request may take here at most: far above the deadline, far below the
stalls (30 s), so a request that waited on Redis fails the test instead of passing."""
ABORT_END = b'data: {"type":"abort"}\n\n' + DONE_FRAME


def ask(chat: str, words: int, delay: float = 0.02) -> dict[str, Any]:
    user = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "tell me"}]}
    return {
        "id": chat,
        "trigger": "submit-message",
        "messages": [user],
        "words": words,
        "delay": delay,
    }


def words(count: int) -> str:
    return "".join(f"w{index} " for index in range(count))


def worker_env(url: str, secret: str, lease: float = 2) -> dict[str, str]:
    return {
        "UIWIRE_TEST_REDIS_URL": url,
        "UIWIRE_TEST_LEASE": str(lease),
        "UIWIRE_TEST_REDIS_DEADLINE": str(DEADLINE),
        "UIWIRE_TEST_SECRET": secret,
    }


@pytest.fixture
def workers(redis_server: RedisServer) -> Iterator[tuple[str, str]]:
    env = worker_env(redis_server.url, secrets.token_urlsafe(32))
    with resume_workers(env, env) as (a, b):
        yield a, b


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(60)) as client:
        yield client


async def finished(client: httpx.AsyncClient, base: str, count: int) -> list[dict[str, Any]]:
    """``on_finish`` records of ``base``, once there are ``count``."""
    for _ in range(1500):
        done = (await client.get(f"{base}/test/events")).json()["finished"]
        if len(done) >= count:
            return done
        await asyncio.sleep(0.02)
    raise AssertionError(f"{base}: on_finish ran fewer than {count} times")


async def new_answer_streams_at_once(client: httpx.AsyncClient, base: str, chat: str) -> float:
    """POST a short answer: it must stream whole and valid; returns the seconds to its
    first byte."""
    started = time.monotonic()
    async with client.stream("POST", f"{base}/api/chat", json=ask(chat, 5, 0.01)) as fresh:
        raw = fresh.aiter_raw()
        first = await asyncio.wait_for(anext(raw), GUARD)
        first_byte = time.monotonic() - started
        body = first + b"".join([data async for data in raw])
    assert fresh.status_code == 200
    assert assert_valid_message(body)["parts"][-1]["text"] == words(5)
    return first_byte


@pytest.mark.parametrize("fault", ["stall", "pause"])
async def test_a_stalled_redis_delays_nothing_past_the_deadline(
    workers: tuple[str, str], client: httpx.AsyncClient, redis_server: RedisServer, fault: str
) -> None:
    a, b = workers
    async with client.stream("POST", f"{a}/api/chat", json=ask("chat-1", 150)) as posted:
        raw = posted.aiter_raw()
        first = await read_events(raw, 6)
        on_b = asyncio.create_task(client.get(f"{b}/api/chat/chat-1/stream"))
        await asyncio.sleep(0.3)  # B follows the live tail
        if fault == "stall":
            redis_server.stall(30)
        else:
            redis_server.pause(30)
        first_byte = await new_answer_streams_at_once(client, a, "chat-2")
        started = time.monotonic()
        resumed = await asyncio.wait_for(client.get(f"{b}/api/chat/chat-1/stream"), GUARD)
        resume_took = time.monotonic() - started
        assert resumed.status_code == 503
        assert resumed.headers["retry-after"]
        started = time.monotonic()
        stopped = await asyncio.wait_for(client.post(f"{b}/api/chat/chat-1/stop", json={}), GUARD)
        stop_took = time.monotonic() - started
        assert stopped.status_code == 503
        assert stopped.headers["retry-after"]
        followed = await asyncio.wait_for(on_b, GUARD)  # B's reader ends, validly
        rest = b"".join([data async for data in raw])
    print(
        f"{fault}: first byte of a new answer {first_byte:.2f} s, resume 503 in "
        f"{resume_took:.2f} s, stop 503 in {stop_took:.2f} s (deadline {DEADLINE} s)"
    )
    assert followed.status_code == 200
    assert followed.content.endswith(DONE_FRAME)
    assert_valid_message(followed.content)
    # A's own reader never depended on Redis; both answers were saved whole
    assert assert_valid_message(first + rest)["parts"][-1]["text"] == words(150)
    saved = {entry["chat"]: entry for entry in await finished(client, a, 2)}
    assert saved["chat-1"]["status"] == saved["chat-2"]["status"] == "finish"
    assert saved["chat-1"]["text"] == words(150)
    assert saved["chat-2"]["text"] == words(5)


async def test_a_stop_sent_while_the_generating_worker_is_cut_from_redis_arrives(
    redis_server: RedisServer, client: httpx.AsyncClient
) -> None:
    secret = secrets.token_urlsafe(32)
    with cuttable_proxy(redis_server.port) as proxy:
        through_proxy = f"redis://127.0.0.1:{proxy.port}/0"
        env_a = worker_env(through_proxy, secret, lease=4)
        env_b = worker_env(redis_server.url, secret, lease=4)
        with resume_workers(env_a, env_b) as (a, b):
            async with client.stream("POST", f"{a}/api/chat", json=ask("chat-1", 2000)) as posted:
                raw = posted.aiter_raw()
                first = await read_events(raw, 6)
                proxy.cut()  # A can no longer reach Redis; B can
                stopped = await asyncio.wait_for(
                    client.post(f"{b}/api/chat/chat-1/stop", json={}), GUARD
                )
                assert stopped.status_code == 202  # recorded in Redis
                await new_answer_streams_at_once(client, a, "chat-2")
                proxy.mend()
                rest = await asyncio.wait_for(
                    asyncio.ensure_future(_read_rest(raw)), GUARD
                )  # the stop arrives once A reaches Redis again
            assert (first + rest).endswith(ABORT_END)
            assert_valid_message(first + rest)
            events = (await client.get(f"{a}/test/events")).json()
            assert events["cancelled"] == ["chat-1"]
            saved = {entry["chat"]: entry for entry in await finished(client, a, 2)}
            assert saved["chat-1"]["status"] == "abort"
            assert len(saved["chat-1"]["text"].split()) < 2000


async def test_stops_sent_as_the_stop_listeners_lose_their_connections_all_arrive(
    workers: tuple[str, str], client: httpx.AsyncClient, redis_server: RedisServer
) -> None:
    a, b = workers
    tries = 10
    for attempt in range(tries):
        chat = f"chat-{attempt}"
        async with client.stream("POST", f"{a}/api/chat", json=ask(chat, 2000)) as posted:
            raw = posted.aiter_raw()
            first = await read_events(raw, 6)
            for _ in range(500):  # A's listener is back from the last attempt's kill
                if redis_server.pubsub_clients():
                    break
                await asyncio.sleep(0.01)
            assert redis_server.kill_pubsub() >= 1
            stopped = await client.post(f"{b}/api/chat/{chat}/stop", json={})
            assert stopped.status_code == 202
            rest = await asyncio.wait_for(_read_rest(raw), GUARD)
        assert (first + rest).endswith(ABORT_END)
        assert_valid_message(first + rest)
    saved = await finished(client, a, tries)
    assert [entry["status"] for entry in saved] == ["abort"] * tries


async def _read_rest(raw: AsyncIterator[bytes]) -> bytes:
    return b"".join([data async for data in raw])
