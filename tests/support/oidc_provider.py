"""A real OpenID Connect provider for one test session: npm ``oidc-provider`` under node.

``tests/support/oidc/provider.js`` runs it on 127.0.0.1 with the clients and users below,
a fresh RSA signing key and two plain form pages instead of its development interactions
(see the script). Its npm packages are installed by ``npm ci`` from the committed lock file
the first time a session needs them.

    clients   cargohold          confidential, secret CLIENT_SECRET (client_secret_basic)
              cargohold-public   public (no secret, PKCE only)
              both may redirect only to REDIRECT_URI, which nothing serves
    users     alice / alice-pw   preferred_username alice, alice@example.org,
                                 groups developers and admins
              bob / bob-pw       bob@example.org only: no preferred_username, no groups
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from cargohold.config import OidcSettings

from .processes import free_port, run, tail, wait_until

PROVIDER_DIR = Path(__file__).parent / "oidc"
REDIRECT_URI = "http://127.0.0.1:9/oidc/callback"
CLIENT_SECRET = "cargohold-secret"
SCOPES = ["openid", "profile", "email", "groups"]
CLIENTS: list[dict[str, Any]] = [
    {"client_id": "cargohold", "client_secret": CLIENT_SECRET, "redirect_uris": [REDIRECT_URI]},
    {
        "client_id": "cargohold-public",
        "token_endpoint_auth_method": "none",
        "redirect_uris": [REDIRECT_URI],
    },
]
USERS: list[dict[str, Any]] = [
    {
        "sub": "0f6a1c2e-alice",
        "login": "alice",
        "password": "alice-pw",
        "preferred_username": "alice",
        "email": "alice@example.org",
        "email_verified": True,
        "groups": ["developers", "admins"],
    },
    {
        "sub": "5b7d9e4f-bob",
        "login": "bob",
        "password": "bob-pw",
        "email": "bob@example.org",
        "email_verified": True,
    },
]
START_TIMEOUT = 20.0
START_ATTEMPTS = 2
"""node was twice seen alive but silent for 30 s after printing its first warning (in full
CI runs, not reproduced alone); a second start is tried, and the failure says what the
port and the process looked like."""
MAX_LOGIN_STEPS = 10


def install_provider() -> None:
    """``npm ci`` in ``PROVIDER_DIR`` unless its ``node_modules`` already has the provider."""
    if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
        run(["npm", "ci", "--no-audit", "--no-fund"], cwd=PROVIDER_DIR, timeout=300)


class OidcProviderServer:
    """One provider in ``base_dir`` on 127.0.0.1 and a free port; ``start()``, then
    ``stop()``. ``issuer`` is ``http://127.0.0.1:PORT``, without a trailing slash."""

    def __init__(self, base_dir: Path) -> None:
        self.base_dir = base_dir
        self.port = free_port()
        self.log_file = base_dir / "oidc-provider.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._last_answer = "no answer yet"

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Install the npm packages if needed, start node; return once discovery answers
        (``START_ATTEMPTS`` starts, on the same port: a restart keeps the issuer)."""
        install_provider()
        config = self.base_dir / "config.json"
        config.write_text(json.dumps({"clients": CLIENTS, "users": USERS}))
        for attempt in range(1, START_ATTEMPTS + 1):
            with self.log_file.open("ab") as log:
                log.write(f"--- start {attempt}\n".encode())
                log.flush()
                self._process = subprocess.Popen(
                    ["node", "provider.js", str(self.port), config],
                    cwd=PROVIDER_DIR,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            try:
                wait_until(self._answers, timeout=START_TIMEOUT, message=self._startup_failure)
                return
            except AssertionError:
                self.stop()
                if attempt == START_ATTEMPTS:
                    raise

    def stop(self) -> None:
        """Stop node; every code, token and session it held is gone."""
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None

    def settings(self, client_id: str = "cargohold", **overrides: Any) -> OidcSettings:
        """Settings for logging in as ``client_id`` (its secret, if any, included)."""
        secret = next(c.get("client_secret") for c in CLIENTS if c["client_id"] == client_id)
        fields: dict[str, Any] = {
            "issuer": self.issuer,
            "client_id": client_id,
            "client_secret": SecretStr(secret) if secret else None,
            "scopes": SCOPES,
            **overrides,
        }
        return OidcSettings.model_validate(fields)

    def _answers(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise AssertionError(self._startup_failure())
        try:
            response = httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=1)
        except httpx.TransportError as error:
            self._last_answer = repr(error)
            return False
        self._last_answer = f"HTTP {response.status_code}"
        return response.status_code == httpx.codes.OK

    def _startup_failure(self) -> str:
        alive = self._process is not None and self._process.poll() is None
        try:
            listeners = subprocess.run(
                ["ss", "-ltnpH", f"sport = :{self.port}"], capture_output=True, text=True
            ).stdout
        except OSError as error:  # no ss here
            listeners = repr(error)
        return (
            f"oidc-provider did not start at {self.issuer} (node {'alive' if alive else 'gone'}, "
            f"last answer: {self._last_answer}; listening on the port: {listeners or 'nothing'})"
            f"\n--- log ---\n{tail(self.log_file)}"
        )


async def login_through(
    authorization_url: str, username: str, password: str, *, deny: bool = False
) -> dict[str, str]:
    """Sign in on the provider's pages and grant consent, as a browser would, starting at
    ``authorization_url``; the query parameters of the provider's final redirect away from
    itself (to the client's redirect_uri, which is not requested). With ``deny`` the
    first page is denied instead. Fails the test on a page it does not expect (401 for a
    wrong password)."""
    form = {"login": username, "password": password} | ({"deny": "1"} if deny else {})
    provider = httpx.URL(authorization_url)
    async with httpx.AsyncClient() as browser:
        response = await browser.get(provider)
        for _step in range(MAX_LOGIN_STEPS):
            if response.status_code == httpx.codes.OK:
                response = await browser.post(response.url, data=form)
            elif response.is_redirect:
                target = response.url.join(response.headers["location"])
                if (target.host, target.port) != (provider.host, provider.port):
                    return dict(target.params)
                response = await browser.get(target)
            else:
                raise AssertionError(f"{response.status_code} at {response.url}: {response.text}")
    raise AssertionError(f"no redirect away from the provider after {MAX_LOGIN_STEPS} steps")
