"""UMKM profiles: reads, lists, geo search, writes (nested fields: schema/types/umkm.py)."""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import strawberry

from db import geohash, geosearch, umkm_profiles, users
from db.drivers.mongo import MongoDoc
from db.reference import canonical_province, canonical_sector
from db.writes import umkm as umkm_writes
from db.writes.umkm import Change, Forbidden, InvalidState, NotFound, Refusal, get_path
from loaders.umkm import umkm_by_id
from resolvers.common import parse_id, user_error
from resolvers.rules.umkm import validate_create, validate_update
from schema.types.common import UserError
from schema.types.enums import UserErrorCode
from schema.types.pagination import check_first, decode_keyset
from schema.types.umkm import (
    UMKM,
    BoundingBoxInput,
    CityCluster,
    CreateUMKMInput,
    HeatCell,
    NearbyUMKM,
    UMKMConnection,
    UMKMFilter,
    UMKMPayload,
    UpdateUMKMInput,
    umkm_connection,
    umkm_from_doc,
)
from schema.types.umkm_prefetch import prefetch
from sigma_graphql.core import errors
from sigma_graphql.core.clock import now_ms
from sigma_graphql.core.i18n import register, t
from sigma_graphql.core.viewer import PUBLIC, Viewer
from sigma_graphql.permissions import can_see_umkm, umkm_row_filter
from sigma_graphql.request.context import Context, Info
from sigma_graphql.request.selection import selects

register(
    {
        "umkm.owner_not_found": (
            "Akun pemilik UMKM (UMKM_OWNER) tidak ditemukan",
            "No UMKM_OWNER account with this id",
        ),
        "umkm.radius": (
            "radiusKm harus lebih dari 0 dan paling besar 50",
            "radiusKm must be greater than 0 and at most 50",
        ),
        "umkm.coordinates": (
            "Koordinat tidak valid (lintang -90..90, bujur -180..180)",
            "Invalid coordinates (latitude -90..90, longitude -180..180)",
        ),
        "umkm.bbox": (
            "Kotak batas tidak valid: south <= north, west <= east, dalam rentang koordinat",
            "Invalid bounding box: south <= north, west <= east, within coordinate ranges",
        ),
        "umkm.precision": (
            "precision harus antara 3 dan 7",
            "precision must be between 3 and 7",
        ),
        "umkm.not_found": ("UMKM tidak ditemukan", "UMKM not found"),
        "umkm.conflict": (
            "UMKM sedang diubah oleh permintaan lain, coba lagi",
            "The UMKM is being changed by another request, try again",
        ),
    }
)

HEATMAP_PRECISION = range(3, 8)
MAX_RADIUS_KM = 50.0
NEAR_FIRST_PROBE_KM = 1.0
NEAR_PROBE_GROWTH = 4.0
# Fields whose change by the owner needs a new verification (contract: updateUmkm).
_IDENTITY_PREFIXES = ("nama_usaha", "sektor", "wilayah.")


# ------------------------------------------------------------------ filters and cursors


def _valid_point(lat: float, lng: float) -> bool:
    return -90.0 <= lat <= 90.0 and -180.0 <= lng <= 180.0


def _bbox(box: BoundingBoxInput) -> geosearch.BBox:
    if not (
        _valid_point(box.south, box.west)
        and _valid_point(box.north, box.east)
        and box.south <= box.north
        and box.west <= box.east
    ):
        raise errors.bad_input(t("umkm.bbox"), argument="filter.bbox")
    return box.south, box.west, box.north, box.east


