"""End to end on loopback: uvicorn serving N concurrent useChat streams, on one core and on two.

    python -m benchmarks.loopback [--streams 100,300,500,1000,2000] [--chunks 500]
                                  [--workers 1,2] [--quick]

For every N and every app in ``apps.py`` (uiwire's ``ChatEndpoint``, a hand-written
async-generator endpoint, ai-sdk-stream-python's ``StreamContext`` when installed), in
turn: a fresh uvicorn process (uvloop and httptools when installed, as in production),
then the load generator (``loadgen.py``) in a process of its own opening N streams of
``--chunks`` tokens, one every 20 ms each. Reported per app and N:

* delay per chunk, p50 and p99: the load generator's receive time minus the token's due
  time, measured once every stream is open;
* the server's event-loop lag, p99, over the same window (the worst worker's);
* server CPU per 1,000 chunks delivered (the whole run: requests, chunks, teardown),
  summed over every worker and uvicorn's supervisor;
* RSS per open stream: the workers' RSS with every stream open minus before, over N;
* the load generator's own CPU, in cores, while the delays were measured.

Then the capacity of each app: the largest N whose p99 delay stays within 5 ms, found by
doubling N from ``--capacity-start`` until a run misses, then bisecting to within 10%,
with shorter streams (``--capacity-chunks``) and at most ``--capacity-budget`` seconds
per app and worker count (``--capacity-budget 0`` skips the search).

Several cores: ``--workers 1,2`` (the default) runs the capacity search once per worker
count, and the runs at N of 1,000 and more once more with each count above one, where a
single worker saturates. The workers are ``uvicorn --workers N``, as a production
deployment without a process manager of its own runs them: one supervisor that restarts
a dead worker, the workers accepting from one shared listening socket (the kernel hands
each connection to a worker waiting in accept; how evenly is reported, per worker).

The machine has two cores. With one worker, the server has one and the load generator
the other. With two workers, the generator shares the workers' two cores: it is one
process (uvloop, raw HTTP: cheaper per chunk than any server here), and its CPU is
measured and reported next to the figures. The cores it takes are the workers' loss, so
two workers' capacity here is a lower bound of what two cores of their own would give.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
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
SHORT_LABELS = {"uiwire": "uiwire", "handwritten": "hand-written", "asp": "ai-sdk-stream-py"}
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


@dataclass
class Server:
    """A running uvicorn: where it listens, and where each worker answers for itself."""

    port: int
    stats_dir: Path
    supervisor: int | None  # uvicorn's supervisor process with several workers, else None


def _cpu_of(pid: int | None) -> float:
    """CPU seconds a process has used, from /proc (0 for None)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@contextlib.contextmanager
