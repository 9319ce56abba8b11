"""Thread bridge: events per second from worker threads to SSE bytes on the event loop.

    python -m benchmarks.bridge [--events N] [--repeat R] [--quick] [--out DIR] [--no-plot]
                                [--dspy-events N] [--loop asyncio|uvloop]

Sync code (DSPy programs, sync tools, callbacks) runs in worker threads, while the
response is written by the event loop. Every event has to cross from a thread to the
loop, and waking the loop (``loop.call_soon_threadsafe``: a callback appended, and on
the stdlib loop a write to its self-pipe, a system call) is the expensive part. Three bridges are measured, each
with 1, 4 and 16 writer threads writing text deltas at once, and a consumer on the loop
producing the same SSE frames (``data: {"type":"text-delta","id":...,"delta":...}``):

* ``uiwire``: threads call ``ctx.sync.write_text(token, key=thread)``, the consumer
  drains ``ctx.stream()``. A delta to an open part is appended to a lock-free lane (a
  deque; only steps that change the stream's state take the lock), so the threads do
  not convoy on a lock, and wake-ups are coalesced: one per drain, not one per event.
* ``call_soon_threadsafe per event``: the naive bridge. Each thread encodes its frame
  and hands it over with ``loop.call_soon_threadsafe(queue.put_nowait, frame)``; the
  consumer awaits an ``asyncio.Queue``.
* ``DSPy sync_send_to_stream``: DSPy's real function. The threads are anyio worker
  threads (as ``dspy.streamify`` runs sync programs via ``asyncify``), each event goes
  through ``anyio.from_thread.run`` into an anyio memory object stream with
  ``streamify``'s buffer of 16, and the consumer encodes every message with orjson. On
  asyncio, ``anyio.from_thread.run`` is ``asyncio.run_coroutine_threadsafe``, which is
  one ``loop.call_soon_threadsafe`` per event, and the thread then waits for the send.

All writers are anyio worker threads released together by a barrier; the clock runs
from starting them to the consumer reading the last byte. Wake-ups are counted by
patching ``call_soon_threadsafe`` on the running loop (the count includes the one
call each anyio worker makes to report it is done). After every run the consumed bytes
are parsed and each thread's deltas must be exactly the tokens it wrote, in order;
otherwise the run is reported and the benchmark exits 1. Runs are interleaved (repeat,
threads, bridge), each on a new stdlib asyncio loop (``--loop uvloop`` for uvloop, where
a cross-thread wake-up is cheaper); the table shows the best of ``--repeat``, and the
speed-up targets (at 4 and 16 threads) must hold in every run. DSPy's round trip per
event is slow, so its runs write half the events by default (``--dspy-events``; the
table says how many).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import itertools
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Generator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import anyio
import anyio.to_thread
import orjson

from benchmarks._results import Result, Table, Target, fmt, save
from benchmarks._results import parser as cli_parser
from uiwire.stream import StreamContext

UIWIRE: Final = "uiwire"
PER_EVENT: Final = "call_soon_threadsafe per event"
DSPY: Final = "DSPy sync_send_to_stream"
BRIDGES: Final = (UIWIRE, PER_EVENT, DSPY)
THREAD_COUNTS: Final = (1, 4, 16)
CONTENDED_THREADS: Final = (4, 16)  # where writer threads contend: the speed-up targets
CONTENDED_SPEEDUP: Final = 2.0  # uiwire at least this many times the per-event bridge

DSPY_STREAM_BUFFER: Final = 16  # anyio.create_memory_object_stream(16) in dspy.streamify
DONE_FRAME: Final = b"data: [DONE]\n\n"
BARRIER_TIMEOUT: Final = 60.0  # seconds; a writer that never starts fails the run, not hangs

SendToStream = Callable[[Any, Any], Any]  # dspy.streaming.messages.sync_send_to_stream
Writer = Callable[[int], None]  # writes every event of one thread, given its index


# --- what the threads write, and checking what arrived -------------------------------------


def token(thread: int, index: int) -> str:
    """The delta thread ``thread`` writes as its event ``index``: unique, and says whose."""
    return f"{thread}:{index} "


def part_id(thread: int) -> str:
    """The wire id the baselines give a thread's text part (as uiwire numbers its parts)."""
    return f"t{thread + 1}"