def _filter_query(base: dict[str, Any], f: UMKMFilter | None) -> dict[str, Any]:
    """The row rule `base` and the filter's conditions, as one Mongo query."""
    parts = [base]
    if f is None:
        return base
    if f.sektor and f.sektor.strip():
        parts.append({"sektor": canonical_sector(f.sektor) or f.sektor.strip()})
    if f.kota and f.kota.strip():
        # Kota is free text: match it whole, ignoring case (an indexed equality on kota_lower).
        parts.append({"kota_lower": umkm_profiles.kota_key(f.kota)})
    if f.provinsi and f.provinsi.strip():
        parts.append({"wilayah.provinsi": canonical_province(f.provinsi) or f.provinsi.strip()})
    if f.search and f.search.strip():
        parts.append({"nama_lower": {"$regex": re.escape(f.search.strip().lower())}})
    if f.bbox is not None:
        parts.append(geosearch.box_filter(_bbox(f.bbox)))
    return umkm_profiles.combine(*parts)


def _list_base(viewer: Viewer, f: UMKMFilter | None) -> dict[str, Any]:
    include_deleted = bool(f and f.include_deleted) and viewer.is_admin
    base = umkm_row_filter(viewer, include_deleted=include_deleted)
    if f is not None and f.status is not None and not viewer.is_public:
        # PUBLIC: ignored (the row rule is VERIFIED already); owners: within their own.
        base = {**base, "legalitas.status_verifikasi": f.status.value}
    return base


def list_query(viewer: Viewer, f: UMKMFilter | None) -> dict[str, Any]:
    """The Mongo query of `umkms(filter: f)` for `viewer` (exports list the same rows)."""
    return _filter_query(_list_base(viewer, f), f)


async def _no_count() -> int:
    return 0


def _projection(viewer: Viewer) -> dict[str, int]:
    # Only PUBLIC can never see private parts; for others it depends on the row.
    return umkm_profiles.list_projection(private=not viewer.is_public)


# ------------------------------------------------------------------ reads


async def get_umkm(info: Info, id: strawberry.ID) -> UMKM | None:
    ctx = info.context
    umkm_id = parse_id(id)
    if umkm_id is None:
        return None
    doc = await ctx.loaders.get(umkm_by_id).load(umkm_id)
    if doc is None or not can_see_umkm(ctx.viewer, doc):
        return None
    return umkm_from_doc(doc, ctx.viewer)


async def list_umkms(
    info: Info, filter: UMKMFilter | None, first: int | None, after: str | None
) -> UMKMConnection:
    ctx = info.context
    n = check_first(first)
    query = list_query(ctx.viewer, filter)
    key = decode_keyset(after)
    page_query = umkm_profiles.combine(query, umkm_profiles.after_filter(*key)) if key else query
    # totalCount costs a second scan of the matching profiles: only when it is asked for
    # (the value stays 0 otherwise and is never read).
    docs, total = await asyncio.gather(
        umkm_profiles.find_page(ctx.mongo, page_query, n + 1, _projection(ctx.viewer)),
        umkm_profiles.count(ctx.mongo, query) if selects(info, "totalCount") else _no_count(),
    )
    conn = umkm_connection(docs, n, total, key is not None, ctx.viewer, selects(info, "edges"))
    await prefetch(info, conn.nodes)
    return conn


async def umkms_near(
    info: Info,
    latitude: float,
    longitude: float,
    radius_km: float | None,
    sektor: str | None,
    first: int | None,
) -> list[NearbyUMKM]:
    ctx = info.context
    radius = 5.0 if radius_km is None else radius_km
    if not 0 < radius <= MAX_RADIUS_KM:
        raise errors.bad_input(t("umkm.radius"), argument="radiusKm")
    if not _valid_point(latitude, longitude):
        raise errors.bad_input(t("umkm.coordinates"), argument="latitude")
    n = check_first(first)
    base = _filter_query(umkm_row_filter(PUBLIC), UMKMFilter(sektor=sektor))
    projection = _projection(ctx.viewer)
    # Grow the searched circle from a small one: once it holds `first` UMKMs, those are the
    # nearest overall, so dense cities never fetch a whole 50 km disc (at most 4 probes).
    probe = min(radius, NEAR_FIRST_PROBE_KM)
    while True:
        box = geosearch.circle_bbox(latitude, longitude, probe)
        query = umkm_profiles.combine(base, geosearch.box_filter(box))
        hits: list[tuple[float, str, MongoDoc]] = []
        for doc in await umkm_profiles.find_all(ctx.mongo, query, projection):
            lng, lat = doc["lokasi"]["coordinates"]
            distance = geosearch.haversine_km(latitude, longitude, lat, lng)
            if distance <= probe:
                hits.append((distance, str(doc["_id"]), doc))
        if len(hits) >= n or probe >= radius:
            break
        probe = min(radius, probe * NEAR_PROBE_GROWTH)
    hits.sort(key=lambda h: (h[0], h[1]))
    return [
        NearbyUMKM(umkm=umkm_from_doc(doc, ctx.viewer), distance_km=distance)
        for distance, _, doc in hits[:n]
    ]


