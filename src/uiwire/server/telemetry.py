"""OpenTelemetry for served turns (the ``otel`` extra): a span per turn, from the request
to the stream's end, and the stream metrics.

Theory of operation
-------------------
Telemetry is off unless given (``ChatEndpoint(agent, telemetry=Telemetry())``): without
it, serving a turn makes no call into this module. With it, a turn costs

* at the request: one span started, parented on the span already current (a server's
  own instrumentation) or else on the request's W3C ``traceparent``, and made current
  while the agent begins the turn and its work task is created, so that the spans the
  framework or its instrumentation opens (model calls, tools, HTTP) are its children;
* per batch of frames delivered to the client (never per chunk, and never a call into
  OpenTelemetry): ``TurnProbe.delivered``, a newline count and a byte count;
* at the end, once the stream is closed (ended and delivered, or its client gone; not
  when the handler returned): the attributes set, the span ended, the counts tallied
  (the SDK reads them when it collects) and one histogram update.

Nothing of a message's content goes into a span: ids, counts, times and how it ended.
Chat ids are hashed by default (``chat_id="hash"``): without an identity, a chat id is
enough to resume or stop its answer, and a trace store is read by more people than the
chats are.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from collections.abc import Generator, Mapping
from typing import Final, Literal

from uiwire._extras import needs_extra
from uiwire.protocol.encode import DONE_FRAME, KEEP_ALIVE_FRAME
from uiwire.stream.record import StreamStatus

with needs_extra(
    "opentelemetry",
    extra="otel",
    needed_by="Telemetry",
    package="the OpenTelemetry API (the opentelemetry-api package)",
):
    from opentelemetry import context as otel_context
    from opentelemetry import metrics, propagate, trace
    from opentelemetry.metrics import CallbackOptions, Observation
    from opentelemetry.trace import Span, SpanKind, Status, StatusCode
    from opentelemetry.util.types import AttributeValue

__all__ = ["SPAN_NAME", "ChatIdRecord", "EndStatus", "Telemetry", "TurnProbe", "current_trace_id"]

SPAN_NAME: Final = "uiwire.turn"
"""The name of a turn's span."""

ChatIdRecord = Literal["hash", "plain", "omit"]
"""How a turn's span names its chat: a SHA-256 prefix, the id itself, or not at all."""

EndStatus = Literal["finish", "abort", "error", "disconnect", "stop", "refused"]
"""How a turn ended, as its span and the ``uiwire.turns`` metric say: the stream's own
``finish``, ``abort`` (by the work), ``error``; ``disconnect`` (the client left);
``stop`` (a stop request, or a newer turn of the chat, cancelled it); ``refused`` (an
HTTP error answered instead of a stream)."""

_SCOPE: Final = "uiwire"
_FIRST_CHUNK_BUCKETS: Final = (0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 7.5, 10.0, 20.0)


class Telemetry:
    """Trace and measure every turn a ``ChatEndpoint`` (or a ``UIMessageStreamResponse``)
    serves, through the OpenTelemetry API; the application configures the SDK and its
    exporters.

    Arguments:
        tracer_provider: where spans go (default: the global one, ``trace.set_tracer_provider``).
        meter_provider: where metrics go (default: the global one).
        chat_id: how the span records the chat id: ``"hash"`` (default: the first 16 hex
            digits of its SHA-256, enough to group a chat's turns), ``"plain"`` or
            ``"omit"``.
        trace_id_key: when set (e.g. ``"traceId"``), a turn that finishes or fails adds
            its trace id to the message metadata under this key, just before its last
            chunk, so a user's report can name the trace.
    """

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        chat_id: ChatIdRecord = "hash",
        trace_id_key: str | None = None,
    ) -> None:
        if chat_id not in ("hash", "plain", "omit"):
            raise ValueError(f"chat_id must be 'hash', 'plain' or 'omit'; got {chat_id!r}")
        if trace_id_key is not None and (not isinstance(trace_id_key, str) or not trace_id_key):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise ValueError(
                f"trace_id_key must be a non-empty string or None; got {trace_id_key!r}"
            )
        self.chat_id: ChatIdRecord = chat_id
        self.trace_id_key = trace_id_key
        self.tracer = trace.get_tracer(_SCOPE, tracer_provider=tracer_provider)
        self.tally = _Tally(metrics.get_meter(_SCOPE, meter_provider=meter_provider))

    def start_turn(
        self, headers: Mapping[str, str], *, agent: str, start_time: int | None = None
    ) -> TurnProbe:
        """Open a turn's span now (or at ``start_time``, in ``time.time_ns()``), parented
        on the current span if there is one, else on the ``traceparent`` in ``headers``.
        ``agent`` names what answers (an adapter's class): on the span and the metrics."""
        parent = trace.get_current_span()
        if parent.get_span_context().is_valid:  # an instrumented server's span
            context = otel_context.get_current()
            kind = SpanKind.INTERNAL
        else:
            context = propagate.extract(headers)
            kind = SpanKind.SERVER
        span = self.tracer.start_span(
            SPAN_NAME, context, kind=kind, attributes={"uiwire.agent": agent}, start_time=start_time
        )
        started = time.perf_counter()
        if start_time is not None:  # the same instant on the clock the probe measures with
            started -= max(0, time.time_ns() - start_time) / 1e9
        return TurnProbe(self, span, trace.set_span_in_context(span, context), started, agent)

    def store_failed(self, store: Literal["chat", "stream"]) -> None:
        """Count one failed call to the chat store or the stream store."""
        self.tally.add(self.tally.store_errors, store)


