"""The TypeScript compiler over tests/js's locked packages (``typescript``,
``@ai-sdk/react`` 3.x and 4.x, ``ai`` 6 and 7, ``@types/react``), for tests that compile
TSX against generated types.

Node.js and the installed packages are needed (``tests.support.js``): without them a
test is skipped on a workstation and fails under CI (``CI`` set), where a skip would
hide a broken generator.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.support.js import JS_DIR, require_js_packages

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


def node_modules() -> Path:
    """tests/js's installed packages (``npm ci --prefix tests/js``, as the ``tests`` and
    ``conformance`` sessions do), with the compiler and ``@ai-sdk/react`` in them."""
    require_js_packages()  # node, and node_modules: skipped here, failed under CI
    installed = JS_DIR / "node_modules"
    for package in ("typescript", "@ai-sdk/react", "ai-sdk-react6", "@types/react"):
        if not (installed / package / "package.json").is_file():
            missing = f"tests/js/node_modules has no {package} (run: npm ci --prefix tests/js)"
            if os.environ.get("CI"):
                pytest.fail(missing, pytrace=False)
            pytest.skip(missing)
    return installed


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
    modules = node_modules()
    root = tmp_path_factory.mktemp(f"{name}-{major}")
    (root / "node_modules").symlink_to(modules, target_is_directory=True)
    config = json.loads(TSCONFIG)
    if _PATHS[major]:
        config["compilerOptions"]["paths"] = _PATHS[major]
    (root / "tsconfig.json").write_text(json.dumps(config, indent=2))
    return root


def tsc(root: Path, *files: str) -> subprocess.CompletedProcess[str]:
    """``tsc --noEmit`` over ``files`` of ``root`` (and its ``.d.ts`` files)."""
    node = require_js_packages()
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
