"""Validation of StartExportInput (issue 18): the filter's texts and years, and which filters
apply to which kind. All violations are reported together; nothing is started when any exist."""

from __future__ import annotations

from typing import Any

from resolvers.common import user_error
from schema.types.common import UserError
from schema.types.enums import UserErrorCode
from schema.types.exports import ExportFilter, ExportKind, StartExportInput
from sigma_graphql.core import input_limits as limits
from sigma_graphql.core.i18n import register
from sigma_graphql.core.viewer import Viewer

register(
    {
        "export.filter_not_applicable": (
            "Filter ini tidak berlaku untuk jenis ekspor {kind}",
            "This filter does not apply to the {kind} export",
        ),
        "export.years_order": (
            "tahunFrom tidak boleh setelah tahunTo",
            "tahunFrom must not be after tahunTo",
        ),
        "export.include_deleted": (
            "Hanya ADMIN yang dapat menyertakan UMKM yang dihapus",
            "Only an ADMIN can include deleted UMKMs",
        ),
    }
)

# Filters each kind takes (ExportFilter's description says the same).
_APPLIES: dict[ExportKind, frozenset[str]] = {
    ExportKind.UMKM_REGISTRY: frozenset(
        {"sektor", "kota", "provinsi", "status", "include_deleted"}
    ),
    ExportKind.MONTHLY_REVENUE: frozenset(
        {"sektor", "kota", "provinsi", "status", "include_deleted", "tahun_from", "tahun_to"}
    ),
    ExportKind.SECTOR_STATS: frozenset({"sektor", "tahun_from", "tahun_to"}),
    ExportKind.REGION_STATS: frozenset({"kota", "tahun_from", "tahun_to"}),
}
_CAMEL = {"tahun_from": "tahunFrom", "tahun_to": "tahunTo", "include_deleted": "includeDeleted"}


def validate_start(
    viewer: Viewer, data: StartExportInput
) -> tuple[dict[str, Any], list[UserError]]:
    """The filter to store (trimmed texts, enum values) and the problems found."""
    f = data.filter or ExportFilter()
    problems: list[UserError] = []
    stored: dict[str, Any] = {}
    values: dict[str, Any] = {
        "sektor": f.sektor,
        "kota": f.kota,
        "provinsi": f.provinsi,
        "status": f.status.value if f.status is not None else None,
        "tahun_from": f.tahun_from,
        "tahun_to": f.tahun_to,
        "include_deleted": bool(f.include_deleted) or None,
    }
    for name, value in values.items():
        if value is None:
            continue
        path = ["input", "filter", _CAMEL.get(name, name)]
        if name not in _APPLIES[data.kind]:
            problems.append(
                user_error(
                    path,
                    "export.filter_not_applicable",
                    UserErrorCode.INVALID,
                    kind=data.kind.value,
                )
            )
            continue
        problem = None
        if isinstance(value, str) and name != "status":
            value = value.strip()
            problem = limits.text_problem(value, limits.NAME)
        elif name in ("tahun_from", "tahun_to"):
            problem = limits.int_problem(value, limits.YEAR)
        if problem is not None:
            problems.append(
                user_error(path, problem.key, UserErrorCode[problem.code], **problem.params)
            )
            continue
        stored[name] = value
    if stored.get("include_deleted") and not viewer.is_admin:
        problems.append(
            user_error(
                ["input", "filter", "includeDeleted"],
                "export.include_deleted",
                UserErrorCode.FORBIDDEN,
            )
        )
    lo, hi = stored.get("tahun_from"), stored.get("tahun_to")
    if lo is not None and hi is not None and lo > hi:
        problems.append(
            user_error(
                ["input", "filter", "tahunFrom"], "export.years_order", UserErrorCode.INVALID
            )
        )
    return stored, problems
