"""Account administration (ADMIN): list, create, update, delete users."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers._todo import todo
from schema.common import OkPayload
from schema.enums import Role
from schema.users import CreateUserInput, UpdateUserInput, UserConnection, UserPayload


async def list_users(
    info: Info, role: Role | None, search: str | None, first: int | None, after: str | None
) -> UserConnection:
    todo("list_users")


async def create_user(info: Info, input: CreateUserInput) -> UserPayload:
    todo("create_user")


async def update_user(info: Info, id: strawberry.ID, input: UpdateUserInput) -> UserPayload:
    todo("update_user")


async def delete_user(info: Info, id: strawberry.ID) -> OkPayload:
    todo("delete_user")
