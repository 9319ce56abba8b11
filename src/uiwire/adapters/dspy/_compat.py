"""The one door to DSPy's internals (and anyio's, under DSPy's ``streamify``).

uiwire uses DSPy's public API directly: the names of the top-level ``dspy`` package and
of ``dspy.streaming`` (its ``__all__``), and the top-level ``anyio`` names. Everything
else it relies on is an entry here, saying what it relies on, the versions it was
checked against (dspy 3.4.1, anyio 4.16.0) and the test that fails first when an upgrade
changes it. ``tests/adapters/dspy/test_compat.py`` checks every entry against the
installed packages (run it first after an upgrade); ``tests/adapters/
test_framework_internals.py`` fails if any other module reaches past the public API.

Behaviour relied on without a name (nothing to route, noted so an upgrade is checked):
``streamify`` stops reading at the first ``dspy.Prediction`` the program's task sends,
so the adapter boxes any other result in one (``adapter._Program``), and ends its
generator right after yielding it. First to break:
``tests/adapters/dspy/test_edge_cases.py::
test_a_program_returning_a_dict_ends_the_stream_and_returns_the_dict`` (and
``test_run_ends.py::test_a_program_returning_a_dict_leaves_no_task_behind``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import importlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

import dspy as _dspy
from dspy.streaming import StreamListener
from dspy.streaming.messages import StatusStreamingCallback

__all__ = [
    "REACT_TOOL_ARGS_FIELD",
    "REACT_TOOL_NAME_FIELD",
    "AgentParts",
    "ChunkListener",
    "Citations",
    "StatusStreamingCallback",
    "agent_parts",
    "append_past_the_limit",
    "restore_sending",
    "send_stream",
    "stop_sending_here",
    "stop_streamify_here",
]

dspy: Any = _dspy  # untyped; its values are Any here

# --- StatusStreamingCallback: dspy.streaming.messages (dspy 3.4.1) ----------------------
# Relies on: ``streamify`` appending its own ``StatusStreamingCallback`` (whose sends block
# the event loop, dspy#8934) unless ``settings.callbacks`` already holds an instance of
# this class; its ``__init__`` takes the ``StatusMessageProvider`` (or None). The bridge
# subclasses it; the adapter drops the user's own instances.
# First to break: tests/adapters/dspy/test_no_deadlock.py::
# test_no_stall_with_status_messages_and_any_consumer

# --- Citations: dspy.experimental (dspy 3.4.1) -----------------------------------------------
# Relies on: ``dspy.experimental.Citations``, the output type of cited answers (Anthropic's
# citations API): a ``dspy.Type`` whose ``citations`` list holds ``Citation``s with
# ``document_index``, ``document_title`` and ``cited_text``; streamed as ``StreamResponse``
# chunks holding a ``Citations`` value. Experimental, so not among DSPy's top-level names.
# First to break: tests/adapters/dspy/test_fidelity.py::
# test_citations_become_source_documents_not_reprs
Citations: Any = importlib.import_module("dspy.experimental").Citations


# --- the run's send stream: dspy.dsp.utils.settings (dspy 3.4.1) -------------------------
# Relies on: ``settings.send_stream``, the anyio send stream that ``streamify`` puts in
# ``settings.context(send_stream=...)`` for the program's run (None outside one), and
# ``thread_local_overrides``, the ContextVar holding a context's ``dspy.context``
# overrides (a dotdict, copied by ``type(overrides)(overrides, key=value)``).
# First to break: tests/adapters/dspy/test_bridge.py::
# test_tool_events_carry_name_and_arguments_and_internal_tools_stay_hidden
# (``send_stream``) and test_predictors_in_pool_threads_do_not_stream
# (``thread_local_overrides``)
_settings_module: Any = importlib.import_module("dspy.dsp.utils.settings")
_settings: Any = _settings_module.settings
_thread_local_overrides: contextvars.ContextVar[Any] = _settings_module.thread_local_overrides


def send_stream() -> Any:
    """The stream DSPy sends the current run's items into; None outside a run."""
    return _settings.send_stream


