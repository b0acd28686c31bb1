"""Enums of the contract."""

from __future__ import annotations

from enum import Enum

import strawberry


@strawberry.enum
class Role(Enum):
    ADMIN = "ADMIN"
    PEJABAT = "PEJABAT"
    UMKM_OWNER = "UMKM_OWNER"


@strawberry.enum
class AccountStatus(Enum):
    UNVERIFIED = "UNVERIFIED"
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"


@strawberry.enum
class VerificationStatus(Enum):
    PENDING = "PENDING"
    VERIFIED = "VERIFIED"
    REJECTED = "REJECTED"


@strawberry.enum(
    description="Quarterly health label: growth >= 20% SANGAT_SEHAT; 0..20 STABIL; "
    "-10..0 NORMALISASI; -20..-10 WASPADA; < -20 KRITIS."
)
class HealthStatus(Enum):
    SANGAT_SEHAT = "SANGAT_SEHAT"
    STABIL = "STABIL"
    NORMALISASI = "NORMALISASI"
    WASPADA = "WASPADA"
    KRITIS = "KRITIS"


@strawberry.enum
class NotificationType(Enum):
    FINANCIAL_FLAGGED = "FINANCIAL_FLAGGED"
    FINANCIAL_UNFLAGGED = "FINANCIAL_UNFLAGGED"
    UMKM_VERIFIED = "UMKM_VERIFIED"
    UMKM_REJECTED = "UMKM_REJECTED"


@strawberry.enum
class UserErrorCode(Enum):
    REQUIRED = "REQUIRED"
    INVALID = "INVALID"
    TOO_SHORT = "TOO_SHORT"
    TOO_LONG = "TOO_LONG"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    MISMATCH = "MISMATCH"
    TAKEN = "TAKEN"
    NOT_FOUND = "NOT_FOUND"
    INVALID_STATE = "INVALID_STATE"
    FORBIDDEN = "FORBIDDEN"
    RATE_LIMITED = "RATE_LIMITED"
    WEAK_PASSWORD = "WEAK_PASSWORD"
    EXPIRED = "EXPIRED"
