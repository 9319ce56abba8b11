"""The Agents SDK's own feature scenarios (guardrails, stream event order, streamed tool
arguments, local MCP servers, tool guardrails, agents as tools), rebuilt through
``AgentsAdapter`` and compared with what the SDK produced, for AI SDK 6 and 7 streams.
The scenarios are in ``tests/support/agents_peer_features.py``; the inventory is
``PEERS.md`` next to this file."""

from __future__ import annotations

import pytest

from tests.support.agents_peer_features import PEERS
from tests.support.agents_peers import assert_matches_run, run_peer
from uiwire.protocol.targets import Target


@pytest.mark.parametrize("target", ["v6", "v7"])
@pytest.mark.parametrize("name", sorted(PEERS))
async def test_the_client_sees_what_the_sdk_produced(name: str, target: Target) -> None:
    peer = PEERS[name]
    assert_matches_run(await run_peer(peer, target), peer)
