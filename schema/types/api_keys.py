"""API keys of UMKM owners for their cashier (POS) systems (db/api_keys.py)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from db import api_keys
from db.drivers.mongo import MongoDoc
from schema.types import umkm as umkm_types
from schema.types.common import PageInfo, UserError
from sigma_graphql.request.context import Info

if TYPE_CHECKING:
    from schema.types.umkm import UMKM

LazyUMKM = Annotated["UMKM", strawberry.lazy("schema.types.umkm")]


@strawberry.enum(description="What an API key may do.")
class ApiKeyScope(Enum):
    REVENUE_REPORTING = "REVENUE_REPORTING"  # submitFinancialLog and importFinancialLogs


@strawberry.type(
    description="A key a machine (cashier system) sends as `Authorization: ApiKey <key>` or "
    "`X-API-Key`: one UMKM, revenue reporting only. The secret is shown once, at creation."
)
class ApiKey:
    id: strawberry.ID
    name: str
    prefix: str = strawberry.field(description="Identifies the key: `sgk_<prefix>_...`.")
    umkm_id: strawberry.ID
    scopes: list[ApiKeyScope]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None = strawberry.field(
        description="Recorded at most once a minute (SIGMA_API_KEY_TOUCH_S)."
    )
    revoked_at: datetime | None
    is_active: bool = strawberry.field(description="Neither revoked nor expired.")
    umkm_uuid: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def umkm(self, info: Info) -> LazyUMKM | None:
        return await umkm_types.load_umkm(info.context, self.umkm_uuid)


def api_key_from_doc(doc: MongoDoc) -> ApiKey:
    return ApiKey(
        id=strawberry.ID(str(doc["_id"])),
        name=doc["name"],
        prefix=doc["prefix"],
        umkm_id=strawberry.ID(str(doc["umkm_id"])),
        scopes=[ApiKeyScope(s) for s in doc.get("scopes") or [] if s in ApiKeyScope.__members__],
        created_at=api_keys.utc(doc["created_at"]),  # type: ignore[arg-type]
        expires_at=api_keys.utc(doc.get("expires_at")),
        last_used_at=api_keys.utc(doc.get("last_used_at")),
        revoked_at=api_keys.utc(doc.get("revoked_at")),
        is_active=api_keys.is_live(doc),
        umkm_uuid=doc["umkm_id"],
    )


@strawberry.type
class ApiKeyEdge:
    cursor: str
    node: ApiKey


@strawberry.type
class ApiKeyConnection:
    edges: list[ApiKeyEdge]
    nodes: list[ApiKey]
    page_info: PageInfo


@strawberry.input
class CreateApiKeyInput:
    umkm_id: strawberry.ID
    name: str = strawberry.field(description="1..100 characters, e.g. the cashier's name.")
    expires_at: datetime | None = strawberry.field(
        default=None, description="Optional; must be in the future."
    )


@strawberry.type
class CreateApiKeyPayload:
    api_key: ApiKey | None
    secret: str | None = strawberry.field(
        description="The full key, shown only in this answer: it is stored only as a hash."
    )
    user_errors: list[UserError]


@strawberry.type
class ApiKeyPayload:
    api_key: ApiKey | None
    user_errors: list[UserError]
