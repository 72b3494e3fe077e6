"""Accounts and how they log in: passwords, tokens, identity providers.

``authenticate(username, secret)`` is the one check behind basic credentials everywhere
(the token endpoint, the management API). The secret is a token when it has a token's
shape (``secrets.parse_token``), and a password otherwise:

- a token must belong to ``username``, be of a kind that logs in (CLI or robot token, or
  an API token), not be revoked or expired, and match in constant time;
- a password is checked with argon2 for local accounts, and by binding to the directory
  for LDAP accounts; an unknown username is tried against LDAP when it is configured, and
  the account is made on the first successful login (``login_external``). Accounts of an
  OIDC provider have no password: they log in to the registry with CLI tokens.

Every failure looks the same to the caller (None) and takes about the same time.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from cargohold.auth.external import ExternalIdentity
from cargohold.auth.passwords import hash_password, verify_in_thread
from cargohold.auth.principal import ROBOT, USER, Principal
from cargohold.auth.secrets import (
    NewToken,
    PresentedToken,
    TokenKind,
    new_token,
    parse_token,
    secret_matches,
)
from cargohold.content.gc import request_collection
from cargohold.db.auth_models import Account, Credential, Team, TeamMember
from cargohold.db.models import Namespace, utcnow
from cargohold.db.session import Database
from cargohold.errors import AlreadyExists, InvalidRequest, NotFound
from cargohold.expiring_cache import ExpiringCache
from cargohold.spec.reference import MAX_NAME_LENGTH

ACCOUNT_NAME = re.compile(r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*")
ROBOT_SHORT_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
LOGIN_TOKEN_KINDS = frozenset({TokenKind.CLI, TokenKind.ROBOT, TokenKind.API})
"""Tokens that stand in for a password (basic credentials)."""
BEARER_TOKEN_KINDS = frozenset({TokenKind.API, TokenKind.SESSION})
"""Tokens sent alone as ``Authorization: Bearer`` to the management API."""
MAX_USERNAME_LENGTH = 255
USER_SETTINGS = frozenset({"email", "enabled", "superuser"})
# A login's ``last_login_at`` and a token's ``last_used_at`` are written at most this often
# per account and token by one process: a write transaction on every login had cut the rate
# of the token endpoint and of every REST API call by 40% on SQLite, 60% on PostgreSQL.
USE_RECORDED_EVERY_SECONDS = 60


class PasswordProvider(Protocol):
    """An external directory that checks passwords (LDAP)."""

    async def authenticate(self, username: str, password: str) -> ExternalIdentity | None: ...


def validate_account_name(name: str) -> str:
    """``name`` if it may name a user or an organization (one repository path component,
    at most 255 characters); ``InvalidRequest`` otherwise."""
    if len(name) <= MAX_NAME_LENGTH and ACCOUNT_NAME.fullmatch(name):
        return name
    raise InvalidRequest(
        f"invalid name {name!r}: use lower-case letters and digits, separated by single "
        "'.', '_' or '-', at most 255 characters"
    )


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """What may be shown about a credential: never its secret."""

    id: int
    name: str
    kind: str
    scopes: tuple[str, ...]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class AccountService:
    def __init__(self, db: Database, ldap: PasswordProvider | None = None) -> None:
        self._db = db
        self._ldap = ldap
        self._recorded_use: ExpiringCache[tuple[int, int | None], None] = ExpiringCache(
            USE_RECORDED_EVERY_SECONDS
        )

    # -- users -------------------------------------------------------------------------

    async def create_user(
        self,
        name: str,
        *,
        password: str | None = None,
        email: str | None = None,
        superuser: bool = False,
        provider: str = "local",
        external_subject: str | None = None,
    ) -> int:
        """Make a user and the user's namespace; the account id. ``AlreadyExists`` when a
        user, robot or organization has the name."""
        validate_account_name(name)
        password_hash = await _hash(password) if password is not None else None
        async with self._db.write() as session:
            await _require_free_name(session, name)
            account = Account(
                name=name,
                kind=USER,
                email=email,
                password_hash=password_hash,
                superuser=superuser,
                provider=provider,
                external_subject=external_subject,
            )
            session.add(account)
            await session.flush()
            session.add(Namespace(name=name, kind=USER, owner_id=account.id, email=email))
            return account.id

    async def set_password(self, account_id: int, password: str) -> None:
        password_hash = await _hash(password)
        async with self._db.write() as session:
            await session.execute(
                update(Account).where(Account.id == account_id).values(password_hash=password_hash)
            )

    async def update_user(self, account_id: int, **values: str | bool | None) -> None:
        """Set the user's ``email``, ``enabled`` or ``superuser`` (``USER_SETTINGS``); the
        user's namespace keeps the same email."""
        if not set(values) <= USER_SETTINGS:
            raise ValueError(f"not user settings: {sorted(set(values) - USER_SETTINGS)}")
        async with self._db.write() as session:
            await session.execute(update(Account).where(Account.id == account_id).values(values))
            if "email" in values:
                await session.execute(
                    update(Namespace)
                    .where(Namespace.owner_id == account_id)
                    .values(email=values["email"])
                )

    async def list_users(self) -> list[Account]:
        """Every user (robots are not users), by name."""
        async with self._db.read() as session:
            rows = await session.execute(
                select(Account).where(Account.kind == USER).order_by(Account.name)
            )
            return list(rows.scalars())

    async def principal(self, account_id: int) -> Principal | None:
        """The enabled account as a principal, or None."""
        async with self._db.read() as session:
            account = await session.get(Account, account_id)
            return _principal(account) if account and account.enabled else None

    async def find(self, name: str) -> Account | None:
        async with self._db.read() as session:
            return await _account_by_name(session, name)

    # -- logging in --------------------------------------------------------------------

    async def authenticate(self, username: str, secret: str) -> Principal | None:
        """The principal that ``username`` and ``secret`` (password or token) log in as;
        None for any failure."""
        if not username or len(username) > MAX_USERNAME_LENGTH or not secret:
            return None
        if "\0" in username or "\0" in secret:  # PostgreSQL refuses NUL in text
            return None
        presented = parse_token(secret)
        if presented is not None:
            if presented.kind not in LOGIN_TOKEN_KINDS:
                return None
            return await self._authenticate_token(username, presented)
        account = await self.find(username)
        if account is not None and account.provider == "ldap" and self._ldap is not None:
            return await self._authenticate_ldap(username, secret)
        if account is None and self._ldap is not None:
            return await self._authenticate_ldap(username, secret)
        stored = account.password_hash if account and account.provider == "local" else None
        if not await verify_in_thread(stored, secret) or account is None or not account.enabled:
            return None
        await self._record_use(account.id, None)
        return _principal(account)

    async def authenticate_token(self, secret: str) -> Principal | None:
        """The principal of a bearer token (API token or session) alone, or None."""
        presented = parse_token(secret)
        if presented is None or presented.kind not in BEARER_TOKEN_KINDS:
            return None
        return await self._authenticate_token(None, presented)

    async def _authenticate_token(
        self, username: str | None, presented: PresentedToken
    ) -> Principal | None:
        """The token's principal when it is valid and, with ``username``, belongs to it."""
        now = utcnow()
        async with self._db.read() as session:
            row = (
                await session.execute(
                    select(Credential, Account)
                    .join(Account, Account.id == Credential.account_id)
                    .where(Credential.lookup == presented.lookup)
                )
            ).one_or_none()
        if row is None:
            secret_matches(presented.secret, "0" * 64)  # the same work as a real comparison
            return None
        credential, account = row
        valid = (
            credential.kind == presented.kind.value
            and secret_matches(presented.secret, credential.secret_hash)
            and (username is None or username == account.name)
            and credential.revoked_at is None
            and (credential.expires_at is None or credential.expires_at > now)
            and account.enabled
        )
        if not valid:
            return None
        await self._record_use(account.id, credential.id)
        scopes = frozenset(credential.scopes.split()) if credential.kind == TokenKind.API else None
        return _principal(account, credential.id, scopes)

    async def _authenticate_ldap(self, username: str, password: str) -> Principal | None:
        assert self._ldap is not None
        identity = await self._ldap.authenticate(username, password)
        if identity is None:
            return None
        return await self.login_external(identity)

    async def login_external(self, identity: ExternalIdentity) -> Principal | None:
        """The account linked to ``identity``, made on its first login (with a free name
        close to the provider's username), its email and synced teams brought up to date.
        None when the account is disabled."""
        async with self._db.write() as session:
            account = (
                await session.execute(
                    select(Account).where(
                        Account.provider == identity.provider,
                        Account.external_subject == identity.subject,
                    )
                )
            ).scalar_one_or_none()
            if account is None:
                account = await _create_external_account(session, identity)
            account.email = identity.email
            account.last_login_at = utcnow()
            await sync_teams(session, account.id, identity.provider, identity.groups)
            return _principal(account) if account.enabled else None

    async def _record_use(self, account_id: int, credential_id: int | None) -> None:
        """Record a login of the account, with the credential when one was used: the
        first in ``USE_RECORDED_EVERY_SECONDS`` writes the time, later ones do not (the
        times shown are at most that much behind)."""
        key = (account_id, credential_id)
        await self._recorded_use.get(key, lambda: self._touch(account_id, credential_id))

    async def _touch(self, account_id: int, credential_id: int | None) -> None:
        now = utcnow()
        async with self._db.write() as session:
            await session.execute(
                update(Account).where(Account.id == account_id).values(last_login_at=now)
            )
            if credential_id is not None:
                await session.execute(
                    update(Credential)
                    .where(Credential.id == credential_id)
                    .values(last_used_at=now)
                )

    async def credential_valid(self, account_id: int, credential_id: int | None) -> bool:
        """Whether the account is enabled and, when given, its credential still valid
        (neither revoked, nor expired, nor deleted): the check behind issued tokens."""
        async with self._db.read() as session:
            enabled = (
                await session.execute(select(Account.enabled).where(Account.id == account_id))
            ).scalar_one_or_none()
            if not enabled:
                return False
            if credential_id is None:
                return True
            credential = await session.get(Credential, credential_id)
        return (
            credential is not None
            and credential.revoked_at is None
            and (credential.expires_at is None or credential.expires_at > utcnow())
        )

    # -- tokens ------------------------------------------------------------------------

    async def create_token(
        self,
        account_id: int,
        kind: TokenKind,
        name: str,
        *,
        expires_at: datetime | None = None,
        scopes: Iterable[str] = (),
    ) -> NewToken:
        """A new token for the account; its text is in the result and nowhere else."""
        if not name or len(name) > 255:
            raise InvalidRequest("a token needs a name of 1 to 255 characters")
        if expires_at is not None and expires_at <= utcnow():
            raise InvalidRequest("a token's expiry must be in the future")
        token = new_token(kind)
        async with self._db.write() as session:
            session.add(
                Credential(
                    account_id=account_id,
                    kind=kind.value,
                    name=name,
                    lookup=token.lookup,
                    secret_hash=token.secret_hash,
                    scopes=" ".join(sorted(set(scopes))),
                    expires_at=expires_at,
                )
            )
        return token

    async def list_tokens(self, account_id: int, kind: TokenKind) -> list[TokenInfo]:
        async with self._db.read() as session:
            rows = (
                await session.execute(
                    select(Credential)
                    .where(Credential.account_id == account_id, Credential.kind == kind.value)
                    .order_by(Credential.id)
                )
            ).scalars()
            return [_token_info(row) for row in rows]

    async def token_info(self, account_id: int, lookup: str) -> TokenInfo:
        """The account's token whose public part is ``lookup`` (``NewToken.lookup``)."""
        async with self._db.read() as session:
            credential = (
                await session.execute(
                    select(Credential).where(
                        Credential.account_id == account_id, Credential.lookup == lookup
                    )
                )
            ).scalar_one_or_none()
            if credential is None:
                raise NotFound("no such token")
            return _token_info(credential)

    async def revoke_token(self, account_id: int, token_id: int, kind: TokenKind) -> TokenInfo:
        """Revoke one of the account's tokens (at once: tokens issued from it stop working
        within the registry's revocation check interval)."""
        async with self._db.write() as session:
            credential = await session.get(Credential, token_id)
            if (
                credential is None
                or credential.account_id != account_id
                or (credential.kind != kind.value)
            ):
                raise NotFound(f"no token {token_id}")
            if credential.revoked_at is None:
                credential.revoked_at = utcnow()
            return _token_info(credential)

    # -- robots ------------------------------------------------------------------------

    async def create_robot(
        self, namespace: str, short_name: str, description: str | None = None
    ) -> tuple[int, NewToken]:
        """Robot ``namespace+short_name`` with its first token."""
        if not ROBOT_SHORT_NAME.fullmatch(short_name):
            raise InvalidRequest(
                f"invalid robot name {short_name!r}: a lower-case letter, then up to 63 "
                "lower-case letters, digits or '_'"
            )
        name = f"{namespace}+{short_name}"
        async with self._db.write() as session:
            namespace_id = await _namespace_id(session, namespace)
            if await _account_by_name(session, name) is not None:
                raise AlreadyExists(f"robot {name} already exists")
            robot = Account(
                name=name, kind=ROBOT, robot_namespace_id=namespace_id, description=description
            )
            session.add(robot)
            await session.flush()
            robot_id = robot.id
        return robot_id, await self.create_token(robot_id, TokenKind.ROBOT, "robot token")

    async def regenerate_robot_token(self, robot_id: int) -> NewToken:
        """Revoke every token of the robot and make a new one."""
        async with self._db.write() as session:
            await session.execute(
                update(Credential)
                .where(Credential.account_id == robot_id, Credential.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
        return await self.create_token(robot_id, TokenKind.ROBOT, "robot token")

    async def delete_account(self, account_id: int) -> None:
        """Delete a robot or a user (with the user's namespace and its repositories)."""
        async with self._db.write() as session:
            await session.execute(delete(Namespace).where(Namespace.owner_id == account_id))
            await session.execute(delete(Account).where(Account.id == account_id))
            await request_collection(session)

    async def count_users(self) -> int:
        async with self._db.read() as session:
            count = await session.execute(
                select(func.count()).select_from(Account).where(Account.kind == USER)
            )
            return int(count.scalar_one())


async def _hash(password: str) -> str:
    """``hash_password`` off the event loop (argon2 takes a tenth of a second)."""
    return await asyncio.to_thread(hash_password, password)


async def sync_teams(
    session: AsyncSession, account_id: int, provider: str, groups: Iterable[str]
) -> None:
    """Make the account a member of exactly those teams synced from ``provider`` whose
    group is in ``groups``."""
    group_set = set(groups)
    synced = (
        await session.execute(
            select(Team.id, Team.sync_group).where(Team.sync_provider == provider)
        )
    ).all()
    wanted = {team_id for team_id, group in synced if group in group_set}
    unwanted = {team_id for team_id, _ in synced} - wanted
    if unwanted:
        await session.execute(
            delete(TeamMember).where(
                TeamMember.account_id == account_id, TeamMember.team_id.in_(unwanted)
            )
        )
    current = set(
        (
            await session.execute(
                select(TeamMember.team_id).where(TeamMember.account_id == account_id)
            )
        ).scalars()
    )
    for team_id in wanted - current:
        session.add(TeamMember(team_id=team_id, account_id=account_id))


async def _create_external_account(session: AsyncSession, identity: ExternalIdentity) -> Account:
    name = await _free_name(session, _name_from(identity.username))
    account = Account(
        name=name,
        kind=USER,
        email=identity.email,
        provider=identity.provider,
        external_subject=identity.subject,
    )
    session.add(account)
    await session.flush()
    session.add(Namespace(name=name, kind=USER, owner_id=account.id, email=identity.email))
    return account


def _name_from(username: str) -> str:
    """The provider's username made into an account name (lower case, invalid runs
    replaced by '-')."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", username.lower()).strip("-")[:200]
    return cleaned or "user"


async def _free_name(session: AsyncSession, wanted: str) -> str:
    name, suffix = wanted, 1
    while await _name_taken(session, name):
        suffix += 1
        name = f"{wanted}{suffix}"
    return name


async def _name_taken(session: AsyncSession, name: str) -> bool:
    namespace = await session.execute(select(Namespace.id).where(Namespace.name == name))
    return namespace.first() is not None or await _account_by_name(session, name) is not None


async def _require_free_name(session: AsyncSession, name: str) -> None:
    if await _name_taken(session, name):
        raise AlreadyExists(f"the name {name!r} is already taken by a user or organization")


async def _account_by_name(session: AsyncSession, name: str) -> Account | None:
    result = await session.execute(select(Account).where(Account.name == name))
    return result.scalar_one_or_none()


async def _namespace_id(session: AsyncSession, name: str) -> int:
    result = await session.execute(select(Namespace.id).where(Namespace.name == name))
    namespace_id = result.scalar_one_or_none()
    if namespace_id is None:
        raise NotFound(f"no user or organization {name!r}")
    return namespace_id


def _principal(
    account: Account, credential_id: int | None = None, scopes: frozenset[str] | None = None
) -> Principal:
    return Principal(
        account_id=account.id,
        name=account.name,
        kind=account.kind,
        superuser=account.superuser,
        credential_id=credential_id,
        scopes=scopes,
    )


def _token_info(row: Credential) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        name=row.name,
        kind=row.kind,
        scopes=tuple(row.scopes.split()),
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )
