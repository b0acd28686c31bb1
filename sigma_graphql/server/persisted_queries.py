"""Persisted operations: automatic persisted queries and trusted documents (issue 14, part 3).

Automatic persisted queries follow Apollo's protocol: a request names its document by
`extensions.persistedQuery = {"version": 1, "sha256Hash": "<hex>"}`, over POST or GET.
- hash only, known: the stored document runs;
- hash only, unknown: the GraphQL error "PersistedQueryNotFound" with extensions.code
  PERSISTED_QUERY_NOT_FOUND (what Apollo's link and other APQ clients look for), so the client
  sends the document with its hash;
- document and hash: the hash must be the SHA-256 of the document (else
  PERSISTED_QUERY_HASH_MISMATCH, nothing stored); the document is stored only after it ran
  without a request error (it parsed, validated and its variables coerced), so nothing a client
  sends that is not a valid operation of this schema is ever kept.
Malformed `persistedQuery` entries are BAD_USER_INPUT; nothing is stored for them either.

Documents live in MongoDB (db/persisted_documents.py) so every API process knows what any of
them registered; a bounded in-process LRU (SIGMA_PERSISTED_CACHE_ENTRIES) answers repeated
hashes without a round trip.

Trusted documents (loaded by `sigma-graphql trust-documents`): with
SIGMA_TRUSTED_DOCUMENTS_ONLY, PUBLIC and UMKM_OWNER viewers may run only trusted documents,
named by their id (the hash); a free-form document from them is refused with
TRUSTED_DOCUMENT_REQUIRED before it is parsed. PEJABAT and ADMIN may still send any document.
"""

from __future__ import annotations

import dataclasses
import re
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError
from strawberry.http import GraphQLRequestData

from db import persisted_documents
from db.drivers.handles import Databases
from db.persisted_documents import StoredDocument, sha256_hex
from sigma_graphql.core import errors
from sigma_graphql.core.errors import AppError
from sigma_graphql.core.i18n import register, t
from sigma_graphql.core.settings import Settings
from sigma_graphql.core.viewer import Viewer
from sigma_graphql.execution.trusted_sockets import RESTRICTED, trusted_only_error

# Apollo's hashes are 64 hex digits; manifest ids may be any short token of these characters.
_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
NOT_FOUND_MESSAGE = "PersistedQueryNotFound"  # the exact text Apollo's clients match

register(
    {
        "pq_malformed": (
            'extensions.persistedQuery harus berupa {{"version": 1, "sha256Hash": "<hash>"}}: '
            "{detail}",
            'extensions.persistedQuery must be {{"version": 1, "sha256Hash": "<hash>"}}: {detail}',
        ),
        "pq_hash_mismatch": (
            "sha256Hash tidak cocok dengan SHA-256 dokumen yang dikirim",
            "sha256Hash does not match the SHA-256 of the document sent",
        ),
    }
)


@dataclass(frozen=True)
class Persisted:
    """What a persisted request named: its id, whether the document came from the store (the
    request carried none), and the document to register once it ran cleanly."""

    id: str
    from_store: bool
    to_register: str | None = None


def _malformed(detail: str) -> AppError:
    return AppError(t("pq_malformed", detail=detail), errors.BAD_USER_INPUT, field="extensions")


def _persisted_query_id(extensions: dict[str, Any] | None) -> str | None:
    """The id named by extensions.persistedQuery, None without one; AppError when malformed."""
    if not extensions or extensions.get("persistedQuery") is None:
        return None
    entry = extensions["persistedQuery"]
    if not isinstance(entry, dict):
        raise _malformed("not an object")
    version = entry.get("version")
    if type(version) is not int or version != 1:
        raise _malformed("unsupported version")
    document_id = entry.get("sha256Hash")
    if not isinstance(document_id, str) or _ID.fullmatch(document_id) is None:
        raise _malformed("sha256Hash missing or malformed")
    return document_id.lower() if _SHA256.fullmatch(document_id) else document_id


def is_request_error(result_errors: Sequence[GraphQLError] | None, data: object) -> bool:
    """Nothing executed (syntax, validation, variables, limits): the document is not kept."""
    if data is not None or not result_errors:
        return False
    return all(e.path is None for e in result_errors)


class PersistedQueries:
    """One per app: the LRU in front of MongoDB and the trusted-only policy."""

    def __init__(self, settings: Settings) -> None:
        self.trusted_only = settings.trusted_documents_only
        self.max_entries = settings.persisted_cache_entries
        self._cache: OrderedDict[str, StoredDocument] = OrderedDict()

    def _remember(self, stored: StoredDocument) -> None:
        self._cache[stored.id] = stored
        self._cache.move_to_end(stored.id)
        while len(self._cache) > self.max_entries:
            self._cache.popitem(last=False)

    async def _lookup(
        self, dbs: Databases, document_id: str, need_trusted: bool
    ) -> StoredDocument | None:
        stored = self._cache.get(document_id)
        # An untrusted entry may have been trusted since (trust-documents): ask again when it
        # matters.
        if stored is not None and (stored.trusted or not need_trusted):
            self._cache.move_to_end(document_id)
            return stored
        # dbs.mongo only now: it raises while MongoDB's breaker is open, and requests without a
        # persisted document must not depend on MongoDB.
        stored = await persisted_documents.get(dbs.mongo, document_id)
        if stored is not None:
            self._remember(stored)
        return stored

    async def resolve(
        self, dbs: Databases, data: GraphQLRequestData, viewer: Viewer
    ) -> tuple[GraphQLRequestData, Persisted | None]:
        """The request with its document filled in from the store, and what it named.
        Raises AppError for the refusals described in the module docstring."""
        document_id = _persisted_query_id(data.extensions)
        restricted = self.trusted_only and viewer.audience in RESTRICTED
        if document_id is None:
            if restricted and data.query is not None:
                raise trusted_only_error()
            return data, None
        if data.query is None:
            stored = await self._lookup(dbs, document_id, restricted)
            if stored is None:
                raise AppError(NOT_FOUND_MESSAGE, errors.PERSISTED_QUERY_NOT_FOUND)
            if restricted and not stored.trusted:
                raise trusted_only_error()
            return dataclasses.replace(data, query=stored.document), Persisted(document_id, True)
        matches = sha256_hex(data.query) == document_id
        stored = None
        if not matches or restricted:
            stored = await self._lookup(dbs, document_id, restricted)
            # A trusted manifest may name a document by an id that is not its SHA-256.
            if not matches and (stored is None or stored.document != data.query):
                raise AppError(t("pq_hash_mismatch"), errors.PERSISTED_QUERY_HASH_MISMATCH)
            if restricted and (stored is None or not stored.trusted):
                raise trusted_only_error()
        known = stored is not None or document_id in self._cache
        return data, Persisted(document_id, False, None if known else data.query)

    async def registered(
        self,
        dbs: Databases,
        persisted: Persisted,
        result_errors: Sequence[GraphQLError] | None,
        data: object,
    ) -> None:
        """After execution: keeps a new document that ran without a request error."""
        if persisted.to_register is None or is_request_error(result_errors, data):
            return
        await persisted_documents.register(dbs.mongo, persisted.id, persisted.to_register)
        self._remember(StoredDocument(persisted.id, persisted.to_register, False))
