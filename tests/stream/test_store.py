"""Store: dot paths, atomic updates, safe from threads."""

from __future__ import annotations

import threading

import pytest

from uiwire.stream import Store


def test_get_set_and_defaults() -> None:
    store = Store({"user": {"id": "u1"}})
    assert store.get("user.id") == "u1"
    assert store.get("user.missing", "dflt") == "dflt"
    assert store.get("user.id.deeper") is None  # a non-dict on the way is "missing"
    store.set("a.b.c", 1)
    assert store.snapshot() == {"user": {"id": "u1"}, "a": {"b": {"c": 1}}}


def test_initial_state_is_copied() -> None:
    initial = {"list": [1]}
    store = Store(initial)
    store.get("list").append(2)
    assert initial == {"list": [1]}


def test_snapshot_is_a_deep_copy() -> None:
    store = Store()
    store.set("items", [1])
    snap = store.snapshot()
    snap["items"].append(2)
    assert store.get("items") == [1]


def test_delete() -> None:
    store = Store({"a": {"b": 1}})
    assert store.delete("a.b") is True
    assert store.delete("a.b") is False
    assert store.delete("x.y") is False
    assert store.get("a") == {}


@pytest.mark.parametrize("path", ["", "a..b", ".a", "a.", 3])
def test_bad_paths_are_named(path: object) -> None:
    with pytest.raises(ValueError, match="path"):
        Store().get(path)  # type: ignore[arg-type]


def test_setting_through_a_non_dict_names_the_segment() -> None:
    store = Store({"a": {"b": 5}})
    with pytest.raises(TypeError, match=r"'a\.b' holds a int"):
        store.set("a.b.c", 1)


def test_update_is_atomic_across_threads() -> None:
    store = Store()

    def bump() -> None:
        for _ in range(5000):
            store.update("n", lambda n: n + 1, default=0)

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get("n") == 40000
