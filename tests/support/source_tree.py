"""The package's own source, for the tests that read it (layers, framework internals)."""

from __future__ import annotations

from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "uiwire"
"""``src/uiwire``."""


def copy_source(into: Path) -> Path:
    """A copy of ``src/uiwire`` as ``into/uiwire``, for planting a violation a checker must
    find without touching the real tree."""
    copy = into / "uiwire"
    for path in SRC.rglob("*.py"):
        target = copy / path.relative_to(SRC)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text())
    return copy
