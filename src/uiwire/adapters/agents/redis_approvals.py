"""``RedisApprovalStore``: paused runs shared by every worker (the ``redis`` extra).

With several workers, the request answering an approval (or a client-side tool) may
reach another worker than the one that paused the run. Each record is one key with the
approval TTL; ``pop`` is ``GETDEL``, atomic, so two racing requests never both resume
the same run.
"""

from __future__ import annotations

import re
from typing import Final

from redis.asyncio import Redis

__all__ = ["RedisApprovalStore"]

_PREFIX: Final = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class RedisApprovalStore:
    """An ``ApprovalStore`` on Redis 6.2 or later: ``AgentsAdapter(agent,
    approvals=RedisApprovalStore("redis://..."))``.

    ``redis``: a URL (the store owns that client; ``aclose`` closes it) or your
    ``redis.asyncio.Redis``. Keys are ``<prefix>:approval:<message id>``.
    """

    def __init__(self, redis: Redis | str, *, prefix: str = "uiwire") -> None:
        if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(
                f"prefix must be 1 to 64 characters from A-Z a-z 0-9 . _ : -; got {prefix!r}"
            )
        if isinstance(redis, str):
            self._redis = Redis.from_url(redis, socket_connect_timeout=5, socket_timeout=10)  # pyright: ignore[reportUnknownMemberType]
            self._owns_client = True
        elif isinstance(redis, Redis):  # pyright: ignore[reportUnnecessaryIsInstance]
            self._redis = redis
            self._owns_client = False
        else:
            raise TypeError(
                f"redis must be a URL or a redis.asyncio.Redis; got {type(redis).__name__}"
            )
        self._prefix = prefix

    def _key(self, key: str) -> str:
        return f"{self._prefix}:approval:{key}"

    async def put(self, key: str, record: str, ttl: float) -> None:
        await self._redis.set(self._key(key), record.encode(), px=max(1, int(ttl * 1000)))

    async def pop(self, key: str) -> str | None:
        record = await self._redis.getdel(self._key(key))
        if isinstance(record, bytes):
            return record.decode()
        return record

    async def aclose(self) -> None:
        """Close the client this store made from a URL (yours stays open)."""
        if self._owns_client:
            await self._redis.aclose()
