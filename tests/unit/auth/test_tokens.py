"""Registry tokens: ES256 JWTs, verified strictly; keys in the database, rotated."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from cargohold.auth.principal import ANONYMOUS_PRINCIPAL, Principal
from cargohold.auth.services import AuthServices
from cargohold.auth.tokens import Grant, KeyRing
from cargohold.db.session import Database
from cargohold.errors import Unauthorized

ALICE = Principal(account_id=7, name="alice", kind="user", credential_id=3)
GRANTS = [
    Grant("repository", "acme/app", ("pull", "push"), ("delete",)),
    Grant("repository", "x", (), ("pull",)),
]


def _payload(token: str) -> dict[str, Any]:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


async def test_issued_token_carries_exactly_the_grants(auth: AuthServices) -> None:
    issued = await auth.keys.issue(ALICE, GRANTS)
    claims = await auth.keys.verify(issued.token)
    assert claims.principal == Principal(7, "alice", "user", credential_id=3)
    assert claims.actions("repository", "acme/app") == {"pull", "push"}
    assert claims.actions("repository", "x") == frozenset()
    assert claims.actions("repository", "other") == frozenset()
    assert claims.was_refused("repository", "acme/app", "delete")
    assert claims.was_refused("repository", "x", "pull")
    assert not claims.was_refused("repository", "other", "pull")
    assert not claims.was_refused("repository", "acme/app", "pull")
    payload = _payload(issued.token)
    assert payload["aud"] == "cargohold" and payload["iss"] == "cargohold"
    assert payload["sub"] == "alice"
    assert payload["exp"] - payload["iat"] == 300
    assert jwt.get_unverified_header(issued.token)["alg"] == "ES256"


async def test_anonymous_token(auth: AuthServices) -> None:
    issued = await auth.keys.issue(ANONYMOUS_PRINCIPAL, [])
    claims = await auth.keys.verify(issued.token)
    assert claims.principal.is_anonymous
    assert _payload(issued.token)["sub"] == ""


async def test_tampered_signature_is_refused(auth: AuthServices) -> None:
    token = (await auth.keys.issue(ALICE, GRANTS)).token
    header, body, signature = token.split(".")
    flipped = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    with pytest.raises(Unauthorized):
        await auth.keys.verify(f"{header}.{body}.{flipped}")


async def test_escalated_claims_are_refused(auth: AuthServices) -> None:
    """A client that rewrites its token's access list breaks the signature."""
    token = (await auth.keys.issue(ALICE, GRANTS)).token
    header, _, signature = token.split(".")
    payload = _payload(token)
    payload["access"] = [{"type": "repository", "name": "victim/app", "actions": ["push"]}]
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthorized, match="not valid"):
        await auth.keys.verify(f"{header}.{body}.{signature}")


async def _signed_with(auth: AuthServices, key: Any, algorithm: str, **changes: Any) -> str:
    """A token like a real one, with ``changes`` to its claims, signed by ``key``."""
    real = (await auth.keys.issue(ALICE, GRANTS)).token
    payload = _payload(real) | changes
    kid = jwt.get_unverified_header(real)["kid"]
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid})


async def test_expired_wrong_audience_and_foreign_key_are_refused(auth: AuthServices) -> None:
    own = auth.keys._signing  # the real key, to forge otherwise valid tokens
    assert own is not None and own.private is not None
    now = int(time.time())
    expired = await _signed_with(auth, own.private, "ES256", exp=now - 10, iat=now - 400)
    other_service = await _signed_with(auth, own.private, "ES256", aud="another-registry")
    other_issuer = await _signed_with(auth, own.private, "ES256", iss="evil")
    foreign = await _signed_with(auth, ec.generate_private_key(ec.SECP256R1()), "ES256")
    for token, reason in [
        (expired, "(?i)expired"),
        (other_service, "(?i)audience"),
        (other_issuer, "(?i)issuer"),
        (foreign, "(?i)signature"),
    ]:
        with pytest.raises(Unauthorized, match=reason):
            await auth.keys.verify(token)


