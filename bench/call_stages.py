"""Calls per request by pipeline stage, for `python -m bench.calls --stages`.

cProfile counts calls per function; this says in which stage of the request they were made.
A profile hook (`sys.setprofile`, main thread) counts every Python and C call and gives it to
the innermost frame on the stack that belongs to a stage (STAGES: a label for the functions of
a module prefix, optionally only some names). A coroutine's frame leaves the stack when it
suspends and comes back when it resumes, so awaiting does not mix stages up.
"""

from __future__ import annotations

import collections
import os
import sys
from types import CodeType, FrameType
from typing import Any

# (label, file path fragment, function names or () for all). First match wins; order from the
# most specific. Paths are matched with "/" separators; `{file}` in a label is the module's
# file name (our extensions, one row each).
STAGES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("request log line", "sigma_graphql/observability/request_log", ()),
    ("request log line", "/logging/", ()),
    ("metrics", "/prometheus_client/", ()),
    ("metrics", "sigma_graphql/observability/metrics", ()),
    ("tracing", "/opentelemetry/", ()),
    ("MongoDB driver", "/pymongo/", ()),
    ("MongoDB driver", "/bson/", ()),
    ("Cassandra driver", "/cassandra/", ()),
    ("repositories (db/)", "/db/", ()),
    ("loaders", "/loaders/", ()),
    ("loaders", "/aiodataloader/", ()),
    ("resolvers and types", "/resolvers/", ()),
    ("resolvers and types", "/schema/types/", ()),
    ("inline plans", "<sigma inline plan>", ()),
    ("inline plans", "sigma_graphql/execution/fast_execution", ()),
    ("inline plans", "sigma_graphql/execution/plan_compiler", ()),
    ("permissions", "sigma_graphql/permissions", ()),
    ("extension hooks: {file}", "sigma_graphql/limits/", ()),
    ("extension hooks: {file}", "sigma_graphql/execution/", ()),
    ("extension runner", "/strawberry/extensions/", ()),
    ("graphql-core", "/graphql/", ()),
    ("Strawberry Schema.execute", "/strawberry/schema/", ()),
    ("Strawberry other", "/strawberry/", ()),
    ("our view and context", "sigma_graphql/server/app", ()),
    ("our view and context", "sigma_graphql/request/", ()),
    ("our ASGI middlewares", "sigma_graphql/server/", ()),
    ("our ASGI middlewares", "sigma_graphql/core/requestid", ()),
    ("Starlette", "/starlette/", ()),
    ("B1 route", "/bench/servers", ()),
    ("B1 route", "/bench/raw", ()),
    ("B1 route", "/bench/core", ()),
)


class StageCounter:
    """The profile hook: calls per stage, while installed (`start`, `stop`)."""

    def __init__(self, detail: str = "") -> None:
        # Stages to split by function (`--stages-detail`, comma-separated).
        self.detail = {name for name in detail.split(",") if name}
        self.calls: collections.Counter[str] = collections.Counter()
        self._labels: dict[CodeType, str | None] = {}
        self._stack: list[tuple[FrameType, str]] = []

    def _label(self, code: CodeType) -> str | None:
        found = self._labels.get(code, "")
        if found == "":
            path = code.co_filename.replace(os.sep, "/")
            found = next(
                (
                    label.format(file=os.path.basename(path))
                    for label, part, names in STAGES
                    if part in path and (not names or code.co_name in names)
                ),
                None,
            )
            if found is not None and found in self.detail:
                found = f"{found}: {code.co_qualname} ({os.path.basename(path)})"
            self._labels[code] = found
        return found

    def _hook(self, frame: FrameType, event: str, _arg: Any) -> None:
        if event == "c_call":
            self.calls[self._stack[-1][1] if self._stack else "other"] += 1
        elif event == "call":
            label = self._label(frame.f_code)
            if label is not None:
                self._stack.append((frame, label))
            self.calls[self._stack[-1][1] if self._stack else "other"] += 1
        elif event == "return" and self._stack and self._stack[-1][0] is frame:
            self._stack.pop()

    def start(self) -> None:
        self._stack.clear()
        sys.setprofile(self._hook)

    def stop(self) -> None:
        sys.setprofile(None)
