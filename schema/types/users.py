"""People: User, login history, and the auth/admin inputs and payloads."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from schema.types.common import PageInfo, UserError
from schema.types.enums import AccountStatus, Role

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
        from resolvers.umkm import user_umkms

        return await user_umkms(info, self, first, after)


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