async def test_algorithm_confusion_and_none_are_refused(auth: AuthServices) -> None:
    payload = _payload((await auth.keys.issue(ALICE, GRANTS)).token)
    unsigned = jwt.encode(payload, None, algorithm="none")
    hmac_signed = jwt.encode(payload, "a shared secret of thirty-two bytes!", algorithm="HS256")
    for token in (unsigned, hmac_signed, "not-a-jwt", ""):
        with pytest.raises(Unauthorized):
            await auth.keys.verify(token)


async def test_rotation_keeps_old_tokens_valid_and_signs_with_the_new_key(
    auth: AuthServices,
) -> None:
    old = (await auth.keys.issue(ALICE, GRANTS)).token
    new_kid = await auth.keys.rotate()
    new = (await auth.keys.issue(ALICE, GRANTS)).token
    assert jwt.get_unverified_header(new)["kid"] == new_kid
    assert jwt.get_unverified_header(old)["kid"] != new_kid
    await auth.keys.verify(old)
    await auth.keys.verify(new)
    kids = {key["kid"] for key in auth.keys.jwks()["keys"]}
    assert kids == {new_kid, jwt.get_unverified_header(old)["kid"]}


async def test_jwks_verifies_issued_tokens(auth: AuthServices) -> None:
    token = (await auth.keys.issue(ALICE, GRANTS)).token
    (jwk,) = auth.keys.jwks()["keys"]
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256" and "d" not in jwk
    public = jwt.PyJWK(jwk).key
    decoded = jwt.decode(token, public, algorithms=["ES256"], audience="cargohold")
    assert decoded["sub"] == "alice"


async def test_node_with_another_secret_verifies_but_signs_with_its_own_key(
    auth: AuthServices, auth_db: Database
) -> None:
    token = (await auth.keys.issue(ALICE, GRANTS)).token
    other = KeyRing(auth_db, b"a different installation secret", "cargohold", 300)
    await other.load()
    await other.verify(token)
    own = (await other.issue(ALICE, GRANTS)).token
    assert jwt.get_unverified_header(own)["kid"] != jwt.get_unverified_header(token)["kid"]
    await auth.keys.verify(own)  # the first node finds the new key in the database


def count_reads(keys: KeyRing, monkeypatch: pytest.MonkeyPatch) -> list[None]:
    """One entry per read of the keys from the database from now on."""
    reads: list[None] = []
    read = keys._read

    async def counted() -> None:
        reads.append(None)
        await read()

    monkeypatch.setattr(keys, "_read", counted)
    return reads


async def test_tokens_of_unknown_keys_cost_one_read_a_second(
    auth: AuthServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = _payload((await auth.keys.issue(ALICE, GRANTS)).token)
    foreign = ec.generate_private_key(ec.SECP256R1())
    forged = [
        jwt.encode(payload, foreign, algorithm="ES256", headers={"kid": f"made-up-{n}"})
        for n in range(20)
    ]
    reads = count_reads(auth.keys, monkeypatch)

    results = await asyncio.gather(
        *(auth.keys.verify(token) for token in forged), return_exceptions=True
    )
    await asyncio.gather(*(auth.keys.verify(token) for token in forged), return_exceptions=True)

    assert all(
        isinstance(result, Unauthorized) and "unknown key" in str(result) for result in results
    )
    assert len(reads) == 1


async def test_concurrent_issues_at_a_refresh_read_the_keys_once(
    auth: AuthServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    await auth.keys.issue(ALICE, GRANTS)
    reads = count_reads(auth.keys, monkeypatch)
    monkeypatch.setattr(auth.keys._refreshes, "seconds", 0.0)  # every issue finds it stale

    issued = await asyncio.gather(*(auth.keys.issue(ALICE, GRANTS) for _ in range(20)))

    assert len({token.token for token in issued}) == 20
    assert len(reads) == 1
