"""The runnable examples run, and what they print is a valid stream."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.support.processes import free_port, server_process
from tests.support.redis_server import RedisServer
from tests.support.stream_rules import assert_valid_message
from tests.support.typescript import AI_SDK_MAJORS, tsc, typescript_project
from uiwire.protocol import validate_stream

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(
    name: str, *args: str, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``examples/<name>`` with this interpreter; its output, or CalledProcessError."""
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        check=True,
        timeout=timeout,
        env=env,
    )


@pytest.mark.parametrize("target", ["v5", "v6", "v7"])
def test_print_stream_emits_a_valid_stream(target: str) -> None:
    result = run_example("print_stream.py", "--target", target)
    body, _, summary = result.stdout.partition("# valid for AI SDK")
    report = validate_stream(body, target=target)  # type: ignore[arg-type]
    assert report.finish_reason == "stop"
    assert [p["type"] for p in report.message["parts"]][:3] == [
        "step-start",
        "reasoning",
        "tool-get_weather",
    ]
    assert target in summary


def test_push_api_server_streams_and_persists() -> None:
    result = run_example("push_api_server.py")
    body, _, saved = result.stdout.partition("# saved:")
    report = validate_stream(body)
    parts = report.message["parts"]
    assert [p["type"] for p in parts if p["type"] != "step-start"] == [
        "reasoning",
        "tool-search_flights",
        "data-progress",
        "source-url",
        "text",
    ]
    progress = next(p for p in parts if p["type"] == "data-progress")
    assert progress["data"] == {"checked": 3, "of": 3}  # replaced in place by id
    assert '"status": "finish"' in saved
    assert "I found 3 flights to Oslo." in saved


def test_dspy_app_streams_a_react_agent_offline() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}  # the scripted model
    result = run_example("dspy_app.py", timeout=120, env=env)
    lines = result.stdout.splitlines(keepends=True)
    saved = [line for line in lines if line.startswith("# saved:")]
    body = "".join(line for line in lines if not line.startswith("# saved:"))
    report = validate_stream(body)
    kinds = [p["type"] for p in report.message["parts"] if p["type"] != "step-start"]
    assert kinds == ["reasoning", "tool-get_weather", "reasoning", "reasoning", "text"]
    tool = report.message["parts"][2]
    assert tool["state"] == "output-available"
    assert tool["input"] == {"city": "Paris"}
    assert tool["output"] == "Sunny and 21°C in Paris"
    assert saved == ["# saved: finish, 1 tool call(s): 'It is sunny in Paris.'\n"]


def test_agents_app_serves_its_openapi_schema() -> None:
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "--app-dir", str(EXAMPLES), "--port", str(port)]
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    url = f"http://127.0.0.1:{port}"
    with server_process([*args, "agents_app:app"], ready_url=f"{url}/openapi.json", env=env):
        document = httpx.get(f"{url}/openapi.json").json()
    assert {"/api/chat", "/api/chat/{id}/stream", "/api/chat/{id}/stop"} <= set(document["paths"])
    body = document["paths"]["/api/chat"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/ChatRequest"}


def test_agents_app_pauses_for_approval_then_continues_the_same_message() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}  # the ScriptedModel
    result = run_example("agents_app.py", timeout=120, env=env)
    first, _, rest = result.stdout.partition("# approved ")
    approved, _, rest = rest.partition("\n")
    second, _, replayed = rest.partition("# replayed: ")

    paused = validate_stream(first)
    parts = [p for p in paused.message["parts"] if p["type"] != "step-start"]
    assert [p["type"] for p in parts] == [
        "data-agent",
        "tool-get_weather",
        "tool-get_forecast",
        "text",
        "tool-book_hotel",
    ]
    assert parts[0]["data"] == {"name": "Travel agent"}
    assert parts[1]["output"] == "Sunny and 21°C in Paris"
    assert '"output":{"status":"day 2 of 3"},"preliminary":true' in first
    assert parts[2]["output"] == [f"Day {n}: sunny in Paris" for n in (1, 2, 3)]
    booking = parts[4]
    assert booking["state"] == "approval-requested"
    assert booking["input"] == {"city": "Paris", "nights": 2}
    assert booking["approval"]["id"].startswith("aprv_")
    assert approved == f"tool-book_hotel ({booking['approval']['id']})"
    assert paused.message["metadata"]["usage"]["totalTokens"] == 104

    answered = copy.deepcopy(paused.message)  # the client's copy, answered
    answered_booking = next(p for p in answered["parts"] if p["type"] == "tool-book_hotel")
    answered_booking["state"] = "approval-responded"
    answered_booking["approval"]["approved"] = True
    resumed = validate_stream(second, message=answered).message
    assert resumed["id"] == paused.message["id"]
    booking = next(p for p in resumed["parts"] if p["type"] == "tool-book_hotel")
    assert booking["state"] == "output-available"
    assert booking["output"].startswith("Booked 2 nights")
    assert resumed["parts"][-1]["text"].startswith("Done: Booked 2 nights")
    assert resumed["metadata"]["usage"]["totalTokens"] == 156

    status, _, error = replayed.partition(" ")
    assert status == "404"  # a paused run resumes once
    assert json.loads(error)["error"]["fields"][0]["field"] == "messages[1].id"


