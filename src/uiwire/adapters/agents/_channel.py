"""The side channel between a run's tools and its stream.

Steering (AI SDK 7: user messages sent while the answer runs) reaches the model through
the same run config: before each model call of the run (not of a nested run a tool
starts), the model input filter takes the messages waiting in the answer's context and
adds them to the input, where they stay for the run's later calls; the translation
shows them when it reaches that call's output (the SDK may run ahead of the stream).

The Agents SDK gives tools no way to emit events (openai-agents#1333), and it keeps no
flag on a tool output that says "this was an error". Both travel here: the adapter
puts a ``RunChannel`` in a context variable just while it calls ``Runner.run_streamed``
(and resets it right there, in the context that set it); the run loop's task copies
the context at creation, so every tool, tool error formatter and nested agent run of
that run sees the channel, and nothing outside it does.

Tool writes are ordered after the call's input: the SDK starts a tool as soon as the
model's response is complete, which can be before the adapter has read the raw events
that announce the call (the consumer may lag behind the SDK's queue). Writes for a call
whose input has not been sent yet wait in ``pending`` and are sent, in order, when it is.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import copy
import dataclasses
import inspect
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Literal, cast

from agents import (
    Agent,
    FunctionTool,
    Handoff,
    RunConfig,
    ToolErrorFormatter,
    ToolErrorFormatterArgs,
    default_tool_error_function,
)

from uiwire.adapters._tool_labels import ToolLabel
from uiwire.adapters.agents._compat import (
    CallModelData,
    CallModelInputFilter,
    ModelInputData,
    handoff_target,
    point_handoff_at,
    see_every_agents_tools,
    see_run_tools,
    watch_own_failures,
)
from uiwire.adapters.agents._labels import function_label, handoff_label
from uiwire.adapters.agents.history import steering_item
from uiwire.protocol.ui_message import SteeringMessageUIPart
from uiwire.stream.context import StreamContext
from uiwire.stream.message_writer import MessageWriter

if TYPE_CHECKING:
    from agents import TResponseInputItem

    from uiwire.adapters.agents.approvals import ClientToolResult

__all__ = [
    "RunChannel",
    "ToolFailure",
    "current_channel",
    "instrumented",
    "run_view",
]

Write = Callable[[], Awaitable[object]]
FailureFunction = Callable[[Any, Exception], Any]
"""A tool's ``failure_error_function``: (tool context, error) to the model's text."""


@dataclasses.dataclass(frozen=True, slots=True)
class ToolFailure:
    """What the SDK's tool error formatter was told about one call."""

    kind: Literal["approval_rejected", "tool_not_found", "tool_exception"]
    error: Exception | None
    default_message: str


