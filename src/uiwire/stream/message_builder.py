"""``MessageBuilder``: a UI message assembled in memory from writes, with no consumer.

It takes the writes of a ``StreamContext`` (both are ``MessageWriter``s), under the same
lifecycle machine, and feeds the chunks to the client's message assembly instead of a
stream: no event loop, no buffer, no I/O. The nested run of an agent used as a tool is
built in one (its message so far is the call's preliminary output), and code written
against ``MessageWriter`` can be run against one in a test.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from uiwire.protocol.machine import Chunk, StreamMachine
from uiwire.protocol.targets import DEFAULT_TARGET, Target
from uiwire.stream._write_target import WriteTarget
from uiwire.stream.record import Collector, StreamRecord, Usage
from uiwire.stream.writer import Step, SyncWriter

__all__ = ["MessageBuilder"]


class MessageBuilder(WriteTarget):
    """One assistant message, written as to a ``StreamContext`` and kept in memory.

    Write with ``await builder.write_text(...)`` and friends (or ``builder.sync`` from
    threads); read ``builder.message`` at any time, and ``builder.record`` once the
    message has ended (``finish``, ``abort`` or ``error``).

    Arguments:
        message_id: the message id; defaults to a fresh unguessable one.
        target: the AI SDK major version whose message assembly to follow.
        on_error: ``on_error(exc) -> str | None``, the text the message shows for ``exc``
            (as for ``StreamContext``; exceptions are logged and masked by default).
        on_chunk: called with each chunk as it is applied, under the builder's lock
            (keep it quick), e.g. to decide when to publish the message so far.
    """

    _logged_as = ("message", "the message shows")

    __slots__ = ("_collector", "_lock", "_machine", "_on_chunk", "_on_error", "_record", "_writer")

    def __init__(
        self,
        *,
        message_id: str | None = None,
        target: Target = DEFAULT_TARGET,
        on_error: Callable[[BaseException], str | None] | None = None,
        on_chunk: Callable[[Chunk], object] | None = None,
    ) -> None:
        if on_error is not None and not callable(on_error):
            raise TypeError(f"on_error must be callable; got {type(on_error).__name__}")
        if on_chunk is not None and not callable(on_chunk):
            raise TypeError(f"on_chunk must be callable; got {type(on_chunk).__name__}")
        self._machine = StreamMachine(message_id=message_id, target=target)
        self._collector = Collector(
            target=self._machine.target,
            message_id=self._machine.message_id,
            continued_message=None,
        )
        self._lock = threading.Lock()
        self._on_error = on_error
        self._on_chunk = on_chunk
        self._record: StreamRecord | None = None
        self._writer = SyncWriter(self, blocking=False)

    @property
    def message(self) -> dict[str, Any]:
        """The ``UIMessage`` so far, as the client would have assembled it (a copy)."""
        with self._lock:
            return self._collector.message

    @property
    def is_finished(self) -> bool:
        """True once the message has ended (``finish``, ``abort`` or ``error``)."""
        return self._machine.ended is not None

    @property
    def record(self) -> StreamRecord | None:
        """The sealed record, once the message has ended; else None."""
        return self._record

    @property
    def sync(self) -> SyncWriter:
        """The same writes as plain methods, callable from any thread."""
        return self._writer

    def add_usage(self, usage: Usage) -> None:
        """Add token counts to the record's ``usage`` (any thread)."""
        if not isinstance(usage, Usage):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"usage must be a uiwire.Usage; got {type(usage).__name__}")
        with self._lock:
            self._collector.usage = self._collector.usage + usage

    def _apply(self, step: Step, *, exception: BaseException | None = None) -> None:
        with self._lock:
            chunks = step(self._machine)
            if not chunks:
                return
            self._collector.apply(chunks)
            if self._on_chunk is not None:
                for chunk in chunks:
                    self._on_chunk(chunk)
            if self._machine.ended is not None:
                self._record = self._collector.seal(exception)

    def __repr__(self) -> str:
        state = self._machine.ended or ("open" if self._machine.started else "new")
        return f"<MessageBuilder {self.message_id} {state}>"
