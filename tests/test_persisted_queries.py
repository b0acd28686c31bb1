"""Persisted operations (issue 14, part 3 and "Bad input"): automatic persisted queries (Apollo's
protocol) over POST and GET, stored in MongoDB for every API process; trusted documents loaded
by `sigma-graphql trust-documents` and the trusted-only setting; HTTP caching of persisted
anonymous GET queries.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import io
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError
from gql.transport.websockets import WebsocketsTransport
from graphql import parse, print_ast

from db import persisted_documents
from db.drivers.handles import Databases
from db.notifications import topic
from sigma_graphql.commands.cli import COMMANDS
from sigma_graphql.commands.trusted_documents import MAX_MANIFEST_BYTES
from sigma_graphql.core.errors import CODES
from sigma_graphql.core.settings import Settings
from tests.support import Account, Factory, LiveServer

GRAPHQL_RESPONSE = "application/graphql-response+json"
BOTH = f"{GRAPHQL_RESPONSE}, application/json;q=0.9"


def sha(document: str) -> str:
    return hashlib.sha256(document.encode()).hexdigest()


def unique_query(tag: str | None = None) -> str:
    """A document no other test registered (the alias makes it unique)."""
    return "query Q { a%s: today publicStats { verifiedUmkm } }" % (tag or uuid.uuid4().hex[:12])


def pq(document_id: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": document_id}}


async def post(
    base: str,
    body: dict[str, Any],
    accept: str = "application/json",
    token: str | None = None,
) -> httpx.Response:
    headers = {"Accept": accept}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    async with httpx.AsyncClient(timeout=60) as http:
        return await http.post(f"{base}/graphql", json=body, headers=headers)


async def get(
    base: str,
    params: dict[str, Any],
    accept: str = "application/json",
    **headers: str,
) -> httpx.Response:
    encoded = {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}
    async with httpx.AsyncClient(timeout=60) as http:
        return await http.get(
            f"{base}/graphql", params=encoded, headers={"Accept": accept, **headers}
        )


def codes(resp: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in resp.json()["errors"]]


async def stored(dbs: Databases, document_id: str) -> bool:
    return await persisted_documents.get(dbs.mongo, document_id) is not None


@pytest.fixture(scope="module")
async def owner(factory: Factory) -> Account:
    return await factory.account("UMKM_OWNER")


@pytest.fixture(scope="module")
async def admin(factory: Factory) -> Account:
    return await factory.account("ADMIN")


# ------------------------------------------------------------------ automatic persisted queries


@pytest.mark.parametrize("method", ["POST", "GET"])
async def test_unknown_hash_answers_persisted_query_not_found(
    server: LiveServer, dbs: Databases, method: str
) -> None:
    document = unique_query()
    body = {"extensions": pq(sha(document))}
    resp = await (post(server.base, body) if method == "POST" else get(server.base, body))
    assert resp.status_code == 200  # application/json: a GraphQL response, as today
    error = resp.json()["errors"][0]
    # what Apollo's persisted-query link and other APQ clients look for
    assert error["message"] == "PersistedQueryNotFound"
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert resp.json()["data"] is None
    strict = await (
        post(server.base, body, BOTH) if method == "POST" else get(server.base, body, BOTH)
    )
    assert strict.status_code == 400 and "data" not in strict.json()
    assert codes(strict) == ["PERSISTED_QUERY_NOT_FOUND"]
    assert not await stored(dbs, sha(document))


@pytest.mark.parametrize("accept", ["*/*", "text/html,*/*;q=0.8"])
async def test_a_persisted_get_accepting_anything_is_not_the_explorer(
    server: LiveServer, accept: str
) -> None:
    """curl and many mobile HTTP libraries send `Accept: */*`: an APQ GET must still get the
    GraphQL answer (here PERSISTED_QUERY_NOT_FOUND), not the explorer's HTML page."""
    resp = await get(server.base, {"extensions": pq(sha(unique_query()))}, accept)
    assert resp.headers["content-type"].startswith("application/json")
    assert codes(resp) == ["PERSISTED_QUERY_NOT_FOUND"]


async def test_miss_register_hit_over_post_and_get(server: LiveServer, dbs: Databases) -> None:
    document = unique_query()
    digest = sha(document)
    miss = await post(server.base, {"extensions": pq(digest)})
    assert codes(miss) == ["PERSISTED_QUERY_NOT_FOUND"]
    registered = await post(server.base, {"query": document, "extensions": pq(digest)})
    assert "errors" not in registered.json()
    assert await stored(dbs, digest)
    hit = await post(server.base, {"extensions": pq(digest)})
    assert hit.json()["data"] == registered.json()["data"]
    by_get = await get(server.base, {"extensions": pq(digest)})
    assert by_get.status_code == 200 and by_get.json()["data"] == registered.json()["data"]
    # operationName and variables travel with the hash
    with_name = await get(server.base, {"extensions": pq(digest), "operationName": "Q"})
    assert with_name.json()["data"] == registered.json()["data"]


