"""The metadata schema. The database is the source of truth for references.

::

    namespace ─┬─< repository ─┬─< manifest ─┬─< manifest_blob >── blob
               │               │             └─< manifest_child >── manifest
               │               ├─< tag (history: lifetime_start, lifetime_end)
               │               ├─< uploaded_blob >── blob   (protected until expires_at)
               │               └─< blob_upload              (uploads in progress)

A repository may read a blob when one of its manifests references it (``manifest_blob``)
or when it was uploaded or mounted there recently (``uploaded_blob`` not yet expired).
Tags are never updated in place: moving or deleting one ends its row
(``lifetime_end``) and, for a move, starts a new one. At most one row per name is alive.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out; stored naive (UTC) on both databases."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


def bytewise_string(length: int) -> String:
    """A string column compared and sorted byte by byte (code point order) on both
    databases, as the OCI spec's lexical order of tags and repositories asks: SQLite's
    default, and the "C" collation on PostgreSQL whatever the database's locale, so that
    indexes serve ``ORDER BY name`` and ``name > :last`` directly."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Namespace(Base):
    """The first path component of repository names: a user's own namespace (``kind``
    ``user``, ``owner_id`` the user's account) or an organization's. ``tag_history_seconds``
    is its time-machine window (None: the installation's default); ``usage_bytes`` the
    size of the blobs its manifests use, each counted once (``namespace_blob``), against
    ``quota_bytes`` (None: no quota). With ``sbom_referrers`` each scanned image gets its
    CycloneDX SBOM attached as an OCI referrer (``content.sbom_referrers``)."""

    __tablename__ = "namespace"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(bytewise_string(255), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="organization")
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE", use_alter=True)
    )
    email: Mapped[str | None] = mapped_column(String(320))
    tag_history_seconds: Mapped[int | None] = mapped_column(Integer)
    quota_bytes: Mapped[int | None] = mapped_column(BigInteger)
    quota_warning_percent: Mapped[int] = mapped_column(Integer, default=80)
    usage_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    sbom_referrers: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Repository(Base):
    __tablename__ = "repository"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespace.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(bytewise_string(255), unique=True)
    visibility: Mapped[str] = mapped_column(String(16), default="private")
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    __table_args__ = (Index(None, "namespace_id"),)


class Blob(Base):
    """Bytes stored once, whatever the number of repositories that use them."""

    __tablename__ = "blob"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    digest: Mapped[str] = mapped_column(String(140), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class UploadedBlob(Base):
    """A blob uploaded to (or mounted into) a repository, readable there until
    ``expires_at`` even before a manifest references it."""

    __tablename__ = "uploaded_blob"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repository.id", ondelete="CASCADE"))
    blob_id: Mapped[int] = mapped_column(ForeignKey("blob.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    __table_args__ = (
        Index(None, "repository_id", "blob_id"),
        Index(None, "blob_id"),
        Index(None, "expires_at"),
    )


class BlobUpload(Base):
    """An upload in progress: its bytes live under ``uploads/<id>`` in storage."""

    __tablename__ = "blob_upload"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repository.id", ondelete="CASCADE"))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str | None] = mapped_column(String(64))
    """Hex sha256 of the first ``size`` bytes, when the request that stored them saw them
    all; null otherwise (the bytes are hashed again at completion)."""
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    __table_args__ = (Index(None, "repository_id"), Index(None, "updated_at"))


class Manifest(Base):
    """A manifest or index as pushed, byte for byte, in one repository. The same bytes
    pushed into several repositories are a row in each; the ``digest`` index finds them
    all (a scan reuses the index of one, ``content.scans``)."""

    __tablename__ = "manifest"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repository.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(140))
    media_type: Mapped[str] = mapped_column(String(255))
    artifact_type: Mapped[str | None] = mapped_column(String(255))
    subject_digest: Mapped[str | None] = mapped_column(String(140))
    annotations: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    __table_args__ = (
        UniqueConstraint("repository_id", "digest"),
        Index(None, "repository_id", "subject_digest"),
        Index(None, "digest"),
    )


class ManifestBlob(Base):
    """A blob (config or layer) that a manifest references. ``repository_id`` repeats the
    manifest's repository, so that whether a repository may read a blob is one lookup in
    the ``(repository_id, blob_id)`` index, however many manifests either has."""

    __tablename__ = "manifest_blob"
    manifest_id: Mapped[int] = mapped_column(
        ForeignKey("manifest.id", ondelete="CASCADE"), primary_key=True
    )
    blob_id: Mapped[int] = mapped_column(ForeignKey("blob.id"), primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repository.id", ondelete="CASCADE"))
    __table_args__ = (Index(None, "blob_id"), Index(None, "repository_id", "blob_id"))


class ManifestChild(Base):
    """A manifest that an index lists. The child cannot be deleted while listed."""

    __tablename__ = "manifest_child"
    manifest_id: Mapped[int] = mapped_column(
        ForeignKey("manifest.id", ondelete="CASCADE"), primary_key=True
    )
    child_id: Mapped[int] = mapped_column(ForeignKey("manifest.id"), primary_key=True)
    __table_args__ = (Index(None, "child_id"),)


class Tag(Base):
    """One lifetime of a tag name pointing at one manifest."""

    __tablename__ = "tag"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repository.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(bytewise_string(128))
    manifest_id: Mapped[int] = mapped_column(ForeignKey("manifest.id", ondelete="CASCADE"))
    lifetime_start: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lifetime_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    restored: Mapped[bool] = mapped_column(Boolean, default=False)
    __table_args__ = (
        Index(
            "uq_tag_alive",
            "repository_id",
            "name",
            unique=True,
            sqlite_where=text("lifetime_end IS NULL"),
            postgresql_where=text("lifetime_end IS NULL"),
        ),
        Index(None, "repository_id", "name", "lifetime_start"),
        Index(None, "manifest_id"),
    )


# The identity tables, the scanner's and the work queue's tables live in their own
# modules; importing them here puts them in ``Base.metadata``, which Alembic and the
# tests read.
from cargohold.db import auth_models, lifecycle_models, scanner_models  # noqa: E402, F401
