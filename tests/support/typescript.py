"""The TypeScript compiler over tests/js's locked packages (``typescript``,
``@ai-sdk/react`` 3.x and 4.x, ``ai`` 6 and 7, ``@types/react``), for tests that compile
TSX against generated types.

Node.js is needed. Without it a test is skipped on a workstation and fails under CI
(``CI`` set), where a skip would hide a broken generator.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
JS = REPO / "tests" / "js"

TSCONFIG = """{
  "compilerOptions": {
    "target": "ES2022",
    "lib": ["ES2023", "DOM"],
    "module": "ESNext",
    "moduleResolution": "bundler",
    "jsx": "react-jsx",
    "strict": true,
    "noEmit": true,
    "isolatedModules": true,
    "skipLibCheck": true,
    "types": []
  },
  "include": ["*.ts", "*.tsx"]
}
"""


def node_modules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tests/js's packages: installed there already (the conformance session's
    ``npm ci``), else ``npm ci`` from its lockfile into a temporary copy."""
    installed = JS / "node_modules"
    if (installed / "typescript" / "bin" / "tsc").is_file() and (
        installed / "@ai-sdk" / "react" / "package.json"
    ).is_file():
        return installed
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        message = (
            "Node.js (node and npm) is needed to compile TypeScript with tsc: install it, "
            "then `npm ci --prefix tests/js`"
        )
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    copy = tmp_path_factory.mktemp("js")
    for name in ("package.json", "package-lock.json"):
        shutil.copy(JS / name, copy / name)
    result = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts"],
        cwd=copy,
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"npm ci in a copy of tests/js failed:\n{result.stderr[-4000:]}")
    return copy / "node_modules"


AI_SDK_MAJORS = ("v6", "v7")
"""The AI SDK majors the projects compile against: ``@ai-sdk/react`` 3.x with ``ai`` 6
(the one it depends on, as the demo page uses them) and ``@ai-sdk/react`` 4.x with
``ai`` 7, the top-level packages."""

_PATHS = {
    "v6": {
        "ai": ["./node_modules/ai-sdk-react6/node_modules/ai"],
        "@ai-sdk/react": ["./node_modules/ai-sdk-react6"],
    },
    "v7": {},
}


def typescript_project(
    tmp_path_factory: pytest.TempPathFactory, name: str, major: str = "v7"
) -> Path:
    """An empty TypeScript project (strict, React JSX) whose node_modules are tests/js's,
    where ``ai`` and ``@ai-sdk/react`` are those of the AI SDK ``major``."""
    modules = node_modules(tmp_path_factory)
    root = tmp_path_factory.mktemp(f"{name}-{major}")
    (root / "node_modules").symlink_to(modules, target_is_directory=True)
    config = json.loads(TSCONFIG)
    if _PATHS[major]:
        config["compilerOptions"]["paths"] = _PATHS[major]
    (root / "tsconfig.json").write_text(json.dumps(config, indent=2))
    return root


def tsc(root: Path, *files: str) -> subprocess.CompletedProcess[str]:
    """``tsc --noEmit`` over ``files`` of ``root`` (and its ``.d.ts`` files)."""
    node = shutil.which("node")
    if node is None:  # the packages were found, but not the runtime
        pytest.fail("node is not on PATH", pytrace=False)
    compiler = root / "node_modules" / "typescript" / "bin" / "tsc"
    config = root / f"tsconfig.{'-'.join(f.split('.')[0] for f in files)}.json"
    listed = ", ".join(f'"{f}"' for f in ("*.d.ts", *files))
    config.write_text(f'{{"extends": "./tsconfig.json", "include": [{listed}]}}')
    return subprocess.run(
        [node, str(compiler), "-p", str(config), "--pretty", "false"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
