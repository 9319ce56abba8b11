"""What every benchmark writes, and the machine it ran on.

Each benchmark module builds one ``Result`` and calls ``save``: that writes
``docs/benchmarks/<name>.json`` (every figure, the parameters, the machine, the package
versions) and ``docs/benchmarks/<name>.table.md`` (the markdown tables the results page
includes). Plots are drawn by the module itself (``<name>.png``), from the same figures.

Only ratios measured in one run mean anything here: the machines are shared and noisy.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import sys
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

OUT_DIR = Path("docs/benchmarks")

PACKAGES = (
    "uiwire",
    "orjson",
    "pydantic",
    "dspy",
    "litellm",
    "openai-agents",
    "openai",
    "fastapi",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "anyio",
    "pydantic-ai-slim",
    "ai-sdk-stream-python",
)


@dataclass
class Target:
    """One target from the issue: what was asked, what was measured, and whether it holds."""

    name: str  # "p99 added delay at 1,000 streams"
    limit: str  # "<= 5 ms"
    measured: str  # "3.1 ms"
    met: bool


@dataclass
class Table:
    """A markdown table: a title line, a header row, rows of already formatted cells."""

    title: str
    header: list[str]
    rows: list[list[str]]

    def markdown(self) -> str:
        lines = [f"**{self.title}**", "", "| " + " | ".join(self.header) + " |"]
        lines.append(
            "|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.header))) + "|"
        )
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines) + "\n"


@dataclass
class Result:
    """Everything one benchmark reports."""

    name: str  # file stem: "pipeline", "bridge", "loopback", "adapters"
    title: str
    params: dict[str, Any]
    figures: dict[str, Any]  # raw numbers, for plots and for whoever reads the JSON
    tables: list[Table]
    targets: list[Target] = field(default_factory=list[Target])

    def markdown(self) -> str:
        parts = [table.markdown() for table in self.tables]
        if self.targets:
            parts.append(
                Table(
                    "Targets",
                    ["target", "asked", "measured", ""],
                    [
                        [t.name, t.limit, t.measured, "met" if t.met else "**missed**"]
                        for t in self.targets
                    ],
                ).markdown()
            )
        return "\n".join(parts)


def machine() -> dict[str, Any]:
    """The machine and software a run happened on, for the results page."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = round(int(line.split()[1]) / 1024 / 1024, 1)
                break
    except OSError:
        pass
    installed = {dist.metadata["Name"].lower() for dist in importlib.metadata.distributions()}
    versions = {p: importlib.metadata.version(p) for p in PACKAGES if p in installed}
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory,
        "system": platform.platform(),
        "python": sys.version.split()[0],
        "packages": versions,
        # the machines are shared: how busy this one was when the run ended
        "load_average_1_5_15_min": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def save(result: Result, out_dir: Path = OUT_DIR) -> Path:
    """Write ``<name>.json`` and ``<name>.table.md`` under ``out_dir``; print the tables."""
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = asdict(result)
    payload["machine"] = machine()
    path = out_dir / f"{result.name}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    markdown = result.markdown()
    (out_dir / f"{result.name}.table.md").write_text(markdown)
    (out_dir / "machine.table.md").write_text(machine_markdown(payload["machine"]))
    print(markdown)
    return path


def parser(doc: str | None) -> argparse.ArgumentParser:
    """The command line every benchmark shares: ``--quick``, ``--out``, ``--no-plot``."""
    parser = argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a tiny run: the smoke test's")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="where results are written")
    parser.add_argument("--no-plot", action="store_true", help="skip the PNG (no matplotlib)")
    return parser


def machine_markdown(info: dict[str, Any]) -> str:
    """The machine as a short list, for the results page."""
    packages = ", ".join(f"{name} {version}" for name, version in info["packages"].items())
    return (
        f"- CPU: {info['cpu']}, {info['cores']} cores; {info['memory_gib']} GiB of memory\n"
        f"- System: {info['system']}, Python {info['python']}\n"
        f"- Packages: {packages}\n"
    )


def percentiles(values: Iterable[float], scale: float = 1.0) -> dict[str, float]:
    """p50, p99 and max of ``values`` times ``scale`` (nearest rank), and their count."""
    ordered = sorted(values)
    if not ordered:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0, "n": 0}

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * scale

    return {"p50": rank(0.50), "p99": rank(0.99), "max": ordered[-1] * scale, "n": len(ordered)}


def fmt(value: float, digits: int = 2) -> str:
    """A figure with ``digits`` decimals and thousands separators."""
    return f"{value:,.{digits}f}"
