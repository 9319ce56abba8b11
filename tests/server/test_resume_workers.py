"""Two uvicorn worker processes sharing a real redis-server, as behind a load balancer:
an answer started on worker A is resumed on worker B (a byte-identical replay), stopped
from B, and survives a Redis restart with every reader's stream still valid."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.redis_server import RedisServer
from tests.support.resume_app import resume_workers
from tests.support.servers import read_events
from tests.support.stream_rules import assert_valid_message
from uiwire.protocol.encode import DONE_FRAME
from uiwire.resume import INTERRUPTED_TEXT

ROOT = Path(__file__).resolve().parents[2]
CHAT = {"id": "chat-7", "trigger": "submit-message"}
QUESTION = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "tell me"}]}


def ask(words: int, delay: float = 0.02) -> dict[str, Any]:
    return {**CHAT, "messages": [QUESTION], "words": words, "delay": delay}


def words(count: int) -> str:
    return "".join(f"w{index} " for index in range(count))


class Worker:
    def __init__(self, base: str) -> None:
        self.base = base
        self.chat = f"{base}/api/chat"
        self.stream = f"{base}/api/chat/chat-7/stream"
        self.stop = f"{base}/api/chat/chat-7/stop"

    async def events(self, client: httpx.AsyncClient) -> dict[str, Any]:
        return (await client.get(f"{self.base}/test/events")).json()

    async def finished(self, client: httpx.AsyncClient) -> list[dict[str, Any]]:
        for _ in range(500):
            finished = (await self.events(client))["finished"]
            if finished:
                return finished
            await asyncio.sleep(0.02)
        raise AssertionError(f"{self.base}: on_finish never ran")


@pytest.fixture
def workers(redis_server: RedisServer) -> Iterator[tuple[Worker, Worker]]:
    env = {
        "UIWIRE_TEST_REDIS_URL": redis_server.url,
        "UIWIRE_TEST_LEASE": "2",
        "UIWIRE_TEST_SECRET": secrets.token_urlsafe(32),
    }
    with resume_workers(env, env) as (a, b):
        yield Worker(a), Worker(b)


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(30)) as client:
        yield client


async def test_an_answer_started_on_a_is_replayed_byte_for_byte_on_b(
    workers: tuple[Worker, Worker], client: httpx.AsyncClient
) -> None:
    a, b = workers
    async with client.stream("POST", a.chat, json=ask(60)) as posted:
        raw = posted.aiter_raw()
        first = await read_events(raw, 8)
        on_b = asyncio.create_task(client.get(b.stream))  # joins mid-answer, from Redis
        rest = b"".join([data async for data in raw])
    uninterrupted = first + rest
    resumed = await asyncio.wait_for(on_b, 30)
    assert resumed.status_code == 200
    assert resumed.content == uninterrupted
    message = assert_valid_message(resumed.content)
    assert message["parts"][-1]["text"] == words(60)


async def test_disconnect_on_a_then_resume_on_b_gets_the_whole_answer(
    workers: tuple[Worker, Worker], client: httpx.AsyncClient
) -> None:
    a, b = workers
    async with client.stream("POST", a.chat, json=ask(60)) as posted:
        received = await read_events(posted.aiter_raw(), 6)
        second_tab = asyncio.create_task(client.get(a.stream))  # follows A's own copy
        await asyncio.sleep(0.05)
    # the POST's client is gone; generation goes on in A; the user reloads onto B
    resumed = await client.get(b.stream)
    assert resumed.status_code == 200
    assert resumed.content.startswith(received)
    assert resumed.content.endswith(DONE_FRAME)
    assert resumed.content == (await asyncio.wait_for(second_tab, 30)).content
    message = assert_valid_message(resumed.content)
    assert message["parts"][-1]["text"] == words(60)
    [saved] = await a.finished(client)
    assert saved == {"chat": "chat-7", "status": "finish", "text": words(60)}
    # finished: both workers say there is nothing to resume
    for worker in (a, b):
        done = await client.get(worker.stream)
        assert (done.status_code, done.content) == (204, b"")


async def test_stop_on_b_cancels_the_generation_on_a(
    workers: tuple[Worker, Worker], client: httpx.AsyncClient
) -> None:
    a, b = workers
    async with client.stream("POST", a.chat, json=ask(2000)) as posted:
        raw = posted.aiter_raw()
        await read_events(raw, 6)
        stopped = await client.post(b.stop, json={})
        assert stopped.status_code == 202
        rest = b"".join([data async for data in raw])  # ends: no 2,000 words
    assert rest.endswith(b'data: {"type":"abort"}\n\n' + DONE_FRAME)
    events = await a.events(client)
    assert events["cancelled"] == ["chat-7"]
    [saved] = await a.finished(client)
    assert saved["status"] == "abort"
    assert len(saved["text"].split()) < 2000
    assert (await b.events(client))["cancelled"] == []
    assert (await client.post(b.stop, json={})).status_code == 204


async def test_a_redis_restart_mid_answer_ends_followers_validly_and_spares_the_post(
    workers: tuple[Worker, Worker], client: httpx.AsyncClient, redis_server: RedisServer
) -> None:
    a, b = workers
    async with client.stream("POST", a.chat, json=ask(150)) as posted:
        raw = posted.aiter_raw()
        await read_events(raw, 6)
        on_b = asyncio.create_task(client.get(b.stream))
        await asyncio.sleep(0.3)
        redis_server.restart()  # everything in it is lost
        followed = await asyncio.wait_for(on_b, 30)
        rest = b"".join([data async for data in raw])
    # B's reader could not follow to the end: a clear error, then [DONE]
    assert followed.status_code == 200
    end = b'data: {"type":"error","errorText":"' + INTERRUPTED_TEXT.encode() + b'"}\n\n'
    assert followed.content.endswith(end + DONE_FRAME)
    assert_valid_message(followed.content)
    # A's own reader never depended on Redis
    assert rest.endswith(b'{"type":"finish"}\n\n' + DONE_FRAME)
    [saved] = await a.finished(client)
    assert saved["status"] == "finish"
    assert saved["text"] == words(150)
    # the restarted Redis has nothing to resume; new answers are resumable again
    assert (await client.get(b.stream)).status_code == 204
    async with client.stream("POST", a.chat, json=ask(40)) as posted:
        raw = posted.aiter_raw()
        first = await read_events(raw, 6)
        resumed = await client.get(b.stream)
        rest = b"".join([data async for data in raw])
    assert resumed.status_code == 200
    assert resumed.content == first + rest
