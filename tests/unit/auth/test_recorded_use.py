"""When a login and a token's use are written down: once a minute at most, per account and
token, on both databases."""

from __future__ import annotations

from datetime import datetime
from time import monotonic

import pytest

import cargohold.expiring_cache
from cargohold.auth.accounts import USE_RECORDED_EVERY_SECONDS
from cargohold.auth.secrets import TokenKind
from cargohold.auth.services import AuthServices


async def _last_used(auth: AuthServices, name: str) -> tuple[datetime | None, ...]:
    """The account's last login, then each of its CLI tokens' last use."""
    account = await auth.accounts.find(name)
    assert account is not None
    tokens = await auth.accounts.list_tokens(account.id, TokenKind.CLI)
    return (account.last_login_at, *(token.last_used_at for token in tokens))


async def test_a_login_is_recorded_at_most_once_a_minute_per_token(
    auth: AuthServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    account_id = await auth.accounts.create_user("bob")
    laptop = await auth.accounts.create_token(account_id, TokenKind.CLI, "laptop")
    ci = await auth.accounts.create_token(account_id, TokenKind.CLI, "ci")
    assert await _last_used(auth, "bob") == (None, None, None)

    assert await auth.accounts.authenticate("bob", laptop.text) is not None
    login, laptop_used, ci_used = await _last_used(auth, "bob")
    assert login is not None and laptop_used is not None and ci_used is None

    assert await auth.accounts.authenticate("bob", laptop.text) is not None
    assert await _last_used(auth, "bob") == (login, laptop_used, None)

    assert await auth.accounts.authenticate("bob", ci.text) is not None  # its own minute
    later_login, _, ci_used = await _last_used(auth, "bob")
    assert ci_used is not None and later_login is not None and later_login > login

    start = monotonic()
    monkeypatch.setattr(
        cargohold.expiring_cache, "monotonic", lambda: start + USE_RECORDED_EVERY_SECONDS + 1
    )
    assert await auth.accounts.authenticate("bob", laptop.text) is not None
    _, laptop_used_again, _ = await _last_used(auth, "bob")
    assert laptop_used_again is not None and laptop_used_again > laptop_used


async def test_a_failed_login_records_nothing(auth: AuthServices) -> None:
    account_id = await auth.accounts.create_user("bob")
    token = await auth.accounts.create_token(account_id, TokenKind.CLI, "laptop")
    assert await auth.accounts.authenticate("bob", token.text + "x") is None
    assert await auth.accounts.authenticate("alice", token.text) is None
    assert await _last_used(auth, "bob") == (None, None)
