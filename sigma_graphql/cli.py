"""The `sigma-graphql` command: serve, migrate, seed, export-schema and maintenance commands.

Domain modules add subcommands with `register_command(name, help, configure, run)` so this file
does not grow with every feature.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Callable
from pathlib import Path

from sigma_graphql.settings import Settings, SettingsError, load_settings

Configure = Callable[[argparse.ArgumentParser], None]
Run = Callable[[argparse.Namespace, Settings], int]
_COMMANDS: dict[str, tuple[str, Configure, Run]] = {}


def register_command(name: str, help_text: str, configure: Configure, run: Run) -> None:
    _COMMANDS[name] = (help_text, configure, run)


def _serve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    host = args.host or settings.host
    port = args.port or settings.port
    print(f"sigma-graphql: serving on http://{host}:{port}/graphql ({settings.environment})")
    # uvloop + httptools (from uvicorn[standard]) and no access log: the cheapest event loop and
    # HTTP parser, and no per-request log line (bench notes §5.6).
    uvicorn.run(
        "sigma_graphql.asgi:app",
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


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    from db.migrations import migrate_all

    asyncio.run(migrate_all(settings))
    print(f"migrated keyspace {settings.cassandra_keyspace} and database {settings.mongo_db}")
    return 0


def _export_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output", "-o", default="schema/schema.graphql")


def _export(args: argparse.Namespace, settings: Settings) -> int:
    from schema.build import export_sdl

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
    from db.seed import run_seed

    return asyncio.run(
        run_seed(settings, demo=args.demo, synthetic=args.synthetic, if_empty=args.if_empty)
    )


register_command("serve", "run the HTTP server", _serve_args, _serve)
register_command(
    "migrate", "create/upgrade the Cassandra keyspace and Mongo indexes", lambda p: None, _migrate
)
register_command("seed", "load demo and/or synthetic data", _seed_args, _seed)
register_command("export-schema", "write the served schema as SDL", _export_args, _export)


def _load_plugins() -> None:
    # Domain modules that register maintenance commands.
    import importlib

    for module in ("sigma_graphql.admin_cli", "db.rebuild", "db.verification_repair"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    _load_plugins()
    parser = argparse.ArgumentParser(prog="sigma-graphql")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, configure, _) in sorted(_COMMANDS.items()):
        configure(sub.add_parser(name, help=help_text))
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"sigma-graphql: configuration error: {exc}", file=sys.stderr)
        return 2
    return _COMMANDS[args.command][2](args, settings)


if __name__ == "__main__":
    # `python -m sigma_graphql.cli` runs this file as __main__, a second copy of the module;
    # plugins register into sigma_graphql.cli, so run that copy's main.
    from sigma_graphql import cli

    sys.exit(cli.main())
