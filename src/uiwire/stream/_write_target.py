"""What the writes land in: a live stream or a message assembled in memory.

``SyncWriter`` spells every write once, as a plain method that turns its arguments into
a step of the lifecycle machine and hands the step to its target. ``WriteTarget`` is the
base of the two targets, ``StreamContext`` and ``MessageBuilder``: a subclass says how a
step is applied (under which lock, where the chunks go) and how an exception is masked,
and inherits the awaitable form of every ``SyncWriter`` method, generated here from that
method, so neither target spells the vocabulary again. A ``StreamContext`` also checks
its event loop before each awaitable write and waits while its consumer is behind.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine, Hashable
from typing import Any, ClassVar, Concatenate, ParamSpec, TypeVar

from uiwire.protocol.machine import StreamMachine
from uiwire.protocol.targets import Target
from uiwire.stream.writer import Step, SyncWriter, choose_error_text

__all__ = ["WriteTarget"]

logger = logging.getLogger("uiwire")

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _awaitable(
    method: Callable[Concatenate[SyncWriter, _P], _R],
) -> Callable[Concatenate[WriteTarget, _P], Coroutine[Any, Any, _R]]:
    """The awaitable form of a ``SyncWriter`` method: write, then wait if over the limit."""
    name = method.__name__

    @functools.wraps(method)
    async def write(target: WriteTarget, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        result = method(target._writer_on_loop(name), *args, **kwargs)  # pyright: ignore[reportPrivateUsage]
        if target._over_limit():  # pyright: ignore[reportPrivateUsage]
            await target._wait_for_room()  # pyright: ignore[reportPrivateUsage]
        return result

    return write


class WriteTarget:
    """The base of ``StreamContext`` and ``MessageBuilder`` (not for use elsewhere)."""

    __slots__ = ()

    _machine: StreamMachine
    """The lifecycle machine the writes step (under the target's lock)."""
    _writer: SyncWriter
    """The non-blocking writer the awaitable writes go through."""
    _on_error: Callable[[BaseException], object] | None
    """The target's ``on_error``: the text shown for an exception."""
    _logged_as: ClassVar[tuple[str, str]]
    """How the error log names the target and what its reader got."""

    # --- what a target provides ----------------------------------------------------------

    def _apply(self, step: Step, *, exception: BaseException | None = None) -> None:
        """Step the machine and deliver its chunks; ``exception`` ended the message."""
        raise NotImplementedError

    @property
    def message_id(self) -> str:
        return self._machine.message_id

    @property
    def target(self) -> Target:
        return self._machine.target

    def _error_text(self, error: BaseException, *, what: str) -> str:
        """Log ``error`` (raised in ``what``) and return the text the message shows."""
        text = choose_error_text(error, self._on_error)
        noun, shown = self._logged_as
        logger.error(
            "%s %s: %s from %s; %s %r",
            noun,
            self.message_id,
            type(error).__name__,
            what,
            shown,
            text,
            exc_info=error,
        )
        return text

    def _write_text_fast(self, text: str, key: Hashable) -> bool:
        """Send a text delta on a fast path if the target has one; False: it was not sent."""
        return False

    def _writer_on_loop(self, what: str) -> SyncWriter:
        """The writer for the awaitable write ``what`` (a stream checks its loop here)."""
        return self._writer

    def _over_limit(self) -> bool:
        """True while the consumer is behind: an awaitable write then waits for room."""
        return False

    def _wait_for_room(self) -> Awaitable[None]:
        """Wait until the consumer has caught up (called only while over the limit)."""
        raise NotImplementedError

    def _wait_for_room_from_thread(self) -> None:
        """Block a thread's writer (``sync``) while the consumer is behind; never the loop."""

    # --- the awaitable writes (``SyncWriter`` documents each) ----------------------------

    write_text = _awaitable(SyncWriter.write_text)
    end_text = _awaitable(SyncWriter.end_text)
    write_reasoning = _awaitable(SyncWriter.write_reasoning)
    end_reasoning = _awaitable(SyncWriter.end_reasoning)
    begin_tool_call = _awaitable(SyncWriter.begin_tool_call)
    write_tool_input = _awaitable(SyncWriter.write_tool_input)
    end_tool_input = _awaitable(SyncWriter.end_tool_input)
    fail_tool_input = _awaitable(SyncWriter.fail_tool_input)
    request_tool_approval = _awaitable(SyncWriter.request_tool_approval)
    write_tool_progress = _awaitable(SyncWriter.write_tool_progress)
    complete_tool_call = _awaitable(SyncWriter.complete_tool_call)
    fail_tool_call = _awaitable(SyncWriter.fail_tool_call)
    deny_tool_call = _awaitable(SyncWriter.deny_tool_call)
    write_source = _awaitable(SyncWriter.write_source)
    write_source_document = _awaitable(SyncWriter.write_source_document)
    write_file = _awaitable(SyncWriter.write_file)
    write_data = _awaitable(SyncWriter.write_data)
    write_metadata = _awaitable(SyncWriter.write_metadata)
    start = _awaitable(SyncWriter.start)
    new_step = _awaitable(SyncWriter.new_step)
    finish = _awaitable(SyncWriter.finish)
    abort = _awaitable(SyncWriter.abort)
    error = _awaitable(SyncWriter.error)
    write = _awaitable(SyncWriter.write)
