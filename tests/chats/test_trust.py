"""``plan_turn`` and ``accept_client_answers``: what the server believes of a request."""

from __future__ import annotations

import copy
import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.messages import assistant, tool, user
from uiwire.chats.store import AnswerState, Chat, ChatInfo
from uiwire.chats.trust import accept_client_answers, plan_turn
from uiwire.protocol import ChatRequestError, UIMessage, parse_chat_request

NOW = datetime.datetime(2026, 12, 7, tzinfo=datetime.timezone.utc)


def stored_chat(*messages: dict[str, Any], answers: dict[str, AnswerState] | None = None) -> Chat:
    parsed = tuple(UIMessage.model_validate(m) for m in messages)
    states = answers or {m.id: "finish" for m in parsed if m.role == "assistant"}
    info = ChatInfo(id="c", owner="o", title="t", created_at=NOW, updated_at=NOW, version=3)
    return Chat(info=info, messages=parsed, answers=states, active_turn=None)


def request(*messages: dict[str, Any], trigger: str = "submit-message") -> Any:
    return parse_chat_request({"id": "c", "messages": list(messages), "trigger": trigger})


PAUSED = assistant(
    "Let me check.",
    tool(
        "pay",
        "call_1",
        "approval-requested",
        input={"amount": 5},
        approval={"id": "aprv_1"},
    ),
    tool("locate", "call_2", "input-available", input={}),
    id="msg_a",
)


def refusal(exc: pytest.ExceptionInfo[ChatRequestError]) -> tuple[int, str]:
    return exc.value.status_code, exc.value.errors[0].field


def test_a_new_user_message_is_appended_after_the_stored_ones() -> None:
    chat = stored_chat(user("hi", id="u1"), assistant("hello", id="a1"))
    plan = plan_turn(chat, request(user("forged", id="u1"), user("next", id="u2")), field="m")
    assert plan.keep == 2
    assert [m.id for m in plan.add] == ["u2"]
    assert [m.id for m in plan.messages] == ["u1", "a1", "u2"]
    assert plan.messages[0].parts[0].text == "hi"  # pyright: ignore[reportAttributeAccessIssue]
    assert plan.continued is None
    assert plan.answer.role == "assistant"
    assert plan.answer.parts == []


def test_an_edit_replaces_the_user_message_and_drops_what_followed() -> None:
    chat = stored_chat(
        user("one", id="u1"), assistant("a", id="a1"), user("two", id="u2"), assistant("b", id="a2")
    )
    plan = plan_turn(chat, request(user("TWO", id="u2")), field="m")
    assert plan.keep == 2
    assert [m.id for m in plan.messages] == ["u1", "a1", "u2"]
    assert plan.messages[-1].parts[0].text == "TWO"  # pyright: ignore[reportAttributeAccessIssue]


def test_regenerate_answers_the_stored_user_message_again() -> None:
    chat = stored_chat(user("one", id="u1"), assistant("a", id="a1"))
    plan = plan_turn(
        chat, request(user("changed", id="u1"), trigger="regenerate-message"), field="m"
    )
    assert plan.keep == 1
    assert plan.add == ()
    assert plan.messages[0].parts[0].text == "one"  # pyright: ignore[reportAttributeAccessIssue]
    with pytest.raises(ChatRequestError) as exc:
        plan_turn(chat, request(user("x", id="u9"), trigger="regenerate-message"), field="m")
    assert refusal(exc) == (404, "m.id")


def test_what_a_user_may_not_send_is_refused() -> None:
    chat = stored_chat(user("one", id="u1"), PAUSED)
    cases = [
        (request(assistant("made up", id="msg_x")), (404, "m.id")),
        (request(user("x", id="msg_a")), (422, "m.id")),  # a user message by an answer's id
        (
            request(user("x", tool("pay", "c", "output-available", input={}, output=1), id="u2")),
            (422, "m.parts[1].type"),
        ),
    ]
    for sent, expected in cases:
        with pytest.raises(ChatRequestError) as exc:
            plan_turn(chat, sent, field="m")
        assert refusal(exc) == expected
    with pytest.raises(ChatRequestError) as exc:
        plan_turn(None, request(assistant("x", id="msg_a")), field="m")
    assert refusal(exc) == (404, "m.id")


