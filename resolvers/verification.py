"""The verification workflow: task queue, approve/reject/resubmit, subscription."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from resolvers._todo import todo
from schema.enums import VerificationStatus
from schema.umkm import UMKM, UMKMPayload, VerificationTask, VerificationTaskConnection
from schema.users import User


async def list_tasks(
    info: Info, status: VerificationStatus | None, first: int | None, after: str | None
) -> VerificationTaskConnection:
    todo("list_tasks")


async def approve_umkm(info: Info, id: strawberry.ID, note: str | None) -> UMKMPayload:
    todo("approve_umkm")


async def reject_umkm(info: Info, id: strawberry.ID, reason: str) -> UMKMPayload:
    todo("reject_umkm")


async def resubmit_umkm(info: Info, id: strawberry.ID) -> UMKMPayload:
    todo("resubmit_umkm")


async def task_umkm(info: Info, task: VerificationTask) -> UMKM | None:
    todo("task_umkm")


async def task_decided_by(info: Info, task: VerificationTask) -> User | None:
    todo("task_decided_by")


async def subscribe(info: Info) -> AsyncGenerator[VerificationTask, None]:
    todo("subscribe")
    yield  # pragma: no cover
