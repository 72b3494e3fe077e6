"""Who is asking: an account (user or robot) with the credential it used, or anonymous."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

USER, ROBOT, ANONYMOUS = "user", "robot", "anonymous"


@dataclass(frozen=True, slots=True)
class Principal:
    """``account_id`` is None for anonymous. ``credential_id`` is the token the account
    logged in with (None for a password or a provider login). ``scopes`` limit an API
    token (None: no limit beyond the account's own permissions)."""

    account_id: int | None
    name: str | None
    kind: str
    superuser: bool = False
    credential_id: int | None = None
    scopes: frozenset[str] | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.account_id is None

    def claim(self) -> dict[str, Any]:
        """The ``ch`` claim of a registry token: account and credential ids, kind,
        superuser flag, and an API token's scopes."""
        claim: dict[str, Any] = {"aid": self.account_id, "cid": self.credential_id}
        claim |= {"kind": self.kind, "su": self.superuser}
        if self.scopes is not None:
            claim["sc"] = sorted(self.scopes)
        return claim

    @classmethod
    def from_claim(cls, subject: str, claim: dict[str, Any]) -> Principal:
        account_id = claim.get("aid")
        if account_id is None:
            return ANONYMOUS_PRINCIPAL
        credential_id = claim.get("cid")
        scopes = claim.get("sc")
        return cls(
            account_id=int(account_id),
            name=subject,
            kind=str(claim.get("kind", USER)),
            superuser=claim.get("su") is True,
            credential_id=int(credential_id) if credential_id is not None else None,
            scopes=frozenset(map(str, scopes)) if isinstance(scopes, list) else None,
        )


ANONYMOUS_PRINCIPAL = Principal(account_id=None, name=None, kind=ANONYMOUS)
