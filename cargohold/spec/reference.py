"""Repository names and manifest references (tags or digests), per the OCI Distribution
Specification v1.1.

A repository name is one or more ``/``-separated path components; each component is
lower-case letters and digits, joined by single separators (``.``, ``_``, ``__`` or a run
of ``-``). A reference in ``/v2/<name>/manifests/<reference>`` is a digest when it holds a
``:`` and a tag otherwise.
"""

from __future__ import annotations

import re
from typing import Final

from cargohold.errors import DigestInvalid, ManifestInvalid, NameInvalid
from cargohold.spec.digest import Digest

MAX_NAME_LENGTH: Final = 255
"""The longest repository name accepted, in characters (the limit clients impose)."""

_COMPONENT: Final = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
NAME_PATTERN: Final = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
"""A whole repository name, to be used with ``fullmatch``."""
_COMPONENT_PATTERN: Final = re.compile(_COMPONENT)
_COMPONENT_CHARACTERS: Final = re.compile(r"[a-z0-9._-]+")

TAG_PATTERN: Final = re.compile(r"[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}")
"""A tag, to be used with ``fullmatch``: at most 128 characters, not starting with ``.``
or ``-``."""


def validate_repository_name(name: str) -> str:
    """Return ``name`` if it is a valid repository name.

    Raises ``NameInvalid`` whose message says what is wrong: empty, longer than
    :data:`MAX_NAME_LENGTH`, upper case, an empty path component (leading, trailing or
    doubled ``/``), a relative component such as ``..``, a character outside
    ``a-z 0-9 . _ -``, or a component that starts, ends or doubles a separator.
    """
    if len(name) <= MAX_NAME_LENGTH and NAME_PATTERN.fullmatch(name):
        return name
    raise NameInvalid(f"invalid repository name {name!r}: {_name_problem(name)}")


def _name_problem(name: str) -> str:
    if not name:
        return "the name is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"it is {len(name)} characters long; the limit is {MAX_NAME_LENGTH}"
    if name != name.lower():
        return "repository names must be lower case"
    for component in name.split("/"):
        if not _COMPONENT_PATTERN.fullmatch(component):
            return _component_problem(component)
    return "it does not follow the OCI repository name grammar"


def _component_problem(component: str) -> str:
    if not component:
        return "it has an empty path component (a leading, trailing or doubled '/')"
    if component.strip(".") == "":
        return f"path component {component!r} is relative; names cannot contain '.' or '..'"
    if not _COMPONENT_CHARACTERS.fullmatch(component):
        bad = sorted({c for c in component if not _COMPONENT_CHARACTERS.fullmatch(c)})
        return (
            f"path component {component!r} contains {', '.join(map(repr, bad))}; "
            "only a-z, 0-9, '.', '_' and '-' are allowed"
        )
    if not (component[0].isalnum() and component[-1].isalnum()):
        return f"path component {component!r} must start and end with a lower-case letter or digit"
    return (
        f"path component {component!r} has consecutive separators; only '__' and runs "
        "of '-' may repeat"
    )


def is_tag(text: str) -> bool:
    """Whether ``text`` is a valid tag (:data:`TAG_PATTERN`)."""
    return TAG_PATTERN.fullmatch(text) is not None


def parse_reference(text: str) -> Digest | str:
    """A manifest reference: a :class:`Digest` when ``text`` contains ``:``, else a tag.

    Raises ``ManifestInvalid`` naming the reference when it is neither a valid digest nor
    a valid tag (a tag longer than 128 characters, a character outside
    ``A-Z a-z 0-9 . _ -``, or a leading ``.`` or ``-``).
    """
    if ":" in text:
        try:
            return Digest.parse(text)
        except DigestInvalid as exc:
            raise ManifestInvalid(
                f"reference {text!r} is not a valid digest: {exc.message}"
            ) from exc
    if is_tag(text):
        return text
    raise ManifestInvalid(f"reference {text!r} is not a valid tag: {_tag_problem(text)}")


def _tag_problem(tag: str) -> str:
    if not tag:
        return "the tag is empty"
    if len(tag) > 128:
        return f"it is {len(tag)} characters long; the limit is 128"
    if tag[0] in ".-":
        return "a tag cannot start with '.' or '-'"
    return "only A-Z, a-z, 0-9, '.', '_' and '-' are allowed"


def namespace_of(name: str) -> str:
    """The first path component of repository ``name`` (``"team"`` for
    ``"team/app/api"``); for a single-component name, the name itself. ``name`` is
    expected to be valid already."""
    return name.split("/", 1)[0]
