"""Account administration (ADMIN): list, create, update, delete users."""

from __future__ import annotations

import asyncio

import strawberry
from pymongo.errors import DuplicateKeyError

from db import sessions, umkm_profiles, users
from db.drivers.mongo import MongoDoc
from resolvers.common import parse_id, user_error
from resolvers.rules.account import (
    email_errors,
    nama_errors,
    normalize_email,
    password_errors,
    text_errors,
)
from schema.types.common import OkPayload, UserError
from schema.types.enums import AccountStatus, Role, UserErrorCode
from schema.types.pagination import (
    check_first,
    decode_keyset,
    keyset_cursor,
    page_info,
)
from schema.types.users import (
    CreateUserInput,
    UpdateUserInput,
    UserConnection,
    UserEdge,
    UserPayload,
    user_from_doc,
)
from sigma_graphql.core import input_limits as limits
from sigma_graphql.core.clock import now_utc
from sigma_graphql.core.passwords import hash_password_async
from sigma_graphql.request.context import Info
from sigma_graphql.request.selection import selects

STAFF_ROLES = frozenset({Role.PEJABAT, Role.ADMIN})


def _user_failed(errs: list[UserError]) -> UserPayload:
    return UserPayload(user=None, user_errors=errs)


def _not_found() -> UserError:
    return user_error(["id"], "not_found", UserErrorCode.NOT_FOUND)


# ---------------------------------------------------------------- list


def _cursor_of(doc: MongoDoc) -> str:
    return keyset_cursor(doc["created_at"], doc["_id"])


async def list_users(
    info: Info, role: Role | None, search: str | None, first: int | None, after: str | None
) -> UserConnection:
    ctx = info.context
    limit = check_first(first)
    keyset = decode_keyset(after)
    query = users.list_filter(role.value if role else None, search)
    # Count and per-edge cursors only when selected (the count is a second query).
    docs, total = await asyncio.gather(
        users.list_page(ctx.mongo, query, limit, keyset),
        users.count(ctx.mongo, query) if selects(info, "totalCount") else _no_count(),
    )
    has_next = len(docs) > limit
    page = docs[:limit]
    nodes = [user_from_doc(d, ctx.viewer) for d in page]
    edges = (
        [UserEdge(cursor=_cursor_of(d), node=n) for d, n in zip(page, nodes, strict=True)]
        if selects(info, "edges")
        else []
    )
    return UserConnection(
        edges=edges,
        nodes=nodes,
        page_info=page_info(page, _cursor_of, has_next=has_next, has_previous=keyset is not None),
        total_count=total,
    )


async def _no_count() -> int:
    return 0


# ---------------------------------------------------------------- create


async def create_user(info: Info, input: CreateUserInput) -> UserPayload:
    ctx = info.context
    email = normalize_email(input.email)
    email_errs = email_errors(input.email, ["input", "email"])
    errs = [
        *email_errs,
        *nama_errors(input.nama, ["input", "nama"]),
        *password_errors(input.password, email, ["input", "password"]),
    ]
    if input.role not in STAFF_ROLES:
        # Owners sign up themselves (NIK, phone, e-mail verification): never created here.
        errs.append(user_error(["input", "role"], "auth.staff_roles_only", UserErrorCode.INVALID))
    wilayah = (input.wilayah or "").strip() or None
    errs += text_errors(wilayah or "", limits.NAME, ["input", "wilayah"])
    if wilayah is not None and input.role is not Role.PEJABAT:
        errs.append(
            user_error(["input", "wilayah"], "auth.wilayah_pejabat_only", UserErrorCode.INVALID)
        )
    now = now_utc()
    stale: list[MongoDoc] = []
    if not email_errs:
        for doc in await users.find_conflicts(ctx.mongo, email.lower(), None):
            if users.is_expired_unverified(doc, now):
                stale.append(doc)
            else:
                errs.append(user_error(["input", "email"], "auth.email_taken", UserErrorCode.TAKEN))
    if errs:
        return _user_failed(errs)
    for doc in stale:
        await users.delete_if_expired_unverified(ctx.mongo, doc["_id"], now)
    doc = users.new_user_doc(
        email=email,
        password_hash=await hash_password_async(input.password),
        role=input.role.value,
        nama=input.nama.strip(),
        account_status="ACTIVE",
        wilayah=wilayah,
    )
    try:
        await users.insert(ctx.mongo, doc)
    except DuplicateKeyError:
        return _user_failed(
            [user_error(["input", "email"], "auth.email_taken", UserErrorCode.TAKEN)]
        )
    doc.pop("password_hash")
    return UserPayload(user=user_from_doc(doc, ctx.viewer), user_errors=[])


