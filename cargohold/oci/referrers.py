"""``/v2/<name>/referrers/<digest>``: the manifests whose ``subject`` is a manifest."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from cargohold.oci.params import path_digest, repository_name
from cargohold.oci.responses import json_response
from cargohold.oci.services import services
from cargohold.spec.mediatypes import OCI_INDEX


async def list_referrers(request: Request) -> Response:
    """An OCI image index of the referrers, filtered by ``?artifactType=`` when given. An
    unknown subject has no referrers: an empty index, not an error (spec v1.1)."""
    artifact_type = request.query_params.get("artifactType") or None
    descriptors = await services(request).manifests.referrers(
        repository_name(request), path_digest(request), artifact_type
    )
    body = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [descriptor.to_json() for descriptor in descriptors],
    }
    headers = {"OCI-Filters-Applied": "artifactType"} if artifact_type else {}
    return json_response(body, headers=headers, media_type=OCI_INDEX)
