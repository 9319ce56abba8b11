"""DSPy callbacks into the stream: ordered with the tokens, and never blocking the loop.

Tool calls, model-call boundaries and status messages reach us only through DSPy
callbacks, which run wherever DSPy runs: on the event loop (async programs), in the
AnyIO worker thread of a sync program, or in ``dspy.Parallel``'s pool threads. They
must land in DSPy's own send stream, so they stay in order with the token chunks
already sent. DSPy's ``sync_send_to_stream`` blocks the loop thread on a
``future.result()`` while its 16-slot buffer is full (stanfordnlp/dspy#8934); this
bridge never waits:

* on the loop thread it puts the event into the stream at once; when the buffer is
  full it appends past the limit (a callback fires a handful of times per model call),
  so order holds and nothing waits;
* from any other thread it hands the same put to the loop with
  ``call_soon_threadsafe``, FIFO per thread, which keeps it ahead of the thread's next
  token send (that one goes through the loop too).

``Bridge`` subclasses DSPy's ``StatusStreamingCallback`` so ``streamify`` does not add
its blocking default one; it asks the status provider itself.

Cancellation: once the run is cancelled, the next model call or tool start raises
``RunCancelled`` (a ``BaseException``, so neither DSPy's callback guard nor ReAct's
``except Exception`` swallows it): a sync program left behind in its worker thread
stops there instead of calling a tool nobody will see.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import anyio
from dspy.streaming import StatusMessage, StatusMessageProvider

from uiwire.adapters.dspy._compat import (
    StatusStreamingCallback,
    append_past_the_limit,
    restore_sending,
    send_stream,
    stop_sending_here,
)

__all__ = [
    "AgentTurnEnded",
    "Bridge",
    "ModelCallStarted",
    "RunCancelled",
    "ToolEnded",
    "ToolStarted",
]


class RunCancelled(BaseException):
    """The stream's work was cancelled; raised inside DSPy to stop a left-behind run."""


@dataclass(frozen=True, slots=True)
class ModelCallStarted:
    """A model call begins: the next content belongs to a new step."""


@dataclass(frozen=True, slots=True)
class AgentTurnEnded:
    """A ReActV2 turn's Predict returned: the tool calls it made, ``(name, args, id)``,
    which the agent runs next (when it has the tool) before its next model call."""

    predict_name: str
    calls: tuple[tuple[str, dict[str, Any], str | None], ...]


@dataclass(frozen=True, slots=True)
class ToolStarted:
    call_id: str
    name: str
    args: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ToolEnded:
    call_id: str
    output: Any
    error: BaseException | None


