"""``/v2/<name>/blobs/<digest>``: GET (with Range), HEAD, DELETE."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from cargohold.content.blobs import BlobInfo
from cargohold.errors import RangeInvalid
from cargohold.oci.access import audit_later
from cargohold.oci.params import path_digest, repository_name
from cargohold.oci.services import services
from cargohold.spec.ranges import parse_range

OCTET_STREAM = "application/octet-stream"


def blob_headers(blob: BlobInfo) -> dict[str, str]:
    return {
        "Docker-Content-Digest": blob.digest,
        "Accept-Ranges": "bytes",
        "Cache-Control": "max-age=31536000",
        "ETag": f'"{blob.digest}"',
    }


async def head_blob(request: Request) -> Response:
    blob = await services(request).blobs.stat(repository_name(request), path_digest(request))
    headers = blob_headers(blob) | {"Content-Length": str(blob.size)}
    return Response(None, 200, headers=headers, media_type=OCTET_STREAM)


async def get_blob(request: Request) -> Response:
    """The blob's bytes, whole or the one range asked for, streamed from storage."""
    blobs = services(request).blobs
    blob = await blobs.stat(repository_name(request), path_digest(request))
    byte_range = _requested_range(request, blob)
    headers = blob_headers(blob)
    if byte_range is None:
        headers["Content-Length"] = str(blob.size)
        return StreamingResponse(blobs.read(blob), headers=headers, media_type=OCTET_STREAM)
    start, end = byte_range
    headers["Content-Length"] = str(end - start + 1)
    headers["Content-Range"] = f"bytes {start}-{end}/{blob.size}"
    return StreamingResponse(
        blobs.read(blob, start, end - start + 1), 206, headers=headers, media_type=OCTET_STREAM
    )


def _requested_range(request: Request, blob: BlobInfo) -> tuple[int, int] | None:
    header = request.headers.get("range")
    if header is None:
        return None
    try:
        return parse_range(header, blob.size)
    except RangeInvalid as exc:
        exc.headers["Content-Range"] = f"bytes */{blob.size}"
        raise


async def delete_blob(request: Request) -> Response:
    repository, digest = repository_name(request), path_digest(request)
    await services(request).blobs.delete(repository, digest)
    audit_later(request, "delete_blob", repository, digest=str(digest))
    return Response(None, 202)
