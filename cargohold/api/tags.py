"""``/repository/{name}/tag/``: a repository's tags and their history (the time machine),
restoring a tag, a tag's expiry; ``/namespace/{name}/tag-history``: the window.

Listing needs ``read`` on the repository, a restore or an expiry change ``write``, the
window the namespace's admin role. Each change is audited (``tag_restore``,
``tag_expiry_change``, ``tag_history_window_change``); a change an immutable-tag rule
refuses is audited as ``tag_immutable_refused`` and answered ``403 DENIED``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from cargohold.api.auth import Audit, AuditTrail, Caller
from cargohold.api.errors import ERROR_RESPONSES
from cargohold.api.models import AccountName, Body, Out, Timestamp
from cargohold.api.permissions import ReadableRepository, WritableRepository
from cargohold.api.services import Content, Organizations
from cargohold.content.tag_history import MAX_WINDOW_SECONDS, TagQuery
from cargohold.content.tag_rules import TagImmutable

router = APIRouter(tags=["tags"], responses=ERROR_RESPONSES)
TAG = "/repository/{name:path}/tag"

TagName = Annotated[str, Field(pattern=r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$")]
TagGlob = Annotated[
    str,
    Field(
        pattern=r"^[a-zA-Z0-9_.*?-]{1,128}$",
        description="a tag name pattern: * matches any characters, ? one",
    ),
]
DigestText = Annotated[
    str, Field(pattern=r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$", max_length=256)
]


class Security(BaseModel):
    """The tagged manifest's scan status and its vulnerabilities counted per severity."""

    status: str
    counts: dict[str, int]


class TagOut(Out):
    """One lifetime of a tag: ``end`` is null while it is alive. Listings add the scan
    summary of its manifest (``security``; null once the manifest is gone)."""

    name: str
    manifest_digest: str
    start: datetime
    end: datetime | None
    expires_at: datetime | None
    restored: bool
    security: Security | None = None


class TagList(BaseModel):
    tags: list[TagOut]
    next_page: int | None


class RestoreBody(Body):
    manifest_digest: DigestText


class ExpiryBody(Body):
    expires_at: Timestamp | None = Field(description="when the tag leaves the active set")


class WindowBody(Body):
    seconds: int = Field(ge=0, le=MAX_WINDOW_SECONDS, description="0 keeps no history")


class WindowOut(BaseModel):
    namespace: str
    seconds: int


@router.get(f"{TAG}/")
async def list_tags(
    name: ReadableRepository,
    content: Content,
    active_only: bool = False,
    specific_tag: Annotated[TagName | None, Query()] = None,
    pattern: Annotated[TagGlob | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 50,
) -> TagList:
    """Tags, newest first: the live ones and, unless ``active_only``, those that ended
    within the namespace's window; ``specific_tag`` gives one tag's whole history."""
    query = TagQuery(active_only, specific_tag, pattern, page, per_page)
    found = await content.tag_history.history(name, query)
    digests = {record.manifest_digest for record in found.tags}
    scans = await content.scan_reports.summaries(name, digests)
    tags = []
    for record in found.tags:
        summary = scans.get(record.manifest_digest)
        security = Security(status=summary.status, counts=summary.counts) if summary else None
        tags.append(TagOut.model_validate(record).model_copy(update={"security": security}))
    return TagList(tags=tags, next_page=page + 1 if found.has_more else None)


@router.post(f"{TAG}/{{tag}}/restore")
async def restore_tag(
    name: WritableRepository, tag: TagName, body: RestoreBody, content: Content, audit: Audit
) -> TagOut:
    """Point the tag (alive or deleted) at a manifest it pointed at within the window."""
    async with refusals_audited(audit, name, tag, "restore"):
        record, move = await content.tag_history.restore(name, tag, body.manifest_digest)
    if move is not None:
        await audit.record(
            "tag_restore",
            repository=name,
            tag=tag,
            manifest=body.manifest_digest,
            previous=move.previous,
        )
    return TagOut.model_validate(record)


@router.put(f"{TAG}/{{tag}}")
async def set_tag_expiry(
    name: WritableRepository, tag: TagName, body: ExpiryBody, content: Content, audit: Audit
) -> TagOut:
    """Make a live tag expire at ``expires_at``, or never (null)."""
    async with refusals_audited(audit, name, tag, "expire"):
        record, before = await content.tag_history.set_expiry(name, tag, body.expires_at)
    await audit.record(
        "tag_expiry_change", repository=name, tag=tag, before=before, after=body.expires_at
    )
    return TagOut.model_validate(record)


@router.get("/namespace/{name}/tag-history")
async def get_window(
    name: AccountName, principal: Caller, organizations: Organizations, content: Content
) -> WindowOut:
    await organizations.require_admin(principal, name)
    window = await content.tag_history.window(name)
    return WindowOut(namespace=name, seconds=int(window.total_seconds()))


@router.put("/namespace/{name}/tag-history")
async def set_window(
    name: AccountName,
    body: WindowBody,
    principal: Caller,
    organizations: Organizations,
    content: Content,
    audit: Audit,
) -> WindowOut:
    """How long deleted and moved tags stay listed and restorable (0: not at all)."""
    await organizations.require_admin(principal, name)
    before = await content.tag_history.set_window(name, body.seconds)
    await audit.record(
        "tag_history_window_change",
        namespace=name,
        before=int(before.total_seconds()),
        after=body.seconds,
    )
    return WindowOut(namespace=name, seconds=body.seconds)


@asynccontextmanager
async def refusals_audited(
    audit: AuditTrail, repository: str, tag: str, action: str
) -> AsyncIterator[None]:
    """Audit a change to ``tag`` that an immutable-tag rule refuses, and let it raise."""
    try:
        yield
    except TagImmutable as exc:
        await audit.record(
            "tag_immutable_refused",
            repository=repository,
            tag=tag,
            action=action,
            reason=exc.message,
        )
        raise
