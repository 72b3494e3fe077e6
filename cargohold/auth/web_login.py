"""Browser logins with an OpenID Connect provider, ending in a cargohold session.

``begin`` returns the provider's URL and the login request sealed for a cookie: encrypted
and authenticated with the installation's secret (Fernet), so the browser can neither read
the PKCE verifier nor change the state, and good for ``LOGIN_SECONDS``. ``complete`` opens
it, lets the provider check the callback, links or makes the account
(``AccountService.login_external``, which syncs the groups claim into teams) and returns a
session token, which the caller sets as a cookie. An OIDC account has no password: for
``docker login`` it makes CLI tokens through the API with this session.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict
from datetime import timedelta

from cryptography.fernet import Fernet, InvalidToken

from cargohold.auth.accounts import AccountService
from cargohold.auth.oidc import LoginRequest, OidcProvider
from cargohold.auth.principal import Principal
from cargohold.auth.secrets import NewToken, TokenKind
from cargohold.db.models import utcnow
from cargohold.errors import LoginFailed

LOGIN_SECONDS = 600
SESSION_LIFETIME = timedelta(hours=12)


class OidcLogin:
    def __init__(self, provider: OidcProvider, accounts: AccountService, secret: bytes) -> None:
        self.provider = provider
        self._accounts = accounts
        key = hashlib.sha256(b"cargohold-oidc-login:" + secret).digest()
        self._seal = Fernet(base64.urlsafe_b64encode(key))

    async def begin(self, redirect_uri: str) -> tuple[str, str]:
        """The authorization URL, and the sealed login request to keep in a cookie."""
        url, request = await self.provider.begin(redirect_uri)
        return url, self._seal.encrypt(json.dumps(asdict(request)).encode()).decode()

    async def complete(
        self, sealed: str | None, params: Mapping[str, str]
    ) -> tuple[Principal, NewToken]:
        """The principal who logged in and a new session token for them. ``LoginFailed``
        when the cookie is missing, stale or forged, the provider refuses, or the account is
        disabled; ``IdentityProviderError`` when the provider cannot be reached."""
        if not sealed:
            raise LoginFailed("no login in progress: start again from the login page")
        try:
            opened = json.loads(self._seal.decrypt(sealed.encode(), ttl=LOGIN_SECONDS))
            request = LoginRequest(**opened)
        except (InvalidToken, TypeError, ValueError):
            raise LoginFailed("the login expired or was tampered with: start again") from None
        identity = await self.provider.complete(request, params)
        principal = await self._accounts.login_external(identity)
        if principal is None or principal.account_id is None:
            raise LoginFailed("this account is disabled")
        session = await self._accounts.create_token(
            principal.account_id,
            TokenKind.SESSION,
            "oidc login",
            expires_at=utcnow() + SESSION_LIFETIME,
        )
        return principal, session
