"""``RedisApprovalStore``: paused runs shared by every worker (the ``redis`` extra).

With several workers, the request answering an approval (or a client-side tool) may
reach another worker than the one that paused the run. Each record is one key with the
approval TTL; ``pop`` is ``GETDEL``, atomic, so two racing requests never both resume
the same run.
"""

from __future__ import annotations

from uiwire._extras import needs_extra

with needs_extra(
    "redis", extra="redis", needed_by="RedisApprovalStore", package="the redis package"
):
    from redis.asyncio import Redis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff

    from uiwire._redis import check_prefix, redis_client

__all__ = ["RedisApprovalStore"]


class RedisApprovalStore:
    """An ``ApprovalStore`` on Redis 6.2 or later: ``AgentsAdapter(agent,
    approvals=RedisApprovalStore("redis://..."))``.

    ``redis``: a URL (the store owns that client; ``aclose`` closes it) or your
    ``redis.asyncio.Redis`` (best without retries: a ``GETDEL`` retried after its reply
    was lost finds nothing). Keys are ``<prefix>:approval:<message id>``.
    """

    def __init__(self, redis: Redis | str, *, prefix: str = "uiwire") -> None:
        self._prefix = check_prefix(prefix)
        # no retries: a GETDEL retried after its reply was lost would find nothing
        self._redis, self._owns_client = redis_client(
            redis, socket_connect_timeout=5, socket_timeout=10, retry=Retry(NoBackoff(), 0)
        )

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
