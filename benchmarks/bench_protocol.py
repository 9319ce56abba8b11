"""Microseconds per text delta, from the intent call to SSE bytes.

    python -m benchmarks.bench_protocol [--n 200000] [--repeat 7]

Baselines measured in the same process and run, interleaved, best of ``repeat``:

* ``orjson frame``: ``b"data: " + orjson.dumps(dict) + b"\\n\\n"``, the floor for any
  JSON-over-SSE encoder;
* ``json.dumps frame``: the same with the standard library (then encoded to bytes);
* ``uiwire``: ``encode_chunks(machine.text_delta(token))``, the whole path a delta takes
  (state check, chunk dict, framing).

Targets (issue "Protocol core"): uiwire at most 3x the orjson frame and faster than the
json.dumps frame. Results go to stdout as a table and to ``benchmarks/results/protocol.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

import orjson

from uiwire import StreamMachine, encode_chunk, encode_chunks

TOKENS = ["Hello", ",", " world", "!", " The", " answer", " is", " 42", ".", " ✓", "\n", ' "q"']


def _orjson_frame(n: int) -> Callable[[], None]:
    def run() -> None:
        dumps = orjson.dumps
        tokens = TOKENS
        k = len(tokens)
        for i in range(n):
            b"data: " + dumps({"type": "text-delta", "id": "t1", "delta": tokens[i % k]}) + b"\n\n"

    return run


def _json_frame(n: int) -> Callable[[], None]:
    def run() -> None:
        dumps = json.dumps
        tokens = TOKENS
        k = len(tokens)
        for i in range(n):
            (
                "data: "
                + dumps({"type": "text-delta", "id": "t1", "delta": tokens[i % k]})
                + "\n\n"
            ).encode()

    return run


def _uiwire(n: int) -> Callable[[], None]:
    def run() -> None:
        machine = StreamMachine(message_id="m")
        machine.text_delta("open")  # start, start-step and text-start happen once
        delta = machine.text_delta
        encode = encode_chunks
        tokens = TOKENS
        k = len(tokens)
        for i in range(n):
            encode(delta(tokens[i % k]))

    return run


def _uiwire_single(n: int) -> Callable[[], None]:
    def run() -> None:
        machine = StreamMachine(message_id="m")
        machine.text_delta("open")
        delta = machine.text_delta
        encode = encode_chunk
        tokens = TOKENS
        k = len(tokens)
        for i in range(n):
            for chunk in delta(tokens[i % k]):
                encode(chunk)

    return run


CASES: dict[str, Callable[[int], Callable[[], None]]] = {
    "orjson frame": _orjson_frame,
    "json.dumps frame": _json_frame,
    "uiwire (encode_chunks)": _uiwire,
    "uiwire (encode_chunk per chunk)": _uiwire_single,
}


def measure(n: int, repeat: int) -> dict[str, float]:
    """Best-of-``repeat`` microseconds per delta for every case, interleaved."""
    best = dict.fromkeys(CASES, float("inf"))
    runs = {name: make(n) for name, make in CASES.items()}
    for _ in range(repeat):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            elapsed = time.perf_counter() - start
            best[name] = min(best[name], elapsed / n * 1e6)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=200_000, help="deltas per run")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/protocol.json"))
    args = parser.parse_args(argv)

    results = measure(args.n, args.repeat)
    floor = results["orjson frame"]
    stdlib = results["json.dumps frame"]
    print(f"per text delta, intent to SSE bytes (n={args.n}, best of {args.repeat})")
    print("| path | µs/delta | x orjson frame | x json.dumps frame |")
    print("|---|---:|---:|---:|")
    for name, micros in results.items():
        print(f"| {name} | {micros:.3f} | {micros / floor:.2f} | {micros / stdlib:.2f} |")
    ratio = results["uiwire (encode_chunks)"] / floor
    faster = results["uiwire (encode_chunks)"] < stdlib
    print(
        f"target <= 3x orjson frame: {'met' if ratio <= 3 else 'MISSED'} ({ratio:.2f}x); "
        f"faster than json.dumps frame: {'met' if faster else 'MISSED'}"
    )

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "benchmark": "text-delta intent to SSE bytes",
                "unit": "microseconds per delta (best of repeats)",
                "n": args.n,
                "repeat": args.repeat,
                "python": sys.version.split()[0],
                "machine": platform.platform(),
                "orjson": orjson.__version__,
                "results": results,
                "ratio_to_orjson_frame": {k: v / floor for k, v in results.items()},
            },
            indent=2,
        )
        + "\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
