"""cargohold's exception tree.

Every layer raises these; foreign exceptions (OS errors, database driver errors) are
translated at the boundary where they occur, with ``raise ... from exc``::

    CargoholdError
    ├── ConfigError                 settings that cannot be used
    ├── IdentityProviderError       an external identity provider cannot be used
    ├── LoginFailed                 a login through an identity provider that did not succeed
    ├── StorageError                a blob driver failed
    │   └── PathNotFound            the driver has nothing at that path
    ├── ConflictError               a concurrent writer changed what this one read
    └── RegistryError               a request the registry refuses; carries an OCI error code
        ├── BlobUnknown             BLOB_UNKNOWN
        ├── BlobUploadInvalid       BLOB_UPLOAD_INVALID
        ├── BlobUploadUnknown       BLOB_UPLOAD_UNKNOWN
        ├── DigestInvalid           DIGEST_INVALID
        ├── ManifestBlobUnknown     MANIFEST_BLOB_UNKNOWN
        ├── ManifestInvalid         MANIFEST_INVALID
        ├── ManifestUnknown         MANIFEST_UNKNOWN
        ├── NameInvalid             NAME_INVALID
        ├── NameUnknown             NAME_UNKNOWN
        ├── SizeInvalid             SIZE_INVALID
        ├── RangeInvalid            RANGE_INVALID (416 on a chunk or a Range past the end)
        ├── PayloadTooLarge         SIZE_INVALID with 413
        ├── Unauthorized            UNAUTHORIZED
        ├── Denied                  DENIED
        ├── Unsupported             UNSUPPORTED
        └── TooManyRequests         TOOMANYREQUESTS

A ``RegistryError`` knows its code, a message a person understands and an optional
``detail`` (any JSON value), and headers the response must carry (``Content-Range`` on a
416). The HTTP status of each code lives in one table,
``cargohold.spec.errorcodes``; only the HTTP layer renders errors.
"""

from __future__ import annotations

from typing import Any, ClassVar


class CargoholdError(Exception):
    """The root of every error cargohold raises on purpose."""


class ConfigError(CargoholdError):
    """The settings cannot be used as given."""


class IdentityProviderError(CargoholdError):
    """An external identity provider (LDAP, OIDC) cannot be reached or refuses cargohold's
    own credentials; a person's wrong password is not this error."""


class LoginFailed(CargoholdError):
    """A login through an identity provider did not succeed: the person cancelled or was
    refused, or the callback or token does not validate. The person may try again."""


class StorageError(CargoholdError):
    """A blob storage driver failed to do what it was asked."""


class PathNotFound(StorageError):
    """The storage driver holds nothing at the path asked for."""

    def __init__(self, path: str) -> None:
        super().__init__(f"no object at {path!r}")
        self.path = path


class ConflictError(CargoholdError):
    """A concurrent request changed the state this one was built on; retrying may succeed."""


class RegistryError(CargoholdError):
    """A refusal with an OCI error code.

    ``status`` overrides the code's usual HTTP status for the rare case where the spec asks
    for another (413 for an oversized manifest, for example).
    """

    code: ClassVar[str] = "UNKNOWN"
    default_message: ClassVar[str] = "unknown error"

    def __init__(
        self,
        message: str | None = None,
        detail: Any = None,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.detail = detail
        self.status = status
        self.headers = headers or {}
        super().__init__(self.message)


class BlobUnknown(RegistryError):
    code = "BLOB_UNKNOWN"
    default_message = "blob unknown to registry"


class BlobUploadInvalid(RegistryError):
    code = "BLOB_UPLOAD_INVALID"
    default_message = "blob upload invalid"


class BlobUploadUnknown(RegistryError):
    code = "BLOB_UPLOAD_UNKNOWN"
    default_message = "blob upload unknown to registry"


class DigestInvalid(RegistryError):
    code = "DIGEST_INVALID"
    default_message = "provided digest did not match uploaded content"


class ManifestBlobUnknown(RegistryError):
    code = "MANIFEST_BLOB_UNKNOWN"
    default_message = "manifest references a manifest or blob unknown to registry"


class ManifestInvalid(RegistryError):
    code = "MANIFEST_INVALID"
    default_message = "manifest invalid"


class ManifestUnknown(RegistryError):
    code = "MANIFEST_UNKNOWN"
    default_message = "manifest unknown to registry"


class NameInvalid(RegistryError):
    code = "NAME_INVALID"
    default_message = "invalid repository name"


class NameUnknown(RegistryError):
    code = "NAME_UNKNOWN"
    default_message = "repository name not known to registry"


class SizeInvalid(RegistryError):
    code = "SIZE_INVALID"
    default_message = "provided length did not match content length"


class RangeInvalid(RegistryError):
    code = "RANGE_INVALID"
    default_message = "requested range is not satisfiable"


class PayloadTooLarge(RegistryError):
    code = "SIZE_INVALID"
    default_message = "request body is larger than the registry accepts"

    def __init__(self, message: str | None = None, detail: Any = None) -> None:
        super().__init__(message, detail, status=413)


class Unauthorized(RegistryError):
    code = "UNAUTHORIZED"
    default_message = "authentication required"


class Denied(RegistryError):
    code = "DENIED"
    default_message = "requested access to the resource is denied"


class Unsupported(RegistryError):
    code = "UNSUPPORTED"
    default_message = "the operation is unsupported"


class TooManyRequests(RegistryError):
    code = "TOOMANYREQUESTS"
    default_message = "too many requests"


class NotFound(RegistryError):
    """A management API resource (user, organization, team, robot, token) that does not
    exist, or that the caller may not see."""

    code = "NOT_FOUND"
    default_message = "no such resource"


class AlreadyExists(RegistryError):
    code = "ALREADY_EXISTS"
    default_message = "the resource already exists"


class InvalidRequest(RegistryError):
    code = "INVALID_REQUEST"
    default_message = "the request is not valid"
