"""Suite-wide settings that must be in place before any framework is imported."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator

import pytest

from tests.support.postgres import PostgresServer
from tests.support.redis_server import RedisServer

# DSPy and litellm fetch model metadata over the network unless told to use the copy
# they ship with; nothing here may leave the machine.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
# DSPy's disk cache would carry answers from one test run into the next.
os.environ.setdefault("DSPY_CACHEDIR", tempfile.mkdtemp(prefix="uiwire-dspy-cache-"))


@pytest.fixture
def image_host() -> Iterator[tuple[str, list[object]]]:
    """An https URL on loopback that counts connections: nothing may fetch it."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0)
    connections: list[object] = []
    port = server.getsockname()[1]
    yield f"https://127.0.0.1:{port}/cat.png", connections
    try:
        while True:
            conn, _ = server.accept()
            connections.append(conn)
            conn.close()
    except BlockingIOError:
        pass
    server.close()


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server of our own on a free loopback port, stopped after the test."""
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL cluster of our own for the test session, on a free loopback
    port; tests make a database each (``tests/chats/conftest.py``)."""
    server = PostgresServer()
    try:
        server.start()
        yield server
    finally:
        server.remove()
