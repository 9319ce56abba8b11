"""``DSPyAdapter``: any DSPy program, streamed to ``useChat``.

Theory of operation
-------------------
Per request the adapter makes fresh ``StreamListener``s from its plan, a fresh
``dspy.streamify`` wrapper and a fresh ``Bridge`` callback (listeners and callbacks
hold per-run state; sharing them across requests silently streams nothing). The
streamify generator is read in its own pump task: an early exit cancels that task,
which ends the generator where it lives (breaking out of it elsewhere throws a
``CancelledError`` into the caller's task). The pump reads it to its end, result
included, and when it must leave between two items (a failed write, a cancellation
during a write) it stops the generator from the inside (``stop_streamify_here``):
closing it at a ``yield`` would leave DSPy's task group to the garbage collector.
A run the bridge refused because the stream was cancelled (``RunCancelled``) ends the
work as the cancellation it is. Stopping an async program cancels its task once and
lets it end before DSPy's task group is cancelled (``_end_program``): the group would
cancel it again at every await, cutting its cleanup short.

Each item the generator yields goes to a ``Translation`` (``_translate``), which turns
it into ``StreamContext`` writes.

Writes are awaited, so a slow client slows the pump, which slows DSPy (its stream
buffer fills and the model read waits): memory stays bounded. The bridge never waits,
so none of this can block the event loop (dspy#8934).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, cast

import dspy as _dspy
from dspy.streaming import StatusMessageProvider

from uiwire._errors import ChatRequestError, FieldError
from uiwire.adapters._history_refusal import history_refused
from uiwire.adapters._leave_out import MessageContent, left_out
from uiwire.adapters.dspy._bridge import Bridge, RunCancelled
from uiwire.adapters.dspy._compat import StatusStreamingCallback, stop_streamify_here
from uiwire.adapters.dspy._plan import FieldRole, build_plan
from uiwire.adapters.dspy._translate import Translation
from uiwire.adapters.dspy.history import HistoryFields, chat_fields, to_dspy_inputs
from uiwire.stream.context import StreamContext

if TYPE_CHECKING:
    from uiwire.stream.turn import ChatTurn, ChatWork

__all__ = ["DSPyAdapter"]

dspy: Any = _dspy  # untyped; its values are Any here


class _Boxed(_dspy.Prediction):
    """A result that is not a ``Prediction``, carried as one (see ``_Program``)."""

    _value: Any


class _Program(_dspy.Module):
    """The user's program as streamify runs it. Streamify stops reading only at a
    ``Prediction`` (any other result leaves it waiting for ever), so another result
    comes back boxed in one and is unboxed after."""

    def __init__(self, program: Any) -> None:
        super().__init__()  # pyright: ignore[reportUnknownMemberType]
        self.program = program

    def forward(self, **inputs: Any) -> Any:
        return _box(self.program(**inputs))

    async def aforward(self, **inputs: Any) -> Any:
        return _box(await self.program.acall(**inputs))


async def _end_program(task: asyncio.Task[Any] | None) -> None:
    """Cancel an async program's task once and let it end, before DSPy's task group is.

    Cancelling the group (the pump) cancels the program's task again at every await
    until it ends (anyio's cancel scopes are level-triggered): cleanup that awaits is
    cut short. DSPy's own HTTP client awaits its cleanup (a connection opened just as
    the cancellation came is closed after an await), so it left sockets open: asyncio's
    "unclosed StreamWriter" at garbage collection. Cancelled once, the program cleans
    up; a program that will not end in ``_PROGRAM_GRACE`` seconds is left to the group.
    """
    if task is None or task.done():
        return
    task.cancel()
    await asyncio.wait({task}, timeout=_PROGRAM_GRACE)


_PROGRAM_GRACE = 1.0


def _box(result: Any) -> Any:
    if isinstance(result, _dspy.Prediction):
        return result
    boxed = _Boxed()
    boxed._value = result  # pyright: ignore[reportPrivateUsage]
    return boxed


class DSPyAdapter:
    """Streams a DSPy program's runs to ``useChat``; build it once, use it per request.

    ``adapter.stream(question=...)`` returns a running ``StreamContext`` (hand it to
    ``UIMessageStreamResponse``); ``await adapter.stream_into(ctx, question=...)``
    writes into a context you already have and returns the program's result.

    Arguments:
        program: any ``dspy.Module`` (Predict, ChainOfThought, ReAct, your own).
        fields: per-field overrides, ``{"answer": "text", "draft.answer": "skip",
            "react.next_thought": "reasoning"}``: a bare field name means that field
            of every predictor, ``"predictor.field"`` one predictor's. Roles are
            ``"text"``, ``"reasoning"``, ``"output"`` (a ``data-output`` part, the
            value as data) and ``"skip"``. By default the last predictor's ``str``
            fields stream as text and its other fields as structured outputs,
            reasoning fields (``reasoning``, ``next_thought``, ``dspy.Reasoning``) of
            every predictor as reasoning, and ReAct's tool fields and
            ``dspy.ToolCalls`` outputs as tool calls.
        status: DSPy status messages, sent as transient ``data-status`` parts: True for
            DSPy's default messages (tool start and end), a ``StatusMessageProvider``
            for your own, False for none.
        async_program: run ``program.acall`` on the event loop (True) or the sync
            program in a worker thread (False). By default async when the program has
            ``aforward`` (or its own ``acall``) and all its tools are async, since a
            sync tool would run on the event loop, or when it has nothing sync to run.
        leave_out: what the messages leave out: ``"reasoning"`` (every reasoning field,
            ``dspy.Reasoning`` included, whatever ``fields`` says), ``"sources"``
            (``dspy.Citations``), as the AI SDK's ``toUIMessageStream({sendReasoning:
            false, sendSources: false})`` does; the same rule as ``AgentsAdapter``'s.
            The program still produces them: they are only not sent.
    """

    def __init__(
        self,
        program: Any,
        *,
        fields: Mapping[str, FieldRole] | None = None,
        status: StatusMessageProvider | bool = True,
        async_program: bool | None = None,
        leave_out: Collection[MessageContent] = (),
    ) -> None:
        if fields is not None and not isinstance(fields, Mapping):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"fields must be a mapping; got {type(fields).__name__}")
        if async_program is not None and not isinstance(async_program, bool):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"async_program must be a bool or None; got {async_program!r}")
        if status is True:
            self._status: StatusMessageProvider | None = StatusMessageProvider()
        elif status is False:
            self._status = None
        elif isinstance(status, StatusMessageProvider):  # pyright: ignore[reportUnnecessaryIsInstance]
            self._status = status
        else:
            raise TypeError(
                f"status must be True, False or a dspy StatusMessageProvider; got {status!r}"
            )
        self._program = program
        self._plan = build_plan(program, fields, async_program, left_out(leave_out))
        self._runnable = _Program(program)
        try:  # ChatEndpoint asks check_chat() at construction; stream() needs no chat
            self._chat: HistoryFields | str | TypeError = chat_fields(program)
        except TypeError as exc:
            self._chat = exc

    @property
    def program(self) -> Any:
        return self._program

    @property
    def async_program(self) -> bool:
        """Whether runs use ``program.acall`` on the loop (else a worker thread)."""
        return self._plan.async_program

    def stream(self, /, **inputs: Any) -> StreamContext:
        """Start a run and return its stream: ``UIMessageStreamResponse(adapter.stream(...))``.

        For ``on_close``, ``message_id`` and the other context options, make the
        ``StreamContext`` yourself and ``ctx.run(lambda ctx: adapter.stream_into(ctx, ...))``.
        """
        ctx: StreamContext = StreamContext()
        ctx.run(self.stream_into(ctx, **inputs))
        return ctx

    def check_chat(self) -> None:
        """Raise ``TypeError``, saying the fix, if the program can never answer a chat
        turn (see ``chat_fields``); ``ChatEndpoint`` calls it at construction."""
        if isinstance(self._chat, TypeError):
            raise TypeError(str(self._chat))

    async def begin_turn(self, turn: ChatTurn, /) -> ChatWork:
        """Answer a ``useChat`` request (``ChatEndpoint`` calls this): the last user
        message goes to the question field, the turns before it to the signature's
        ``dspy.History`` field (``to_dspy_inputs``, fields found by ``history_fields``).
        A program without a History field gets the question alone, in its one input
        field. Continuations are refused (422): a DSPy run never pauses."""
        self.check_chat()
        where = f"messages[{len(turn.messages) - 1}]"
        if turn.continued is not None:
            raise ChatRequestError(
                [
                    FieldError(
                        where,
                        "this agent has no paused run to continue: send a user message",
                        "continuation",
                    )
                ]
            )
        fields = self._chat
        try:
            if isinstance(fields, str):
                inputs: dict[str, Any] = {fields: to_dspy_inputs(turn.messages)["question"]}
            else:
                inputs = to_dspy_inputs(turn.messages, **cast("HistoryFields", fields))
        except (TypeError, ValueError) as exc:
            raise history_refused(exc) from None

        async def work(ctx: StreamContext[Any]) -> None:
            await self.stream_into(ctx, **inputs)

        return work

    async def stream_into(self, ctx: StreamContext[Any], /, **inputs: Any) -> Any:
        """Run the program on ``inputs``, writing its output into ``ctx``; returns the
        program's result (a ``dspy.Prediction``). Exceptions propagate (``ctx.run``
        masks them for the client). The stream is not finished: that is ``ctx.run``'s
        job, so you can write more after."""
        if not isinstance(ctx, StreamContext):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"ctx must be a uiwire.StreamContext; got {type(ctx).__name__}")
        bridge = Bridge(
            asyncio.get_running_loop(),
            status=self._status,
            internal_tools=self._plan.internal_tools,
            agent_predictors=self._plan.agent_predictors,
            stream_cancelled=lambda: ctx.cancelled,
        )
        pump = asyncio.create_task(self._pump(bridge, ctx, inputs), name="uiwire-dspy-pump")
        try:
            await asyncio.wait({pump})  # cancelling us does not cancel it: see below
            return pump.result()
        except RunCancelled:
            # The bridge stopped DSPy because the stream was cancelled, and DSPy's task
            # group let that end the run before the task's own cancellation arrived: it
            # is that cancellation (never an error of the work, never left unretrieved).
            raise asyncio.CancelledError from None
        finally:
            bridge.cancelled.set()  # a run left behind in a thread stops at its next step
            if not pump.done():
                try:
                    await _end_program(bridge.program_task)
                finally:
                    pump.cancel()
            with contextlib.suppress(BaseException):  # retrieved, even when it ended as we left
                await pump

    async def _pump(self, bridge: Bridge, ctx: StreamContext[Any], inputs: dict[str, Any]) -> Any:
        callbacks = [
            c
            for c in cast("list[Any]", dspy.settings.callbacks)
            if not isinstance(c, StatusStreamingCallback)  # they block the loop (dspy#8934)
        ]
        overrides: dict[str, Any] = {"callbacks": [*callbacks, bridge], "track_usage": True}
        if not self._plan.async_program:
            overrides["allow_tool_async_sync_conversion"] = True  # async tools in the thread
        with dspy.context(**overrides):
            run = Translation(
                self._plan,
                ctx,
                json_fields=isinstance(dspy.settings.adapter, dspy.JSONAdapter),
                xml_fields=isinstance(dspy.settings.adapter, dspy.XMLAdapter),
            )
            program = dspy.streamify(
                self._runnable,
                stream_listeners=self._plan.listeners(),
                is_async_program=self._plan.async_program,
            )
            result: Any = None
            items = program(**inputs)
            reading = False
            try:
                while True:
                    reading = True
                    try:
                        item = await anext(items)
                    except StopAsyncIteration:
                        break
                    reading = False
                    if isinstance(item, _Boxed):
                        result = item._value  # pyright: ignore[reportPrivateUsage]
                        continue  # the stream ends after it: read on, so DSPy's task ends
                    if isinstance(item, dspy.Prediction):
                        result = item
                    if bridge.cancelled.is_set():
                        continue  # being stopped (_end_program): nothing more is shown
                    await run.handle(item)
            except BaseException:
                if not reading:  # left between two items: the generator waits at a yield
                    try:
                        # the program's end cancels DSPy's task group, whose host we are
                        with contextlib.suppress(asyncio.CancelledError):
                            await _end_program(bridge.program_task)
                    finally:
                        await stop_streamify_here(items)
                raise
        await run.close(result)
        return result
