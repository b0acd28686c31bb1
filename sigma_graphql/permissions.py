"""The permission table: one place, reviewed together (docs/architecture.md, "Permissions").

Three parts:
- ROOT_ACCESS: which audiences may call each root query/mutation/subscription at all. The schema
  build (schema/build.py) attaches an `Allow` guard to every root field from it and refuses to
  build when a root field is not listed or a listed one does not exist (UNAUTHENTICATED for
  PUBLIC, else FORBIDDEN).
- FIELD_ACCESS: which relation/audience may read each restricted field, and how (full or masked).
  Types are built by resolvers with `field_access(...)` deciding every restricted value once per
  object, so leaves stay plain attributes (no per-leaf permission overhead) and resolve to null
  silently for viewers without access.
- Row rules: the Mongo filters each audience may see (`umkm_row_filter`), pushed into queries.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from strawberry.permission import BasePermission
from strawberry.types import Info

from sigma_graphql.core import errors
from sigma_graphql.core.i18n import t
from sigma_graphql.core.viewer import Audience, Viewer

T = TypeVar("T")
A = Audience
# Every person, signed in or not. API keys (machines) are never part of ANY: a root field open
# to a key names A.API_KEY, and a key calling anything else is refused before execution
# (MACHINE_OPERATIONS below, sigma_graphql/limits/machine_scope.py).
ANY = frozenset(A) - {A.API_KEY}
SIGNED_IN = frozenset({A.UMKM_OWNER, A.PEJABAT, A.ADMIN})
STAFF = frozenset({A.PEJABAT, A.ADMIN})
ADMIN = frozenset({A.ADMIN})
OWNER = frozenset({A.UMKM_OWNER})
OWNER_OR_ADMIN = frozenset({A.UMKM_OWNER, A.ADMIN})
OWNER_OR_STAFF = frozenset({A.UMKM_OWNER, A.PEJABAT, A.ADMIN})

ROOT_ACCESS: dict[str, frozenset[Audience]] = {
    # queries
    "Query.today": ANY,  # a date, the same for everyone: no data to guard
    "Query.me": ANY,
    "Query.umkm": ANY,
    "Query.umkms": ANY,
    "Query.umkmsNear": ANY,
    "Query.verificationTasks": STAFF,
    "Query.flaggedFinancialLogs": STAFF,
    "Query.notifications": OWNER,
    "Query.unreadNotificationCount": OWNER,
    "Query.sectorStats": ANY,
    "Query.regionStats": ANY,
    "Query.revenueTrend": ANY,
    "Query.topGrowers": STAFF,
    "Query.heatmap": ANY,
    "Query.cityClusters": ANY,
    "Query.suspiciousFinancialLogs": STAFF,
    "Query.ownerDashboard": OWNER,
    "Query.officialDashboard": STAFF,
    "Query.publicStats": ANY,
    "Query.users": ADMIN,
    "Query.loginHistory": SIGNED_IN,
    # mutations
    "Mutation.register": ANY,
    "Mutation.verifyEmail": ANY,
    "Mutation.resendVerificationEmail": ANY,
    "Mutation.login": ANY,
    "Mutation.logout": SIGNED_IN,
    "Mutation.changePassword": SIGNED_IN,
    "Mutation.requestPasswordReset": ANY,
    "Mutation.resetPassword": ANY,
    "Mutation.createUser": ADMIN,
    "Mutation.updateUser": ADMIN,
    "Mutation.deleteUser": ADMIN,
    "Mutation.createUmkm": OWNER_OR_ADMIN,
    "Mutation.updateUmkm": OWNER_OR_ADMIN,
    "Mutation.deleteUmkm": OWNER_OR_ADMIN,
    "Mutation.restoreUmkm": ADMIN,
    "Mutation.approveUmkm": STAFF,
    "Mutation.rejectUmkm": STAFF,
    "Mutation.resubmitUmkm": OWNER,
    "Mutation.submitFinancialLog": OWNER_OR_STAFF | {A.API_KEY},
    "Mutation.deleteFinancialLog": ADMIN,
    "Mutation.flagFinancialLog": STAFF,
    "Mutation.unflagFinancialLog": STAFF,
    "Mutation.markNotificationRead": OWNER,
    "Mutation.markAllNotificationsRead": OWNER,
    # subscriptions
    "Subscription.notificationAdded": OWNER,
    "Subscription.verificationTaskAdded": STAFF,
    # exports (issue 18): staff only; which kinds per audience in EXPORT_ACCESS below, the
    # exported columns per FIELD_ACCESS as GraphQL shows them; jobs are their creator's alone.
    "Mutation.startExport": STAFF,
    "Query.exportJob": STAFF,
    "Query.exportJobs": STAFF,
    "Subscription.exportJobUpdated": STAFF,
    # issue 18: revenue imports and API keys for machines
    "Query.apiKeys": OWNER,
    "Mutation.createApiKey": OWNER,
    "Mutation.revokeApiKey": OWNER,
    "Mutation.importFinancialLogs": OWNER_OR_STAFF | {A.API_KEY},
}

# What each audience may export (startExport's `kind`; checked again each time a job runs).
# The aggregates are public in GraphQL, but a bulk file of them is a staff tool like the rest.
EXPORT_ACCESS: dict[str, frozenset[Audience]] = {
    "UMKM_REGISTRY": STAFF,
    "MONTHLY_REVENUE": STAFF,
    "SECTOR_STATS": STAFF,
    "REGION_STATS": STAFF,
}

# The only root fields an API key may call (its UMKM is checked by the resolvers); an operation
# selecting any other root field is refused FORBIDDEN as a whole before it runs.
MACHINE_OPERATIONS = frozenset(op for op, who in ROOT_ACCESS.items() if A.API_KEY in who)


class Access(Enum):
    NONE = "none"
    FULL = "full"
    MASKED = "masked"


# Relations a viewer can have to an object, beside its audience.
SELF = "self"  # the User object is the viewer
OWNS = "owner"  # the viewer is the UMKM_OWNER owning the UMKM the field belongs to

F, M = Access.FULL, Access.MASKED
FIELD_ACCESS: dict[str, dict[str | Audience, Access]] = {
    "User.email": {SELF: F, A.ADMIN: F},
    "User.nik": {SELF: F, A.ADMIN: F, A.PEJABAT: M},
    "User.telepon": {SELF: F, A.ADMIN: F, A.PEJABAT: F},
    "User.umkms": {SELF: F, A.ADMIN: F, A.PEJABAT: F},
    "Wilayah.alamatLengkap": {OWNS: F, A.ADMIN: F, A.PEJABAT: F},
    "Pemilik.nik": {OWNS: F, A.ADMIN: F, A.PEJABAT: M},
    "Legalitas.dokumenUrl": {OWNS: F, A.ADMIN: F, A.PEJABAT: F},
    "Legalitas.verifiedBy": {A.ADMIN: F, A.PEJABAT: F},
    "Legalitas.rejectionReason": {OWNS: F, A.ADMIN: F, A.PEJABAT: F},
    "UMKM.pemilik": {OWNS: F, A.ADMIN: F, A.PEJABAT: F},
    "UMKM.owner": {OWNS: F, A.ADMIN: F, A.PEJABAT: F},
    "UMKM.summaryTerakhir": {OWNS: F, A.ADMIN: F, A.PEJABAT: F},
    "UMKM.financialLogs": {OWNS: F, A.ADMIN: F, A.PEJABAT: F},
    "UMKM.growth": {OWNS: F, A.ADMIN: F, A.PEJABAT: F},
    "UMKM.forecast": {OWNS: F, A.ADMIN: F, A.PEJABAT: F},
    "FinancialLog.inputBy": {A.ADMIN: F, A.PEJABAT: F},
    "FinancialLog.flaggedBy": {A.ADMIN: F, A.PEJABAT: F},
}


def field_access(
    viewer: Viewer, field: str, *, is_self: bool = False, owns: bool = False
) -> Access:
    """How `viewer` may read `field` ("Type.field") of one object; the best grant wins."""
    key = (viewer.audience, field, is_self, owns)
    found = _DECIDED.get(key)
    if found is None:
        found = _DECIDED[key] = _decide(viewer.audience, field, is_self, owns)
    return found


# The decision depends on these four values only (a list of 100 UMKMs asks ~1,400 times).
_DECIDED: dict[tuple[Audience, str, bool, bool], Access] = {}


def _decide(audience: Audience, field: str, is_self: bool, owns: bool) -> Access:
    rules = FIELD_ACCESS[field]
    best = Access.NONE
    for key in (audience, SELF if is_self else None, OWNS if owns else None):
        if key is None:
            continue
        grant = rules.get(key, Access.NONE)
        if grant is Access.FULL:
            return grant
        if grant is Access.MASKED:
            best = grant
    return best


def can_read(viewer: Viewer, field: str, *, is_self: bool = False, owns: bool = False) -> bool:
    return field_access(viewer, field, is_self=is_self, owns=owns) is Access.FULL


def per_owner(
    viewer: Viewer, owner_ids: Sequence[uuid.UUID | None], decide: Callable[[bool], T]
) -> list[T]:
    """decide(viewer.owns(owner)) for each UMKM's owner id of a page, decided once when the
    viewer owns none (only an UMKM_OWNER owns UMKMs)."""
    if not viewer.is_owner_role:
        return [decide(False)] * len(owner_ids)
    return [decide(viewer.owns(owner)) for owner in owner_ids]


def can_read_owned(viewer: Viewer, field: str, owner_ids: Sequence[uuid.UUID | None]) -> list[bool]:
    """can_read(viewer, field, owns=...) for each UMKM's owner id of a page (per_owner)."""
    return per_owner(viewer, owner_ids, lambda owns: can_read(viewer, field, owns=owns))


