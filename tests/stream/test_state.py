"""SharedState: dot paths, atomic updates, safe from threads."""

from __future__ import annotations

import threading

import pytest

from uiwire.stream import SharedState


def test_get_set_and_defaults() -> None:
    state = SharedState({"user": {"id": "u1"}})
    assert state.get("user.id") == "u1"
    assert state.get("user.missing", "dflt") == "dflt"
    assert state.get("user.id.deeper") is None  # a non-dict on the way is "missing"
    state.set("a.b.c", 1)
    assert state.snapshot() == {"user": {"id": "u1"}, "a": {"b": {"c": 1}}}


def test_initial_state_is_copied() -> None:
    initial = {"list": [1]}
    state = SharedState(initial)
    state.get("list").append(2)
    assert initial == {"list": [1]}


def test_snapshot_is_a_deep_copy() -> None:
    state = SharedState()
    state.set("items", [1])
    snap = state.snapshot()
    snap["items"].append(2)
    assert state.get("items") == [1]


def test_delete() -> None:
    state = SharedState({"a": {"b": 1}})
    assert state.delete("a.b") is True
    assert state.delete("a.b") is False
    assert state.delete("x.y") is False
    assert state.get("a") == {}


@pytest.mark.parametrize("path", ["", "a..b", ".a", "a.", 3])
def test_bad_paths_are_named(path: object) -> None:
    with pytest.raises(ValueError, match="path"):
        SharedState().get(path)  # type: ignore[arg-type]


def test_setting_through_a_non_dict_names_the_segment() -> None:
    state = SharedState({"a": {"b": 5}})
    with pytest.raises(TypeError, match=r"'a\.b' holds a int"):
        state.set("a.b.c", 1)


def test_update_is_atomic_across_threads() -> None:
    state = SharedState()

    def bump() -> None:
        for _ in range(5000):
            state.update("n", lambda n: n + 1, default=0)

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert state.get("n") == 40000
