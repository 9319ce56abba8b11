"""Stream OpenAI Agents SDK runs to ``useChat`` (needs the ``uiwire[agents]`` extra)."""

from typing import TYPE_CHECKING

from uiwire._errors import ApprovalError, PausedRunTooLarge
from uiwire._extras import lazy_exports, needs_extra

with needs_extra(
    "agents",
    "openai",
    extra="agents",
    needed_by="uiwire.adapters.agents",
    package="the OpenAI Agents SDK (the openai-agents package)",
):
    from uiwire.adapters.agents._nested import agent_tool_progress
    from uiwire.adapters.agents._translate import AGENT_PART
    from uiwire.adapters.agents.adapter import AgentsAdapter, Resumption
    from uiwire.adapters.agents.approvals import (
        ApprovalResponse,
        ApprovalStore,
        ClientToolResult,
        MemoryApprovalStore,
        PendingApprovals,
        approval_responses,
    )
    from uiwire.adapters.agents.client_tools import client_tool
    from uiwire.adapters.agents.history import to_agent_input
    from uiwire.adapters.agents.sessions import SessionFactory, chat_session_id
    from uiwire.adapters.agents.tools import SyncToolStream, ToolStream, tool_stream

if TYPE_CHECKING:
    from uiwire.adapters.agents.redis_approvals import RedisApprovalStore

__all__ = [
    "AGENT_PART",
    "AgentsAdapter",
    "ApprovalError",
    "ApprovalResponse",
    "ApprovalStore",
    "ClientToolResult",
    "MemoryApprovalStore",
    "PausedRunTooLarge",
    "PendingApprovals",
    "RedisApprovalStore",
    "Resumption",
    "SessionFactory",
    "SyncToolStream",
    "ToolStream",
    "agent_tool_progress",
    "approval_responses",
    "chat_session_id",
    "client_tool",
    "to_agent_input",
    "tool_stream",
]


__getattr__ = lazy_exports(
    __name__, {"RedisApprovalStore": "uiwire.adapters.agents.redis_approvals"}
)
