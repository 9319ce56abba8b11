"""The endpoint's secure defaults, resolved at construction: conversations kept by the
server and an owner for every caller, unless turned off explicitly, and refused when they
could not work (memory chats next to a store shared by several workers); telemetry only
when given."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from uiwire.chats.memory import MemoryChatStore
from uiwire.resume.store import StreamStore
from uiwire.server.conversations import Conversations
from uiwire.server.identity import Identity, OwnerResolver

if TYPE_CHECKING:
    from uiwire.server.telemetry import Telemetry

__all__ = ["check_telemetry", "resolve_conversations", "resolve_owners"]


def resolve_conversations(
    conversations: Conversations | Literal[False] | None, streams: StreamStore | None
) -> Conversations | None:
    """The endpoint's conversations, checked: the default keeps them in memory, which
    several workers cannot share (refused at start-up rather than losing chats)."""
    if conversations is False:
        return None
    if conversations is None:
        if streams is not None and streams.shared:
            raise ValueError(
                f"{type(streams).__name__} serves several workers, but chats would be kept "
                "in each worker's memory: pass conversations=Conversations(SQLChatStore(url)) "
                "with a database the workers share"
            )
        return Conversations(store=MemoryChatStore())
    if not isinstance(conversations, Conversations):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(
            "conversations must be Conversations(store) or False; got "
            f"{type(conversations).__name__}"
        )
    return conversations


def resolve_owners(
    identity: Identity | Literal[False] | None,
    conversations: Conversations | None,
    streams: StreamStore | None,
) -> OwnerResolver | None:
    """How the endpoint learns who asks, resolved now (a missing secret for several
    workers is a start-up error); None only when both were turned off."""
    if identity is False:
        if conversations is not None:
            raise ValueError(
                "identity=False needs conversations=False: kept chats must have an owner"
            )
        return None
    if identity is None:
        identity = Identity()
    if not isinstance(identity, Identity):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"identity must be an Identity or False; got {type(identity).__name__}")
    return identity.resolve(
        kept_secret=None if conversations is None else conversations.store.kept_secret,
        shared=streams is not None and streams.shared,
    )


def check_telemetry(telemetry: Telemetry | None) -> Telemetry | None:
    """``telemetry`` if it is a ``Telemetry`` or None; OpenTelemetry is imported only
    when one is given (it needs the ``otel`` extra)."""
    if telemetry is None:
        return None
    from uiwire.server.telemetry import Telemetry

    if not isinstance(telemetry, Telemetry):  # pyright: ignore[reportUnnecessaryIsInstance]
        raise TypeError(f"telemetry must be a Telemetry or None; got {type(telemetry).__name__}")
    return telemetry
