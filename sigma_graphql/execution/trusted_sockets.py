"""Trusted-only mode over the WebSocket (SIGMA_TRUSTED_DOCUMENTS_ONLY).

HTTP requests are checked before parsing (sigma_graphql/server/persisted_queries.py); operations
sent over graphql-transport-ws carry their document's text, so here a PUBLIC or UMKM_OWNER
viewer's document must be, byte for byte, a trusted document (looked up by its SHA-256). The
refusal joins the validation errors (this extension is listed after ValidationCache), so
nothing runs and the client gets an `error` message with TRUSTED_DOCUMENT_REQUIRED.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension

from db import persisted_documents
from sigma_graphql.core import errors
from sigma_graphql.core.errors import AppError
from sigma_graphql.core.i18n import register, t
from sigma_graphql.core.viewer import Audience

# Viewers held to trusted documents when SIGMA_TRUSTED_DOCUMENTS_ONLY is on.
RESTRICTED = frozenset({Audience.PUBLIC, Audience.UMKM_OWNER})

register(
    {
        "pq_trusted_only": (
            "Server ini hanya menjalankan dokumen tepercaya: kirim id dokumen "
            "(extensions.persistedQuery.sha256Hash) dari manifest aplikasi",
            "This server runs trusted documents only: send the document's id "
            "(extensions.persistedQuery.sha256Hash) from the application's manifest",
        ),
    }
)


def trusted_only_error() -> AppError:
    return AppError(t("pq_trusted_only"), errors.TRUSTED_DOCUMENT_REQUIRED)


class TrustedDocumentsOverWebSocket(SchemaExtension):
    async def on_validate(self) -> AsyncIterator[None]:
        ec = self.execution_context
        ctx = ec.context
        request = getattr(ctx, "request", None)
        viewer = getattr(ctx, "viewer", None)
        if (
            request is not None
            and request.scope.get("type") == "websocket"
            and viewer is not None
            and viewer.audience in RESTRICTED
            and ec.query is not None
        ):
            stored = await persisted_documents.get(
                ctx.mongo, persisted_documents.sha256_hex(ec.query)
            )
            if stored is None or not stored.trusted or stored.document != ec.query:
                ec.pre_execution_errors = [*(ec.pre_execution_errors or []), trusted_only_error()]
        yield