def delta_frame(thread: int, delta: str) -> bytes:
    """One SSE ``text-delta`` frame, as every bridge sends it."""
    chunk = {"type": "text-delta", "id": part_id(thread), "delta": delta}
    return b"data: " + orjson.dumps(chunk) + b"\n\n"


def parse_deltas(body: bytes) -> tuple[dict[str, list[str]], bool]:
    """The text deltas of an SSE body grouped by part id, and whether ``[DONE]`` ended it."""
    deltas_by_part: dict[str, list[str]] = {}
    done = False
    for frame in body.split(b"\n\n"):
        if not frame:
            continue
        if done:  # anything after [DONE] is an error; make it show as one
            return deltas_by_part, False
        if frame == b"data: [DONE]":
            done = True
            continue
        if not frame.startswith(b"data: "):
            continue  # an SSE comment (keep-alive)
        chunk = orjson.loads(frame[len(b"data: ") :])
        if chunk.get("type") == "text-delta":
            # a delta holds one token, or several when a lagging reader got them merged
            deltas_by_part.setdefault(chunk["id"], []).extend(_tokens(chunk["delta"]))
    return deltas_by_part, done


def _tokens(delta: str) -> list[str]:
    """The tokens (``token``: each ends with a space) a delta holds, in order; a rest
    without its space is kept as it came, to be reported."""
    pieces = delta.split(" ")
    tokens = [piece + " " for piece in pieces[:-1]]
    return [*tokens, pieces[-1]] if pieces[-1] else tokens


def _thread_of(delta: str) -> int | None:
    thread, _, _ = delta.partition(":")
    return int(thread) if thread.isdecimal() else None


def _first_difference(got: Sequence[str], expected: Sequence[str]) -> str:
    for index, (delta, wanted) in enumerate(zip(got, expected, strict=False)):
        if delta != wanted:
            return (
                f"{len(got)} of {len(expected)} deltas arrived; the first out of place is "
                f"#{index}: expected {wanted!r}, got {delta!r}"
            )
    if len(got) < len(expected):
        return f"only {len(got)} of {len(expected)} deltas arrived; {expected[len(got)]!r} did not"
    return f"{len(got) - len(expected)} deltas more than the {len(expected)} it wrote"


def check_order(
    deltas_by_part: Mapping[str, Sequence[str]], threads: int, events_per_thread: int
) -> list[str]:
    """What went wrong (nothing: an empty list) in the deltas of ``threads`` writers.

    Every thread must have one part holding exactly its tokens ``0 .. events_per_thread - 1``
    in order: a lost, duplicated, reordered or misplaced event is reported.
    """
    problems: list[str] = []
    part_of_thread: dict[int, str] = {}
    for pid, deltas in deltas_by_part.items():
        thread = _thread_of(deltas[0]) if deltas else None
        if thread is None or not 0 <= thread < threads:
            problems.append(f"part {pid}: its first delta {deltas[:1]!r} is no writer's")
            continue
        if thread in part_of_thread:
            problems.append(
                f"thread {thread}: its events arrived in two parts ({part_of_thread[thread]}, {pid})"
            )
            continue
        part_of_thread[thread] = pid
        expected = [token(thread, i) for i in range(events_per_thread)]
        if list(deltas) == expected:
            continue
        problems.append(f"thread {thread} (part {pid}): {_first_difference(deltas, expected)}")
    problems += [
        f"thread {thread}: none of its {events_per_thread} events arrived"
        for thread in range(threads)
        if thread not in part_of_thread
    ]
    return problems


def check_body(body: bytes, threads: int, events_per_thread: int) -> list[str]:
    """``check_order`` on a whole SSE body, which must also end with ``[DONE]``."""
    deltas_by_part, done = parse_deltas(body)
    problems = check_order(deltas_by_part, threads, events_per_thread)
    if not done:
        problems.append("the stream did not end with [DONE] (or went on after it)")
    return problems


