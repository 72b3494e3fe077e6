"""The scan report and SBOM routes need read on the repository (the reports themselves are
tested with real scans in ``tests/functional/test_scanning.py``)."""

from __future__ import annotations

import hashlib

from .conftest import Api, error

DIGEST = "sha256:" + hashlib.sha256(b"x").hexdigest()


async def test_readers_reach_the_reports(api: Api) -> None:
    alice, bob = await api.user("alice"), await api.user("bob")
    await api.repository("alice/app", alice)
    await api.repository("alice/site", alice, "public")

    for suffix in ("security", "sbom"):
        own = await api.client.get(
            f"/repository/alice/app/manifest/{DIGEST}/{suffix}", headers=alice.headers
        )
        public = await api.client.get(f"/repository/alice/site/manifest/{DIGEST}/{suffix}")
        hidden = await api.client.get(
            f"/repository/alice/app/manifest/{DIGEST}/{suffix}", headers=bob.headers
        )
        anonymous = await api.client.get(f"/repository/alice/app/manifest/{DIGEST}/{suffix}")

        error(own, 404, "MANIFEST_UNKNOWN")
        error(public, 404, "MANIFEST_UNKNOWN")
        error(hidden, 404, "NOT_FOUND")
        error(anonymous, 401, "UNAUTHORIZED")


async def test_a_malformed_digest_is_400(api: Api) -> None:
    await api.repository("root/app", api.root)
    response = await api.client.get(
        "/repository/root/app/manifest/sha256:abc/security", headers=api.root.headers
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] in {"DIGEST_INVALID", "INVALID_REQUEST"}
