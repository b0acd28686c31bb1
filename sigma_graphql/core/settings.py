"""Settings from SIGMA_* environment variables.

Every setting has a documented variable (README "Settings"). A missing or malformed value stops
start-up with one line naming the variable (SettingsError).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeVar

Environment = Literal["development", "production", "test"]
T = TypeVar("T")

_DEV_SECRET = "development-only-secret-key-change-me-in-production"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    environment: Environment = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    secret_key: str = _DEV_SECRET
    public_base_url: str = "http://127.0.0.1:8000"

    mongo_uri: str = "mongodb://127.0.0.1:27017"
    mongo_db: str = "sigma"
    # Server selection and connecting.
    mongo_timeout_ms: int = 2000
    # Longest wait for one answer, and for a free pooled connection: nothing waits forever on a
    # connection that went silent (issue #12).
    mongo_socket_timeout_ms: int = 5000

    cassandra_contact_points: tuple[str, ...] = ("127.0.0.1",)
    cassandra_port: int = 9042
    cassandra_keyspace: str = "sigma"
    cassandra_local_dc: str = "datacenter1"
    cassandra_timeout_s: float = 5.0
    # Cap of the driver's reconnection backoff (its default grows to 10 minutes).
    cassandra_reconnect_max_s: float = 2.0

    # Circuit breakers (db/drivers/breaker.py): consecutive failures that open one, and how often
    # the background probe asks a database (and how long it waits for the answer).
    breaker_failures: int = 3
    probe_interval_s: float = 1.0
    probe_timeout_s: float = 2.0
    # Seconds a validated session keeps working from memory while MongoDB does not answer
    # (db/sessions.py); 0 = off.
    session_cache_s: float = 60.0

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    mail_from: str = "SIGMA-UMKM <no-reply@sigma-umkm.local>"

    # Limits (README, Input limits). Body size in bytes.
    max_body_bytes: int = 2 * 1024 * 1024
    max_depth: int = 10
    max_aliases: int = 30
    max_tokens: int = 3000
    max_cost: int = 50_000
    # Per-identity budget: points refilled per second and bucket size, per audience.
    budget_refill_per_s: Mapping[str, float] = field(
        default_factory=lambda: {
            "PUBLIC": 2_000.0,
            "UMKM_OWNER": 4_000.0,
            "PEJABAT": 10_000.0,
            "ADMIN": 20_000.0,
            "API_KEY": 1_000.0,
        }
    )
    budget_burst: Mapping[str, int] = field(
        default_factory=lambda: {
            "PUBLIC": 100_000,
            "UMKM_OWNER": 200_000,
            "PEJABAT": 500_000,
            "ADMIN": 1_000_000,
            "API_KEY": 50_000,
        }
    )
    # One bucket per identity for all API processes (MongoDB, leased;
    # sigma_graphql/limits/budget.py);
    # false = each process keeps its own buckets.
    budget_shared: bool = True

    # Auth (docs/architecture.md, Auth)
    session_ttl_s: int = 24 * 3600
    login_window_s: int = 15 * 60
    login_max_failures: int = 5
    token_ttl_s: int = 15 * 60
    unverified_account_ttl_s: int = 7 * 24 * 3600
    trusted_proxy_header: str | None = None
    # Link mails (password reset, verification resend) per recipient address and window.
    mail_window_s: int = 15 * 60
    mail_max_per_window: int = 3

    # Retired with the Cassandra event poller (issue 17: events go through NATS, nats_url); still
    # parsed so existing environments keep starting.
    event_poll_interval_s: float = 1.0
    # Open subscription sockets (sigma_graphql/request/socket_sessions.py): how long one session
    # lookup is trusted for deliveries (0: look up before every delivery), and how often every open
    # socket's session is looked up again (idle sockets close too).
    ws_session_cache_s: float = 5.0
    ws_session_sweep_s: float = 5.0

    # Self-healing after faults (sigma_graphql/server/reconciler.py): a write's intent still open
    # after intent_repair_age_s is repaired; rounds every reconcile_interval_s (0: this process
    # never reconciles); one process at a time, holding a lease of reconcile_lease_s.
    intent_repair_age_s: float = 20.0
    reconcile_interval_s: float = 5.0
    reconcile_lease_s: int = 30

    graphiql: bool = True
    introspection: bool = True
    # Adds extensions.dbRoundTrips to every response (tests and benchmarks only).
    expose_round_trips: bool = False
    # Inline completion of plain attribute leaves (sigma_graphql/execution/fast_execution.py). Off
    # only to compare with Strawberry's stock execution (tests, benchmarks).
    fast_execution: bool = True
    # Anonymous query answers kept in memory (sigma_graphql/limits/response_cache.py); 0 switches
    # off.
    public_cache_ttl_s: float = 2.0
    public_cache_entries: int = 1000
    # Persisted operations (sigma_graphql/server/persisted_queries.py): only trusted documents
    # (`sigma-graphql trust-documents`) from PUBLIC and UMKM_OWNER viewers; documents kept in
    # memory in front of MongoDB; max-age of anonymous persisted GET answers
    # (sigma_graphql/server/http_caching.py).
    trusted_documents_only: bool = False
    persisted_cache_entries: int = 2000
    persisted_max_age_s: int = 30
    # Observability (docs/operations.md): one request log line as JSON or text; an extra line
    # for operations slower than slow_operation_ms (0: never); /metrics answers only a bearer of
    # metrics_token (unset: /metrics is not served); distinct operation names given their own
    # metric label per process (the rest are counted as "(other)").
    log_format: Literal["json", "text"] = "text"
    slow_operation_ms: float = 1000.0
    metrics_token: str | None = None
    metrics_max_operation_names: int = 200

    # The event broker between API processes (issue 17; sigma_graphql/server/nats_bus.py): NATS
    # server URL(s), comma-separated; None ("off") keeps events inside this process. Subjects
    # start with nats_subject_prefix (deployments sharing one NATS keep apart).
    nats_url: str | None = "nats://127.0.0.1:4222"
    nats_subject_prefix: str = "sigma"

    # Exports (issue 18; sigma_graphql/server/export_worker.py): how long jobs and their files
    # are kept, how many may run at once per user, the lease a running job's process renews
    # (a job whose lease lapsed is taken over by another process, or after a restart), how long
    # a signed download link works, and how often each process looks for jobs to take over.
    export_retention_s: int = 7 * 24 * 3600
    export_max_running_per_user: int = 2
    export_lease_s: float = 30.0
    export_url_ttl_s: int = 3600
    export_scan_interval_s: float = 5.0

    # Revenue imports (resolvers/imports.py, sigma_graphql/core/revenue_files.py): largest file,
    # most data rows and columns, the mode when the request names none, and how many months are
    # written at once.
    import_max_bytes: int = 5 * 1024 * 1024
    import_max_rows: int = 20_000
    import_max_columns: int = 16  # the revenue export writes 11 (schema/types/exports.py)
    import_mode: str = "ALL_OR_NOTHING"
    import_concurrency: int = 16
    # API keys (db/api_keys.py): last_used_at is written at most once per this many seconds.
    api_key_touch_s: float = 60.0

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def _parse_bool(raw: str) -> bool:
    low = raw.strip().lower()
    if low in {"1", "true", "yes", "on"}:
        return True
    if low in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true/false")


def _parse_positive_int(raw: str) -> int:
    value = int(raw)
    if value <= 0:
        raise ValueError("must be a positive integer")
    return value


def _parse_positive_float(raw: str) -> float:
    value = float(raw)
    if not value > 0 or value == float("inf"):
        raise ValueError("must be a positive number")
    return value


def _parse_seconds_or_zero(raw: str) -> float:
    value = float(raw)
    if not value >= 0 or value == float("inf"):
        raise ValueError("must be 0 (off) or a positive number of seconds")
    return value


def _parse_port(raw: str) -> int:
    value = int(raw)
    if not 0 < value < 65536:
        raise ValueError("must be a TCP port (1..65535)")
    return value


def _parse_env(raw: str) -> Environment:
    if raw not in ("development", "production", "test"):
        raise ValueError("must be development, production or test")
    return raw  # type: ignore[return-value]


def _parse_contact_points(raw: str) -> tuple[str, ...]:
    points = tuple(p.strip() for p in raw.split(",") if p.strip())
    if not points:
        raise ValueError("needs at least one host")
    return points


def _parse_mongo_uri(raw: str) -> str:
    if not raw.startswith(("mongodb://", "mongodb+srv://")):
        raise ValueError("must start with mongodb:// or mongodb+srv://")
    return raw


def _parse_import_mode(raw: str) -> str:
    if raw not in ("ALL_OR_NOTHING", "VALID_ROWS_ONLY"):
        raise ValueError("must be ALL_OR_NOTHING or VALID_ROWS_ONLY")
    return raw


def _parse_name(raw: str) -> str:
    if not raw.replace("_", "").isalnum() or not raw[0].isalpha():
        raise ValueError("must be letters, digits and underscores, starting with a letter")
    return raw


def _parse_nats_url(raw: str) -> str | None:
    if raw.strip().lower() == "off":
        return None
    urls = [u.strip() for u in raw.split(",") if u.strip()]
    if not urls or not all(u.startswith(("nats://", "tls://")) for u in urls):
        raise ValueError("must be nats:// (or tls://) URLs, comma-separated, or off")
    return ",".join(urls)


AUDIENCES = ("PUBLIC", "UMKM_OWNER", "PEJABAT", "ADMIN", "API_KEY")


def _parse_audience_map(raw: str, cast: Callable[[str], T]) -> dict[str, T]:
    """ "PUBLIC=2000,UMKM_OWNER=4000": positive values per audience; the ones not named keep
    their defaults (merged in load_settings)."""
    out: dict[str, T] = {}
    for part in raw.split(","):
        if not part.strip():
            continue
        name, sep, value = part.partition("=")
        name = name.strip().upper()
        if not sep or name not in AUDIENCES:
            raise ValueError(
                f"expected AUDIENCE=value pairs, AUDIENCE one of {', '.join(AUDIENCES)}"
            )
        if name in out:
            raise ValueError(f"{name} given twice")
        out[name] = cast(value.strip())
    if not out:
        raise ValueError("needs at least one AUDIENCE=value pair")
    return out


def _parse_refill(raw: str) -> dict[str, float]:
    return _parse_audience_map(raw, _parse_positive_float)


def _parse_burst(raw: str) -> dict[str, int]:
    return _parse_audience_map(raw, _parse_positive_int)


def _parse_log_format(raw: str) -> Literal["json", "text"]:
    low = raw.strip().lower()
    if low == "json":
        return "json"
    if low == "text":
        return "text"
    raise ValueError("expected json or text")


def _parse_metrics_token(raw: str) -> str:
    if len(raw) < 16:
        raise ValueError("must be at least 16 characters")
    return raw


# Settings whose parsed value is merged over the default mapping instead of replacing it.
_MERGED = frozenset({"budget_refill_per_s", "budget_burst"})

_FIELDS: dict[str, tuple[str, Callable[[str], Any]]] = {
    "SIGMA_ENV": ("environment", _parse_env),
    "SIGMA_HOST": ("host", str),
    "SIGMA_PORT": ("port", _parse_port),
    "SIGMA_SECRET_KEY": ("secret_key", str),
    "SIGMA_PUBLIC_BASE_URL": ("public_base_url", str),
    "SIGMA_MONGO_URI": ("mongo_uri", _parse_mongo_uri),
    "SIGMA_MONGO_DB": ("mongo_db", _parse_name),
    "SIGMA_MONGO_TIMEOUT_MS": ("mongo_timeout_ms", _parse_positive_int),
    "SIGMA_MONGO_SOCKET_TIMEOUT_MS": ("mongo_socket_timeout_ms", _parse_positive_int),
    "SIGMA_CASSANDRA_CONTACT_POINTS": ("cassandra_contact_points", _parse_contact_points),
    "SIGMA_CASSANDRA_PORT": ("cassandra_port", _parse_port),
    "SIGMA_CASSANDRA_KEYSPACE": ("cassandra_keyspace", _parse_name),
    "SIGMA_CASSANDRA_LOCAL_DC": ("cassandra_local_dc", str),
    "SIGMA_CASSANDRA_TIMEOUT_S": ("cassandra_timeout_s", _parse_positive_float),
    "SIGMA_CASSANDRA_RECONNECT_MAX_S": ("cassandra_reconnect_max_s", _parse_positive_float),
    "SIGMA_BREAKER_FAILURES": ("breaker_failures", _parse_positive_int),
    "SIGMA_PROBE_INTERVAL_S": ("probe_interval_s", _parse_positive_float),
    "SIGMA_PROBE_TIMEOUT_S": ("probe_timeout_s", _parse_positive_float),
    "SIGMA_SESSION_CACHE_S": ("session_cache_s", _parse_seconds_or_zero),
    "SIGMA_SMTP_HOST": ("smtp_host", str),
    "SIGMA_SMTP_PORT": ("smtp_port", _parse_port),
    "SIGMA_MAIL_FROM": ("mail_from", str),
    "SIGMA_MAX_BODY_BYTES": ("max_body_bytes", _parse_positive_int),
    "SIGMA_MAX_DEPTH": ("max_depth", _parse_positive_int),
    "SIGMA_MAX_ALIASES": ("max_aliases", _parse_positive_int),
    "SIGMA_MAX_TOKENS": ("max_tokens", _parse_positive_int),
    "SIGMA_MAX_COST": ("max_cost", _parse_positive_int),
    "SIGMA_BUDGET_REFILL_PER_S": ("budget_refill_per_s", _parse_refill),
    "SIGMA_BUDGET_BURST": ("budget_burst", _parse_burst),
    "SIGMA_BUDGET_SHARED": ("budget_shared", _parse_bool),
    "SIGMA_SESSION_TTL_S": ("session_ttl_s", _parse_positive_int),
    "SIGMA_LOGIN_WINDOW_S": ("login_window_s", _parse_positive_int),
    "SIGMA_LOGIN_MAX_FAILURES": ("login_max_failures", _parse_positive_int),
    "SIGMA_TOKEN_TTL_S": ("token_ttl_s", _parse_positive_int),
    "SIGMA_TRUSTED_PROXY_HEADER": ("trusted_proxy_header", str),
    "SIGMA_MAIL_WINDOW_S": ("mail_window_s", _parse_positive_int),
    "SIGMA_MAIL_MAX_PER_WINDOW": ("mail_max_per_window", _parse_positive_int),
    "SIGMA_EVENT_POLL_INTERVAL_S": ("event_poll_interval_s", _parse_positive_float),
    "SIGMA_WS_SESSION_CACHE_S": ("ws_session_cache_s", _parse_seconds_or_zero),
    "SIGMA_WS_SESSION_SWEEP_S": ("ws_session_sweep_s", _parse_positive_float),
    "SIGMA_INTENT_REPAIR_AGE_S": ("intent_repair_age_s", _parse_positive_float),
    "SIGMA_RECONCILE_INTERVAL_S": ("reconcile_interval_s", _parse_seconds_or_zero),
    "SIGMA_RECONCILE_LEASE_S": ("reconcile_lease_s", _parse_positive_int),
    "SIGMA_GRAPHIQL": ("graphiql", _parse_bool),
    "SIGMA_INTROSPECTION": ("introspection", _parse_bool),
    "SIGMA_EXPOSE_ROUND_TRIPS": ("expose_round_trips", _parse_bool),
    "SIGMA_FAST_EXECUTION": ("fast_execution", _parse_bool),
    "SIGMA_PUBLIC_CACHE_TTL_S": ("public_cache_ttl_s", _parse_seconds_or_zero),
    "SIGMA_PUBLIC_CACHE_ENTRIES": ("public_cache_entries", _parse_positive_int),
    "SIGMA_TRUSTED_DOCUMENTS_ONLY": ("trusted_documents_only", _parse_bool),
    "SIGMA_PERSISTED_CACHE_ENTRIES": ("persisted_cache_entries", _parse_positive_int),
    "SIGMA_PERSISTED_MAX_AGE_S": ("persisted_max_age_s", _parse_positive_int),
    "SIGMA_LOG_FORMAT": ("log_format", _parse_log_format),
    "SIGMA_SLOW_OPERATION_MS": ("slow_operation_ms", _parse_seconds_or_zero),
    "SIGMA_METRICS_TOKEN": ("metrics_token", _parse_metrics_token),
    "SIGMA_METRICS_MAX_OPERATION_NAMES": ("metrics_max_operation_names", _parse_positive_int),
    "SIGMA_NATS_URL": ("nats_url", _parse_nats_url),
    "SIGMA_NATS_SUBJECT_PREFIX": ("nats_subject_prefix", _parse_name),
    "SIGMA_EXPORT_RETENTION_S": ("export_retention_s", _parse_positive_int),
    "SIGMA_EXPORT_MAX_RUNNING": ("export_max_running_per_user", _parse_positive_int),
    "SIGMA_EXPORT_LEASE_S": ("export_lease_s", _parse_positive_float),
    "SIGMA_EXPORT_URL_TTL_S": ("export_url_ttl_s", _parse_positive_int),
    "SIGMA_EXPORT_SCAN_INTERVAL_S": ("export_scan_interval_s", _parse_positive_float),
    "SIGMA_IMPORT_MAX_BYTES": ("import_max_bytes", _parse_positive_int),
    "SIGMA_IMPORT_MAX_ROWS": ("import_max_rows", _parse_positive_int),
    "SIGMA_IMPORT_MAX_COLUMNS": ("import_max_columns", _parse_positive_int),
    "SIGMA_IMPORT_MODE": ("import_mode", _parse_import_mode),
    "SIGMA_IMPORT_CONCURRENCY": ("import_concurrency", _parse_positive_int),
    "SIGMA_API_KEY_TOUCH_S": ("api_key_touch_s", _parse_seconds_or_zero),
}


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Reads SIGMA_* variables; raises SettingsError naming the first bad one."""
    source = os.environ if env is None else env
    values: dict[str, Any] = {}
    for var, (attr, parse) in _FIELDS.items():
        raw = source.get(var)
        if raw is None or raw == "":
            continue
        try:
            values[attr] = parse(raw)
        except ValueError as exc:
            raise SettingsError(f"{var}={raw!r} is invalid: {exc}") from None
    defaults = Settings()
    for attr in _MERGED & values.keys():
        values[attr] = {**getattr(defaults, attr), **values[attr]}
    settings = Settings(**values)
    if settings.is_production:
        if settings.secret_key == _DEV_SECRET or len(settings.secret_key) < 32:
            raise SettingsError("SIGMA_SECRET_KEY is missing or shorter than 32 characters")
        # Production turns GraphiQL and introspection off unless enabled explicitly.
        if "SIGMA_GRAPHIQL" not in source:
            settings = replace(settings, graphiql=False)
        if "SIGMA_INTROSPECTION" not in source:
            settings = replace(settings, introspection=False)
    return settings
