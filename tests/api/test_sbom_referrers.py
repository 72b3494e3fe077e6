"""``/namespace/{name}/sbom-referrers``: the namespace's members read whether scanned
images get their SBOM attached as a referrer, its admins change it, the change is
audited."""

from __future__ import annotations

from .conftest import Api, error


async def test_members_read_admins_change(api: Api) -> None:
    alice, bob, dave = [await api.user(n) for n in ("alice", "bob", "dave")]
    await api.organization("acme", alice)
    team = await api.client.put(
        "/organization/acme/team/devs", json={"role": "member"}, headers=alice.headers
    )
    assert team.status_code == 201, team.text
    added = await api.client.put("/organization/acme/team/devs/members/bob", headers=alice.headers)
    assert added.status_code == 201, added.text
    url = "/namespace/acme/sbom-referrers"
    on = {"attach": True}

    assert (await api.client.get(url, headers=bob.headers)).json() == {
        "namespace": "acme",
        "attach": False,
    }
    error(await api.client.put(url, json=on, headers=bob.headers), 403, "DENIED")
    error(await api.client.get(url, headers=dave.headers), 404, "NOT_FOUND")
    error(await api.client.put(url, json=on, headers=dave.headers), 404, "NOT_FOUND")
    error(await api.client.get(url), 401, "UNAUTHORIZED")
    error(await api.client.put(url, json={}, headers=alice.headers), 400, "INVALID_REQUEST")

    changed = await api.client.put(url, json=on, headers=alice.headers)

    assert changed.json() == {"namespace": "acme", "attach": True}
    assert (await api.client.get(url, headers=bob.headers)).json()["attach"] is True
    [event] = await api.events("sbom_referrers_change")
    assert (event["namespace"], event["details"]) == ("acme", {"before": False, "after": True})


async def test_a_user_sets_their_own_namespace(api: Api) -> None:
    alice = await api.user("alice")
    url = "/namespace/alice/sbom-referrers"

    changed = await api.client.put(url, json={"attach": True}, headers=alice.headers)

    assert changed.status_code == 200, changed.text
    assert (await api.client.get(url, headers=alice.headers)).json()["attach"] is True
    unknown = "/namespace/nobody/sbom-referrers"
    error(await api.client.get(unknown, headers=api.root.headers), 404, "NOT_FOUND")
