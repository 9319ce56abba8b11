"""FrameLog: what one process's followers of a stream read."""

from __future__ import annotations

import asyncio

import pytest

from uiwire.protocol.encode import DONE_FRAME
from uiwire.resume import FrameLog, StreamInterrupted


async def read_all(log: FrameLog, **kwargs: object) -> list[bytes]:
    return [data async for data in log.follow(**kwargs)]  # type: ignore[arg-type]


async def test_a_late_follower_gets_every_frame_then_the_live_ones() -> None:
    log = FrameLog([b"data: 1\n\n"])
    log.append([b"data: 2\n\n"])
    reader = asyncio.create_task(read_all(log))
    await asyncio.sleep(0.01)
    log.append([b"data: 3\n\n"])
    log.append([DONE_FRAME])
    log.end()
    got = await asyncio.wait_for(reader, 5)
    assert b"".join(got) == b"data: 1\n\ndata: 2\n\ndata: 3\n\n" + DONE_FRAME
    assert got[0] == b"data: 1\n\ndata: 2\n\n"  # what was waiting comes in one piece


async def test_start_skips_frames_and_done_ends_the_reading() -> None:
    log = FrameLog([b"prefix", b"a", DONE_FRAME])
    assert await read_all(log, start=1) == [b"a" + DONE_FRAME]  # ended by [DONE], no end()


async def test_idle_followers_get_an_empty_item_for_a_keep_alive() -> None:
    log = FrameLog()
    follower = log.follow(idle=0.02)
    assert await asyncio.wait_for(anext(follower), 5) == b""
    log.append([b"x"])
    assert await anext(follower) == b"x"
    await follower.aclose()


async def test_a_log_cut_short_interrupts_its_followers_after_its_frames() -> None:
    log = FrameLog([b"a"])
    follower = log.follow()
    assert await anext(follower) == b"a"
    log.end("the worker stopped")
    with pytest.raises(StreamInterrupted, match="the worker stopped"):
        await anext(follower)
    assert log.ended
    assert log.size == 1


async def test_ending_without_done_counts_as_cut_short() -> None:
    log = FrameLog([b"a"])
    log.end()
    with pytest.raises(StreamInterrupted):
        await read_all(log)
    with pytest.raises(RuntimeError):
        log.append([b"late"])
