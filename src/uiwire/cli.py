"""The ``uiwire`` command: ``uiwire demo`` serves the offline chat demo."""

from __future__ import annotations

import argparse
import gc
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
    args = parser.parse_args(argv)
    if args.command == "demo":
        return _demo(args.host, args.port, args.db)
    return 2  # pragma: no cover - argparse already refused


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
