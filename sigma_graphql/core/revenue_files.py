"""Monthly revenue files (CSV and XLSX): the column layout, the templates, and parsing into typed
cells. What the values must satisfy (periods, ranges, ownership) is checked by the same rules as
`submitFinancialLog` (resolvers/imports.py); this module only reads the file.

Layout: a header row, then one month per row. Columns are named like the fields of
SubmitFinancialLogInput (case-insensitive, any order):
  umkmId          UUID of the UMKM (optional when the request names the UMKM, or for an API key)
  tahun           year, whole number (e.g. 2025)
  bulan           month, whole number 1..12
  omzet           revenue in whole rupiah, digits only
  jumlahKaryawan  optional; empty or absent: keep the stored value (0 for a new month)
  catatan         optional; empty or absent: keep the stored value (none for a new month)
The read-only columns of the revenue export (READ_ONLY: isFlagged, namaUsaha, sektor, kota,
provinsi; schema/types/exports.py) are accepted and ignored, so an exported file imports back as
it is; so is the apostrophe the CSV export puts before a formula-looking `catatan`.
CSV: UTF-8 with or without BOM, `,` or `;` separated (decided from the header line). XLSX: the
first sheet; formulas and merged cells refuse the file, numbers stored as text and dates refuse
their row.

File problems (FileProblem: wrong encoding, empty, unknown or missing columns, formulas, merged
cells, too many rows or columns, not a CSV/XLSX) reject the whole file; cell problems are
reported per row (row number as the spreadsheet shows it: the header is row 1).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from sigma_graphql.core.i18n import register
from sigma_graphql.core.sheet_writers import csv_unsafe

register(
    {
        "import_too_large": (
            "Berkas melebihi {max} byte",
            "The file exceeds {max} bytes",
        ),
        "import_empty": ("Berkas kosong: tidak ada baris data", "The file is empty: no data rows"),
        "import_encoding": (
            "Berkas CSV harus berenkode UTF-8 (simpan sebagai 'CSV UTF-8')",
            "CSV files must be UTF-8 encoded (save as 'CSV UTF-8')",
        ),
        "import_format": (
            "Format berkas tidak dikenali: unggah CSV atau XLSX",
            "Unrecognised file format: upload CSV or XLSX",
        ),
        "import_unknown_columns": (
            "Kolom tidak dikenal: {columns} (kolom yang boleh: {allowed})",
            "Unknown columns: {columns} (allowed columns: {allowed})",
        ),
        "import_missing_columns": (
            "Kolom wajib tidak ada: {columns}",
            "Required columns missing: {columns}",
        ),
        "import_duplicate_columns": (
            "Kolom muncul lebih dari sekali: {columns}",
            "Columns given more than once: {columns}",
        ),
        "import_too_many_rows": (
            "Berkas berisi lebih dari {max} baris data",
            "The file has more than {max} data rows",
        ),
        "import_too_many_columns": (
            "Berkas berisi lebih dari {max} kolom",
            "The file has more than {max} columns",
        ),
        "import_formula": (
            "Sel {cell} berisi rumus: simpan nilainya saja (Tempel sebagai nilai)",
            "Cell {cell} holds a formula: store plain values (Paste as values)",
        ),
        "import_merged": (
            "Sel {cells} digabung: pisahkan sel gabungan",
            "Cells {cells} are merged: unmerge them",
        ),
        "import_number_as_text": (
            "Angka disimpan sebagai teks: ubah sel menjadi angka",
            "Number stored as text: convert the cell to a number",
        ),
        "import_not_whole_number": (
            "Harus bilangan bulat tanpa pemisah ribuan atau desimal",
            "Must be a whole number without thousands separators or decimals",
        ),
        "import_date": (
            "Tanggal tidak dipakai: isi tahun (mis. 2025) dan bulan (1-12) sebagai angka",
            "Dates are not used: give tahun (e.g. 2025) and bulan (1-12) as numbers",
        ),
        "import_extra_cells": (
            "Baris berisi lebih banyak sel daripada judul kolom",
            "The row has more cells than the header has columns",
        ),
        "import_duplicate_row": (
            "Bulan yang sama sudah ada di baris {row}",
            "The same month is already in row {row}",
        ),
    }
)

COLUMNS = ("umkmId", "tahun", "bulan", "omzet", "jumlahKaryawan", "catatan")
REQUIRED = ("tahun", "bulan", "omzet")
INTEGER_COLUMNS = ("tahun", "bulan", "omzet", "jumlahKaryawan")
# Written by the revenue export for people reading the sheet; never imported.
READ_ONLY = ("isFlagged", "namaUsaha", "sektor", "kota", "provinsi")
_BY_LOWER = {c.lower(): c for c in (*COLUMNS, *READ_ONLY)}
_DIGITS = re.compile(r"^[0-9]+$")
# 2025-03, 2025-03-01, 01/03/2025, 1.3.25, 03/2025 (not 1.500.000: thousands separators)
_DATE_LIKE = re.compile(
    r"^(\d{4}[-/.]\d{1,2}([-/.]\d{1,2})?|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}|\d{1,2}[-/]\d{4})"
    r"([ T].*)?$"
)
_ZIP_MAGIC = b"PK\x03\x04"
# What an XLSX may inflate to (10,000 rows take about 1.5 MB unpacked).
UNPACKED_MAX = 64 * 1024 * 1024

Value = int | str | None


@dataclass(frozen=True)
class FileProblem(Exception):
    """The whole file is refused (code: a UserErrorCode name)."""

    code: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CellProblem:
    column: str
    code: str
    key: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Row:
    number: int  # as the spreadsheet shows it: the header is row 1
    values: dict[str, Value]  # columns with a non-empty cell, typed
    problems: list[CellProblem]


@dataclass
class Sheet:
    columns: list[str]
    rows: list[Row]


@dataclass(frozen=True)
class Limits:
    max_rows: int
    max_columns: int


# ------------------------------------------------------------------ templates


def template_csv() -> bytes:
    """Header only, `;` separated (what spreadsheets in Indonesian locales write), with a BOM
    so spreadsheets open it as UTF-8."""
    return ("\ufeff" + ";".join(COLUMNS) + "\r\n").encode()


def template_xlsx() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "omzet"
    sheet.append(list(COLUMNS))
    help_sheet = book.create_sheet("petunjuk")
    for line in (
        ["kolom", "isi / content"],
        ["umkmId", "ID UMKM (UUID); boleh kosong bila UMKM dipilih saat mengunggah"],
        ["tahun", "tahun, angka, mis. 2025 / year as a number"],
        ["bulan", "bulan, angka 1-12 / month as a number 1-12"],
        ["omzet", "omzet dalam rupiah, angka bulat / revenue in whole rupiah"],
        ["jumlahKaryawan", "opsional / optional: jumlah karyawan"],
        ["catatan", "opsional / optional: catatan (maks. 500 karakter)"],
        ["", "Hanya lembar pertama yang dibaca; tanpa rumus dan sel gabungan."],
    ):
        help_sheet.append(line)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ------------------------------------------------------------------ parsing


def parse(data: bytes, filename: str | None, limits: Limits) -> Sheet:
    """The rows of a CSV or XLSX file, or FileProblem."""
    if not data.strip():
        raise FileProblem("REQUIRED", "import_empty")
    name = (filename or "").lower()
    if data.startswith(_ZIP_MAGIC):
        return _parse_xlsx(data, limits)
    if name.endswith((".xlsx", ".xlsm", ".xls")):
        raise FileProblem("INVALID", "import_format")
    return _parse_csv(data, limits)


def _header(cells: list[Any], limits: Limits) -> list[str]:
    while cells and (cells[-1] is None or str(cells[-1]).strip() == ""):
        cells = cells[:-1]
    if not cells:
        raise FileProblem("REQUIRED", "import_empty")
    if len(cells) > limits.max_columns:
        raise FileProblem("INVALID", "import_too_many_columns", {"max": limits.max_columns})
    names = [str(c).strip() if c is not None else "" for c in cells]
    unknown = [n or "(kosong)" for n in names if n.lower() not in _BY_LOWER]
    if unknown:
        raise FileProblem(
            "INVALID",
            "import_unknown_columns",
            {"columns": ", ".join(unknown), "allowed": ", ".join((*COLUMNS, *READ_ONLY))},
        )
    columns = [_BY_LOWER[n.lower()] for n in names]
    doubled = sorted({c for c in columns if columns.count(c) > 1})
    if doubled:
        raise FileProblem("INVALID", "import_duplicate_columns", {"columns": ", ".join(doubled)})
    missing = [c for c in REQUIRED if c not in columns]
    if missing:
        raise FileProblem("REQUIRED", "import_missing_columns", {"columns": ", ".join(missing)})
    return columns


def _row_count_check(count: int, limits: Limits) -> None:
    if count > limits.max_rows:
        raise FileProblem("INVALID", "import_too_many_rows", {"max": limits.max_rows})


def _parse_csv(data: bytes, limits: Limits) -> Sheet:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise FileProblem("INVALID", "import_encoding") from None
    if "\x00" in text:  # UTF-16 decodes "successfully" into NUL-riddled text
        raise FileProblem("INVALID", "import_encoding")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        lines = list(reader)
    except csv.Error:
        raise FileProblem("INVALID", "import_format") from None
    if not lines:
        raise FileProblem("REQUIRED", "import_empty")
    columns = _header(list(lines[0]), limits)
    rows: list[Row] = []
    for number, cells in enumerate(lines[1:], start=2):
        if not any(c.strip() for c in cells):
            continue  # blank lines (a trailing one is common)
        _row_count_check(len(rows) + 1, limits)
        rows.append(_csv_row(number, columns, cells))
    if not rows:
        raise FileProblem("REQUIRED", "import_empty")
    return Sheet(columns, rows)


def _csv_row(number: int, columns: list[str], cells: list[str]) -> Row:
    values: dict[str, Value] = {}
    problems: list[CellProblem] = []
    if any(c.strip() for c in cells[len(columns) :]):
        problems.append(CellProblem(columns[-1], "INVALID", "import_extra_cells"))
    for column, raw in zip(columns, cells, strict=False):
        text = raw.strip()
        if not text or column in READ_ONLY:
            continue
        if column in INTEGER_COLUMNS:
            if _DIGITS.match(text):
                values[column] = int(text)
            elif _DATE_LIKE.match(text):
                problems.append(CellProblem(column, "INVALID", "import_date"))
            else:
                problems.append(CellProblem(column, "INVALID", "import_not_whole_number"))
        else:
            values[column] = csv_unsafe(raw) if column == "catatan" else text
    return Row(number, values, problems)


def _parse_xlsx(data: bytes, limits: Limits) -> Sheet:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise FileProblem("INVALID", "import_format") from None
    if unpacked > UNPACKED_MAX:  # a zip bomb: refuse before openpyxl inflates it
        raise FileProblem("INVALID", "import_too_large", {"max": UNPACKED_MAX})
    try:
        # Not read-only: read-only worksheets do not expose merged ranges. The file is at most
        # SIGMA_IMPORT_MAX_BYTES; the sheet's size is checked before its cells are walked.
        book = load_workbook(io.BytesIO(data), read_only=False, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError):
        raise FileProblem("INVALID", "import_format") from None
    try:
        sheet = book.worksheets[0] if book.worksheets else None
        if sheet is None:
            raise FileProblem("REQUIRED", "import_empty")
        if sheet.max_column > limits.max_columns + 50:  # far too wide: refuse before walking it
            raise FileProblem("INVALID", "import_too_many_columns", {"max": limits.max_columns})
        merged = list(sheet.merged_cells.ranges)
        if merged:
            where = ", ".join(str(r) for r in merged[:5])
            raise FileProblem("INVALID", "import_merged", {"cells": where})
        if sheet.max_row - 1 > limits.max_rows:
            # max_row counts formatted but empty rows too: count only rows with a value.
            filled = sum(
                1
                for values in sheet.iter_rows(min_row=2, values_only=True)
                if any(v is not None and str(v).strip() for v in values)
            )
            _row_count_check(filled, limits)
        grid = sheet.iter_rows()
        header = next(grid, None)
        if header is None:
            raise FileProblem("REQUIRED", "import_empty")
        for cell in header:
            _no_formula(cell)
        columns = _header([c.value for c in header], limits)
        rows: list[Row] = []
        for cells in grid:
            for cell in cells:
                _no_formula(cell)
            if not any(c.value is not None and str(c.value).strip() for c in cells):
                continue
            _row_count_check(len(rows) + 1, limits)
            rows.append(_xlsx_row(int(cells[0].row or 0), columns, list(cells)))
    finally:
        book.close()
    if not rows:
        raise FileProblem("REQUIRED", "import_empty")
    return Sheet(columns, rows)


def _no_formula(cell: Any) -> None:
    if getattr(cell, "data_type", None) == "f":
        raise FileProblem("INVALID", "import_formula", {"cell": cell.coordinate})


def _xlsx_row(number: int, columns: list[str], cells: list[Any]) -> Row:
    values: dict[str, Value] = {}
    problems: list[CellProblem] = []
    extra = [c for c in cells[len(columns) :] if c.value is not None and str(c.value).strip()]
    if extra:
        problems.append(CellProblem(columns[-1], "INVALID", "import_extra_cells"))
    for column, cell in zip(columns, cells, strict=False):
        value = cell.value
        if value is None or (isinstance(value, str) and not value.strip()) or column in READ_ONLY:
            continue
        if column in INTEGER_COLUMNS:
            problem = _xlsx_integer(column, value)
            if isinstance(problem, CellProblem):
                problems.append(problem)
            else:
                values[column] = problem
        elif isinstance(value, datetime | date | time):
            problems.append(CellProblem(column, "INVALID", "import_date"))
        elif column == "catatan":
            values[column] = str(value)
        else:
            values[column] = str(value).strip()
    return Row(number, values, problems)


def _xlsx_integer(column: str, value: object) -> int | CellProblem:
    if isinstance(value, datetime | date | time):
        return CellProblem(column, "INVALID", "import_date")
    if isinstance(value, bool):
        return CellProblem(column, "INVALID", "import_not_whole_number")
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        return CellProblem(column, "INVALID", "import_not_whole_number")
    text = str(value).strip()
    if _DIGITS.match(text):
        return CellProblem(column, "INVALID", "import_number_as_text")
    if _DATE_LIKE.match(text):
        return CellProblem(column, "INVALID", "import_date")
    return CellProblem(column, "INVALID", "import_not_whole_number")