class Bridge(StatusStreamingCallback):
    """The per-request DSPy callback: events and status into the stream, no waiting."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        *,
        status: StatusMessageProvider | None,
        internal_tools: frozenset[int],
        agent_predictors: Mapping[int, str] | None = None,
        stream_cancelled: Callable[[], bool] = lambda: False,
    ) -> None:
        super().__init__(status)
        self._status = status
        self._loop = loop
        self._loop_thread = threading.get_ident()
        self._program_thread: int | None = None
        self._internal_tools = internal_tools
        self._internal_calls: set[str] = set()
        self._agent_predictors = agent_predictors or {}
        self._agent_turns: dict[str, str] = {}  # call_id -> the turn's predict_name
        self._muted: dict[str, contextvars.Token[Any]] = {}
        self.cancelled = threading.Event()
        self._stream_cancelled = stream_cancelled
        self.program_task: asyncio.Task[Any] | None = None
        """The task an async program runs in (its first module start on the loop)."""

    # --- getting events into the stream ------------------------------------------------

    def _send(self, item: object) -> None:
        stream = send_stream()
        if stream is None:
            return
        if threading.get_ident() == self._loop_thread:
            _put(stream, item)
            return
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody is listening
            self._loop.call_soon_threadsafe(_put, stream, item)

    def _send_status(self, message: object) -> None:
        if message:
            self._send(StatusMessage(str(message)))

    def _check_cancelled(self) -> None:
        # the stream's flag is set the moment the client leaves; ``cancelled`` only once
        # the cancellation has travelled through the pump and streamify's task group
        if self.cancelled.is_set() or self._stream_cancelled():
            raise RunCancelled

    # --- the hooks ----------------------------------------------------------------------

    def on_module_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        self._check_cancelled()
        here = threading.get_ident()
        if self.program_task is None and here == self._loop_thread:
            self.program_task = asyncio.current_task()
        if self._program_thread is None:
            self._program_thread = here
        elif here not in (self._program_thread, self._loop_thread) and _is_predictor(instance):
            # A pool thread (dspy.Parallel): DSPy cannot send tokens from here
            # (dspy#9154), so this call runs without streaming; its result still
            # reaches the program. Undone in on_module_end.
            self._muted[call_id] = stop_sending_here()
        turn = self._agent_predictors.get(id(instance))
        if turn is not None:
            self._agent_turns[call_id] = turn
        if self._status is not None:
            self._send_status(self._status.module_start_status_message(instance, inputs))

    def on_module_end(
        self, call_id: str, outputs: Any | None, exception: BaseException | None = None
    ) -> None:
        token = self._muted.pop(call_id, None)
        if token is not None:
            with contextlib.suppress(ValueError):  # another context by now; the pool resets it
                restore_sending(token)
        turn = self._agent_turns.pop(call_id, None)
        if turn is not None and exception is None:
            self._send(AgentTurnEnded(turn, _tool_calls(outputs)))
        if self._status is not None:
            self._send_status(self._status.module_end_status_message(outputs))

    def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        self._check_cancelled()
        self._send(ModelCallStarted())
        if self._status is not None:
            self._send_status(self._status.lm_start_status_message(instance, inputs))

    def on_lm_end(
        self, call_id: str, outputs: Any | None, exception: BaseException | None = None
    ) -> None:
        if self._status is not None:
            self._send_status(self._status.lm_end_status_message(outputs))

    def on_tool_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:
        self._check_cancelled()
        if id(instance) in self._internal_tools:
            self._internal_calls.add(call_id)
            return
        args: Any = inputs.get("kwargs")
        self._send(
            ToolStarted(
                call_id,
                str(instance.name),
                dict(cast("dict[str, Any]", args)) if isinstance(args, dict) else {},
            )
        )
        if self._status is not None:
            self._send_status(self._status.tool_start_status_message(instance, inputs))

    def on_tool_end(
        self, call_id: str, outputs: Any | None, exception: BaseException | None = None
    ) -> None:
        if call_id in self._internal_calls:
            self._internal_calls.discard(call_id)
            return
        self._send(ToolEnded(call_id, outputs, exception))
        if self._status is not None:
            self._send_status(self._status.tool_end_status_message(outputs))


def _put(stream: Any, item: object) -> None:
    """Put ``item`` into an anyio send stream now, on the loop thread, without waiting."""
    try:
        stream.send_nowait(item)
    except anyio.WouldBlock:
        # The buffer is full and nobody is waiting to receive: queue behind what is
        # there. A callback cannot wait on the loop (that is dspy#8934).
        append_past_the_limit(stream, item)
    except (anyio.ClosedResourceError, anyio.BrokenResourceError):
        pass  # the run is over; nobody reads this


def _tool_calls(prediction: Any) -> tuple[tuple[str, dict[str, Any], str | None], ...]:
    """The ``dspy.ToolCalls`` a turn's Prediction holds, as ``(name, args, id)``."""
    value: Any = getattr(prediction, "tool_calls", None)
    calls: Any = getattr(value, "tool_calls", None) or ()
    found: list[tuple[str, dict[str, Any], str | None]] = []
    for call in list(calls):
        args: Any = getattr(call, "args", None)
        call_id: Any = getattr(call, "id", None)
        found.append(
            (
                str(getattr(call, "name", "")),
                dict(cast("dict[str, Any]", args)) if isinstance(args, dict) else {},
                str(call_id) if call_id else None,
            )
        )
    return tuple(found)


def _is_predictor(instance: Any) -> bool:
    from dspy import Predict

    return isinstance(instance, Predict)