def stop_sending_here() -> contextvars.Token[Any]:
    """DSPy sends no tokens from this context until ``restore_sending``."""
    overrides = _thread_local_overrides.get()
    return _thread_local_overrides.set(type(overrides)(overrides, send_stream=None))


def restore_sending(token: contextvars.Token[Any]) -> None:
    """Undo ``stop_sending_here``; ``ValueError`` if ``token`` is another context's."""
    _thread_local_overrides.reset(token)


# --- how a streamify generator ends: dspy.streaming.streamify (dspy 3.4.1) ---------------
# Relies on: the generator ``streamify``'s wrapper returns reading an inner generator
# that holds DSPy's anyio task group (the program's task) and never closing it. Closing
# the outer one at a ``yield`` (``aclose()``, or dropping it) leaves the inner one to the
# garbage collector, which closes it in another task: anyio's "Attempted to exit cancel
# scope in a different task", the program's task left running, its exception never
# retrieved. A cancellation raised where the inner generator waits for the next item
# unwinds both in their own task; every wait of theirs is in anyio's receive, which
# checkpoints (suspends) first.
# First to break: tests/adapters/dspy/test_compat.py::
# test_stopping_streamify_here_ends_dspys_task_in_this_task; then
# tests/adapters/dspy/test_run_ends.py (a failing write, a result that is not a Prediction)


async def stop_streamify_here(items: AsyncGenerator[Any, None]) -> None:
    """End a streamify generator that waits at a ``yield``, inside the calling task
    (the one that has been reading it): cancel this task and read on until the
    cancellation lands inside the generator and unwinds DSPy's task group."""
    if getattr(items, "ag_frame", None) is None:
        return  # already over (or not a native async generator, with nothing to unwind)
    task = asyncio.current_task()
    if task is None:
        return
    task.cancel()
    try:
        async for _ in items:
            pass
    except BaseException:  # ours, or what DSPy made of it; the caller raises its own
        pass
    else:  # it ended without waiting again: take the cancellation here instead
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0)
    finally:
        uncancel = getattr(task, "uncancel", None)  # Python >= 3.11 counts requests
        if uncancel is not None:
            uncancel()


# --- MemoryObjectSendStream._state.buffer: anyio (anyio 4.16.0) --------------------------
# Relies on: a memory object send stream's shared ``_state`` and its ``buffer`` deque,
# which the receiving side reads in order; an item appended there is queued past
# ``max_buffer_size`` without waiting. Used only when ``send_nowait`` raised
# ``WouldBlock`` (the buffer is full and no receiver waits, so nobody needs waking).
# First to break: tests/adapters/dspy/test_bridge.py::
# test_put_queues_behind_a_full_buffer_instead_of_waiting


def append_past_the_limit(stream: Any, item: object) -> None:
    """Queue ``item`` behind what ``stream`` (a full anyio send stream) holds."""
    stream._state.buffer.append(item)


# --- StreamListener's hooks and state: dspy.streaming.streaming_listener (dspy 3.4.1) ------
# Relies on: ``streamify`` calling ``listener.receive(chunk)`` for every model chunk of
# the listened predictor (yielding what it returns when that is truthy) and
# ``listener.finalize()`` when the run's Prediction arrives; on the listener's
# ``cache_hit`` (set when a field's start and end markers came in one chunk, and DSPy
# gave the field up), ``stream_start``, ``stream_end`` and ``field_start_queue`` (the
# state that cache hit sets, set the same way for a JSONAdapter reply in one chunk, which
# DSPy keeps queued and never streams) and ``adapter_identifiers`` (per adapter name, the field's
# ``start_identifier`` text and ``end_identifier`` regex).
# First to break: tests/adapters/dspy/test_edge_cases.py::
# test_reasoning_in_one_chunk_still_comes_before_the_answer (``cache_hit``,
# ``adapter_identifiers``, ``receive``); tests/adapters/dspy/test_edge_cases.py::
# test_a_json_reply_in_one_chunk_keeps_an_earlier_predictors_fields (``stream_start``
# and the rest); tests/adapters/dspy/test_adapter.py::
# test_native_tool_calls_stream_their_input_from_the_raw_deltas (``receive``). No
# stream test depends on ``finalize`` (our fields end on their markers): test_compat.py
# checks that streamify still calls both hooks.


