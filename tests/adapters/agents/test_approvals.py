"""The approval store and the parsing of approval answers, without a server."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from tests.support.agents_scenarios import (
    TOOLS,
    answer_approvals,
    resume_agent,
    run_agent,
    s_approval,
)
from tests.support.stream_rules import assert_valid_body
from uiwire.adapters.agents import (
    AgentsAdapter,
    ApprovalError,
    MemoryApprovalStore,
    approval_responses,
)


def responded(**approval: Any) -> dict[str, Any]:
    return {
        "id": "msg_1",
        "role": "assistant",
        "parts": [
            {"type": "step-start"},
            {
                "type": "tool-delete_file",
                "toolCallId": "call_1",
                "state": "approval-responded",
                "input": {},
                "approval": approval,
            },
        ],
    }


def test_approval_responses_reads_answers_and_skips_other_parts() -> None:
    message = responded(id="aprv_x", approved=False, reason="no")
    message["parts"].append({"type": "text", "text": "hi"})
    (answer,) = approval_responses(message)
    assert (answer.approval_id, answer.tool_call_id, answer.approved, answer.reason) == (
        "aprv_x",
        "call_1",
        False,
        "no",
    )
    assert answer.field == "parts[1]"


@pytest.mark.parametrize(
    ("approval", "field"),
    [
        ({"approved": True}, "parts[1].approval.id"),
        ({"id": "a", "approved": "yes"}, "parts[1].approval.approved"),
        ({"id": "a", "approved": True, "reason": 3}, "parts[1].approval.reason"),
    ],
)
def test_malformed_answers_are_a_422_naming_the_field(approval: Any, field: str) -> None:
    """A dict is validated as a UIMessage first: its errors are the parser's."""
    with pytest.raises(ApprovalError) as caught:
        approval_responses(responded(**approval))
    assert caught.value.status_code == 422
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


async def test_an_empty_approval_id_is_no_approval_we_asked() -> None:
    """A UIMessage may hold any string as an approval id (the SDK's rule); an empty one
    is refused where it is looked up, naming the field, and nothing is taken."""
    adapter = AgentsAdapter(s_approval())
    with pytest.raises(ApprovalError) as caught:
        await adapter.take_approvals(responded(id="", approved=True))
    assert (caught.value.status_code, caught.value.field) == (404, "parts[1].approval.id")


def test_a_message_that_is_not_an_object_is_a_422() -> None:
    with pytest.raises(
        ApprovalError, match="a valid dictionary or instance of UIMessage"
    ) as caught:
        approval_responses(["not", "a", "message"])
    assert caught.value.status_code == 422
    assert caught.value.field is None


async def test_only_an_assistant_message_is_continued() -> None:
    adapter = AgentsAdapter(s_approval())
    user_message = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "hi"}]}
    with pytest.raises(ApprovalError, match="got role 'user'") as caught:
        await adapter.take_approvals(user_message)
    assert (caught.value.status_code, caught.value.field) == (422, "role")


async def test_memory_store_takes_once_and_expires() -> None:
    store = MemoryApprovalStore()
    await store.put("k", "record", 60)
    assert await store.pop("k") == "record"
    assert await store.pop("k") is None
    await store.put("old", "record", 0.01)
    await asyncio.sleep(0.02)
    assert await store.pop("old") is None


async def test_memory_store_drops_the_oldest_beyond_its_size(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryApprovalStore(max_entries=2)
    with caplog.at_level(logging.WARNING, logger="uiwire"):
        for key in ("a", "b", "c"):
            await store.put(key, key, 60)
    assert len(store) == 2
    assert await store.pop("a") is None
    assert await store.pop("c") == "c"
    assert "approval store full" in caplog.text
    with pytest.raises(ValueError, match="max_entries"):
        MemoryApprovalStore(max_entries=0)


def test_an_empty_store_given_to_the_adapter_is_the_one_it_uses() -> None:
    store = MemoryApprovalStore(max_entries=100)
    assert len(store) == 0  # empty, so falsy: an ``or`` default would replace it
    assert AgentsAdapter(s_approval(), approvals=store).approvals is store


async def test_a_message_with_no_answers_is_a_422() -> None:
    adapter = AgentsAdapter(s_approval())
    message = {"id": "m", "role": "assistant", "parts": [{"type": "text", "text": "hi"}]}
    with pytest.raises(ApprovalError, match="no approval-responded") as caught:
        await adapter.take_approvals(message)
    assert caught.value.status_code == 422


async def test_an_expired_pause_is_a_404_and_runs_nothing() -> None:
    TOOLS.clear()
    adapter = AgentsAdapter(s_approval(), approval_ttl=0.01)
    first = await run_agent(adapter)
    message = first.record.message
    answer_approvals(message, True)
    await asyncio.sleep(0.02)
    with pytest.raises(ApprovalError, match="expired") as caught:
        await adapter.take_approvals(message)
    assert caught.value.status_code == 404
    assert "delete_file" not in TOOLS.names()


async def test_resume_continues_the_same_message_and_runs_each_tool_once() -> None:
    TOOLS.clear()
    adapter = AgentsAdapter(s_approval())
    first = await run_agent(adapter)
    message = first.record.message
    answer_approvals(message, True)
    second = await resume_agent(adapter, message)
    assert_valid_body(second.body, message=message)
    assert second.record.message_id == first.record.message_id
    assert TOOLS.names()[-1] == "delete_file"
    # the ungated tool of the same turn ran in the first request, and only then
    assert TOOLS.names().count("get_weather") == 1
