"""Tables of vulnerability scanning and background work.

::

    advisory                 one vulnerability of one package (of one distribution release)
    manifest ──< manifest_scan   per-manifest index and findings (status, indexer version)
    work_item                a generic queue of background jobs: (kind, key) unique
    event                    things that happened (``vulnerability_found``), for the
                             notifications that a later issue delivers
    namespace ──  pull_policy   which images of a namespace may be pulled

Empty strings, not NULLs, stand for "no distribution" and "no release" in ``advisory``,
so that its unique key holds on both databases (NULLs are distinct in unique indexes).
Structured values (ranges, findings, the ``ImageIndex``) are JSON text.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from cargohold.db.models import Base, UtcDateTime, utcnow


class AdvisoryRow(Base):
    """One advisory as a feed gave it, for one package (``package_key`` normalised)."""

    __tablename__ = "advisory"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    advisory_id: Mapped[str] = mapped_column(String(128))
    aliases: Mapped[str] = mapped_column(Text, default="[]")
    ecosystem: Mapped[str] = mapped_column(String(16))
    distribution: Mapped[str] = mapped_column(String(64), default="")
    release: Mapped[str] = mapped_column(String(64), default="")
    package: Mapped[str] = mapped_column(String(255))
    package_key: Mapped[str] = mapped_column(String(255))
    ranges: Mapped[str] = mapped_column(Text, default="[]")
    versions: Mapped[str] = mapped_column(Text, default="[]")
    severity: Mapped[int] = mapped_column(Integer, default=0)
    cvss_version: Mapped[str | None] = mapped_column(String(8))
    cvss_vector: Mapped[str | None] = mapped_column(String(255))
    cvss_score: Mapped[float | None] = mapped_column(Float)
    summary: Mapped[str] = mapped_column(Text, default="")
    links: Mapped[str] = mapped_column(Text, default="[]")
    modified: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    __table_args__ = (
        UniqueConstraint(
            "source",
            "advisory_id",
            "ecosystem",
            "distribution",
            "release",
            "package",
            name="uq_advisory_identity",
        ),
        Index(None, "ecosystem", "package_key"),
        Index(None, "distribution", "release", "package_key"),
    )


class ManifestScan(Base):
    """The scan state of one manifest: ``queued``, ``scanned``, ``failed``, ``unsupported``.

    ``image_index`` is the ``ImageIndex`` JSON of ``indexer_version``; ``findings`` the
    JSON list of matches against the advisories as of ``matched_at``.
    """

    __tablename__ = "manifest_scan"
    manifest_id: Mapped[int] = mapped_column(
        ForeignKey("manifest.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16))
    indexer_version: Mapped[int | None] = mapped_column(Integer)
    image_index: Mapped[str | None] = mapped_column(Text)
    findings: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    indexed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    matched_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    __table_args__ = (Index(None, "status", "indexer_version"),)


class WorkItem(Base):
    """One background job, unique by (``kind``, ``key``); see ``workers.queue``."""

    __tablename__ = "work_item"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    not_before: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    generation: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        UniqueConstraint("kind", "key"),
        Index(None, "not_before"),
    )


class EventRow(Base):
    """Something that happened to a repository, kept for notifications (``payload`` JSON)."""

    __tablename__ = "event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    repository: Mapped[str] = mapped_column(String(255))
    manifest_digest: Mapped[str | None] = mapped_column(String(140))
    payload: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    __table_args__ = (Index(None, "repository", "created_at"), Index(None, "kind", "id"))


class PullPolicy(Base):
    """A namespace's rule for pulls: refuse images with a vulnerability of at least
    ``min_severity`` (a ``Severity`` value; only fixable ones with ``fixable_only``), and,
    with ``require_scan``, images not scanned yet."""

    __tablename__ = "pull_policy"
    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("namespace.id", ondelete="CASCADE"), primary_key=True
    )
    min_severity: Mapped[int | None] = mapped_column(Integer)
    fixable_only: Mapped[bool] = mapped_column(Boolean, default=False)
    require_scan: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
