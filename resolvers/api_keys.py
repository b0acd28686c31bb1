"""API keys: owners create, list and revoke keys for their cashier systems (db/api_keys.py).
How a key authenticates: sigma_graphql/request/context.py; what it may call:
sigma_graphql/permissions.py MACHINE_OPERATIONS."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry

from db import api_keys, umkm_profiles
from db.drivers.mongo import MongoDoc
from resolvers.common import parse_id, user_error
from schema.types.api_keys import (
    ApiKeyConnection,
    ApiKeyEdge,
    ApiKeyPayload,
    CreateApiKeyInput,
    CreateApiKeyPayload,
    api_key_from_doc,
)
from schema.types.common import UserError
from schema.types.enums import UserErrorCode
from schema.types.pagination import check_first, decode_keyset, keyset_cursor, page_info
from sigma_graphql.core import input_limits as limits
from sigma_graphql.core.i18n import register
from sigma_graphql.request.context import Info

register(
    {
        "api_key_not_owner": (
            "Kunci API hanya dapat dibuat untuk UMKM milik Anda",
            "API keys can only be created for your own UMKM",
        ),
        "api_key_past_expiry": (
            "Waktu kedaluwarsa harus di masa depan",
            "The expiry must be in the future",
        ),
        "api_key_too_many": (
            "UMKM ini sudah memiliki {max} kunci API aktif; cabut salah satunya dahulu",
            "This UMKM already has {max} active API keys; revoke one first",
        ),
    }
)


def _name_errors(raw: str) -> list[UserError]:
    name = raw.strip()
    if not name:
        return [user_error(["input", "name"], "required", UserErrorCode.REQUIRED)]
    problem = limits.text_problem(name, limits.NAME)
    if problem is None:
        return []
    return [
        user_error(["input", "name"], problem.key, UserErrorCode(problem.code), **problem.params)
    ]


async def create_api_key(info: Info, input: CreateApiKeyInput) -> CreateApiKeyPayload:
    ctx = info.context
    viewer = ctx.viewer
    problems = _name_errors(input.name)
    expires_at = input.expires_at
    if expires_at is not None:
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        if expires_at <= datetime.now(UTC):
            problems.append(
                user_error(
                    ["input", "expiresAt"], "api_key_past_expiry", UserErrorCode.OUT_OF_RANGE
                )
            )
    umkm_id = parse_id(input.umkm_id)
    doc = await umkm_profiles.find_by_id(ctx.mongo, umkm_id) if umkm_id else None
    if doc is None or doc.get("is_deleted"):
        problems.append(user_error(["input", "umkmId"], "not_found", UserErrorCode.NOT_FOUND))
    elif not viewer.owns(doc.get("owner_id")):
        problems.append(
            user_error(["input", "umkmId"], "api_key_not_owner", UserErrorCode.FORBIDDEN)
        )
    elif await api_keys.count_live(ctx.mongo, doc["_id"]) >= api_keys.MAX_LIVE_PER_UMKM:
        problems.append(
            user_error(
                ["input", "umkmId"],
                "api_key_too_many",
                UserErrorCode.INVALID_STATE,
                max=api_keys.MAX_LIVE_PER_UMKM,
            )
        )
    if problems or doc is None or viewer.user_id is None:
        return CreateApiKeyPayload(api_key=None, secret=None, user_errors=problems)
    key_doc, secret = api_keys.new_key_doc(
        ctx.settings.secret_key,
        name=input.name.strip(),
        umkm_id=doc["_id"],
        owner_id=viewer.user_id,
        expires_at=expires_at,
    )
    await api_keys.insert(ctx.mongo, key_doc)
    return CreateApiKeyPayload(api_key=api_key_from_doc(key_doc), secret=secret, user_errors=[])


async def list_api_keys(
    info: Info, umkm_id: strawberry.ID | None, first: int | None, after: str | None
) -> ApiKeyConnection:
    ctx = info.context
    limit = check_first(first)
    keyset = decode_keyset(after)
    owner_id = ctx.viewer.user_id
    assert owner_id is not None  # ROOT_ACCESS: UMKM_OWNER only
    only = None
    if umkm_id is not None:
        parsed = parse_id(umkm_id)
        only = [parsed] if parsed is not None else []
    docs = await api_keys.page_of_owner(ctx.mongo, owner_id, only, limit + 1, keyset)
    has_next = len(docs) > limit
    docs = docs[:limit]

    def cursor(doc: MongoDoc) -> str:
        return keyset_cursor(doc["created_at"], doc["_id"])

    nodes = [api_key_from_doc(d) for d in docs]
    return ApiKeyConnection(
        edges=[ApiKeyEdge(cursor=cursor(d), node=n) for d, n in zip(docs, nodes, strict=True)],
        nodes=nodes,
        page_info=page_info(docs, cursor, has_next=has_next, has_previous=after is not None),
    )


async def revoke_api_key(info: Info, id: strawberry.ID) -> ApiKeyPayload:
    ctx = info.context
    key_id = parse_id(id)
    owner_id = ctx.viewer.user_id
    doc = (
        await api_keys.revoke(ctx.mongo, key_id, owner_id)
        if key_id is not None and owner_id is not None
        else None
    )
    if doc is None:
        return ApiKeyPayload(
            api_key=None, user_errors=[user_error(["id"], "not_found", UserErrorCode.NOT_FOUND)]
        )
    return ApiKeyPayload(api_key=api_key_from_doc(doc), user_errors=[])
