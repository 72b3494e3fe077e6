"""``create_api``: the management API as a FastAPI application, mounted at ``/api/v1``.

Its OpenAPI document is published at ``/api/v1/openapi.json`` (browsable at
``/api/v1/docs``), with the three ways to authenticate (``api.auth``) as security schemes
and the registry's error body on every 4xx answer; FastAPI's 422 is not there because a
request that does not validate is answered ``400 INVALID_REQUEST`` (``api.errors``).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cargohold.api import (
    logs,
    oidc,
    organizations,
    pull_policy,
    quotas,
    repositories,
    robots,
    sbom_referrers,
    security,
    sessions,
    superuser,
    tag_policies,
    tags,
    teams,
    user,
)
from cargohold.api.auth import SESSION_COOKIE
from cargohold.api.errors import EXCEPTION_HANDLERS, render
from cargohold.errors import PayloadTooLarge

MAX_BODY_BYTES = 1 << 20
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "API or session token"},
    "basic": {
        "type": "http",
        "scheme": "basic",
        "description": "username with a password, CLI token, robot token or API token",
    },
    "session": {"type": "apiKey", "in": "cookie", "name": SESSION_COOKIE},
}


class ManagementApi(FastAPI):
    def openapi(self) -> dict[str, Any]:
        fresh = self.openapi_schema is None
        document = super().openapi()
        if fresh:
            _describe_security(document)
            _drop_validation_errors(document)
        return document


def create_api() -> FastAPI:
    api = ManagementApi(
        title="cargohold management API",
        version="1",
        description="Accounts, organizations, teams, robots, tokens, repositories, "
        "permissions, the audit log and scan results. Errors are "
        '`{"errors": [{"code", "message", "detail"}]}`.',
        openapi_url="/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        exception_handlers=EXCEPTION_HANDLERS,
    )
    # Routes with a suffix after a repository name come before ``/repository/{name:path}``.
    for router in (
        sessions.router,
        oidc.router,
        user.router,
        robots.user_robots,
        superuser.router,
        organizations.router,
        teams.router,
        robots.organization_robots,
        security.router,
        pull_policy.router,
        sbom_referrers.router,
        tags.router,
        tag_policies.router,
        quotas.router,
        logs.router,
        repositories.router,
    ):
        api.include_router(router)
    api.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    return api


class BodyLimit:
    """Refuses a request body larger than ``limit`` with the registry's error: at once when
    its length is announced, else as soon as it has read past the limit."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if not length.isdigit() or int(length) > self.limit:
            response = render(PayloadTooLarge(f"the API takes bodies up to {self.limit} bytes"))
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise HTTPException(413)  # rendered by ``api.errors``, inside this middleware
            return message

        await self.app(scope, counted, send)


def _describe_security(document: dict[str, Any]) -> None:
    document.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    document["security"] = [{name: []} for name in SECURITY_SCHEMES] + [{}]


def _drop_validation_errors(document: dict[str, Any]) -> None:
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            operation.get("responses", {}).pop("422", None)
    schemas = document.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
