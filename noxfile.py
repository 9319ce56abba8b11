"""Developer and CI sessions. ``./run tests`` runs the default set; see README."""

from __future__ import annotations

import nox

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.reuse_existing_virtualenvs = True
nox.options.error_on_missing_interpreters = True
# Order: cheap static checks first, pytest last so its summary closes the output.
nox.options.sessions = ["lint", "docs", "conformance", "versions", "tests"]

JS_DIR = "tests/js"
CORPUS = "tests/js/.corpus/corpus.jsonl"

# Each end of the window pyproject's extras allow, installed together: the oldest and the
# newest release of each framework (DSPy's window is one release). Keep them equal to the
# bounds: an end outside them fails the install.
SUPPORTED_VERSIONS = {
    "oldest": ["dspy==3.4.1", "openai-agents==0.24.0", "redis==5.0.8", "websockets==16.0"],
    "newest": ["dspy==3.4.1", "openai-agents==0.25.0", "redis==8.2.0", "websockets==17.4"],
}
# What a framework's release changes under us: the Agents adapter's suite (its Redis
# approvals included), DSPy's internals check and its stream and fidelity tests, and
# the Redis stream store, and the WebSocket route on websockets (with the real `ai` 7
# client: the conformance session installs tests/js first). The default `tests` session
# runs everything at the resolver's pick.
VERSION_TESTS = [
    "tests/adapters/agents",
    "tests/adapters/dspy/test_compat.py",
    "tests/adapters/dspy/test_adapter.py",
    "tests/adapters/dspy/test_fidelity.py",
    "tests/resume/test_redis_store.py",
    "tests/server/test_websocket.py",
]


@nox.session
def tests(session: nox.Session) -> None:
    """The Python test suite (pytest's exit code 5, no tests collected, fails the session).

    The inner loop leaves the long tests out: ``-s tests -- -m "not slow and not browser"``.
    Some tests drive the real ``ai`` client in Node: ``tests/js``'s packages come first.
    """
    session.install("-e", ".[dev]")
    session.run("npm", "ci", "--no-audit", "--no-fund", "--prefix", JS_DIR, external=True)
    session.run("pytest", *session.posargs)


@nox.session
@nox.parametrize("end", list(SUPPORTED_VERSIONS))
def versions(session: nox.Session, end: str) -> None:
    """The framework-facing tests at each end of the supported versions window.

    The oldest and the newest supported DSPy, OpenAI Agents SDK and redis-py, installed
    together (pytest's exit code 5, no tests collected, fails the session).
    """
    session.install("-e", ".[dev]", *SUPPORTED_VERSIONS[end])
    session.run("npm", "ci", "--no-audit", "--no-fund", "--prefix", JS_DIR, external=True)
    session.run("pytest", "-m", "not slow and not browser", *VERSION_TESTS, *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint + format) everywhere, pyright strict on src/."""
    session.install("-e", ".[dev]")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # check against this session's packages, not whatever python is first on PATH
    session.run("pyright", "--pythonpath", f"{session.virtualenv.location}/bin/python")


@nox.session
def conformance(session: nox.Session) -> None:
    """Streams produced by uiwire, checked by the real `ai` npm client (5.x, 6.x, 7.x)."""
    session.install("-e", ".[dev]")
    session.run("python", "-m", "tests.js.build_corpus", CORPUS)
    session.run("npm", "ci", "--no-audit", "--no-fund", "--prefix", JS_DIR, external=True)
    session.chdir(JS_DIR)
    session.run("npm", "run", "selftest", external=True)
    session.run("npm", "test", external=True, env={"UIWIRE_CORPUS": ".corpus/corpus.jsonl"})


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks against the alternatives: JSON, tables and plots into docs/benchmarks/.

    Not part of the default sessions. ``nox -s bench -- --quick`` is a tiny smoke run.
    Run on an otherwise idle machine: every figure is a ratio within one run. The
    loopback benchmark serves with one uvicorn worker and with two (``--workers``).
    """
    session.install("-e", ".[bench]")
    for benchmark in (
        "pipeline",
        "bridge",
        "adapters",
        "loopback",
        "resumable",
        "chats",
        "telemetry",
    ):
        session.run("python", "-m", f"benchmarks.{benchmark}", *session.posargs)


@nox.session
def reliability(session: nox.Session) -> None:
    """The reliability tests (disconnects, faults, hostile input, soak), writing their
    figures into docs/reliability/ for the Reliability page. The default ``tests``
    session runs the same tests and only prints the figures."""
    session.install("-e", ".[dev]")
    session.run(
        "pytest", "tests/reliability", *session.posargs, env={"UIWIRE_FIGURES": "docs/reliability"}
    )


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site; any warning fails."""
    session.install("-e", ".[dev]")
    session.run("mkdocs", "build", "--strict", "--site-dir", "build/site")