# ---------------------------------------------------------------- update


async def update_user(info: Info, id: strawberry.ID, input: UpdateUserInput) -> UserPayload:
    ctx = info.context
    target = parse_id(id)
    doc = await users.find_by_id(ctx.mongo, target) if target is not None else None
    if target is None or doc is None:
        return _user_failed([_not_found()])
    is_self = ctx.viewer.is_self(target)
    errs: list[UserError] = []
    changes: MongoDoc = {}
    unset: list[str] = []

    if input.nama is not strawberry.UNSET:
        if input.nama is None:
            errs.append(user_error(["input", "nama"], "required", UserErrorCode.REQUIRED))
        else:
            errs += nama_errors(input.nama, ["input", "nama"])
            changes["nama"] = input.nama.strip()
    if input.wilayah is not strawberry.UNSET:
        changes["wilayah"] = (input.wilayah or "").strip() or None
        errs += text_errors(changes["wilayah"] or "", limits.NAME, ["input", "wilayah"])
    role = input.role
    if role is not strawberry.UNSET and role is not None and role.value != doc["role"]:
        if is_self:  # an admin must not lock the last way in out of the system by accident
            errs.append(user_error(["input", "role"], "auth.not_self", UserErrorCode.FORBIDDEN))
        elif role is Role.UMKM_OWNER and not doc.get("nik"):
            errs.append(
                user_error(["input", "role"], "auth.owner_needs_nik", UserErrorCode.INVALID)
            )
        changes["role"] = role.value
    status = input.account_status
    if status is not strawberry.UNSET and status is not None:
        path = ["input", "accountStatus"]
        if status.value != doc["account_status"]:
            if is_self:
                errs.append(user_error(path, "auth.not_self", UserErrorCode.FORBIDDEN))
            elif status is AccountStatus.UNVERIFIED:
                errs.append(user_error(path, "auth.status_not_settable", UserErrorCode.INVALID))
        changes["account_status"] = status.value
        if status is AccountStatus.ACTIVE:
            unset.append("expires_at")  # an admin-activated sign-up no longer expires
    if errs:
        return _user_failed(errs)

    if changes.get("account_status") == AccountStatus.SUSPENDED.value:
        # Sessions end first: the suspended account loses access even if the update fails.
        await sessions.delete_for_user(ctx.mongo, target)
    updated = await users.update_fields(ctx.mongo, target, changes, unset) if changes else doc
    if updated is None:
        return _user_failed([_not_found()])
    return UserPayload(user=user_from_doc(updated, ctx.viewer), user_errors=[])


# ---------------------------------------------------------------- delete


async def delete_user(info: Info, id: strawberry.ID) -> OkPayload:
    ctx = info.context
    target = parse_id(id)
    if target is not None and ctx.viewer.is_self(target):
        return OkPayload(
            ok=False,
            user_errors=[user_error(["id"], "auth.not_self", UserErrorCode.FORBIDDEN)],
        )
    doc = await users.find_by_id(ctx.mongo, target) if target is not None else None
    if target is None or doc is None:
        return OkPayload(ok=False, user_errors=[_not_found()])
    # Order: access ends first, then the UMKMs are detached, then the account goes. Each step
    # is idempotent, so repeating deleteUser after a crash halfway finishes the job.
    await sessions.delete_for_user(ctx.mongo, target)
    await umkm_profiles.detach_owner(ctx.mongo, target)
    await users.delete(ctx.mongo, target)
    return OkPayload(ok=True, user_errors=[])
