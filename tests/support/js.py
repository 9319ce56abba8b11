"""Running the JS checks of ``tests/js`` (the real ``ai`` packages) from a test."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any, Final

import pytest

JS_DIR: Final = Path(__file__).resolve().parents[1] / "js"
NODE_TIMEOUT: Final = 60.0


def require_js_packages() -> str:
    """The ``node`` to run, once ``tests/js``'s packages are installed (``npm ci``); in
    CI a missing one fails the test, elsewhere it skips it with the command to run."""
    node = shutil.which("node")
    missing = (
        "node is not installed"
        if node is None
        else "tests/js has no node_modules (run: npm ci --prefix tests/js)"
        if not (JS_DIR / "node_modules").is_dir()
        else None
    )
    if missing is not None:
        if os.environ.get("CI"):
            pytest.fail(missing)
        pytest.skip(missing)
    assert node is not None
    return node


async def run_node_script(script: str, options: dict[str, Any]) -> Any:
    """Run ``tests/js/<script>`` with ``options`` as its JSON argument; its JSON output.
    A failing script fails the test with its stderr."""
    node = require_js_packages()
    process = await asyncio.create_subprocess_exec(
        node,
        script,
        json.dumps(options),
        cwd=JS_DIR,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), NODE_TIMEOUT)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"{script} ran over {NODE_TIMEOUT:.0f} s")
    if process.returncode != 0:
        pytest.fail(f"{script} failed ({process.returncode}):\n{err.decode()[-4000:]}")
    return json.loads(out)


async def http_chat(api: str, run: str = "send", **options: Any) -> Any:
    """``tests/js/http_chat.mjs``: the real ``DefaultChatTransport`` of ai 7 (and
    ``useChat``'s core) against ``api``; what the client got, and every HTTP response it
    read (``responses``: status, headers, body)."""
    return await run_node_script("http_chat.mjs", {"api": api, "run": run, **options})
