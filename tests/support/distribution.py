"""The OCI Distribution API spoken by hand with httpx, for what clients cannot be made to do.

Upload ``Location``s may be relative or absolute and may carry their own query string (state
that must be kept): ``upload_url`` resolves one and adds parameters without dropping it.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from .images import sha256_digest


def upload_url(response: httpx.Response, **params: str) -> httpx.URL:
    """The absolute URL of an upload ``Location`` header, with ``params`` merged in."""
    assert "Location" in response.headers, f"no Location in {response.status_code} answer"
    url = response.request.url.join(response.headers["Location"])
    return url.copy_merge_params(params) if params else url


def start_upload(http: httpx.Client, name: str) -> httpx.URL:
    started = http.post(f"/v2/{name}/blobs/uploads/")
    assert started.status_code == 202, f"POST upload: {started.status_code} {started.text}"
    return upload_url(started)


def upload_blob(http: httpx.Client, name: str, data: bytes) -> str:
    """A monolithic upload (POST, then PUT with the bytes); returns the digest."""
    digest = sha256_digest(data)
    location = start_upload(http, name)
    finished = http.put(location.copy_merge_params({"digest": digest}), content=data,
                        headers={"Content-Type": "application/octet-stream"})
    assert finished.status_code == 201, f"PUT blob: {finished.status_code} {finished.text}"
    assert finished.headers.get("Docker-Content-Digest") == digest
    return digest


def put_manifest(http: httpx.Client, name: str, reference: str, body: bytes,
                 media_type: str, headers: Mapping[str, str] | None = None) -> httpx.Response:
    return http.put(f"/v2/{name}/manifests/{reference}", content=body,
                    headers={"Content-Type": media_type, **(headers or {})})


def upload_range(response: httpx.Response) -> tuple[int, int] | None:
    """The inclusive byte range of a ``Range: 0-N`` upload status header (None if absent)."""
    value = response.headers.get("Range")
    if value is None:
        return None
    start, _, end = value.removeprefix("bytes=").partition("-")
    return int(start), int(end)