def _server(app: str, workers: int = 1) -> Iterator[Server]:
    """uvicorn serving ``app`` with ``workers`` processes on a free loopback port, ready
    when every worker's stats socket is up and the port accepts; stopped on exit."""
    port = _free_port()
    stats_dir = Path(tempfile.mkdtemp(prefix="uiwire-bench-"))
    command = [sys.executable, "-m", "uvicorn", "--factory", "benchmarks.loopback.apps:create"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--backlog", "4096"]
    command += ["--no-access-log", "--log-level", "warning"]
    if workers > 1:
        command += ["--workers", str(workers)]
    if _has("uvloop"):
        command += ["--loop", "uvloop"]
    if _has("httptools"):
        command += ["--http", "httptools"]
    env = {**os.environ, "BENCH_APP": app, "BENCH_STATS_DIR": str(stats_dir)}
    process = subprocess.Popen(command, env=env)
    worker_pids: list[int] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            worker_pids = [int(path.stem) for path in stats_dir.glob("*.sock")]
            if len(worker_pids) == workers and _listening(port):
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {app} server did not start") from None
            time.sleep(0.1)
        yield Server(port, stats_dir, process.pid if workers > 1 else None)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for pid in worker_pids:  # the supervisor's workers, if it left any behind
            if pid != process.pid and _alive(pid):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(stats_dir, ignore_errors=True)


def measure(
    app: str, streams: int, chunks: int, interval_ms: float, ramp: float, workers: int = 1
) -> dict[str, Any]:
    """One server, one load: the figures for ``app`` at ``streams`` concurrent streams,
    every worker's CPU and RSS summed."""
    with _server(app, workers) as server:
        command = [sys.executable, "-m", "benchmarks.loopback.loadgen", "--port", str(server.port)]
        command += ["--stats-dir", str(server.stats_dir)]
        command += ["--streams", str(streams), "--chunks", str(chunks)]
        command += ["--interval-ms", str(interval_ms), "--ramp", str(ramp)]
        timeout = ramp + chunks * interval_ms / 1000 * 4 + 60
        supervisor_before = _cpu_of(server.supervisor)
        run = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        supervisor_cpu = _cpu_of(server.supervisor) - supervisor_before
    if run.returncode != 0:
        raise RuntimeError(f"the load generator failed against {app}:\n{run.stderr}")
    raw = json.loads(run.stdout)
    before, loaded, after = raw["stats_before"], raw["stats_loaded"], raw["stats_after"]
    received = raw["chunks_received"]
    cpu = _sum(after, "cpu_seconds") - _sum(before, "cpu_seconds") + supervisor_cpu
    requests = {w["pid"]: w["requests"] for w in after}
    for worker in before:
        requests[worker["pid"]] -= worker["requests"]
    return {
        "app": app,
        "streams": streams,
        "workers": workers,
        "completed": raw["completed"],
        "failures": raw["failure_count"],
        "failure_examples": raw["failures"],
        "chunks_received": received,
        "chunks_expected": raw["chunks_expected"],
        "delay_p50_ms": raw["steady_delay_ms"]["p50"],
        "delay_p99_ms": raw["steady_delay_ms"]["p99"],
        "delay_max_ms": raw["steady_delay_ms"]["max"],
        "delay_p99_whole_run_ms": raw["delay_ms"]["p99"],
        "loop_lag_p99_ms": max(w["lag_p99_ms"] for w in after),
        "cpu_ms_per_1000_chunks": cpu / max(received, 1) * 1e6,
        "supervisor_cpu_seconds": supervisor_cpu,
        "rss_kib_per_stream": (_sum(loaded, "rss_bytes") - _sum(before, "rss_bytes"))
        / streams
        / 1024,
        "rss_idle_mib": _sum(before, "rss_bytes") / 2**20,
        "requests_per_worker": sorted(requests.values(), reverse=True),
        "loadgen_cpu_ms_per_1000_chunks": raw["loadgen_cpu_seconds"] / max(received, 1) * 1e6,
        "loadgen_cores": raw["loadgen_cores_steady"],
        "wall_seconds": raw["wall_seconds"],
    }


def _sum(workers: list[dict[str, Any]], key: str) -> float:
    return sum(worker[key] for worker in workers)


def _complete(run: dict[str, Any]) -> bool:
    return run["failures"] == 0 and run["chunks_received"] == run["chunks_expected"]


def capacity(
    app: str, args: argparse.Namespace, workers: int = 1, start: int = 0
) -> dict[str, Any]:
    """The largest N with p99 delay <= 5 ms (every stream complete) with ``workers``:
    doubling from ``start`` (``args.capacity_start`` at least), then bisection to within
    10%, stopped after ``args.capacity_budget`` seconds."""
    deadline = time.monotonic() + args.capacity_budget
    probes: list[dict[str, Any]] = []
    passed, missed = 0, 0
    streams = max(args.capacity_start, start)
    while streams <= args.capacity_max and time.monotonic() < deadline:
        run = measure(app, streams, args.capacity_chunks, args.interval_ms, args.ramp, workers)
        ok = run["delay_p99_ms"] <= DELAY_TARGET_MS and _complete(run)
        probes.append(
            {
                "streams": streams,
                "delay_p99_ms": run["delay_p99_ms"],
                "cpu_ms_per_1000_chunks": run["cpu_ms_per_1000_chunks"],
                "rss_idle_mib": run["rss_idle_mib"],
                "requests_per_worker": run["requests_per_worker"],
                "loadgen_cores": run["loadgen_cores"],
                "met": ok,
            }
        )
        print(
            f"  capacity probe {streams}: p99 {run['delay_p99_ms']:.2f} ms"
            f" ({'within' if ok else 'over'} {DELAY_TARGET_MS:g} ms), load generator"
            f" {run['loadgen_cores']:.2f} cores",
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
    return {
        "workers": workers,
        "streams": passed,
        "first_missed": missed or None,
        "probes": probes,
    }


def _runs(args: argparse.Namespace, apps: list[str]) -> list[dict[str, Any]]:
    """Every N with one worker; with each larger worker count, the N where one saturates."""
    plan = [(n, 1) for n in args.streams if 1 in args.workers]
    plan += [(n, w) for w in args.workers if w > 1 for n in args.streams if n >= PAST_SATURATION]
    runs: list[dict[str, Any]] = []
    for streams, workers in plan:
        for app in apps:
            print(
                f"{LABELS[app]}: {streams} streams, {_workers(workers)} ...",
                file=sys.stderr,
                flush=True,
            )
            run = measure(app, streams, args.chunks, args.interval_ms, args.ramp, workers)
            print(
                f"  p99 {run['delay_p99_ms']:.2f} ms, {run['cpu_ms_per_1000_chunks']:.1f} ms CPU"
                f" per 1,000 chunks, {run['rss_kib_per_stream']:.1f} KiB per stream,"
                f" {run['completed']}/{streams} complete, load generator"
                f" {run['loadgen_cores']:.2f} cores",
                file=sys.stderr,
                flush=True,
            )
            runs.append(run)
    return runs


def _workers(count: int) -> str:
    return "1 worker" if count == 1 else f"{count} workers"


def _capacities(args: argparse.Namespace, apps: list[str]) -> dict[str, dict[int, dict[str, Any]]]:
    """Each app's capacity per worker count; a larger count's search starts from the
    capacity found with the smaller one (more workers hold at least as many streams)."""
    if args.capacity_budget <= 0:
        return {}
    found: dict[str, dict[int, dict[str, Any]]] = {}
    for app in apps:
        found[app] = {}
        start = 0
        for workers in args.workers:
            print(f"{LABELS[app]}: capacity search, {_workers(workers)} ...", file=sys.stderr)
            found[app][workers] = capacity(app, args, workers, start)
            start = found[app][workers]["streams"]
    return found


def _capacity_table(
    args: argparse.Namespace, capacities: dict[str, dict[int, dict[str, Any]]]
) -> Table:
    rows: list[list[str]] = []
    for app, per_workers in capacities.items():
        one = per_workers.get(1, {}).get("streams", 0)
        for workers, found in per_workers.items():
            at = [p for p in found["probes"] if p["met"] and p["streams"] == found["streams"]]
            probe = at[0] if at else None
            rows.append(
                [
                    LABELS[app],
                    str(workers),
                    f"{found['streams']:,}",
                    f"{found['streams'] / one:.2f}x" if one and workers != 1 else "",
                    f"{found['first_missed']:,}" if found["first_missed"] else "none",
                    fmt(probe["cpu_ms_per_1000_chunks"], 1) if probe else "",
                    " / ".join(f"{r:,}" for r in probe["requests_per_worker"]) if probe else "",
                    fmt(probe["loadgen_cores"]) if probe else "",
                    ", ".join(f"{p['streams']:,}" for p in found["probes"]),
                ]
            )
    return Table(
        f"Capacity: the largest N with p99 delay <= {DELAY_TARGET_MS:g} ms, per uvicorn worker "
        f"count ({args.capacity_chunks} tokens per stream, one every {args.interval_ms:g} ms; "
        f"{os.cpu_count()} cores, shared with the load generator when the workers need them "
        "all: its cores are in the table)",
        [
            "server",
            "workers",
            "streams within the target",
            "x 1 worker",
            "first N over it",
            "CPU ms per 1,000 chunks at it (all workers)",
            "streams per worker at it",
            "load generator cores at it",
            "N tried",
        ],
        rows,
    )


def _result(
    args: argparse.Namespace,
    apps: list[str],
    runs: list[dict[str, Any]],
    capacities: dict[str, dict[int, dict[str, Any]]],
) -> Result:
    by = {(run["app"], run["streams"], run["workers"]): run for run in runs}
    rows: list[list[str]] = []
    for streams, workers in sorted({(run["streams"], run["workers"]) for run in runs}):
        floor = by[("handwritten", streams, workers)]["cpu_ms_per_1000_chunks"]
        for app in apps:
            run = by[(app, streams, workers)]
            rows.append(
                [
                    f"{LABELS[app]}, {streams:,} streams"
                    + ("" if workers == 1 else f", {_workers(workers)}"),
                    fmt(run["delay_p50_ms"]),
                    fmt(run["delay_p99_ms"]),
                    fmt(run["loop_lag_p99_ms"]),
                    fmt(run["cpu_ms_per_1000_chunks"], 1),
                    f"{run['cpu_ms_per_1000_chunks'] / floor:.2f}x",
                    fmt(run["rss_kib_per_stream"], 1),
                    fmt(run["loadgen_cores"]),
                    f"{run['chunks_received']:,} / {run['chunks_expected']:,}",
                ]
            )
    table = Table(
        f"{args.chunks} tokens per stream, one every {args.interval_ms:g} ms; delay measured "
        "once every stream is open; one uvicorn worker unless said (CPU and RSS summed over "
        "the workers)",
        [
            "server, load",
            "delay p50 (ms)",
            "delay p99 (ms)",
            "loop lag p99 (ms)",
            "CPU ms per 1,000 chunks",
            "x hand-written",
            "RSS KiB per stream",
            "load generator cores",
            "chunks received",
        ],
        rows,
    )
    tables = [table]
    if capacities:
        tables.append(_capacity_table(args, capacities))
    targets: list[Target] = []
    if 1 in args.workers:
        single = {(app, n): run for (app, n, w), run in by.items() if w == 1}
        worst_rss = max(single[("uiwire", n)]["rss_kib_per_stream"] for n in args.streams)
        targets += [*_margin_targets(args, single), *_saturation_targets(args, single)]
    else:
        worst_rss = max(
            (run["rss_kib_per_stream"] for run in runs if run["app"] == "uiwire"), default=0.0
        )
    if "uiwire" in capacities and "handwritten" in capacities:
        for workers in args.workers:
            ours_n = capacities["uiwire"][workers]["streams"]
            floor_n = capacities["handwritten"][workers]["streams"]
            targets.append(
                Target(
                    f"capacity (largest N with p99 <= {DELAY_TARGET_MS:g} ms), {_workers(workers)}",
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
            "workers": args.workers,
            "capacity_chunks_per_stream": args.capacity_chunks,
            "capacity_budget_seconds": args.capacity_budget,
            "server_loop": "uvloop" if _has("uvloop") else "asyncio",
            "server_http": "httptools" if _has("httptools") else "h11",
        },
        figures={
            "runs": runs,
            "capacity": {
                app: {str(workers): found for workers, found in per_workers.items()}
                for app, per_workers in capacities.items()
            },
        },
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
    """Against N: p99 delay, CPU per 1,000 chunks, RSS per stream (one worker solid, more
    dashed); and each app's capacity per worker count."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs: list[dict[str, Any]] = result.figures["runs"]
    capacities: dict[str, dict[str, dict[str, Any]]] = result.figures["capacity"]
    apps: list[str] = result.params["apps"]
    panels = [
        ("delay_p99_ms", "p99 delay per chunk (ms, log)", DELAY_TARGET_MS),
        ("cpu_ms_per_1000_chunks", "server CPU ms per 1,000 chunks", None),
        ("rss_kib_per_stream", "RSS KiB per open stream", RSS_TARGET_KIB),
    ]
    colors = {app: f"C{index}" for index, app in enumerate(apps)}
    figure, axes = plt.subplots(1, 4, figsize=(16, 4.2), dpi=110)
    for axis, (key, label, target) in zip(axes, panels, strict=False):
        for app in apps:
            for workers in result.params["workers"]:
                points = sorted(
                    (r["streams"], r[key])
                    for r in runs
                    if r["app"] == app and r["workers"] == workers
                )
                if not points:
                    continue
                axis.plot(
                    [p[0] for p in points],
                    [p[1] for p in points],
                    marker="o" if workers == 1 else "s",
                    linestyle="-" if workers == 1 else "--",
                    color=colors[app],
                    label=f"{LABELS[app]}, {_workers(workers)}",
                )
        if target is not None:
            axis.axhline(
                target, linestyle=":", color="grey", linewidth=1, label=f"target {target:g}"
            )
        if key == "delay_p99_ms":
            axis.set_yscale("log")
        axis.set_xlabel("concurrent streams")
        axis.set_title(label, fontsize=10)
        axis.grid(alpha=0.3)
    capacity_axis = axes[3]
    counts = [str(w) for w in result.params["workers"]]
    width = 0.8 / max(len(counts), 1)
    for index, workers in enumerate(counts):
        values = [capacities.get(app, {}).get(workers, {}).get("streams", 0) for app in apps]
        positions = [a + (index - (len(counts) - 1) / 2) * width for a in range(len(apps))]
        bars = capacity_axis.bar(
            positions,
            values,
            width,
            color=[colors[app] for app in apps],
            edgecolor="black",
            linewidth=0.5,
            alpha=1.0 if workers == "1" else 0.55,
            hatch="" if workers == "1" else "//",
            label=_workers(int(workers)),
        )
        for bar, value in zip(bars, values, strict=True):
            capacity_axis.text(
                bar.get_x() + bar.get_width() / 2,
                bar.get_height(),
                f"{value:,}",
                ha="center",
                va="bottom",
                fontsize=7,
            )
    capacity_axis.set_xticks(range(len(apps)), [SHORT_LABELS[app] for app in apps], fontsize=8)
    capacity_axis.legend(fontsize=7, loc="upper left")
    capacity_axis.set_title(f"capacity: largest N with p99 <= {DELAY_TARGET_MS:g} ms", fontsize=10)
    capacity_axis.margins(y=0.35)  # room for the legend above the bars
    capacity_axis.grid(alpha=0.3, axis="y")
    handles, labels = axes[0].get_legend_handles_labels()
    figure.legend(handles, labels, loc="lower center", ncol=4, fontsize=8)
    figure.suptitle(
        f"uvicorn on loopback, a token every {result.params['interval_ms']:g} ms per stream"
        f" ({os.cpu_count()} cores; the load generator shares them with two workers)",
        fontsize=11,
    )
    figure.tight_layout(rect=(0, 0.12, 1, 0.95))
    figure.savefig(path)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = cli_parser(__doc__)
    parser.add_argument("--streams", default="100,300,500,1000,2000", help="comma-separated N")
    parser.add_argument("--chunks", type=int, default=500, help="tokens per stream")
    parser.add_argument("--interval-ms", type=float, default=20.0)
    parser.add_argument("--ramp", type=float, default=2.0, help="seconds to open all streams")
    parser.add_argument("--apps", default=",".join(APPS), help="comma-separated apps to run")
    parser.add_argument(
        "--workers", default="1,2", help="comma-separated uvicorn worker counts (default 1,2)"
    )
    parser.add_argument("--capacity-start", type=int, default=250, help="first N tried")
    parser.add_argument("--capacity-max", type=int, default=8000, help="largest N tried")
    parser.add_argument("--capacity-chunks", type=int, default=150, help="tokens per stream")
    parser.add_argument(
        "--capacity-budget",
        type=float,
        default=120.0,
        help="seconds per app and worker count; 0: no search",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.streams, args.chunks, args.ramp = "4", 10, 0.1
        args.capacity_start, args.capacity_max, args.capacity_chunks = 4, 8, 10
    args.streams = sorted({int(n) for n in str(args.streams).split(",")})
    args.workers = sorted({int(n) for n in str(args.workers).split(",")})
    if not args.workers or min(args.workers) < 1:
        parser.error("--workers: counts of 1 or more")
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
