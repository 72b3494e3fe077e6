"""The identity and access services one application uses, built once by ``app.py``."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from cargohold.auth.access import AccessService
from cargohold.auth.accounts import AccountService, PasswordProvider
from cargohold.auth.audit import AuditLog
from cargohold.auth.oidc import OidcProvider
from cargohold.auth.organizations import OrganizationService, RobotService
from cargohold.auth.principal import Principal
from cargohold.auth.repositories import RepositoryService
from cargohold.auth.tokens import KeyRing
from cargohold.auth.web_login import OidcLogin
from cargohold.db.session import Database

REVOCATION_CHECK_SECONDS = 5.0


@dataclass(slots=True)
class CredentialCheck:
    """Whether the account and credential behind a token are still valid, asked of the
    database at most every ``REVOCATION_CHECK_SECONDS`` per credential and process: a
    revoked token, a deleted robot or a disabled user stops working within that time,
    though the tokens issued before live up to ``token_lifetime_seconds``."""

    accounts: AccountService
    _seen: dict[tuple[int, int | None], tuple[bool, float]] = field(default_factory=dict)

    async def valid(self, principal: Principal) -> bool:
        if principal.account_id is None:
            return True
        key = (principal.account_id, principal.credential_id)
        now = time.monotonic()
        cached = self._seen.get(key)
        if cached is not None and now - cached[1] < REVOCATION_CHECK_SECONDS:
            return cached[0]
        valid = await self.accounts.credential_valid(*key)
        if len(self._seen) > 100_000:
            self._seen.clear()
        self._seen[key] = (valid, now)
        return valid


@dataclass(frozen=True, slots=True)
class AuthServices:
    accounts: AccountService
    access: AccessService
    keys: KeyRing
    audit: AuditLog
    credentials: CredentialCheck
    organizations: OrganizationService
    repositories: RepositoryService
    robots: RobotService
    oidc: OidcLogin | None = None

    @classmethod
    def build(
        cls,
        db: Database,
        *,
        secret: bytes,
        service: str,
        token_lifetime: int,
        ldap: PasswordProvider | None = None,
        oidc: OidcProvider | None = None,
    ) -> AuthServices:
        accounts = AccountService(db, ldap)
        return cls(
            oidc=OidcLogin(oidc, accounts, secret) if oidc is not None else None,
            accounts=accounts,
            access=AccessService(db),
            keys=KeyRing(db, secret, service, token_lifetime),
            audit=AuditLog(db),
            credentials=CredentialCheck(accounts),
            organizations=OrganizationService(db),
            repositories=RepositoryService(db),
            robots=RobotService(db, accounts),
        )
