"""The registry's bearer tokens: ES256-signed JWTs in the Docker token scheme.

Claims: ``iss`` (``cargohold``), ``sub`` (the account name, empty for anonymous), ``aud``
(the configured service), ``iat``/``nbf``/``exp``, ``jti``, ``access`` (the actions
granted per resource, exactly as the Docker registry token spec has them), ``refused``
(the actions asked for and refused, in the same shape) and ``ch``, the principal (account
id, credential id, kind, superuser flag, an API token's scopes). A refused action lets the
registry answer as if the repository did not exist (pull) or with ``DENIED`` (push),
where a token that merely lacks an action gets a challenge to fetch one with it.

Keys live in the database (``signing_key``): the public key in PEM, the private key
encrypted with the installation's secret key (Fernet). Every node verifies every key;
only nodes holding the same secret can sign with a given key, and a node that can decrypt
no key makes its own. The newest key not retired signs; ``rotate`` retires the others,
which keep verifying their tokens until those expire. The key set is published as a JWKS.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm
from sqlalchemy import select, update

from cargohold.auth.principal import Principal
from cargohold.config import Settings
from cargohold.db.auth_models import SigningKey
from cargohold.db.models import utcnow
from cargohold.db.session import Database
from cargohold.errors import Unauthorized
from cargohold.expiring_cache import ExpiringCache

log = logging.getLogger(__name__)

ALGORITHM = "ES256"
ISSUER = "cargohold"
KEY_REFRESH_SECONDS = 60.0
UNKNOWN_KEY_REREAD_SECONDS = 1.0
VERIFIED_CACHE_LIMIT = 10_000


def installation_secret(settings: Settings) -> bytes:
    """The configured ``secret_key``, or the key in ``DATA_DIR/secret.key``, made once
    (mode 0600; whoever creates the file first wins, others read it)."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value().encode()
    path = settings.data_dir / "secret.key"
    if not path.exists():
        _create_secret_file(path)
    return path.read_bytes().strip()


def _create_secret_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    with os.fdopen(fd, "w") as file:
        file.write(secrets.token_urlsafe(48))


def _fernet(secret: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"cargohold-keys:" + secret).digest()))


@dataclass(slots=True)
class _Key:
    kid: str
    public: ec.EllipticCurvePublicKey
    private: ec.EllipticCurvePrivateKey | None
    retired: bool


@dataclass(frozen=True, slots=True)
class Grant:
    """Actions granted (possibly none) on one resource, and those asked for and refused."""

    type: str
    name: str
    actions: tuple[str, ...]
    refused: tuple[str, ...] = ()

    def claim(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "actions": list(self.actions)}

    def refusal(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name, "actions": list(self.refused)}


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_in: int
    issued_at: str


@dataclass(slots=True)
class TokenClaims:
    """A verified token: who, and what was granted."""

    principal: Principal
    access: dict[tuple[str, str], frozenset[str]]
    refused: dict[tuple[str, str], frozenset[str]]
    expires_at: float

    def actions(self, type_: str, name: str) -> frozenset[str]:
        """The actions granted on the resource."""
        return self.access.get((type_, name), frozenset())

    def was_refused(self, type_: str, name: str, action: str) -> bool:
        """Whether the token was asked for ``action`` on the resource and refused it (a
        token merely without it was not asked: the client should ask for another)."""
        return action in self.refused.get((type_, name), frozenset())


