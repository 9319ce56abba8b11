"""The Agents SDK's own runner scenarios, rebuilt through ``AgentsAdapter``: the message
the client assembles against what the SDK itself produced (issue 22's peer suite,
Agents part). The scenarios are in ``tests/support/agents_peer_runs.py``, each naming the
upstream test it comes from (openai-agents 0.24.0, ``tests/``); the inventory of what is
rebuilt and what is left out is ``PEERS.md`` next to this file; ``assert_matches_run``
(``tests/support/agents_peers.py``) is the comparison, run for AI SDK 6 and 7 streams.
"""

from __future__ import annotations

import pytest

from tests.support.agents_peer_runs import PEERS
from tests.support.agents_peers import assert_matches_run, run_peer
from uiwire.protocol.targets import Target


@pytest.mark.parametrize("target", ["v6", "v7"])
@pytest.mark.parametrize("name", sorted(PEERS))
async def test_the_client_sees_what_the_sdk_produced(name: str, target: Target) -> None:
    peer = PEERS[name]
    assert_matches_run(await run_peer(peer, target), peer)
