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


async def _cancel_a_load(loader: DataLoader[int, int], key: int) -> None:
    """A load of `key` cancelled with its caller while queued (its future stays cached)."""
    waiting = asyncio.ensure_future(loader.load(key))
    await asyncio.sleep(0)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_a_cancelled_load_is_loaded_afresh() -> None:
    source = Source()
    loader = DataLoader(load_fn=source.load)
    await _cancel_a_load(loader, 1)
    assert await loader.load(1) == 10


async def test_load_many_answers_in_order_and_fails_like_gather() -> None:
    source = Source()
    loader = DataLoader(load_fn=source.load)
    pending = loader.load_many([3, 1, 2])  # queued now, in this tick's batch
    many, one = await asyncio.gather(pending, loader.load(4))
    assert (many, one) == ([30, 10, 20], 40)
    assert source.calls == [[3, 1, 2, 4]]
    failing = DataLoader(load_fn=Source(fail=True).load)
    with pytest.raises(RuntimeError, match="database down"):
        await failing.load_many([1, 2, 3])
    # Keys 2 and 3 failed too: their exceptions count as retrieved, as gather leaves them, or
    # asyncio logs "exception was never retrieved" for each when the request's loaders go.
    futures = list(failing._cache.values())
    assert len(futures) == 3
    assert not any(f._log_traceback for f in futures[1:])  # type: ignore[attr-defined]


async def test_load_many_queues_each_key_once_beside_single_loads() -> None:
    source = Source()
    loader = DataLoader(load_fn=source.load)
    first = loader.load(4)  # queued first: load_many joins its batch
    many = loader.load_many([4, 5, 5, 6])
    assert (await first, await many) == (40, [40, 50, 50, 60])
    assert source.calls == [[4, 5, 6]]
    # Cached keys are not asked again; new ones form the next tick's batch.
    assert await loader.load_many([6, 7, 4]) == [60, 70, 40]
    assert source.calls == [[4, 5, 6], [7]]
    with pytest.raises(TypeError):
        loader.load_many([1, None])  # type: ignore[list-item]


async def test_load_many_loads_a_cancelled_key_afresh() -> None:
    source = Source()
    loader = DataLoader(load_fn=source.load)
    await _cancel_a_load(loader, 1)
    assert await loader.load_many([1, 2]) == [10, 20]
    # The cancelled entry was still queued (as with `load`): key 1 is in the batch twice.
    assert source.calls == [[1, 1, 2]]


@pytest.mark.parametrize(
    "steps",
    [
        [[1, 2], [2, 3], [3]],
        [[5], [5, 5], [6, 5, 7]],
        [[], [1], [], [1, 2]],
    ],
)
async def test_load_many_batches_as_per_key_loads_do(steps: list[list[int]]) -> None:
    # The same calls in the same ticks, through load_many and through one load per key.
    ours, per_key = Source(), Source()
    many, single = DataLoader(load_fn=ours.load), DataLoader(load_fn=per_key.load)
    for same_tick in (False, True):
        got = await asyncio.gather(*(many.load_many(s) for s in steps))
        expected = await asyncio.gather(
            *(asyncio.gather(*(single.load(k) for k in s)) for s in steps)
        )
        assert [list(g) for g in got] == [list(e) for e in expected]
        assert ours.calls == per_key.calls, same_tick


async def test_the_constructor_sets_what_aiodataloaders_sets() -> None:
    import aiodataloader

    async def load(keys: list[int]) -> list[int]:
        return keys

    ours = DataLoader(load_fn=load)
    stock = aiodataloader.DataLoader(load)
    # get_cache_key is a method of ours (a key is its own cache key), an attribute of theirs.
    assert set(vars(ours)) == set(vars(stock)) - {"get_cache_key"}
    assert ours.get_cache_key(5) == stock.get_cache_key(5) == 5
    assert ours.loop is stock.loop and ours._cache == {} and ours._queue == []
    assert (ours.batch, ours.cache, ours.max_batch_size) == (True, True, None)
