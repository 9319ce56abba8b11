"""End to end on loopback: one uvicorn process serving N concurrent useChat streams.

    python -m benchmarks.loopback [--streams 100,300,500,1000,2000] [--chunks 500] [--quick]

For every N and every app in ``apps.py`` (uiwire's ``ChatEndpoint``, a hand-written
async-generator endpoint, ai-sdk-stream-python's ``StreamContext`` when installed), in
turn: a fresh uvicorn process (uvloop and httptools when installed, as in production),
then the load generator (``loadgen.py``) in a process of its own opening N streams of
``--chunks`` tokens, one every 20 ms each. Reported per app and N:

* delay per chunk, p50 and p99: the load generator's receive time minus the token's due
  time, measured once every stream is open;
* the server's event-loop lag, p99, over the same window;
* server CPU per 1,000 chunks delivered (the whole run: requests, chunks, teardown);
* RSS per open stream: the server's RSS with every stream open minus before, over N.

Then the capacity of each app: the largest N whose p99 delay stays within 5 ms, found by
doubling N from ``--capacity-start`` until a run misses, then bisecting to within 10%,
with shorter streams (``--capacity-chunks``) and at most ``--capacity-budget`` seconds
per app (``--capacity-budget 0`` skips the search).

The machine has two cores: the server gets one, the load generator the other.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks._results import Result, Table, Target, fmt, save
from benchmarks._results import parser as cli_parser

APPS = ("uiwire", "handwritten", "asp")
LABELS = {
    "uiwire": "uiwire ChatEndpoint",
    "handwritten": "hand-written async generator",
    "asp": "ai-sdk-stream-python",
}
DELAY_TARGET_MS = 5.0
CPU_TARGET = 1.1
"""uiwire's CPU per chunk over the hand-written floor's, below saturation."""
DELAY_MARGIN_MS = 1.0
"""How much later than the hand-written floor uiwire's p99 may be, below saturation."""
BELOW_SATURATION = (100, 300, 500)
"""The N where the CPU and delay margins apply; from 1,000 on uiwire is to do better."""
PAST_SATURATION = 1000
RSS_TARGET_KIB = 64.0


def _available(app: str) -> bool:
    return app != "asp" or importlib.util.find_spec("ai_sdk_stream_python") is not None


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def _server(app: str) -> Iterator[int]:
    """A uvicorn process serving ``app`` on a free loopback port; stopped on exit."""
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", "--factory", "benchmarks.loopback.apps:create"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--backlog", "4096"]
    command += ["--no-access-log", "--log-level", "warning"]
    if _has("uvloop"):
        command += ["--loop", "uvloop"]
    if _has("httptools"):
        command += ["--http", "httptools"]
    process = subprocess.Popen(command, env={**os.environ, "BENCH_APP": app})
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the {app} server did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def measure(app: str, streams: int, chunks: int, interval_ms: float, ramp: float) -> dict[str, Any]:
    """One server, one load: the figures for ``app`` at ``streams`` concurrent streams."""
    with _server(app) as port:
        command = [sys.executable, "-m", "benchmarks.loopback.loadgen", "--port", str(port)]
        command += ["--streams", str(streams), "--chunks", str(chunks)]
        command += ["--interval-ms", str(interval_ms), "--ramp", str(ramp)]
        timeout = ramp + chunks * interval_ms / 1000 * 4 + 60
        run = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"the load generator failed against {app}:\n{run.stderr}")
    raw = json.loads(run.stdout)
    before, loaded, after = raw["stats_before"], raw["stats_loaded"], raw["stats_after"]
    received = raw["chunks_received"]
    return {
        "app": app,
        "streams": streams,
        "completed": raw["completed"],
        "failures": raw["failure_count"],
        "failure_examples": raw["failures"],
        "chunks_received": received,
        "chunks_expected": raw["chunks_expected"],
        "delay_p50_ms": raw["steady_delay_ms"]["p50"],
        "delay_p99_ms": raw["steady_delay_ms"]["p99"],
        "delay_max_ms": raw["steady_delay_ms"]["max"],
        "delay_p99_whole_run_ms": raw["delay_ms"]["p99"],
        "loop_lag_p99_ms": after["lag_p99_ms"],
        "cpu_ms_per_1000_chunks": (after["cpu_seconds"] - before["cpu_seconds"])
        / max(received, 1)
        * 1e6,
        "rss_kib_per_stream": (loaded["rss_bytes"] - before["rss_bytes"]) / streams / 1024,
        "rss_idle_mib": before["rss_bytes"] / 2**20,
        "wall_seconds": raw["wall_seconds"],
    }


