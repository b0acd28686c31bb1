"""Revenue imports from CSV/XLSX files (resolvers/imports.py; parsing:
sigma_graphql/core/revenue_files.py)."""

from __future__ import annotations

from enum import Enum

import strawberry

from schema.types.common import UserError
from schema.types.enums import UserErrorCode


@strawberry.enum
class ImportMode(Enum):
    ALL_OR_NOTHING = "ALL_OR_NOTHING"  # any rejected row: nothing is written
    VALID_ROWS_ONLY = "VALID_ROWS_ONLY"  # the valid rows are written, the others listed


@strawberry.type(description="A row of the file that was not imported, and why.")
class ImportRowError:
    row: int = strawberry.field(description="As the spreadsheet shows it: the header is row 1.")
    column: str | None
    message: str
    code: UserErrorCode


@strawberry.type
class ImportFinancialLogsPayload:
    rows: int = strawberry.field(description="Data rows read from the file.")
    imported: int = strawberry.field(description="Months written (new or changed).")
    unchanged: int = strawberry.field(
        description="Months already stored with the same values: not written again."
    )
    rejected: list[ImportRowError]
    user_errors: list[UserError] = strawberry.field(
        description="Problems of the file as a whole or of the arguments: nothing was written."
    )
