"""Chat store: list and get latency, and the cost of saving a turn, on SQLite and PostgreSQL.

    python -m benchmarks.chats [--chats N] [--messages M] [--samples S] [--quick]
                               [--out DIR] [--postgres-url URL]

``SQLChatStore`` on a SQLite file (aiosqlite) and on PostgreSQL (asyncpg; a throwaway
cluster from the OS package's binaries, as the tests start it, unless ``--postgres-url``
names an empty database). Each database is seeded in bulk (``executemany`` straight into
the store's tables, through the store's own JSON encoding) with ``--chats`` chats of
``--messages`` messages (alternating questions of ~100 characters and answers of ~700,
the answers with a reasoning part), spread over 100 owners; then, one call at a time:

* ``list_chats`` first page (50 chats) of a random owner, and its second page (the
  cursor);
* ``get`` of a random chat (all its messages, parsed into ``UIMessage``s);
* a turn on a random chat: ``start_turn`` (keep every message, add a question, a running
  answer) then ``finish_turn`` (the answer's content), as a server saves each turn.

Figures are wall-clock p50/p99 in milliseconds on whatever else the machine runs: they
are reported, never asserted.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import asyncpg

from benchmarks._results import Result, Table, fmt, percentiles, save
from benchmarks._results import parser as cli_parser
from uiwire.chats import SQLChatStore
from uiwire.chats._json_text import encode
from uiwire.chats._schema import chats, messages
from uiwire.chats.sql import BODY_IN
from uiwire.protocol.ui_message import UIMessage, as_ui_message

OWNERS: Final = 100
PAGE: Final = 50
SEED_BATCH: Final = 5000
QUESTION: Final = "How do I keep a conversation on the server so that a reload shows it? " * 1
ANSWER: Final = (
    "Keep every chat in a database table keyed by its id and owner, save the user's "
    "message when the turn starts and the answer when it ends, with a version check. "
) * 4


def question(message_id: str) -> UIMessage:
    return as_ui_message(
        {"id": message_id, "role": "user", "parts": [{"type": "text", "text": QUESTION}]}
    )


def answer(message_id: str, text: str = ANSWER) -> UIMessage:
    parts: list[dict[str, Any]] = []
    if text:
        parts = [
            {"type": "step-start"},
            {"type": "reasoning", "text": "Thinking about storage.", "state": "done"},
            {"type": "text", "text": text, "state": "done"},
        ]
    return as_ui_message({"id": message_id, "role": "assistant", "parts": parts})


# the stored JSON of a question and of an answer, their id a placeholder (one encoding
# each, not one per seeded message)
_TEMPLATES: Final = {
    role: encode(message.to_json())
    for role, message in (("user", question("\x01ID")), ("assistant", answer("\x01ID")))
}


def chat_rows(chat: int, count: int) -> Iterator[dict[str, Any]]:
    for position in range(count):
        message_id = f"m{chat}-{position}"
        role = "user" if position % 2 == 0 else "assistant"
        yield {
            "owner": f"owner{chat % OWNERS}",
            "chat_id": f"chat{chat:06}",
            "position": position,
            "message_id": message_id,
            "role": role,
            "body_text": _TEMPLATES[role].replace("\\u0001ID", message_id),
            "state": None if role == "user" else "finish",
            "turn": 1,
        }


async def seed(store: SQLChatStore, chat_count: int, message_count: int) -> float:
    """Seconds to fill the tables."""
    await store.create()
    started = time.perf_counter()
    now = time.time_ns() // 1000
    async with store.engine.begin() as conn:
        await conn.execute(
            chats.insert(),
            [
                {
                    "id": f"chat{n:06}",
                    "owner": f"owner{n % OWNERS}",
                    "title": f"Chat {n}",
                    "created_at": now - n * 1000,
                    "updated_at": now - n * 1000,
                    "version": 1,
                    "active_turn": None,
                }
                for n in range(chat_count)
            ],
        )
    batch: list[dict[str, Any]] = []
    for n in range(chat_count):
        batch += chat_rows(n, message_count)
        if len(batch) >= SEED_BATCH or n == chat_count - 1:
            async with store.engine.begin() as conn:
                await conn.execute(messages.insert().values(body=BODY_IN), batch)
            batch = []
    if store.engine.dialect.name == "postgresql":
        async with store.engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


async def timed(calls: int, call: Callable[[int], Awaitable[object]]) -> list[float]:
    durations: list[float] = []
    for index in range(calls):
        started = time.perf_counter()
        await call(index)
        durations.append(time.perf_counter() - started)
    return durations


async def measure(store: SQLChatStore, chat_count: int, samples: int) -> dict[str, Any]:
    rng = random.Random(20)
    owners = [f"owner{rng.randrange(min(OWNERS, chat_count))}" for _ in range(samples)]
    picks = [rng.randrange(chat_count) for _ in range(samples)]
    for n in picks[:10]:  # warm the pool and the caches
        await store.get(f"owner{n % OWNERS}", f"chat{n:06}")

    async def first_page(index: int) -> object:
        return await store.list_chats(owners[index], limit=PAGE)

    async def second_page(index: int) -> object:
        page = await store.list_chats(owners[index], limit=PAGE)
        return await store.list_chats(owners[index], limit=PAGE, before=page.next_cursor)

    async def get(index: int) -> object:
        n = picks[index]
        chat = await store.get(f"owner{n % OWNERS}", f"chat{n:06}")
        assert chat is not None
        return chat

    start: list[float] = []
    finish: list[float] = []

    async def turn(index: int) -> object:
        n = picks[index]
        owner, chat_id = f"owner{n % OWNERS}", f"chat{n:06}"
        chat = await store.get(owner, chat_id)
        assert chat is not None
        started = time.perf_counter()
        ticket = await store.start_turn(
            owner,
            chat_id,
            version=chat.info.version,
            keep=len(chat.messages),
            add=[question(f"q{index}")],
            answer=answer(f"a{index}", ""),
            title="",
        )
        middle = time.perf_counter()
        assert await store.finish_turn(ticket, answer(f"a{index}"), "finish")
        start.append(middle - started)
        finish.append(time.perf_counter() - middle)
        return ticket

    figures: dict[str, Any] = {
        "list_first_page": percentiles(await timed(samples, first_page), 1000),
        "list_second_page": percentiles(await timed(samples, second_page), 1000),
        "get": percentiles(await timed(samples, get), 1000),
    }
    await timed(samples, turn)
    figures["start_turn"] = percentiles(start, 1000)
    figures["finish_turn"] = percentiles(finish, 1000)
    figures["turn"] = percentiles([a + b for a, b in zip(start, finish, strict=True)], 1000)
    return figures


@contextmanager
def postgres_database(url: str | None) -> Iterator[str]:
    if url is not None:
        yield url
        return
    from tests.support.postgres import PostgresServer

    server = PostgresServer()
    try:
        server.start()
        asyncio.run(_create_database(server.dsn(), "bench"))
        yield server.url("bench")
    finally:
        server.remove()


async def _create_database(dsn: str, name: str) -> None:
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def run_one(url: str, chat_count: int, message_count: int, samples: int) -> dict[str, Any]:
    store = SQLChatStore(url, timeout=60)
    try:
        seconds = await seed(store, chat_count, message_count)
        figures = await measure(store, chat_count, samples)
        figures["seed_seconds"] = seconds
        chat = await store.get("owner0", "chat000000")
        assert chat is not None
        figures["chat_json_bytes"] = sum(len(encode(m.to_json())) for m in chat.messages)
        return figures
    finally:
        await store.close()


def table(results: dict[str, dict[str, Any]], params: dict[str, Any]) -> Table:
    rows: list[list[str]] = []
    labels = {
        "list_first_page": f"list_chats, first page ({PAGE})",
        "list_second_page": "list_chats, first + second page (cursor)",
        "get": f"get, a {params['messages']}-message chat",
        "start_turn": "start_turn",
        "finish_turn": "finish_turn",
        "turn": "save a turn (start_turn + finish_turn)",
    }
    for key, label in labels.items():
        row = [label]
        for backend in results:
            figure = results[backend][key]
            row += [fmt(figure["p50"]), fmt(figure["p99"])]
        rows.append(row)
    header = ["ms"]
    for backend in results:
        header += [f"{backend} p50", f"{backend} p99"]
    return Table(
        f"SQLChatStore with {params['chats']:,} chats x {params['messages']} messages "
        f"({params['samples']} calls each, one at a time)",
        header,
        rows,
    )


def main(argv: list[str] | None = None) -> int:
    parser = cli_parser(__doc__)
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=50)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--postgres-url", default=None, help="an empty database to use")
    args = parser.parse_args(argv)
    if args.quick:
        args.chats, args.messages, args.samples = 200, 10, 20
    params = {"chats": args.chats, "messages": args.messages, "samples": args.samples}
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="uiwire-bench-chats-") as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'chats.db'}"
        results["SQLite"] = asyncio.run(run_one(url, args.chats, args.messages, args.samples))
    with postgres_database(args.postgres_url) as url:
        results["PostgreSQL"] = asyncio.run(run_one(url, args.chats, args.messages, args.samples))
    result = Result(
        name="chats",
        title="Chat store: list/get latency and save cost per turn",
        params=params,
        figures=results,
        tables=[table(results, params)],
    )
    save(result, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