@dataclass(frozen=True, slots=True)
class UmkmGrants:
    """What a viewer may read of one UMKM's restricted fields, decided once per (audience,
    owns): a page of 100 UMKMs asks once or twice, not 500 times (issue 16)."""

    pemilik: bool  # UMKM.pemilik and the private fields that go with it
    alamat_lengkap: bool
    dokumen_url: bool
    rejection_reason: bool
    verified_by: bool
    summary_terakhir: bool
    nik: Access  # Pemilik.nik: FULL, MASKED or NONE


def umkm_grants(viewer: Viewer, *, owns: bool) -> UmkmGrants:
    return _umkm_grants(viewer.audience, owns)


@functools.cache  # one per (audience, owns)
def _umkm_grants(audience: Audience, owns: bool) -> UmkmGrants:
    def access(field: str) -> Access:
        return _decide(audience, field, False, owns)

    return UmkmGrants(
        pemilik=access("UMKM.pemilik") is Access.FULL,
        alamat_lengkap=access("Wilayah.alamatLengkap") is Access.FULL,
        dokumen_url=access("Legalitas.dokumenUrl") is Access.FULL,
        rejection_reason=access("Legalitas.rejectionReason") is Access.FULL,
        verified_by=access("Legalitas.verifiedBy") is Access.FULL,
        summary_terakhir=access("UMKM.summaryTerakhir") is Access.FULL,
        nik=access("Pemilik.nik"),
    )


