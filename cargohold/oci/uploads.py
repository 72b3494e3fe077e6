"""``/v2/<name>/blobs/uploads/``: start (also monolithic and cross-repository mount),
PATCH chunks, GET status, PUT to complete, DELETE to cancel. A mount needs a token that
grants pull on the source repository; without it, the spec's fallback applies: a new
upload is opened."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from cargohold.content.blobs import BlobInfo
from cargohold.content.uploads import UploadState
from cargohold.errors import DigestInvalid, RangeInvalid
from cargohold.oci.access import may_pull
from cargohold.oci.params import content_length, repository_name, upload_id
from cargohold.oci.services import services
from cargohold.spec.digest import Digest
from cargohold.spec.ranges import parse_content_range


def upload_headers(state: UploadState) -> dict[str, str]:
    """Where to send the next chunk, and how many bytes the registry has."""
    last = max(state.size - 1, 0)
    return {
        "Location": f"/v2/{state.repository}/blobs/uploads/{state.id}",
        "Range": f"0-{last}",
        "Docker-Upload-UUID": state.id,
        "OCI-Chunk-Min-Length": "0",
    }


def created(repository: str, blob: BlobInfo) -> Response:
    headers = {
        "Location": f"/v2/{repository}/blobs/{blob.digest}",
        "Docker-Content-Digest": blob.digest,
    }
    return Response(None, 201, headers=headers)


async def start_upload(request: Request) -> Response:
    """POST: mount from another repository, take a whole blob at once (``?digest=``), or
    open an upload for chunks."""
    repository = repository_name(request)
    uploads = services(request).uploads
    query = request.query_params
    if "mount" in query and "from" in query and may_pull(request, query["from"]):
        blob = await services(request).blobs.mount(
            repository, query["from"], Digest.parse(query["mount"])
        )
        if blob is not None:
            return created(repository, blob)
    digest = Digest.parse(query["digest"]) if "digest" in query else None
    state = await uploads.start(repository)
    if digest is None:
        return Response(None, 202, headers=upload_headers(state))
    blob = await uploads.complete(
        repository, state.id, digest, request.stream(), length=content_length(request)
    )
    return created(repository, blob)


async def patch_upload(request: Request) -> Response:
    repository = repository_name(request)
    uploads = services(request).uploads
    length = content_length(request)
    try:
        state = await uploads.append(
            repository,
            upload_id(request),
            request.stream(),
            start=_chunk_start(request, length),
            length=length,
        )
    except RangeInvalid as exc:
        # A refused chunk's 416 says where to resume (Docker Registry HTTP API v2).
        current = await uploads.status(repository, upload_id(request))
        exc.headers.update(upload_headers(current))
        raise
    return Response(None, 202, headers=upload_headers(state))


def _chunk_start(request: Request, length: int | None) -> int | None:
    """Where the chunk says it starts (``Content-Range``), None when it does not say."""
    header = request.headers.get("content-range")
    if not header:
        return None
    start, end = parse_content_range(header)
    if length is not None and end - start + 1 != length:
        raise RangeInvalid(
            f"Content-Range {header!r} covers {end - start + 1} bytes, "
            f"but Content-Length is {length}"
        )
    return start


async def upload_status(request: Request) -> Response:
    state = await services(request).uploads.status(repository_name(request), upload_id(request))
    return Response(None, 204, headers=upload_headers(state))


async def complete_upload(request: Request) -> Response:
    repository = repository_name(request)
    digest = request.query_params.get("digest")
    if digest is None:
        raise DigestInvalid("completing an upload needs ?digest= with the blob's digest")
    length = content_length(request)
    body = request.stream() if length != 0 else None
    blob = await services(request).uploads.complete(
        repository,
        upload_id(request),
        Digest.parse(digest),
        body,
        start=_chunk_start(request, length) if body is not None else None,
        length=length,
    )
    return created(repository, blob)


async def cancel_upload(request: Request) -> Response:
    await services(request).uploads.cancel(repository_name(request), upload_id(request))
    return Response(None, 204)
