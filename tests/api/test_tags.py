"""``/repository/{name}/tag/``, restore, expiry, ``/namespace/{name}/tag-history``,
immutable tags and prune policies: who may do what (read, write, admin, namespace admin),
the listing's filters and pages, validation, and the audit entries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from cargohold.spec.digest import Digest

from .conftest import Api, Caller, error

OCI_INDEX = "application/vnd.oci.image.index.v1+json"


async def push(api: Api, repository: str, tag: str, nonce: str) -> str:
    """An empty index under ``tag`` (no blobs needed); its digest."""
    raw = json.dumps(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [], "annotations": {"n": nonce}}
    ).encode()
    pushed = await api.app.state.services.manifests.put(repository, tag, raw, OCI_INDEX)
    digest: str = pushed.digest
    return digest


async def team(api: Api) -> tuple[Caller, Caller, Caller, Caller]:
    """alice owns acme and acme/app; bob may read it, carol write; dave has no access."""
    alice, bob, carol, dave = [await api.user(n) for n in ("alice", "bob", "carol", "dave")]
    await api.organization("acme", alice)
    await api.repository("acme/app", alice)
    for who, role in ((bob, "read"), (carol, "write")):
        response = await api.client.put(
            f"/repository/acme/app/permissions/user/{who.name}",
            json={"role": role},
            headers=alice.headers,
        )
        assert response.status_code == 200, response.text
    return alice, bob, carol, dave


async def test_who_may_list_restore_and_expire(api: Api) -> None:
    _alice, bob, carol, dave = await team(api)
    first = await push(api, "acme/app", "v1", "1")
    await push(api, "acme/app", "v1", "2")
    tags = "/repository/acme/app/tag/"
    restore = "/repository/acme/app/tag/v1/restore"
    expiry = "/repository/acme/app/tag/v1"
    later = {"expires_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()}

    assert (await api.client.get(tags, headers=bob.headers)).status_code == 200
    error(await api.client.get(tags, headers=dave.headers), 404, "NOT_FOUND")
    error(await api.client.get(tags), 401, "UNAUTHORIZED")
    body = {"manifest_digest": first}
    error(await api.client.post(restore, json=body, headers=bob.headers), 403, "DENIED")
    error(await api.client.put(expiry, json=later, headers=bob.headers), 403, "DENIED")
    assert (await api.client.post(restore, json=body, headers=carol.headers)).status_code == 200
    assert (await api.client.put(expiry, json=later, headers=carol.headers)).status_code == 200
    [restored] = await api.events("tag_restore")
    assert (restored["performer"], restored["repository"]) == ("carol", "acme/app")
    [changed] = await api.events("tag_expiry_change")
    assert changed["details"]["tag"] == "v1" and changed["details"]["before"] is None


async def test_rules_and_policies_need_admin(api: Api) -> None:
    alice, _bob, carol, dave = await team(api)
    rule = {"pattern": "v*"}
    policy = {"method": "keep_newest", "value": 3}
    for path, body in (("immutable-tags", rule), ("prune-policies", policy)):
        repository = f"/repository/acme/app/{path}"
        namespace = f"/namespace/acme/{path}"
        error(await api.client.get(repository, headers=carol.headers), 403, "DENIED")
        error(await api.client.post(repository, json=body, headers=carol.headers), 403, "DENIED")
        error(await api.client.get(namespace, headers=carol.headers), 404, "NOT_FOUND")
        error(await api.client.post(namespace, json=body, headers=dave.headers), 404, "NOT_FOUND")
        for url in (repository, namespace):
            created = await api.client.post(url, json=body, headers=alice.headers)
            assert created.status_code == 201, created.text
            listed = await api.client.get(url, headers=alice.headers)
            assert [item["id"] for item in listed.json()] == [created.json()["id"]]
        repository_item = (await api.client.get(repository, headers=alice.headers)).json()[0]
        assert repository_item["repository"] == "acme/app"
        gone = await api.client.delete(
            f"{namespace}/{repository_item['id']}", headers=alice.headers
        )
        error(gone, 404, "NOT_FOUND")  # a repository's rule is not the namespace's
        deleted = await api.client.delete(
            f"{repository}/{repository_item['id']}", headers=alice.headers
        )
        assert deleted.status_code == 204
    assert len(await api.events("immutable_tag_rule_create")) == 2
    assert len(await api.events("prune_policy_create")) == 2
    assert len(await api.events("immutable_tag_rule_delete")) == 1
    assert len(await api.events("prune_policy_delete")) == 1


async def test_the_window_is_the_namespace_admins(api: Api) -> None:
    alice, _, carol, _ = await team(api)
    url = "/namespace/acme/tag-history"

    assert (await api.client.get(url, headers=alice.headers)).json() == {
        "namespace": "acme",
        "seconds": 1209600,
    }
    error(await api.client.put(url, json={"seconds": 5}, headers=carol.headers), 404, "NOT_FOUND")
    error(
        await api.client.put(url, json={"seconds": -1}, headers=alice.headers),
        400,
        "INVALID_REQUEST",
    )
    changed = await api.client.put(url, json={"seconds": 0}, headers=alice.headers)
    assert changed.json() == {"namespace": "acme", "seconds": 0}
    [event] = await api.events("tag_history_window_change")
    assert (event["namespace"], event["details"]) == ("acme", {"before": 1209600, "after": 0})


async def test_listing_filters_and_pages(api: Api) -> None:
    alice = await api.user("alice")
    await api.repository("alice/app", alice)
    digests = {}
    for tag in ("v1.0", "v1.1", "v2_0", "latest"):
        digests[tag] = await push(api, "alice/app", tag, tag)
    await push(api, "alice/app", "latest", "moved")
    url = "/repository/alice/app/tag/"

    async def names(**params: str) -> list[str]:
        response = await api.client.get(url, params=params, headers=alice.headers)
        assert response.status_code == 200, response.text
        return [row["name"] for row in response.json()["tags"]]

    assert await names() == ["latest", "latest", "v2_0", "v1.1", "v1.0"]
    assert await names(active_only="true") == ["latest", "v2_0", "v1.1", "v1.0"]
    assert await names(pattern="v1.?") == ["v1.1", "v1.0"]
    assert await names(pattern="v?_*") == ["v2_0"]
    assert await names(pattern="V*") == []
    assert await names(specific_tag="latest") == ["latest", "latest"]
    first = (await api.client.get(url, params={"per_page": 2}, headers=alice.headers)).json()
    last = (
        await api.client.get(url, params={"per_page": 2, "page": 3}, headers=alice.headers)
    ).json()
    assert ([t["name"] for t in first["tags"]], first["next_page"]) == (["latest", "latest"], 2)
    assert ([t["name"] for t in last["tags"]], last["next_page"]) == (["v1.0"], None)
    row = first["tags"][1]
    assert row["manifest_digest"] == digests["latest"] and row["end"] is not None
    Digest.parse(row["manifest_digest"])
    error(
        await api.client.get(url, params={"pattern": "a%"}, headers=alice.headers),
        400,
        "INVALID_REQUEST",
    )
    error(
        await api.client.get("/repository/alice/nothing/tag/", headers=alice.headers),
        404,
        "NOT_FOUND",
    )


async def test_bodies_are_validated(api: Api) -> None:
    alice = await api.user("alice")
    await api.repository("alice/app", alice)
    await push(api, "alice/app", "v1", "1")
    headers = alice.headers
    for url, body in (
        ("/repository/alice/app/tag/v1/restore", {"manifest_digest": "nope"}),
        ("/repository/alice/app/tag/v1", {"expires_at": "2030-01-01T00:00:00"}),
        ("/repository/alice/app/immutable-tags", {"pattern": "a/b"}),
        ("/repository/alice/app/prune-policies", {"method": "keep_oldest", "value": 1}),
        ("/repository/alice/app/prune-policies", {"method": "older_than", "value": -1}),
    ):
        response = await (
            api.client.put(url, json=body, headers=headers)
            if url.endswith("v1")
            else api.client.post(url, json=body, headers=headers)
        )
        error(response, 400, "INVALID_REQUEST")
