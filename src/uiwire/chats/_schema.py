"""The tables of ``SQLChatStore`` and their versions.

Tables (all prefixed ``uiwire_``, to share a database with the application's own):

* ``uiwire_chats``: one row per chat, keyed by ``(owner, id)``: two owners may each have
  a chat of the same id, so nothing an owner does (making a chat of a given id
  included) tells them whether another's exists. Times are microseconds since the epoch (UTC), exact and the same on every
  database, so that the keyset cursor of ``list_chats`` compares them exactly; the index
  ``(owner, updated_at, id)`` serves that listing.
* ``uiwire_messages``: one row per message, ``(owner, chat_id, position)`` its key and
  ``(owner, chat_id, message_id)`` unique; ``body`` is the message's JSON (``jsonb`` on
  PostgreSQL, text elsewhere; see ``uiwire.chats._json_text``), ``state`` the answer
  state of an assistant message, ``turn`` the turn that last wrote it.
* ``uiwire_meta``: key/value rows: ``schema_version``, and ``secret`` (``kept_secret``).

Upgrades: ``SCHEMA_VERSION`` is the version this code writes; ``MIGRATIONS[i]`` upgrades
a database from version ``i + 1`` to ``i + 2``. ``ensure_schema`` runs in one transaction
holding a lock (PostgreSQL: an advisory lock; SQLite: the database's write lock), so
that of several workers starting at once one creates or upgrades and the others then
see the result: a new database gets the current tables and its version row; an older
one gets each missing step, in order, and its version row updated; a newer one (written
by a later uiwire) is refused rather than misread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.schema import CreateIndex, CreateTable

from uiwire._errors import ChatStoreError

__all__ = [
    "BODY_TYPE",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Migration",
    "chats",
    "ensure_schema",
    "messages",
    "meta",
]

Migration = Callable[[AsyncConnection], Awaitable[None]]

MIGRATIONS: Final[Sequence[Migration]] = ()
SCHEMA_VERSION: Final = len(MIGRATIONS) + 1

BODY_TYPE: Final = sa.Text().with_variant(JSONB(), "postgresql")
"""The type of a message's JSON column; values go in and out as text (see ``sql``)."""

_ADVISORY_LOCK: Final = 0x75697769726531  # "uiwire1": serializes schema changes on PostgreSQL

metadata = sa.MetaData()

chats = sa.Table(
    "uiwire_chats",
    metadata,
    sa.Column("owner", sa.String, primary_key=True),
    sa.Column("id", sa.String, primary_key=True),
    sa.Column("title", sa.String, nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("active_turn", sa.BigInteger, nullable=True),
    sa.Index("uiwire_chats_by_owner", "owner", "updated_at", "id"),
)

messages = sa.Table(
    "uiwire_messages",
    metadata,
    sa.Column("owner", sa.String, primary_key=True),
    sa.Column("chat_id", sa.String, primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("message_id", sa.String, nullable=False),
    sa.Column("role", sa.String, nullable=False),
    sa.Column("body", BODY_TYPE, nullable=False),
    sa.Column("state", sa.String, nullable=True),
    sa.Column("turn", sa.BigInteger, nullable=False),
    sa.UniqueConstraint("owner", "chat_id", "message_id", name="uiwire_messages_id"),
    sa.ForeignKeyConstraint(
        ["owner", "chat_id"],
        ["uiwire_chats.owner", "uiwire_chats.id"],
        ondelete="CASCADE",
        name="uiwire_messages_chat",
    ),
)

meta = sa.Table(
    "uiwire_meta",
    metadata,
    sa.Column("key", sa.String, primary_key=True),
    sa.Column("value", sa.String, nullable=False),
)

_INSERT_IF_MISSING: Final = sa.text(
    "INSERT INTO uiwire_meta (key, value) VALUES (:key, :value) ON CONFLICT (key) DO NOTHING"
)


async def insert_meta_if_missing(conn: AsyncConnection, key: str, value: str) -> None:
    """Insert the meta row unless one with ``key`` exists (the same SQL on both databases)."""
    await conn.execute(_INSERT_IF_MISSING, {"key": key, "value": value})


async def read_meta(conn: AsyncConnection, key: str) -> str | None:
    return (await conn.execute(sa.select(meta.c.value).where(meta.c.key == key))).scalar()


async def ensure_schema(
    conn: AsyncConnection, migrations: Sequence[Migration] = MIGRATIONS
) -> None:
    """Create or upgrade the tables (see the module docstring), in the caller's
    transaction. ``ChatStoreError`` for a database newer than ``migrations`` know."""
    current = len(migrations) + 1
    if conn.dialect.name == "postgresql":
        # before any CREATE: PostgreSQL's IF NOT EXISTS is not safe against a concurrent
        # CREATE of the same table
        await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_ADVISORY_LOCK)))
        await conn.execute(CreateTable(meta, if_not_exists=True))
    else:
        # SQLite runs this CREATE on its own, atomically; then a write as the first
        # statement of the transaction takes the database's write lock
        await conn.execute(CreateTable(meta, if_not_exists=True))
        await conn.execute(
            meta.update().where(meta.c.key == "schema_version").values(value=meta.c.value)
        )
    stored = await read_meta(conn, "schema_version")
    if stored is None:
        for table in (chats, messages):
            await conn.execute(CreateTable(table, if_not_exists=True))
            for index in table.indexes:
                await conn.execute(CreateIndex(index, if_not_exists=True))
        await insert_meta_if_missing(conn, "schema_version", str(current))
        return
    version = int(stored)
    if version > current:
        raise ChatStoreError(
            f"the chat tables are at schema version {version}, newer than this uiwire "
            f"knows ({current}): upgrade uiwire on every worker"
        )
    for step in migrations[version - 1 :]:
        await step(conn)
    if version < current:
        await conn.execute(
            meta.update().where(meta.c.key == "schema_version").values(value=str(current))
        )