# --- the harness -------------------------------------------------------------------------


class WakeupCounter:
    """How many times ``call_soon_threadsafe`` was called; final once the patch is removed."""

    def __init__(self) -> None:
        self.count = 0


@contextmanager
def counting_wakeups(loop: asyncio.AbstractEventLoop) -> Generator[WakeupCounter, None, None]:
    """Patch ``loop.call_soon_threadsafe`` (this loop only) to count calls."""
    counter = WakeupCounter()
    original = loop.call_soon_threadsafe
    calls = itertools.count()  # next() is one C call: exact from many threads, and cheap

    def counting(callback: Callable[..., object], *args: Any, context: Any = None) -> Any:
        next(calls)
        return original(callback, *args, context=context)

    loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
    try:
        yield counter
    finally:
        del loop.call_soon_threadsafe  # type: ignore[misc]
        counter.count = next(calls)


async def run_writers(threads: int, writer: Writer) -> None:
    """Run ``writer(k)`` for every thread ``k`` in anyio worker threads, all at once."""
    barrier = threading.Barrier(threads)
    limiter = anyio.CapacityLimiter(threads)

    def released(thread: int) -> None:
        barrier.wait(BARRIER_TIMEOUT)
        writer(thread)

    async def in_worker_thread(thread: int) -> None:
        await anyio.to_thread.run_sync(released, thread, limiter=limiter)

    async with anyio.create_task_group() as group:
        for thread in range(threads):
            group.start_soon(in_worker_thread, thread)


@dataclass
class Run:
    """One measured run of one bridge."""

    seconds: float
    wakeups: int
    problems: list[str]


async def _timed(
    body: Callable[[], Coroutine[Any, Any, list[bytes]]], threads: int, per_thread: int
) -> Run:
    loop = asyncio.get_running_loop()
    with counting_wakeups(loop) as counter:
        start = time.perf_counter()
        pieces = await body()
        seconds = time.perf_counter() - start
    return Run(seconds, counter.count, check_body(b"".join(pieces), threads, per_thread))


# --- the bridges -------------------------------------------------------------------------


async def uiwire_bridge(threads: int, per_thread: int) -> Run:
    """Threads write through ``ctx.sync``; the consumer drains ``ctx.stream()``."""

    async def body() -> list[bytes]:
        ctx = StreamContext()

        def write_all(thread: int) -> None:
            write_text = ctx.sync.write_text
            for index in range(per_thread):
                write_text(token(thread, index), key=thread)

        async def work(ctx: StreamContext) -> None:
            await run_writers(threads, write_all)

        ctx.run(work)
        return [data async for data in ctx.stream()]

    return await _timed(body, threads, per_thread)


async def per_event_bridge(threads: int, per_thread: int) -> Run:
    """Each thread encodes its frame and schedules one ``queue.put_nowait`` per event."""
    loop = asyncio.get_running_loop()

    async def body() -> list[bytes]:
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()

        def write_all(thread: int) -> None:
            for index in range(per_thread):
                frame = delta_frame(thread, token(thread, index))
                loop.call_soon_threadsafe(queue.put_nowait, frame)

        async def produce() -> None:
            try:
                await run_writers(threads, write_all)
            finally:  # after every thread's callbacks: each thread's result comes after them
                queue.put_nowait(None)

        producer = asyncio.create_task(produce())
        pieces: list[bytes] = []
        while (frame := await queue.get()) is not None:
            pieces.append(frame)
        pieces.append(DONE_FRAME)
        await producer
        return pieces

    return await _timed(body, threads, per_thread)


