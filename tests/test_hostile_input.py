"""Hostile input never costs more than a clear error (issue #11, findings 2-6 and 10).

Each case sends what an attacker would and checks the answer: a code from the documented set,
the request id, the viewer's language, no traceback in the log, and, where the issue asks for
"before any database call", the database round trips of the request (extensions.dbRoundTrips).
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import websockets

from db.drivers.handles import Databases
from sigma_graphql.core.errors import CODES
from tests.support import Account, Api, Factory, LiveServer
from tests.umkm_support import CREATE, valid_input

EN = {"Accept-Language": "en"}
GRAPHQL_RESPONSE = {"Accept": "application/graphql-response+json, application/json;q=0.9"}
SECTOR = "query($t: Int!, $s: String) { sectorStats(tahun: $t, sektor: $s) { sektor } }"
UMKMS = "query($f: UMKMFilter) { umkms(filter: $f) { nodes { id } } }"


@pytest.fixture
def no_error_logs(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Request errors are the client's: nothing at ERROR in the log (no traceback)."""
    with caplog.at_level(logging.WARNING):
        yield
    noisy = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not noisy, [r.getMessage() for r in noisy]


@pytest.fixture(scope="module")
async def admin(factory: Factory) -> Account:
    return await factory.account("ADMIN")


@pytest.fixture(scope="module")
async def owner(factory: Factory) -> Account:
    return await factory.account("UMKM_OWNER")


def round_trips(body: dict[str, Any]) -> int:
    return int(body["extensions"]["dbRoundTrips"]["total"])


def only_error(body: dict[str, Any]) -> dict[str, Any]:
    assert len(body.get("errors") or []) == 1, body
    error: dict[str, Any] = body["errors"][0]
    assert error["extensions"]["code"] in CODES
    assert len(error["extensions"]["requestId"]) == 32
    return error


async def post(
    api: Api,
    query: str,
    variables: dict[str, Any] | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    async with api.http() as http:
        return await http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=sent
        )


async def baseline(api: Api, token: str | None) -> int:
    """Round trips of a request that asks no database for data (the session lookup only)."""
    return round_trips((await post(api, "{ today }", token=token)).json())


# ---------------------------------------------------------------- finding 2: free-text lengths


async def test_long_search_is_refused_before_any_database_call(
    api: Api, no_error_logs: None
) -> None:
    for search in ("x" * 32_000, "y" * 101):
        resp = await post(api, UMKMS, {"f": {"search": search}})
        assert resp.status_code == 200
        body = resp.json()
        error = only_error(body)
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["extensions"]["argument"] == "filter.search"
        assert "100" in error["message"]
        assert round_trips(body) == 0
    literal = await post(api, '{ umkms(filter: {search: "%s"}) { nodes { id } } }' % ("z" * 500))
    assert only_error(literal.json())["extensions"]["argument"] == "filter.search"
    fine = await post(api, UMKMS, {"f": {"search": "w" * 100}})
    assert "errors" not in fine.json()


async def test_long_users_search_as_admin(api: Api, admin: Account) -> None:
    query = "query($s: String) { users(search: $s) { nodes { id } } }"
    resp = (await post(api, query, {"s": "a" * 5000}, admin.token)).json()
    assert only_error(resp)["extensions"]["argument"] == "search"
    assert round_trips(resp) == await baseline(api, admin.token)


async def test_long_mutation_text_is_a_user_error_before_any_write(
    api: Api, owner: Account
) -> None:
    huge = valid_input(namaUsaha="N" * 200_000)
    huge["wilayah"]["alamatLengkap"] = "A" * 501
    huge["pemilik"]["email"] = "e" * 300 + "@contoh.id"
    resp = (await post(api, CREATE, {"input": huge}, owner.token)).json()
    payload = resp["data"]["createUmkm"]
    assert payload["umkm"] is None
    got = {".".join(e["field"]): e["code"] for e in payload["userErrors"]}
    assert got["input.namaUsaha"] == "TOO_LONG"
    assert got["input.wilayah.alamatLengkap"] == "TOO_LONG"
    assert got["input.pemilik.email"] in ("TOO_LONG", "INVALID")
    assert round_trips(resp) == await baseline(api, owner.token)