class _Tally:
    """The metrics, kept as plain counts that the SDK reads when it collects (every
    minute, say), through observable instruments: a turn costs a few additions, and one
    OpenTelemetry call (the time to first chunk, a histogram). The reader's thread takes
    ``lock`` to read what the loop's thread writes under it."""

    def __init__(self, meter: metrics.Meter) -> None:
        self.lock = threading.Lock()
        self.open: dict[str, int] = {}  # by agent
        self.turns: dict[tuple[str, str], int] = {}  # by agent and end status
        self.chunks: dict[str, int] = {}  # by agent, of the turns that ended
        self.live: set[TurnProbe] = set()  # the turns streaming now, whose chunks count too
        self.disconnects: dict[str, int] = {}  # by agent
        self.store_errors: dict[str, int] = {}  # by store
        meter.create_observable_up_down_counter(
            "uiwire.streams.open",
            [self._observe_open],
            unit="{stream}",
            description="Turns streaming now.",
        )
        meter.create_observable_counter(
            "uiwire.turns",
            [self._observe_turns],
            unit="{turn}",
            description="Turns ended, by end status.",
        )
        meter.create_observable_counter(
            "uiwire.stream.chunks",
            [self._observe_chunks],
            unit="{chunk}",
            description="UI message chunks sent, the streaming turns' so far included.",
        )
        self.time_to_first_chunk = meter.create_histogram(
            "uiwire.stream.time_to_first_chunk",
            unit="s",
            description="From the request to the first chunk sent to the client.",
            explicit_bucket_boundaries_advisory=_FIRST_CHUNK_BUCKETS,
        )
        meter.create_observable_counter(
            "uiwire.stream.disconnects",
            [self._observe_disconnects],
            unit="{disconnect}",
            description="Clients that left before their turn's stream ended.",
        )
        meter.create_observable_counter(
            "uiwire.store.errors",
            [self._observe_store_errors],
            unit="{error}",
            description="Failed calls to the chat store or the stream store.",
        )

    def add(self, counts: dict[str, int], key: str) -> None:
        """One more ``key`` in ``counts`` (one of the dicts above)."""
        with self.lock:
            counts[key] = counts.get(key, 0) + 1

    def _observe_open(self, options: CallbackOptions) -> list[Observation]:
        with self.lock:
            return [Observation(n, {"uiwire.agent": a}) for a, n in self.open.items()]

    def _observe_turns(self, options: CallbackOptions) -> list[Observation]:
        with self.lock:
            return [
                Observation(n, {"uiwire.agent": a, "uiwire.turn.status": status})
                for (a, status), n in self.turns.items()
            ]

    def _observe_chunks(self, options: CallbackOptions) -> list[Observation]:
        with self.lock:
            totals = dict(self.chunks)
            for probe in self.live:
                totals[probe.agent] = totals.get(probe.agent, 0) + probe.chunks
        return [Observation(n, {"uiwire.agent": a}) for a, n in totals.items()]

    def _observe_disconnects(self, options: CallbackOptions) -> list[Observation]:
        with self.lock:
            return [Observation(n, {"uiwire.agent": a}) for a, n in self.disconnects.items()]

    def _observe_store_errors(self, options: CallbackOptions) -> list[Observation]:
        with self.lock:
            return [Observation(n, {"uiwire.store": s}) for s, n in self.store_errors.items()]


