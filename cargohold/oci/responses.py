"""Rendering: JSON bodies, the OCI error body, and the headers every /v2 answer carries."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from cargohold.errors import RegistryError
from cargohold.spec.errorcodes import status_of

API_VERSION_HEADER = {"Docker-Distribution-API-Version": "registry/2.0"}


def json_response(
    body: Any,
    status: int = 200,
    headers: dict[str, str] | None = None,
    media_type: str = "application/json",
) -> Response:
    content = json.dumps(body, separators=(",", ":")).encode()
    return Response(content, status, headers=headers, media_type=media_type)


def error_response(request: Request, exc: Exception) -> Response:
    """The one place that turns a ``RegistryError`` into ``{"errors": [...]}``."""
    assert isinstance(exc, RegistryError)
    status = exc.status or status_of(exc.code)
    error: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.detail is not None:
        error["detail"] = exc.detail
    if request.method == "HEAD":
        return Response(None, status, headers=exc.headers)
    return json_response({"errors": [error]}, status, exc.headers)
