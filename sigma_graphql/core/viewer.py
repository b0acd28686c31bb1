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

    def is_self(self, user_id: uuid.UUID | None) -> bool:
        return self.user_id is not None and self.user_id == user_id

    def owns(self, owner_id: uuid.UUID | None) -> bool:
        """True when this viewer is the UMKM_OWNER whose id is owner_id."""
        return self.is_owner_role and self.is_self(owner_id)


PUBLIC = Viewer()
