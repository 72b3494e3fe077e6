"""The identity and access services one application uses, built once by ``app.py``."""

from __future__ import annotations

from dataclasses import dataclass

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
from cargohold.expiring_cache import ExpiringCache

REVOCATION_CHECK_SECONDS = 5.0


class CredentialCheck:
    """Whether the account and credential behind a token are still valid, asked of the
    database at most every ``REVOCATION_CHECK_SECONDS`` per credential and process: a
    revoked token, a deleted robot or a disabled user stops working within that time,
    though the tokens issued before live up to ``token_lifetime_seconds``."""

    def __init__(self, accounts: AccountService) -> None:
        self.accounts = accounts
        self.answers: ExpiringCache[tuple[int, int | None], bool] = ExpiringCache(
            REVOCATION_CHECK_SECONDS
        )

    async def valid(self, principal: Principal) -> bool:
        account_id, credential_id = principal.account_id, principal.credential_id
        if account_id is None:
            return True
        return await self.answers.get(
            (account_id, credential_id),
            lambda: self.accounts.credential_valid(account_id, credential_id),
        )


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
