"""``AgentsAdapter``: OpenAI Agents SDK runs (``Runner.run_streamed``), streamed to ``useChat``.

Theory of operation
-------------------
``stream_into`` starts the run (or takes one you started), reads ``stream_events()``
in the caller's task and hands each event to a ``Translation`` (``_translate``), which
writes into the ``StreamContext``. Writes are awaited: a slow client slows the reading.

* While ``Runner.run_streamed`` is called, a ``RunChannel`` is the current value of a
  context variable, reset right after in the same context; the run loop task copies
  the context when it is created, so the run's tools, tool error formatter and nested
  agent runs find the channel (``tools.tool_stream``, ``agent_tool_progress``).
* Each run starts from a view of the agent (``_channel.run_view``): copies of it and
  of the agents it hands off to (directly or through ``handoff()`` objects), and of
  every function tool a turn gets (MCP tools included), which refuse to start once the
  stream is cancelled and report failures the SDK's tool error formatter does not hear
  of. The view also notes each tool's label (``title``, ``toolMetadata``), shown on its
  parts. The user's agents, tools and handoffs are never changed.
* Leaving early (the client left, the work was cancelled, a write failed) calls
  ``result.cancel()`` and closes the event generator: without it the SDK keeps running
  the model and the tools to the end (openai-agents#574). A stop ``"after_turn"``
  (``StreamContext.stop``, the stop route's ``mode``) calls ``result.cancel(mode=
  "after_turn")`` instead: the model call under way and its tools finish, the session
  and the usage are kept, and the stream ends with ``abort`` once the SDK stops.
* A run that stops on tool approvals or on client-side tools (``client_tool``) is kept
  in the ``ApprovalStore``, bound to (owner, chat id, message id); the client gets
  ``tool-approval-request`` chunks with server-generated ids, and runs the client-side
  calls itself; ``resume`` continues the same assistant message when the answers and
  results come back (see ``approvals``). A run started by ``begin_turn`` is kept
  without its input (the conversation, files and all): resuming rebuilds it from the
  turn's messages. A record over ``approval_max_bytes`` is not kept: the run ends with
  ``PausedRunTooLarge`` (a masked ``error`` for the client).
* With ``sessions``, ``begin_turn`` runs each chat with its own Agents SDK ``Session``
  (``sessions``): the run's input is the new user message only, the session holds the
  model's own items, cut to the trusted conversation before each new turn. A pause then
  leaves its input out of the record too when the session holds it: resuming reads it
  back from there.
* Exceptions (max turns, guardrail tripwires, refusals, model errors) propagate, after
  every event before them was sent; ``ctx.run`` turns them into a masked ``error``.
  A tool output that may become the run's final output while an output guardrail is
  set (``tool_use_behavior`` other than ``run_llm_again``) is held until the run goes
  on or ends well: a tripwire shows the call as a masked ``tool-output-error``, never
  the output it blocked.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import time
from collections.abc import AsyncGenerator, Collection, Sequence
from typing import TYPE_CHECKING, Any, cast

from agents import (
    Agent,
    OutputGuardrailTripwireTriggered,
    RunConfig,
    Runner,
    RunResultStreaming,
    RunState,
    Session,
    TResponseInputItem,
)

from uiwire._errors import ApprovalError, ChatRequestError, FieldError, PausedRunTooLarge
from uiwire.adapters._leave_out import MessageContent, left_out
from uiwire.adapters.agents._channel import (
    RunChannel,
    instrumented,
    reset_channel,
    run_view,
    set_channel,
)
from uiwire.adapters.agents._translate import Translation
from uiwire.adapters.agents.approvals import (
    Answers,
    ApprovalStore,
    MemoryApprovalStore,
    PendingApprovals,
    as_message,
    take_pending,
)
from uiwire.adapters.agents.history import to_agent_input
from uiwire.adapters.agents.sessions import SessionFactory, align_session, chat_session
from uiwire.protocol.ui_message import DynamicToolUIPart, ToolUIPart, UIMessage
from uiwire.stream.context import StreamContext

if TYPE_CHECKING:
    from collections.abc import Sequence

    from uiwire.stream.turn import ChatTurn, ChatWork

__all__ = ["AgentsAdapter", "Resumption"]

logger = logging.getLogger("uiwire.agents")

DEFAULT_APPROVAL_TTL = 24 * 3600.0
DEFAULT_APPROVAL_MAX_BYTES = 1024 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class Resumption:
    """A paused run taken from the store, with the user's answers; made by
    ``AgentsAdapter.take_approvals``, consumed by ``stream_into`` once."""

    message: UIMessage
    """The assistant message being continued (stream into a context made with it)."""
    pending: PendingApprovals
    answers: Answers
    chat_id: str | None = None
    """The chat the run paused in; a new pause of the resumed run stays bound to it."""
    owner: str | None = None
    """Who the run paused for; a new pause stays bound to them too."""
    conversation: list[TResponseInputItem] | None = None
    """The run's input, rebuilt from the turn's messages before the continued one
    (``begin_turn`` sets it); needed when the pause was stored without it."""


class AgentsAdapter:
    """Streams an Agents SDK agent's runs to ``useChat``; build it once, use it per request.

    Its runs take steering messages (AI SDK 7, ``target="v7"``): each model call gets
    those that arrived since the previous one (``StreamContext.steer``) as user
    messages, and the answer shows them before that call's step.

    ``adapter.stream("question")`` returns a running ``StreamContext`` (hand it to
    ``UIMessageStreamResponse``); ``await adapter.stream_into(ctx, input)`` writes into
    a context you already have. ``await adapter.resume(message)`` continues a run that
    stopped for tool approvals, from the assistant message carrying the answers.

    Arguments:
        agent: the starting ``agents.Agent``.
        run_config: the ``RunConfig`` for every run (a copy gets uiwire's tool error
            formatter, which wraps yours: what the model sees does not change).
        max_turns: the SDK's ``max_turns`` (its default when None).
        approvals: where runs paused for approval wait (in memory by default; use a
            shared store with several workers).
        approval_ttl: seconds a paused run waits for its answers.
        approval_max_bytes: the largest record a paused run may keep (1 MiB by
            default); a larger one is not kept and the run ends with
            ``PausedRunTooLarge``.
        sessions: makes the Agents SDK ``Session`` of a chat from its id (derived
            from owner and chat id, ``chat_session_id``), e.g. ``lambda session_id:
            SQLAlchemySession(session_id, engine=store.engine)``. ``begin_turn`` then
            gives the model its own items from that session instead of the converted
            UI messages (see ``sessions``). None (the default): no session.
        leave_out: what the messages leave out: ``"reasoning"`` (the model's reasoning
            summaries and text), ``"sources"`` (its citations), as the AI SDK's
            ``toUIMessageStream({sendReasoning: false, sendSources: false})`` does.
            Nested runs (an agent used as a tool) leave out the same. Sources a tool
            writes itself (``tool_stream``) are kept.
    """

    steering = True
    """Its runs take steering messages (see ``ChatAgent``)."""

    def __init__(
        self,
        agent: Agent[Any],
        *,
        run_config: RunConfig | None = None,
        max_turns: int | None = None,
        approvals: ApprovalStore | None = None,
        approval_ttl: float = DEFAULT_APPROVAL_TTL,
        approval_max_bytes: int = DEFAULT_APPROVAL_MAX_BYTES,
        sessions: SessionFactory | None = None,
        leave_out: Collection[MessageContent] = (),
    ) -> None:
        if not isinstance(agent, Agent):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"agent must be an agents.Agent; got {type(agent).__name__}")
        if run_config is not None and not isinstance(run_config, RunConfig):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"run_config must be an agents.RunConfig; got {run_config!r}")
        if max_turns is not None and (type(max_turns) is not int or max_turns < 1):
            raise ValueError(f"max_turns must be a positive int or None; got {max_turns!r}")
        if approvals is not None and not isinstance(approvals, ApprovalStore):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(
                f"approvals must be an ApprovalStore (put / pop); got {type(approvals).__name__}"
            )
        if not isinstance(approval_ttl, (int, float)) or not approval_ttl > 0:  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(f"approval_ttl must be a positive number; got {approval_ttl!r}")
        if type(approval_max_bytes) is not int or approval_max_bytes < 1:
            raise ValueError(
                f"approval_max_bytes must be a positive int; got {approval_max_bytes!r}"
            )
        if sessions is not None and not callable(sessions):
            raise TypeError(
                f"sessions must make a Session from a session id; got {type(sessions).__name__}"
            )
        self._leave_out = left_out(leave_out)
        self._agent = agent
        self._run_config = instrumented(run_config)
        self._max_turns = max_turns
        # ``is None``, not ``or``: an empty MemoryApprovalStore is falsy (it has a length)
        self._approvals: ApprovalStore = (
            approvals if approvals is not None else MemoryApprovalStore()
        )
        self._approval_ttl = float(approval_ttl)
        self._approval_max_bytes = approval_max_bytes
        self._sessions = sessions

    @property
    def agent(self) -> Agent[Any]:
        return self._agent

    @property
    def approvals(self) -> ApprovalStore:
        return self._approvals

    # --- entry points ----------------------------------------------------------------

    def stream(
        self,
        input: Any,
        /,
        *,
        context: Any = None,
        chat_id: str | None = None,
        owner: str | None = None,
        **run_options: Any,
    ) -> StreamContext:
        """Start a run and return its stream: ``UIMessageStreamResponse(adapter.stream(q))``.

        ``input`` is what ``Runner.run_streamed`` takes (a string, a list of input
        items, a ``RunState``) or a ``RunResultStreaming`` you started. ``context`` is
        the run's context object; ``chat_id`` and ``owner`` bind a run that pauses to
        that chat and that user (``resume`` finds it only with the same two);
        ``run_options`` go to ``Runner.run_streamed`` (``session``, ``hooks``,
        ``previous_response_id``, ...). For ``on_close`` and the other context options,
        make the ``StreamContext`` yourself and ``ctx.run(adapter.stream_into(ctx,
        input))``.
        """
        _check_input(input)
        ctx: StreamContext = StreamContext()
        ctx.run(
            self.stream_into(
                ctx, input, context=context, chat_id=chat_id, owner=owner, **run_options
            )
        )
        return ctx

    async def resume(
        self,
        message: Any,
        /,
        *,
        context: Any = None,
        chat_id: str | None = None,
        owner: str | None = None,
        **run_options: Any,
    ) -> StreamContext:
        """Continue a run paused for approvals, answered in ``message`` (the assistant
        message of the ``useChat`` request) in ``chat_id`` for ``owner``: a running
        ``StreamContext`` that continues that message. Raises ``ApprovalError`` (answer
        with its ``status_code``) when the answers do not match a run paused there;
        then nothing ran."""
        resumption = await self.take_approvals(message, chat_id=chat_id, owner=owner)
        ctx: StreamContext = StreamContext(continued_message=resumption.message)
        ctx.run(self.stream_into(ctx, resumption, context=context, **run_options))
        return ctx

    async def take_approvals(
        self, message: Any, *, chat_id: str | None = None, owner: str | None = None
    ) -> Resumption:
        """Take the paused run ``message`` (a ``UIMessage``, or a dict validated as one)
        answers from the store: the one paused in that message of ``chat_id`` for
        ``owner`` (see ``resume``)."""
        return await self._take(message, chat_id=chat_id, owner=owner, earlier=None, session=None)

    async def begin_turn(
        self, turn: ChatTurn, /, *, context: Any = None, **run_options: Any
    ) -> ChatWork:
        """Answer a ``useChat`` request (``ChatEndpoint`` calls this): a new turn runs
        the agent on the conversation (``to_agent_input``); a continued message resumes
        its paused run with the approvals and client-side tool results it carries.
        ``context`` and ``run_options`` are as in ``stream``: wrap this method to
        build them from ``turn.request``.

        With ``sessions``, the run gets the chat's session (``session=``) and only the
        new user message as input; the session is cut to the conversation when the
        work starts (after the endpoint accepted the turn), not here."""
        sessions = self._turn_sessions(run_options)
        if turn.continued is None and sessions is None:
            items = to_agent_input(turn.messages)  # parsed messages: nothing to refuse
            return lambda ctx: self._run(
                ctx,
                items,
                context=context,
                chat_id=turn.chat_id,
                owner=turn.owner,
                rebuildable=items,
                run_options=run_options,
            )
        if turn.continued is None:
            assert sessions is not None
            return self._session_turn(turn, sessions, context, run_options)
        opened: contextlib.AbstractAsyncContextManager[Session | None] = (
            contextlib.nullcontext()
            if sessions is None
            else chat_session(sessions, turn.owner, turn.chat_id)
        )
        try:
            async with opened as session:
                resumption = await self._take(
                    turn.continued,
                    chat_id=turn.chat_id,
                    owner=turn.owner,
                    earlier=turn.messages[:-1],
                    session=session,
                )
        except ApprovalError as exc:
            where = f"messages[{len(turn.messages) - 1}]"
            field = f"{where}.{exc.field}" if exc.field else where
            raise ChatRequestError(
                [FieldError(field, str(exc), "approval")], status_code=exc.status_code
            ) from None
        if sessions is None:
            return lambda ctx: self.stream_into(ctx, resumption, context=context, **run_options)

        async def resumed(ctx: StreamContext[Any]) -> RunResultStreaming:
            async with chat_session(sessions, turn.owner, turn.chat_id) as session:
                options: dict[str, Any] = {**run_options, "session": session}
                return await self.stream_into(ctx, resumption, context=context, **options)

        return resumed

    async def forget_chat(
        self, chat_id: str, /, *, owner: str | None, message_ids: Sequence[str] = ()
    ) -> None:
        """Drop what this adapter keeps for a deleted chat: the runs paused in its
        messages ``message_ids`` and (with ``sessions``) its session. ``ChatEndpoint``
        calls it when the owner deletes the chat."""
        keys = [PendingApprovals.key(owner, chat_id, message_id) for message_id in message_ids]
        await asyncio.gather(*(self._approvals.pop(key) for key in keys))
        if self._sessions is not None:
            async with chat_session(self._sessions, owner, chat_id) as session:
                await session.clear_session()

    async def stream_into(
        self,
        ctx: StreamContext[Any],
        input: Any,
        /,
        *,
        context: Any = None,
        chat_id: str | None = None,
        owner: str | None = None,
        **run_options: Any,
    ) -> RunResultStreaming:
        """Run the agent on ``input``, writing into ``ctx``; returns the finished
        ``RunResultStreaming``. Exceptions propagate (``ctx.run`` masks them for the
        client). The stream is not finished, so you can write more after. A run that
        pauses is bound to ``chat_id`` and ``owner`` (a ``Resumption`` stays bound
        where it paused first)."""
        if isinstance(input, Resumption):
            if (chat_id, owner) not in ((None, None), (input.chat_id, input.owner)):
                raise ValueError("a resumption stays bound to the chat and owner it paused for")
            chat_id, owner = input.chat_id, input.owner
        return await self._run(
            ctx,
            input,
            context=context,
            chat_id=chat_id,
            owner=owner,
            rebuildable=input.conversation if isinstance(input, Resumption) else None,
            run_options=run_options,
        )

    # --- internals ------------------------------------------------------------------------

    def _turn_sessions(self, run_options: dict[str, Any]) -> SessionFactory | None:
        """The adapter's session factory, for ``begin_turn``."""
        if self._sessions is not None and "session" in run_options:
            raise ValueError("pass session= to begin_turn or sessions= to AgentsAdapter, not both")
        return self._sessions

    def _session_turn(
        self, turn: ChatTurn, sessions: SessionFactory, context: Any, run_options: dict[str, Any]
    ) -> ChatWork:
        """A new turn of a chat with a session: only the new message is input. The
        session is made and cut when the work runs, after the endpoint accepted the
        turn."""
        new_input = to_agent_input(turn.messages[-1:])
        earlier = turn.messages[:-1]

        async def work(ctx: StreamContext[Any]) -> RunResultStreaming:
            async with chat_session(sessions, turn.owner, turn.chat_id) as session:
                await align_session(session, earlier)
                return await self._run(
                    ctx,
                    new_input,
                    context=context,
                    chat_id=turn.chat_id,
                    owner=turn.owner,
                    rebuildable=session,
                    run_options={**run_options, "session": session},
                )

        return work

    async def _take(
        self,
        message: Any,
        *,
        chat_id: str | None,
        owner: str | None,
        earlier: Sequence[UIMessage] | None,
        session: Session | None,
    ) -> Resumption:
        """``take_approvals``; ``earlier`` are the turn's messages before ``message``,
        from which a run stored without its input gets it back; with a ``session`` it
        is read back from the session, which holds it first."""
        typed = as_message(message)
        if session is not None:
            conversation: list[TResponseInputItem] | None = await session.get_items()
        else:
            conversation = None if earlier is None else to_agent_input(earlier)
        pending, answers = await take_pending(
            self._approvals,
            typed,
            chat_id=chat_id,
            owner=owner,
            conversation_items=None if conversation is None else len(conversation),
            prefix=session is not None,
        )
        if session is not None:
            held = pending.input_items
            conversation = None if held is None or conversation is None else conversation[:held]
        return Resumption(typed, pending, answers, chat_id, owner, conversation)

    async def _run(
        self,
        ctx: StreamContext[Any],
        input: Any,
        *,
        context: Any,
        chat_id: str | None,
        owner: str | None,
        rebuildable: list[TResponseInputItem] | Session | None,
        run_options: dict[str, Any],
    ) -> RunResultStreaming:
        """``stream_into``. ``rebuildable``: the input a resumption of this run can
        rebuild (the turn's conversation, or the session that holds it first); a pause
        whose input is exactly that is stored without it."""
        if not isinstance(ctx, StreamContext):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise TypeError(f"ctx must be a uiwire.StreamContext; got {type(ctx).__name__}")
        _check_input(input)
        loop = asyncio.get_running_loop()
        guarded = bool(self._run_config.output_guardrails)
        channel = RunChannel(loop, ctx, self._leave_out)
        if ctx.target == "v7" and not isinstance(input, RunResultStreaming):
            channel.steering = ctx  # the run's model calls take its steering messages
        # per-run tool copies: the user's agents and tools stay theirs
        agent = run_view(self._agent, channel.labels)
        if isinstance(input, RunResultStreaming):
            channel.out = None  # started elsewhere: its tools cannot see us
            translation = Translation(ctx, channel)
            result = input
        elif isinstance(input, Resumption):
            if ctx.message_id != input.pending.message_id:
                raise ValueError(
                    f"a resumption continues message {input.pending.message_id!r}; make the "
                    "context with StreamContext(continued_message=resumption.message)"
                )
            channel.client_results.update(input.answers.client_results)
            state = await self._restore(agent, input, context)
            approvals = input.answers.approvals
            translation = Translation(
                ctx,
                channel,
                calls={**_running_calls(input.message), **input.pending.tool_names()},
                denied=frozenset(c for c, a in approvals.items() if not a.approved),
                settled=frozenset(input.answers.client_results),
                agent=input.pending.agent,
                usage=input.pending.usage,
                output_guardrails=guarded,
            )
            result = self._start(agent, channel, state, None, run_options)
        else:
            translation = Translation(ctx, channel, output_guardrails=guarded)
            result = self._start(agent, channel, input, context, run_options)
        # the run's own tasks stop in the loop step the stream is cancelled in, not one
        # step later when this task gets its CancelledError: no model request or tool
        # can start in between
        remove = ctx.add_cancel_callback(result.cancel)
        # a stop "after_turn": the SDK finishes the model call under way and its tools,
        # keeps the session and the usage, and starts no other turn
        remove_graceful = ctx.add_graceful_stop(lambda: result.cancel(mode="after_turn"))
        try:
            await _consume(result, translation, channel)
        except OutputGuardrailTripwireTriggered as exc:
            await translation.block_held(exc)
            raise
        finally:
            remove()
            remove_graceful()
        await translation.release_held()
        await translation.finish_outputs(result)
        await translation.show_final_output(result)
        if result.interruptions:
            earlier = input.pending if isinstance(input, Resumption) else None
            await self._pause(
                ctx, result, translation, channel, chat_id, owner, rebuildable, earlier
            )
        return result

    def _start(
        self,
        agent: Agent[Any],
        channel: RunChannel,
        input: Any,
        context: Any,
        run_options: dict[str, Any],
    ) -> RunResultStreaming:
        options = dict(run_options)
        if self._max_turns is not None:
            options.setdefault("max_turns", self._max_turns)
        if context is not None:
            options["context"] = context
        token = set_channel(channel)
        try:
            return Runner.run_streamed(agent, input, run_config=self._run_config, **options)
        finally:
            reset_channel(token)

    async def _restore(
        self, agent: Agent[Any], resumption: Resumption, context: Any
    ) -> RunState[Any, Any]:
        data = json.loads(resumption.pending.state)
        if resumption.pending.input_items is not None:
            if resumption.conversation is None:
                raise ValueError(
                    "this run was stored without its input: resume it with the turn's "
                    "messages (begin_turn)"
                )
            data["original_input"] = list(resumption.conversation)
        state = await RunState.from_json(agent, data, context_override=context)
        for item in state.get_interruptions():
            call_id = str(item.call_id)
            if call_id in resumption.answers.client_results:
                state.approve(item)  # the client_tool returns what the browser answered
                continue
            answer = resumption.answers.approvals.get(call_id)
            if answer is None:
                continue  # asked again when the run resumes
            if answer.approved:
                state.approve(item)
            else:
                state.reject(item, rejection_message=answer.reason or None)
        return state

    async def _pause(
        self,
        ctx: StreamContext[Any],
        result: RunResultStreaming,
        translation: Translation,
        channel: RunChannel,
        chat_id: str | None,
        owner: str | None,
        rebuildable: list[TResponseInputItem] | Session | None,
        earlier: PendingApprovals | None,
    ) -> None:
        """Store the paused run, ask its approvals. ``earlier``: the pause this run
        resumed, whose answered calls that still run are kept as answered."""
        approval_ids = iter(PendingApprovals.approval_ids(len(result.interruptions)))
        calls: dict[str, tuple[str, str]] = {}
        client_calls: dict[str, str] = {}
        for item in result.interruptions:
            call_id = str(await translation.ensure_call(item.raw_item) or item.call_id)
            if call_id in channel.client_calls:
                client_calls[call_id] = str(item.name)
            else:
                calls[next(approval_ids)] = (call_id, str(item.name))
        state = result.to_state().to_json()
        # the conversation (every earlier file as a data: URL) is most of the state: keep
        # it out when a resumption rebuilds it, from the same turn's messages or from the
        # session, which holds the run's input before the items of the run
        if rebuildable is not None and not isinstance(rebuildable, list):
            held = await rebuildable.get_items()
            rebuildable = held[: len(result.input)]
        input_items = None
        if rebuildable is not None and result.input == rebuildable:
            state["original_input"] = []
            input_items = len(rebuildable)
        pending = PendingApprovals(
            message_id=ctx.message_id,
            state=json.dumps(state, separators=(",", ":")),
            agent=translation.agent,
            calls=calls,
            expires_at=time.time() + self._approval_ttl,
            usage=translation.usage,
            client_calls=client_calls,
            input_items=input_items,
            answered=_still_running(earlier, translation),
        )
        record = pending.dumps()
        size = len(record)  # json.dumps escapes to ASCII: one byte a character
        if size > self._approval_max_bytes:
            raise PausedRunTooLarge(
                f"the run paused in message {ctx.message_id!r} needs {size} bytes, over "
                f"approval_max_bytes ({self._approval_max_bytes}): it was not kept"
            )
        key = PendingApprovals.key(owner, chat_id, ctx.message_id)
        await self._approvals.put(key, record, self._approval_ttl)
        for approval_id, (call_id, _) in calls.items():
            if translation.call_state(call_id) == "input-available":
                await ctx.request_tool_approval(call_id, approval_id=approval_id)
            else:
                logger.warning("tool call %s has no usable input; approval not asked", call_id)


