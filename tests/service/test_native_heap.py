"""The C heap: two glibc arenas unless the operator chose, and the free pages handed back on a timer."""

from __future__ import annotations

import asyncio
import platform

import pytest

from service._native_heap import ARENAS, limit_arenas, trim_heap, trim_heap_every

glibc_only = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt and malloc_trim are glibc's")


@glibc_only
def test_two_arenas_are_asked_for_unless_the_operator_chose() -> None:
    assert limit_arenas({}) == ARENAS == 2
    assert limit_arenas({"MALLOC_ARENA_MAX": "8"}) is None  # glibc read the operator's number at start


@glibc_only
def test_free_pages_are_handed_back() -> None:
    blocks = [bytearray(100_000) for _ in range(500)]  # 50 MB from the C heap, then freed
    del blocks
    assert trim_heap() is True


def test_the_timer_trims_until_cancelled() -> None:
    trims: list[int] = []

    async def run() -> None:
        task = asyncio.ensure_future(trim_heap_every(0.001, trim=lambda: trims.append(1)))
        deadline = asyncio.get_running_loop().time() + 10
        while len(trims) < 3:
            assert asyncio.get_running_loop().time() < deadline, "the timer did not trim three times"
            await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        done = len(trims)
        await asyncio.sleep(0.01)
        assert len(trims) == done  # cancelled: no trim after

    asyncio.run(run())