async def test_long_login_email_gets_the_usual_failure_without_database(api: Api) -> None:
    query = (
        "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) "
        "{ token userErrors { code } } }"
    )
    resp = (await post(api, query, {"e": "a" * 70_000 + "@contoh.id", "p": "x" * 12})).json()
    assert resp["data"]["login"] == {"token": None, "userErrors": [{"code": "INVALID"}]}
    assert round_trips(resp) == 0
    reset = "mutation($e: String!) { requestPasswordReset(email: $e) { ok } }"
    resp = (await post(api, reset, {"e": "b" * 70_000 + "@contoh.id"})).json()
    assert resp["data"]["requestPasswordReset"] == {"ok": True}
    assert round_trips(resp) == 0


# ---------------------------------------------------------------- finding 3: bad variables

BAD_VARIABLES = [
    ("abc for Int", "query($p: Int) { heatmap(precision: $p) { count } }", {"p": "abc"}, "p"),
    ("Int out of range", "query($p: Int) { heatmap(precision: $p) { count } }", {"p": 2**40}, "p"),
    ("missing required", SECTOR, {}, "t"),
    ("null required", SECTOR, {"t": None}, "t"),
    (
        "unknown enum value",
        "query($s: VerificationStatus) { verificationTasks(status: $s) { nodes { id } } }",
        {"s": "NOPE"},
        "s",
    ),
    (
        "unknown input field",
        "mutation($i: RegisterInput!) { register(input: $i) { userErrors { code } } }",
        {
            "i": {
                "namaLengkap": "Budi Santoso",
                "nik": "3573010101900001",
                "email": "budi@contoh.id",
                "telepon": "081234567890",
                "password": "kata-sandi-panjang",
                "passwordConfirm": "kata-sandi-panjang",
                "role": "ADMIN",
            }
        },
        "i",
    ),
    ("$ne for String", SECTOR, {"t": 2025, "s": {"$ne": None}}, "s"),
    ("$ne for ID", "query($i: ID!) { umkm(id: $i) { id } }", {"i": {"$ne": None}}, "i"),
]
SUBMIT = (
    "mutation($o: Rupiah!) { submitFinancialLog(input: {umkmId: "
    + json.dumps(str(uuid.uuid4()))
    + ", tahun: 2025, bulan: 1, omzet: $o, jumlahKaryawan: 1}) { userErrors { code } } }"
)
BAD_VARIABLES += [
    ("negative Rupiah", SUBMIT, {"o": -5}, "o"),
    ("fractional Rupiah", SUBMIT, {"o": 1.5}, "o"),
]


@pytest.mark.parametrize(
    ("query", "variables", "name"),
    [case[1:] for case in BAD_VARIABLES],
    ids=[case[0] for case in BAD_VARIABLES],
)
async def test_bad_variables_are_bad_user_input(
    api: Api, owner: Account, no_error_logs: None, query: str, variables: dict[str, Any], name: str
) -> None:
    resp = await post(api, query, variables, owner.token, EN)
    assert resp.status_code == 200  # application/json: 200 for every well-formed request
    body = resp.json()
    error = only_error(body)
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert error["extensions"]["variable"] == name
    assert f"${name}" in error["message"]
    assert body["data"] is None
    indonesian = only_error((await post(api, query, variables, owner.token)).json())
    assert indonesian["message"].startswith(f"Nilai variabel ${name} tidak valid")
    # GraphQL over HTTP with the newer media type: a request error has no data and 4xx.
    strict = await post(api, query, variables, owner.token, GRAPHQL_RESPONSE)
    assert strict.status_code == 400
    assert strict.headers["content-type"].startswith("application/graphql-response+json")
    assert "data" not in strict.json()


