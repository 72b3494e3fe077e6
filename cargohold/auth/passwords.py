"""Password hashing with argon2id (argon2-cffi's defaults: RFC 9106 low-memory profile).

Verification costs tens of milliseconds of CPU by design, so callers on the event loop run
it in a thread (``verify_in_thread``). Unknown users are checked against a dummy hash, so
that the time taken does not tell whether a user exists.
"""

from __future__ import annotations

import asyncio
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MAX_PASSWORD_LENGTH = 1024

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("cargohold: no such user")


def hash_password(password: str) -> str:
    """The argon2id hash (PHC string) to store for ``password``."""
    if not password or len(password) > MAX_PASSWORD_LENGTH:
        raise ValueError(f"a password must have 1 to {MAX_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; with no hash (an account without a
    password), the same work is done against a dummy hash and the answer is False."""
    if not password or len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_in_thread(stored_hash: str | None, password: str) -> bool:
    """``verify_password`` off the event loop."""
    return await asyncio.to_thread(verify_password, stored_hash, password)
