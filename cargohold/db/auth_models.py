"""Identity and access: accounts, credentials, organizations' teams, permissions, the
token signing keys and the audit log.

::

    namespace (kind: user | organization) ─┬─< team ─< team_member >── account
                                           ├─< default_permission
                                           └─< repository ─< repository_permission
    account (kind: user | robot) ─< credential (cli_token | robot_token | api_token | session)

Users and organizations share the namespace table: a user's namespace has the user's
name and ``owner_id``. A robot account is named ``NAMESPACE+name`` and belongs to that
namespace (``robot_namespace_id``). A permission row names either an account or a team.
Secrets are never stored: passwords as argon2 hashes, tokens as SHA-256 of 256 random
bits (``credential.secret_hash``), signing keys encrypted with the installation's key.
Audit rows keep names, not foreign keys, so that they outlive what they describe.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cargohold.db.models import Base, UtcDateTime, bytewise_string, utcnow


class Account(Base):
    """A person (``user``) or a robot that logs in."""

    __tablename__ = "account"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(bytewise_string(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    email: Mapped[str | None] = mapped_column(String(320))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    provider: Mapped[str] = mapped_column(String(16), default="local")
    external_subject: Mapped[str | None] = mapped_column(String(512))
    superuser: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    robot_namespace_id: Mapped[int | None] = mapped_column(
        ForeignKey("namespace.id", ondelete="CASCADE")
    )
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    __table_args__ = (
        UniqueConstraint("provider", "external_subject"),
        Index(None, "robot_namespace_id"),
        CheckConstraint("kind IN ('user', 'robot')", name="kind"),
    )


class Credential(Base):
    """A secret an account logs in with instead of its password.

    ``lookup`` is the public part of the token (it finds the row); ``secret_hash`` is the
    SHA-256 of the secret part, compared in constant time. ``scopes`` (space-separated)
    limit what an API token may do; empty for the other kinds.
    """

    __tablename__ = "credential"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255))
    lookup: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[str] = mapped_column(String(512), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    __table_args__ = (Index(None, "account_id", "kind"),)


class Team(Base):
    """A group of accounts in an organization, with an organization-wide role: ``member``
    (only what permissions grant), ``creator`` (may create repositories) or ``admin``
    (administers the organization and all its repositories). ``sync_group`` names the
    identity provider's group whose members the team mirrors."""

    __tablename__ = "team"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespace.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    description: Mapped[str | None] = mapped_column(Text)
    sync_provider: Mapped[str | None] = mapped_column(String(16))
    sync_group: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    __table_args__ = (
        UniqueConstraint("namespace_id", "name"),
        CheckConstraint("role IN ('member', 'creator', 'admin')", name="role"),
    )


class TeamMember(Base):
    __tablename__ = "team_member"
    team_id: Mapped[int] = mapped_column(
        ForeignKey("team.id", ondelete="CASCADE"), primary_key=True
    )
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    __table_args__ = (Index(None, "account_id"),)


class RepositoryPermission(Base):
    """``read``, ``write`` or ``admin`` on one repository for one account or one team."""

    __tablename__ = "repository_permission"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repository.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    __table_args__ = (
        UniqueConstraint("repository_id", "account_id"),
        UniqueConstraint("repository_id", "team_id"),
        Index(None, "account_id"),
        Index(None, "team_id"),
        CheckConstraint("(account_id IS NULL) <> (team_id IS NULL)", name="one_grantee"),
        CheckConstraint("role IN ('read', 'write', 'admin')", name="role"),
    )


class DefaultPermission(Base):
    """A permission every new repository of the namespace starts with."""

    __tablename__ = "default_permission"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespace.id", ondelete="CASCADE"))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="CASCADE"))
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    __table_args__ = (
        UniqueConstraint("namespace_id", "account_id"),
        UniqueConstraint("namespace_id", "team_id"),
        CheckConstraint("(account_id IS NULL) <> (team_id IS NULL)", name="one_grantee"),
        CheckConstraint("role IN ('read', 'write', 'admin')", name="role"),
    )


class SigningKey(Base):
    """A key that signs registry tokens. The newest key not retired signs; retired keys
    still verify the tokens they signed until those expire."""

    __tablename__ = "signing_key"
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    public_pem: Mapped[str] = mapped_column(Text)
    private_encrypted: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class AuditEvent(Base):
    """One security-relevant action. ``performer`` is the account name at the time (None
    for anonymous); ``details`` is a JSON object that never holds a secret."""

    __tablename__ = "audit_event"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    performer: Mapped[str | None] = mapped_column(String(255))
    performer_kind: Mapped[str] = mapped_column(String(16))
    namespace: Mapped[str | None] = mapped_column(String(255))
    repository: Mapped[str | None] = mapped_column(String(255))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    __table_args__ = (
        Index(None, "created_at"),
        Index(None, "namespace", "created_at"),
        Index(None, "repository", "created_at"),
        Index(None, "performer", "created_at"),
        Index(None, "kind", "created_at"),
    )
