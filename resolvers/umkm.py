"""UMKM profiles: reads, lists, geo search, writes; nested owner/verifiedBy/user.umkms."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from resolvers._todo import todo
from schema.umkm import (
    UMKM,
    CityCluster,
    CreateUMKMInput,
    HeatCell,
    Legalitas,
    NearbyUMKM,
    UMKMConnection,
    UMKMFilter,
    UMKMPayload,
    UpdateUMKMInput,
)
from schema.users import User


async def get_umkm(info: Info, id: strawberry.ID) -> UMKM | None:
    todo("get_umkm")


async def list_umkms(
    info: Info, filter: UMKMFilter | None, first: int | None, after: str | None
) -> UMKMConnection:
    todo("list_umkms")


async def umkms_near(
    info: Info,
    latitude: float,
    longitude: float,
    radius_km: float | None,
    sektor: str | None,
    first: int | None,
) -> list[NearbyUMKM]:
    todo("umkms_near")


async def heatmap(info: Info, precision: int | None, filter: UMKMFilter | None) -> list[HeatCell]:
    todo("heatmap")


async def city_clusters(info: Info, filter: UMKMFilter | None) -> list[CityCluster]:
    todo("city_clusters")


async def create_umkm(info: Info, input: CreateUMKMInput) -> UMKMPayload:
    todo("create_umkm")


async def update_umkm(info: Info, id: strawberry.ID, input: UpdateUMKMInput) -> UMKMPayload:
    todo("update_umkm")


async def delete_umkm(info: Info, id: strawberry.ID) -> UMKMPayload:
    todo("delete_umkm")


async def restore_umkm(info: Info, id: strawberry.ID) -> UMKMPayload:
    todo("restore_umkm")


async def umkm_owner(info: Info, umkm: UMKM) -> User | None:
    todo("umkm_owner")


async def legalitas_verified_by(info: Info, legalitas: Legalitas) -> User | None:
    todo("legalitas_verified_by")


async def user_umkms(
    info: Info, user: User, first: int | None, after: str | None
) -> UMKMConnection:
    todo("user_umkms")
