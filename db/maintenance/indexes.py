"""MongoDB index definitions, created by `sigma-graphql migrate`.

The mongo-java-server stand-in accepts but ignores non-unique, TTL and 2dsphere indexes, so the
code never depends on them for correctness (expiry is checked in code, geo uses geohash cells).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class IndexSpec:
    collection: str
    keys: list[tuple[str, Any]]
    name: str
    options: dict[str, Any] = field(default_factory=dict)
    # Optional: a server may refuse it (TTL / 2dsphere on some stand-ins); we log and go on.
    optional: bool = False


INDEXES: list[IndexSpec] = [
    # users
    IndexSpec("users", [("email_lower", 1)], "uniq_email_lower", {"unique": True}),
    IndexSpec("users", [("nik", 1)], "uniq_nik", {"unique": True, "sparse": True}),
    IndexSpec("users", [("role", 1), ("created_at", -1), ("_id", -1)], "role_created"),
    IndexSpec("users", [("created_at", -1), ("_id", -1)], "created"),
    # sessions: expiry is checked in code; the TTL index only cleans up.
    IndexSpec("sessions", [("user_id", 1)], "user"),
    IndexSpec("sessions", [("expires_at", 1)], "ttl_expires", {"expireAfterSeconds": 0}, True),
    # budgets (db/budgets.py): a bucket that is full again carries no information.
    IndexSpec("budgets", [("expires_at", 1)], "ttl_full", {"expireAfterSeconds": 0}, True),
    # umkm_profiles
    IndexSpec("umkm_profiles", [("owner_id", 1), ("created_at", -1), ("_id", -1)], "owner"),
    IndexSpec(
        "umkm_profiles",
        [("legalitas.status_verifikasi", 1), ("is_deleted", 1), ("created_at", -1), ("_id", -1)],
        "status_created",
    ),
    # Staff lists (row rule {is_deleted: false}, list order): without it a real MongoDB scans
    # the collection and sorts it in memory to return one page (shape (d), bench/README.md).
    IndexSpec(
        "umkm_profiles", [("is_deleted", 1), ("created_at", -1), ("_id", -1)], "live_created"
    ),
    IndexSpec("umkm_profiles", [("sektor", 1), ("wilayah.kota", 1)], "sektor_kota"),
    IndexSpec("umkm_profiles", [("geohash", 1)], "geohash"),
    IndexSpec("umkm_profiles", [("lokasi", "2dsphere")], "lokasi_2dsphere", {}, True),
    # analytics: officialDashboard.notReporting (VERIFIED, live, latest month before a cutoff)
    IndexSpec(
        "umkm_profiles",
        [
            ("legalitas.status_verifikasi", 1),
            ("is_deleted", 1),
            ("summary_terakhir.tahun", 1),
            ("summary_terakhir.bulan", 1),
            ("_id", 1),
        ],
        "status_summary",
    ),
    # umkms(filter: {kota}): equality on the lower-cased kota, then the list order (the same
    # for every viewer, whose row rules differ).
    IndexSpec("umkm_profiles", [("kota_lower", 1), ("created_at", -1), ("_id", -1)], "kota_lower"),
    # export jobs (db/export_jobs.py): the creator's list, the claim of jobs nobody holds;
    # expiry is checked in code, the TTL index only cleans up (clean-exports removes the files).
    IndexSpec("export_jobs", [("owner_id", 1), ("created_at", -1), ("_id", -1)], "owner_created"),
    IndexSpec("export_jobs", [("status", 1), ("lease_until", 1)], "status_lease"),
    IndexSpec("export_jobs", [("expires_at", 1)], "ttl_expires", {"expireAfterSeconds": 0}, True),
    IndexSpec("export_slots", [("job_id", 1)], "job"),
    # GridFS bucket `exports` (db/export_files.py writes its chunks itself): the driver's own
    # indexes of a bucket, which its upload stream would otherwise create.
    IndexSpec("exports.chunks", [("files_id", 1), ("n", 1)], "files_id_1_n_1", {"unique": True}),
    IndexSpec("exports.files", [("filename", 1), ("uploadDate", 1)], "filename_1_uploadDate_1"),
    # api_keys (db/api_keys.py): the presented key's prefix finds its document; owners list theirs
    IndexSpec("api_keys", [("prefix", 1)], "uniq_prefix", {"unique": True}),
    IndexSpec("api_keys", [("owner_id", 1), ("created_at", -1), ("_id", -1)], "owner_created"),
    IndexSpec("api_keys", [("umkm_id", 1)], "umkm"),
]
# persisted_documents (db/persisted_documents.py): looked up by `_id` (the document's hash);
# `trusted` serves the count `sigma-graphql trust-documents` reports.
INDEXES.append(IndexSpec("persisted_documents", [("trusted", 1)], "trusted"))
