"""``GET /v2/``: the API version check every client starts with."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from cargohold.oci.responses import json_response


async def api_version(request: Request) -> Response:
    return json_response({})
