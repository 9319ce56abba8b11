"""``SQLChatStore``: the ``ChatStore`` on SQLAlchemy 2's asyncio engine, for SQLite
(aiosqlite, embedded) and PostgreSQL (asyncpg, shared by several workers).

Theory of operation
-------------------
The tables, their versions and upgrades are in ``uiwire.chats._schema``; a message's
JSON is stored as text that both databases keep exactly (``uiwire.chats._json_text``).

Every write is one transaction whose *first statement writes the chat's row*: on
PostgreSQL that row lock orders all writers of a chat (no deadlock between a turn
starting and an older one finishing); on SQLite it takes the database's write lock at
once, so concurrent writers wait for it rather than failing to upgrade a read lock. They
wait on the event loop, not in the driver: SQLite's own wait is cut short
(``SQLITE_LOCK_WAIT``) and a call it refuses is tried again until its deadline.
``start_turn`` is a compare-and-set on the chat's version
(``UPDATE ... WHERE version = :v`` and its row count; for a new chat the primary key
insert failing); ``finish_turn`` writes only when the answer row still carries the
ticket's turn number. ``get`` is one statement (the chat joined to its messages), so
it reads one snapshot.

Every call runs under a deadline (``timeout``); when it passes, or the database fails,
``ChatStoreError`` is raised and the transaction is rolled back. Turning messages into
JSON text and back runs off the event loop when there is much of it.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import hmac
import random
import secrets
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, TypeVar

from uiwire._extras import needs_extra

with needs_extra("sqlalchemy", extra="sql", needed_by="SQLChatStore", package="SQLAlchemy"):
    import sqlalchemy as sa
    from sqlalchemy import event
    from sqlalchemy.exc import (
        ArgumentError,
        IntegrityError,
        InvalidRequestError,
        NoSuchModuleError,
        OperationalError,
        SQLAlchemyError,
    )
    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
    from sqlalchemy.pool import StaticPool

    from uiwire.chats._schema import (
        BODY_TYPE,
        chats,
        ensure_schema,
        insert_meta_if_missing,
        messages,
        read_meta,
    )

from uiwire._errors import ChatConflict, ChatStoreError
from uiwire.chats import _json_text
from uiwire.chats._rules import (
    ANSWER_STATES,
    check_finish,
    check_kept,
    check_page,
    check_turn,
    make_cursor,
    read_cursor,
)
from uiwire.chats.store import (
    AnswerState,
    Chat,
    ChatInfo,
    ChatPage,
    ChatStore,
    TurnTicket,
)
from uiwire.protocol.ui_message import UIMessage, as_ui_message

__all__ = ["SQLChatStore"]

T = TypeVar("T")

OFF_LOOP_BYTES: Final = 64 * 1024
"""JSON text longer than this (in one call) is parsed off the event loop."""
_EPOCH: Final = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_CURSOR_KEY_LABEL: Final = b"uiwire chat list cursor"
SQLITE_LOCK_WAIT: Final = 0.02
"""Seconds a SQLite connection of an engine the store made waits, in its driver thread,
for another connection's lock before it answers "database is locked". Short on purpose:
while it waits it holds the connection, and the event loop finalising one of that
connection's cursors (a garbage collection does, after an error) would wait as long.
The store's own calls then wait longer without blocking (``_call``)."""
_RETRY_FIRST: Final = 0.002
_RETRY_MOST: Final = 0.05


def _driver_errors() -> tuple[type[BaseException], ...]:
    """The errors a database driver raises outside SQLAlchemy's wrapping (connecting,
    a connection that died)."""
    errors: list[type[BaseException]] = [SQLAlchemyError, OSError, sqlite3.Error]
    try:
        import asyncpg  # pyright: ignore[reportMissingTypeStubs]
    except ImportError:
        pass
    else:
        errors += [asyncpg.PostgresError, asyncpg.InterfaceError]  # pyright: ignore[reportUnknownMemberType]
    return tuple(errors)


_DRIVER_ERRORS: Final = _driver_errors()


