"""The audit log: ``/logs`` (and ``/logs/export`` as JSON lines), and the same for one
organization or one repository.

Superusers read everything; an organization's administrators its entries; a repository's
administrators its entries; a user their own namespace's (the default without a
filter). Pages run newest first: ``next_page`` is the cursor for the one after.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from cargohold.api.auth import SignedIn
from cargohold.api.errors import ERROR_RESPONSES
from cargohold.api.models import AccountName, MemberName, RepositoryName, Timestamp
from cargohold.api.services import Auth
from cargohold.auth.audit import AuditQuery, render_event
from cargohold.auth.principal import Principal

router = APIRouter(tags=["logs"], responses=ERROR_RESPONSES)
NDJSON = "application/x-ndjson"


class LogFilters(BaseModel):
    namespace: AccountName | None = None
    repository: RepositoryName | None = None
    performer: MemberName | None = None
    kind: Annotated[str, Field(pattern="^[a-z][a-z_]{0,63}$")] | None = None
    since: Timestamp | None = None
    until: Timestamp | None = None
    next_page: Annotated[int, Field(ge=1, le=2**63 - 1, description="a page's cursor")] | None = (
        None
    )
    limit: Annotated[int, Field(ge=1, le=1000)] = 100


class LogEntry(BaseModel):
    id: int
    kind: str
    performer: str | None
    performer_kind: str
    namespace: str | None
    repository: str | None
    client_ip: str | None
    details: dict[str, Any]
    time: str


class LogPage(BaseModel):
    logs: list[LogEntry]
    next_page: int | None


Filters = Annotated[LogFilters, Query()]


async def _query(auth: Auth, principal: Principal, filters: LogFilters) -> AuditQuery:
    namespace, repository = await auth.organizations.audit_filter(
        principal, filters.namespace, filters.repository
    )
    return AuditQuery(
        namespace=namespace,
        repository=repository,
        performer=filters.performer,
        kind=filters.kind,
        since=filters.since,
        until=filters.until,
        before_id=filters.next_page,
        limit=filters.limit,
    )


async def _page(auth: Auth, principal: Principal, filters: LogFilters) -> LogPage:
    query = await _query(auth, principal, filters)
    events = await auth.audit.list(query)
    full = len(events) == query.limit
    return LogPage(
        logs=[LogEntry.model_validate(render_event(e)) for e in events],
        next_page=events[-1].id if full and events else None,
    )


@router.get("/logs")
async def logs(filters: Filters, principal: SignedIn, auth: Auth) -> LogPage:
    return await _page(auth, principal, filters)


@router.get(
    "/logs/export",
    response_class=StreamingResponse,
    responses={200: {"content": {NDJSON: {}}, "description": "one entry per line"}},
)
async def export_logs(filters: Filters, principal: SignedIn, auth: Auth) -> StreamingResponse:
    """Every entry matching the filters, newest first, as JSON lines (``limit`` is the
    size of the pages read from the database)."""
    query = await _query(auth, principal, filters)
    return StreamingResponse(auth.audit.export(query), media_type=NDJSON)


@router.get("/organization/{org}/logs")
async def organization_logs(
    org: AccountName, filters: Filters, principal: SignedIn, auth: Auth
) -> LogPage:
    return await _page(auth, principal, filters.model_copy(update={"namespace": org}))


@router.get("/repository/{name:path}/logs")
async def repository_logs(
    name: RepositoryName, filters: Filters, principal: SignedIn, auth: Auth
) -> LogPage:
    return await _page(auth, principal, filters.model_copy(update={"repository": name}))