async def dspy_bridge(threads: int, per_thread: int, *, send: SendToStream) -> Run:
    """Threads call DSPy's ``sync_send_to_stream(stream, message)``; the consumer iterates
    the receive stream. ``send`` is that function (imported by the caller: dspy is heavy)."""
    from dspy.streaming.messages import StreamResponse

    async def body() -> list[bytes]:
        send_stream, receive_stream = anyio.create_memory_object_stream[Any](DSPY_STREAM_BUFFER)

        def write_all(thread: int) -> None:
            predict_name = part_id(thread)
            for index in range(per_thread):
                message = StreamResponse(predict_name, "answer", token(thread, index), False)
                send(send_stream, message)

        async def produce() -> None:
            async with send_stream:  # closing it ends the consumer's iteration
                await run_writers(threads, write_all)

        pieces: list[bytes] = []
        async with anyio.create_task_group() as group, receive_stream:
            group.start_soon(produce)
            async for message in receive_stream:
                chunk = {"type": "text-delta", "id": message.predict_name, "delta": message.chunk}
                pieces.append(b"data: " + orjson.dumps(chunk) + b"\n\n")
        pieces.append(DONE_FRAME)
        return pieces

    return await _timed(body, threads, per_thread)


BridgeRun = Callable[[int, int], Coroutine[Any, Any, Run]]  # (threads, events per thread)


def runners() -> dict[str, BridgeRun]:
    """Every bridge; imports DSPy (seconds), so call it before any clock runs."""
    from dspy.streaming.messages import sync_send_to_stream

    return {
        UIWIRE: uiwire_bridge,
        PER_EVENT: per_event_bridge,
        DSPY: functools.partial(dspy_bridge, send=sync_send_to_stream),
    }


# --- measuring ---------------------------------------------------------------------------


@dataclass
class Case:
    """Every run of one bridge at one thread count."""

    bridge: str
    threads: int
    per_thread: int
    runs: list[Run] = field(default_factory=list[Run])

    @property
    def events(self) -> int:
        return self.threads * self.per_thread

    @property
    def best(self) -> Run:
        return min(self.runs, key=lambda run: run.seconds)

    @property
    def events_per_second(self) -> float:
        return self.events / self.best.seconds

    @property
    def wakeups_per_1000(self) -> float:
        return self.best.wakeups * 1000 / self.events

    @property
    def problems(self) -> list[str]:
        return [problem for run in self.runs for problem in run.problems]


def loop_runner(loop: str) -> Callable[[Coroutine[Any, Any, Run]], Run]:
    """``asyncio.run`` on a fresh loop of the kind named: stdlib ``asyncio`` or ``uvloop``."""
    if loop == "uvloop":
        import uvloop

        return uvloop.run
    return asyncio.run