class RunChannel:
    """Per-run state shared by the adapter and the run's tools (on the loop thread)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        out: MessageWriter | None,
        leave_out: frozenset[str] = frozenset(),
    ) -> None:
        self.loop = loop
        self.out = out
        """Where tools write; None for a run uiwire did not start (nothing to write to)."""
        self.leave_out = leave_out
        """What the run's messages leave out (``"reasoning"``, ``"sources"``), nested
        runs' included."""
        self.failures: dict[str, ToolFailure] = {}
        self.results: dict[str, Any] = {}
        """What this run's tool copies returned, by call id: a handoff's input filter
        that removes tools drops their output items before the SDK streams them, and
        the message still shows the outputs."""
        self.nested: dict[str, Any] = {}  # agent-as-tool runs, by outer call id
        self.client_calls: set[str] = set()
        """Calls of ``client_tool`` tools the run paused on: the browser runs them."""
        self.outer: Any = None
        """The run's own ``Translation`` (nested runs finish the calls it shows)."""
        self.client_results: dict[str, ClientToolResult] = {}
        """What the browser answered, for a resumed run's client-side calls."""
        self.labels: dict[tuple[str, str], ToolLabel] = {}
        """The run's tools' labels, by ``(agent name, tool name)`` (see ``run_view``)."""
        self.nested_tools: dict[int, tuple[Any, Any]] = {}
        """Guarded copies of the tools of agents a nested run runs as they are (the
        agent of ``Agent.as_tool``), by id of the user's tool: ``(tool, copy)``."""
        self.steering: StreamContext[Any] | None = None
        """The answer's context, when the run takes its steering messages."""
        self._steered: list[tuple[int, list[TResponseInputItem]]] = []
        """The steering the run's model calls got: (where in the input, the items)."""
        self._to_show: collections.deque[list[SteeringMessageUIPart]] = collections.deque()
        """What each model call got, for the translation to show at its output."""
        self._ready: set[str] = set()
        self._pending: dict[str, list[Write]] = {}
        self.closed = False

    def steer(self, data: ModelInputData) -> ModelInputData:
        """The input of the run's next model call, with the steering messages taken now
        added at its end and those of earlier calls where they were given."""
        assert self.steering is not None
        taken = self.steering.take_steering(show=False)
        self._to_show.append(taken)
        items = [item for item in map(steering_item, taken) if item is not None]
        if items:
            self._steered.append((len(data.input), items))
        if not self._steered:
            return data
        steered = list(data.input)
        for position, extra in reversed(self._steered):  # later ones first: indexes hold
            steered[position:position] = extra
        return ModelInputData(input=steered, instructions=data.instructions)

    def show_steering(self) -> None:
        """A model call's output begins: show the steering messages it got (its step
        was closed by the translation)."""
        if self._to_show and self.steering is not None:
            self.steering.show_steering(self._to_show.popleft())

    async def for_call(self, tool_call_id: str, write: Write) -> None:
        """Run ``write`` now if the call's input was sent, else when it is."""
        if self.closed:
            return
        if tool_call_id in self._ready:
            await write()
        else:
            self._pending.setdefault(tool_call_id, []).append(write)

    async def input_sent(self, tool_call_id: str) -> None:
        """The call's part exists on the client: send what its tool already wrote."""
        queue = self._pending.get(tool_call_id)
        while queue:  # a write landing while we await joins the queue, keeping order
            await queue.pop(0)()
        self._pending.pop(tool_call_id, None)
        self._ready.add(tool_call_id)

    def output_sent(self, tool_call_id: str) -> None:
        """The call's final output is out: later tool writes have nowhere to go."""
        self._ready.discard(tool_call_id)
        self._pending.pop(tool_call_id, None)
        self.nested.pop(tool_call_id, None)

    @property
    def cancelled(self) -> bool:
        """The stream's work was cancelled (the client left, a stop): set synchronously
        by ``StreamContext.disconnect``, a loop step before the cancellation reaches the
        SDK's own tasks."""
        return bool(getattr(self.out, "cancelled", False))

    def close(self) -> None:
        self.closed = True
        self._pending.clear()
        self.nested.clear()


_current: contextvars.ContextVar[RunChannel | None] = contextvars.ContextVar(
    "uiwire_agents_run", default=None
)


_in_tool: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "uiwire_agents_in_tool", default=False
)
"""True inside a tool of the run: model calls there belong to a nested run."""


def current_channel() -> RunChannel | None:
    return _current.get()


def set_channel(channel: RunChannel) -> contextvars.Token[RunChannel | None]:
    return _current.set(channel)


def reset_channel(token: contextvars.Token[RunChannel | None]) -> None:
    _current.reset(token)


def _stop_if_cancelled() -> None:
    channel = _current.get()
    if channel is not None and channel.cancelled:
        raise asyncio.CancelledError