async def test_int_literal_of_5000_digits(api: Api, no_error_logs: None) -> None:
    resp = await post(api, "{ sectorStats(tahun: %s) { sektor } }" % ("9" * 5000))
    error = only_error(resp.json())
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert len(error["message"]) < 400  # the literal is not echoed back whole


async def test_field_errors_keep_status_200_with_the_new_media_type(api: Api) -> None:
    resp = await post(api, "{ today ownerDashboard { totalUmkm } }", headers=GRAPHQL_RESPONSE)
    assert resp.status_code == 200
    assert only_error(resp.json())["extensions"]["code"] == "UNAUTHENTICATED"


# ---------------------------------------------------------------- finding 4: argument ranges


async def test_cassandra_key_and_int32_arguments_are_refused_before_any_query(
    api: Api, admin: Account, no_error_logs: None
) -> None:
    resp = (await post(api, SECTOR, {"t": 2025, "s": "s" * 70_000})).json()
    assert only_error(resp)["extensions"]["argument"] == "sektor"
    assert round_trips(resp) == 0
    base = await baseline(api, admin.token)
    for tahun in (-(2**31), 2**31 - 1, 1999):
        query = "{ suspiciousFinancialLogs(tahun: " + str(tahun) + ") { score } }"
        resp = (await post(api, query, token=admin.token)).json()
        error = only_error(resp)
        assert (error["extensions"]["code"], error["extensions"]["argument"]) == (
            "BAD_USER_INPUT",
            "tahun",
        )
        assert round_trips(resp) == base
    for args in ("bulan: 13", "first: 101", "first: 0"):
        query = "{ suspiciousFinancialLogs(tahun: 2025, " + args + ") { score } }"
        resp = (await post(api, query, token=admin.token)).json()
        assert only_error(resp)["extensions"]["argument"] == args.split(":")[0]


async def test_nested_arguments_refuse_the_whole_operation_before_any_query(api: Api) -> None:
    query = (
        "{ a: umkms(first: 5) { nodes { id financialLogs(tahun: 99999) { nodes { bulan } } } } "
        "publicStats { verifiedUmkm } }"
    )
    resp = (await post(api, query)).json()
    error = only_error(resp)
    assert error["extensions"]["field"] == "UMKM.financialLogs"
    assert resp["data"] is None
    assert round_trips(resp) == 0


def cursor(payload: dict[str, Any]) -> str:
    """A forged cursor: the API's encoding (url-safe base64 of JSON) of any JSON at all."""
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


async def test_forged_cursors_are_bad_user_input(
    api: Api, admin: Account, no_error_logs: None
) -> None:
    flagged = (
        "query($a: String) { flaggedFinancialLogs(tahun: 2025, after: $a) { nodes { bulan } } }"
    )
    huge_time = cursor({"at": 10**30, "u": str(uuid.uuid4()), "b": 1})
    overflow = cursor({"at": 2**62, "u": str(uuid.uuid4()), "b": 1})
    huge_month = cursor({"at": 1, "u": str(uuid.uuid4()), "b": 2**40})
    for forged in (huge_time, overflow, huge_month, "x" * 600):
        resp = (await post(api, flagged, {"a": forged}, admin.token)).json()
        error = only_error(resp)
        assert (error["extensions"]["code"], error["extensions"]["argument"]) == (
            "BAD_USER_INPUT",
            "after",
        )
    tasks = "query($a: String) { verificationTasks(after: $a) { nodes { id } } }"
    base = await baseline(api, admin.token)
    for bucket in ("9999-12", "2026-13", "0001-01", "2025-1"):
        forged = cursor({"b": bucket, "t": str(uuid.uuid4())})
        resp = (await post(api, tasks, {"a": forged}, admin.token)).json()
        assert only_error(resp)["extensions"]["code"] == "BAD_USER_INPUT"
        # A year of buckets is one statement: a forged far-future bucket reads nothing.
        assert round_trips(resp) == base