def _public_query(f: UMKMFilter | None) -> dict[str, Any]:
    """Aggregates are public: VERIFIED, not deleted, whoever asks (status/includeDeleted of the
    filter do not apply)."""
    return _filter_query(umkm_row_filter(PUBLIC), f)


async def heatmap(info: Info, precision: int | None, filter: UMKMFilter | None) -> list[HeatCell]:
    ctx = info.context
    p = 5 if precision is None else precision
    if p not in HEATMAP_PRECISION:
        raise errors.bad_input(t("umkm.precision"), argument="precision")
    query = _public_query(filter)
    groups = await ctx.services.last_good.read(
        ("heatmap", p, repr(query)), lambda: umkm_profiles.heat_cells(ctx.mongo, query, p)
    )
    cells = []
    for g in groups:
        lat, lng = geohash.center(g["_id"])
        cells.append(HeatCell(geohash=g["_id"], latitude=lat, longitude=lng, count=g["count"]))
    cells.sort(key=lambda c: (-c.count, c.geohash))
    return cells


async def city_clusters(info: Info, filter: UMKMFilter | None) -> list[CityCluster]:
    ctx = info.context
    query = _public_query(filter)
    groups = await ctx.services.last_good.read(
        ("cityClusters", repr(query)), lambda: umkm_profiles.city_groups(ctx.mongo, query)
    )
    clusters = [
        CityCluster(
            kota=g["_id"]["kota"],
            provinsi=g["_id"]["provinsi"],
            count=g["count"],
            latitude=g.get("lat"),
            longitude=g.get("lng"),
        )
        for g in groups
    ]
    clusters.sort(key=lambda c: (-c.count, c.kota, c.provinsi))
    return clusters


# ------------------------------------------------------------------ writes


def failed(errors: list[UserError]) -> UMKMPayload:
    return UMKMPayload(umkm=None, user_errors=errors)


def not_found() -> UMKMPayload:
    return failed([user_error(["id"], "umkm.not_found", UserErrorCode.NOT_FOUND)])


def write_result(ctx: Context, outcome: umkm_writes.Outcome) -> UMKMPayload:
    """A write outcome as the payload of every UMKM mutation: refusals are userErrors on `id`
    (a forbidden change is an error, as for any root field), success the UMKM as the viewer may
    see it."""
    match outcome:
        case umkm_writes.Written(after=after):
            return UMKMPayload(umkm=umkm_from_doc(after, ctx.viewer), user_errors=[])
        case NotFound():
            return not_found()
        case InvalidState():
            code = UserErrorCode.INVALID_STATE
            return failed([user_error(["id"], "invalid_state", code)])
        case umkm_writes.Conflict():
            code = UserErrorCode.INVALID_STATE
            return failed([user_error(["id"], "umkm.conflict", code)])
        case Forbidden():
            raise errors.forbidden(t("forbidden"))


async def write_payload(ctx: Context, raw_id: str, plan: umkm_writes.Plan) -> UMKMPayload:
    """The scaffold of every UMKM mutation that changes one profile: an unknown id is a
    NOT_FOUND userError, the write's outcome becomes the payload."""
    umkm_id = parse_id(raw_id)
    if umkm_id is None:
        return not_found()
    outcome = await umkm_writes.write(ctx.dbs, ctx.services.pubsub, umkm_id, plan, actor=ctx.viewer)
    return write_result(ctx, outcome)


