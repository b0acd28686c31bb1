"""importFinancialLogs: monthly revenue from a CSV or XLSX file (the GraphQL multipart request).

Every row passes the rules of submitFinancialLog (resolvers/rules/financial.py validate_submit
and resolvers/financial.py write_refusal: same messages, same codes) and is written through the
same flow (db/writes/financial.py submit_months: submit's steps for the months of one partition
at once: intents, LWT per month, counters, audit row, flag kept). A month
already stored with the same values is not written again, so uploading a file twice changes
nothing the second time. ALL_OR_NOTHING (the default, SIGMA_IMPORT_MODE) writes nothing when any
row is rejected; VALID_ROWS_ONLY writes the valid rows. "Nothing" is about validation: a database
failure halfway through leaves the months written so far, and uploading the same file again
finishes the job (the written months count as unchanged).

Round trips: one MongoDB read for the UMKMs of the whole file, one Cassandra read per 100 UMKMs
for the stored months, then the write flow per partition (an UMKM's year) with changed months,
SIGMA_IMPORT_CONCURRENCY partitions at once.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import strawberry

from db import financial_logs as fl
from db import umkm_profiles
from db.drivers.cassandra import Row
from db.drivers.mongo import MongoDoc
from db.writes import financial as financial_writes
from resolvers.common import parse_id, user_error
from resolvers.financial import write_refusal
from resolvers.rules.financial import validate_submit
from schema.types.common import UserError
from schema.types.enums import UserErrorCode
from schema.types.financial import SubmitFinancialLogInput
from schema.types.imports import ImportFinancialLogsPayload, ImportMode, ImportRowError
from schema.types.scalars import Rupiah
from sigma_graphql.core import revenue_files
from sigma_graphql.core.i18n import register, t
from sigma_graphql.request.context import Info

register(
    {
        "import_not_a_file": (
            "Kirim berkas sebagai unggahan multipart (GraphQL multipart request)",
            "Send the file as a multipart upload (GraphQL multipart request)",
        ),
        "import_other_umkm": (
            "Baris ini untuk UMKM lain dari yang dipilih",
            "This row is for another UMKM than the one chosen",
        ),
    }
)

Key = tuple[uuid.UUID, int, int]


@dataclass
class _Month:
    row: int
    umkm_id: uuid.UUID
    tahun: int
    bulan: int
    omzet: int
    jumlah_karyawan: int | None  # None: keep the stored value (0 for a new month)
    catatan: str | None
    has_catatan: bool


def _payload(
    rows: int = 0,
    imported: int = 0,
    unchanged: int = 0,
    rejected: list[ImportRowError] | None = None,
    user_errors: list[UserError] | None = None,
) -> ImportFinancialLogsPayload:
    return ImportFinancialLogsPayload(
        rows=rows,
        imported=imported,
        unchanged=unchanged,
        rejected=rejected or [],
        user_errors=user_errors or [],
    )


async def _read_bounded(upload: Any, max_bytes: int) -> bytes | None:
    """At most max_bytes of the upload (None when it holds more): never the whole of a huge file
    in memory (the body limit of multipart requests bounds it before: app.py)."""
    data = await upload.read(max_bytes + 1)
    if not isinstance(data, bytes):
        data = str(data).encode()
    return None if len(data) > max_bytes else data


def _row_error(
    number: int, column: str | None, key: str, code: str, **params: Any
) -> ImportRowError:
    message = t(key, None, **params)
    return ImportRowError(row=number, column=column, message=message, code=UserErrorCode(code))


def _check_row(
    row: revenue_files.Row, default_umkm: uuid.UUID | None, named: bool
) -> tuple[_Month | None, list[ImportRowError]]:
    problems = [_row_error(row.number, p.column, p.key, p.code, **p.params) for p in row.problems]
    bad_columns = {p.column for p in row.problems}
    raw_id = row.values.get("umkmId")
    umkm_id: uuid.UUID | None = default_umkm
    if raw_id is not None:
        umkm_id = parse_id(str(raw_id))
        if umkm_id is None:
            problems.append(_row_error(row.number, "umkmId", "invalid", "INVALID"))
        elif named and umkm_id != default_umkm:
            problems.append(_row_error(row.number, "umkmId", "import_other_umkm", "FORBIDDEN"))
    elif umkm_id is None:
        problems.append(_row_error(row.number, "umkmId", "required", "REQUIRED"))
    for column in revenue_files.REQUIRED:
        if column not in row.values and column not in bad_columns:
            problems.append(_row_error(row.number, column, "required", "REQUIRED"))
    if problems or umkm_id is None:
        return None, problems
    values = row.values
    jumlah = values.get("jumlahKaryawan")
    catatan = values.get("catatan")
    # The rules of submitFinancialLog, on the values as the API would receive them.
    candidate = SubmitFinancialLogInput(
        umkm_id=strawberry.ID(str(umkm_id)),
        tahun=int(values["tahun"] or 0),
        bulan=int(values["bulan"] or 0),
        omzet=Rupiah(int(values["omzet"] or 0)),
        jumlah_karyawan=int(jumlah) if jumlah is not None else 0,
        catatan=str(catatan) if catatan is not None else None,
    )
    for error in validate_submit(candidate):
        named_column = error.field[-1] if error.field else None
        problems.append(
            ImportRowError(
                row=row.number, column=named_column, message=error.message, code=error.code
            )
        )
    if problems:
        return None, problems
    month = _Month(
        row=row.number,
        umkm_id=umkm_id,
        tahun=candidate.tahun,
        bulan=candidate.bulan,
        omzet=int(candidate.omzet),
        jumlah_karyawan=int(jumlah) if jumlah is not None else None,
        catatan=candidate.catatan,
        has_catatan=catatan is not None,
    )
    return month, []


def _final_values(month: _Month, stored: Row | None) -> tuple[int, str | None]:
    """jumlahKaryawan and catatan to write: an empty or absent cell keeps the stored value."""
    jumlah = month.jumlah_karyawan
    if jumlah is None:
        jumlah = int(stored["jumlah_karyawan"] or 0) if stored is not None else 0
    catatan = month.catatan if month.has_catatan else (stored or {}).get("catatan")
    return jumlah, catatan


async def import_logs(
    info: Info,
    file: Any,
    umkm_id: strawberry.ID | None,
    mode: ImportMode | None,
) -> ImportFinancialLogsPayload:
    ctx = info.context
    settings = ctx.settings
    viewer = ctx.viewer
    chosen = mode or ImportMode(settings.import_mode)
    default_umkm: uuid.UUID | None = None
    named = umkm_id is not None
    if umkm_id is not None:
        default_umkm = parse_id(umkm_id)
        if default_umkm is None:
            return _payload(
                user_errors=[user_error(["umkmId"], "not_found", UserErrorCode.NOT_FOUND)]
            )
    elif viewer.is_api_key:
        default_umkm, named = viewer.api_key_umkm_id, True
    if viewer.is_api_key and default_umkm != viewer.api_key_umkm_id:
        return _payload(
            user_errors=[user_error(["umkmId"], "fin_not_owner", UserErrorCode.FORBIDDEN)]
        )
    if not callable(getattr(file, "read", None)):  # a JSON request put a value in its place
        problem = user_error(["file"], "import_not_a_file", UserErrorCode.REQUIRED)
        return _payload(user_errors=[problem])
    try:
        data = await _read_bounded(file, settings.import_max_bytes)
    finally:
        closing = getattr(file, "close", None)
        if callable(closing):  # Starlette spools large parts to a temporary file
            await closing()
    if data is None:
        problem = user_error(
            ["file"], "import_too_large", UserErrorCode.TOO_LONG, max=settings.import_max_bytes
        )
        return _payload(user_errors=[problem])
    limits = revenue_files.Limits(settings.import_max_rows, settings.import_max_columns)
    try:
        # Parsing is CPU work (an XLSX of 10,000 rows: about a second): off the event loop.
        sheet = await asyncio.to_thread(
            revenue_files.parse, data, getattr(file, "filename", None), limits
        )
    except revenue_files.FileProblem as problem:
        error = user_error(["file"], problem.key, UserErrorCode(problem.code), **problem.params)
        return _payload(user_errors=[error])

    rejected: list[ImportRowError] = []
    months: list[_Month] = []
    seen: dict[Key, int] = {}
    for row in sheet.rows:
        month, problems = _check_row(row, default_umkm, named)
        if month is not None:
            key = (month.umkm_id, month.tahun, month.bulan)
            if key in seen:
                problems = [
                    _row_error(
                        row.number, "bulan", "import_duplicate_row", "INVALID", row=seen[key]
                    )
                ]
                month = None
            else:
                seen[key] = row.number
        rejected.extend(problems)
        if month is not None:
            months.append(month)

    # Ownership and status of every UMKM in the file: one read, whatever the number of rows.
    ids = list(dict.fromkeys(m.umkm_id for m in months))
    docs: dict[uuid.UUID, MongoDoc] = (
        {d["_id"]: d for d in await umkm_profiles.find_by_ids(ctx.mongo, ids)} if ids else {}
    )
    allowed: list[_Month] = []
    for month in months:
        refusal = write_refusal(viewer, docs.get(month.umkm_id), ["umkmId"], owner_may=True)
        if refusal is None:
            allowed.append(month)
        else:
            rejected.append(
                ImportRowError(
                    row=month.row, column="umkmId", message=refusal.message, code=refusal.code
                )
            )
    rejected.sort(key=lambda e: e.row)
    if rejected and chosen is ImportMode.ALL_OR_NOTHING:
        return _payload(rows=len(sheet.rows), rejected=rejected)

    stored = await fl.logs_in(ctx.cassandra, ids, {m.tahun for m in allowed})
    by_key: dict[Key, Row] = {
        (r["umkm_id"], r["tahun"], r["bulan"]): r for rows in stored.values() for r in rows
    }
    todo: list[tuple[_Month, financial_writes.Month]] = []
    unchanged = 0
    for month in allowed:
        old = by_key.get((month.umkm_id, month.tahun, month.bulan))
        jumlah, catatan = _final_values(month, old)
        if (
            old is not None
            and int(old["omzet"]) == month.omzet
            and int(old["jumlah_karyawan"] or 0) == jumlah
            and old.get("catatan") == catatan
        ):
            unchanged += 1
        else:
            todo.append(
                (month, financial_writes.Month(month.bulan, month.omzet, jumlah, catatan, old))
            )
    await _write(info, docs, todo, settings.import_concurrency)
    return _payload(
        rows=len(sheet.rows), imported=len(todo), unchanged=unchanged, rejected=rejected
    )


async def _write(
    info: Info,
    docs: dict[uuid.UUID, MongoDoc],
    todo: list[tuple[_Month, financial_writes.Month]],
    concurrency: int,
) -> None:
    """The write flow per partition (an UMKM's year: db/writes/financial.py submit_months),
    `concurrency` partitions at once. One partition's months are written one after the other:
    each is a lightweight transaction on that partition, and Paxos rounds on one partition at
    once time out on contention. On a failure the other workers finish the partition they are
    writing (no flow is cut halfway) and take no new one; the first error is raised (the client
    retries with the same file)."""
    ctx = info.context
    partitions: dict[tuple[uuid.UUID, int], list[financial_writes.Month]] = {}
    for month, values in todo:
        partitions.setdefault((month.umkm_id, month.tahun), []).append(values)
    pending = iter(partitions.items())
    failures: list[BaseException] = []

    async def worker() -> None:
        for (umkm_id, tahun), months in pending:
            if failures:
                return
            try:
                await financial_writes.submit_months(
                    ctx.dbs, docs[umkm_id], tahun, months, by=ctx.viewer.actor_id
                )
            except Exception as exc:
                failures.append(exc)
                return

    workers = max(1, min(concurrency, len(partitions)))
    await asyncio.gather(*(worker() for _ in range(workers)))
    if failures:
        raise failures[0]