def _complete(run: dict[str, Any]) -> bool:
    return run["failures"] == 0 and run["chunks_received"] == run["chunks_expected"]


def capacity(app: str, args: argparse.Namespace) -> dict[str, Any]:
    """The largest N with p99 delay <= 5 ms (every stream complete): doubling, then
    bisection to within 10%, stopped after ``args.capacity_budget`` seconds."""
    deadline = time.monotonic() + args.capacity_budget
    probes: list[dict[str, Any]] = []
    passed, missed, streams = 0, 0, args.capacity_start
    while streams <= args.capacity_max and time.monotonic() < deadline:
        run = measure(app, streams, args.capacity_chunks, args.interval_ms, args.ramp)
        ok = run["delay_p99_ms"] <= DELAY_TARGET_MS and _complete(run)
        probes.append(
            {
                "streams": streams,
                "delay_p99_ms": run["delay_p99_ms"],
                "cpu_ms_per_1000_chunks": run["cpu_ms_per_1000_chunks"],
                "met": ok,
            }
        )
        print(
            f"  capacity probe {streams}: p99 {run['delay_p99_ms']:.2f} ms"
            f" ({'within' if ok else 'over'} {DELAY_TARGET_MS:g} ms)",
            file=sys.stderr,
            flush=True,
        )
        if ok:
            passed = streams
        else:
            missed = streams
        if not missed:
            streams *= 2
            continue
        if missed - passed <= max(passed // 10, 10):
            break
        streams = (passed + missed) // 2
    return {"streams": passed, "first_missed": missed or None, "probes": probes}


def _runs(args: argparse.Namespace, apps: list[str]) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    for streams in args.streams:
        for app in apps:
            print(f"{LABELS[app]}: {streams} streams ...", file=sys.stderr, flush=True)
            run = measure(app, streams, args.chunks, args.interval_ms, args.ramp)
            print(
                f"  p99 {run['delay_p99_ms']:.2f} ms, {run['cpu_ms_per_1000_chunks']:.1f} ms CPU"
                f" per 1,000 chunks, {run['rss_kib_per_stream']:.1f} KiB per stream,"
                f" {run['completed']}/{streams} complete",
                file=sys.stderr,
                flush=True,
            )
            runs.append(run)
    return runs


def _capacities(args: argparse.Namespace, apps: list[str]) -> dict[str, dict[str, Any]]:
    if args.capacity_budget <= 0:
        return {}
    found: dict[str, dict[str, Any]] = {}
    for app in apps:
        print(f"{LABELS[app]}: capacity search ...", file=sys.stderr, flush=True)
        found[app] = capacity(app, args)
    return found


def _result(
    args: argparse.Namespace,
    apps: list[str],
    runs: list[dict[str, Any]],
    capacities: dict[str, dict[str, Any]],
) -> Result:
    by = {(run["app"], run["streams"]): run for run in runs}
    rows: list[list[str]] = []
    for streams in args.streams:
        floor = by[("handwritten", streams)]["cpu_ms_per_1000_chunks"]
        for app in apps:
            run = by[(app, streams)]
            rows.append(
                [
                    f"{LABELS[app]}, {streams:,} streams",
                    fmt(run["delay_p50_ms"]),
                    fmt(run["delay_p99_ms"]),
                    fmt(run["loop_lag_p99_ms"]),
                    fmt(run["cpu_ms_per_1000_chunks"], 1),
                    f"{run['cpu_ms_per_1000_chunks'] / floor:.2f}x",
                    fmt(run["rss_kib_per_stream"], 1),
                    f"{run['chunks_received']:,} / {run['chunks_expected']:,}",
                ]
            )
    table = Table(
        f"{args.chunks} tokens per stream, one every {args.interval_ms:g} ms; delay measured "
        "once every stream is open",
        [
            "server, load",
            "delay p50 (ms)",
            "delay p99 (ms)",
            "loop lag p99 (ms)",
            "CPU ms per 1,000 chunks",
            "x hand-written",
            "RSS KiB per stream",
            "chunks received",
        ],
        rows,
    )
    tables = [table]
    if capacities:
        tables.append(
            Table(
                f"Capacity: the largest N with p99 delay <= {DELAY_TARGET_MS:g} ms "
                f"({args.capacity_chunks} tokens per stream, one every {args.interval_ms:g} ms)",
                ["server", "streams within the target", "first N over it", "N tried"],
                [
                    [
                        LABELS[app],
                        f"{found['streams']:,}",
                        f"{found['first_missed']:,}" if found["first_missed"] else "none",
                        ", ".join(f"{p['streams']:,}" for p in found["probes"]),
                    ]
                    for app, found in capacities.items()
                ],
            )
        )
    worst_rss = max(by[("uiwire", n)]["rss_kib_per_stream"] for n in args.streams)
    targets = [*_margin_targets(args, by), *_saturation_targets(args, by)]
    if "uiwire" in capacities and "handwritten" in capacities:
        ours_n, floor_n = capacities["uiwire"]["streams"], capacities["handwritten"]["streams"]
        targets.append(
            Target(
                f"capacity (largest N with p99 <= {DELAY_TARGET_MS:g} ms)",
                ">= hand-written",
                f"{ours_n:,} streams (hand-written: {floor_n:,})",
                ours_n >= floor_n,
            )
        )
    targets += [
        Target(
            "RSS per open stream (worst N)",
            f"<= {RSS_TARGET_KIB:g} KiB",
            f"{worst_rss:.1f} KiB",
            worst_rss <= RSS_TARGET_KIB,
        ),
        every_stream_complete(runs),
    ]
    return Result(
        name="loopback",
        title="End to end on loopback: uvicorn serving N concurrent useChat streams",
        params={
            "streams": args.streams,
            "chunks_per_stream": args.chunks,
            "interval_ms": args.interval_ms,
            "ramp_seconds": args.ramp,
            "apps": apps,
            "capacity_chunks_per_stream": args.capacity_chunks,
            "capacity_budget_seconds": args.capacity_budget,
            "server_loop": "uvloop" if _has("uvloop") else "asyncio",
            "server_http": "httptools" if _has("httptools") else "h11",
        },
        figures={"runs": runs, "capacity": capacities},
        tables=tables,
        targets=targets,
    )


def _margin_targets(args: argparse.Namespace, by: dict[Any, dict[str, Any]]) -> list[Target]:
    """Below saturation: CPU within 1.1x of the floor's, p99 within 1 ms of it."""
    targets: list[Target] = []
    for streams in [n for n in args.streams if n in BELOW_SATURATION]:
        ours, floor = by[("uiwire", streams)], by[("handwritten", streams)]
        ratio = ours["cpu_ms_per_1000_chunks"] / floor["cpu_ms_per_1000_chunks"]
        late = ours["delay_p99_ms"] - floor["delay_p99_ms"]
        targets.append(
            Target(
                f"CPU per chunk at {streams:,} streams",
                f"<= {CPU_TARGET:g}x hand-written",
                f"{ratio:.2f}x",
                ratio <= CPU_TARGET,
            )
        )
        targets.append(
            Target(
                f"p99 delay at {streams:,} streams",
                f"<= hand-written + {DELAY_MARGIN_MS:g} ms",
                f"{ours['delay_p99_ms']:.2f} ms (hand-written: {floor['delay_p99_ms']:.2f} ms)",
                late <= DELAY_MARGIN_MS,
            )
        )
    return targets


def _saturation_targets(args: argparse.Namespace, by: dict[Any, dict[str, Any]]) -> list[Target]:
    """Past saturation: uiwire's p99 and CPU per chunk below the floor's."""
    targets: list[Target] = []
    for streams in [n for n in args.streams if n >= PAST_SATURATION]:
        ours, floor = by[("uiwire", streams)], by[("handwritten", streams)]
        targets.append(
            Target(
                f"p99 delay and CPU per chunk at {streams:,} streams",
                "< hand-written",
                f"{ours['delay_p99_ms']:,.1f} ms, {ours['cpu_ms_per_1000_chunks']:.1f} ms CPU"
                f" (hand-written: {floor['delay_p99_ms']:,.1f} ms,"
                f" {floor['cpu_ms_per_1000_chunks']:.1f} ms)",
                ours["delay_p99_ms"] < floor["delay_p99_ms"]
                and ours["cpu_ms_per_1000_chunks"] < floor["cpu_ms_per_1000_chunks"],
            )
        )
    return targets


def every_stream_complete(runs: list[dict[str, Any]]) -> Target:
    """The target every load run has: no stream failed, every chunk arrived."""
    complete = all(
        run["failures"] == 0 and run["chunks_received"] == run["chunks_expected"] for run in runs
    )
    return Target(
        "every stream complete, every chunk received", "all", "all" if complete else "no", complete
    )


def plot(result: Result, path: Path) -> None:
    """Three panels against N: p99 delay, CPU per 1,000 chunks, RSS per stream."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs: list[dict[str, Any]] = result.figures["runs"]
    panels = [
        ("delay_p99_ms", "p99 delay per chunk (ms, log)", DELAY_TARGET_MS),
        ("cpu_ms_per_1000_chunks", "server CPU ms per 1,000 chunks", None),
        ("rss_kib_per_stream", "RSS KiB per open stream", RSS_TARGET_KIB),
    ]
    figure, axes = plt.subplots(1, 3, figsize=(12, 4), dpi=110)
    for axis, (key, label, target) in zip(axes, panels, strict=True):
        for app in result.params["apps"]:
            points = sorted((r["streams"], r[key]) for r in runs if r["app"] == app)
            axis.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=LABELS[app])
        if target is not None:
            axis.axhline(
                target, linestyle="--", color="grey", linewidth=1, label=f"target {target:g}"
            )
        if key == "delay_p99_ms":
            axis.set_yscale("log")
        axis.set_xlabel("concurrent streams")
        axis.set_title(label, fontsize=10)
        axis.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=4, fontsize=9)
    figure.suptitle(
        f"One uvicorn process, a token every {result.params['interval_ms']:g} ms per stream",
        fontsize=11,
    )
    figure.tight_layout(rect=(0, 0.08, 1, 0.95))
    figure.savefig(path)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = cli_parser(__doc__)
    parser.add_argument("--streams", default="100,300,500,1000,2000", help="comma-separated N")
    parser.add_argument("--chunks", type=int, default=500, help="tokens per stream")
    parser.add_argument("--interval-ms", type=float, default=20.0)
    parser.add_argument("--ramp", type=float, default=2.0, help="seconds to open all streams")
    parser.add_argument("--apps", default=",".join(APPS), help="comma-separated apps to run")
    parser.add_argument("--capacity-start", type=int, default=250, help="first N tried")
    parser.add_argument("--capacity-max", type=int, default=8000, help="largest N tried")
    parser.add_argument("--capacity-chunks", type=int, default=150, help="tokens per stream")
    parser.add_argument(
        "--capacity-budget", type=float, default=150.0, help="seconds per app; 0: no search"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.streams, args.chunks, args.ramp = "4", 10, 0.1
        args.capacity_start, args.capacity_max, args.capacity_chunks = 4, 8, 10
    args.streams = sorted({int(n) for n in str(args.streams).split(",")})
    chosen = set(str(args.apps).split(","))
    apps = [app for app in APPS if app in chosen and _available(app)]
    runs = _runs(args, apps)
    result = _result(args, apps, runs, _capacities(args, apps))
    save(result, args.out)
    if not args.no_plot:
        plot(result, args.out / "loopback.png")
    complete = every_stream_complete(runs).met
    if not complete:
        print("FAILED: streams were lost or cut short", file=sys.stderr)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