class ChunkListener(StreamListener):
    """DSPy's ``StreamListener`` with the hooks ``streamify`` calls given names of ours:
    override ``on_chunk`` / ``on_end``; their defaults are DSPy's own reading."""

    def receive(self, chunk: Any) -> Any:  # pyright: ignore[reportIncompatibleMethodOverride]
        return self.on_chunk(chunk)

    def finalize(self) -> Any:  # pyright: ignore[reportIncompatibleMethodOverride]
        return self.on_end()

    def on_chunk(self, chunk: Any) -> Any:
        """One model chunk of the predictor: DSPy's ``StreamResponse`` for the field, or None."""
        return StreamListener.receive(self, chunk)

    def on_end(self) -> Any:
        """The predictor's call ended: what DSPy still holds of the field, or None."""
        return StreamListener.finalize(self)

    @property
    def gave_up_the_field(self) -> bool:
        """The field's start and end came in one chunk and DSPy streamed none of it."""
        return bool(self.cache_hit)

    @property
    def field_started(self) -> bool:
        """DSPy found the field's start marker in this reply (``stream_start``)."""
        return bool(self.stream_start)

    def give_up_the_field(self) -> None:
        """End the field as DSPy does when its start and end came in one chunk: nothing
        more of this reply is the field's, and a reused listener starts afresh on the next
        reply (``cache_hit``, ``stream_start``, ``stream_end``, ``field_start_queue``)."""
        self.cache_hit = True
        self.stream_start = True
        self.stream_end = True
        self.field_start_queue = []

    @property
    def field_markers(self) -> dict[str, dict[str, Any]]:
        """Per adapter, the field's ``start_identifier`` and ``end_identifier`` (a regex)."""
        return self.adapter_identifiers


# --- ReAct / ReActV2 inside: dspy.predict.react, dspy.predict.react_v2 (dspy 3.4.1) -------
# Relies on: an agent module's ``react`` (the Predict each turn calls) and ``tools``
# (name -> ``dspy.Tool``, its own ``finish`` (ReAct) or ``submit`` (ReActV2) tool
# included); ReAct's turn writes the call as text, in its ``next_tool_name`` and
# ``next_tool_args`` output fields (ReActV2 calls tools natively).
# First to break: tests/adapters/dspy/test_plan.py::
# test_react_streams_thoughts_tool_calls_and_the_extracted_answer and
# test_react_v2_streams_native_tool_calls
REACT_TOOL_NAME_FIELD = "next_tool_name"
REACT_TOOL_ARGS_FIELD = "next_tool_args"


@dataclass(frozen=True, slots=True)
class AgentParts:
    """What uiwire needs from inside a ReAct or ReActV2 module."""

    predictor: Any
    """The Predict that runs each turn."""
    tools: dict[str, Any]
    """Every tool by name, ``own_tool`` included."""
    own_tool: str
    """The agent's own tool that ends the run (never shown to the user)."""
    calls_as_text: bool
    """The turn writes its tool call in text fields (ReAct), not as a native call."""


def agent_parts(module: Any) -> AgentParts | None:
    """The parts of a ReAct / ReActV2 module; None for any other module."""
    if isinstance(module, dspy.ReAct):
        return AgentParts(module.react, module.tools, "finish", calls_as_text=True)
    if isinstance(module, dspy.ReActV2):
        return AgentParts(module.react, module.tools, "submit", calls_as_text=False)
    return None
