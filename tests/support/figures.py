"""Figures from the reliability tests, for the "Reliability" docs page.

A test builds a ``benchmarks._results.Result`` from what it measured and calls
``report``. With ``UIWIRE_FIGURES=<dir>`` set (``nox -s reliability`` sets it to
``docs/reliability``) the result is written there as JSON and a markdown table, as the
benchmarks write theirs; otherwise it is only printed. The tests assert correctness
(nothing lost, nothing leaked); the figures are reported, never asserted.
"""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks._results import Result, save

FIGURES_ENV = "UIWIRE_FIGURES"


def report(result: Result) -> None:
    """Print ``result``'s tables; write them under ``$UIWIRE_FIGURES`` when it is set."""
    out = os.environ.get(FIGURES_ENV)
    if out:
        save(result, Path(out))
    else:
        print(result.markdown())
