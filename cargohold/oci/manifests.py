"""``/v2/<name>/manifests/<reference>``: GET, HEAD, PUT, DELETE by tag or digest."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from cargohold.content.manifests import StoredManifest
from cargohold.content.tag_rules import TagImmutable
from cargohold.errors import ManifestUnknown, PayloadTooLarge
from cargohold.oci.access import audit_later
from cargohold.oci.params import (
    content_length,
    existing_reference,
    path_reference,
    repository_name,
)
from cargohold.oci.services import services
from cargohold.spec.manifest import MAX_MANIFEST_SIZE
from cargohold.spec.mediatypes import strip_parameters

ACCEPT_ANYTHING = frozenset({"*/*", "application/*", "application/json"})


async def get_manifest(request: Request) -> Response:
    manifest = await _negotiated(request)
    audit_later(request, "pull", repository_name(request), manifest=manifest.digest)
    return Response(
        manifest.content, 200, headers=_headers(manifest), media_type=manifest.media_type
    )


async def head_manifest(request: Request) -> Response:
    manifest = await _negotiated(request)
    headers = _headers(manifest) | {"Content-Length": str(len(manifest.content))}
    return Response(None, 200, headers=headers, media_type=manifest.media_type)


async def put_manifest(request: Request) -> Response:
    repository = repository_name(request)
    reference = path_reference(request)
    raw = await _read_limited(request, MAX_MANIFEST_SIZE)
    try:
        pushed = await services(request).manifests.put(
            repository, reference, raw, request.headers.get("content-type")
        )
    except TagImmutable as exc:
        _audit_refusal(request, repository, str(reference), "move", exc)
        raise
    headers = {
        "Location": f"/v2/{repository}/manifests/{pushed.digest}",
        "Docker-Content-Digest": pushed.digest,
    }
    if pushed.subject is not None:
        headers["OCI-Subject"] = pushed.subject
    audit_later(request, "push", repository, manifest=pushed.digest, reference=str(reference))
    if pushed.tag_move is not None:
        move = pushed.tag_move
        audit_later(
            request,
            "tag_move",
            repository,
            tag=move.tag,
            manifest=pushed.digest,
            previous=move.previous,
        )
    return Response(None, 201, headers=headers)


async def delete_manifest(request: Request) -> Response:
    repository, reference = repository_name(request), existing_reference(request)
    try:
        await services(request).manifests.delete(repository, reference)
    except TagImmutable as exc:
        _audit_refusal(request, repository, str(reference), "delete", exc)
        raise
    audit_later(request, "delete", repository, reference=str(reference))
    if isinstance(reference, str):
        audit_later(request, "tag_delete", repository, tag=reference)
    return Response(None, 202)


def _audit_refusal(
    request: Request, repository: str, reference: str, action: str, exc: TagImmutable
) -> None:
    audit_later(
        request,
        "tag_immutable_refused",
        repository,
        reference=reference,
        action=action,
        reason=exc.message,
    )


async def _negotiated(request: Request) -> StoredManifest:
    """The manifest, if the client accepts its media type and the namespace's pull policy
    lets it be pulled. A client that lists manifest types without this one gets
    ``MANIFEST_UNKNOWN`` rather than a format it cannot read."""
    repository = repository_name(request)
    manifest = await services(request).manifests.get(repository, existing_reference(request))
    accepted = _accepted_types(request)
    if accepted and manifest.media_type not in accepted and not accepted & ACCEPT_ANYTHING:
        raise ManifestUnknown(
            f"manifest {manifest.digest} is a {manifest.media_type}, "
            f"which the client does not accept ({', '.join(sorted(accepted))})"
        )
    await services(request).pull_policies.check(repository, manifest.digest)
    return manifest


def _accepted_types(request: Request) -> set[str]:
    types: set[str] = set()
    for header in request.headers.getlist("accept"):
        types.update(strip_parameters(part) for part in header.split(",") if part.strip())
    return types


def _headers(manifest: StoredManifest) -> dict[str, str]:
    return {"Docker-Content-Digest": manifest.digest, "ETag": f'"{manifest.digest}"'}


async def _read_limited(request: Request, limit: int) -> bytes:
    """The request body, refusing (413) one larger than ``limit`` without reading it all."""
    declared = content_length(request)
    if declared is not None and declared > limit:
        raise PayloadTooLarge(f"manifest of {declared} bytes is over the {limit} byte limit")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLarge(f"manifest is over the {limit} byte limit")
    return bytes(body)