class TurnProbe:
    """One turn's span and counts, from ``Telemetry.start_turn`` to ``end`` (once)."""

    __slots__ = (
        "_attributes",
        "_client_left",
        "_context",
        "_ended",
        "_first",
        "_last",
        "_newlines",
        "_open",
        "_size",
        "_started",
        "_tally",
        "_telemetry",
        "agent",
        "span",
    )

    def __init__(
        self,
        telemetry: Telemetry,
        span: Span,
        context: otel_context.Context,
        started: float,
        agent: str,
    ) -> None:
        self._telemetry = telemetry
        self._tally = telemetry.tally
        self.span = span
        self.agent = agent
        self._context = context
        self._started = started
        self._attributes: dict[str, AttributeValue] = {}  # set on the span at its end
        self._first: float | None = None
        self._newlines = 0
        self._size = 0
        self._last = b""
        self._client_left = False
        self._open = False
        self._ended = False

    @property
    def chunks(self) -> int:
        """Chunks sent so far (the frames less ``[DONE]``)."""
        return self._newlines // 2 - (1 if self._last.endswith(DONE_FRAME) else 0)

    @property
    def trace_id(self) -> str | None:
        """The turn's trace id (32 hex digits), or None when nothing records it."""
        context = self.span.get_span_context()
        return trace.format_trace_id(context.trace_id) if context.is_valid else None

    def describe(
        self,
        *,
        message_id: str,
        chat_id: str | None = None,
        trigger: str | None = None,
        continued: bool | None = None,
    ) -> None:
        """What the turn is, once the request is read: ids and kind, never content."""
        attributes: dict[str, AttributeValue] = {"uiwire.message.id": message_id}
        record = self._telemetry.chat_id
        if chat_id is not None and record != "omit":
            if record == "hash":
                chat_id = hashlib.sha256(chat_id.encode()).hexdigest()[:16]
            attributes["uiwire.chat.id"] = chat_id
        if trigger is not None:
            attributes["uiwire.turn.trigger"] = trigger
        if continued is not None:
            attributes["uiwire.turn.continued"] = continued
        self._attributes.update(attributes)

    @contextlib.contextmanager
    def current(self) -> Generator[None, None, None]:
        """Make the turn's span the current one (tasks created meanwhile inherit it); an
        exception escaping ends the turn as ``error``."""
        token = otel_context.attach(self._context)
        try:
            yield
        except BaseException as exc:
            self.end("error", error=exc)
            raise
        finally:
            otel_context.detach(token)

    def streaming(self) -> None:
        """The turn has a stream now: counted among the open ones until it ends."""
        if self._open or self._ended:
            return
        self._open = True
        tally = self._tally
        with tally.lock:
            tally.open[self.agent] = tally.open.get(self.agent, 0) + 1
            tally.live.add(self)

    def delivered(self, data: bytes) -> None:
        """A batch of frames went to the client (the hot path: no OpenTelemetry call)."""
        if not data or data is KEEP_ALIVE_FRAME:
            return
        if self._first is None:
            self._first = time.perf_counter()
        self._newlines += data.count(b"\n")  # two per frame: orjson never writes a raw one
        self._size += len(data)
        self._last = data

    def client_left(self) -> None:
        """The client that asked went away; the turn may go on (to be resumed)."""
        if not self._client_left and not self._ended:
            self._client_left = True
            self.span.add_event("uiwire.client_disconnected")
            self._tally.add(self._tally.disconnects, self.agent)

    def end(
        self,
        status: StreamStatus | Literal["refused"],
        *,
        cancelled: bool = False,
        error: BaseException | None = None,
        http_status: int | None = None,
    ) -> None:
        """End the turn (the first call only): ``status`` as the stream closed, with
        ``cancelled`` (``ctx.cancelled``) telling a stop from the work's own abort."""
        if self._ended:
            return
        self._ended = True
        final = _end_status(status, cancelled=cancelled, client_left=self._client_left)
        chunks = self.chunks
        attributes = self._attributes
        attributes["uiwire.turn.status"] = final
        attributes["uiwire.stream.chunks"] = chunks
        attributes["uiwire.stream.bytes"] = self._size
        first = None if self._first is None else self._first - self._started
        if first is not None:
            attributes["uiwire.stream.time_to_first_chunk"] = first
        if http_status is not None:
            attributes["http.response.status_code"] = http_status
        if error is not None:
            attributes["error.type"] = type(error).__qualname__
        span = self.span
        span.set_attributes(attributes)  # one call: each takes the span's lock
        if final == "error":  # the text is the client's masked one or the logs' own
            span.set_status(Status(StatusCode.ERROR))
        span.end()
        agent, tally = self.agent, self._tally
        with tally.lock:
            if self._open:
                tally.open[agent] -= 1
                tally.live.discard(self)
            tally.chunks[agent] = tally.chunks.get(agent, 0) + chunks
            key = (agent, final)
            tally.turns[key] = tally.turns.get(key, 0) + 1
            if final == "disconnect" and not self._client_left:  # else counted as it happened
                tally.disconnects[agent] = tally.disconnects.get(agent, 0) + 1
        if first is not None:
            tally.time_to_first_chunk.record(first, {"uiwire.agent": agent})


def _end_status(
    status: StreamStatus | Literal["refused"], *, cancelled: bool, client_left: bool
) -> EndStatus:
    if status == "abort":
        if client_left:  # a resumable turn its client's departure cancelled
            return "disconnect"
        if cancelled:  # ctx.stopped: the stop route (either mode), a newer turn, a deleted chat
            return "stop"
    return status


def current_trace_id() -> str | None:
    """The current span's trace id (32 hex digits), or None: inside a turn's work, the
    turn's own, for a hand-written agent to put in its ``start`` metadata."""
    context = trace.get_current_span().get_span_context()
    return trace.format_trace_id(context.trace_id) if context.is_valid else None