async def test_registered_documents_are_shared_by_all_api_processes(
    server: LiveServer, server_factory: Callable[..., LiveServer]
) -> None:
    document = unique_query()
    digest = sha(document)
    other = server_factory()
    assert codes(await post(other.base, {"extensions": pq(digest)})) == [
        "PERSISTED_QUERY_NOT_FOUND"
    ]
    # `other` has looked the hash up and not cached the miss: a registration elsewhere counts
    await post(server.base, {"query": document, "extensions": pq(digest)})
    hit = await post(other.base, {"extensions": pq(digest)})
    assert "errors" not in hit.json() and hit.json()["data"]["publicStats"] is not None


async def test_a_cached_hash_costs_no_database_round_trip(server: LiveServer) -> None:
    document = f"query {{ today cached{uuid.uuid4().hex[:8]}: today }}"
    digest = sha(document)
    await post(server.base, {"query": document, "extensions": pq(digest)})
    first = await post(server.base, {"extensions": pq(digest)})
    again = await post(server.base, {"extensions": pq(digest)})
    # `today` reads no database: the lookups are the only round trips left
    assert first.json()["extensions"]["dbRoundTrips"]["total"] == 0
    assert again.json()["extensions"]["dbRoundTrips"]["total"] == 0


async def test_a_hash_that_does_not_match_the_document_is_refused(
    server: LiveServer, dbs: Databases
) -> None:
    document = unique_query()
    wrong = sha(document + " ")
    resp = await post(server.base, {"query": document, "extensions": pq(wrong)}, BOTH)
    assert resp.status_code == 400 and "data" not in resp.json()
    assert codes(resp) == ["PERSISTED_QUERY_HASH_MISMATCH"]
    assert not await stored(dbs, wrong) and not await stored(dbs, sha(document))


@pytest.mark.parametrize(
    "document",
    [
        "{ today",  # does not parse
        "{ todayy }",  # does not validate
        "query($t: Int!) { sectorStats(tahun: $t) { sektor } }",  # variable missing
        "{ " + " ".join(f"a{i}: today" for i in range(40)) + " }",  # too many aliases
    ],
    ids=["syntax", "validation", "variables", "limits"],
)
async def test_nothing_is_stored_for_a_document_that_does_not_run(
    server: LiveServer, dbs: Databases, document: str
) -> None:
    resp = await post(server.base, {"query": document, "extensions": pq(sha(document))}, BOTH)
    assert resp.status_code == 400 and "data" not in resp.json()
    assert codes(resp)[0] in ("BAD_USER_INPUT", "QUERY_TOO_COMPLEX")
    assert not await stored(dbs, sha(document))


@pytest.mark.parametrize(
    "extensions",
    [
        {"persistedQuery": "abc"},
        {"persistedQuery": []},
        {"persistedQuery": {"version": 2, "sha256Hash": "a" * 64}},
        {"persistedQuery": {"version": "1", "sha256Hash": "a" * 64}},
        {"persistedQuery": {"version": True, "sha256Hash": "a" * 64}},
        {"persistedQuery": {"version": 1}},
        {"persistedQuery": {"version": 1, "sha256Hash": 12345}},
        {"persistedQuery": {"version": 1, "sha256Hash": "../../etc/passwd"}},
        {"persistedQuery": {"version": 1, "sha256Hash": "x" * 500}},
    ],
    ids=lambda e: json.dumps(e)[:60],
)
async def test_malformed_persisted_query_extensions_are_a_clear_error(
    server: LiveServer, dbs: Databases, extensions: dict[str, Any]
) -> None:
    document = unique_query()
    for body in ({"extensions": extensions}, {"query": document, "extensions": extensions}):
        resp = await post(server.base, body, BOTH)
        assert resp.status_code == 400 and "data" not in resp.json()
        error = resp.json()["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert "persistedQuery" in error["message"]
        as_get = await get(server.base, body)
        assert as_get.status_code == 200 and codes(as_get) == ["BAD_USER_INPUT"]
    assert not await stored(dbs, sha(document))


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]", '"text"', "7"])
async def test_malformed_extensions_parameter_over_get_is_400(server: LiveServer, raw: str) -> None:
    resp = await get(server.base, {"query": "{ today }", "extensions": raw})
    assert resp.status_code == 400
    assert codes(resp) == ["BAD_USER_INPUT"]


