"""A package used without its framework names the extra to install (``uiwire._extras``).

Each case runs in a fresh interpreter where the framework's import fails
(``sys.modules[name] = None``), as on a machine that never installed it.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

_SCRIPT = """
import sys
sys.modules[{missing!r}] = None  # importing it now raises ImportError
try:
    {statement}
except ImportError as exc:
    assert isinstance(exc.__cause__, ImportError), "chained from the original"
    print(exc)
else:
    raise SystemExit("imported without " + {missing!r})
"""


@pytest.mark.parametrize(
    ("missing", "statement", "needed_by", "extra"),
    [
        ("starlette", "import uiwire.server", "uiwire.server needs Starlette", "fastapi"),
        ("dspy", "import uiwire.adapters.dspy", "uiwire.adapters.dspy needs DSPy", "dspy"),
        (
            "agents",
            "from uiwire.adapters.agents import AgentsAdapter",
            "uiwire.adapters.agents needs the OpenAI Agents SDK (the openai-agents package)",
            "agents",
        ),
        (
            "redis",
            "from uiwire.resume import RedisStreamStore",
            "RedisStreamStore needs the redis package",
            "redis",
        ),
        (
            "redis",
            "from uiwire.adapters.agents import RedisApprovalStore",
            "RedisApprovalStore needs the redis package",
            "redis",
        ),
        (
            "opentelemetry",
            "from uiwire.server import Telemetry",
            "Telemetry needs the OpenTelemetry API (the opentelemetry-api package)",
            "otel",
        ),
        (
            "sqlalchemy",
            "from uiwire.chats import SQLChatStore",
            "SQLChatStore needs SQLAlchemy",
            "sql",
        ),
    ],
)
def test_a_missing_framework_names_the_extra_to_install(
    missing: str, statement: str, needed_by: str, extra: str
) -> None:
    script = _SCRIPT.format(missing=missing, statement=statement)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    message = done.stdout.strip()
    assert message.startswith(f"{needed_by}, which could not be imported ("), message
    assert message.endswith(f": pip install 'uiwire[{extra}]'"), message


def test_an_unrelated_import_error_is_not_blamed_on_an_extra() -> None:
    script = (
        "from uiwire._extras import needs_extra\n"
        "try:\n"
        "    with needs_extra('dspy', extra='dspy', needed_by='x', package='DSPy'):\n"
        "        import uiwire_no_such_module\n"
        "except ImportError as exc:\n"
        "    assert exc.name == 'uiwire_no_such_module', exc\n"
        "    assert 'pip install' not in str(exc), exc\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True)
