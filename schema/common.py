"""Types shared by every domain: PageInfo, UserError and the generic payloads."""

from __future__ import annotations

import strawberry

from schema.enums import UserErrorCode


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


EMPTY_PAGE = PageInfo(
    has_next_page=False, has_previous_page=False, start_cursor=None, end_cursor=None
)


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
