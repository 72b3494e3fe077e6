"""The one registry of OCI error codes: the HTTP status each is answered with.

Codes and statuses follow the OCI Distribution Specification v1.1 (section "Error
Codes") and the Docker Registry HTTP API v2. ``RegistryError`` subclasses in
``cargohold.errors`` name the code; the HTTP layer looks the status up here.
"""

from __future__ import annotations

from typing import Final

ERROR_STATUS: Final[dict[str, int]] = {
    "BLOB_UNKNOWN": 404,
    "BLOB_UPLOAD_INVALID": 400,
    "BLOB_UPLOAD_UNKNOWN": 404,
    "DIGEST_INVALID": 400,
    "MANIFEST_BLOB_UNKNOWN": 400,
    "MANIFEST_INVALID": 400,
    "MANIFEST_UNKNOWN": 404,
    "NAME_INVALID": 400,
    "NAME_UNKNOWN": 404,
    "SIZE_INVALID": 400,
    "RANGE_INVALID": 416,
    "PAGINATION_NUMBER_INVALID": 400,
    "UNAUTHORIZED": 401,
    "DENIED": 403,
    "UNSUPPORTED": 405,
    "TOOMANYREQUESTS": 429,
    "UNKNOWN": 500,
    # The management API's codes, beside the OCI ones.
    "NOT_FOUND": 404,
    "ALREADY_EXISTS": 409,
    "INVALID_REQUEST": 400,
}


def status_of(code: str) -> int:
    """The HTTP status for ``code``; 500 for a code this table does not know."""
    return ERROR_STATUS.get(code, 500)