def measure(
    events: int, dspy_events: int, repeat: int, loop: str = "asyncio"
) -> dict[tuple[str, int], Case]:
    """Every bridge at every thread count, ``repeat`` times, interleaved."""
    bridge_runs = runners()
    run_on_new_loop = loop_runner(loop)
    cases: dict[tuple[str, int], Case] = {}
    for bridge in BRIDGES:
        total = dspy_events if bridge == DSPY else events
        for threads in THREAD_COUNTS:
            cases[bridge, threads] = Case(bridge, threads, max(1, total // threads))
    for _ in range(repeat):
        for threads in THREAD_COUNTS:
            for bridge in BRIDGES:
                case = cases[bridge, threads]
                gc.collect()
                run = run_on_new_loop(bridge_runs[bridge](threads, case.per_thread))
                case.runs.append(run)
                for problem in run.problems:
                    print(f"{bridge}, {threads} threads: {problem}", file=sys.stderr)
    return cases


# --- reporting ---------------------------------------------------------------------------


def speedup_per_run(ours: Case, baseline: Case) -> list[float]:
    """How many times faster ``ours`` was in each run, against the run of ``baseline``
    made right beside it (same thread count, same events)."""
    return [
        (theirs.seconds / baseline.events) / (mine.seconds / ours.events)
        for mine, theirs in zip(ours.runs, baseline.runs, strict=True)
    ]


def build_result(
    cases: Mapping[tuple[str, int], Case], params: dict[str, Any]
) -> tuple[Result, bool]:
    """The ``Result`` for ``save``, and whether every run delivered every event in order."""
    figures: dict[str, Any] = {"bridges": {}, "uiwire_speedup": {}, "uiwire_speedup_per_run": {}}
    for (bridge, threads), case in cases.items():
        figures["bridges"].setdefault(bridge, {})[str(threads)] = {
            "threads": threads,
            "events_per_thread": case.per_thread,
            "events": case.events,
            "events_per_second": case.events_per_second,
            "best_seconds": case.best.seconds,
            "seconds": [run.seconds for run in case.runs],
            "wakeups_per_1000_events": case.wakeups_per_1000,
            "wakeups": [run.wakeups for run in case.runs],
            "order_problems": case.problems,
        }
    for baseline in (PER_EVENT, DSPY):
        figures["uiwire_speedup"][baseline] = {
            str(threads): cases[UIWIRE, threads].events_per_second
            / cases[baseline, threads].events_per_second
            for threads in THREAD_COUNTS
        }

    rows: list[list[str]] = []
    for bridge in BRIDGES:
        for threads in THREAD_COUNTS:
            case = cases[bridge, threads]
            ratio = (
                "1.00 (itself)"
                if bridge == UIWIRE
                else fmt(figures["uiwire_speedup"][bridge][str(threads)]) + "x"
            )
            rows.append(
                [
                    bridge,
                    str(threads),
                    fmt(case.events, 0),
                    fmt(case.events_per_second, 0),
                    fmt(case.wakeups_per_1000, 1),
                    ratio,
                    "yes" if not case.problems else f"**no** ({len(case.problems)} problems)",
                ]
            )
    table = Table(
        f"Thread bridge: events per second from worker threads to SSE bytes on the loop "
        f"(best of {params['repeat']}; DSPy runs write {fmt(params['dspy_events'], 0)} "
        f"events, the others {fmt(params['events'], 0)})",
        [
            "bridge",
            "threads",
            "events per run",
            "events/s",
            "wake-ups per 1,000 events",
            "uiwire events/s ÷ this",
            "nothing lost, order kept",
        ],
        rows,
    )

    targets: list[Target] = []
    for bridge in BRIDGES:
        runs = sum(len(cases[bridge, threads].runs) for threads in THREAD_COUNTS)
        problems = sum(len(cases[bridge, threads].problems) for threads in THREAD_COUNTS)
        targets.append(
            Target(
                f"nothing lost, order per thread kept: {bridge}",
                "every event, in order, in every run",
                f"{runs} runs checked, {problems} problems",
                problems == 0,
            )
        )
    for threads in CONTENDED_THREADS:
        speedups = speedup_per_run(cases[UIWIRE, threads], cases[PER_EVENT, threads])
        figures["uiwire_speedup_per_run"][str(threads)] = speedups
        low, high = min(speedups), max(speedups)
        targets.append(
            Target(
                f"uiwire vs the {PER_EVENT} bridge at {threads} threads, in every run "
                f"({len(speedups)})",
                f">= {CONTENDED_SPEEDUP}x",
                f"{low:.2f}x" if len(speedups) == 1 else f"{low:.2f}x to {high:.2f}x",
                low >= CONTENDED_SPEEDUP,
            )
        )
    top = THREAD_COUNTS[-1]
    ours = cases[UIWIRE, top].wakeups_per_1000
    naive = cases[PER_EVENT, top].wakeups_per_1000
    targets.append(
        Target(
            f"uiwire wake-ups per 1,000 events at {top} threads",
            "fewer than the per-event bridge",
            f"{fmt(ours, 1)} vs {fmt(naive, 1)}",
            ours < naive,
        )
    )
    result = Result(
        name="bridge",
        title="Thread bridge: worker threads to SSE on the event loop",
        params=params,
        figures=figures,
        tables=[table],
        targets=targets,
    )
    return result, all(not case.problems for case in cases.values())


def plot(cases: Mapping[tuple[str, int], Case], path: Path) -> None:
    """Grouped bars: events/s per thread count, and wake-ups per 1,000 events."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (speed_axis, wakeup_axis) = plt.subplots(1, 2, figsize=(8, 4), dpi=110)
    width = 0.8 / len(BRIDGES)
    colors = {UIWIRE: "#2b6cb0", PER_EVENT: "#dd6b20", DSPY: "#718096"}
    positions = range(len(THREAD_COUNTS))
    usual_events = {cases[UIWIRE, threads].events for threads in THREAD_COUNTS}
    for offset, bridge in enumerate(BRIDGES):
        xs = [x + (offset - (len(BRIDGES) - 1) / 2) * width for x in positions]
        speeds = [cases[bridge, threads].events_per_second / 1000 for threads in THREAD_COUNTS]
        wakeups = [max(cases[bridge, threads].wakeups_per_1000, 0.01) for threads in THREAD_COUNTS]
        events = {cases[bridge, threads].events for threads in THREAD_COUNTS}
        label = bridge if events == usual_events else f"{bridge} ({fmt(max(events), 0)} events/run)"
        speed_bars = speed_axis.bar(xs, speeds, width, label=label, color=colors[bridge])
        wakeup_bars = wakeup_axis.bar(xs, wakeups, width, color=colors[bridge])
        speed_axis.bar_label(speed_bars, fmt="%.0f", fontsize=6.5, padding=1)
        wakeup_labels = [f"{value:.0f}" if value >= 10 else f"{value:.2g}" for value in wakeups]
        wakeup_axis.bar_label(wakeup_bars, wakeup_labels, fontsize=6, padding=1)
    all_wakeups = [max(case.wakeups_per_1000, 0.01) for case in cases.values()]
    if max(all_wakeups) / min(all_wakeups) > 20:
        wakeup_axis.set_yscale("log")
        wakeup_axis.set_ylim(min(all_wakeups) / 2, max(all_wakeups) * 5)  # room for the labels
    else:
        wakeup_axis.margins(y=0.12)
    for axis in (speed_axis, wakeup_axis):
        axis.set_xticks(list(positions), [str(threads) for threads in THREAD_COUNTS])
        axis.set_xlabel("writer threads")
        axis.grid(axis="y", alpha=0.3)
        axis.set_axisbelow(True)
    speed_axis.set_ylabel("thousand events / s (higher is better)")
    speed_axis.set_title("Throughput", fontsize=10)
    wakeup_axis.set_ylabel("wake-ups per 1,000 events (lower is better)")
    wakeup_axis.set_title("Loop wake-ups", fontsize=10)
    speed_axis.margins(y=0.12)
    figure.legend(loc="lower center", ncol=len(BRIDGES), fontsize=8, frameon=False)
    figure.suptitle("Thread bridge: worker threads to SSE bytes on the event loop", fontsize=11)
    figure.tight_layout(rect=(0, 0.06, 1, 1))
    figure.savefig(path)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = cli_parser(__doc__)
    parser.add_argument("--events", type=int, default=100_000, help="events per run, all threads")
    parser.add_argument(
        "--dspy-events", type=int, default=None, help="events per DSPy run (default: events / 2)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs per case; the table shows the best, the speed-up targets judge every run",
    )
    parser.add_argument(
        "--loop",
        choices=("asyncio", "uvloop"),
        default="asyncio",
        help="the event loop (default: the stdlib one)",
    )
    args = parser.parse_args(argv)
    events: int = 1_600 if args.quick else args.events
    repeat: int = 1 if args.quick else args.repeat
    dspy_events: int = args.dspy_events or max(events // 2, max(THREAD_COUNTS))
    if min(events, dspy_events, repeat) < 1:
        parser.error("--events, --dspy-events and --repeat must be positive")

    cases = measure(events, dspy_events, repeat, args.loop)
    params = {
        "events": events,
        "dspy_events": dspy_events,
        "repeat": repeat,
        "quick": args.quick,
        "thread_counts": list(THREAD_COUNTS),
        "loop": f"{args.loop}, a new loop per run",
        "dspy_stream_buffer": DSPY_STREAM_BUFFER,
        "writers": "anyio worker threads, released together by a barrier",
        "token": "'<thread>:<index> ' (unique per thread)",
    }
    result, all_in_order = build_result(cases, params)
    save(result, args.out)
    if not args.no_plot:
        plot(cases, args.out / "bridge.png")
    if not all_in_order:
        print(
            "FAILED: events were lost or reordered (see above); the numbers do not count",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
