"""Two uvicorn workers sharing PostgreSQL (the chats) and Redis (the streams), as behind a
load balancer: a split brain saves in turn order, a reload during the first answer
shows the question, a deleted chat is gone everywhere, and one browser is the same
owner on both workers while another browser reaches nothing of it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.support.postgres import PostgresServer
from tests.support.redis_server import RedisServer
from tests.support.resume_app import resume_workers
from tests.support.servers import read_until
from tests.support.stream_rules import assert_valid_body, assert_valid_message
from tests.support.tcp_proxy import CuttableProxy, cuttable_proxy

ROOT = Path(__file__).resolve().parents[2]
CHAT = "chat-9"


def ask(text: str, message_id: str, words: int = 5, delay: float = 0.02) -> dict[str, Any]:
    message = {"id": message_id, "role": "user", "parts": [{"type": "text", "text": text}]}
    body = {"id": CHAT, "messages": [message], "trigger": "submit-message"}
    return {**body, "words": words, "delay": delay}


class Worker:
    def __init__(self, base: str) -> None:
        self.chat = f"{base}/api/chat"
        self.history = f"{base}/api/chats"
        self.stream = f"{base}/api/chat/{CHAT}/stream"


@pytest.fixture
async def database(postgres_server: PostgresServer) -> AsyncIterator[str]:
    name = f"workers_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(postgres_server.dsn())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        yield name
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
def proxy(postgres_server: PostgresServer) -> Iterator[CuttableProxy]:
    """Worker A's way to the database, which the test can cut."""
    with cuttable_proxy(postgres_server.port) as proxy:
        yield proxy


@pytest.fixture
def workers(
    redis_server: RedisServer, postgres_server: PostgresServer, database: str, proxy: CuttableProxy
) -> Iterator[tuple[Worker, Worker]]:
    direct = postgres_server.url(database)
    through_proxy = direct.replace(f":{postgres_server.port}/", f":{proxy.port}/")
    envs = [
        {
            "UIWIRE_TEST_REDIS_URL": redis_server.url,
            "UIWIRE_TEST_LEASE": "2",
            "UIWIRE_TEST_DATABASE_URL": url,
            "UIWIRE_TEST_DB_TIMEOUT": "10",
        }
        for url in (through_proxy, direct)
    ]
    with resume_workers(*envs) as (a, b):
        yield Worker(a), Worker(b)


@pytest.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    """One browser: its cookies go to both workers (same host)."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(30)) as client:
        yield client


async def stored(browser: httpx.AsyncClient, worker: Worker) -> dict[str, Any]:
    response = await browser.get(f"{worker.history}/{CHAT}")
    assert response.status_code == 200, response.text
    return response.json()


async def until_saved(browser: httpx.AsyncClient, worker: Worker, count: int) -> dict[str, Any]:
    """The chat once ``count`` messages are saved and none is running."""
    chat: dict[str, Any] = {}
    for _ in range(300):
        chat = await stored(browser, worker)
        if len(chat["messages"]) == count and not chat["resumable"] and not chat["interrupted"]:
            return chat
        await asyncio.sleep(0.05)
    raise AssertionError(f"never saved {count} messages: {chat}")


def texts(chat: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (m["role"], "".join(p.get("text", "") for p in m["parts"] if p["type"] == "text"))
        for m in chat["messages"]
    ]


@pytest.mark.slow
async def test_a_split_brain_saves_in_turn_order_and_a_reload_shows_the_question(
    workers: tuple[Worker, Worker], proxy: CuttableProxy, browser: httpx.AsyncClient
) -> None:
    a, b = workers
    await browser.get(f"{a.history}")  # the owner cookie, made once, good on both workers
    async with browser.stream("POST", a.chat, json=ask("first?", "u1", words=400)) as first:
        assert first.status_code == 200
        await read_until(first, "text-delta")
        # a reload on the other worker during the first answer: the question is there,
        # the answer is offered for resumption
        during = await stored(browser, b)
        assert texts(during) == [("user", "first?")]
        assert during["resumable"] is True
        # A loses the database; the user asks again on B, which stops A's answer (one
        # answer at a time) and answers the new question
        proxy.cut()
        second = await browser.post(b.chat, json=ask("second?", "u2", words=3))
        assert second.status_code == 200, second.text
        second_answer = assert_valid_message(second.content)
    # A's save of its stopped answer waits on the cut connection, then lands last
    await asyncio.sleep(0.5)
    proxy.mend()
    chat = await until_saved(browser, b, 4)
    assert [m["id"] for m in chat["messages"]][::2] == ["u1", "u2"]
    assert chat["messages"][3]["id"] == second_answer["id"]
    assert texts(chat)[3] == ("assistant", "w0 w1 w2 ")  # B's answer, untouched by A's save
    first_saved = texts(chat)[1][1]
    assert first_saved.startswith("w0 w1 ")  # A's answer as far as it got, in its place
    assert len(first_saved.split()) < 400


@pytest.mark.slow
async def test_a_deleted_chat_is_gone_on_every_worker_and_strangers_reach_nothing(
    workers: tuple[Worker, Worker], browser: httpx.AsyncClient
) -> None:
    a, b = workers
    await browser.get(f"{a.history}")
    assert (await browser.post(a.chat, json=ask("hello", "u1"))).status_code == 200
    await until_saved(browser, b, 2)  # the same owner on the other worker
    async with httpx.AsyncClient(timeout=30) as stranger:
        for worker in (a, b):
            assert (await stranger.get(f"{worker.history}/{CHAT}")).status_code == 404
            assert (await stranger.get(worker.stream)).status_code == 404
            assert (await stranger.get(worker.history)).json()["chats"] == []
    assert (await browser.delete(f"{a.history}/{CHAT}")).status_code == 204
    for worker in (a, b):
        assert (await browser.get(f"{worker.history}/{CHAT}")).status_code == 404
        assert (await browser.get(worker.stream)).status_code == 404
        assert (await browser.get(worker.history)).json()["chats"] == []


@pytest.mark.slow
async def test_a_stop_on_another_worker_while_the_answer_begins_is_kept(
    workers: tuple[Worker, Worker], browser: httpx.AsyncClient
) -> None:
    a, b = workers
    await browser.get(f"{a.history}")  # the owner cookie, good on both workers
    body = {**ask("stop me", "u1", words=50), "beginDelay": 3}
    posted = asyncio.create_task(browser.post(a.chat, json=body))
    for _ in range(200):  # until A has registered the answer (its agent is beginning)
        if (await browser.head(b.stream)).status_code == 200:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the answer was never registered")
    assert not posted.done()  # still beginning: the agent waits its 3 s
    stop = await browser.post(f"{b.chat}/{CHAT}/stop", json={})
    assert stop.status_code == 202, stop.text
    answered = await posted
    assert answered.status_code == 200, answered.text
    chunks = assert_valid_body(answered.content)
    assert [c["type"] for c in chunks] == ["start", "abort"]
    chat = await until_saved(browser, b, 2)
    assert texts(chat) == [("user", "stop me"), ("assistant", "")]
    events = (await browser.get(f"{a.chat.removesuffix('/api/chat')}/test/events")).json()
    assert events["cancelled"] == []  # the agent's work never started
    assert [e["status"] for e in events["finished"]] == ["abort"]
