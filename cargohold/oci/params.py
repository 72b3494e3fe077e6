"""Parsing the path and query parameters of /v2 requests into spec types."""

from __future__ import annotations

import re

from starlette.requests import Request

from cargohold.errors import BlobUploadUnknown, ManifestInvalid, ManifestUnknown, SizeInvalid
from cargohold.spec.digest import Digest
from cargohold.spec.reference import parse_reference, validate_repository_name

_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


def repository_name(request: Request) -> str:
    """The repository named in the path; ``NameInvalid`` when it breaks the naming rules."""
    return validate_repository_name(request.path_params["name"])


def path_digest(request: Request) -> Digest:
    return Digest.parse(request.path_params["digest"])


def path_reference(request: Request) -> Digest | str:
    """The tag or digest to push to; ``ManifestInvalid`` when it is neither."""
    return parse_reference(request.path_params["reference"])


def existing_reference(request: Request) -> Digest | str:
    """The tag or digest to read or delete. A malformed one names nothing that can exist:
    ``ManifestUnknown`` (404), saying why."""
    try:
        return parse_reference(request.path_params["reference"])
    except ManifestInvalid as exc:
        raise ManifestUnknown(exc.message) from exc


def upload_id(request: Request) -> str:
    """The upload id in the path; an id this registry never issues is unknown."""
    value: str = request.path_params["upload_id"]
    if not _UPLOAD_ID.match(value):
        raise BlobUploadUnknown(f"upload {value!r} is not in progress")
    return value


def content_length(request: Request) -> int | None:
    """The declared body length, or None for a chunked body."""
    value = request.headers.get("content-length")
    if value is None:
        return None
    if not value.isdigit():
        raise SizeInvalid(f"Content-Length {value!r} is not a number")
    return int(value)
