"""The /v2 route table. Upload routes come before blob routes: both live under
``blobs/``, and an upload path must never be read as a digest. HEAD routes come before
GET routes, because Starlette lets a GET route answer HEAD too."""

from __future__ import annotations

from starlette.routing import Route

from cargohold.oci import base, blobs, manifests, referrers, tags, uploads

NAME = "/v2/{name:path}"

ROUTES = [
    Route("/v2/", base.api_version, methods=["GET"]),
    Route("/v2/_catalog", tags.catalog, methods=["GET"]),
    Route(f"{NAME}/tags/list", tags.list_tags, methods=["GET"]),
    Route(f"{NAME}/manifests/{{reference}}", manifests.head_manifest, methods=["HEAD"]),
    Route(f"{NAME}/manifests/{{reference}}", manifests.get_manifest, methods=["GET"]),
    Route(f"{NAME}/manifests/{{reference}}", manifests.put_manifest, methods=["PUT"]),
    Route(f"{NAME}/manifests/{{reference}}", manifests.delete_manifest, methods=["DELETE"]),
    Route(f"{NAME}/blobs/uploads/", uploads.start_upload, methods=["POST"]),
    Route(f"{NAME}/blobs/uploads/{{upload_id}}", uploads.patch_upload, methods=["PATCH"]),
    Route(f"{NAME}/blobs/uploads/{{upload_id}}", uploads.upload_status, methods=["GET"]),
    Route(f"{NAME}/blobs/uploads/{{upload_id}}", uploads.complete_upload, methods=["PUT"]),
    Route(f"{NAME}/blobs/uploads/{{upload_id}}", uploads.cancel_upload, methods=["DELETE"]),
    Route(f"{NAME}/blobs/{{digest}}", blobs.head_blob, methods=["HEAD"]),
    Route(f"{NAME}/blobs/{{digest}}", blobs.get_blob, methods=["GET"]),
    Route(f"{NAME}/blobs/{{digest}}", blobs.delete_blob, methods=["DELETE"]),
    Route(f"{NAME}/referrers/{{digest}}", referrers.list_referrers, methods=["GET"]),
]
