"""Sign-up, e-mail verification, login/logout, password flows, `me` and login history."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

import strawberry
from pymongo.errors import DuplicateKeyError

from db import login_guard, login_logs, mail_throttle, sessions, temp_tokens, users
from db.drivers.mongo import MongoDoc
from loaders.users import user_by_id
from resolvers.common import parse_id, user_error
from resolvers.rules.account import (
    PASSWORD_MAX,
    email_errors,
    email_usable,
    nama_errors,
    nik_errors,
    normalize_email,
    normalize_phone,
    password_errors,
    phone_errors,
)
from schema.types.common import OkPayload, UserError
from schema.types.enums import UserErrorCode
from schema.types.pagination import check_first
from schema.types.users import (
    ChangePasswordInput,
    LoginEvent,
    LoginInput,
    LoginPayload,
    RegisterInput,
    RegisterPayload,
    ResetPasswordInput,
    User,
    load_user,
    user_from_doc,
)
from sigma_graphql.core import errors
from sigma_graphql.core import input_limits as limits
from sigma_graphql.core.clock import now_utc
from sigma_graphql.core.i18n import t
from sigma_graphql.core.passwords import (
    burn_verify_time,
    hash_password_async,
    needs_rehash,
    verify_password_async,
)
from sigma_graphql.core.viewer import Audience, Viewer
from sigma_graphql.observability import metrics
from sigma_graphql.request import mailer
from sigma_graphql.request.context import Context, Info
from sigma_graphql.request.session_cookie import clear_session_cookie, set_session_cookie

log = logging.getLogger(__name__)


_warned_no_address = False


def _warn_no_address() -> None:
    """Once per process: logins without a client address share one limit (db/login_guard.py)."""
    global _warned_no_address
    if not _warned_no_address:
        _warned_no_address = True
        log.warning(
            "login without a client address: such requests share the address limit %r; "
            "behind a proxy, set SIGMA_TRUSTED_PROXY_HEADER",
            login_guard.UNKNOWN_ADDRESS,
        )


def _ok() -> OkPayload:
    return OkPayload(ok=True, user_errors=[])


def self_viewer(doc: MongoDoc) -> Viewer:
    """The account itself as viewer (what a user just registered or signed in may see)."""
    return Viewer(audience=Audience(doc["role"]), user_id=doc["_id"], email=doc.get("email"))


def _failed(errs: list[UserError]) -> OkPayload:
    return OkPayload(ok=False, user_errors=errs)


def _token_error(state: temp_tokens.TokenState, path: list[str]) -> UserError:
    if state is temp_tokens.TokenState.EXPIRED:
        return user_error(path, "auth.token_expired", UserErrorCode.EXPIRED)
    return user_error(path, "auth.token_unknown", UserErrorCode.NOT_FOUND)


# ---------------------------------------------------------------- mail


@dataclass(frozen=True)
class LinkMail:
    """A mail carrying a single-use link: token purpose, front-end path, message keys."""

    purpose: str
    path: str
    subject_key: str
    body_key: str


VERIFY_MAIL = LinkMail(
    temp_tokens.VERIFY_EMAIL, "verify-email", "auth.mail_verify_subject", "auth.mail_verify_body"
)
RESET_MAIL = LinkMail(
    temp_tokens.RESET_PASSWORD, "reset-password", "auth.mail_reset_subject", "auth.mail_reset_body"
)


async def _mail_link(ctx: Context, doc: MongoDoc, kind: LinkMail) -> None:
    token = await temp_tokens.issue(ctx.cassandra, doc["_id"], kind.purpose)
    await _send_link(ctx, doc, kind, token)


async def _send_link(ctx: Context, doc: MongoDoc, kind: LinkMail, token: str) -> None:
    link = mailer.link(ctx.settings, kind.path, token)
    await mailer.send(
        ctx.settings,
        doc["email"],
        t(kind.subject_key),
        t(kind.body_key, nama=doc.get("nama") or "", link=link),
    )


# ---------------------------------------------------------------- queries


async def me(info: Info) -> User | None:
    ctx = info.context
    return await load_user(ctx, ctx.viewer.user_id)


async def login_history(
    info: Info, user_id: strawberry.ID | None, first: int | None
) -> list[LoginEvent]:
    ctx = info.context
    viewer = ctx.viewer
    limit = check_first(first)
    target = viewer.user_id
    if user_id is not None:
        wanted = parse_id(user_id)
        if wanted != viewer.user_id:
            if not viewer.is_admin:
                raise errors.forbidden(t("forbidden"))
            if wanted is None:
                raise errors.bad_input(t("invalid"), argument="userId")
            target = wanted
    assert target is not None  # guarded by ROOT_ACCESS: signed-in viewers only
    # The account's creation month bounds the walk back through the monthly partitions; a
    # deleted account's logs are read back to the retention horizon.
    account = await ctx.loaders.get(user_by_id).load(target)
    since = account.get("created_at") if account else None
    logs = await login_logs.newest(ctx.cassandra, target, limit, since)
    return [
        LoginEvent(at=e.at, success=e.success, ip_address=e.ip_address, device_info=e.device_info)
        for e in logs
    ]


# ---------------------------------------------------------------- sign-up


async def register(info: Info, input: RegisterInput) -> RegisterPayload:
    ctx = info.context
    email = normalize_email(input.email)
    email_lower = email.lower()
    nik = input.nik.strip()
    email_errs = email_errors(input.email, ["input", "email"])
    nik_errs = nik_errors(input.nik, ["input", "nik"])
    errs = [
        *nama_errors(input.nama_lengkap, ["input", "namaLengkap"]),
        *nik_errs,
        *email_errs,
        *phone_errors(input.telepon, ["input", "telepon"]),
        *password_errors(input.password, email, ["input", "password"]),
    ]
    if input.password != input.password_confirm:
        errs.append(
            user_error(
                ["input", "passwordConfirm"], "auth.password_mismatch", UserErrorCode.MISMATCH
            )
        )
    # Uniqueness only for well-formed values; stale (expired, unverified) sign-ups do not count.
    now = now_utc()
    stale: list[MongoDoc] = []
    conflicts = await users.find_conflicts(
        ctx.mongo, None if email_errs else email_lower, None if nik_errs else nik
    )
    for doc in conflicts:
        if users.is_expired_unverified(doc, now):
            stale.append(doc)
            continue
        if not email_errs and doc.get("email_lower") == email_lower:
            errs.append(user_error(["input", "email"], "auth.email_taken", UserErrorCode.TAKEN))
        if not nik_errs and doc.get("nik") == nik:
            errs.append(user_error(["input", "nik"], "auth.nik_taken", UserErrorCode.TAKEN))
    if errs:
        return RegisterPayload(user=None, user_errors=errs)

    for doc in stale:
        await users.delete_if_expired_unverified(ctx.mongo, doc["_id"], now)
    doc = users.new_user_doc(
        email=email,
        password_hash=await hash_password_async(input.password),
        role="UMKM_OWNER",
        nama=input.nama_lengkap.strip(),
        account_status="UNVERIFIED",
        nik=nik,
        telepon=normalize_phone(input.telepon),
        expires_at=now + timedelta(seconds=ctx.settings.unverified_account_ttl_s),
    )
    try:
        await users.insert(ctx.mongo, doc)
    except DuplicateKeyError as exc:  # a concurrent sign-up won the race
        return RegisterPayload(user=None, user_errors=[_duplicate_error(exc)])
    # The token is stored before answering (a Cassandra outage shows as an error; the account
    # can ask for a new link later); the SMTP conversation happens after the response.
    token = await temp_tokens.issue(ctx.cassandra, doc["_id"], VERIFY_MAIL.purpose)
    mailer.send_later(_send_link(ctx, doc, VERIFY_MAIL, token))
    return RegisterPayload(user=user_from_doc(doc, self_viewer(doc)), user_errors=[])


def _duplicate_error(exc: DuplicateKeyError) -> UserError:
    if "nik" in str(exc):
        return user_error(["input", "nik"], "auth.nik_taken", UserErrorCode.TAKEN)
    return user_error(["input", "email"], "auth.email_taken", UserErrorCode.TAKEN)


def _token_usable(token: str) -> bool:
    return limits.text_problem(token, limits.TOKEN) is None


async def verify_email(info: Info, token: str) -> OkPayload:
    ctx = info.context
    if not _token_usable(token):
        return _failed([_token_error(temp_tokens.TokenState.UNKNOWN, ["token"])])
    checked = await temp_tokens.check(ctx.cassandra, token, temp_tokens.VERIFY_EMAIL)
    if checked.state is not temp_tokens.TokenState.VALID:
        return _failed([_token_error(checked.state, ["token"])])
    if not await temp_tokens.consume(ctx.cassandra, checked):
        return _failed([_token_error(temp_tokens.TokenState.UNKNOWN, ["token"])])
    assert checked.user_id is not None
    doc = await users.find_by_id(ctx.mongo, checked.user_id)
    now = now_utc()
    if doc is None or users.is_expired_unverified(doc, now):
        return _failed([_token_error(temp_tokens.TokenState.UNKNOWN, ["token"])])
    if doc["account_status"] == "UNVERIFIED":
        await users.activate(ctx.mongo, doc["_id"], now)
    return _ok()


async def _mail_allowed(ctx: Context, email: str) -> bool:
    """The per-recipient throttle (db/mail_throttle.py): counted per address given, known or
    not, so deciding before the response tells nothing about accounts."""
    return await mail_throttle.allow(ctx.cassandra, normalize_email(email).lower())


async def resend_verification_email(info: Info, email: str) -> OkPayload:
    ctx = info.context
    # An address no account can have gets the usual answer without a database call.
    if not email_usable(email) or not await _mail_allowed(ctx, email):
        return _ok()  # the same answer: the mail just does not go out

    async def job() -> None:
        doc = await users.find_by_email(ctx.mongo, email)
        if (
            doc is not None
            and doc["account_status"] == "UNVERIFIED"
            and not users.is_expired_unverified(doc)
        ):
            await _mail_link(ctx, doc, VERIFY_MAIL)

    # After the response, so neither the answer nor its timing says whether the account exists.
    mailer.send_later(job())
    return _ok()


# ---------------------------------------------------------------- sessions


async def login(info: Info, input: LoginInput) -> LoginPayload:
    ctx = info.context
    address = ctx.client_address
    device = ctx.request.headers.get("user-agent")
    if not email_usable(input.email) or len(input.password) > PASSWORD_MAX:
        # No account has such an e-mail or password: the usual failure, no database call.
        metrics.LOGIN_FAILURES.inc()
        return LoginPayload(
            user=None,
            token=None,
            expires_at=None,
            user_errors=[user_error(None, "auth.login_failed", UserErrorCode.INVALID)],
        )
    if address is None:
        _warn_no_address()
    attempt = login_guard.Attempt.of(normalize_email(input.email).lower(), address)
    allowed, doc = await asyncio.gather(
        login_guard.begin(ctx.cassandra, attempt),
        users.find_by_email(ctx.mongo, input.email, with_hash=True),
    )
    if doc is not None and users.is_expired_unverified(doc):
        doc = None  # an expired sign-up does not exist any more

    async def audit(success: bool, *, checked: bool = True) -> None:
        if doc is not None:
            await login_logs.record(
                ctx.cassandra, doc["_id"], success=success, ip_address=address, device_info=device
            )
        elif checked:
            # Refused attempts (address or account limit) test no password and are not kept:
            # one address can then add at most login_max_failures rows per window.
            await login_logs.record_unknown(
                ctx.cassandra,
                email=attempt.email_lower,
                ip_address=attempt.address,
                device_info=device,
            )

    def refused(key: str, code: UserErrorCode) -> LoginPayload:
        return LoginPayload(
            user=None, token=None, expires_at=None, user_errors=[user_error(None, key, code)]
        )

    if not allowed:
        metrics.LOGIN_LOCKOUTS.inc()
        if await login_guard.audit_refusal(ctx.cassandra, attempt):
            await audit(False, checked=False)
        return refused("auth.rate_limited", UserErrorCode.RATE_LIMITED)
    if doc is None:
        await burn_verify_time(input.password)
        password_ok = False
    else:
        password_ok = await verify_password_async(doc["password_hash"], input.password)
    if doc is None or not password_ok or doc["account_status"] != "ACTIVE":
        metrics.LOGIN_FAILURES.inc()
        await audit(False)  # the attempt stays counted as a failure (login_guard.begin)
        return refused("auth.login_failed", UserErrorCode.INVALID)

    if needs_rehash(doc["password_hash"]):
        await users.set_password_hash(
            ctx.mongo, doc["_id"], await hash_password_async(input.password)
        )
    (token, expires_at), _, _ = await asyncio.gather(
        sessions.create(
            ctx.mongo,
            doc["_id"],
            ctx.settings.session_ttl_s,
            user_agent=device,
            ip_address=address,
        ),
        login_guard.forget(ctx.cassandra, attempt),
        audit(True),
    )
    set_session_cookie(ctx.response, ctx.settings, token)
    doc.pop("password_hash", None)
    return LoginPayload(
        user=user_from_doc(doc, self_viewer(doc)),
        token=token,
        expires_at=expires_at,
        user_errors=[],
    )


async def logout(info: Info) -> OkPayload:
    ctx = info.context
    if ctx.viewer.session_id is not None:
        await sessions.delete(ctx.mongo, ctx.viewer.session_id)
    clear_session_cookie(ctx.response, ctx.settings)
    return _ok()


# ---------------------------------------------------------------- passwords


async def change_password(info: Info, input: ChangePasswordInput) -> OkPayload:
    ctx = info.context
    assert ctx.viewer.user_id is not None  # ROOT_ACCESS: signed-in viewers only
    doc = await users.find_by_id(ctx.mongo, ctx.viewer.user_id, with_hash=True)
    if doc is None:
        raise errors.unauthenticated(t("unauthenticated"))
    errs = password_errors(input.new_password, doc["email"], ["input", "newPassword"])
    if not await verify_password_async(doc["password_hash"], input.current_password):
        errs.insert(
            0,
            user_error(
                ["input", "currentPassword"],
                "auth.current_password_wrong",
                UserErrorCode.INVALID,
            ),
        )
    if errs:
        return _failed(errs)
    await users.set_password_hash(
        ctx.mongo, doc["_id"], await hash_password_async(input.new_password)
    )
    # Whoever else holds a session (a stolen token, another device) is signed out.
    await sessions.delete_for_user_except(ctx.mongo, doc["_id"], ctx.viewer.session_id)
    return _ok()


async def request_password_reset(info: Info, email: str) -> OkPayload:
    ctx = info.context
    if not email_usable(email) or not await _mail_allowed(ctx, email):
        return _ok()  # the same answer: the mail just does not go out

    async def job() -> None:
        doc = await users.find_by_email(ctx.mongo, email)
        if doc is not None and doc["account_status"] == "ACTIVE":
            await _mail_link(ctx, doc, RESET_MAIL)

    # After the response, so neither the answer nor its timing says whether the account exists.
    mailer.send_later(job())
    return _ok()


async def reset_password(info: Info, input: ResetPasswordInput) -> OkPayload:
    ctx = info.context
    path = ["input", "token"]
    if not _token_usable(input.token):
        return _failed([_token_error(temp_tokens.TokenState.UNKNOWN, path)])
    checked = await temp_tokens.check(ctx.cassandra, input.token, temp_tokens.RESET_PASSWORD)
    if checked.state is not temp_tokens.TokenState.VALID:
        return _failed([_token_error(checked.state, path)])
    assert checked.user_id is not None
    doc = await users.find_by_id(ctx.mongo, checked.user_id)
    if doc is None:
        return _failed([_token_error(temp_tokens.TokenState.UNKNOWN, path)])
    # Validate before using the token up: a weak password must not burn the link.
    errs = password_errors(input.new_password, doc["email"], ["input", "newPassword"])
    if errs:
        return _failed(errs)
    if not await temp_tokens.consume(ctx.cassandra, checked):
        return _failed([_token_error(temp_tokens.TokenState.UNKNOWN, path)])
    await users.set_password_hash(
        ctx.mongo, doc["_id"], await hash_password_async(input.new_password)
    )
    await sessions.delete_for_user(ctx.mongo, doc["_id"])
    return _ok()
