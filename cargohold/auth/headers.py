"""The ``Authorization`` and ``WWW-Authenticate`` headers, as strings (no HTTP framework)."""

from __future__ import annotations

import base64
import binascii


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """``(username, secret)`` from ``Basic base64(user:secret)``, or None."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, secret = decoded.partition(":")
    return (username, secret) if sep else None


def bearer_token(header: str | None) -> str | None:
    """The token of ``Bearer TOKEN``, or None."""
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def bearer_challenge(
    realm: str, service: str, scope: str | None = None, error: str | None = None
) -> str:
    """The ``WWW-Authenticate`` value sending a client to the token endpoint."""
    parts = [f'realm="{realm}"', f'service="{service}"']
    if scope:
        parts.append(f'scope="{scope}"')
    if error:
        parts.append(f'error="{error}"')
    return "Bearer " + ",".join(parts)
