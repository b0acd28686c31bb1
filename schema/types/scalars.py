"""Custom scalars (registered in the schema config's scalar_map). DateTime and Date are
Strawberry's built-ins (ISO-8601)."""

from __future__ import annotations

from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

MAX_RUPIAH = 9_007_199_254_740_991  # 2**53 - 1: exact in every JSON client


def _parse_rupiah(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("Rupiah must be a whole number")
    if not 0 <= value <= MAX_RUPIAH:
        raise ValueError(f"Rupiah must be between 0 and {MAX_RUPIAH}")
    return value


def _serialize_rupiah(value: object) -> int:
    return int(value)  # type: ignore[call-overload, no-any-return]


Rupiah = NewType("Rupiah", int)

RUPIAH_SCALAR = strawberry.scalar(
    name="Rupiah",
    description="Whole rupiah as a JSON integer, 0 <= n <= 9007199254740991.",
    serialize=_serialize_rupiah,
    parse_value=_parse_rupiah,
)


SCALAR_MAP: dict[object, ScalarDefinition] = {Rupiah: RUPIAH_SCALAR}

# Scalars whose serialize returns a Python int unchanged: the inline plans skip the call for an
# int (sigma_graphql/execution/fast_execution.py, streamline).
WHOLE_SCALARS = ("Rupiah",)
