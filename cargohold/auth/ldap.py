"""Logging in against an organization's LDAP directory: search, then bind.

The service account (``bind_dn``, or an anonymous bind when it is unset) searches
``user_base`` with ``user_filter`` for exactly one entry; cargohold then binds as that
entry's DN with the password the person typed. Groups are the entries under
``group_base`` that ``group_filter`` finds, named by ``group_name_attribute``.

ldap3 blocks, so each operation runs in a worker thread on fresh connections, bounded by
``timeout_seconds`` to connect and (rounded up to whole seconds) to wait for each answer.
Every ldap3 error becomes an ``IdentityProviderError`` at this module's boundary;
passwords are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import ssl
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from cargohold.auth.external import ExternalIdentity
from cargohold.config import LdapSettings
from cargohold.errors import ConfigError, IdentityProviderError

with warnings.catch_warnings():
    # ldap3 2.9.1, its latest release, imports pyasn1's deprecated tagMap and typeMap; the
    # fix is merged upstream but unreleased (cannatag/ldap3#1159).
    warnings.filterwarnings("ignore", r"(tagMap|typeMap) is deprecated", DeprecationWarning)
    import ldap3  # type: ignore[import-untyped]
    from ldap3.core.exceptions import LDAPException  # type: ignore[import-untyped]
    from ldap3.core.results import (  # type: ignore[import-untyped]
        RESULT_SIZE_LIMIT_EXCEEDED,
        RESULT_SUCCESS,
    )
    from ldap3.utils.conv import escape_filter_chars  # type: ignore[import-untyped]

log = logging.getLogger(__name__)

MAX_USERNAME_LENGTH = 256
GROUP_CLASSES_FILTER = (
    "(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames)"
    "(objectClass=posixGroup)(objectClass=group))"
)

Entry = dict[str, Any]
P = ParamSpec("P")
T = TypeVar("T")


class LdapProvider:
    """One LDAP directory, as ``settings`` describe it.

    Raises ``ConfigError`` at construction when the URL or the TLS settings are unusable.
    """

    def __init__(self, settings: LdapSettings) -> None:
        self._settings = settings
        self._new_server = _server_factory(settings)

    async def authenticate(self, username: str, password: str) -> ExternalIdentity | None:
        """The identity of ``username`` if ``password`` is theirs, else None.

        None when the user does not exist, the password is wrong or empty (an empty
        password would be an unauthenticated bind, which many directories accept), or the
        user filter finds more than one entry. Raises ``IdentityProviderError`` when the
        directory cannot be reached or refuses the service bind.
        """
        if not password or not _acceptable(username):
            return None
        return await self._in_thread(self._authenticate, username, password)

    async def lookup(self, username: str) -> ExternalIdentity | None:
        """The current identity and groups of ``username``, or None when the filter does
        not find exactly one entry; no password needed (for team sync). Raises as
        ``authenticate`` does."""
        if not _acceptable(username):
            return None
        return await self._in_thread(self._lookup, username)

    async def groups(self) -> list[str]:
        """The sorted names of every group under ``group_base`` ([] when it is unset)."""
        return await self._in_thread(self._all_groups)

    async def _in_thread(self, operation: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await asyncio.to_thread(operation, *args, **kwargs)
        except LDAPException as exc:
            raise IdentityProviderError(f"LDAP directory {self._settings.url}: {exc}") from exc

    def _authenticate(self, username: str, password: str) -> ExternalIdentity | None:
        with self._service() as service:
            entry = self._find_user(service, username)
            if entry is None or not self._password_accepted(entry["dn"], password):
                return None
            return self._identity(service, entry, username)

    def _lookup(self, username: str) -> ExternalIdentity | None:
        with self._service() as service:
            entry = self._find_user(service, username)
            return None if entry is None else self._identity(service, entry, username)

    def _all_groups(self) -> list[str]:
        with self._service() as service:
            return self._group_names(service, GROUP_CLASSES_FILTER)

    @contextmanager
    def _connection(self, dn: str | None, password: str | None) -> Iterator[Any]:
        """A connection that tried to bind as ``dn``; ``.bound`` says whether it did."""
        conn = ldap3.Connection(
            self._new_server(),
            user=dn,
            password=password,
            read_only=True,
            # Active Directory refers root searches to DNS zones clients often cannot reach.
            auto_referrals=False,
            # ldap3 packs it into SO_RCVTIMEO as whole seconds; a float fails there.
            receive_timeout=math.ceil(self._settings.timeout_seconds),
        )
        try:
            conn.open(read_server_info=False)
            if self._settings.start_tls:
                conn.start_tls(read_server_info=False)
            conn.bind(read_server_info=False)
            yield conn
        finally:
            conn.unbind()

    @contextmanager
    def _service(self) -> Iterator[Any]:
        """A connection bound as the service account; raises when the bind is refused."""
        dn, secret = self._settings.bind_dn, self._settings.bind_password
        with self._connection(dn, secret.get_secret_value() if secret else None) as conn:
            if not conn.bound:
                raise IdentityProviderError(
                    f"LDAP directory {self._settings.url} refused the service bind as "
                    f"{dn or 'anonymous'}: {conn.result['description']}"
                )
            yield conn

    def _password_accepted(self, dn: str, password: str) -> bool:
        with self._connection(dn, password) as conn:
            if not conn.bound:
                log.info("LDAP bind as %s refused: %s", dn, conn.result["description"])
            return bool(conn.bound)

    def _find_user(self, conn: Any, username: str) -> Entry | None:
        """The one entry the user filter finds for ``username``, or None."""
        settings = self._settings
        found = _search(
            conn,
            settings.user_base,
            _fill(settings.user_filter, username=username),
            [settings.username_attribute, settings.email_attribute],
            size_limit=2,
        )
        if len(found) > 1:
            log.info("LDAP user filter finds several entries for %r; refusing", username)
        return found[0] if len(found) == 1 else None

    def _identity(self, conn: Any, entry: Entry, login: str) -> ExternalIdentity:
        attributes = entry["attributes"]
        username = _first(attributes.get(self._settings.username_attribute)) or login
        member_filter = _fill(self._settings.group_filter, dn=entry["dn"], username=username)
        return ExternalIdentity(
            provider="ldap",
            subject=entry["dn"],
            username=username,
            email=_first(attributes.get(self._settings.email_attribute)),
            groups=tuple(self._group_names(conn, member_filter)),
        )

    def _group_names(self, conn: Any, search_filter: str) -> list[str]:
        base, attribute = self._settings.group_base, self._settings.group_name_attribute
        if base is None:
            return []
        found = _search(conn, base, search_filter, [attribute])
        return sorted(
            {name for entry in found if (name := _first(entry["attributes"].get(attribute)))}
        )


def _server_factory(settings: LdapSettings) -> Callable[[], Any]:
    """Makes an ldap3 ``Server`` per connection: a shared one would remember a failed
    address and refuse to retry it for seconds. Raises ``ConfigError`` for unusable
    settings."""
    url = urlsplit(settings.url)
    if url.scheme not in ("ldap", "ldaps") or not url.hostname:
        raise ConfigError(
            f"LDAP url must be ldap://HOST[:PORT] or ldaps://HOST[:PORT]: {settings.url}"
        )
    secure = url.scheme == "ldaps"
    try:
        port = url.port or (636 if secure else 389)
        tls = _tls(settings) if secure or settings.start_tls else None
    except (LDAPException, ValueError) as exc:
        raise ConfigError(f"LDAP settings for {settings.url} cannot be used: {exc}") from exc
    return partial(
        ldap3.Server,
        url.hostname,
        port=port,
        use_ssl=secure,
        tls=tls,
        get_info=ldap3.NONE,
        connect_timeout=settings.timeout_seconds,
    )


def _tls(settings: LdapSettings) -> Any:
    return ldap3.Tls(
        validate=ssl.CERT_REQUIRED if settings.tls_verify else ssl.CERT_NONE,
        ca_certs_file=str(settings.tls_ca_file) if settings.tls_ca_file else None,
    )


def _search(
    conn: Any, base: str, search_filter: str, attributes: list[str], size_limit: int = 0
) -> list[Entry]:
    """The entries under ``base`` that match; raises when the directory refuses the search."""
    conn.search(base, search_filter, attributes=attributes, size_limit=size_limit)
    if conn.result["result"] not in (RESULT_SUCCESS, RESULT_SIZE_LIMIT_EXCEEDED):
        raise IdentityProviderError(
            f"LDAP search under {base} failed: {conn.result['description']}"
        )
    return [entry for entry in conn.response if entry["type"] == "searchResEntry"]


def _fill(template: str, **values: str) -> str:
    """``template`` with each ``{name}`` replaced by its value, escaped for a filter, in
    one pass (so a value that contains ``{name}`` stays as it is)."""

    def value(match: re.Match[str]) -> str:
        name = match[1]
        return escape_filter_chars(values[name]) if name in values else match[0]

    return re.sub(r"\{(\w+)\}", value, template)


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def _acceptable(username: str) -> bool:
    return 0 < len(username) <= MAX_USERNAME_LENGTH and "\0" not in username
