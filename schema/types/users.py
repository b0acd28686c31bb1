"""People: User, login history, and the auth/admin inputs and payloads; a User built from its
document for one viewer, and User's nested field.

users, umkm, financial and umkm_prefetch (all in schema/types) call one another's functions:
they import one another as modules and use the attributes at call time, and name one another's
types only under TYPE_CHECKING and through strawberry.lazy, so any of them can be imported first.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from db.drivers.mongo import MongoDoc
from loaders.users import user_by_id
from schema.types import umkm
from schema.types.common import PageInfo, UserError
from schema.types.enums import AccountStatus, Role
from schema.types.row_backed import RowField
from sigma_graphql.core.viewer import Viewer
from sigma_graphql.permissions import UserGrants, masked_nik, user_grants
from sigma_graphql.request.context import Context, Info

if TYPE_CHECKING:
    from schema.types.umkm import UMKMConnection


@strawberry.type
class User:
    id: strawberry.ID
    email: str | None = strawberry.field(description="Self and ADMIN; null for everyone else.")
    nama: str
    role: Role
    account_status: AccountStatus
    nik: str | None = strawberry.field(
        description="UMKM_OWNER accounts only. Self and ADMIN see all 16 digits; PEJABAT sees it "
        "masked as the first 4 and last 4 digits with 8 '*' between; others null."
    )
    telepon: str | None = strawberry.field(description="Self and staff.")
    wilayah: str | None = strawberry.field(
        description="PEJABAT accounts: the kota they oversee (optional)."
    )
    created_at: datetime
    user_id: strawberry.Private[uuid.UUID]
    # Decided once when the object is built (permission table: User.umkms).
    umkms_visible: strawberry.Private[bool]

    @strawberry.field(
        description="UMKMs this user owns (not deleted). Self and staff; empty otherwise."
    )
    async def umkms(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> Annotated[UMKMConnection, strawberry.lazy("schema.types.umkm")]:
        return await umkm.user_umkms(info, self, first, after)


def user_from_doc(doc: MongoDoc, viewer: Viewer) -> User:
    """The User as `viewer` may see it: every restricted value follows the permission table
    (sigma_graphql/permissions.py), so the leaves above stay plain attributes and are null for
    viewers without access."""
    return DocUser(doc, user_grants(viewer, is_self=viewer.is_self(doc["_id"])))


class DocUser(User):
    """A User that reads its document's fields when they are asked for
    (schema/types/row_backed.py), as `may` allows."""

    __slots__ = ("may", "row")

    id = RowField.text("_id")
    email = RowField(read=lambda u: u.row.get("email") if u.may.email else None)
    nama = RowField[str]("nama")
    role = RowField.member(Role, "role")
    account_status = RowField.member(AccountStatus, "account_status")
    nik = RowField(read=lambda u: masked_nik(u.may.nik, u.row.get("nik")))
    telepon = RowField(read=lambda u: u.row.get("telepon") if u.may.telepon else None)
    wilayah = RowField.optional("wilayah")
    created_at = RowField[datetime]("created_at")
    user_id = RowField[uuid.UUID]("_id")
    umkms_visible = RowField(read=lambda u: u.may.umkms)

    def __init__(self, doc: MongoDoc, may: UserGrants) -> None:  # no super(): nothing to copy
        self.row = doc
        self.may = may


async def load_user(ctx: Context, user_id: uuid.UUID | None) -> User | None:
    """The user with that id as ctx.viewer may see it, through the request's loader (batched)."""
    if user_id is None:
        return None
    doc = await ctx.loaders.get(user_by_id).load(user_id)
    return user_from_doc(doc, ctx.viewer) if doc else None


@strawberry.type
class UserEdge:
    cursor: str
    node: User


@strawberry.type
class UserConnection:
    edges: list[UserEdge]
    nodes: list[User]
    page_info: PageInfo
    total_count: int


@strawberry.type
class LoginEvent:
    at: datetime
    success: bool
    ip_address: str | None
    device_info: str | None


@strawberry.type
class RegisterPayload:
    user: User | None
    user_errors: list[UserError]


@strawberry.type
class LoginPayload:
    user: User | None
    token: str | None = strawberry.field(
        description="Bearer token for non-browser clients; also set as the HttpOnly cookie "
        "session_token."
    )
    expires_at: datetime | None
    user_errors: list[UserError]


@strawberry.type
class UserPayload:
    user: User | None
    user_errors: list[UserError]


@strawberry.input
class RegisterInput:
    nama_lengkap: str
    nik: str
    email: str
    telepon: str
    password: str
    password_confirm: str


@strawberry.input
class LoginInput:
    email: str
    password: str


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.input
class ResetPasswordInput:
    token: str
    new_password: str


@strawberry.input
class CreateUserInput:
    email: str
    nama: str
    password: str
    role: Role
    wilayah: str | None = None


@strawberry.input
class UpdateUserInput:
    nama: str | None = strawberry.UNSET
    wilayah: str | None = strawberry.UNSET
    role: Role | None = strawberry.UNSET
    account_status: AccountStatus | None = strawberry.UNSET