def test_agents_sessions_app_gives_the_model_its_own_reasoning_back() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}  # the ScriptedModel
    lines = run_example("agents_sessions_app.py", timeout=120, env=env).stdout.splitlines()
    said = dict(line.split(": ", 1) for line in lines)
    first_reasoning = said["alice (regenerate)"].split("reasoning ")[1]
    assert lines[0] == "alice: 'Hi!' -> You asked ['Hi!']; I got back my reasoning []."
    assert lines[1].startswith("alice: 'What did you think?' -> You asked ['Hi!', 'What did")
    assert lines[1].endswith(f"I got back my reasoning {first_reasoning}")
    assert first_reasoning.startswith("['rs_")  # the first answer's reasoning, by its id
    # regenerate: the dropped answer's reasoning does not come back, the first one's does
    assert said["alice (regenerate)"].startswith("You asked ['Hi!', 'What did you think?']")
    assert said["alice (edit)"] == "You asked ['Hello!']; I got back my reasoning []."
    assert said["bob"] == "You asked ['Who are you?']; I got back my reasoning []."
    assert said["alice's session"] == "['message', 'reasoning', 'message']"


def test_resumable_app_on_two_workers_and_redis_resumes_and_stops(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    """``uvicorn --workers 2``: the kernel spreads requests over both workers, so resumes
    and stops land on either; every one must work."""
    port = free_port()
    base = f"http://127.0.0.1:{port}/api/chat"
    command = [
        sys.executable, "-m", "uvicorn", "resumable_app:app",
        "--port", str(port), "--workers", "2", "--log-level", "warning",
    ]  # fmt: skip
    # the workers share the database, which keeps the chats and the cookies' secret
    env = {"REDIS_URL": redis_server.url, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/c.db"}
    question = {"id": "u1", "role": "user", "parts": [{"type": "text", "text": "count"}]}
    with (
        server_process(command, ready_url=f"{base}/x/stream", env=env, cwd=EXAMPLES),
        httpx.Client(timeout=30) as client,
    ):
        for chat_id in ("chat-a", "chat-b", "chat-c"):
            body = {
                "id": chat_id,
                "messages": [question],
                "trigger": "submit-message",
                "words": 30,
            }
            with client.stream("POST", base, json=body) as posted:
                assert posted.status_code == 200
                received = next(posted.iter_raw())  # then the client goes away
            resumed = client.get(f"{base}/{chat_id}/stream")
            assert resumed.status_code == 200
            assert resumed.content.startswith(received)
            message = assert_valid_message(resumed.content)
            assert message["parts"][-1]["text"] == "".join(f"{n} " for n in range(1, 31))
            # the chat stays active until its answer is saved, then nothing is left
            for _ in range(100):
                if client.get(f"{base}/{chat_id}/stream").status_code == 204:
                    break
                time.sleep(0.05)
            else:
                raise AssertionError(f"{chat_id} still offered for resumption after 5 s")
            chat = client.get(f"{base}s/{chat_id}").json()
            assert chat["messages"][-1]["parts"][-1]["text"] == message["parts"][-1]["text"]
        body = {
            "id": "chat-d",
            "messages": [question],
            "trigger": "submit-message",
            "words": 1000,
        }
        with client.stream("POST", base, json=body) as posted:
            chunks = posted.iter_raw()
            next(chunks)
            assert client.post(f"{base}/chat-d/stop", json={}).status_code == 202
            rest = b"".join(chunks)
        assert rest.endswith(b'data: {"type":"abort"}\n\ndata: [DONE]\n\n')
        with httpx.Client(timeout=30) as stranger:  # another browser: another owner
            assert stranger.get(f"{base}/chat-a/stream").status_code == 404
            assert stranger.post(f"{base}/chat-d/stop", json={}).status_code == 404


def test_message_writer_writes_the_same_message_into_a_stream_and_a_builder() -> None:
    result = run_example("message_writer.py")
    built, streamed = (json.loads(line) for line in result.stdout.splitlines())
    assert built["built"] == streamed["streamed"]
    parts = built["built"]["parts"]
    assert [p["type"] for p in parts] == ["step-start", "tool-get_weather", "text"]
    assert parts[1]["state"] == "output-available"
    assert parts[2]["text"] == "It is sunny in Rome, 21°C."


def test_structured_output_streams_the_object_then_the_validated_one() -> None:
    result = run_example("structured_output.py")
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    final = {"city": "Paris", "highs_c": [21.5, 19], "summary": "Mild, then showers."}
    for label in ("agents", "push-api"):
        chunks = [line[label] for line in lines if label in line]
        assert len({c["id"] for c in chunks}) == 1  # one part, replaced in place
        assert [c["data"]["state"] for c in chunks][-1] == "done"
        assert all(c["data"]["state"] == "streaming" for c in chunks[:-1])
        assert chunks[-1]["data"] == {"name": "WeatherReport", "state": "done", "value": final}
        (kept,) = next(line[f"{label}-message"] for line in lines if f"{label}-message" in line)
        assert kept["data"] == chunks[-1]["data"]
    by_hand = [line["push-api"]["data"]["value"] for line in lines if "push-api" in line]
    assert by_hand[:2] == [{"city": "Par"}, {"city": "Paris", "highs_c": [21]}]


def test_identity_app_keeps_anonymous_owners_and_reads_your_auth() -> None:
    env = {k: v for k, v in os.environ.items() if k != "UIWIRE_SECRET"}
    result = run_example("identity_app.py", env=env)
    assert result.stdout.splitlines() == [
        "anonymous, new owner's cookie: HttpOnly; Max-Age=34560000; Path=/; SameSite=Lax",
        "anonymous, same owner next time: True",
        "anonymous, no new cookie next time: True",
        "anonymous, tampered cookie is a new owner: True",
        "signed in: user-ada",
        "dependency: user-ada",
        "nobody signed in: 401",
    ]
    assert "UIWIRE_SECRET" in result.stderr  # one process, no secret: it says how to keep owners


def test_websocket_chat_answers_two_requests_on_one_socket() -> None:
    frames = [json.loads(line) for line in run_example("websocket_chat.py").stdout.splitlines()]
    for request_id, said in (("r1", "hello there"), ("r2", "good morning")):
        mine = [f for f in frames if f["requestId"] == request_id]
        kinds = [f["type"] for f in mine]
        assert (kinds[0], kinds[-1]) == ("start", "end")
        chunks = [f for f in mine if f["type"] == "chunk"]
        assert [f["sequence"] for f in chunks] == list(range(len(chunks)))
        body = "".join(f"data: {json.dumps(f['chunk'])}\n\n" for f in chunks)
        report = validate_stream(body + "data: [DONE]\n\n", target="v7")
        assert report.message["parts"][-1]["text"].strip() == f"You said: {said}"


def test_steering_app_shows_the_steer_before_the_next_step_which_takes_it_into_account() -> None:
    lines = run_example("steering_app.py").stdout.splitlines(keepends=True)
    assert lines[0].startswith("# steer: 202 ")
    steer_id = json.loads(lines[0].split(" ", 3)[3])["id"]
    report = validate_stream("".join(lines[1:]), target="v7")
    parts = report.message["parts"]
    kinds = [p["type"] for p in parts]
    at = kinds.index("steering-message")
    assert parts[at] == {
        "type": "steering-message",
        "id": steer_id,
        "parts": [{"type": "text", "text": "Make it Paris, Texas"}],
    }
    assert kinds[at + 1] == "step-start"
    after = [p["text"] for p in parts[at:] if p["type"] == "text"]
    assert after
    assert all("taking into account: Make it Paris, Texas" in text for text in after)


def test_js_options_app_sends_metadata_ids_headers_and_a_copy() -> None:
    result = run_example("js_options_app.py")
    header, _, rest = result.stdout.partition("\n")
    body, _, summary = rest.partition("# saved: ")
    assert header == "# x-served-by: eu-1"
    report = validate_stream(body)
    metadata = report.message["metadata"]
    assert metadata["model"] == "offline-echo"
    assert metadata["finishedAt"] >= metadata["createdAt"]
    assert report.message["id"].startswith("answer-")
    saved, _, copied = summary.partition("\n")
    assert json.loads(saved) == {"id": report.message["id"], "metadata": metadata}
    assert copied.strip() == "# copy equals the stream: True"


def test_telemetry_app_prints_the_turns_span_in_the_callers_trace_and_its_metrics() -> None:
    result = run_example("telemetry_app.py")
    lines = result.stdout.splitlines(keepends=True)
    body = "".join(line for line in lines if not line.startswith("# "))
    report = validate_stream(body)
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"  # the example's traceparent
    assert report.message["metadata"] == {"traceId": trace_id}
    assert f"# the agent runs in trace {trace_id}\n" in lines  # current_trace_id()
    spans = {
        span["name"]: span
        for span in (json.loads(line[8:]) for line in lines if line.startswith("# span: "))
    }
    turn, tool = spans["uiwire.turn"], spans["look up the weather"]
    assert turn["context"]["trace_id"] == f"0x{trace_id}"
    assert turn["parent_id"] == "0x00f067aa0ba902b7"
    assert tool["parent_id"] == turn["context"]["span_id"]
    assert turn["attributes"]["uiwire.turn.status"] == "finish"
    (metrics,) = [json.loads(line[11:]) for line in lines if line.startswith("# metrics: ")]
    names = {
        metric["name"]
        for resource in metrics["resource_metrics"]
        for scope in resource["scope_metrics"]
        for metric in scope["metrics"]
    }
    assert {"uiwire.turns", "uiwire.stream.chunks", "uiwire.stream.time_to_first_chunk"} <= names


@pytest.fixture(scope="module", params=AI_SDK_MAJORS)
def typed_chat_project(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Path:
    """examples/typed_chat.tsx beside the types examples/typed_chat.py writes, on AI SDK
    6 and 7."""
    root = typescript_project(tmp_path_factory, "typed_chat", request.param)
    run_example("typed_chat.py", "-o", str(root / "chat-types.d.ts"))
    shutil.copy(EXAMPLES / "typed_chat.tsx", root / "typed_chat.tsx")
    return root


@pytest.mark.slow  # a tsc run over @ai-sdk/react and ai
@pytest.mark.timeout(600)
def test_typed_chat_page_compiles_against_the_generated_types(typed_chat_project: Path) -> None:
    types = (typed_chat_project / "chat-types.d.ts").read_text()
    assert "get_location: { input: GetLocationInput; output: Location };" in types
    result = tsc(typed_chat_project, "typed_chat.tsx")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_typed_chat_page_with_a_wrong_input_type_does_not(typed_chat_project: Path) -> None:
    page = (EXAMPLES / "typed_chat.tsx").read_text()
    right = "guests.map((g) => g.name)"
    assert page.count(right) == 1
    (typed_chat_project / "wrong.tsx").write_text(page.replace(right, "guests.map((g) => g.age)"))
    result = tsc(typed_chat_project, "wrong.tsx")
    assert result.returncode != 0
    assert "error TS2339: Property 'age' does not exist on type 'Guest'." in result.stdout