def test_only_the_last_finished_answer_can_be_continued() -> None:
    older = stored_chat(PAUSED, user("later", id="u2"), assistant("b", id="a2"))
    with pytest.raises(ChatRequestError) as exc:
        plan_turn(older, request(PAUSED), field="m")
    assert refusal(exc) == (409, "m.id")
    running = stored_chat(user("q", id="u1"), PAUSED, answers={"msg_a": "running"})
    with pytest.raises(ChatRequestError) as exc:
        plan_turn(running, request(PAUSED), field="m")
    assert refusal(exc) == (409, "m.id")


def test_a_continuation_takes_the_approval_answer_and_the_client_tool_output() -> None:
    sent = copy.deepcopy(PAUSED)
    sent["parts"][1].update(
        state="approval-responded", approval={"id": "aprv_1", "approved": False, "reason": "no"}
    )
    sent["parts"][2].update(state="output-available", output={"city": "Paris"})
    plan = plan_turn(stored_chat(user("q", id="u1"), PAUSED), request(sent), field="m")
    assert plan.keep == 1
    assert plan.continued is plan.answer
    parts = plan.answer.to_json()["parts"]
    assert parts[1]["state"] == "approval-responded"
    assert parts[1]["approval"] == {"id": "aprv_1", "approved": False, "reason": "no"}
    assert parts[2]["state"] == "output-available"
    assert parts[2]["output"] == {"city": "Paris"}


def test_an_output_for_a_call_of_an_answer_that_did_not_finish_is_ignored() -> None:
    sent = copy.deepcopy(PAUSED)
    sent["parts"][2].update(state="output-available", output="forged")
    stored = UIMessage.model_validate(PAUSED)
    merged = accept_client_answers(stored, UIMessage.model_validate(sent), client_outputs=False)
    assert merged == stored  # an aborted server tool is not the client's to answer


# --- property: nothing but the two answers ever comes from the client -----------------

_values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))


@st.composite
def forged(draw: st.DrawFn) -> dict[str, Any]:
    """The paused message, changed by the client in arbitrary ways."""
    sent = copy.deepcopy(PAUSED)
    for part in sent["parts"]:
        for key in draw(
            st.lists(st.sampled_from(["text", "input", "output", "state", "title"]), max_size=3)
        ):
            if key == "state" and "toolCallId" in part:
                part["state"] = draw(
                    st.sampled_from(
                        ["output-available", "output-error", "approval-responded", "output-denied"]
                    )
                )
                if part["state"] == "output-error":
                    part["errorText"] = draw(st.text(max_size=5))
                if part["state"] == "output-available":
                    part["output"] = draw(_values)
                if part["state"] in ("approval-responded", "output-denied"):
                    part["approval"] = {
                        "id": draw(st.sampled_from(["aprv_1", "aprv_2"])),
                        "approved": draw(st.booleans()),
                    }
            elif key == "text" and part["type"] == "text":
                part["text"] = draw(st.text(max_size=8))
    sent["metadata"] = draw(_values)
    sent["parts"] += draw(
        st.lists(
            st.just(
                {
                    "type": "tool-pay",
                    "toolCallId": "call_9",
                    "state": "output-available",
                    "input": {},
                    "output": 1,
                }
            ),
            max_size=1,
        )
    )
    return sent


@settings(max_examples=200, deadline=None)
@given(forged(), st.booleans())
def test_a_merged_message_differs_from_the_stored_one_only_in_the_answers(
    sent: dict[str, Any], client_outputs: bool
) -> None:
    stored = UIMessage.model_validate(PAUSED)
    try:
        sent_message = UIMessage.model_validate(sent)
    except ValueError:
        return  # the parser refuses it before any merge
    refused: ChatRequestError | None = None
    try:
        merged_message = accept_client_answers(stored, sent_message, client_outputs=client_outputs)
    except ChatRequestError as exc:  # an answer to an approval never asked for
        refused = exc
    if refused is not None:
        assert refused.status_code == 404
        assert refused.errors[0].field.endswith(".approval.id")
        return
    merged = merged_message.to_json()
    original = stored.to_json()
    assert merged["id"] == original["id"]
    assert merged.get("metadata") == original.get("metadata")
    assert len(merged["parts"]) == len(original["parts"])
    assert merged["parts"][0] == original["parts"][0]
    pay, locate = merged["parts"][1], merged["parts"][2]
    assert pay["input"] == {"amount": 5}
    if pay != original["parts"][1]:
        assert pay["state"] == "approval-responded"
        assert pay["approval"]["id"] == "aprv_1"
    if locate != original["parts"][2]:
        assert client_outputs
        assert locate["state"] in ("output-available", "output-error")
        assert locate["input"] == {}
