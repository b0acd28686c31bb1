"""Sign-up, e-mail verification, login/logout, password flows, `me` and login history."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers._todo import todo
from schema.common import OkPayload
from schema.users import (
    ChangePasswordInput,
    LoginEvent,
    LoginInput,
    LoginPayload,
    RegisterInput,
    RegisterPayload,
    ResetPasswordInput,
    User,
)


async def me(info: Info) -> User | None:
    todo("me")


async def login_history(
    info: Info, user_id: strawberry.ID | None, first: int | None
) -> list[LoginEvent]:
    todo("login_history")


async def register(info: Info, input: RegisterInput) -> RegisterPayload:
    todo("register")


async def verify_email(info: Info, token: str) -> OkPayload:
    todo("verify_email")


async def resend_verification_email(info: Info, email: str) -> OkPayload:
    todo("resend_verification_email")


async def login(info: Info, input: LoginInput) -> LoginPayload:
    todo("login")


async def logout(info: Info) -> OkPayload:
    todo("logout")


async def change_password(info: Info, input: ChangePasswordInput) -> OkPayload:
    todo("change_password")


async def request_password_reset(info: Info, email: str) -> OkPayload:
    todo("request_password_reset")


async def reset_password(info: Info, input: ResetPasswordInput) -> OkPayload:
    todo("reset_password")
