"""Smoke test of the chat store benchmark (tiny run; the figures mean nothing here)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import asyncpg
import pytest

from benchmarks import chats
from tests.support.postgres import PostgresServer


@pytest.mark.slow  # a real benchmark run, if a tiny one
async def test_quick_run_reports_every_figure_on_both_databases(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    name = f"bench_{uuid.uuid4().hex}"
    admin = await asyncpg.connect(postgres_server.dsn())
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    argv = ["--quick", "--out", str(tmp_path), "--postgres-url", postgres_server.url(name)]
    # main runs event loops of its own
    assert await asyncio.to_thread(chats.main, argv) == 0
    figures = json.loads((tmp_path / "chats.json").read_text())["figures"]
    assert set(figures) == {"SQLite", "PostgreSQL"}
    for backend in figures.values():
        for key in ("list_first_page", "list_second_page", "get", "start_turn", "turn"):
            assert backend[key]["n"] == 20
            assert backend[key]["p50"] > 0
    assert "| save a turn (start_turn + finish_turn) |" in (tmp_path / "chats.table.md").read_text()