async def test_forged_financial_log_cursor(
    api: Api, admin: Account, dbs: Databases, factory: Factory
) -> None:
    umkm = await factory.umkm(None)
    query = (
        "query($id: ID!, $a: String) { umkm(id: $id) { financialLogs(after: $a) "
        "{ nodes { bulan } } } }"
    )
    for forged in (cursor({"t": 2**40, "b": 1}), cursor({"t": 2025, "b": -(2**40)})):
        resp = await post(api, query, {"id": str(umkm["_id"]), "a": forged}, admin.token)
        assert only_error(resp.json())["extensions"]["code"] == "BAD_USER_INPUT"


# ---------------------------------------------------------------- finding 5: bodies


@pytest.mark.parametrize("raw", [b"null", b"123", b'"x"', b"true", b"", b"[]", b"{"])
async def test_body_that_is_not_a_json_object(
    server: LiveServer, no_error_logs: None, raw: bytes
) -> None:
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        bad = await http.post("/graphql", content=raw, headers={"content-type": "application/json"})
        assert bad.status_code == 400
        error = only_error(bad.json())
        assert error["extensions"]["code"] == "BAD_USER_INPUT"
        assert error["extensions"]["requestId"] == bad.headers["x-request-id"]
        # The same keep-alive connection still serves the next request.
        good = await http.post("/graphql", json={"query": "{ today }"})
        assert good.status_code == 200 and good.json()["data"]["today"]


async def test_malformed_fields_of_the_body(server: LiveServer) -> None:
    async with httpx.AsyncClient(base_url=server.base, timeout=30) as http:
        for body in (
            {"query": 123},
            {"query": "{ today }", "variables": "x"},
            {"query": "{ today }", "operationName": {"$ne": None}},
            {},
        ):
            resp = await http.post("/graphql", json=body)
            assert resp.status_code == 400, body
            assert only_error(resp.json())["extensions"]["code"] == "BAD_USER_INPUT"


# ---------------------------------------------------------------- finding 6: codes everywhere