async def create_umkm(info: Info, input: CreateUMKMInput) -> UMKMPayload:
    ctx = info.context
    viewer = ctx.viewer
    data, problems = validate_create(input)
    owner_id = viewer.user_id if viewer.is_owner_role else None
    if viewer.is_admin and input.owner_id is not None:
        owner_id = await _existing_owner(ctx, input.owner_id)
        if owner_id is None:
            problems.append(
                user_error(["input", "ownerId"], "umkm.owner_not_found", UserErrorCode.NOT_FOUND)
            )
    if problems or data is None:
        return failed(problems)
    status = "VERIFIED" if viewer.is_admin else "PENDING"
    now = now_ms()
    doc = umkm_profiles.new_umkm_doc(
        nama_usaha=data.nama_usaha,
        sektor=data.sektor,
        kota=data.kota,
        provinsi=data.provinsi,
        alamat_lengkap=data.alamat_lengkap,
        latitude=data.latitude,
        longitude=data.longitude,
        pemilik=data.pemilik,
        legalitas=data.legalitas,
        owner_id=owner_id,
        status=status,
        created_at=now,
        verified_by=viewer.user_id if viewer.is_admin else None,
    )
    written = await umkm_writes.create(ctx.dbs, ctx.services.pubsub, doc, actor=viewer)
    return write_result(ctx, written)


async def _existing_owner(ctx: Context, raw: strawberry.ID) -> uuid.UUID | None:
    owner_id = parse_id(raw)
    if owner_id is None:
        return None
    doc = await users.find_by_id(ctx.mongo, owner_id)
    return owner_id if doc is not None and doc.get("role") == "UMKM_OWNER" else None


def _owner_or_admin(viewer: Viewer, doc: MongoDoc) -> bool:
    return viewer.is_admin or viewer.owns(doc.get("owner_id"))


async def update_umkm(info: Info, id: strawberry.ID, input: UpdateUMKMInput) -> UMKMPayload:
    ctx = info.context
    if parse_id(id) is None:
        return not_found()
    changes, problems = validate_update(input)
    if problems:
        return failed(problems)

    def plan(before: MongoDoc) -> Change | Refusal:
        if before.get("is_deleted"):
            return NotFound()
        if not _owner_or_admin(ctx.viewer, before):
            return Forbidden()
        effective = {k: v for k, v in changes.items() if get_path(before, k) != v}
        change = Change(effective)
        identity = any(k.startswith(_IDENTITY_PREFIXES) for k in effective)
        verified = get_path(before, "legalitas.status_verifikasi") == "VERIFIED"
        if identity and verified and ctx.viewer.is_owner_role:
            # The verified facts changed: officials must look again.
            effective.update(
                {
                    "legalitas.status_verifikasi": "PENDING",
                    "legalitas.verified_by": None,
                    "legalitas.tanggal_verifikasi": None,
                }
            )
            change.opens_task = True
        return change

    return await write_payload(ctx, id, plan)


async def delete_umkm(info: Info, id: strawberry.ID) -> UMKMPayload:
    ctx = info.context

    def plan(before: MongoDoc) -> Change | Refusal:
        if before.get("is_deleted"):
            return InvalidState() if ctx.viewer.is_admin else NotFound()
        if not _owner_or_admin(ctx.viewer, before):
            return Forbidden()
        return Change({"is_deleted": True, "deleted_at": now_ms()})

    return await write_payload(ctx, id, plan)


async def restore_umkm(info: Info, id: strawberry.ID) -> UMKMPayload:
    ctx = info.context

    def plan(before: MongoDoc) -> Change | Refusal:
        if not before.get("is_deleted"):
            return InvalidState()
        return Change({"is_deleted": False, "deleted_at": None})

    return await write_payload(ctx, id, plan)
