"""Who may call each /v2 route: the bearer token check in front of every handler.

``guarded(handler, action)`` wraps a handler: the request must carry a registry token
(``Authorization: Bearer``) that grants ``action`` on the repository in the path. The
answers when it does not follow the Docker token scheme, and hide private repositories:

- no token, a bad or expired one, a revoked credential: ``401 UNAUTHORIZED`` with a
  ``WWW-Authenticate`` challenge naming the scope to ask the token endpoint for;
- an anonymous token without the action: ``401`` too, so that the client logs in;
- an account's token that was not asked for this action on this repository: ``403
  DENIED`` with the challenge and ``error="insufficient_scope"``, as RFC 6750 has it
  (clients such as oras-py reuse the token of their first request and fetch another on
  that answer);
- a token refused the pull: ``NAME_UNKNOWN``, as if the repository did not exist;
- a token refused a push or a delete: ``DENIED``.

For a push to a repository that does not exist yet, the guard creates it (the token's
grant says the caller may), so that permissions are set before any content arrives.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from cargohold.auth.audit import AuditEntry
from cargohold.auth.headers import bearer_challenge, bearer_token
from cargohold.auth.scopes import PULL, PUSH
from cargohold.auth.services import AuthServices
from cargohold.auth.tokens import TokenClaims
from cargohold.errors import Denied, NameUnknown, Unauthorized
from cargohold.oci.params import repository_name
from cargohold.oci.route_table import Handler

REPOSITORY, REGISTRY = "repository", "registry"


def auth(request: Request) -> AuthServices:
    services: AuthServices = request.app.state.auth
    return services


def challenge(request: Request, scope: str | None = None, error: str | None = None) -> str:
    settings = request.app.state.settings
    base = (settings.public_url or str(request.base_url)).rstrip("/")
    return bearer_challenge(f"{base}/v2/auth", settings.token_service, scope, error)


def unauthorized(
    request: Request, message: str, scope: str | None = None, error: str | None = None
) -> Unauthorized:
    headers = {"WWW-Authenticate": challenge(request, scope, error)}
    return Unauthorized(message, headers=headers)


async def token_claims(request: Request, scope: str | None = None) -> TokenClaims:
    """The verified claims of the request's bearer token; ``Unauthorized`` with a
    challenge for ``scope`` when there is none or it is not valid."""
    token = bearer_token(request.headers.get("authorization"))
    if token is None:
        raise unauthorized(request, "authentication required", scope)
    services = auth(request)
    try:
        claims = await services.keys.verify(token)
    except Unauthorized as exc:
        raise unauthorized(request, exc.message, scope, "invalid_token") from None
    if not await services.credentials.valid(claims.principal):
        raise unauthorized(request, "the credential behind this token was revoked", scope)
    request.state.principal = claims.principal
    request.state.claims = claims
    return claims


def guarded(handler: Handler, action: str, *, creates: bool = False) -> Handler:
    """``handler`` behind a check that the token grants ``action`` on the path's
    repository; ``creates``: the route may create the repository (upload start, manifest
    push)."""

    async def check(request: Request) -> Response:
        name = repository_name(request)
        scope = f"{REPOSITORY}:{name}:{PULL if action == PULL else f'{PULL},{action}'}"
        claims = await token_claims(request, scope)
        if action not in claims.actions(REPOSITORY, name):
            raise _refusal(request, claims, name, action, scope)
        if action == PUSH and creates:
            await auth(request).access.ensure_for_push(claims.principal, name)
        return await handler(request)

    check.__name__ = check.__qualname__ = handler.__name__
    check.__doc__ = handler.__doc__
    return check


def _refusal(
    request: Request, claims: TokenClaims, name: str, action: str, scope: str
) -> Exception:
    if claims.principal.is_anonymous:
        return unauthorized(
            request, f"authentication required to {action} {name}", scope, "insufficient_scope"
        )
    if not claims.was_refused(REPOSITORY, name, action):
        return Denied(
            f"this token does not grant {action} on {name}: ask the token endpoint for {scope}",
            headers={"WWW-Authenticate": challenge(request, scope, "insufficient_scope")},
        )
    if action == PULL:
        return NameUnknown(f"repository {name!r} is not known to this registry")
    if PULL not in claims.actions(REPOSITORY, name):
        return Denied(
            f"you may not {action} to repository {name!r}: it does not exist and you may not "
            "create it, or you have no access to it"
        )
    return Denied(f"you may not {action} to repository {name!r}: it needs write permission")


def authenticated(handler: Handler) -> Handler:
    """``handler`` for any valid token, anonymous ones included (``GET /v2/``)."""

    async def check(request: Request) -> Response:
        await token_claims(request)
        return await handler(request)

    check.__name__ = check.__qualname__ = handler.__name__
    return check


def catalog_guarded(handler: Handler) -> Handler:
    """``handler`` for tokens granting ``registry:catalog:*``."""

    async def check(request: Request) -> Response:
        claims = await token_claims(request, "registry:catalog:*")
        if "*" not in claims.actions(REGISTRY, "catalog"):
            raise unauthorized(
                request,
                "listing the catalog needs a token for it",
                "registry:catalog:*",
                "insufficient_scope",
            )
        return await handler(request)

    check.__name__ = check.__qualname__ = handler.__name__
    return check


def may_pull(request: Request, repository: str) -> bool:
    """Whether the request's (already verified) token grants pull on ``repository``: a
    cross-repository mount needs it on the source."""
    claims: TokenClaims | None = getattr(request.state, "claims", None)
    if claims is None:
        return False
    return PULL in claims.actions(REPOSITORY, repository)


def audit_later(request: Request, kind: str, repository: str, **details: object) -> None:
    """Queue an audit entry for this request's principal (registry traffic)."""
    auth(request).audit.record_later(
        AuditEntry(
            kind,
            request.state.principal,
            repository=repository,
            client_ip=request.client.host if request.client else None,
            details=details,
        )
    )