async def test_syntax_and_token_limit_errors_have_codes(api: Api, no_error_logs: None) -> None:
    syntax = only_error((await post(api, "{ sectorStats(", headers=EN)).json())
    assert syntax["extensions"]["code"] == "BAD_USER_INPUT"
    assert syntax["message"].startswith("Syntax Error")
    syntax_id = only_error((await post(api, "{ sectorStats(")).json())
    assert syntax_id["message"].startswith("Kesalahan sintaks")
    tokens = only_error((await post(api, "{ " + "a: today " * 2000 + "}")).json())
    assert tokens["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    unknown = only_error((await post(api, "{ nope }")).json())
    assert unknown["extensions"]["code"] == "BAD_USER_INPUT"
    assert unknown["message"].startswith("Kueri tidak valid")


async def ws_answers(
    server: LiveServer, operations: list[tuple[str, dict[str, Any] | None]], lang: str
) -> list[dict[str, Any]]:
    """The last message (error or next) of each operation, over one graphql-transport-ws
    connection, sent one after the other."""
    answers: list[dict[str, Any]] = []
    async with websockets.connect(
        server.ws_url,
        subprotocols=[websockets.Subprotocol("graphql-transport-ws")],
        additional_headers={"Accept-Language": lang},
    ) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        for i, (query, variables) in enumerate(operations):
            payload = {"query": query, "variables": variables or {}}
            await ws.send(json.dumps({"id": str(i), "type": "subscribe", "payload": payload}))
            last: dict[str, Any] = {}
            while True:
                message = json.loads(await ws.recv())
                if message["type"] == "complete":
                    break
                last = message
                if message["type"] == "error":
                    break
            answers.append(last)
    return answers


def ws_errors(message: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (
        message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    )
    for error in found:
        assert error["extensions"]["code"] in CODES, error
        assert len(error["extensions"]["requestId"]) == 32
    return found


async def test_websocket_errors_have_codes_request_id_and_language(
    server: LiveServer, no_error_logs: None
) -> None:
    aliases = "{ " + " ".join(f"a{i}: today" for i in range(200)) + " }"
    operations: list[tuple[str, dict[str, Any] | None]] = [
        (aliases, None),
        ("{ today(", None),  # a syntax error answers; the connection stays open
        (SECTOR, {"t": "abc"}),
        ("{ sectorStats(tahun: 99999) { sektor } }", None),
        ("{ today }", None),
    ]
    answers = await ws_answers(server, operations, "en")
    codes = [ws_errors(a)[0]["extensions"]["code"] for a in answers[:4]]
    assert codes == ["QUERY_TOO_COMPLEX", "BAD_USER_INPUT", "BAD_USER_INPUT", "BAD_USER_INPUT"]
    assert ws_errors(answers[3])[0]["message"].startswith("Argument tahun")
    assert answers[4]["payload"]["data"]["today"]
    indonesian = await ws_answers(server, operations[3:4], "id")
    assert ws_errors(indonesian[0])[0]["message"].startswith("Argumen tahun")


# ---------------------------------------------------------------- finding 10: control characters


async def test_control_characters_in_names_and_addresses(api: Api, owner: Account) -> None:
    cases = {
        "input.namaUsaha": valid_input(namaUsaha="Warung\x00Nol"),
        "input.wilayah.alamatLengkap": valid_input(
            wilayah={"kota": "Malang", "provinsi": "Jawa Timur", "alamatLengkap": "Jl. A\nJl. B"}
        ),
        "input.wilayah.kota": valid_input(wilayah={"kota": "Mal\x1bang", "provinsi": "Jawa Timur"}),
        "input.pemilik.nama": valid_input(pemilik={"nama": "Ibu\tSari", "telepon": "081234567890"}),
    }
    for path, data in cases.items():
        payload = (await post(api, CREATE, {"input": data}, owner.token)).json()["data"]
        assert payload["createUmkm"]["umkm"] is None
        assert [(".".join(e["field"]), e["code"]) for e in payload["createUmkm"]["userErrors"]] == [
            (path, "INVALID")
        ]
    register = (
        "mutation($i: RegisterInput!) { register(input: $i) { user { id } "
        "userErrors { field code } } }"
    )
    data = {
        "namaLengkap": "Budi\u0085Santoso",
        "nik": "3573010101900001",
        "email": "budi-kontrol@contoh.id",
        "telepon": "081234567890",
        "password": "kata-sandi-panjang",
        "passwordConfirm": "kata-sandi-panjang",
    }
    payload = (await post(api, register, {"i": data})).json()["data"]["register"]
    assert payload["user"] is None
    assert {"field": ["input", "namaLengkap"], "code": "INVALID"} in payload["userErrors"]
    filtered = (await post(api, UMKMS, {"f": {"kota": "Malang\x00"}})).json()
    assert only_error(filtered)["extensions"]["argument"] == "filter.kota"


async def test_multi_line_text_allows_line_breaks_only(
    api: Api, admin: Account, factory: Factory
) -> None:
    umkm = await factory.umkm(None)
    submit = (
        "mutation($i: SubmitFinancialLogInput!) { submitFinancialLog(input: $i) "
        "{ log { catatan } userErrors { field code } } }"
    )
    base = {"umkmId": str(umkm["_id"]), "tahun": 2025, "bulan": 3, "omzet": 1000}
    ok = (
        await post(
            api,
            submit,
            {"i": {**base, "jumlahKaryawan": 2, "catatan": "baris 1\nbaris 2"}},
            admin.token,
        )
    ).json()["data"]["submitFinancialLog"]
    assert ok == {"log": {"catatan": "baris 1\nbaris 2"}, "userErrors": []}
    refused = (
        await post(
            api, submit, {"i": {**base, "jumlahKaryawan": 2, "catatan": "nol\x00"}}, admin.token
        )
    ).json()["data"]["submitFinancialLog"]
    assert refused == {
        "log": None,
        "userErrors": [{"field": ["input", "catatan"], "code": "INVALID"}],
    }