class KeyRing:
    """Signing and verification keys, loaded from the database and refreshed every
    ``KEY_REFRESH_SECONDS`` so that rotation on one node reaches the others."""

    def __init__(self, db: Database, secret: bytes, service: str, lifetime: int) -> None:
        self._db = db
        self._fernet = _fernet(secret)
        self.service = service
        self.lifetime = lifetime
        self._keys: dict[str, _Key] = {}
        self._signing: _Key | None = None
        # One read at a time, however many requests need it (``ExpiringCache``): the
        # periodic refresh, and the re-read for a token signed by a key not seen yet (a
        # rotation on another node), at most once a second, whatever kids clients send.
        self._refreshes: ExpiringCache[str, None] = ExpiringCache(KEY_REFRESH_SECONDS)
        self._rereads: ExpiringCache[str, None] = ExpiringCache(UNKNOWN_KEY_REREAD_SECONDS)
        self._verified: dict[str, TokenClaims] = {}

    async def load(self) -> None:
        """Read the keys; make and store a signing key when none can sign here."""
        await self._read()
        if self._signing is None:
            await self._create_key()
            await self._read()

    async def rotate(self) -> str:
        """Retire every key and make a new signing key; its ``kid``."""
        async with self._db.write() as session:
            await session.execute(
                update(SigningKey)
                .where(SigningKey.retired_at.is_(None))
                .values(retired_at=utcnow())
            )
        kid = await self._create_key()
        await self._read()
        return kid

    async def _create_key(self) -> str:
        private = ec.generate_private_key(ec.SECP256R1())
        public_pem = private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        private_pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        kid = _key_id(public_pem)
        async with self._db.write() as session:
            session.add(
                SigningKey(
                    kid=kid,
                    algorithm=ALGORITHM,
                    public_pem=public_pem.decode(),
                    private_encrypted=self._fernet.encrypt(private_pem).decode(),
                )
            )
        log.info("made token signing key %s", kid)
        return kid

    async def _read(self) -> None:
        horizon = utcnow() - timedelta(seconds=self.lifetime + 60)
        async with self._db.read() as session:
            rows = (
                await session.execute(
                    select(SigningKey)
                    .where(SigningKey.retired_at.is_(None) | (SigningKey.retired_at > horizon))
                    .order_by(SigningKey.created_at, SigningKey.kid)
                )
            ).scalars()
            keys = {row.kid: self._decode(row) for row in rows}
        self._keys = keys
        signers = [k for k in keys.values() if k.private is not None and not k.retired]
        self._signing = signers[-1] if signers else None

    def _decode(self, row: SigningKey) -> _Key:
        public = serialization.load_pem_public_key(row.public_pem.encode())
        assert isinstance(public, ec.EllipticCurvePublicKey)
        private: ec.EllipticCurvePrivateKey | None = None
        try:
            loaded = serialization.load_pem_private_key(
                self._fernet.decrypt(row.private_encrypted.encode()), password=None
            )
            assert isinstance(loaded, ec.EllipticCurvePrivateKey)
            private = loaded
        except InvalidToken:
            pass  # made by a node with another secret: it verifies, it does not sign here
        return _Key(row.kid, public, private, row.retired_at is not None)

    async def refresh_if_stale(self) -> None:
        """Read the keys again when the last refresh is ``KEY_REFRESH_SECONDS`` old."""
        await self._refreshes.get("keys", self.load)

    async def issue(self, principal: Principal, grants: list[Grant]) -> IssuedToken:
        """A token for ``principal`` carrying ``grants``."""
        await self.refresh_if_stale()
        key = self._signing
        assert key is not None and key.private is not None, "KeyRing.load() was not called"
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "sub": principal.name or "",
            "aud": self.service,
            "iat": now,
            "nbf": now - 5,
            "exp": now + self.lifetime,
            "jti": secrets.token_urlsafe(16),
            "access": [grant.claim() for grant in grants],
            "refused": [grant.refusal() for grant in grants if grant.refused],
            "ch": principal.claim(),
        }
        token = jwt.encode(claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid})
        issued = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now))
        return IssuedToken(token, self.lifetime, issued)

    async def verify(self, token: str) -> TokenClaims:
        """The token's claims; ``Unauthorized`` when it is malformed, signed by an unknown
        key, tampered with, expired, not yet valid, or for another service or issuer.
        Verified tokens are remembered until they expire."""
        cached = self._verified.get(token)
        if cached is not None and cached.expires_at > time.time():
            return cached
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise Unauthorized("the bearer token is not a valid JWT") from None
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            await self._rereads.get("keys", self._read)
            key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise Unauthorized("the bearer token was signed by an unknown key")
        try:
            payload = jwt.decode(
                token,
                key.public,
                algorithms=[ALGORITHM],
                audience=self.service,
                issuer=ISSUER,
                options={"require": ["exp", "iat", "aud", "iss", "sub"]},
            )
            claims = _claims(payload)
        except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
            raise Unauthorized(f"the bearer token is not valid: {exc}") from None
        if len(self._verified) >= VERIFIED_CACHE_LIMIT:
            self._verified.clear()
        self._verified[token] = claims
        return claims

    def jwks(self) -> dict[str, Any]:
        """The public keys, as a JSON Web Key Set."""
        keys = []
        for key in self._keys.values():
            jwk: dict[str, Any] = ECAlgorithm.to_jwk(key.public, as_dict=True)
            keys.append(jwk | {"kid": key.kid, "alg": ALGORITHM, "use": "sig"})
        return {"keys": keys}


def _key_id(public_pem: bytes) -> str:
    return hashlib.sha256(public_pem).hexdigest()[:32]


def _claims(payload: Mapping[str, Any]) -> TokenClaims:
    principal = Principal.from_claim(payload["sub"], payload.get("ch") or {})
    return TokenClaims(
        principal,
        _actions_by_resource(payload.get("access")),
        _actions_by_resource(payload.get("refused")),
        float(payload["exp"]),
    )


def _actions_by_resource(entries: Any) -> dict[tuple[str, str], frozenset[str]]:
    found: dict[tuple[str, str], frozenset[str]] = {}
    for entry in entries or []:
        key = (str(entry["type"]), str(entry["name"]))
        found[key] = found.get(key, frozenset()) | frozenset(map(str, entry["actions"]))
    return found
