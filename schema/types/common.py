"""Types shared by every domain: PageInfo, UserError and the generic payloads."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import strawberry

from schema.types.enums import UserErrorCode


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    # The first and last item of the page and how to make a cursor of one: cursors are encoded
    # only when a client selects them (sigma_graphql/pagination.page_info).
    ends: strawberry.Private[tuple[Any, Any] | None] = None
    cursor_of: strawberry.Private[Callable[[Any], str] | None] = None

    @strawberry.field
    def start_cursor(self) -> str | None:
        return self.cursor_of(self.ends[0]) if self.ends and self.cursor_of else None

    @strawberry.field
    def end_cursor(self) -> str | None:
        return self.cursor_of(self.ends[1]) if self.ends and self.cursor_of else None


EMPTY_PAGE = PageInfo(has_next_page=False, has_previous_page=False)


@strawberry.type
class UserError:
    field: list[str] | None
    message: str
    code: UserErrorCode


@strawberry.type
class OkPayload:
    ok: bool
    user_errors: list[UserError]


@strawberry.type
class CountPayload:
    count: int
    user_errors: list[UserError]