class SQLChatStore(ChatStore):
    """Chats in a SQL database: SQLite for one process, PostgreSQL for several workers.

    Arguments:
        url_or_engine: a database URL with an asyncio driver
            (``sqlite+aiosqlite:///chats.db``, ``postgresql+asyncpg://user@host/db``);
            the store makes that engine and disposes of it in ``close``. Or your own
            ``AsyncEngine``, shared with the rest of the app (an Agents SDK
            ``SQLAlchemySession`` can use the same one); ``close`` leaves it open.
        timeout: seconds each call may take (schema creation on first use included)
            before it fails with ``ChatStoreError``.

    The tables are created (or upgraded) on first use; ``await store.create()`` does it
    at start-up instead.
    """

    def __init__(self, url_or_engine: str | AsyncEngine, *, timeout: float = 5.0) -> None:
        if not (isinstance(timeout, (int, float)) and 0 < timeout < float("inf")):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"timeout must be positive seconds; got {timeout!r}")
        self._timeout = float(timeout)
        if isinstance(url_or_engine, AsyncEngine):
            self._engine, self._owns_engine = url_or_engine, False
        elif isinstance(url_or_engine, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            self._engine, self._owns_engine = _engine_for(url_or_engine), True
        else:
            raise TypeError(
                "url_or_engine must be a database URL or an AsyncEngine; "
                f"got {type(url_or_engine).__name__}"
            )
        self._schema_ready = False
        self._schema_lock = asyncio.Lock()
        self._secret: bytes | None = None

    @property
    def engine(self) -> AsyncEngine:
        """The engine the store uses (to share with, say, an Agents SDK Session)."""
        return self._engine

    async def create(self) -> None:
        """Create or upgrade the tables now rather than on first use."""
        await self._call(_nothing)

    async def get(self, owner: str, chat_id: str) -> Chat | None:
        query = (
            sa.select(
                chats.c.title,
                chats.c.created_at,
                chats.c.updated_at,
                chats.c.version,
                chats.c.active_turn,
                messages.c.message_id,
                messages.c.role,
                messages.c.state,
                sa.cast(messages.c.body, sa.Text).label("body"),
            )
            .join_from(
                chats,
                messages,
                sa.and_(messages.c.owner == chats.c.owner, messages.c.chat_id == chats.c.id),
            )
            .where(chats.c.id == _column(chat_id), chats.c.owner == _column(owner))
            .order_by(messages.c.position)
        )

        async def read() -> Chat | None:
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
            if not rows:
                return None
            first = rows[0]
            info = ChatInfo(
                id=chat_id,
                owner=owner,
                title=_uncolumn(first.title),
                created_at=_time(first.created_at),
                updated_at=_time(first.updated_at),
                version=first.version,
            )
            loaded = await _off_loop_if_big(_load_messages, [row.body for row in rows])
            answers: dict[str, AnswerState] = {
                _uncolumn(row.message_id): row.state for row in rows if row.state in ANSWER_STATES
            }
            return Chat(info=info, messages=loaded, answers=answers, active_turn=first.active_turn)

        return await self._call(read)

    async def list_chats(
        self, owner: str, *, limit: int = 50, before: str | None = None
    ) -> ChatPage:
        check_page(limit, before)

        async def read() -> ChatPage:
            key = await self._cursor_key()
            query = (
                sa.select(
                    chats.c.id,
                    chats.c.title,
                    chats.c.created_at,
                    chats.c.updated_at,
                    chats.c.version,
                )
                .where(chats.c.owner == _column(owner))
                .order_by(chats.c.updated_at.desc(), chats.c.id.desc())
                .limit(limit + 1)
            )
            if before is not None:
                updated_at, last_id = read_cursor(key, owner, before)
                query = query.where(
                    sa.tuple_(chats.c.updated_at, chats.c.id)
                    < sa.tuple_(sa.literal(updated_at), sa.literal(last_id))
                )
            async with self._engine.connect() as conn:
                rows = (await conn.execute(query)).all()
            page = rows[:limit]
            infos = tuple(
                ChatInfo(
                    id=_uncolumn(row.id),
                    owner=owner,
                    title=_uncolumn(row.title),
                    created_at=_time(row.created_at),
                    updated_at=_time(row.updated_at),
                    version=row.version,
                )
                for row in page
            )
            last = page[-1] if page else None
            more = len(rows) > limit and last is not None
            cursor = make_cursor(key, owner, last.updated_at, last.id) if more and last else None
            return ChatPage(chats=infos, next_cursor=cursor)

        return await self._call(read)

    async def start_turn(
        self,
        owner: str,
        chat_id: str,
        *,
        version: int | None,
        keep: int,
        add: Sequence[UIMessage],
        answer: UIMessage,
        title: str,
    ) -> TurnTicket:
        check_turn(version=version, keep=keep, add=add, answer=answer)
        new = [*add, answer]
        new_ids = {_column(message.id) for message in new}
        key = {"id": _column(chat_id), "owner": _column(owner)}
        bodies = await asyncio.to_thread(_dump_messages, new)

        async def write() -> TurnTicket:
            now = _now()
            creating = version is None
            try:
                async with self._engine.begin() as conn:
                    if version is None:
                        await conn.execute(
                            chats.insert().values(
                                **key,
                                title=_column(title),
                                created_at=now,
                                updated_at=now,
                                version=1,
                                active_turn=1,
                            )
                        )
                        creating, turn = False, 1
                    else:
                        turn = version + 1
                        taken = await conn.execute(
                            chats.update()
                            .where(
                                chats.c.id == key["id"],
                                chats.c.owner == key["owner"],
                                chats.c.version == version,
                            )
                            .values(version=turn, updated_at=now, active_turn=turn)
                        )
                        if taken.rowcount != 1:
                            raise ChatConflict(f"chat {chat_id!r} changed since version {version}")
                        await _keep_messages(conn, key["owner"], key["id"], keep, new_ids)
                    await conn.execute(
                        messages.insert().values(body=BODY_IN),
                        [
                            {
                                "owner": key["owner"],
                                "chat_id": key["id"],
                                "position": keep + index,
                                "message_id": _column(message.id),
                                "role": message.role,
                                "body_text": body,
                                "state": "running" if message is answer else None,
                                "turn": turn,
                            }
                            for index, (message, body) in enumerate(zip(new, bodies, strict=True))
                        ],
                    )
            except IntegrityError:
                if creating:  # this owner has a chat of this id already
                    raise ChatConflict(f"chat {chat_id!r} already exists") from None
                raise
            return TurnTicket(owner=owner, chat_id=chat_id, message_id=answer.id, turn=turn)

        return await self._call(write)

    async def finish_turn(self, ticket: TurnTicket, message: UIMessage, state: AnswerState) -> bool:
        check_finish(ticket, message, state)
        (body,) = await asyncio.to_thread(_dump_messages, [message])
        chat_id = _column(ticket.chat_id)
        answer_row = sa.and_(
            messages.c.owner == _column(ticket.owner),
            messages.c.chat_id == chat_id,
            messages.c.message_id == _column(ticket.message_id),
            messages.c.turn == ticket.turn,
        )

        async def write() -> bool:
            async with self._engine.connect() as conn, conn.begin() as transaction:
                # the chat's row first (see the module docstring), and only if the
                # answer is still this turn's
                touched = await conn.execute(
                    chats.update()
                    .where(
                        chats.c.id == chat_id,
                        chats.c.owner == _column(ticket.owner),
                        sa.exists().where(answer_row),
                    )
                    .values(
                        version=chats.c.version + 1,
                        updated_at=_now(),
                        active_turn=sa.case(
                            (chats.c.active_turn == ticket.turn, sa.null()),
                            else_=chats.c.active_turn,
                        ),
                    )
                )
                if touched.rowcount != 1:
                    await transaction.rollback()
                    return False
                # read again under the chat's lock: a turn that committed meanwhile
                # may have dropped or retaken the answer
                written = await conn.execute(
                    messages.update().where(answer_row).values(body=BODY_IN, state=state),
                    {"body_text": body},
                )
                if written.rowcount != 1:
                    await transaction.rollback()
                    return False
            return True

        return await self._call(write)

    async def delete(self, owner: str, chat_id: str) -> bool:
        owner, chat_id = _column(owner), _column(chat_id)

        async def write() -> bool:
            async with self._engine.begin() as conn:
                deleted = await conn.execute(
                    chats.delete().where(chats.c.id == chat_id, chats.c.owner == owner)
                )
                if deleted.rowcount != 1:
                    return False
                # the foreign key cascades on PostgreSQL; SQLite enforces it only when
                # the connection turned foreign keys on
                await conn.execute(
                    messages.delete().where(
                        messages.c.owner == owner, messages.c.chat_id == chat_id
                    )
                )
            return True

        return await self._call(write)

    async def kept_secret(self) -> bytes:
        return await self._call(self._kept_secret)

    async def close(self) -> None:
        if self._owns_engine:
            await self._engine.dispose()

    # --- the machinery ---------------------------------------------------------------

    async def _call(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run ``operation`` (after the schema is ready) under the deadline, with every
        database failure as ``ChatStoreError``."""

        async def run() -> T:
            delay = _RETRY_FIRST
            while True:
                try:
                    if not self._schema_ready:
                        await self._ensure_schema()
                    return await operation()
                except OperationalError as exc:
                    if not _sqlite_is_busy(exc):
                        raise
                # each call is one transaction (rolled back) or idempotent: try it again
                # until the deadline, spread out so racing workers do not meet again
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, _RETRY_MOST)

        try:
            return await asyncio.wait_for(run(), self._timeout)
        except asyncio.TimeoutError:
            raise ChatStoreError(
                f"the chat store did not answer within {self._timeout:g} s"
            ) from None
        except ChatStoreError:
            raise
        except _DRIVER_ERRORS as exc:
            raise ChatStoreError(f"the chat store failed: {type(exc).__name__}: {exc}") from exc

    async def _ensure_schema(self) -> None:
        async with self._schema_lock:
            if self._schema_ready:
                return
            if self._owns_engine and self._engine.dialect.name == "sqlite":
                await _use_write_ahead_log(self._engine)
            async with self._engine.begin() as conn:
                await ensure_schema(conn)
            self._schema_ready = True

    async def _kept_secret(self) -> bytes:
        if self._secret is None:
            async with self._engine.connect() as conn:
                stored = await read_meta(conn, "secret")
            if stored is None:  # the first worker to ask makes it; every other reads it
                async with self._engine.begin() as conn:
                    await insert_meta_if_missing(conn, "secret", secrets.token_hex(32))
                    stored = await read_meta(conn, "secret")
            try:
                secret = bytes.fromhex(stored or "")
            except ValueError:
                secret = b""
            if len(secret) != 32:
                raise ChatStoreError("the chat store's kept secret is not 32 bytes of hex")
            self._secret = secret
        return self._secret

    async def _cursor_key(self) -> bytes:
        return hmac.new(await self._kept_secret(), _CURSOR_KEY_LABEL, hashlib.sha256).digest()


BODY_IN: Final = sa.cast(sa.bindparam("body_text", type_=sa.Text()), BODY_TYPE)
"""A message's JSON text into the body column (cast to ``jsonb`` on PostgreSQL)."""


async def _nothing() -> None:
    return None


def _engine_for(url: str) -> AsyncEngine:
    try:
        parsed = sa.make_url(url)
    except ArgumentError as exc:
        raise ValueError(f"not a database URL: {url!r} ({exc})") from None
    sqlite = parsed.get_backend_name() == "sqlite"
    # a server's connections can die while pooled (a restart): test them on checkout
    options: dict[str, Any] = {} if sqlite else {"pool_pre_ping": True}
    if sqlite and parsed.database in (None, "", ":memory:"):
        options = {"poolclass": StaticPool}  # one connection, or each would be a new database
    elif sqlite and "timeout" not in parsed.query:
        options = {"connect_args": {"timeout": SQLITE_LOCK_WAIT}}
    with (
        needs_extra("asyncpg", extra="postgres", needed_by="SQLChatStore", package="asyncpg"),
        needs_extra("aiosqlite", extra="sql", needed_by="SQLChatStore", package="aiosqlite"),
    ):
        try:
            engine = create_async_engine(parsed, **options)
        except (ArgumentError, InvalidRequestError, NoSuchModuleError) as exc:
            raise ValueError(
                f"{parsed.render_as_string(hide_password=True)!r} is not a database URL with "
                f"an asyncio driver (sqlite+aiosqlite://... or postgresql+asyncpg://...): {exc}"
            ) from None
    if sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_settings)
    return engine


def _sqlite_settings(dbapi_connection: Any, _record: Any) -> None:
    """On every connection of an engine the store made: ``synchronous=NORMAL`` (with the
    write-ahead log, a power cut may lose the last commits, never corrupt) and foreign
    keys enforced."""
    cursor = dbapi_connection.cursor()
    for pragma in ("synchronous=NORMAL", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


async def _use_write_ahead_log(engine: AsyncEngine) -> None:
    """Put the SQLite database in write-ahead-log mode (readers do not wait for the
    writer; a commit is one append), before the schema is made.

    The mode belongs to the database file and every connection follows it, so one
    switch is enough. Switching needs the file to itself: SQLite refuses it with
    "database is locked", without waiting, while another connection (another worker
    starting too) reads or writes, and ``_call`` tries again."""
    async with engine.connect() as conn:
        mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
        if mode != "wal":  # an in-memory database stays "memory", and works so
            await conn.exec_driver_sql("PRAGMA journal_mode=WAL")


def _sqlite_is_busy(exc: OperationalError) -> bool:
    """Whether SQLite refused for another connection's lock (``SQLITE_BUSY``, its
    snapshot variant, or ``SQLITE_LOCKED``): a call that is worth trying again."""
    cause = exc.orig
    if not isinstance(cause, sqlite3.OperationalError):
        return False
    code = getattr(cause, "sqlite_errorcode", None)  # Python 3.11+
    if isinstance(code, int):
        return code & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
    return "locked" in str(cause)


async def _keep_messages(
    conn: AsyncConnection, owner: str, chat_id: str, keep: int, new_ids: set[str]
) -> None:
    """Drop the chat's messages after the first ``keep``; ``ValueError`` if it has fewer,
    or if a kept one has the id of a new one."""
    kept = (
        await conn.execute(
            sa.select(messages.c.message_id).where(
                messages.c.owner == owner, messages.c.chat_id == chat_id, messages.c.position < keep
            )
        )
    ).scalars()
    check_kept(keep, set(kept), new_ids)
    await conn.execute(
        messages.delete().where(
            messages.c.owner == owner, messages.c.chat_id == chat_id, messages.c.position >= keep
        )
    )


def _dump_messages(batch: Sequence[UIMessage]) -> list[str]:
    return [_json_text.encode(message.to_json()) for message in batch]


def _load_messages(bodies: Sequence[str]) -> tuple[UIMessage, ...]:
    try:
        return tuple(_load_message(body) for body in bodies)
    except ValueError as exc:  # includes pydantic's ValidationError
        raise ChatStoreError(f"a stored message could not be read: {exc}") from exc


def _load_message(body: str) -> UIMessage:
    if _json_text.needs_unescape(body):
        return as_ui_message(_json_text.decode(body))
    return UIMessage.model_validate_json(body, strict=True, by_alias=True, by_name=False)


async def _off_loop_if_big(convert: Callable[[Sequence[str]], T], texts: Sequence[str]) -> T:
    if sum(len(text) for text in texts) > OFF_LOOP_BYTES:
        return await asyncio.to_thread(convert, texts)
    return convert(texts)


_column = _json_text.escape_string
"""A string for a text column: PostgreSQL's text refuses NUL, neither database takes a
lone surrogate (a title is cut from the user's text; an owner or a message id could
hold one)."""
_uncolumn = _json_text.unescape_string


def _now() -> int:
    return time.time_ns() // 1000


def _time(microseconds: int) -> datetime.datetime:
    return _EPOCH + datetime.timedelta(microseconds=microseconds)
