"""The ``uiwire`` command: ``uiwire demo`` serves the offline chat demo; ``uiwire types``
writes the TypeScript ``UIMessage`` type of an app."""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="uiwire", description="uiwire command line")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser(
        "demo",
        help="serve the chat demo (offline unless OPENAI_API_KEY is set)",
        description="Serve a useChat page and an Agents SDK agent. Without OPENAI_API_KEY "
        "the agent answers from a built-in script: no network, no key.",
    )
    demo.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    demo.add_argument("--port", type=int, default=8000, help="port (8000; 0 picks a free one)")
    demo.add_argument(
        "--db",
        type=Path,
        default=None,
        help="the SQLite file that keeps the chats (default: demo.db in "
        "$XDG_DATA_HOME/uiwire, i.e. ~/.local/share/uiwire)",
    )
    types = commands.add_parser(
        "types",
        help="write the TypeScript UIMessage type of an app (for useChat<ChatMessage>())",
        description="Import MODULE and write a .d.ts for ATTR: a UITypes (from "
        "uiwire.typegen), a ChatEndpoint, an AgentsAdapter, a DSPyAdapter, an agents.Agent "
        "or a dspy.Module. The current directory is importable.",
    )
    types.add_argument("app", metavar="MODULE:ATTR", help="where the app is, e.g. app:chat")
    types.add_argument(
        "-o", "--output", type=Path, default=None, help="the .d.ts file to write (default: stdout)"
    )
    types.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the -o file is not what would be written (for CI)",
    )
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(args.host, args.port, args.db)
    if args.command == "types":
        if args.check and args.output is None:
            parser.error("--check needs -o FILE, the file to compare")
        return _types(args.app, args.output, check=args.check)
    return 2  # pragma: no cover - argparse already refused


def _types(spec: str, output: Path | None, *, check: bool = False) -> int:
    from uiwire.typegen import typescript_types

    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        print(f"uiwire types: give MODULE:ATTR (e.g. app:chat); got {spec!r}", file=sys.stderr)
        return 2
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())  # `app:chat` from the project's directory
    try:
        app: object = importlib.import_module(module_name)
    except ImportError as exc:
        print(f"uiwire types: cannot import {module_name}: {exc}", file=sys.stderr)
        return 1
    for name in attr.split("."):
        if not hasattr(app, name):
            print(f"uiwire types: {module_name} has no {attr}", file=sys.stderr)
            return 1
        app = getattr(app, name)
    command = f"uiwire types {spec}" + ("" if output is None else f" -o {output}")
    try:
        text = typescript_types(app, command=command)
    except (TypeError, ValueError) as exc:
        print(f"uiwire types: {exc}", file=sys.stderr)
        return 1
    if output is None:
        sys.stdout.write(text)
        return 0
    if check:
        try:
            current = output.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current == text:
            return 0
        print(f"uiwire types: {output} is out of date; run `{command}`", file=sys.stderr)
        return 1
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        print(f"uiwire types: cannot write {output}: {exc}", file=sys.stderr)
        return 1
    print(f"uiwire types: wrote {output}", file=sys.stderr)
    return 0


def _demo(host: str, port: int, db: Path | None) -> int:
    try:
        import uvicorn

        from uiwire.demo import default_db_path, demo_app
    except ImportError as exc:
        print(
            f"uiwire demo needs the demo extra: pip install 'uiwire[demo]' ({exc})", file=sys.stderr
        )
        return 1
    mode = "the OpenAI API" if os.environ.get("OPENAI_API_KEY") else "offline, scripted model"
    db = (db or default_db_path()).expanduser().resolve()
    try:
        app = demo_app(db=db)
    except OSError as exc:
        print(f"uiwire demo: cannot keep chats in {db}: {exc}", file=sys.stderr)
        return 1
    config = uvicorn.Config(app, host=host, port=port, log_level="info")
    server = uvicorn.Server(config)
    print(f"uiwire demo ({mode}): chats are kept in {db}", flush=True)
    print(f"uiwire demo: open http://{host}:{port or '<port below>'}/", flush=True)
    gc.collect()
    gc.freeze()  # start-up's objects out of every later full collection (deployment.md)
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
