"""The garbage collector of a long-running API process (issue 16, bench/README.md).

CPython's cyclic collector runs whenever enough container objects have been allocated, and each
run of the oldest generation walks every object still alive: the imported modules, the
Strawberry and graphql-core schema, cached documents and plans. A request that builds a page of
100 UMKMs with a year of logs allocates thousands of objects and so pays for several such walks.
`settle_after_startup()` collects once after start-up and then freezes what is left
(`gc.freeze()`): those objects move to a permanent generation that collections skip. Objects
created later are collected as before, so memory is still reclaimed; only the start-up heap,
which lives as long as the process anyway, is no longer scanned.
"""

from __future__ import annotations

import gc

_settled = False


def settle_after_startup() -> bool:
    """Collect, then freeze the heap; once per process (a test process starts many apps, and
    freezing each one's objects would keep them alive). True when this call froze it."""
    global _settled
    if _settled:
        return False
    _settled = True
    gc.collect()
    gc.freeze()
    return True
