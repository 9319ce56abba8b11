"""Merging queued deltas: one frame per run of deltas of one part, nothing else changed."""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from tests.support.context_scenarios import MERGED_TEXT, SCENARIOS, capture
from tests.support.stream_rules import assert_valid_body
from uiwire.protocol.encode import DONE_FRAME, encode_chunk
from uiwire.stream._merge import merge_queued


def frames(*chunks: dict[str, Any]) -> list[bytes]:
    return [encode_chunk(chunk) for chunk in chunks]


def events(data: bytes) -> list[Any]:
    """The body's events, decoded (``[DONE]`` as the string)."""
    out: list[Any] = []
    for event in data.split(b"\n\n")[:-1]:
        assert event.startswith(b"data: ")
        payload = event[len(b"data: ") :]
        out.append("[DONE]" if payload == b"[DONE]" else orjson.loads(payload))
    return out


def text(delta: str, part: str = "t1") -> dict[str, Any]:
    return {"type": "text-delta", "id": part, "delta": delta}


def test_a_single_frame_is_left_as_it_is() -> None:
    frame = encode_chunk(text("hi"))
    assert merge_queued([frame]) == frame


def test_consecutive_text_deltas_of_one_part_become_one() -> None:
    queued = frames(text("Hel"), text("lo, "), text("world"))
    assert events(merge_queued(queued)) == [text("Hello, world")]


@pytest.mark.parametrize(
    ("kind", "id_key", "delta_key"),
    [
        ("text-delta", "id", "delta"),
        ("reasoning-delta", "id", "delta"),
        ("tool-input-delta", "toolCallId", "inputTextDelta"),
    ],
)
def test_every_delta_kind_merges(kind: str, id_key: str, delta_key: str) -> None:
    queued = frames(*({"type": kind, id_key: "p", delta_key: piece} for piece in ('{"a', '":1}')))
    assert events(merge_queued(queued)) == [{"type": kind, id_key: "p", delta_key: '{"a":1}'}]


def test_deltas_of_other_parts_or_kinds_stay_apart() -> None:
    queued = frames(
        text("a", "t1"),
        text("b", "t2"),
        {"type": "reasoning-delta", "id": "t2", "delta": "c"},
        text("d", "t2"),
        text("e", "t2"),
    )
    assert events(merge_queued(queued)) == [
        text("a", "t1"),
        text("b", "t2"),
        {"type": "reasoning-delta", "id": "t2", "delta": "c"},
        text("de", "t2"),
    ]


def test_other_frames_end_a_run_and_are_kept_in_place() -> None:
    queued = [
        *frames(text("a"), text("b"), {"type": "text-end", "id": "t1"}, {"type": "finish"}),
        DONE_FRAME,
    ]
    assert events(merge_queued(queued)) == [
        text("ab"),
        {"type": "text-end", "id": "t1"},
        {"type": "finish"},
        "[DONE]",
    ]


def test_a_delta_with_provider_metadata_is_never_merged() -> None:
    with_metadata = {**text("b"), "providerMetadata": {"x": {"y": "z"}}}
    queued = frames(text("a"), with_metadata, text("c"))
    assert events(merge_queued(queued)) == [text("a"), with_metadata, text("c")]


def test_escapes_survive_the_merge() -> None:
    pieces = ['say "hi"', "\\", "\n", "é😀", '\\"', "\u2028", "</script>"]
    merged = events(merge_queued(frames(*(text(piece) for piece in pieces))))
    assert merged == [text("".join(pieces))]


def test_ids_that_look_like_keys_are_not_misread() -> None:
    tricky = 'x","delta":"'
    queued = frames(text("a", tricky), text("b", tricky), text("c", "x"))
    merged = events(merge_queued(queued))
    assert "".join(c["delta"] for c in merged if c["id"] == tricky) == "ab"
    assert merged[-1] == text("c", "x")


def test_several_frames_pushed_as_one_are_merged_too() -> None:
    pushed = b"".join(frames({"type": "text-start", "id": "t1"}, text("a")))
    assert events(merge_queued([pushed, *frames(text("b"))])) == [
        {"type": "text-start", "id": "t1"},
        text("ab"),
    ]


def test_random_queues_keep_the_same_message() -> None:
    """Whatever is queued, the merged body says the same: the same non-delta events in
    the same order, and between them the same text per part."""
    rng = random.Random(23)
    alphabet = ["a", '"', "\\", "é", "\n", " ", "😀", ","]
    for _ in range(300):
        chunks: list[dict[str, Any]] = []
        for _ in range(rng.randint(1, 12)):
            roll = rng.random()
            piece = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 4)))
            part = rng.choice(["t1", "t2"])
            if roll < 0.5:
                chunks.append(text(piece, part))
            elif roll < 0.7:
                chunks.append({"type": "reasoning-delta", "id": part, "delta": piece})
            elif roll < 0.85:
                chunks.append(
                    {"type": "tool-input-delta", "toolCallId": part, "inputTextDelta": piece}
                )
            else:
                chunks.append({"type": "data-x", "data": piece})
        assert _meaning(events(merge_queued(frames(*chunks)))) == _meaning(chunks)


def _meaning(chunks: list[Any]) -> list[Any]:
    """Runs of deltas of one part folded into one, so merged and unmerged compare equal."""
    out: list[Any] = []
    for chunk in chunks:
        kind = chunk["type"]
        key = "inputTextDelta" if kind == "tool-input-delta" else "delta"
        part = chunk.get("toolCallId", chunk.get("id"))
        if (
            kind.endswith("-delta")
            and out
            and isinstance(out[-1], tuple)
            and out[-1][:2] == (kind, part)
        ):
            out[-1] = (kind, part, out[-1][2] + chunk[key])
        elif kind.endswith("-delta"):
            out.append((kind, part, chunk[key]))
        else:
            out.append(chunk)
    return out


async def test_the_merged_deltas_scenario_reaches_the_client_merged() -> None:
    """The JS corpus case ``context/merged-deltas`` checks what it claims: merged runs."""
    work, options = SCENARIOS["merged-deltas"]
    chunks = assert_valid_body(await capture(work, **options))
    reasoning = [c["delta"] for c in chunks if c["type"] == "reasoning-delta"]
    assert reasoning == ["Thinking, step two."]
    inputs = [c["inputTextDelta"] for c in chunks if c["type"] == "tool-input-delta"]
    assert inputs == ['{"query": "weather \\"now\\""}']
    texts = [c["delta"] for c in chunks if c["type"] == "text-delta"]
    assert texts[0] == "".join(MERGED_TEXT)
    assert texts[-1] == "left again and again"
    assert len(texts) == 1 + 6 + 1  # the interleaved keyed parts stay apart