async def test_persisted_mutations_over_get_are_405(
    server: LiveServer, owner: Account, dbs: Databases
) -> None:
    document = "mutation { logout { ok } }"
    digest = sha(document)
    resp = await get(
        server.base,
        {"query": document, "extensions": pq(digest)},
        Authorization=f"Bearer {owner.token}",
    )
    assert resp.status_code == 405 and resp.headers["allow"] == "POST"
    assert not await stored(dbs, digest)
    me = await post(server.base, {"query": "{ me { id } }"}, token=owner.token)
    assert me.json()["data"]["me"]["id"] == owner.gid  # not logged out


# ----------------------------------------------------------------------------- HTTP caching


async def test_anonymous_persisted_get_is_cacheable_with_etag_and_304(
    server: LiveServer, owner: Account
) -> None:
    document = unique_query()
    digest = sha(document)
    await post(server.base, {"query": document, "extensions": pq(digest)})
    params = {"extensions": pq(digest)}
    first = await get(server.base, params)
    assert first.status_code == 200
    max_age = server.settings.persisted_max_age_s
    assert first.headers["cache-control"] == f"public, max-age={max_age}"
    tag = first.headers["etag"]
    assert tag
    vary = {v.strip().lower() for v in first.headers["vary"].split(",")}
    assert {"accept", "accept-language", "authorization", "cookie"} <= vary
    unchanged = await get(server.base, params, **{"If-None-Match": tag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    assert unchanged.headers["etag"] == tag
    assert unchanged.headers["cache-control"] == f"public, max-age={max_age}"
    listed = await get(server.base, params, **{"If-None-Match": f'"other", {tag}'})
    assert listed.status_code == 304
    other = await get(server.base, params, **{"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.json() == first.json()
    # another representation (media type, language) has another tag
    strict = await get(server.base, params, GRAPHQL_RESPONSE, **{"If-None-Match": tag})
    assert strict.status_code == 200 and strict.headers["etag"] != tag
    english = await get(server.base, params, **{"Accept-Language": "en", "If-None-Match": tag})
    assert english.status_code == 200 and english.headers["etag"] != tag
    # signed in: private, never a shared cache's entry nor a 304 from a public tag
    signed = await get(
        server.base,
        params,
        **{"Authorization": f"Bearer {owner.token}", "If-None-Match": tag},
    )
    assert signed.status_code == 200
    assert signed.headers["cache-control"] == "private, no-store"
    assert "etag" not in signed.headers


async def test_free_form_get_and_post_answers_are_not_publicly_cacheable(
    server: LiveServer, owner: Account
) -> None:
    free = await get(server.base, {"query": "{ today }"})
    assert "etag" not in free.headers and "public" not in free.headers.get("cache-control", "")
    document = unique_query()
    by_post = await post(server.base, {"query": document, "extensions": pq(sha(document))})
    assert "etag" not in by_post.headers
    signed = await post(server.base, {"query": "{ me { id } }"}, token=owner.token)
    assert signed.headers["cache-control"] == "private, no-store"
    errors = await get(server.base, {"extensions": pq(sha(unique_query()))})
    assert "etag" not in errors.headers


# -------------------------------------------------------------------------- trusted documents


def trust_cli(settings: Settings, manifest: Path) -> subprocess.CompletedProcess[str]:
    """The installed command, as an operator runs it."""
    env = {
        **os.environ,
        "SIGMA_MONGO_URI": settings.mongo_uri,
        "SIGMA_MONGO_DB": settings.mongo_db,
        "SIGMA_CASSANDRA_KEYSPACE": settings.cassandra_keyspace,
        "SIGMA_CASSANDRA_CONTACT_POINTS": ",".join(settings.cassandra_contact_points),
        "SIGMA_CASSANDRA_PORT": str(settings.cassandra_port),
    }
    return subprocess.run(
        [sys.executable, "-m", "sigma_graphql.commands.cli", "trust-documents", str(manifest)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def trust(settings: Settings, manifest: Path) -> subprocess.CompletedProcess[str]:
    """The same command in this process (a fresh interpreter per case would cost seconds)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = COMMANDS["trust-documents"].run(argparse.Namespace(file=str(manifest)), settings)
    return subprocess.CompletedProcess([], code, out.getvalue(), err.getvalue())


def apollo_manifest(operations: list[tuple[str, str]]) -> dict[str, Any]:
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": sha(body), "body": body, "name": name, "type": "query"}
            for name, body in operations
        ],
    }


TRUSTED_PUBLIC = "query PublicCount%s { publicStats { verifiedUmkm } }"
TRUSTED_OWNER = "query MyUmkms%s { me { id } }"


@pytest.fixture(scope="module")
def trusted(migrated: Settings, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Documents trusted through the command: one from each manifest format."""
    tag = uuid.uuid4().hex[:8]
    public, mine = TRUSTED_PUBLIC % tag, TRUSTED_OWNER % tag
    folder = tmp_path_factory.mktemp("manifests")
    apollo = folder / "persisted-query-manifest.json"
    apollo.write_text(json.dumps(apollo_manifest([(f"PublicCount{tag}", public)])))
    codegen = folder / "persisted-documents.json"
    codegen.write_text(json.dumps({sha(mine): mine}))
    for manifest, command in ((apollo, trust_cli), (codegen, trust)):
        done = command(migrated, manifest)
        assert done.returncode == 0, done.stderr
        assert "trusted 1 documents" in done.stdout
    return {"public": public, "mine": mine}


async def test_trust_documents_loads_both_manifest_formats(
    trusted: dict[str, str], dbs: Databases
) -> None:
    for document in trusted.values():
        entry = await persisted_documents.get(dbs.mongo, sha(document))
        assert entry is not None and entry.trusted and entry.document == document


@pytest.mark.parametrize(
    ("manifest", "named", "problem"),
    [
        (
            lambda tag: apollo_manifest(
                [(f"Good{tag}", f"query Good{tag} {{ today }}"), (f"Bad{tag}", f"{{ nope{tag} }}")]
            ),
            "Bad",
            "does not validate",
        ),
        (
            lambda tag: {sha("{ today }"): "{ today }", "ab" * 32: f"{{ today a{tag}: today }}"},
            "ab" * 32,
            "the id is not the SHA-256",
        ),
        (lambda tag: {"k" + tag: "{ today"}, "k", "does not parse"),
        (lambda tag: {"k" + tag: f"fragment F{tag} on Query {{ today }}"}, "k", "no operation"),
        (
            lambda tag: {"f" + tag: "{ " + " ".join(f"a{i}: today" for i in range(40)) + " }"},
            "f",
            "does not validate",
        ),
        (lambda tag: {"format": "other", "operations": []}, "", "unsupported manifest"),
        (lambda tag: ["{ today }"], "", "JSON object"),
        (lambda tag: {"k" + tag: 7}, "k", "document's text"),
    ],
    ids=[
        "invalid-document",
        "hash-mismatch",
        "syntax",
        "fragment-only",
        "limits",
        "format",
        "list",
        "type",
    ],
)
def test_trust_documents_stops_at_a_bad_document_names_it_and_stores_nothing(
    migrated: Settings,
    tmp_path: Path,
    manifest: Callable[[str], Any],
    named: str,
    problem: str,
) -> None:
    tag = uuid.uuid4().hex[:8]
    content = manifest(tag)
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(content))
    done = trust(migrated, path)
    assert done.returncode == 1
    assert problem in done.stderr and named in done.stderr and "nothing stored" in done.stderr
    assert "Traceback" not in done.stderr
    ids = (
        [op["id"] for op in content.get("operations", [])]
        if isinstance(content, dict) and "operations" in content
        else list(content)
        if isinstance(content, dict)
        else []
    )

    async def none_stored() -> None:
        dbs = Databases.open(migrated)
        try:
            for document_id in ids:
                assert await persisted_documents.get(dbs.mongo, document_id) is None, document_id
        finally:
            await dbs.close()

    asyncio.run(none_stored())


def test_trust_documents_refuses_an_oversized_manifest_and_bad_json(
    migrated: Settings, tmp_path: Path
) -> None:
    big = tmp_path / "big.json"
    with big.open("w") as out:
        out.write('{"a": "')
        out.write("x" * (MAX_MANIFEST_BYTES + 1))
        out.write('"}')
    done = trust(migrated, big)
    assert done.returncode == 1 and "exceeds" in done.stderr and "Traceback" not in done.stderr
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    done = trust(migrated, garbage)
    assert done.returncode == 1 and "not JSON" in done.stderr
    done = trust(migrated, tmp_path / "missing.json")
    assert done.returncode == 1 and "Traceback" not in done.stderr


async def test_trusted_only_refuses_free_form_documents_from_public_and_owners(
    server_factory: Callable[..., LiveServer],
    trusted: dict[str, str],
    owner: Account,
    admin: Account,
    dbs: Databases,
) -> None:
    live = server_factory(trusted_documents_only=True)
    free = unique_query()
    for token in (None, owner.token):
        refused = await post(live.base, {"query": free}, BOTH, token)
        assert refused.status_code == 403 and "data" not in refused.json()
        error = refused.json()["errors"][0]
        assert error["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"
        assert error["extensions"]["code"] in CODES
        legacy = await post(live.base, {"query": free}, token=token)
        assert legacy.status_code == 200 and codes(legacy) == ["TRUSTED_DOCUMENT_REQUIRED"]
        # a free-form document sent the APQ way is refused and not registered
        apq = await post(live.base, {"query": free, "extensions": pq(sha(free))}, token=token)
        assert codes(apq) == ["TRUSTED_DOCUMENT_REQUIRED"]
        free_get = await get(live.base, {"query": free})
        assert codes(free_get) == ["TRUSTED_DOCUMENT_REQUIRED"]
    assert not await stored(dbs, sha(free))
    # trusted documents by id, over POST and GET
    public = await post(live.base, {"extensions": pq(sha(trusted["public"]))})
    assert "errors" not in public.json() and public.json()["data"]["publicStats"] is not None
    public_get = await get(live.base, {"extensions": pq(sha(trusted["public"]))})
    assert public_get.status_code == 200 and "etag" in public_get.headers
    mine = await post(live.base, {"extensions": pq(sha(trusted["mine"]))}, token=owner.token)
    assert mine.json()["data"]["me"]["id"] == owner.gid
    # a trusted document sent with its id and text runs too
    with_text = await post(
        live.base, {"query": trusted["public"], "extensions": pq(sha(trusted["public"]))}
    )
    assert "errors" not in with_text.json()
    # an APQ document registered by someone else is not trusted
    registered = unique_query()
    await post(
        live.base, {"query": registered, "extensions": pq(sha(registered))}, token=admin.token
    )
    assert await stored(dbs, sha(registered))
    untrusted = await post(live.base, {"extensions": pq(sha(registered))})
    assert codes(untrusted) == ["TRUSTED_DOCUMENT_REQUIRED"]
    unknown = await post(live.base, {"extensions": pq(sha(unique_query()))})
    assert codes(unknown) == ["PERSISTED_QUERY_NOT_FOUND"]
    # ADMIN keeps free-form documents
    as_admin = await post(live.base, {"query": "{ me { id } }"}, token=admin.token)
    assert as_admin.json()["data"]["me"]["id"] == admin.gid


async def test_trusted_only_holds_websocket_operations_to_the_trusted_set(
    server_factory: Callable[..., LiveServer],
    migrated: Settings,
    owner: Account,
    tmp_path: Path,
    dbs: Databases,
) -> None:
    live = server_factory(trusted_documents_only=True)
    # gql sends documents as graphql-core prints them: the manifest holds what the client sends
    tag = uuid.uuid4().hex[:8]
    subscription = print_ast(parse(f"subscription Inbox{tag} {{ notificationAdded {{ id }} }}"))

    def transport() -> WebsocketsTransport:
        return WebsocketsTransport(
            url=live.ws_url,
            init_payload={"authorization": f"Bearer {owner.token}"},
            subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        )

    async with Client(transport=transport()) as session:
        with pytest.raises(TransportQueryError) as refused:
            async for _ in session.subscribe(gql(subscription)):
                raise AssertionError("a free-form subscription must not run")
    assert refused.value.errors is not None
    assert refused.value.errors[0]["extensions"]["code"] == "TRUSTED_DOCUMENT_REQUIRED"

    manifest = tmp_path / "persisted-documents.json"
    manifest.write_text(json.dumps({sha(subscription): subscription}))
    done = await asyncio.get_running_loop().run_in_executor(None, trust, migrated, manifest)
    assert done.returncode == 0, done.stderr
    entry = await persisted_documents.get(dbs.mongo, sha(subscription))
    assert entry is not None and entry.trusted
    async with Client(transport=transport()) as session:
        events = session.subscribe(gql(subscription))
        waiting = asyncio.ensure_future(events.__anext__())
        for _ in range(6000):  # a condition (the server registered it), not a timing
            if live.services.pubsub.subscriber_count(topic(owner.id)) > 0:
                break
            if waiting.done():
                raise AssertionError(waiting.result())
            await asyncio.sleep(0.01)
        else:
            raise AssertionError("the trusted subscription never reached the server")
        waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration):
            await waiting
        await events.aclose()
