"""The push API's cost per write, end to end (write call to bytes read by the consumer).

    python -m benchmarks.bench_stream [--n 100000] [--repeat 3]

Paths, measured in one process, best of ``repeat``:

* ``machine + encode``: ``encode_chunks(machine.text_delta(token))``, no context: the floor;
* ``await ctx.write_text``: a coroutine writes, the consumer drains ``ctx.stream()``;
* the same with ``collect=True`` (every chunk also assembled into the record);
* ``ctx.sync.write_text`` called on the loop thread;
* ``ctx.sync.write_text`` from 1 and from 8 worker threads while the loop consumes.

For thread writers it also reports wake-ups (``call_soon_threadsafe`` calls) per 1,000
writes: the coalescing at work. Results go to stdout and ``benchmarks/results/stream.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from uiwire import StreamContext, StreamMachine, encode_chunks

TOKENS = ["Hello", ",", " world", "!", " The", " answer", " is", " 42", ".", " ✓", "\n", ' "q"']

Result = tuple[float, float | None]  # seconds, wake-ups per 1,000 writes


def machine_encode(n: int) -> Result:
    machine = StreamMachine()
    machine.text_delta("open")
    start = time.perf_counter()
    for i in range(n):
        encode_chunks(machine.text_delta(TOKENS[i % len(TOKENS)]))
    return time.perf_counter() - start, None


async def _drain(ctx: StreamContext) -> int:
    size = 0
    async for data in ctx.stream():
        size += len(data)
    return size


async def awaited_writes(n: int, collect: bool) -> Result:
    ctx = StreamContext(collect=collect)

    async def work(ctx: StreamContext) -> None:
        for i in range(n):
            await ctx.write_text(TOKENS[i % len(TOKENS)])

    start = time.perf_counter()
    ctx.run(work)
    await _drain(ctx)
    return time.perf_counter() - start, None


async def sync_on_loop(n: int) -> Result:
    ctx = StreamContext()

    async def work(ctx: StreamContext) -> None:
        write = ctx.sync.write_text
        for i in range(n):
            write(TOKENS[i % len(TOKENS)])
            if i % 1000 == 999:
                await asyncio.sleep(0)  # let the consumer drain now and then

    start = time.perf_counter()
    ctx.run(work)
    await _drain(ctx)
    return time.perf_counter() - start, None


async def thread_writes(n: int, threads: int) -> Result:
    loop = asyncio.get_running_loop()
    original = loop.call_soon_threadsafe
    wakeups = 0

    def counting(callback: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal wakeups
        wakeups += 1
        return original(callback, *args, **kwargs)

    loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
    ctx = StreamContext()
    per_thread = n // threads
    barrier = threading.Barrier(threads)

    def worker(k: int) -> None:
        write = ctx.sync.write_text
        barrier.wait()
        for i in range(per_thread):
            write(TOKENS[i % len(TOKENS)], key=k)

    async def work(ctx: StreamContext) -> None:
        with ThreadPoolExecutor(threads) as pool:  # all of them at once, past the barrier
            await asyncio.gather(*(loop.run_in_executor(pool, worker, k) for k in range(threads)))

    try:
        start = time.perf_counter()
        ctx.run(work)
        await _drain(ctx)
        elapsed = time.perf_counter() - start
    finally:
        del loop.call_soon_threadsafe  # type: ignore[misc]
    return elapsed, wakeups * 1000 / (per_thread * threads)


def _run(factory: Callable[[], Coroutine[Any, Any, Result]]) -> Result:
    return asyncio.run(factory())


def measure(n: int, repeat: int) -> dict[str, dict[str, float | None]]:
    cases: dict[str, Callable[[], Result]] = {
        "machine + encode (floor)": lambda: machine_encode(n),
        "await ctx.write_text": lambda: _run(lambda: awaited_writes(n, collect=False)),
        "await ctx.write_text, collect=True": lambda: _run(lambda: awaited_writes(n, True)),
        "ctx.sync.write_text on the loop": lambda: _run(lambda: sync_on_loop(n)),
        "ctx.sync.write_text, 1 thread": lambda: _run(lambda: thread_writes(n, 1)),
        "ctx.sync.write_text, 8 threads": lambda: _run(lambda: thread_writes(n, 8)),
    }
    best: dict[str, Result] = {}
    for _ in range(repeat):
        for name, case in cases.items():  # interleaved, so drift hits every path alike
            seconds, wakeups = case()
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, wakeups)
    return {
        name: {"us_per_write": seconds / n * 1e6, "wakeups_per_1000_writes": wakeups}
        for name, (seconds, wakeups) in best.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/stream.json"))
    args = parser.parse_args(argv)
    results = measure(args.n, args.repeat)
    floor = results["machine + encode (floor)"]["us_per_write"]
    assert floor is not None
    print(f"n={args.n}, best of {args.repeat}, Python {platform.python_version()}")
    print("| path | µs/write | x floor | wake-ups per 1,000 writes |")
    print("|---|---|---|---|")
    for name, figures in results.items():
        us = figures["us_per_write"]
        assert us is not None
        wakeups = figures["wakeups_per_1000_writes"]
        shown = "-" if wakeups is None else f"{wakeups:.1f}"
        print(f"| {name} | {us:.2f} | {us / floor:.2f} | {shown} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "n": args.n,
                "repeat": args.repeat,
                "python": platform.python_version(),
                "machine": platform.machine(),
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
