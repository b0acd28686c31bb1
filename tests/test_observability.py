"""Observability (issue 15, docs/operations.md): /metrics counters after a known sequence of
operations, spans of an operation touching both databases, the JSON request log line, the
cardinality bound of operation labels, /ready and the metrics agreeing, client disconnects.

Metrics are process-wide and the test servers run in this process: every assertion is on the
difference between two scrapes, for operation names no other test uses.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from db.drivers.roundtrips import statement_name
from sigma_graphql.core.settings import Settings
from sigma_graphql.observability import metrics, tracing
from sigma_graphql.observability.request_log import JsonFormatter
from tests.support import Account, Factory, LiveServer, free_port, logs_into

TOKEN = "metrics-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """Sum over the series of `name` whose labels include `labels`."""
    wanted = set(labels.items())
    return sum(v for (n, lab), v in samples.items() if n == name and wanted <= set(lab))


async def scrape(live: LiveServer) -> Samples:
    async with httpx.AsyncClient(base_url=live.base, timeout=30) as http:
        answer = await http.get("/metrics", headers=AUTH)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return parse(answer.text)


async def post(
    live: LiveServer, query: str, variables: dict[str, Any] | None = None, **headers: str
) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=live.base, timeout=60) as http:
        answer = await http.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
    body: dict[str, Any] = answer.json()
    return body


@pytest.fixture(scope="module")
def observed(server_factory: Callable[..., LiveServer]) -> LiveServer:
    """Its own server: one failed login locks an address, a small public budget, a public cache
    of one entry."""
    return server_factory(
        metrics_token=TOKEN,
        login_max_failures=1,
        # Failed logins count per client address too, in the session's shared keyspace: the
        # logins of this test come from an address of their own.
        trusted_proxy_header="X-Forwarded-For",
        public_cache_ttl_s=60.0,
        public_cache_entries=1,
        budget_burst={"PUBLIC": 3000, "UMKM_OWNER": 200_000, "PEJABAT": 500_000, "ADMIN": 10**6},
        budget_refill_per_s={"PUBLIC": 0.001, "UMKM_OWNER": 4000.0, "PEJABAT": 1e4, "ADMIN": 2e4},
    )


async def test_metrics_are_not_public(observed: LiveServer, server: LiveServer) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        assert (await http.get(f"{observed.base}/metrics")).status_code == 404
        wrong = {"Authorization": "Bearer not-the-token-at-all-000"}
        assert (await http.get(f"{observed.base}/metrics", headers=wrong)).status_code == 404
        # Without SIGMA_METRICS_TOKEN there is no /metrics at all.
        assert (await http.get(f"{server.base}/metrics", headers=AUTH)).status_code == 404


async def test_counter_deltas_after_a_known_sequence(observed: LiveServer) -> None:
    before = await scrape(observed)
    for _ in range(2):
        assert "errors" not in await post(observed, "query ObsToday15 { today }")
    await post(observed, "{ today }")  # anonymous
    await post(observed, "query ObsBroken15 { today")  # syntax error
    refused = await post(observed, "query ObsUsers15 { users { nodes { id } } }")
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    email = f"nobody-{uuid.uuid4().hex[:8]}@test.sigma"
    login = """mutation ObsLogin15($e: String!, $p: String!) {
      login(input: {email: $e, password: $p}) { token userErrors { code } } }"""
    proxy = {"X-Forwarded-For": f"2001:db8::{uuid.uuid4().hex[:4]}"}
    first = await post(observed, login, {"e": email, "p": "salah-sekali-12345"}, **proxy)
    assert first["data"]["login"]["userErrors"][0]["code"] == "INVALID"
    second = await post(observed, login, {"e": email, "p": "salah-sekali-12345"}, **proxy)
    assert second["data"]["login"]["userErrors"][0]["code"] == "RATE_LIMITED"
    after = await scrape(observed)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    ops = "sigma_graphql_operations_total"
    assert delta(ops, operation="ObsToday15", type="query", outcome="ok") == 2
    assert delta(ops, operation="(anonymous)", type="query", outcome="ok") == 1
    assert delta(ops, operation="(invalid)", type="unknown", outcome="BAD_USER_INPUT") == 1
    assert delta(ops, operation="ObsUsers15", type="query", outcome="UNAUTHENTICATED") == 1
    assert delta(ops, operation="ObsLogin15", type="mutation", outcome="userErrors") == 2
    errors = "sigma_graphql_operation_errors_total"
    assert delta(errors, operation="ObsUsers15", code="UNAUTHENTICATED") == 1
    latency = "sigma_graphql_operation_duration_seconds_count"
    assert delta(latency, operation="ObsToday15", type="query") == 2
    assert delta("sigma_login_failures_total") == 1
    assert delta("sigma_login_lockouts_total") == 1
    # The login reads MongoDB (the account) and Cassandra (the failure window).
    calls = "sigma_db_call_duration_seconds_count"
    assert total(after, calls, database="mongo") > total(before, calls, database="mongo")
    assert total(after, calls, database="cassandra") > total(before, calls, database="cassandra")
    per_request = "sigma_db_round_trips_per_request_count"
    assert delta(per_request, database="mongo") == 7  # one observation per HTTP request
    # Default collectors of the library: the process's CPU and memory.
    assert value(after, "process_cpu_seconds_total") > 0
    assert value(after, "process_resident_memory_bytes") > 0


async def test_public_cache_and_budget_metrics(observed: LiveServer) -> None:
    before = await scrape(observed)
    one = "query ObsCacheA15 { today }"
    other = "query ObsCacheB15 { today }"
    await post(observed, one)  # miss, kept
    await post(observed, one)  # hit
    await post(observed, other)  # miss, kept: `one` is evicted (one entry at most)
    after = await scrape(observed)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    cache = "sigma_public_cache_events_total"
    assert (delta(cache, event="hit"), delta(cache, event="miss")) == (1, 2)
    assert delta(cache, event="eviction") == 1
    assert delta("sigma_graphql_operation_cost_count", audience="PUBLIC") == 3

    # A PUBLIC bucket of 3,000 points refilled at 0.001/s: a catalogue query is refused soon.
    before = after
    catalogue = """query ObsBudget15($n: Int!) {
      umkms(first: $n) { nodes { id owner { nama } financialLogs { nodes { omzet } } } } }"""
    refusals = spent = 0
    for n in range(300):
        answer = await post(observed, catalogue, {"n": 100 - n % 2})
        if answer.get("errors"):
            assert answer["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
            refusals += 1
            break
        spent += answer["extensions"]["cost"]["requested"]
    assert spent <= 3000
    assert refusals == 1
    after = await scrape(observed)
    refused = "sigma_graphql_budget_refusals_total"
    assert delta(refused, audience="PUBLIC", reason="rate_limited") == 1
    ops = "sigma_graphql_operations_total"
    assert delta(ops, operation="ObsBudget15", type="query", outcome="RATE_LIMITED") == 1


async def test_operation_labels_stay_bounded(
    server_factory: Callable[..., LiveServer],
) -> None:
    live = server_factory(metrics_token=TOKEN, metrics_max_operation_names=20)
    before = await scrape(live)
    async with httpx.AsyncClient(base_url=live.base, timeout=60) as http:

        async def send(document: str) -> None:
            await http.post("/graphql", json={"query": document})

        # 1,000 distinct anonymous documents (different aliases), then 40 invented names.
        for start in range(0, 1000, 50):
            await asyncio.gather(*(send(f"{{ t{i}: today }}") for i in range(start, start + 50)))
        await asyncio.gather(*(send(f"query Invented{i}x15 {{ today }}") for i in range(40)))
    after = await scrape(live)
    ops = "sigma_graphql_operations_total"
    new_series = {key for key in after if key[0] == ops} - {key for key in before if key[0] == ops}
    # At most the 20 names kept, "(other)" and "(anonymous)" (if no test made it before).
    assert len(new_series) <= 22, sorted(new_series)
    anonymous = value(after, ops, operation="(anonymous)", type="query", outcome="ok")
    assert (
        anonymous - value(before, ops, operation="(anonymous)", type="query", outcome="ok") == 1000
    )
    named = total(after, ops, type="query") - total(before, ops, type="query")
    assert named == 1040
    # No label value anywhere holds a document, a variable or an alias.
    for name, labels in new_series:
        for _, label in labels:
            assert "today" not in label and "{" not in label, (name, labels)


async def test_ready_and_metrics_agree_on_a_database_down(migrated: Settings) -> None:
    dead = free_port()  # nothing listens there
    live = LiveServer(
        migrated.with_overrides(
            mongo_uri=f"mongodb://127.0.0.1:{dead}", mongo_timeout_ms=300, metrics_token=TOKEN
        )
    ).start()
    try:
        async with httpx.AsyncClient(base_url=live.base, timeout=30) as http:
            ready = (await http.get("/ready")).json()
            samples = parse((await http.get("/metrics", headers=AUTH)).text)
    finally:
        live.stop()
    assert ready["checks"] == {"mongodb": "unavailable", "cassandra": "ok", "nats": "ok"}
    assert value(samples, "sigma_database_up", database="mongodb") == 0
    assert value(samples, "sigma_database_up", database="cassandra") == 1
    assert value(samples, "sigma_event_broker_up") == 1


# -- traces ----------------------------------------------------------------------------------


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.use_provider(provider)
    try:
        yield exporter
    finally:
        tracing.use_provider(None)


async def _owner_with_logs(factory: Factory) -> tuple[Account, dict[str, Any]]:
    owner = await factory.account("UMKM_OWNER")
    umkm = await factory.umkm(owner)
    return owner, umkm


async def test_spans_of_an_operation_touching_both_databases(
    server: LiveServer, factory: Factory, spans: InMemorySpanExporter
) -> None:
    owner, umkm = await _owner_with_logs(factory)
    caller_trace = uuid.uuid4().hex
    caller_span = uuid.uuid4().hex[:16]
    query = """query ObsBoth15($n: Int!) {
      me { nama umkms(first: $n) {
        nodes { namaUsaha financialLogs(first: 3) { nodes { omzet } } } } }
    }"""
    spans.clear()
    answer = await post(
        server,
        query,
        {"n": 5},
        Authorization=f"Bearer {owner.token}",
        traceparent=f"00-{caller_trace}-{caller_span}-01",
    )
    assert "errors" not in answer, answer
    assert answer["data"]["me"]["umkms"]["nodes"][0]["namaUsaha"] == umkm["nama_usaha"]
    finished: list[ReadableSpan] = [
        s for s in spans.get_finished_spans() if format(s.context.trace_id, "032x") == caller_trace
    ]
    by_id = {s.context.span_id: s for s in finished}
    operations = [s for s in finished if s.name == "query ObsBoth15"]
    assert len(operations) == 1
    operation = operations[0]
    assert operation.parent is not None and format(operation.parent.span_id, "016x") == caller_span
    attrs = dict(operation.attributes or {})
    assert attrs["graphql.operation.name"] == "ObsBoth15"
    assert attrs["graphql.operation.type"] == "query"
    assert attrs["graphql.outcome"] == "ok"
    assert attrs["sigma.audience"] == "UMKM_OWNER"
    assert isinstance(attrs["sigma.cost"], int) and attrs["sigma.cost"] > 0

    def under_operation(span: ReadableSpan) -> bool:
        parent = span.parent
        while parent is not None:
            if parent.span_id == operation.context.span_id:
                return True
            above = by_id.get(parent.span_id)
            parent = above.parent if above is not None else None
        return False

    children = [s for s in finished if under_operation(s)]
    names = {s.name for s in children}
    assert any(n.startswith("mongo ") and "umkm_profiles" in n for n in names), names
    assert any(n.startswith("cassandra SELECT umkm_") for n in names), names
    assert any(n.startswith("dataloader ") for n in names), names
    # No field spans: only operations, database calls and DataLoader batches.
    assert all(n.split()[0] in {"mongo", "cassandra", "dataloader"} for n in names), names
    # The session lookup before the operation joins the caller's trace too.
    outside = {s.name for s in finished if s is not operation and not under_operation(s)}
    assert any(n.startswith("mongo ") and "sessions" in n for n in outside), outside
    # Nothing of the data: no token, id, name or variable value in any attribute or name.
    secrets = [owner.token, str(owner.id), str(umkm["_id"]), umkm["nama_usaha"], owner.doc["email"]]
    for span in finished:
        text = span.name + json.dumps(dict(span.attributes or {}), default=str)
        for secret in secrets:
            assert secret not in text, (span.name, secret)


def test_statement_names_carry_no_values() -> None:
    assert statement_name("SELECT a, b FROM umkm_financial_log WHERE umkm_id = ?") == (
        "SELECT umkm_financial_log"
    )
    assert statement_name("INSERT INTO login_failures (k) VALUES ('x@y.z')") == (
        "INSERT login_failures"
    )
    assert statement_name("UPDATE counts SET n = n + 1 WHERE k = 'secret'") == "UPDATE counts"
    assert statement_name("BEGIN UNLOGGED BATCH INSERT INTO t (a) VALUES (1) APPLY BATCH") == (
        "BATCH"
    )


# -- logs ------------------------------------------------------------------------------------


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def log_lines() -> Iterator[_Lines]:
    handler = _Lines()
    with logs_into(handler, ("sigma_graphql.requests", "sigma_graphql.slow"), logging.INFO):
        yield handler


async def test_json_request_lines_hold_the_fields_and_no_secrets(
    server_factory: Callable[..., LiveServer], factory: Factory, log_lines: _Lines
) -> None:
    live = server_factory(log_format="json", slow_operation_ms=0.001)
    owner = await factory.account("UMKM_OWNER", password="kata-sandi-rahasia-77")
    nik = owner.doc.get("nik")
    login = """mutation ObsLoginLog15($e: String!, $p: String!) {
      login(input: {email: $e, password: $p}) { token userErrors { code } } }"""
    answer = await post(live, login, {"e": owner.doc["email"], "p": "kata-sandi-rahasia-77"})
    token = answer["data"]["login"]["token"]
    assert token
    await post(live, "query ObsMe15 { me { nama nik } }", Authorization=f"Bearer {token}")
    requests = [line for line in log_lines.lines if line["logger"] == "sigma_graphql.requests"]
    by_op = {line["operation"]: line for line in requests}
    assert {"ObsLoginLog15", "ObsMe15"} <= by_op.keys()
    me = by_op["ObsMe15"]
    for key in (
        "time",
        "request_id",
        "trace_id",
        "operation",
        "operation_type",
        "audience",
        "duration_ms",
        "round_trips",
        "cost",
        "outcome",
        "client",
    ):
        assert key in me, key
    assert me["operation_type"] == "query" and me["audience"] == "UMKM_OWNER"
    assert me["outcome"] == "ok" and me["client"] == "127.0.0.1"
    assert me["round_trips"]["mongo"] >= 1 and isinstance(me["cost"], int)
    assert len(me["request_id"]) >= 16
    assert by_op["ObsLoginLog15"]["operation_type"] == "mutation"
    slow = [line for line in log_lines.lines if line["logger"] == "sigma_graphql.slow"]
    assert any(line["operation"] == "ObsMe15" and len(line["document_hash"]) == 16 for line in slow)
    text = json.dumps(log_lines.lines)
    for secret in ("kata-sandi-rahasia-77", token, owner.token, owner.doc["email"], nik):
        assert secret and secret not in text, secret


async def test_a_client_that_disconnects_is_one_short_line(
    server: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    body = json.dumps({"query": "query ObsGone15 { umkms(first: 50) { nodes { id } } }"}).encode()
    head = (
        b"POST /graphql HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    )
    with caplog.at_level(logging.INFO):
        for cut in (len(body) // 2, len(body)):  # mid-body, and before the answer
            _, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(head + body[:cut])
            await writer.drain()
            writer.transport.abort()
        # The server notices the first one when it reads the body; let both finish.
        for _ in range(100):
            if any("client left" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
    gone = [r for r in caplog.records if "client left" in r.getMessage()]
    assert len(gone) == 1 and gone[0].exc_info is None
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


# -- subscriptions and the event bus -----------------------------------------------------------


async def test_subscription_and_event_bus_metrics(
    server_factory: Callable[..., LiveServer], factory: Factory
) -> None:
    """A subscriber on one process, the write on another: the event crosses the bus."""
    from gql import Client, gql
    from gql.transport.websockets import WebsocketsTransport

    from db.notifications import topic
    from tests.fin_support import FLAG, submit
    from tests.support import Api

    here = server_factory(metrics_token=TOKEN)
    there = server_factory()
    owner = await factory.account()
    staff = await factory.account("PEJABAT")
    doc = await factory.umkm(owner)
    await submit(Api(there), owner.token, doc["_id"], 2019, 4, 5_000_000)
    before = await scrape(here)
    client = Client(
        transport=WebsocketsTransport(
            url=here.ws_url,
            init_payload={"authorization": f"Bearer {owner.token}"},
            subprotocols=[WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL],
        )
    )
    async with client as session:
        events = session.subscribe(gql("subscription ObsSub15 { notificationAdded { id } }"))
        first = asyncio.ensure_future(events.__anext__())
        for _ in range(3000):  # a condition, not a timing threshold
            if here.services.pubsub.subscriber_count(topic(owner.id)) == 1:
                break
            await asyncio.sleep(0.01)
        during = await scrape(here)
        variables = {
            "input": {
                "umkmId": str(doc["_id"]),
                "tahun": 2019,
                "bulan": 4,
                "reason": "omzet melonjak tajam",
            }
        }
        flagged = await Api(there).as_(staff.token)(FLAG, variables)
        assert flagged.ok()["flagFinancialLog"]["userErrors"] == []
        assert (await asyncio.wait_for(first, 60))["notificationAdded"]["id"]
        await events.aclose()
    for _ in range(3000):
        if here.services.pubsub.subscriber_count(topic(owner.id)) == 0:
            break
        await asyncio.sleep(0.01)
    after = await scrape(here)
    assert (
        value(during, "sigma_subscriptions_open") - value(before, "sigma_subscriptions_open") == 1
    )
    assert value(after, "sigma_subscriptions_open") == value(before, "sigma_subscriptions_open")
    delivered = "sigma_subscription_events_delivered_total"
    assert value(after, delivered, operation="ObsSub15") - value(before, delivered) == 1
    lag = "sigma_event_bus_lag_seconds_count"
    # Other kinds cross the bus too (the flag's cache invalidation): only notifications count.
    # Every app of this test process connected to NATS receives the event and all of them share
    # one registry (production runs one app per process), so at least `here` observed it.
    kind = "notifications"
    assert value(after, lag, kind=kind) - value(before, lag, kind=kind) >= 1


def test_tracing_follows_the_standard_variables() -> None:
    assert not tracing.wanted_by_environment({})
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}
    assert tracing.wanted_by_environment(endpoint)
    assert tracing.wanted_by_environment(
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}
    )
    assert not tracing.wanted_by_environment({**endpoint, "OTEL_SDK_DISABLED": "true"})
    assert not tracing.wanted_by_environment({**endpoint, "OTEL_TRACES_EXPORTER": "none"})


def test_a_kept_metric_child_is_the_one_prometheus_keeps() -> None:
    # metrics.labeled keeps children for the request path; they must be prometheus's own, so
    # what is counted through them is what /metrics shows.
    child = metrics.labeled(metrics.OPERATION_COST, "TEST_AUDIENCE")
    assert child is metrics.OPERATION_COST.labels("TEST_AUDIENCE")
    assert metrics.labeled(metrics.OPERATION_COST, "TEST_AUDIENCE") is child
    child.observe(7)
    assert b'sigma_graphql_operation_cost_sum{audience="TEST_AUDIENCE"} 7.0' in metrics.render()
