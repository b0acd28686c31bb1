"""Connection arguments and opaque cursors: the one codec of every connection.

Cursors are url-safe base64 of a small JSON document holding the last row's sort key (a keyset);
every field read back is type- and range-checked here, so a forged cursor is one BAD_USER_INPUT
(`bad_cursor`) and never reaches a query. Clients must treat them as opaque.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import orjson

from schema.types.common import PageInfo
from sigma_graphql.core import errors
from sigma_graphql.core.clock import from_ms, to_ms
from sigma_graphql.core.i18n import t

MAX_FIRST = 100
T = TypeVar("T")
# Cursor times: 1970 up to the year 9999 (what datetime holds), in milliseconds.
MAX_MS = to_ms(datetime(9999, 12, 31, tzinfo=UTC))


def check_first(first: int | None, default: int = 20) -> int:
    value = default if first is None else first
    if not 1 <= value <= MAX_FIRST:
        raise errors.bad_input(t("bad_first"), argument="first")
    return value


def encode_cursor(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def bad_cursor() -> errors.AppError:
    """The one refusal of every connection for an `after` it did not issue."""
    return errors.bad_input(t("bad_cursor"), argument="after")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        raise bad_cursor() from None
    if not isinstance(value, dict):
        raise bad_cursor()
    return value


def cursor_int(data: dict[str, Any], name: str, lo: int, hi: int) -> int:
    """An integer field of a decoded cursor within [lo, hi]: a forged cursor must not reach a
    query with a value the database or datetime arithmetic cannot hold."""
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise bad_cursor()
    return value


def cursor_uuid(data: dict[str, Any], name: str, *, version: int = 0) -> UUID:
    """A UUID field of a decoded cursor (of that version when given: 1 for Cassandra timeuuids)."""
    try:
        value = UUID(str(data.get(name)))
    except ValueError:
        raise bad_cursor() from None
    if version and value.version != version:
        raise bad_cursor()
    return value


def cursor_moment(data: dict[str, Any], name: str) -> datetime:
    """A time field of a decoded cursor, carried as milliseconds since the epoch."""
    return from_ms(cursor_int(data, name, 0, MAX_MS))


def keyset_cursor(created_at: datetime, row_id: UUID) -> str:
    """The keyset of MongoDB lists ordered by (created_at, _id)."""
    return encode_cursor({"c": to_ms(created_at), "i": str(row_id)})


def decode_keyset(after: str | None) -> tuple[datetime, UUID] | None:
    data = decode_cursor(after)
    if data is None:
        return None
    return cursor_moment(data, "c"), cursor_uuid(data, "i")


def page_info(
    items: Sequence[T], cursor_of: Callable[[T], str], *, has_next: bool, has_previous: bool
) -> PageInfo:
    """PageInfo of one page: the cursors of its first and last item (None when empty),
    encoded only if the client selects them."""
    return PageInfo(
        has_next_page=has_next,
        has_previous_page=has_previous,
        ends=(items[0], items[-1]) if items else None,
        cursor_of=cursor_of,
    )
