"""Streaming spreadsheet writers for exports (issue 18): CSV and XLSX into a file on disk.

Both take rows page by page and keep nothing of earlier pages in memory, so a job's memory does
not grow with its number of rows (bench/exports.py measures it):
- CSV: UTF-8 with a byte order mark (Excel otherwise reads UTF-8 as the system code page and
  breaks names such as "Kopi Gayo Takengon – Aceh"), `,` or `;` between fields (Excel in an
  Indonesian locale expects `;`), RFC 4180 quoting, CRLF line ends.
- XLSX: XlsxWriter in constant_memory mode (each row goes to a temporary file as it is written;
  only the final zip is assembled at close). A sheet holds at most 1,048,576 rows; more rows
  continue on the next sheet with the header repeated.

Cells are typed by their column: text, integer, boolean, timestamp (UTC, ISO 8601 in CSV). Text
that a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR, unless it is a
plain number) gets a leading apostrophe in CSV; XLSX writes text as text, never as a formula.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import IO, Any, Protocol

import xlsxwriter


class CellKind(Enum):
    TEXT = "text"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    TIME = "time"


@dataclass(frozen=True)
class Column:
    name: str
    kind: CellKind = CellKind.TEXT


Cell = str | int | float | bool | datetime | None
XLSX_MAX_ROWS = 1_048_576
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class SheetWriter(Protocol):
    def write_rows(self, rows: Iterable[Sequence[Cell]]) -> int: ...

    def close(self) -> None: ...


def csv_safe(text: str) -> str:
    """Text as a spreadsheet shows it without running it (OWASP "CSV injection")."""
    if text.startswith(_FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)


def csv_unsafe(text: str) -> str:
    """The text csv_safe was given: the revenue import reads exported files back."""
    if text.startswith("'") and csv_safe(text[1:]) == text:
        return text[1:]
    return text


def csv_cell(value: Cell, kind: CellKind) -> str:
    if value is None:
        return ""
    if kind is CellKind.BOOL:
        return "true" if value else "false"
    if kind is CellKind.TIME and isinstance(value, datetime):
        return _utc(value).isoformat().replace("+00:00", "Z")
    if kind is CellKind.TEXT:
        return csv_safe(str(value))
    return str(value)


class CsvWriter:
    def __init__(self, path: str, columns: Sequence[Column], delimiter: str = ",") -> None:
        self._columns = list(columns)
        self._file: IO[str] = open(path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
        self._csv = csv.writer(self._file, delimiter=delimiter, lineterminator="\r\n")
        self._csv.writerow([c.name for c in self._columns])

    def write_rows(self, rows: Iterable[Sequence[Cell]]) -> int:
        kinds = [c.kind for c in self._columns]
        n = 0
        for row in rows:
            self._csv.writerow([csv_cell(v, k) for v, k in zip(row, kinds, strict=True)])
            n += 1
        return n

    def close(self) -> None:
        self._file.close()


class XlsxWriter:
    def __init__(self, path: str, columns: Sequence[Column], tmpdir: str | None = None) -> None:
        self._columns = list(columns)
        options: dict[str, Any] = {
            "constant_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        }
        if tmpdir:
            options["tmpdir"] = tmpdir
        self._book = xlsxwriter.Workbook(path, options)
        self._header = self._book.add_format({"bold": True})
        self._time = self._book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self._sheet: Any = None
        self._row = 0
        self._new_sheet()

    def _new_sheet(self) -> None:
        self._sheet = self._book.add_worksheet()
        for i, column in enumerate(self._columns):
            self._sheet.write_string(0, i, column.name, self._header)
        self._row = 1

    def write_rows(self, rows: Iterable[Sequence[Cell]]) -> int:
        kinds = [c.kind for c in self._columns]
        n = 0
        for row in rows:
            if self._row >= XLSX_MAX_ROWS:
                self._new_sheet()
            sheet, r = self._sheet, self._row
            for i, (value, kind) in enumerate(zip(row, kinds, strict=True)):
                if value is None:
                    continue
                if kind is CellKind.TEXT:
                    sheet.write_string(r, i, str(value))
                elif kind is CellKind.BOOL:
                    sheet.write_boolean(r, i, bool(value))
                elif kind is CellKind.TIME and isinstance(value, datetime):
                    # Excel has no time zones: UTC, as the header of the column says.
                    sheet.write_datetime(r, i, _utc(value).replace(tzinfo=None), self._time)
                else:
                    sheet.write_number(r, i, value)
            self._row += 1
            n += 1
        return n

    def close(self) -> None:
        self._book.close()


def open_writer(
    fmt: str, path: str, columns: Sequence[Column], *, delimiter: str = ",", tmpdir: str | None
) -> SheetWriter:
    """fmt: "CSV" or "XLSX"."""
    if fmt == "XLSX":
        return XlsxWriter(path, columns, tmpdir)
    return CsvWriter(path, columns, delimiter)
