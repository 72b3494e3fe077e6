"""What an external identity provider (LDAP, OIDC) says about a person who logged in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ExternalIdentity:
    """A person as the provider ``provider`` ("ldap" or "oidc") knows them.

    ``subject`` is the provider's stable identifier (LDAP entry DN or ``entryUUID``, OIDC
    ``sub``); ``username`` is the login name cargohold proposes for a new account;
    ``groups`` are the provider's group names, synced into cargohold teams.
    """

    provider: str
    subject: str
    username: str
    email: str | None
    groups: tuple[str, ...] = ()
