"""Steering across two uvicorn worker processes sharing a real redis-server, as behind a
load balancer: a steer sent to worker B reaches the answer worker A is writing, which
shows it before its next step and gives it to its next model call."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.fake_llm import FakeLLM
from tests.support.messages import user
from tests.support.redis_server import RedisServer
from tests.support.resume_app import resume_workers
from tests.support.servers import read_rest, read_until
from tests.support.steering_app import ANSWER_PREFIX, echo_model, user_texts

STEER = {"id": "steer_b", "parts": [{"type": "text", "text": "Use Paris, Texas instead."}]}


@pytest.fixture
def llm() -> Iterator[FakeLLM]:
    with FakeLLM(echo_model) as llm:
        yield llm


@pytest.fixture
def workers(redis_server: RedisServer, llm: FakeLLM) -> Iterator[list[str]]:
    env = {"UIWIRE_TEST_REDIS_URL": redis_server.url, "UIWIRE_TEST_LLM_URL": llm.base_url}
    with resume_workers(
        env, env, app="tests.support.steering_app:create_app", ready="/test/ready"
    ) as bases:
        yield bases


@pytest.mark.timeout(120)
async def test_a_steer_sent_to_b_reaches_the_answer_on_a(workers: list[str], llm: FakeLLM) -> None:
    a, b = workers
    body = {"id": "chat-9", "messages": [user("Where is Paris?")], "trigger": "submit-message"}
    async with httpx.AsyncClient(timeout=30) as client:
        async with client.stream("POST", f"{a}/api/chat?user=u1", json=body) as posted:
            first = await read_until(posted, '"tool-input-available"')
            other = await client.post(f"{b}/api/chat/chat-9/steer?user=u2", json=STEER)
            steered = await client.post(f"{b}/api/chat/chat-9/steer?user=u1", json=STEER)
            rest = await read_rest(posted)
        after = await client.post(f"{b}/api/chat/chat-9/steer?user=u1", json=STEER)
    # another owner's chat: with the conversations kept by the client, as nothing
    # running (stop's 204), never their answer
    assert other.status_code == 409
    assert other.json()["error"]["fields"][0]["type"] == "no_running_answer"
    assert (steered.status_code, steered.json()) == (202, {"id": "steer_b"})
    kinds = [c["type"] for c in first + rest]
    at = kinds.index("steering-message")
    assert (first + rest)[at] == {"type": "steering-message", **STEER}
    assert kinds[at - 1 : at + 2] == ["finish-step", "steering-message", "start-step"]
    assert user_texts(llm.requests[1]) == ["Where is Paris?", "Use Paris, Texas instead."]
    text = "".join(c["delta"] for c in first + rest if c["type"] == "text-delta")
    assert text == f"{ANSWER_PREFIX}Where is Paris? | Use Paris, Texas instead."
    assert after.status_code == 409  # the answer has ended
    assert after.json()["error"]["fields"][0]["type"] == "no_running_answer"
