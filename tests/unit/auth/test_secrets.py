"""Passwords (argon2id), login tokens (stored as SHA-256) and scope parsing."""

from __future__ import annotations

import pytest

from cargohold.auth.headers import basic_credentials, bearer_challenge, bearer_token
from cargohold.auth.passwords import hash_password, verify_password
from cargohold.auth.scopes import DELETE, PULL, PUSH, Role, actions_of, parse_scope, parse_scopes
from cargohold.auth.secrets import TokenKind, hash_secret, new_token, parse_token, secret_matches
from cargohold.errors import Unauthorized


def test_password_hash_is_argon2id_and_verifies() -> None:
    stored = hash_password("correct horse")
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "correct horsE")
    assert not verify_password(stored, "")


def test_account_without_password_never_verifies() -> None:
    assert not verify_password(None, "anything")
    assert not verify_password("not a hash", "anything")


def test_empty_and_huge_passwords_are_refused() -> None:
    with pytest.raises(ValueError, match="1 to 1024"):
        hash_password("")
    with pytest.raises(ValueError):
        hash_password("x" * 1025)


@pytest.mark.parametrize("kind", list(TokenKind))
def test_token_round_trip(kind: TokenKind) -> None:
    token = new_token(kind)
    presented = parse_token(token.text)
    assert presented is not None
    assert presented.kind == kind
    assert presented.lookup == token.lookup
    assert secret_matches(presented.secret, token.secret_hash)
    assert token.secret_hash == hash_secret(presented.secret)
    assert presented.secret not in token.secret_hash


def test_tokens_are_unique_and_tampering_fails() -> None:
    first, second = new_token(TokenKind.CLI), new_token(TokenKind.CLI)
    assert first.text != second.text and first.lookup != second.lookup
    presented = parse_token(first.text)
    assert presented is not None
    flipped = presented.secret[:-1] + ("A" if presented.secret[-1] != "A" else "B")
    assert not secret_matches(flipped, first.secret_hash)
    assert not secret_matches(presented.secret, second.secret_hash)


@pytest.mark.parametrize(
    "text", ["", "password", "chx_0123456789abcdef" + "a" * 43, "chc_0123" + "a" * 43, "chc_"]
)
def test_passwords_are_not_tokens(text: str) -> None:
    assert parse_token(text) is None


def test_scope_parsing() -> None:
    scope = parse_scope("repository:acme/app:pull,push")
    assert (scope.type, scope.name, scope.actions) == ("repository", "acme/app", {PULL, PUSH})
    assert parse_scope("repository(plugin):x:pull").type == "repository"
    assert parse_scope("registry:catalog:*").actions == {"*"}
    scopes = parse_scopes(["repository:a:pull repository:b:push", "registry:catalog:*"])
    assert [s.name for s in scopes] == ["a", "b", "catalog"]


@pytest.mark.parametrize("text", ["repository", "repository:name", ":name:pull", "x::pull"])
def test_malformed_scopes_are_refused(text: str) -> None:
    with pytest.raises(Unauthorized, match="malformed scope"):
        parse_scope(text)


def test_roles_grant_actions() -> None:
    assert actions_of(None) == frozenset()
    assert actions_of(Role.READ) == {PULL}
    assert actions_of(Role.WRITE) == {PULL, PUSH, DELETE}
    assert actions_of(Role.ADMIN) == {PULL, PUSH, DELETE}
    assert Role.parse("admin") is Role.ADMIN
    with pytest.raises(ValueError):
        Role.parse("owner")


def test_authorization_headers() -> None:
    assert basic_credentials("Basic YWxpY2U6cHc6d2l0aDpjb2xvbnM=") == ("alice", "pw:with:colons")
    assert basic_credentials("Basic !!!") is None
    assert basic_credentials("Basic bm9jb2xvbg==") is None
    assert basic_credentials("Bearer abc") is None
    assert bearer_token("Bearer abc") == "abc"
    assert bearer_token("Basic abc") is None
    assert bearer_token("Bearer ") is None
    assert bearer_challenge("http://r/v2/auth", "svc", "repository:a:pull", "invalid_token") == (
        'Bearer realm="http://r/v2/auth",service="svc",scope="repository:a:pull",'
        'error="invalid_token"'
    )


def test_token_secrets_are_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every comparison of a presented secret goes through ``hmac.compare_digest``."""
    import hmac

    from cargohold.auth import secrets as module

    calls: list[tuple[str, str]] = []
    compare = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        calls.append((a, b))
        return compare(a, b)

    monkeypatch.setattr(module.hmac, "compare_digest", spy)
    token = new_token(TokenKind.ROBOT)
    presented = parse_token(token.text)
    assert presented is not None
    assert secret_matches(presented.secret, token.secret_hash)
    assert calls == [(hash_secret(presented.secret), token.secret_hash)]
