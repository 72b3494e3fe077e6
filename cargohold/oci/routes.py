"""The /v2 route table, with the action each route needs (``oci.access``). Upload routes
come before blob routes: both live under ``blobs/``, and an upload path must never be
read as a digest. HEAD routes come before GET routes, because Starlette lets a GET route
answer HEAD too."""

from __future__ import annotations

from starlette.routing import Route

from cargohold.auth.scopes import DELETE, PULL, PUSH
from cargohold.oci import base, blobs, manifests, referrers, tags, token, uploads
from cargohold.oci.access import authenticated, catalog_guarded, guarded

NAME = "/v2/{name:path}"
UPLOAD = f"{NAME}/blobs/uploads/{{upload_id}}"

ROUTES = [
    Route("/v2/", authenticated(base.api_version), methods=["GET"]),
    Route("/v2/auth", token.get_token, methods=["GET"]),
    Route("/v2/auth", token.post_token, methods=["POST"]),
    Route("/v2/_catalog", catalog_guarded(tags.catalog), methods=["GET"]),
    Route(f"{NAME}/tags/list", guarded(tags.list_tags, PULL), methods=["GET"]),
    Route(
        f"{NAME}/manifests/{{reference}}", guarded(manifests.head_manifest, PULL), methods=["HEAD"]
    ),
    Route(
        f"{NAME}/manifests/{{reference}}", guarded(manifests.get_manifest, PULL), methods=["GET"]
    ),
    Route(
        f"{NAME}/manifests/{{reference}}",
        guarded(manifests.put_manifest, PUSH, creates=True),
        methods=["PUT"],
    ),
    Route(
        f"{NAME}/manifests/{{reference}}",
        guarded(manifests.delete_manifest, DELETE),
        methods=["DELETE"],
    ),
    Route(
        f"{NAME}/blobs/uploads/",
        guarded(uploads.start_upload, PUSH, creates=True),
        methods=["POST"],
    ),
    Route(UPLOAD, guarded(uploads.patch_upload, PUSH), methods=["PATCH"]),
    Route(UPLOAD, guarded(uploads.upload_status, PUSH), methods=["GET"]),
    Route(UPLOAD, guarded(uploads.complete_upload, PUSH), methods=["PUT"]),
    Route(UPLOAD, guarded(uploads.cancel_upload, PUSH), methods=["DELETE"]),
    Route(f"{NAME}/blobs/{{digest}}", guarded(blobs.head_blob, PULL), methods=["HEAD"]),
    Route(f"{NAME}/blobs/{{digest}}", guarded(blobs.get_blob, PULL), methods=["GET"]),
    Route(f"{NAME}/blobs/{{digest}}", guarded(blobs.delete_blob, DELETE), methods=["DELETE"]),
    Route(f"{NAME}/referrers/{{digest}}", guarded(referrers.list_referrers, PULL), methods=["GET"]),
]
