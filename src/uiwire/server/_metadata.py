"""Message metadata from ``ResponseOptions``: on the answer's ``start`` and ``finish``
chunks (a wrapper around the turn's work), and after every chunk (a context that shows
each step's chunks to ``part_metadata``).

Start and finish metadata cost the stream nothing: they are two writes of the work's
own. Per-part metadata needs every chunk, so only an endpoint that asks for it makes its
answers in a ``PartMetadataContext``: its steps pass their chunks through the hook, and
its deltas take the locked way (the lock-free lane and direct sends would skip the
hook). Every
other answer is a plain ``StreamContext``.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Hashable, Mapping
from typing import Any, Final

from uiwire.protocol.machine import Chunk, StreamMachine
from uiwire.server.options import PartMetadata, TurnMetadata
from uiwire.stream.context import StreamContext
from uiwire.stream.turn import ChatTurn, ChatWork
from uiwire.stream.writer import Step

__all__ = ["PartMetadataContext", "with_message_metadata"]

logger = logging.getLogger("uiwire")

_ENDS: Final = frozenset({"finish", "abort", "error"})


def with_message_metadata(
    work: ChatWork, turn: ChatTurn, start: TurnMetadata | None, finish: TurnMetadata | None
) -> ChatWork:
    """``work``, with ``start(turn)`` sent on the answer's ``start`` chunk first and
    ``finish(turn)`` on its ``finish`` chunk once the work returned (not when it failed
    or was stopped); ``work`` itself without either. A hook's exception fails the answer
    as the work's own would (masked for the client, logged)."""
    if start is None and finish is None:
        return work

    async def annotated(ctx: StreamContext[Any]) -> None:
        if start is not None:
            metadata = await _called(start, turn)
            if metadata is not None:  # the work has written nothing yet: start is first
                await ctx.start(metadata=metadata)
        await work(ctx)
        if finish is not None and not ctx.is_finished and not ctx.stopped:
            metadata = await _called(finish, turn)
            if not ctx.is_finished and not ctx.stopped:
                await ctx.finish(metadata=metadata)

    return annotated


async def _called(hook: TurnMetadata, turn: ChatTurn) -> Mapping[str, Any] | None:
    value = hook(turn)
    if inspect.isawaitable(value):
        value = await value
    return value


class PartMetadataContext(StreamContext[Any]):
    """A ``StreamContext`` that sends ``part_metadata(chunk)``'s metadata after each
    chunk (before the end chunk of the step that ends the stream). The hook runs under
    the stream's lock, in the order of the chunks; if it raises, or returns what is not
    message metadata, the error is logged once and the answer goes on without it."""

    def __init__(self, part_metadata: PartMetadata, **options: Any) -> None:
        super().__init__(**options)
        self._part_metadata: PartMetadata | None = part_metadata

    def _text_on_lane(self, text: str, key: Hashable) -> bool:
        return False  # every delta through _step_locked, where the hook sees it

    def _claim_direct_delta(self, reasoning: bool, text: str, key: Hashable) -> bytes | None:
        return None  # the same: a direct send would skip the hook

    def _step_locked(self, step: Step, exception: BaseException | None) -> bool:
        def with_metadata(machine: StreamMachine) -> list[Chunk]:
            return self._annotated(machine, step(machine))

        return super()._step_locked(with_metadata, exception)

    def _annotated(self, machine: StreamMachine, chunks: list[Chunk]) -> list[Chunk]:
        hook = self._part_metadata
        if hook is None or not chunks:
            return chunks
        out: list[Chunk] = []
        for index, chunk in enumerate(chunks):
            out.append(chunk)
            if chunk["type"] in _ENDS:  # always last: nothing may follow it
                continue
            try:
                metadata = hook(chunk)
                if metadata is not None:
                    out.append(machine.metadata_chunk(metadata))
            except Exception:
                logger.exception(
                    "part_metadata failed on a %s chunk of message %s; the answer goes on "
                    "without per-part metadata",
                    chunk["type"],
                    self.message_id,
                )
                self._part_metadata = None
                out.extend(chunks[index + 1 :])
                return out
        return out