async def _consume(
    result: RunResultStreaming, translation: Translation, channel: RunChannel
) -> None:
    events = cast("AsyncGenerator[Any, None]", result.stream_events())
    finished = False
    try:
        async for event in events:
            await translation.handle(event)
        finished = True
    finally:
        channel.close()
        if not finished and not result.is_complete:
            result.cancel()  # else the SDK runs the model and the tools to the end
        await events.aclose()
    failure = result.run_loop_exception
    if failure is not None:  # failed before any event (openai-agents#2929)
        raise failure


def _running_calls(message: UIMessage) -> dict[str, str]:
    """``{tool_call_id: tool_name}`` of the continued message's calls that have no
    final output yet (an agent used as a tool whose nested run paused): a resumed run
    may still finish them."""
    running: dict[str, str] = {}
    for part in message.parts:
        if not isinstance(part, (ToolUIPart, DynamicToolUIPart)):
            continue
        if part.state == "input-available" or (
            part.state == "output-available" and part.preliminary
        ):
            running[part.tool_call_id] = part.tool_name
    return running


def _still_running(
    earlier: PendingApprovals | None, translation: Translation
) -> dict[str, tuple[str, str]]:
    """The earlier pause's answered approvals whose calls have not ended."""
    if earlier is None:
        return {}
    answered = {**earlier.answered, **earlier.calls}
    return {
        approval_id: call
        for approval_id, call in answered.items()
        if translation.call_state(call[0]) == "approval"
    }


def _check_input(input: Any) -> None:
    if isinstance(input, (str, list, RunResultStreaming, RunState, Resumption)):
        return
    raise TypeError(
        "input must be a string, a list of input items, a RunState, a RunResultStreaming "
        f"or a Resumption; got {type(input).__name__}"
    )
