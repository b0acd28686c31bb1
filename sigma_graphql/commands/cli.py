"""The `sigma-graphql` command. Every subcommand is listed in COMMANDS below (the whole table in
one place: a new command is one entry here and its module beside this one)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
from pathlib import Path

import uvicorn

from db.maintenance.migrations import migrate_all
from db.maintenance.seed import run_seed
from schema.build import export_sdl
from sigma_graphql.commands import admin, cluster, maintenance, trusted_documents
from sigma_graphql.commands.command import Command, no_arguments
from sigma_graphql.commands.exports import CLEAN_EXPORTS
from sigma_graphql.core.settings import Settings, SettingsError, load_settings
from sigma_graphql.observability import metrics


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    host = args.host or settings.host
    port = args.port or settings.port
    print(f"sigma-graphql: serving on http://{host}:{port}/graphql ({settings.environment})")
    _metrics_dir(args.workers)
    # uvloop + httptools (from uvicorn[standard]) and no access log: the cheapest event loop and
    # HTTP parser, and no per-request log line (bench/README.md).
    uvicorn.run(
        "sigma_graphql.server.asgi:app",
        host=host,
        port=port,
        workers=args.workers,
        loop="uvloop",
        http="httptools",
        log_level=args.log_level,
        access_log=False,
        proxy_headers=False,
    )
    return 0


def _metrics_dir(workers: int) -> None:
    """Several workers share their metrics through files (sigma_graphql/observability/metrics.py):
    the directory must be set before a worker imports prometheus-client (workers are new
    interpreters that inherit this environment) and empty at start."""
    path = os.environ.get(metrics.MULTIPROC_ENV)
    if not path and workers > 1:
        path = os.environ[metrics.MULTIPROC_ENV] = tempfile.mkdtemp(prefix="sigma-metrics-")
    if path:
        metrics.prepare_multiprocess_dir(path)


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    del args
    asyncio.run(migrate_all(settings))
    print(f"migrated keyspace {settings.cassandra_keyspace} and database {settings.mongo_db}")
    return 0


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output", "-o", default="schema/schema.graphql")


def _export(args: argparse.Namespace, settings: Settings) -> int:
    del settings
    Path(args.output).write_text(export_sdl(), encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


def _seed_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--demo", action="store_true", help="the deterministic demo dataset")
    p.add_argument(
        "--synthetic",
        type=int,
        default=0,
        metavar="N",
        help="N generated UMKMs with 24 months each across all 38 provinces",
    )
    p.add_argument("--if-empty", action="store_true", help="do nothing if users exist already")


def _seed(args: argparse.Namespace, settings: Settings) -> int:
    return asyncio.run(
        run_seed(settings, demo=args.demo, synthetic=args.synthetic, if_empty=args.if_empty)
    )


COMMANDS: dict[str, Command] = {
    "serve": Command("run the HTTP server", _serve_args, _serve),
    "migrate": Command(
        "create/upgrade the Cassandra keyspace and Mongo indexes", no_arguments, _migrate
    ),
    "seed": Command("load demo and/or synthetic data", _seed_args, _seed),
    "export-schema": Command("write the served schema as SDL", _export_args, _export),
    "rebuild-aggregates": maintenance.REBUILD_AGGREGATES,
    "repair-verification": maintenance.REPAIR_VERIFICATION,
    "create-admin": admin.CREATE_ADMIN,
    "login-attempts": admin.LOGIN_ATTEMPTS,
    "trust-documents": trusted_documents.TRUST_DOCUMENTS,
    "run-cluster": cluster.RUN_CLUSTER,
    "clean-exports": CLEAN_EXPORTS,
}


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser(prog="sigma-graphql")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, command in sorted(COMMANDS.items()):
        command.configure(sub.add_parser(name, help=command.help))
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"sigma-graphql: configuration error: {exc}", file=sys.stderr)
        return 2
    return COMMANDS[args.command].run(args, settings)


if __name__ == "__main__":
    sys.exit(main())
