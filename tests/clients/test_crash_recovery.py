"""cargohold SIGKILLed in the middle of writes, then restarted on the same data.

After the restart nothing half-written is visible, ``cargohold fsck`` finds storage and
database consistent (exit 0), every write that was acknowledged is there byte for byte,
and the interrupted work can be resumed or redone to completion.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from support.clients import ClientSandbox
from support.distribution import put_manifest, start_upload, upload_blob, upload_range, upload_url
from support.images import OCI_MANIFEST, TestImage, assert_same_blobs, sha256_digest
from support.processes import describe_failure, wait_until
from support.registry import RegistryFactory, RegistryProcess

pytestmark = pytest.mark.clients

MIB = 1024 * 1024
OCTETS = "application/octet-stream"


def assert_fsck_clean(server: RegistryProcess) -> None:
    result = server.fsck()
    assert result.returncode == 0, f"fsck found differences\n{describe_failure(result)}"


def push_blobs_of(http: httpx.Client, name: str, image: TestImage) -> None:
    for digest, data in image.blobs.items():
        if digest != image.digest:
            assert upload_blob(http, name, data) == digest


@dataclass
class SlowBody:
    """A request body sent in small pieces with pauses, so that a kill lands mid-stream.

    ``started`` is set once ``signal_after`` bytes went out; setting ``stop`` ends the body
    early (the request then fails, which is the point).
    """

    data: bytes
    piece: int = 256 * 1024
    pause: float = 0.02
    signal_after: int = 4 * MIB
    started: threading.Event = field(default_factory=threading.Event)
    stop: threading.Event = field(default_factory=threading.Event)

    def __iter__(self) -> Iterator[bytes]:
        for offset in range(0, len(self.data), self.piece):
            if self.stop.is_set():
                return
            yield self.data[offset : offset + self.piece]
            if offset + self.piece >= self.signal_after:
                self.started.set()
            time.sleep(self.pause)  # throttles the sender; not used to synchronise


def send_in_background(
    server: RegistryProcess, request: httpx.Request
) -> tuple[threading.Thread, list[object]]:
    """Send ``request`` to ``server`` on a thread, logged in; the list receives its response
    or its exception."""
    outcome: list[object] = []

    def send() -> None:
        try:
            with server.http() as http:
                outcome.append(http.send(request))
        except Exception as exc:  # any failure of a request cut off by a kill is expected
            outcome.append(exc)

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread, outcome


def test_kill_during_a_chunked_blob_upload(registry_factory: RegistryFactory) -> None:
    server = registry_factory()
    name = "crash/chunked"
    data = random.Random(99).randbytes(40 * MIB)
    digest = sha256_digest(data)
    first = 8 * MIB
    with server.http() as http:
        location = start_upload(http, name)
        patched = http.patch(
            location,
            content=data[:first],
            headers={"Content-Type": OCTETS, "Content-Range": f"0-{first - 1}"},
        )
        assert patched.status_code == 202, patched.text
        assert upload_range(patched) == (0, first - 1)
        location = upload_url(patched)

    body = SlowBody(data[first:])
    slow_patch = httpx.Request(
        "PATCH",
        location,
        content=body,
        headers={
            "Content-Type": OCTETS,
            "Content-Range": f"{first}-{len(data) - 1}",
            "Content-Length": str(len(data) - first),
        },
    )
    thread, outcome = send_in_background(server, slow_patch)
    assert body.started.wait(30), "the slow PATCH never got going"
    server.kill()
    body.stop.set()
    thread.join(30)
    assert not (
        outcome and isinstance(outcome[0], httpx.Response) and outcome[0].status_code == 202
    ), "the interrupted PATCH was acknowledged"

    server.start()
    assert_fsck_clean(server)
    with server.http() as http:
        assert http.head(f"/v2/{name}/blobs/{digest}").status_code == 404, (
            "a blob that was never completed is visible"
        )
        status = http.get(location)
        if status.status_code == 204:  # the upload survived: resume after what it holds
            held = upload_range(status)
            assert held is not None and held[0] == 0, status.headers
            assert held[1] >= first - 1, f"acknowledged bytes were lost: Range {held}"
            offset = held[1] + 1
            location = upload_url(status) if "Location" in status.headers else location
        else:  # the upload is gone: it must say so, and a new one must work
            assert status.status_code == 404, f"{status.status_code} {status.text}"
            assert status.json()["errors"][0]["code"] == "BLOB_UPLOAD_UNKNOWN"
            offset, location = 0, start_upload(http, name)
        while offset < len(data):
            end = min(offset + 8 * MIB, len(data))
            patched = http.patch(
                location,
                content=data[offset:end],
                headers={"Content-Type": OCTETS, "Content-Range": f"{offset}-{end - 1}"},
            )
            assert patched.status_code == 202, patched.text
            location, offset = upload_url(patched), end
        finished = http.put(location.copy_merge_params({"digest": digest}))
        assert finished.status_code == 201, finished.text
        fetched = http.get(f"/v2/{name}/blobs/{digest}", follow_redirects=True)
    assert fetched.status_code == 200
    assert fetched.content == data
    assert_fsck_clean(server)


def test_kill_during_a_manifest_put(
    registry_factory: RegistryFactory,
    busybox_image: TestImage,
) -> None:
    server = registry_factory()
    name = "crash/manifest"
    body = busybox_image.manifest_bytes
    with server.http() as http:
        push_blobs_of(http, name, busybox_image)

    token = server.token(f"repository:{name}:pull,push")
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        head = (
            f"PUT /v2/{name}/manifests/v1 HTTP/1.1\r\nHost: {server.host}\r\n"
            f"Authorization: Bearer {token}\r\n"
            f"Content-Type: {OCI_MANIFEST}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        connection.sendall(head.encode() + body[: len(body) // 2])
        server.kill()

    server.start()
    assert_fsck_clean(server)
    with server.http() as http:
        by_tag = http.get(f"/v2/{name}/manifests/v1", headers={"Accept": OCI_MANIFEST})
        by_digest = http.get(
            f"/v2/{name}/manifests/{busybox_image.digest}", headers={"Accept": OCI_MANIFEST}
        )
        tags = http.get(f"/v2/{name}/tags/list")
        assert by_tag.status_code == 404, "half a manifest PUT left a tag behind"
        assert by_digest.status_code == 404, "half a manifest PUT left a manifest behind"
        assert tags.status_code == 404 or "v1" not in (tags.json().get("tags") or [])

        put = put_manifest(http, name, "v1", body, OCI_MANIFEST)
        assert put.status_code == 201, put.text
        again = http.get(f"/v2/{name}/manifests/v1", headers={"Accept": OCI_MANIFEST})
    assert again.content == body
    assert again.headers["Docker-Content-Digest"] == busybox_image.digest
    assert_fsck_clean(server)


def test_acknowledged_writes_survive_a_kill_with_requests_in_flight(
    registry_factory: RegistryFactory,
    busybox_image: TestImage,
) -> None:
    server = registry_factory()
    name = "crash/inflight"
    with server.http() as http:
        push_blobs_of(http, name, busybox_image)
    manifests: dict[str, bytes] = {}
    for n in range(40):
        document = {**busybox_image.manifest, "annotations": {"org.example.n": str(n)}}
        manifests[f"t{n}"] = json.dumps(document).encode()
    blobs = [random.Random(500 + n).randbytes(3 * MIB) for n in range(6)]
    acknowledged: set[str] = set()

    def put_tag(tag: str) -> None:
        with server.http(timeout=30) as http:
            response = put_manifest(http, name, tag, manifests[tag], OCI_MANIFEST)
        if response.status_code == 201:
            acknowledged.add(tag)

    def put_blob(data: bytes) -> None:
        with server.http(timeout=30) as http:
            upload_blob(http, name, data)
        acknowledged.add(sha256_digest(data))

    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(put_blob, data) for data in blobs]
        futures += [pool.submit(put_tag, tag) for tag in manifests]
        wait_until(lambda: len(acknowledged) >= 3, timeout=60, message="no write was acknowledged")
        server.kill()
        for future in futures:
            future.exception(timeout=60)  # failures of requests cut off by the kill are fine

    server.start()
    assert_fsck_clean(server)
    with server.http() as http:
        for tag, body in manifests.items():
            got = http.get(f"/v2/{name}/manifests/{tag}", headers={"Accept": OCI_MANIFEST})
            if tag in acknowledged:
                assert got.status_code == 200, f"acknowledged tag {tag} was lost"
            if got.status_code == 200:
                assert got.content == body, f"tag {tag} holds other bytes"
            else:
                assert got.status_code == 404, f"{tag}: {got.status_code} {got.text}"
        for data in blobs:
            digest = sha256_digest(data)
            got = http.get(f"/v2/{name}/blobs/{digest}", follow_redirects=True)
            if digest in acknowledged:
                assert got.status_code == 200, f"acknowledged blob {digest} was lost"
            if got.status_code == 200:
                assert got.content == data, f"blob {digest} holds other bytes"
            else:
                assert got.status_code == 404, f"{digest}: {got.status_code}"


def test_pushed_images_survive_sigkill_and_sigterm(
    registry_factory: RegistryFactory,
    client_sandbox: ClientSandbox,
    multilayer_image: TestImage,
    tmp_path: Path,
) -> None:
    server = registry_factory()
    reference = f"{server.host}/crash/restart:v1"
    client_sandbox.push(multilayer_image, reference)

    server.kill()
    server.start()
    assert_same_blobs(multilayer_image, client_sandbox.pull(reference, tmp_path / "after-kill"))

    server.stop()
    assert not server.last_stop_escalated, "cargohold ignored SIGTERM"
    server.start()
    assert_same_blobs(multilayer_image, client_sandbox.pull(reference, tmp_path / "after-stop"))
    assert_fsck_clean(server)


def test_default_database_lives_in_the_data_dir(
    client_sandbox: ClientSandbox,
    busybox_image: TestImage,
    tmp_path: Path,
) -> None:
    server = RegistryProcess(tmp_path / "data", None, log_dir=tmp_path)
    try:
        server.start()
        client_sandbox.login(server.host, server.credentials)
        reference = f"{server.host}/crash/default-db:v1"
        client_sandbox.push(busybox_image, reference)
        server.kill()
        server.start()
        pulled = client_sandbox.pull(reference, tmp_path / "pulled")
        assert_fsck_clean(server)
    finally:
        server.kill()
    assert_same_blobs(busybox_image, pulled)
    sqlite_files = [
        path
        for path in (tmp_path / "data").rglob("*")
        if path.is_file() and path.read_bytes()[:16] == b"SQLite format 3\x00"
    ]
    assert sqlite_files, "no SQLite database in the data directory"
