"""Input rules of monthly revenue logs (contract comments of SubmitFinancialLogInput and
FlagInput): each returns every violation as userErrors, so the client fixes all fields at once."""

from __future__ import annotations

from resolvers.common import user_error
from resolvers.rules.account import text_errors
from schema.types.common import UserError
from schema.types.enums import UserErrorCode
from schema.types.financial import SubmitFinancialLogInput
from sigma_graphql.core import input_limits as limits
from sigma_graphql.core.clock import current_month
from sigma_graphql.core.i18n import register

register(
    {
        "fin_future_month": (
            "Bulan tersebut belum berakhir (tidak boleh di masa depan)",
            "That month is in the future",
        ),
    }
)

MIN_TAHUN = 2000
MAX_OMZET = 10**15
MAX_KARYAWAN = 100_000
REASON_MIN = 10

Errors = list[UserError]


def check_period(tahun: int, bulan: int, path: list[str]) -> Errors:
    out: Errors = []
    if not 1 <= bulan <= 12:
        out.append(
            user_error([*path, "bulan"], "out_of_range", UserErrorCode.OUT_OF_RANGE, min=1, max=12)
        )
    this_year, this_month = current_month()
    if tahun < MIN_TAHUN or tahun > this_year:
        out.append(
            user_error(
                [*path, "tahun"],
                "out_of_range",
                UserErrorCode.OUT_OF_RANGE,
                min=MIN_TAHUN,
                max=this_year,
            )
        )
    elif tahun == this_year and this_month < bulan <= 12:
        out.append(user_error([*path, "bulan"], "fin_future_month", UserErrorCode.OUT_OF_RANGE))
    return out


def validate_submit(input: SubmitFinancialLogInput) -> Errors:
    """Every violation at once (the client fixes all fields in one go)."""
    path = ["input"]
    out = check_period(input.tahun, input.bulan, path)
    if not 0 <= input.omzet <= MAX_OMZET:
        out.append(
            user_error(
                [*path, "omzet"],
                "out_of_range",
                UserErrorCode.OUT_OF_RANGE,
                min=0,
                max=MAX_OMZET,
            )
        )
    if not 0 <= input.jumlah_karyawan <= MAX_KARYAWAN:
        out.append(
            user_error(
                [*path, "jumlahKaryawan"],
                "out_of_range",
                UserErrorCode.OUT_OF_RANGE,
                min=0,
                max=MAX_KARYAWAN,
            )
        )
    problem = limits.text_problem(input.catatan, limits.CATATAN) if input.catatan else None
    if problem is not None:
        out.append(
            user_error(
                [*path, "catatan"], problem.key, UserErrorCode(problem.code), **problem.params
            )
        )
    return out


def reason_errors(raw: str, path: list[str]) -> Errors:
    reason = raw.strip()  # stored stripped
    if len(reason) < REASON_MIN:
        return [user_error(path, "too_short", UserErrorCode.TOO_SHORT, min=REASON_MIN)]
    return text_errors(reason, limits.REASON, path)
