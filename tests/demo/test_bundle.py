"""The committed demo page (src/uiwire/demo/static/) is exactly what web/ builds.

The test installs web/'s locked dependencies into a copy of web/ (``npm ci``), builds
into a temporary directory and compares the bytes with the committed files, so a change
to web/src, the lockfile or build.mjs without a rebuild (or a hand edit of the bundle)
fails here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
STATIC = REPO / "src" / "uiwire" / "demo" / "static"
FILES = ("app.css", "app.js", "index.html")
REBUILD = "cd web && npm ci --no-audit --no-fund && npm run build"

pytestmark = pytest.mark.slow  # npm ci and a full build of the page


def _run(args: list[str], cwd: Path) -> None:
    env = {
        **os.environ,
        "npm_config_update_notifier": "false",
        "npm_config_fund": "false",
        "npm_config_audit": "false",
    }
    env.pop("UIWIRE_DEMO_OUTDIR", None)  # the build must go where --outdir says
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=540, check=False
    )
    if result.returncode != 0:
        pytest.fail(
            f"`{' '.join(args)}` exited {result.returncode}\n"
            f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
        )


@pytest.mark.timeout(600)
def test_committed_bundle_is_a_fresh_build(tmp_path: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm (Node.js) is not installed: cannot rebuild the demo page")
    work = tmp_path / "web"
    shutil.copytree(WEB, work, ignore=shutil.ignore_patterns("node_modules", "dist"))
    out = tmp_path / "static"

    _run([npm, "ci", "--no-audit", "--no-fund"], cwd=work)
    _run([npm, "run", "build", "--", "--outdir", str(out)], cwd=work)

    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    committed = (
        sorted(p.name for p in STATIC.iterdir() if not p.name.startswith("__"))
        if STATIC.is_dir()
        else []
    )
    stale = [name for name in FILES if name not in committed]
    stale += [
        name
        for name in FILES
        if name in committed and (out / name).read_bytes() != (STATIC / name).read_bytes()
    ]
    extra = sorted(set(committed) - set(FILES))
    if stale or extra:
        pytest.fail(
            f"src/uiwire/demo/static/ is not what web/ builds (differs: {stale}, unexpected: "
            f"{extra}). Rebuild it with `{REBUILD}` and commit the result.",
            pytrace=False,
        )
