"""argon2id password hashing; hashes are re-computed on login when parameters change."""

from __future__ import annotations

import asyncio
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP's argon2id minimum (m=19 MiB, t=2, p=1) keeps a login around 20-30 ms on our machines.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# argon2 takes tens of milliseconds of CPU by design: off the event loop, in the thread pool
# (argon2-cffi releases the GIL while hashing).
async def hash_password_async(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(None, hash_password, password)


async def verify_password_async(password_hash: str, password: str) -> bool:
    return await asyncio.get_running_loop().run_in_executor(
        None, verify_password, password_hash, password
    )


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("sigma-dummy-password-for-timing")


async def burn_verify_time(password: str) -> None:
    """Verifies against a dummy hash: an unknown e-mail costs as much as a wrong password."""
    await verify_password_async(_dummy_hash(), password)
