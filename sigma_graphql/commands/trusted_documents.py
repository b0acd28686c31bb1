"""`sigma-graphql trust-documents FILE`: loads a client's manifest of operations as trusted
documents (sigma_graphql/server/persisted_queries.py, SIGMA_TRUSTED_DOCUMENTS_ONLY).

Two manifest formats, as the tools emit them:
- Apollo's persisted query manifest (`generate-persisted-query-manifest`):
  `{"format": "apollo-persisted-query-manifest", "version": 1,
    "operations": [{"id", "body", "name", "type"}]}`;
- GraphQL Code Generator's client preset (`persistedDocuments: true`), persisted-documents.json:
  `{"<hash>": "<document>", ...}`.

Every document is checked before anything is written: it must parse and validate against the
served schema (with the request limits of the settings), and an id that looks like a SHA-256
must be the SHA-256 of its document. The first bad one stops the command, which names it and
stores nothing. Manifests above MAX_MANIFEST_BYTES or MAX_OPERATIONS are refused unread.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from pathlib import Path
from typing import Any

import orjson
from graphql import GraphQLError, OperationDefinitionNode, parse, specified_rules, validate

from db import persisted_documents
from db.drivers.handles import Databases
from db.persisted_documents import TrustedEntry, sha256_hex
from schema.build import build_schema
from sigma_graphql.commands.command import Command
from sigma_graphql.core.settings import Settings
from sigma_graphql.limits.document_limits import limit_rule

MAX_MANIFEST_BYTES = 8 * 1024 * 1024
MAX_OPERATIONS = 10_000
APOLLO_FORMAT = "apollo-persisted-query-manifest"
_ID = re.compile(r"[A-Za-z0-9_.:\-]{1,128}")
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")


class ManifestError(ValueError):
    """The manifest cannot be trusted; the message names the operation when there is one."""


def _entries(manifest: Any) -> list[TrustedEntry]:
    """The manifest's operations, in either format, shapes checked."""
    if not isinstance(manifest, dict):
        raise ManifestError("a manifest is a JSON object")
    if "format" in manifest or "operations" in manifest:
        if manifest.get("format") != APOLLO_FORMAT or manifest.get("version") != 1:
            raise ManifestError(
                f'unsupported manifest: expected "format": "{APOLLO_FORMAT}", "version": 1'
            )
        operations = manifest.get("operations")
        if not isinstance(operations, list):
            raise ManifestError('"operations" must be a list')
        entries = []
        for n, op in enumerate(operations):
            if not isinstance(op, dict):
                raise ManifestError(f"operation #{n + 1} is not an object")
            op_id, body, name = op.get("id"), op.get("body"), op.get("name")
            label = f"operation #{n + 1} ({name or op_id})"
            if not isinstance(op_id, str) or not isinstance(body, str):
                raise ManifestError(f"{label}: id and body must be strings")
            entries.append(TrustedEntry(op_id, body, name if isinstance(name, str) else None))
        return entries
    entries = []
    for op_id, body in manifest.items():
        if not isinstance(body, str):
            raise ManifestError(f"document {op_id}: the value must be the document's text")
        entries.append(TrustedEntry(op_id, body))
    return entries


def _label(entry: TrustedEntry) -> str:
    return f"{entry.name} ({entry.id})" if entry.name else entry.id


def check_manifest(raw: bytes, settings: Settings) -> list[TrustedEntry]:
    """The manifest's documents when every one of them is valid; ManifestError otherwise."""
    if len(raw) > MAX_MANIFEST_BYTES:
        raise ManifestError(f"the manifest exceeds {MAX_MANIFEST_BYTES} bytes")
    try:
        manifest = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ManifestError(f"not JSON: {exc}") from None
    entries = _entries(manifest)
    if not entries:
        raise ManifestError("the manifest has no operations")
    if len(entries) > MAX_OPERATIONS:
        raise ManifestError(f"the manifest has more than {MAX_OPERATIONS} operations")
    schema = build_schema(settings)._schema
    rules = [
        *specified_rules,
        limit_rule(settings.max_depth, settings.max_aliases, settings.max_tokens),
    ]
    seen: dict[str, str] = {}
    for entry in entries:
        label = _label(entry)
        if _ID.fullmatch(entry.id) is None:
            raise ManifestError(f"{label}: ids are 1-128 letters, digits, '_', '.', ':' or '-'")
        if seen.get(entry.id, entry.document) != entry.document:
            raise ManifestError(f"{label}: the id names two different documents")
        seen[entry.id] = entry.document
        if _SHA256.fullmatch(entry.id) and entry.id.lower() != sha256_hex(entry.document):
            raise ManifestError(f"{label}: the id is not the SHA-256 of the document")
        if len(entry.document.encode()) > settings.max_body_bytes:
            raise ManifestError(f"{label}: the document exceeds {settings.max_body_bytes} bytes")
        try:
            document = parse(entry.document, max_tokens=settings.max_tokens)
        except GraphQLError as exc:
            raise ManifestError(f"{label}: does not parse: {exc.message}") from None
        if not any(isinstance(d, OperationDefinitionNode) for d in document.definitions):
            raise ManifestError(f"{label}: the document has no operation")
        problems = validate(schema, document, rules)
        if problems:
            raise ManifestError(f"{label}: does not validate: {problems[0].message}")
    normalized = [
        TrustedEntry(e.id.lower() if _SHA256.fullmatch(e.id) else e.id, e.document, e.name)
        for e in entries
    ]
    return list({e.id: e for e in normalized}.values())


async def _store(settings: Settings, entries: list[TrustedEntry]) -> tuple[int, int]:
    dbs = Databases.open(settings)
    try:
        written = await persisted_documents.trust(dbs.mongo, entries)
        return written, await persisted_documents.count_trusted(dbs.mongo)
    finally:
        await dbs.close()


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="an Apollo persisted query manifest or persisted-documents")


def _run(args: argparse.Namespace, settings: Settings) -> int:
    path = Path(args.file)
    try:
        size = path.stat().st_size
        if size > MAX_MANIFEST_BYTES:
            raise ManifestError(f"the manifest exceeds {MAX_MANIFEST_BYTES} bytes")
        entries = check_manifest(path.read_bytes(), settings)
    except OSError as exc:
        print(f"sigma-graphql trust-documents: {path}: {exc.strerror}", file=sys.stderr)
        return 1
    except ManifestError as exc:
        print(f"sigma-graphql trust-documents: {path}: {exc}; nothing stored", file=sys.stderr)
        return 1
    written, total = asyncio.run(_store(settings, entries))
    print(f"trusted {written} documents from {path} ({total} trusted documents in all)")
    return 0


TRUST_DOCUMENTS = Command(
    "load a manifest of trusted documents (persisted operations)", _configure, _run
)
