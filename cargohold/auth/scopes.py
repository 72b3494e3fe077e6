"""Roles, and the Docker token scheme's scopes: ``repository:NAME:pull,push`` and
``registry:catalog:*``.

A repository role grants actions: ``read`` pulls, ``write`` also pushes and deletes
(tags and manifests, as in Quay), ``admin`` also manages the repository's permissions
and settings. ``*`` in a scope asks for every action the caller has.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from cargohold.errors import Unauthorized


class Role(IntEnum):
    """Repository roles, ordered: a higher role includes the lower ones."""

    READ = 1
    WRITE = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, label: str) -> Role:
        try:
            return cls[label.upper()]
        except KeyError:
            raise ValueError(f"unknown role {label!r}: use read, write or admin") from None


PULL, PUSH, DELETE = "pull", "push", "delete"
REPOSITORY_ACTIONS = (PULL, PUSH, DELETE)
ACTION_ROLES = {PULL: Role.READ, PUSH: Role.WRITE, DELETE: Role.WRITE}


def actions_of(role: Role | None) -> frozenset[str]:
    """The repository actions ``role`` allows."""
    if role is None:
        return frozenset()
    return frozenset(a for a, needed in ACTION_ROLES.items() if role >= needed)


@dataclass(frozen=True, slots=True)
class Scope:
    """One requested scope: ``type`` ``repository`` or ``registry``, a name, actions."""

    type: str
    name: str
    actions: frozenset[str]

    def render(self) -> str:
        return f"{self.type}:{self.name}:{','.join(sorted(self.actions))}"


def parse_scope(text: str) -> Scope:
    """Parse one scope. The name sits between the first and the last colon: repository
    names hold no colon, but a resource type may carry a class (``repository(plugin)``)."""
    kind, sep, rest = text.partition(":")
    name, sep2, actions = rest.rpartition(":")
    if not sep or not sep2 or not kind or not name:
        raise Unauthorized(f"malformed scope {text!r}: expected TYPE:NAME:ACTIONS")
    kind = kind.split("(", 1)[0]
    return Scope(kind, name, frozenset(a for a in actions.split(",") if a))


def parse_scopes(values: list[str]) -> list[Scope]:
    """Every scope of the ``scope`` parameters (each may hold several, space-separated)."""
    return [parse_scope(part) for value in values for part in value.split()]