def instrumented(run_config: RunConfig | None) -> RunConfig:
    """``run_config`` with two hooks around the user's own, which see no difference:

    - a tool error formatter that notes each failure in the run's channel, then defers to
      the user's formatter (or the SDK's default text);
    - a model input filter that cancels the run when its stream was cancelled, so no
      model request goes out after the client left (the SDK's tasks learn of the
      cancellation a loop step later), adds the answer's steering messages (see the
      module docstring), then defers to the user's filter (which sees them).
    """
    base = run_config if run_config is not None else RunConfig()
    user_formatter: ToolErrorFormatter | None = base.tool_error_formatter
    user_filter: CallModelInputFilter | None = base.call_model_input_filter

    async def formatter(args: ToolErrorFormatterArgs[Any]) -> str | None:
        channel = _current.get()
        if channel is not None:
            channel.failures[args.call_id] = ToolFailure(
                args.kind, args.error, args.default_message
            )
        if user_formatter is None:
            return None
        message = user_formatter(args)
        if inspect.isawaitable(message):
            message = await message
        return message

    async def model_input(data: CallModelData[Any]) -> ModelInputData:
        _stop_if_cancelled()
        channel = _current.get()
        if channel is not None and channel.steering is not None and not _in_tool.get():
            data = dataclasses.replace(data, model_data=channel.steer(data.model_data))
        if user_filter is None:
            return data.model_data
        updated = user_filter(data)
        if inspect.isawaitable(updated):
            updated = await updated
        return updated

    return dataclasses.replace(
        base, tool_error_formatter=formatter, call_model_input_filter=model_input
    )


def run_view(
    agent: Agent[Any], labels: dict[tuple[str, str], ToolLabel] | None = None
) -> Agent[Any]:
    """The agent one run starts with: a copy of ``agent`` and of the agents it hands off
    to (as agents or through ``handoff()`` objects; the same settings, the same names),
    whose tools are per-run copies. The user's agents, tools and handoffs are not
    changed; the view reads its agent's tool list at every turn, so a tool added to it,
    even by a tool of this run, is used from the next turn on, as the SDK would.

    Every function tool a turn gets is a copy: the agent's own, and the MCP tools its
    servers list for the turn (``get_all_tools``). Each copy refuses to start once its
    run's stream is cancelled: the SDK creates a tool's task before that task runs, and a
    disconnect landing in between would otherwise still start the tool (its side effects
    up to its first ``await`` included). It also tells the run's channel when it failed
    in a way the SDK's tool error formatter does not hear of: through the tool's own
    ``failure_error_function`` (MCP tools have one, set by their agent's ``mcp_config``)
    or by raising ``CancelledError``. Outside a uiwire run the copies behave as the
    originals. ``labels`` gets each tool's ``ToolLabel``, by ``(agent name, tool name)``.
    The agent a nested run runs as it is (``Agent.as_tool``'s, the user's own) gets its
    copies from ``_nested_run_tools``.
    """
    see_every_agents_tools(_nested_run_tools)
    views: dict[int, Agent[Any]] = {}
    seen = labels if labels is not None else {}

    def view_of(original: Agent[Any]) -> Agent[Any]:
        known = views.get(id(original))
        if known is not None:
            return known
        view = views[id(original)] = original.clone()
        _views[id(view)] = view
        copies: dict[int, tuple[Any, Any]] = {}  # id -> (the user's tool, its copy)

        def copy_of(tool: Any) -> Any:
            return _copy_of(copies, tool)

        def follow_tools() -> None:
            # the user's list, read at each turn: a tool may add a tool to its own agent
            # mid-run, and the SDK's next turn finds it
            view.tools = [copy_of(tool) for tool in original.tools]

        follow_tools()
        view.handoffs = [_handoff_view(h, view_of, seen, original.name) for h in original.handoffs]
        mcp_failure = original.mcp_config.get("failure_error_function", default_tool_error_function)
        if mcp_failure is not None:
            view.mcp_config = {**original.mcp_config, "failure_error_function": _noted(mcp_failure)}
        name = str(original.name)

        def turn_tools(tools: list[Any]) -> list[Any]:
            ours = {id(copied) for _, copied in copies.values()}
            turn = [tool if id(tool) in ours else _watched(tool) for tool in tools]
            for tool in turn:
                if isinstance(tool, FunctionTool):
                    seen[name, tool.name] = function_label(tool)
            return turn

        see_run_tools(view, turn_tools, before=follow_tools)
        return view

    return view_of(agent)


_views: weakref.WeakValueDictionary[int, Agent[Any]] = weakref.WeakValueDictionary()
"""Every live per-run view, by id (``Agent`` compares by value, so it is no set member)."""


