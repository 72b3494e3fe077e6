"""``LdapProvider`` against a real slapd; ``support.slapd`` draws the directory."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from support.ldap_fixtures import slapd_server  # noqa: F401
from support.processes import free_port
from support.slapd import SlapdServer, slapd_settings, user_dn

from cargohold.auth.external import ExternalIdentity
from cargohold.auth.ldap import LdapProvider
from cargohold.errors import IdentityProviderError

DEVELOPERS_ONLY = "(&(uid={username})(memberOf=cn=developers,ou=groups,dc=example,dc=org))"


@pytest.fixture
def provider(slapd_server: SlapdServer) -> LdapProvider:  # noqa: F811
    return LdapProvider(slapd_settings(slapd_server))


async def test_right_password_gives_the_identity_with_email_and_groups(
    provider: LdapProvider,
) -> None:
    assert await provider.authenticate("alice", "alice-pw") == ExternalIdentity(
        provider="ldap",
        subject=user_dn("alice"),
        username="alice",
        email="alice@example.org",
        groups=("admins", "developers"),
    )


async def test_the_username_is_the_directory_s_spelling(provider: LdapProvider) -> None:
    identity = await provider.authenticate("BOB", "bob-pw")
    assert identity is not None
    assert (identity.username, identity.groups) == ("bob", ("developers",))


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "bob-pw"), ("alice", ""), ("nobody", "nobody-pw"), ("", "alice-pw")],
    ids=["wrong-password", "empty-password", "unknown-user", "empty-username"],
)
async def test_refused_logins_give_none(
    provider: LdapProvider, username: str, password: str
) -> None:
    assert await provider.authenticate(username, password) is None


@pytest.mark.parametrize(
    "username", ["*", "al*", "*)(uid=*", "alice)(|(uid=*", "alice\\", "alice\0", "a" * 257]
)
async def test_injected_or_malformed_usernames_match_nobody(
    provider: LdapProvider, username: str
) -> None:
    assert await provider.authenticate(username, "alice-pw") is None
    assert await provider.lookup(username) is None


async def test_a_failed_bind_is_logged_without_the_password(
    provider: LdapProvider, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="cargohold.auth.ldap"):
        assert await provider.authenticate("alice", "not-alice-pw") is None
    assert user_dn("alice") in caplog.text
    assert "not-alice-pw" not in caplog.text


async def test_a_filter_finding_several_entries_refuses(
    slapd_server: SlapdServer,  # noqa: F811
) -> None:
    either = "(|(uid={username})(uid=bob))"
    provider = LdapProvider(slapd_settings(slapd_server, user_filter=either))
    assert await provider.authenticate("alice", "alice-pw") is None


async def test_a_group_in_the_user_filter_excludes_non_members(
    slapd_server: SlapdServer,  # noqa: F811
) -> None:
    provider = LdapProvider(slapd_settings(slapd_server, user_filter=DEVELOPERS_ONLY))
    assert await provider.authenticate("carol", "carol-pw") is None
    assert await provider.lookup("carol") is None
    assert await provider.authenticate("bob", "bob-pw") is not None


async def test_lookup_follows_group_changes(
    slapd_server: SlapdServer,  # noqa: F811
    provider: LdapProvider,
) -> None:
    slapd_server.add_user("dave")
    slapd_server.add_user("erin")
    slapd_server.add_group("release-managers", ["dave", "erin"])
    assert await provider.lookup("dave") == ExternalIdentity(
        provider="ldap",
        subject=user_dn("dave"),
        username="dave",
        email="dave@example.org",
        groups=("release-managers",),
    )
    slapd_server.remove_from_group("release-managers", "dave")
    identity = await provider.lookup("dave")
    assert identity is not None
    assert identity.groups == ()


async def test_groups_lists_every_group_sorted(provider: LdapProvider) -> None:
    names = await provider.groups()
    assert {"admins", "developers"} <= set(names)
    assert names == sorted(names)


async def test_a_refused_service_bind_raises(slapd_server: SlapdServer) -> None:  # noqa: F811
    provider = LdapProvider(slapd_settings(slapd_server, bind_password="not-reader-pw"))
    with pytest.raises(IdentityProviderError, match="service bind"):
        await provider.authenticate("alice", "alice-pw")


async def test_an_unreachable_directory_raises_quickly(
    slapd_server: SlapdServer,  # noqa: F811
) -> None:
    url = f"ldap://127.0.0.1:{free_port()}"
    provider = LdapProvider(slapd_settings(slapd_server, url=url, timeout_seconds=1))
    started = time.monotonic()
    with pytest.raises(IdentityProviderError):
        await provider.authenticate("alice", "alice-pw")
    assert time.monotonic() - started < 2


async def test_a_directory_that_comes_back_is_used_at_once(
    slapd_server: SlapdServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    later = SlapdServer(tmp_path, slapd_server.slapd)
    provider = LdapProvider(slapd_settings(later))
    with pytest.raises(IdentityProviderError):
        await provider.lookup("alice")
    later.start()
    try:
        assert await provider.lookup("alice") is not None
    finally:
        later.stop()


async def test_start_tls_refused_by_the_server_raises_instead_of_binding_in_clear(
    slapd_server: SlapdServer,  # noqa: F811
) -> None:
    provider = LdapProvider(slapd_settings(slapd_server, start_tls=True, tls_verify=False))
    with pytest.raises(IdentityProviderError):
        await provider.authenticate("alice", "alice-pw")
