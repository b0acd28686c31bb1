"""Connection arguments and opaque cursors (CONVENTIONS §6).

Cursors are url-safe base64 of a small JSON document: keyset values for MongoDB lists, the
driver's paging state for Cassandra lists. Clients must treat them as opaque.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import orjson

from schema.types.common import PageInfo
from sigma_graphql.core import errors
from sigma_graphql.core.i18n import Lang, t

MAX_FIRST = 100
T = TypeVar("T")


def check_first(first: int | None, lang: Lang = "id", default: int = 20) -> int:
    value = default if first is None else first
    if not 1 <= value <= MAX_FIRST:
        raise errors.bad_input(t("bad_first", lang), argument="first")
    return value


def encode_cursor(payload: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(payload)).decode().rstrip("=")


def decode_cursor(cursor: str | None, lang: Lang = "id") -> dict[str, Any] | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = orjson.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, orjson.JSONDecodeError):
        raise errors.bad_input(t("bad_cursor", lang), argument="after") from None
    if not isinstance(value, dict):
        raise errors.bad_input(t("bad_cursor", lang), argument="after")
    return value


def cursor_int(data: dict[str, Any], name: str, lo: int, hi: int, lang: Lang = "id") -> int:
    """An integer field of a decoded cursor within [lo, hi]: a forged cursor must not reach a
    query with a value the database or datetime arithmetic cannot hold."""
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise errors.bad_input(t("bad_cursor", lang), argument="after")
    return value


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
