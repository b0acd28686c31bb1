"""What every resolver module shares: the one user-error builder and the one id parser."""

from __future__ import annotations

import uuid

from schema.types.common import UserError
from schema.types.enums import UserErrorCode
from sigma_graphql.core.i18n import t


def user_error(
    path: list[str] | None, key: str, code: UserErrorCode, **params: object
) -> UserError:
    """A userError whose message is the i18n text `key` in the request's language."""
    return UserError(field=path, message=t(key, None, **params), code=code)


def parse_id(raw: str) -> uuid.UUID | None:
    """An id argument as a UUID, or None when it is not one (callers answer NOT_FOUND or null:
    an id that cannot exist is not a malformed request)."""
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None
