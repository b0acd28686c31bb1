"""`sigma-graphql create-admin --email ...`: the first administrator of a fresh installation.
`sigma-graphql login-attempts --address ...`: login attempts on unknown e-mails from one address.

The password comes from SIGMA_ADMIN_PASSWORD or an interactive prompt (never a command-line
argument: those end up in shell history and `ps`). An existing ADMIN with that e-mail gets the
new password and loses every session (the way back in after a lost admin password).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from datetime import UTC, datetime

from db import login_logs, sessions, users
from db.drivers.handles import Databases
from resolvers.rules.account import email_errors, nama_errors, normalize_email, password_errors
from sigma_graphql.commands.command import Command
from sigma_graphql.core.i18n import use_lang
from sigma_graphql.core.passwords import hash_password
from sigma_graphql.core.settings import Settings

PASSWORD_ENV = "SIGMA_ADMIN_PASSWORD"


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--email", required=True)
    p.add_argument("--nama", default="Administrator", help="display name of a new account")


def _read_password() -> str:
    from_env = os.environ.get(PASSWORD_ENV)
    if from_env:
        return from_env
    first = getpass.getpass("Password for the admin account: ")
    if getpass.getpass("Repeat the password: ") != first:
        raise SystemExit("sigma-graphql: the passwords do not match")
    return first


async def create_or_reset_admin(settings: Settings, email: str, nama: str, password: str) -> str:
    """Returns 'created' or 'reset'; raises ValueError when the e-mail belongs to a non-admin."""
    dbs = Databases.open(settings)
    try:
        existing = await users.find_by_email(dbs.mongo, email)
        password_hash = hash_password(password)
        if existing is not None and not users.is_expired_unverified(existing):
            if existing["role"] != "ADMIN":
                raise ValueError(f"{email} belongs to a {existing['role']} account; not changed")
            await users.set_password_hash(dbs.mongo, existing["_id"], password_hash)
            await users.update_fields(
                dbs.mongo, existing["_id"], {"account_status": "ACTIVE"}, ["expires_at"]
            )
            await sessions.delete_for_user(dbs.mongo, existing["_id"])
            return "reset"
        if existing is not None:  # a stale sign-up holding the address
            await users.delete(dbs.mongo, existing["_id"])
        doc = users.new_user_doc(email=email, password_hash=password_hash, role="ADMIN", nama=nama)
        await users.insert(dbs.mongo, doc)
        return "created"
    finally:
        await dbs.close()


def _run(args: argparse.Namespace, settings: Settings) -> int:
    email = normalize_email(args.email)
    password = _read_password()
    use_lang("en")  # the operator's terminal: the rules' messages in English
    problems = [
        *email_errors(email, ["email"]),
        *nama_errors(args.nama, ["nama"]),
        *password_errors(password, email, ["password"]),
    ]
    if problems:
        for p in problems:
            print(f"sigma-graphql: {'.'.join(p.field or [])}: {p.message}", file=sys.stderr)
        return 2
    try:
        outcome = asyncio.run(create_or_reset_admin(settings, email, args.nama.strip(), password))
    except ValueError as exc:
        print(f"sigma-graphql: {exc}", file=sys.stderr)
        return 1
    if outcome == "created":
        print(f"created ADMIN account {email}")
    else:
        print(f"reset the password of ADMIN account {email}; its sessions have ended")
    return 0


CREATE_ADMIN = Command(
    f"create an ACTIVE ADMIN (password from ${PASSWORD_ENV} or a prompt) or reset its password",
    _configure,
    _run,
)


# ---------------------------------------------------------------- login-attempts


def _month(raw: str) -> int:
    try:
        month = int(raw)
    except ValueError:
        month = 0
    if not (190001 <= month <= 999912 and 1 <= month % 100 <= 12):
        raise argparse.ArgumentTypeError("expected YYYYMM, e.g. 202611")
    return month


def _attempts_configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--address", required=True, help="client address ('unknown' when none)")
    p.add_argument("--month", type=_month, help="UTC month as YYYYMM (default: this month)")
    p.add_argument("--limit", type=int, default=1000, help="newest N attempts (default 1000)")


async def _attempts(
    settings: Settings, address: str, month: int, limit: int
) -> list[login_logs.UnknownAttempt]:
    dbs = Databases.open(settings)
    try:
        return await login_logs.unknown_attempts(dbs.cassandra, address, month, limit)
    finally:
        await dbs.close()


def _attempts_run(args: argparse.Namespace, settings: Settings) -> int:
    month = args.month or login_logs.month_of(datetime.now(UTC))
    found = asyncio.run(_attempts(settings, args.address, month, max(1, args.limit)))
    # Tab-separated, newest first: time, e-mail tried, user agent.
    for attempt in found:
        print(f"{attempt.at.isoformat()}\t{attempt.email}\t{attempt.device_info or ''}")
    return 0


LOGIN_ATTEMPTS = Command(
    "list login attempts naming unknown e-mails from one client address in one month (ADMIN)",
    _attempts_configure,
    _attempts_run,
)
