"""The loaders' DataLoader (loaders/dataloader.py): aiodataloader's batching, with a failed batch
staying failed and a cancelled load loaded afresh, as with the loader used before issue 13."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from loaders.dataloader import DataLoader


class Source:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[int]] = []
        self.fail = fail

    async def load(self, keys: Sequence[int]) -> list[int]:
        self.calls.append(list(keys))
        await asyncio.sleep(0)
        if self.fail:
            raise RuntimeError("database down")
        return [k * 10 for k in keys]


async def test_loads_of_one_tick_form_one_batch_and_are_cached() -> None:
    source = Source()
    loader = DataLoader(load_fn=source.load)
    got = list(await asyncio.gather(loader.load(1), loader.load(2), loader.load(1)))
    assert got == [10, 20, 10] and source.calls == [[1, 2]]
    assert await loader.load_many([2, 3]) == [20, 30]
    assert source.calls == [[1, 2], [3]]


async def test_a_failed_batch_stays_failed_without_a_second_call() -> None:
    source = Source(fail=True)
    loader = DataLoader(load_fn=source.load)
    for _ in range(2):
        with pytest.raises(RuntimeError, match="database down"):
            await loader.load(1)
    assert source.calls == [[1]]


async def test_a_cancelled_load_is_loaded_afresh() -> None:
    source = Source()
    loader = DataLoader(load_fn=source.load)
    waiting = asyncio.ensure_future(loader.load(1))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert await loader.load(1) == 10
