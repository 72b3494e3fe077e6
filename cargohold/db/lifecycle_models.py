"""Tables of the content's life cycle: tag rules, pruning, and storage quotas (issue 4).

::

    namespace ──< tag_rule            immutable tags: a tag name pattern, for one repository
              │                       or every repository of the namespace
              ├─< prune_policy        keep the newest N tags, or delete tags older than a
              │                       duration, optionally for a tag name pattern
              └─< namespace_blob >── blob   each blob counted once per namespace (quotas)

The namespace row carries the time-machine window (``tag_history_seconds``), the quota
(``quota_bytes``, ``quota_warning_percent``) and the usage kept up to date as pushes and
collections happen (``usage_bytes``: the sum of ``namespace_blob`` sizes). A tag row
carries its expiry (``tag.expires_at``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from cargohold.db.models import Base, UtcDateTime, utcnow


class TagRule(Base):
    """Tags matching ``pattern`` (shell-style: ``v*``, ``release-?.*``) are immutable: a
    push that would move one, and a delete, are refused. ``repository_id`` None: every
    repository of the namespace."""

    __tablename__ = "tag_rule"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespace.id", ondelete="CASCADE"))
    repository_id: Mapped[int | None] = mapped_column(
        ForeignKey("repository.id", ondelete="CASCADE")
    )
    pattern: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    __table_args__ = (Index(None, "namespace_id"), Index(None, "repository_id"))


class PrunePolicy(Base):
    """``method`` ``keep_newest``: keep the ``value`` newest tags; ``older_than``: delete
    tags pushed more than ``value`` seconds ago. Only tags matching ``tag_pattern`` (all
    when None); for one repository or, with ``repository_id`` None, every repository of
    the namespace."""

    __tablename__ = "prune_policy"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    namespace_id: Mapped[int] = mapped_column(ForeignKey("namespace.id", ondelete="CASCADE"))
    repository_id: Mapped[int | None] = mapped_column(
        ForeignKey("repository.id", ondelete="CASCADE")
    )
    method: Mapped[str] = mapped_column(String(16))
    value: Mapped[int] = mapped_column(BigInteger)
    tag_pattern: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    __table_args__ = (
        Index(None, "namespace_id"),
        CheckConstraint("method IN ('keep_newest', 'older_than')", name="method"),
        CheckConstraint("value >= 0", name="value"),
    )


class NamespaceBlob(Base):
    """A blob that some manifest of the namespace uses, counted once in its usage."""

    __tablename__ = "namespace_blob"
    namespace_id: Mapped[int] = mapped_column(
        ForeignKey("namespace.id", ondelete="CASCADE"), primary_key=True
    )
    blob_id: Mapped[int] = mapped_column(
        ForeignKey("blob.id", ondelete="CASCADE"), primary_key=True
    )
    size: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index(None, "blob_id"),)
