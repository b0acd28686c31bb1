"""`python -m bench.dataloaders`: CPU time per load of strawberry.dataloader and aiodataloader.

Decides which DataLoader the loaders/ factories build on (issue 13: the design card names
aiodataloader; keep the faster one). Both run the same work on one event loop, with a batch
function that returns its keys (no I/O, so only the loader's own bookkeeping is timed): per
round a fresh loader (one request), `per_round` distinct keys loaded one by one with `load`
and gathered, or through `load_many`, then the same keys again (cache hits). The batches each
implementation formed are counted so a difference in batching cannot hide in the figures.
Prints a Markdown table: process CPU time per load (median of `--repeats`), batches formed.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, Protocol

import aiodataloader
import strawberry.dataloader
import uvloop


class Loader(Protocol):
    def load(self, key: int) -> Awaitable[int]: ...

    def load_many(self, keys: list[int]) -> Awaitable[list[int]]: ...


class Counter:
    def __init__(self) -> None:
        self.batches = 0
        self.keys = 0

    async def load(self, keys: Sequence[int]) -> list[int]:
        self.batches += 1
        self.keys += len(keys)
        return list(keys)


def strawberry_loader(counter: Counter) -> Loader:
    return strawberry.dataloader.DataLoader(load_fn=counter.load)


def aiodataloader_loader(counter: Counter) -> Loader:
    loader: Loader = aiodataloader.DataLoader(counter.load)
    return loader


IMPLEMENTATIONS: dict[str, Callable[[Counter], Loader]] = {
    "strawberry.dataloader": strawberry_loader,
    "aiodataloader": aiodataloader_loader,
}


async def one_by_one(loader: Loader, keys: list[int]) -> list[int]:
    return list(await asyncio.gather(*(loader.load(k) for k in keys)))


async def many(loader: Loader, keys: list[int]) -> list[int]:
    return await loader.load_many(keys)


MODES: dict[str, Callable[[Loader, list[int]], Coroutine[Any, Any, list[int]]]] = {
    "load x N, gather": one_by_one,
    "load_many(N)": many,
}


async def run(
    make: Callable[[Counter], Loader],
    mode: Callable[[Loader, list[int]], Coroutine[Any, Any, list[int]]],
    loads: int,
    per_round: int,
    cached: bool,
) -> tuple[float, Counter]:
    """CPU seconds for `loads` loads (the cached pass, when asked, is timed alone)."""
    counter = Counter()
    spent = 0.0
    for start in range(0, loads, per_round):
        keys = list(range(start, start + per_round))
        loader = make(counter)
        began = time.process_time()
        got = await mode(loader, keys)
        if cached:
            began = time.process_time()
            got = await mode(loader, keys)
        spent += time.process_time() - began
        assert got == keys
    return spent, counter


def measure(
    loads: int, per_round: int, repeats: int, loop_factory: Callable[[], asyncio.AbstractEventLoop]
) -> list[tuple[str, str, float, int]]:
    rows = []
    for cached in (False, True):
        for mode_name, mode in MODES.items():
            for name, make in IMPLEMENTATIONS.items():
                times = []
                batches = 0
                for _ in range(repeats):
                    with asyncio.Runner(loop_factory=loop_factory) as runner:
                        spent, counter = runner.run(run(make, mode, loads, per_round, cached))
                    times.append(spent)
                    batches = counter.batches
                label = mode_name.replace("N", str(per_round))
                label += ", again (cached)" if cached else ""
                rows.append((label, name, statistics.median(times) / loads * 1e6, batches))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=100_000)
    parser.add_argument("--per-round", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    # The servers run on uvloop (uvicorn[standard]); plain asyncio for comparison.
    loops: dict[str, Callable[[], asyncio.AbstractEventLoop]] = {
        "asyncio": asyncio.new_event_loop,
        "uvloop": uvloop.new_event_loop,
    }
    print(f"{args.loads:,} loads, {args.per_round} keys per round, median of {args.repeats}\n")
    print("| event loop | work | implementation | CPU µs per load | batches |")
    print("|---|---|---|---:|---:|")
    for loop_name, factory in loops.items():
        for label, name, micros, batches in measure(
            args.loads, args.per_round, args.repeats, factory
        ):
            print(f"| {loop_name} | {label} | {name} | {micros:.2f} | {batches:,} |")


if __name__ == "__main__":
    main()
