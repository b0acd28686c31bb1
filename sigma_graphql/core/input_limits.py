"""The limits of every input: the longest free text and the range of every numeric argument.

One table (README "Input limits"), enforced before any database call:
- arguments of query fields, and of fields selected anywhere below a query or a mutation, by
  sigma_graphql/limits/argument_guard.py before execution: BAD_USER_INPUT naming the argument;
- the arguments of the mutations themselves by their validators (umkm_validation.py,
  resolvers/rules/account.py, resolvers/financial.py, resolvers/verification.py), which report
  userErrors (TOO_LONG, INVALID) and write nothing (docs/architecture.md, Errors).

Text is single-line unless said otherwise: control characters (NUL, ESC, DEL, C1), line breaks
and tabs are refused. Multi-line text (catatan, reasons, notes) may hold line breaks and tabs,
no other control character. Lengths count characters (code points).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from sigma_graphql.core.clock import current_month
from sigma_graphql.core.i18n import register

register(
    {
        "control_chars": (
            "Harus satu baris tanpa karakter kontrol",
            "Must be a single line without control characters",
        ),
        "control_chars_multiline": (
            "Tidak boleh berisi karakter kontrol selain baris baru dan tab",
            "Must not contain control characters other than line breaks and tabs",
        ),
        "argument_invalid": ("Argumen {argument}: {reason}", "Argument {argument}: {reason}"),
    }
)


@dataclass(frozen=True)
class Text:
    max_len: int
    multiline: bool = False


@dataclass(frozen=True)
class Ints:
    """An inclusive range; hi None means next year (WIB): the bound of every `tahun`."""

    lo: int
    hi: int | None


Limit = Text | Ints

FIRST_YEAR = 2000  # the contract's earliest reportable year

# ------------------------------------------------------------------ the table
SEARCH = Text(100)  # umkms(filter.search), users(search): a substring scan, kept short
NAME = Text(100)  # namaUsaha, nama, namaLengkap, pemilik.nama, kota, sektor, provinsi, wilayah
ALAMAT = Text(500)
CODE = Text(50)  # legalitas.nib, legalitas.pirt
URL = Text(2000)  # legalitas.dokumenUrl
EMAIL = Text(254)  # RFC 5321
PHONE = Text(32)  # as typed, before spaces and dashes are dropped
PASSWORD_MAX = 256  # any character; argon2 copes with more, this bounds the CPU per login
TOKEN = Text(512)  # signed single-use link tokens (about 100 characters)
ID = Text(64)  # ids are UUIDs (36 characters)
CURSOR = Text(512)  # opaque cursors the API hands out are under 200 characters
CATATAN = Text(500, multiline=True)
REASON = Text(500, multiline=True)  # rejectUmkm.reason, flagFinancialLog.reason (>= 10)
NOTE = Text(500, multiline=True)  # approveUmkm.note
DEFAULT_TEXT = Text(1000)  # any other String or ID argument of a query field

FIRST = Ints(1, 100)
YEAR = Ints(FIRST_YEAR, None)
MONTH = Ints(1, 12)

# Arguments of any non-mutation field, by name; input object fields by "Type.field".
ARGUMENTS: Mapping[str, Limit] = {
    "first": FIRST,
    "after": CURSOR,
    "tahun": YEAR,
    "bulan": MONTH,
    "id": ID,
    "userId": ID,
    "search": SEARCH,
    "sektor": NAME,
    "kota": NAME,
}
INPUT_FIELDS: Mapping[str, Limit] = {
    "UMKMFilter.search": SEARCH,
    "UMKMFilter.sektor": NAME,
    "UMKMFilter.kota": NAME,
    "UMKMFilter.provinsi": NAME,
}

# C0 and C1 controls and DEL; single-line text also refuses the Unicode line separators.
_CONTROL_SINGLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_MULTI = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class Problem(NamedTuple):
    """Why a value is refused: a UserErrorCode name, an i18n key and its parameters."""

    code: str
    key: str
    params: dict[str, Any]


def control_problem(value: str, multiline: bool = False) -> Problem | None:
    if (_CONTROL_MULTI if multiline else _CONTROL_SINGLE).search(value) is None:
        return None
    return Problem("INVALID", "control_chars_multiline" if multiline else "control_chars", {})


def text_problem(value: str, limit: Text) -> Problem | None:
    if len(value) > limit.max_len:
        return Problem("TOO_LONG", "too_long", {"max": limit.max_len})
    return control_problem(value, limit.multiline)


def bounds(limit: Ints) -> tuple[int, int]:
    return limit.lo, limit.hi if limit.hi is not None else current_month()[0] + 1


def int_problem(value: int, limit: Ints) -> Problem | None:
    lo, hi = bounds(limit)
    if lo <= value <= hi:
        return None
    return Problem("OUT_OF_RANGE", "out_of_range", {"min": lo, "max": hi})
