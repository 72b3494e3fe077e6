"""The /api/v1 route table (mounted by ``app.py``)."""

from __future__ import annotations

from starlette.routing import Route

from cargohold.api import security

MANIFEST = "/repository/{repository:path}/manifest/{digest}"

ROUTES = [
    Route(f"{MANIFEST}/security", security.security_report, methods=["GET"]),
    Route(f"{MANIFEST}/sbom", security.sbom, methods=["GET"]),
]
