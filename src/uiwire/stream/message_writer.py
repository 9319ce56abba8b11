"""``MessageWriter``: the write vocabulary, as a type to write code against.

A function typed ``async def answer(out: MessageWriter) -> None`` works with a live
stream (``StreamContext``) and with a message assembled in memory (``MessageBuilder``).
The Agents adapter's translation is one: it writes a run into the stream, and the
nested run of an agent used as a tool into a builder.

Each write is declared as the awaitable form of the ``SyncWriter`` method of the same
name, which gives it its parameters and its docs: the vocabulary is spelled once, in
``SyncWriter``, and type checkers still see every signature in full.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from uiwire.protocol.targets import Target
from uiwire.stream.record import Usage
from uiwire.stream.writer import SyncWriter

__all__ = ["MessageWriter"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

_Member = Callable[Concatenate[Any, _P], Awaitable[_R]]


def _awaitable_form(
    method: Callable[Concatenate[SyncWriter, _P], _R],
) -> Callable[[Callable[..., object]], _Member[_P, _R]]:
    """Declare a protocol member as the awaitable form of ``method``: the decorated stub
    gives only the name (which must be ``method``'s), ``method`` gives the rest."""

    def declare(stub: Callable[..., object]) -> _Member[_P, _R]:
        if stub.__name__ != method.__name__:
            raise TypeError(
                f"MessageWriter.{stub.__name__} is declared from SyncWriter.{method.__name__}"
            )

        @functools.wraps(method)
        async def member(self: Any, /, *args: _P.args, **kwargs: _P.kwargs) -> _R:
            raise NotImplementedError(f"MessageWriter.{stub.__name__} is a protocol member")

        member.__qualname__ = f"MessageWriter.{stub.__name__}"
        return member

    return declare


class MessageWriter(Protocol):
    """The writes of one assistant message, awaitable: what a ``StreamContext`` and a
    ``MessageBuilder`` both are.

    Every write has the parameters, return value and rules of the ``SyncWriter`` method
    of the same name; ``sync`` has them all as plain methods, for threads.
    """

    # --- text and reasoning ----------------------------------------------------------------

    @_awaitable_form(SyncWriter.write_text)
    def write_text(self) -> None: ...

    @_awaitable_form(SyncWriter.end_text)
    def end_text(self) -> None: ...

    @_awaitable_form(SyncWriter.write_reasoning)
    def write_reasoning(self) -> None: ...

    @_awaitable_form(SyncWriter.end_reasoning)
    def end_reasoning(self) -> None: ...

    # --- tool calls --------------------------------------------------------------------------

    @_awaitable_form(SyncWriter.begin_tool_call)
    def begin_tool_call(self) -> None: ...

    @_awaitable_form(SyncWriter.write_tool_input)
    def write_tool_input(self) -> None: ...

    @_awaitable_form(SyncWriter.end_tool_input)
    def end_tool_input(self) -> None: ...

    @_awaitable_form(SyncWriter.fail_tool_input)
    def fail_tool_input(self) -> None: ...

    @_awaitable_form(SyncWriter.request_tool_approval)
    def request_tool_approval(self) -> None: ...

    @_awaitable_form(SyncWriter.write_tool_progress)
    def write_tool_progress(self) -> None: ...

    @_awaitable_form(SyncWriter.complete_tool_call)
    def complete_tool_call(self) -> None: ...

    @_awaitable_form(SyncWriter.fail_tool_call)
    def fail_tool_call(self) -> None: ...

    @_awaitable_form(SyncWriter.deny_tool_call)
    def deny_tool_call(self) -> None: ...

    # --- sources, files, data, metadata ------------------------------------------------------

    @_awaitable_form(SyncWriter.write_source)
    def write_source(self) -> None: ...

    @_awaitable_form(SyncWriter.write_source_document)
    def write_source_document(self) -> None: ...

    @_awaitable_form(SyncWriter.write_file)
    def write_file(self) -> None: ...

    @_awaitable_form(SyncWriter.write_data)
    def write_data(self) -> None: ...

    @_awaitable_form(SyncWriter.write_metadata)
    def write_metadata(self) -> None: ...

    # --- lifecycle ---------------------------------------------------------------------------

    @_awaitable_form(SyncWriter.start)
    def start(self) -> None: ...

    @_awaitable_form(SyncWriter.new_step)
    def new_step(self) -> None: ...

    @_awaitable_form(SyncWriter.finish)
    def finish(self) -> None: ...

    @_awaitable_form(SyncWriter.abort)
    def abort(self) -> None: ...

    @_awaitable_form(SyncWriter.error)
    def error(self) -> None: ...

    @_awaitable_form(SyncWriter.write)
    def write(self) -> None: ...

    # --- beside the writes ---------------------------------------------------------------------

    @property
    def target(self) -> Target:
        """The AI SDK major version the message is written for (which fields it takes)."""
        ...

    @property
    def sync(self) -> SyncWriter:
        """The same writes as plain methods, callable from any thread."""
        ...

    def add_usage(self, usage: Usage) -> None:
        """Add token counts to the message's record (any thread)."""
        ...
