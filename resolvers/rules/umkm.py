"""Validation and normalisation of UMKM inputs (CreateUMKMInput, UpdateUMKMInput).

Every rule reports a UserError with the input path (["input", "wilayah", "provinsi"]); all
violations of one request are reported together and the caller writes nothing when any exist.
Successful validation yields the values to store (canonical sector and province, trimmed text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from strawberry.types.unset import UnsetType

from db import geohash
from db.reference import (
    LAT_MAX,
    LAT_MIN,
    LNG_MAX,
    LNG_MIN,
    SECTORS,
    canonical_province,
    canonical_sector,
)
from resolvers.common import user_error
from schema.types.common import UserError
from schema.types.enums import UserErrorCode
from schema.types.umkm import (
    CreateUMKMInput,
    GeoPointInput,
    LegalitasInput,
    PemilikPatch,
    UpdateUMKMInput,
    WilayahPatch,
)
from sigma_graphql.core import input_limits as limits
from sigma_graphql.core.i18n import register

register(
    {
        "umkm.sektor_unknown": (
            "Sektor tidak dikenal; pilih salah satu: {allowed}",
            "Unknown sector; choose one of: {allowed}",
        ),
        "umkm.provinsi_unknown": (
            "Provinsi tidak dikenal; gunakan salah satu dari 38 provinsi Indonesia",
            "Unknown province; use one of Indonesia's 38 provinces",
        ),
        "umkm.nik_format": ("NIK harus tepat 16 digit angka", "NIK must be exactly 16 digits"),
        "umkm.telepon_format": (
            "Nomor ponsel Indonesia: 08… atau +628…, 10 sampai 15 digit",
            "Indonesian mobile number: 08… or +628…, 10 to 15 digits",
        ),
        "umkm.email_format": ("Alamat email tidak valid", "Invalid email address"),
        "umkm.url_https": (
            "Harus berupa URL https yang valid",
            "Must be a valid https URL",
        ),
        "umkm.lokasi_range": (
            "Lokasi harus di wilayah Indonesia ({min} sampai {max})",
            "Location must be inside Indonesia ({min} to {max})",
        ),
    }
)

NAMA_USAHA_MIN = 3
NAMA_USAHA_MAX = NAME_MAX = limits.NAME.max_len
ALAMAT_MAX = limits.ALAMAT.max_len
CODE_MAX = limits.CODE.max_len  # nib, pirt
URL_MAX = limits.URL.max_len
EMAIL_MAX = limits.EMAIL.max_len

_NIK = re.compile(r"[0-9]{16}")  # ASCII digits only (\d would accept any script)
# 08… or +628…: the local form (leading 0) has 10..15 digits.
_TELEPON = re.compile(r"(?:0|\+62)8[0-9]{8,13}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def given(value: object) -> bool:
    """True when a patch field was sent (null counts as sent)."""
    return not isinstance(value, UnsetType)


@dataclass
class Checker:
    errors: list[UserError] = field(default_factory=list)

    def fail(self, path: list[str], code: UserErrorCode, key: str, **params: object) -> None:
        self.errors.append(user_error(path, key, code, **params))

    def text(
        self,
        path: list[str],
        value: str | None,
        *,
        max_len: int,
        min_len: int = 1,
        required: bool = True,
    ) -> str | None:
        cleaned = (value or "").strip()
        if not cleaned:
            if required:
                self.fail(path, UserErrorCode.REQUIRED, "required")
            return None
        if len(cleaned) < min_len:
            self.fail(path, UserErrorCode.TOO_SHORT, "too_short", min=min_len)
        elif len(cleaned) > max_len:
            self.fail(path, UserErrorCode.TOO_LONG, "too_long", max=max_len)
        elif (problem := limits.control_problem(cleaned)) is not None:
            self.fail(path, UserErrorCode(problem.code), problem.key)
        return cleaned

    def sektor(self, path: list[str], value: str | None) -> str | None:
        if not (value or "").strip():
            self.fail(path, UserErrorCode.REQUIRED, "required")
            return None
        found = canonical_sector(value or "")
        if found is None:
            self.fail(
                path, UserErrorCode.INVALID, "umkm.sektor_unknown", allowed=", ".join(SECTORS)
            )
        return found

    def provinsi(self, path: list[str], value: str | None) -> str | None:
        if not (value or "").strip():
            self.fail(path, UserErrorCode.REQUIRED, "required")
            return None
        found = canonical_province(value or "")
        if found is None:
            self.fail(path, UserErrorCode.INVALID, "umkm.provinsi_unknown")
        return found

    def pattern(
        self, path: list[str], value: str | None, regex: re.Pattern[str], key: str, required: bool
    ) -> str | None:
        cleaned = self.text(path, value, max_len=EMAIL_MAX, required=required)
        if cleaned is not None and not regex.fullmatch(cleaned):
            self.fail(path, UserErrorCode.INVALID, key)
        return cleaned

    def https_url(self, path: list[str], value: str | None) -> str | None:
        cleaned = self.text(path, value, max_len=URL_MAX, required=False)
        if cleaned is None:
            return None
        parts = urlsplit(cleaned)
        if parts.scheme != "https" or not parts.hostname or any(c.isspace() for c in cleaned):
            self.fail(path, UserErrorCode.INVALID, "umkm.url_https")
        return cleaned

    def lokasi(self, path: list[str], point: GeoPointInput) -> tuple[float, float]:
        if not LAT_MIN <= point.latitude <= LAT_MAX:
            self.fail(
                [*path, "latitude"],
                UserErrorCode.OUT_OF_RANGE,
                "umkm.lokasi_range",
                min=LAT_MIN,
                max=LAT_MAX,
            )
        if not LNG_MIN <= point.longitude <= LNG_MAX:
            self.fail(
                [*path, "longitude"],
                UserErrorCode.OUT_OF_RANGE,
                "umkm.lokasi_range",
                min=LNG_MIN,
                max=LNG_MAX,
            )
        return point.latitude, point.longitude

    def nik(self, path: list[str], value: str | None) -> str | None:
        return self.pattern(path, value, _NIK, "umkm.nik_format", required=False)

    def telepon(self, path: list[str], value: str | None) -> str | None:
        return self.pattern(path, value, _TELEPON, "umkm.telepon_format", required=True)

    def email(self, path: list[str], value: str | None) -> str | None:
        return self.pattern(path, value, _EMAIL, "umkm.email_format", required=False)


@dataclass
class NewUmkm:
    """A valid CreateUMKMInput, normalised (the arguments of umkm_profiles.new_umkm_doc)."""

    nama_usaha: str
    sektor: str
    kota: str
    provinsi: str
    alamat_lengkap: str | None
    latitude: float | None
    longitude: float | None
    pemilik: dict[str, Any]
    legalitas: dict[str, Any]


def _legalitas(c: Checker, legal: LegalitasInput, path: list[str]) -> dict[str, Any]:
    """The given legalitas fields, validated (keys are document field names)."""
    out: dict[str, Any] = {}
    if given(legal.nib):
        out["nib"] = c.text([*path, "nib"], legal.nib, max_len=CODE_MAX, required=False)
    if given(legal.pirt):
        out["pirt"] = c.text([*path, "pirt"], legal.pirt, max_len=CODE_MAX, required=False)
    if given(legal.halal):
        out["halal"] = legal.halal
    if given(legal.dokumen_url):
        out["dokumen_url"] = c.https_url([*path, "dokumenUrl"], legal.dokumen_url)
    return out


def validate_create(data: CreateUMKMInput) -> tuple[NewUmkm | None, list[UserError]]:
    c = Checker()
    p = ["input"]
    nama = c.text(
        [*p, "namaUsaha"], data.nama_usaha, min_len=NAMA_USAHA_MIN, max_len=NAMA_USAHA_MAX
    )
    sektor = c.sektor([*p, "sektor"], data.sektor)
    w = [*p, "wilayah"]
    kota = c.text([*w, "kota"], data.wilayah.kota, max_len=NAME_MAX)
    provinsi = c.provinsi([*w, "provinsi"], data.wilayah.provinsi)
    alamat = c.text(
        [*w, "alamatLengkap"], data.wilayah.alamat_lengkap, max_len=ALAMAT_MAX, required=False
    )
    lat = lng = None
    if data.lokasi is not None:
        lat, lng = c.lokasi([*p, "lokasi"], data.lokasi)
    o = [*p, "pemilik"]
    pemilik = {
        "nama": c.text([*o, "nama"], data.pemilik.nama, max_len=NAME_MAX),
        "nik": c.nik([*o, "nik"], data.pemilik.nik),
        "telepon": c.telepon([*o, "telepon"], data.pemilik.telepon),
        "email": c.email([*o, "email"], data.pemilik.email),
    }
    legalitas = _legalitas(c, data.legalitas, [*p, "legalitas"]) if data.legalitas else {}
    if c.errors:
        return None, c.errors
    assert nama and sektor and kota and provinsi  # guaranteed by the checks above
    return (
        NewUmkm(
            nama_usaha=nama,
            sektor=sektor,
            kota=kota,
            provinsi=provinsi,
            alamat_lengkap=alamat,
            latitude=lat,
            longitude=lng,
            pemilik=pemilik,
            legalitas=legalitas,
        ),
        [],
    )


def _wilayah_patch(c: Checker, patch: WilayahPatch, path: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if given(patch.kota):
        out["wilayah.kota"] = c.text([*path, "kota"], patch.kota, max_len=NAME_MAX)
    if given(patch.provinsi):
        out["wilayah.provinsi"] = c.provinsi([*path, "provinsi"], patch.provinsi)
    if given(patch.alamat_lengkap):
        out["wilayah.alamat_lengkap"] = c.text(
            [*path, "alamatLengkap"], patch.alamat_lengkap, max_len=ALAMAT_MAX, required=False
        )
    return out


def _pemilik_patch(c: Checker, patch: PemilikPatch, path: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if given(patch.nama):
        out["pemilik.nama"] = c.text([*path, "nama"], patch.nama, max_len=NAME_MAX)
    if given(patch.nik):
        out["pemilik.nik"] = c.nik([*path, "nik"], patch.nik)
    if given(patch.telepon):
        out["pemilik.telepon"] = c.telepon([*path, "telepon"], patch.telepon)
    if given(patch.email):
        out["pemilik.email"] = c.email([*path, "email"], patch.email)
    return out


def validate_update(data: UpdateUMKMInput) -> tuple[dict[str, Any], list[UserError]]:
    """The $set of dotted paths for the fields given (a partial merge), or the errors."""
    c = Checker()
    p = ["input"]
    changes: dict[str, Any] = {}
    if given(data.nama_usaha):
        nama = c.text(
            [*p, "namaUsaha"], data.nama_usaha, min_len=NAMA_USAHA_MIN, max_len=NAMA_USAHA_MAX
        )
        changes["nama_usaha"] = nama
        changes["nama_lower"] = nama.lower() if nama else None
    if given(data.sektor):
        changes["sektor"] = c.sektor([*p, "sektor"], data.sektor)
    if isinstance(data.wilayah, WilayahPatch):
        changes.update(_wilayah_patch(c, data.wilayah, [*p, "wilayah"]))
    if given(data.lokasi):
        if isinstance(data.lokasi, GeoPointInput):
            lat, lng = c.lokasi([*p, "lokasi"], data.lokasi)
            changes["lokasi"] = {"type": "Point", "coordinates": [lng, lat]}
            changes["geohash"] = geohash.encode(lat, lng)
        else:  # explicit null: the UMKM no longer has a location
            changes["lokasi"] = None
            changes["geohash"] = None
    if isinstance(data.pemilik, PemilikPatch):
        changes.update(_pemilik_patch(c, data.pemilik, [*p, "pemilik"]))
    if isinstance(data.legalitas, LegalitasInput):
        legal = _legalitas(c, data.legalitas, [*p, "legalitas"])
        changes.update({f"legalitas.{k}": v for k, v in legal.items()})
    if c.errors:
        return {}, c.errors
    return changes, []
