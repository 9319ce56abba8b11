"""What the Redis-backed stores share: their key prefix rule and how they get a client."""

from __future__ import annotations

import re
from typing import Any, Final

from redis.asyncio import BlockingConnectionPool, Redis

__all__ = ["check_prefix", "redis_client"]

_PREFIX: Final = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def check_prefix(prefix: object) -> str:
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix):
        raise ValueError(
            f"prefix must be 1 to 64 characters from A-Z a-z 0-9 . _ : -; got {prefix!r}"
        )
    return prefix


def redis_client(
    redis: object,
    *,
    pool_size: int | None = None,
    pool_wait: float | None = None,
    **url_options: Any,
) -> tuple[Redis, bool]:
    """``(client, owned)``: a new client for a URL (the store closes it), or the user's.

    ``pool_size``: the URL's client gets a pool of that many connections that *waits*
    (up to ``pool_wait`` seconds) for a free one, rather than failing at once as
    redis-py's default pool does when it is exhausted."""
    if isinstance(redis, str):
        if pool_size is None:
            return Redis.from_url(redis, **url_options), True  # pyright: ignore[reportUnknownMemberType]
        pool = BlockingConnectionPool.from_url(  # pyright: ignore[reportUnknownMemberType]
            redis, max_connections=pool_size, timeout=pool_wait, **url_options
        )
        return Redis(connection_pool=pool), True
    if isinstance(redis, Redis):
        return redis, False
    raise TypeError(f"redis must be a URL or a redis.asyncio.Redis; got {type(redis).__name__}")
