"""Who is asking: the authenticated account of a request, or PUBLIC."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum


class Audience(StrEnum):
    PUBLIC = "PUBLIC"
    UMKM_OWNER = "UMKM_OWNER"
    PEJABAT = "PEJABAT"
    ADMIN = "ADMIN"
    # A machine (cashier system) presenting an API key: one UMKM, revenue reporting only
    # (db/api_keys.py; the operations it may call: sigma_graphql/permissions.py).
    API_KEY = "API_KEY"


STAFF = frozenset({Audience.PEJABAT, Audience.ADMIN})


@dataclass(frozen=True)
class Viewer:
    audience: Audience = Audience.PUBLIC
    user_id: uuid.UUID | None = None
    nama: str | None = None
    email: str | None = None
    wilayah: str | None = None
    session_id: str | None = None
    # True when the session came from the cookie (CSRF rules apply), False for Bearer.
    via_cookie: bool = False
    # API keys only (audience API_KEY): the key, the one UMKM it reports for, and the owner it
    # acts for (user_id stays None: a key is never its owner for any other purpose).
    api_key_id: uuid.UUID | None = None
    api_key_umkm_id: uuid.UUID | None = None
    on_behalf_of: uuid.UUID | None = None

    @property
    def is_public(self) -> bool:
        return self.audience is Audience.PUBLIC

    @property
    def is_staff(self) -> bool:
        return self.audience in STAFF

    @property
    def is_admin(self) -> bool:
        return self.audience is Audience.ADMIN

    @property
    def is_owner_role(self) -> bool:
        return self.audience is Audience.UMKM_OWNER

    @property
    def is_api_key(self) -> bool:
        return self.audience is Audience.API_KEY

    @property
    def actor_id(self) -> uuid.UUID | None:
        """Who a write is recorded as made by: the account, or the owner an API key acts for."""
        return self.user_id if self.user_id is not None else self.on_behalf_of

    def is_self(self, user_id: uuid.UUID | None) -> bool:
        return self.user_id is not None and self.user_id == user_id

    def owns(self, owner_id: uuid.UUID | None) -> bool:
        """True when this viewer is the UMKM_OWNER whose id is owner_id."""
        return self.is_owner_role and self.is_self(owner_id)


PUBLIC = Viewer()