def _nested_run_tools(agent: Agent[Any], tools: list[Any]) -> list[Any]:
    """A turn's tools of an agent that is no view, in a uiwire run: the agent a nested
    run (``Agent.as_tool``) runs, which is the user's own. Its function tools become
    guarded copies, one per tool for the whole run; the list itself is the SDK's, so the
    user's agent is not changed. Outside a uiwire run, and for views (which copy their
    tools themselves), ``tools`` as they are."""
    channel = _current.get()
    if channel is None or _views.get(id(agent)) is agent:
        return tools
    copies = channel.nested_tools
    turn: list[Any] = []
    for tool in tools:
        if isinstance(tool, FunctionTool) and id(tool) not in copies:
            channel.labels.setdefault((str(agent.name), tool.name), function_label(tool))
        turn.append(_copy_of(copies, tool))
    return turn


def _copy_of(copies: dict[int, tuple[Any, Any]], tool: Any) -> Any:
    """The run's guarded copy of ``tool`` from ``copies`` (id -> (the user's tool, its
    copy)), made on first use; the user's tool is kept there, so its id is not reused."""
    known = copies.get(id(tool))
    if known is None:
        known = copies[id(tool)] = (tool, _watched(tool))
    return known[1]


def _handoff_view(
    handoff: Any,
    view_of: Callable[[Agent[Any]], Agent[Any]],
    labels: dict[tuple[str, str], ToolLabel],
    agent_name: str,
) -> Any:
    """A handoff of a view: to the view of its target agent."""
    if isinstance(handoff, Agent):
        agent = cast("Agent[Any]", handoff)
        labels[agent_name, Handoff.default_tool_name(agent)] = handoff_label(agent)
        return view_of(agent)
    if not isinstance(handoff, Handoff):
        return handoff
    original = cast("Handoff[Any, Any]", handoff)
    copied = copy.copy(original)
    labels[agent_name, original.tool_name] = handoff_label(original)
    invoke = original.on_invoke_handoff

    async def on_invoke_handoff(context: Any, arguments: str) -> Any:
        target: Any = await invoke(context, arguments)
        return view_of(cast("Agent[Any]", target)) if isinstance(target, Agent) else target

    copied.on_invoke_handoff = on_invoke_handoff
    target = handoff_target(original)
    if target is not None:
        point_handoff_at(copied, view_of(target))
    return copied


def _note_failure(context: Any, error: Exception) -> None:
    channel = _current.get()
    call_id = getattr(context, "tool_call_id", None)
    if channel is not None and isinstance(call_id, str):
        channel.failures[call_id] = ToolFailure("tool_exception", error, str(error))


def _noted(failure: FailureFunction) -> FailureFunction:
    def noted(context: Any, error: Exception) -> Any:
        _note_failure(context, error)
        return failure(context, error)

    return noted


def _watched(tool: Any) -> Any:
    if not isinstance(tool, FunctionTool):
        return tool
    watched = copy.copy(tool)  # the SDK binds the copy's failure handling to the copy
    watch_own_failures(watched, _note_failure)
    watched.on_invoke_tool = _guarded(watched.on_invoke_tool)
    return watched


CANCELLED_TOOL_TEXT = "The tool was cancelled."


def _guarded(invoke: Callable[[Any, str], Awaitable[Any]]) -> Callable[[Any, str], Awaitable[Any]]:
    async def guarded(context: Any, arguments: str) -> Any:
        _stop_if_cancelled()
        inside = _in_tool.set(True)  # a run the tool starts is not the answer's own
        try:
            result = await invoke(context, arguments)
        except asyncio.CancelledError:
            channel = _current.get()
            call_id = getattr(context, "tool_call_id", None)
            if channel is not None and not channel.cancelled and isinstance(call_id, str):
                # the tool cancelled itself: the SDK gives the model its failure text
                channel.failures[call_id] = ToolFailure("tool_exception", None, CANCELLED_TOOL_TEXT)
            raise
        finally:
            _in_tool.reset(inside)
        channel = _current.get()
        call_id = getattr(context, "tool_call_id", None)
        if channel is not None and isinstance(call_id, str):
            channel.results[call_id] = result
        return result

    return guarded
