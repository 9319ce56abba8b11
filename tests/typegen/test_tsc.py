"""The generated types, compiled by the real TypeScript compiler against the real
``@ai-sdk/react`` of AI SDK 6 and of AI SDK 7 (tests/js's locked packages): a TSX file that uses
``useChat<ChatMessage>()`` as an app would compiles; files with one deliberate type
error each (a tool input read as the wrong type, a client tool answered with the wrong
output, a tool part the app does not have) fail with the expected error, on the
expected line.

Node.js is needed (``tests.support.typescript``): without it the tests are skipped on a
workstation and fail under CI.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.typescript import AI_SDK_MAJORS, tsc, typescript_project
from tests.typegen.apps import agents_types, dspy_types
from uiwire.typegen import typescript_types

pytestmark = pytest.mark.slow  # a tsc run over @ai-sdk/react and ai: ~10 s each

CHAT = """\
import { useChat } from "@ai-sdk/react";
import type { ChatMessage } from "./agents-types";
import type { ResearchMessage } from "./research-types";

export function Guide() {
  const { messages, addToolOutput } = useChat<ChatMessage>();
  const shown = messages.map((message) =>
    message.parts.map((part) => {
      switch (part.type) {
        case "tool-find_places":
          if (part.state === "output-available") {
            const city: string = part.input.query.address.city;
            const zip: string | null = part.input.query.address.zip;
            const radius: number = part.input.query.radius_km;
            const kinds: ("cafe" | "bar")[] = part.input.query.kinds;
            const limit: number = part.input.limit;
            const first: string | undefined = part.output[0]?.name;
            return `${city} ${zip} ${radius} ${kinds.join()} ${limit} ${first}`;
          }
          return null;
        case "tool-get_location":
          if (part.state === "input-available") {
            void addToolOutput({
              tool: "get_location",
              toolCallId: part.toolCallId,
              output: { lat: 48.85, lon: 2.35 },
            });
          }
          return null;
        case "tool-transfer_to_planner":
          return "handing off";
        case "data-output":
          if (part.data.state === "done") {
            return part.data.value === null ? part.data.text : part.data.value.summary;
          }
          return part.data.value?.places?.[0]?.address?.city;
        case "data-agent":
          return part.data.name;
        case "data-progress":
          return `${part.data.step}/${part.data.of}`;
        default:
          return null;
      }
    }),
  );
  const last = messages[messages.length - 1];
  const tokens: number | undefined = last?.metadata?.usage?.totalTokens;
  const title: string | undefined = last?.metadata?.chat_title;
  return <div title={title}>{tokens}{shown}</div>;
}

export function Research() {
  const { messages } = useChat<ResearchMessage>({
    onData: (part) => {
      if (part.type === "data-status") console.log(part.data.message);
    },
  });
  return (
    <ul>
      {messages.flatMap((message) =>
        message.parts.map((part) => {
          if (part.type === "tool-search_papers" && part.state === "output-available") {
            const topic: string = part.input.topic;
            const since: number | null | undefined = part.input.since;
            return <li key={part.toolCallId}>{topic} {since} {part.output[0]?.year}</li>;
          }
          if (part.type === "data-output" && part.data.state === "done" && part.data.value) {
            return <li key={part.id}>{part.data.value.map((paper) => paper.title).join()}</li>;
          }
          return null;
        }),
      )}
    </ul>
  );
}
"""

WRONG: dict[str, tuple[str, str, str]] = {
    # file: (line in CHAT, replaced by, the error tsc must report there)
    "wrong_input_type.tsx": (
        "const radius: number = part.input.query.radius_km;",
        "const radius: string = part.input.query.radius_km;",
        "TS2322",  # Type 'number' is not assignable to type 'string'
    ),
    "wrong_nested_input.tsx": (
        "const city: string = part.input.query.address.city;",
        "const city: string = part.input.query.city;",
        "TS2339",  # Property 'city' does not exist
    ),
    "wrong_client_output.tsx": (
        "output: { lat: 48.85, lon: 2.35 },",
        'output: { lat: "48.85", lon: 2.35 },',
        "TS2322",
    ),
    "unknown_tool_part.tsx": (
        'case "tool-transfer_to_planner":',
        'case "tool-transfer_to_nobody":',
        "TS2678",  # not comparable to the part types there are
    ),
}


@pytest.fixture(scope="module", params=AI_SDK_MAJORS)
def project(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    """A TypeScript project holding both apps' generated types, on AI SDK 6 and 7."""
    root = typescript_project(tmp_path_factory, "tsx", request.param)
    (root / "agents-types.d.ts").write_text(typescript_types(agents_types))
    (root / "research-types.d.ts").write_text(typescript_types(dspy_types))
    return root


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.timeout(600)
def test_a_tsx_file_using_the_generated_types_compiles(project: Path) -> None:
    (project / "chat.tsx").write_text(CHAT)
    result = tsc(project, "chat.tsx")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.timeout(600)
def test_each_deliberate_type_error_fails_where_it_is(project: Path) -> None:
    """One tsc run over every wrong file; each fails once, with its error, on its line."""
    for name, (right, wrong, _) in WRONG.items():
        assert CHAT.count(right) == 1, right
        (project / name).write_text(CHAT.replace(right, wrong))
    result = tsc(project, *WRONG)
    assert result.returncode != 0
    reported = re.findall(r"^(\S+?\.tsx)\((\d+),\d+\): error (TS\d+)", result.stdout, re.M)
    expected = sorted(
        (name, str(_line_of(CHAT, right)), code) for name, (right, _, code) in WRONG.items()
    )
    assert sorted(reported) == expected, result.stdout