@dataclass(frozen=True, slots=True)
class UserGrants:
    """What a viewer may read of one account's restricted fields, decided once per (audience,
    is_self), as UmkmGrants is for UMKMs."""

    email: bool
    telepon: bool
    umkms: bool
    nik: Access  # User.nik: FULL, MASKED or NONE


def user_grants(viewer: Viewer, *, is_self: bool) -> UserGrants:
    return _user_grants(viewer.audience, is_self)


@functools.cache  # one per (audience, is_self)
def _user_grants(audience: Audience, is_self: bool) -> UserGrants:
    def access(field: str) -> Access:
        return _decide(audience, field, is_self, False)

    return UserGrants(
        email=access("User.email") is Access.FULL,
        telepon=access("User.telepon") is Access.FULL,
        umkms=access("User.umkms") is Access.FULL,
        nik=access("User.nik"),
    )


def masked_nik(access: Access, nik: str | None) -> str | None:
    """`nik` as `access` allows: whole, masked or not at all."""
    if access is Access.FULL:
        return nik
    if access is Access.MASKED:
        return mask_nik(nik)
    return None


def mask_nik(nik: str | None) -> str | None:
    """First 4 and last 4 digits with 8 '*' between: 1234********5678."""
    if not nik:
        return None
    return nik[:4] + "*" * 8 + nik[-4:] if len(nik) == 16 else "*" * len(nik)


def read_nik(
    viewer: Viewer, field: str, nik: str | None, *, is_self: bool = False, owns: bool = False
) -> str | None:
    return masked_nik(field_access(viewer, field, is_self=is_self, owns=owns), nik)


def umkm_row_filter(viewer: Viewer, *, include_deleted: bool = False) -> dict[str, Any]:
    """The umkm_profiles rows `viewer` may see, as a Mongo filter (pushed into every query)."""
    if viewer.is_staff:
        if include_deleted and viewer.is_admin:
            return {}
        return {"is_deleted": False}
    if viewer.is_owner_role:
        return {"owner_id": viewer.user_id, "is_deleted": False}
    return {"legalitas.status_verifikasi": "VERIFIED", "is_deleted": False}


def can_see_umkm(viewer: Viewer, doc: dict[str, Any]) -> bool:
    """The row rule of umkm_row_filter applied to one fetched document (for by-id lookups)."""
    if viewer.is_admin:
        return True
    if doc.get("is_deleted"):
        return False
    if viewer.is_staff:
        return True
    if viewer.owns(doc.get("owner_id")):
        return True
    return bool(doc.get("legalitas", {}).get("status_verifikasi") == "VERIFIED")


class Allow(BasePermission):
    """Root-field guard built from ROOT_ACCESS by `allow("Query.users")`."""

    operation: str = ""
    audiences: frozenset[Audience] = ANY

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        viewer: Viewer = info.context.viewer
        if viewer.audience in self.audiences:
            return True
        lang = info.context.lang
        if viewer.is_public:
            raise errors.unauthenticated(t("unauthenticated", lang))
        raise errors.forbidden(t("forbidden", lang))


def allow(operation: str) -> list[type[BasePermission]]:
    """Permission classes for a root field, from ROOT_ACCESS (KeyError if it is not listed).

    A field open to ANY audience gets none: a guard that always passes would only cost a
    Strawberry extension chain per call and keep the field off the fast path
    (sigma_graphql/execution/fast_execution.py)."""
    audiences = ROOT_ACCESS[operation]
    if audiences == ANY:
        return []
    cls = type(
        f"Allow_{operation.replace('.', '_')}",
        (Allow,),
        {"operation": operation, "audiences": audiences},
    )
    return [cls]
