"""Monthly revenue logs: submit, delete, flag/unflag, lists, nested fields."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers._todo import todo
from schema.common import OkPayload
from schema.financial import (
    FinancialLog,
    FinancialLogConnection,
    FinancialLogPayload,
    FlagInput,
    SubmitFinancialLogInput,
)
from schema.umkm import UMKM
from schema.users import User


async def submit_log(info: Info, input: SubmitFinancialLogInput) -> FinancialLogPayload:
    todo("submit_log")


async def delete_log(info: Info, umkm_id: strawberry.ID, tahun: int, bulan: int) -> OkPayload:
    todo("delete_log")


async def flag_log(info: Info, input: FlagInput) -> FinancialLogPayload:
    todo("flag_log")


async def unflag_log(
    info: Info, umkm_id: strawberry.ID, tahun: int, bulan: int
) -> FinancialLogPayload:
    todo("unflag_log")


async def flagged_logs(
    info: Info, tahun: int, first: int | None, after: str | None
) -> FinancialLogConnection:
    todo("flagged_logs")


async def umkm_financial_logs(
    info: Info, umkm: UMKM, tahun: int | None, first: int | None, after: str | None
) -> FinancialLogConnection:
    todo("umkm_financial_logs")


async def log_umkm(info: Info, log: FinancialLog) -> UMKM | None:
    todo("log_umkm")


async def log_input_by(info: Info, log: FinancialLog) -> User | None:
    todo("log_input_by")


async def log_flagged_by(info: Info, log: FinancialLog) -> User | None:
    todo("log_flagged_by")
