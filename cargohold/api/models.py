"""The value types the API's parameters and bodies share, with the constraints that the
published OpenAPI document states: names by their grammar, identifiers within the
database's integer range, text without the characters no database stores (NUL, lone
surrogates), datetimes with a time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field

from cargohold.auth.access import API_SCOPES
from cargohold.auth.accounts import USE_RECORDED_EVERY_SECONDS

_ACCOUNT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
_SHORT = r"[a-z][a-z0-9_]{0,63}"
MAX_ID = 2**31 - 1


def _storable(text: str) -> str:
    if "\0" in text:
        raise ValueError("text may not contain NUL characters")
    try:
        text.encode()
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    return text


def _utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range") from None


Text = Annotated[str, Field(max_length=4096), AfterValidator(_storable)]
Email = Annotated[
    str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+$"), AfterValidator(_storable)
]
Password = Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(_storable)]
Timestamp = Annotated[AwareDatetime, AfterValidator(_utc)]

AccountName = Annotated[
    str,
    Field(pattern=f"^{_ACCOUNT}$", max_length=255, description="a user or organization"),
]
MemberName = Annotated[
    str,
    Field(
        pattern=rf"^{_ACCOUNT}(?:\+{_SHORT})?$",
        max_length=320,
        description="a user, or a robot (NAMESPACE+name)",
    ),
]
ShortName = Annotated[
    str, Field(pattern=f"^{_SHORT}$", description="a robot's name within its namespace")
]
TeamName = Annotated[str, Field(pattern=f"^{_SHORT}$")]
RepositoryName = Annotated[
    str,
    Field(
        pattern=rf"^{_ACCOUNT}(?:/{_ACCOUNT})*$",
        max_length=255,
        description="a repository's full name: NAMESPACE/PATH",
    ),
]
Identifier = Annotated[int, Field(ge=1, le=MAX_ID)]
LastUse = Annotated[
    datetime | None,
    Field(
        description=f"recorded once in {USE_RECORDED_EVERY_SECONDS} s at most, "
        "so up to that much behind"
    ),
]

RepositoryRole = Literal["read", "write", "admin"]
TeamRole = Literal["member", "creator", "admin"]
Visibility = Literal["public", "private"]
GranteeKind = Literal["user", "team"]


def _api_scope(scope: str) -> str:
    if scope not in API_SCOPES:
        raise ValueError(f"unknown scope {scope!r}: use {', '.join(API_SCOPES)}")
    return scope


ApiScope = Annotated[
    str, AfterValidator(_api_scope), Field(json_schema_extra={"enum": list(API_SCOPES)})
]


class Body(BaseModel):
    """A request body: unknown fields are mistakes, not ignored."""

    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    """A response body, read from the attributes of what a service returned."""

    model_config = ConfigDict(from_attributes=True)


class Grant(Out):
    """A role given to a team or to an account (user or robot)."""

    kind: GranteeKind
    name: str
    role: str


class RoleBody(Body):
    role: RepositoryRole
