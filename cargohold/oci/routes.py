"""The /v2 route table, with the action each route needs (``oci.access``). Every template
fixes the segments after the repository name, so no path matches two of them (as
``RouteTable`` needs): an upload path is never read as a digest."""

from __future__ import annotations

from cargohold.auth.scopes import DELETE, PULL, PUSH
from cargohold.oci import base, blobs, manifests, referrers, tags, token, uploads
from cargohold.oci.access import authenticated, catalog_guarded, guarded
from cargohold.oci.route_table import RouteTable

NAME = "/v2/{name:path}"

ROUTES = RouteTable(
    {
        "/v2/": {"GET": authenticated(base.api_version)},
        "/v2/auth": {"GET": token.get_token, "POST": token.post_token},
        "/v2/_catalog": {"GET": catalog_guarded(tags.catalog)},
        f"{NAME}/tags/list": {"GET": guarded(tags.list_tags, PULL)},
        f"{NAME}/manifests/{{reference}}": {
            "HEAD": guarded(manifests.head_manifest, PULL),
            "GET": guarded(manifests.get_manifest, PULL),
            "PUT": guarded(manifests.put_manifest, PUSH, creates=True),
            "DELETE": guarded(manifests.delete_manifest, DELETE),
        },
        f"{NAME}/blobs/uploads/": {"POST": guarded(uploads.start_upload, PUSH, creates=True)},
        f"{NAME}/blobs/uploads/{{upload_id}}": {
            "PATCH": guarded(uploads.patch_upload, PUSH),
            "GET": guarded(uploads.upload_status, PUSH),
            "PUT": guarded(uploads.complete_upload, PUSH),
            "DELETE": guarded(uploads.cancel_upload, PUSH),
        },
        f"{NAME}/blobs/{{digest}}": {
            "HEAD": guarded(blobs.head_blob, PULL),
            "GET": guarded(blobs.get_blob, PULL),
            "DELETE": guarded(blobs.delete_blob, DELETE),
        },
        f"{NAME}/referrers/{{digest}}": {"GET": guarded(referrers.list_referrers, PULL)},
    }
)
