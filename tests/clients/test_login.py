"""Real clients log in to cargohold and push and pull as who they are: a user with a
password, a user with a CLI token, a robot; LDAP and OIDC users with a CLI token. Wrong
credentials fail the login; no secret reaches the server's log or the audit log.

Each test drives a ``ClientSandbox`` of its own that starts logged out, so the login
commands themselves are what gives the clients their credentials."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import oras.client  # type: ignore[import-untyped]
import pytest
import yaml
from support.clients import ClientSandbox
from support.images import TestImage
from support.ldap_fixtures import slapd_server  # noqa: F401
from support.oidc_fixtures import oidc_server  # noqa: F401
from support.oidc_provider import REDIRECT_URI, OidcProviderServer, login_through
from support.registry import RegistryFactory, RegistryProcess
from support.slapd import SlapdServer, slapd_settings

pytestmark = pytest.mark.clients

PASSWORD = "alice's real password"


@dataclass
class People:
    """On the module's registry: user alice (password), her CLI token, the robot
    ``acme+ci`` with write on acme/app, and the organization acme."""

    alice_token: str
    robot_token: str


def api(registry: RegistryProcess, credentials: tuple[str, str]) -> httpx.Client:
    return httpx.Client(base_url=f"{registry.url}/api/v1", auth=credentials, timeout=30)


def _created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def people(registry: RegistryProcess) -> People:
    with api(registry, registry.credentials) as admin:
        _created(admin.post("/superuser/users", json={"name": "alice", "password": PASSWORD}))
        _created(admin.post("/organization", json={"name": "acme"}))
        _created(admin.post("/repository", json={"namespace": "acme", "name": "app"}))
        robot = _created(admin.put("/organization/acme/robots/ci", json={}))
        _created(admin.put("/repository/acme/app/permissions/user/acme+ci", json={"role": "write"}))
    with api(registry, ("alice", PASSWORD)) as alice:
        token = _created(alice.post("/user/tokens", json={"name": "laptop"}))
    return People(alice_token=token["token"], robot_token=robot["token"])


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[ClientSandbox]:
    """A sandbox logged in nowhere."""
    with ClientSandbox(tmp_path / "logged-out") as sandbox:
        yield sandbox


def login(sandbox: ClientSandbox, tool: str, host: str, username: str, secret: str) -> Any:
    """``TOOL login`` in the sandbox; the completed process, whatever its exit code."""
    insecure = [] if tool == "docker" else ["--tls-verify=false"]
    run = getattr(sandbox, tool)
    return run("login", *insecure, "-u", username, "-p", secret, host, check=False)


LOGIN_TOOLS = ["podman", "skopeo", "buildah", "docker"]


@pytest.mark.parametrize("tool", LOGIN_TOOLS)
def test_each_client_logs_in_with_a_password_and_refuses_a_wrong_one(
    registry: RegistryProcess, people: People, sandbox: ClientSandbox, tool: str
) -> None:
    assert login(sandbox, tool, registry.host, "alice", PASSWORD).returncode == 0
    wrong = login(sandbox, tool, registry.host, "alice", "not her password")
    assert wrong.returncode != 0
    said = (wrong.stdout + wrong.stderr).lower()
    assert "unauthorized" in said or "invalid username/password" in said


@pytest.mark.parametrize("tool", LOGIN_TOOLS)
def test_each_client_logs_in_with_a_cli_token_and_a_robot_token(
    registry: RegistryProcess, people: People, sandbox: ClientSandbox, tool: str
) -> None:
    assert login(sandbox, tool, registry.host, "alice", people.alice_token).returncode == 0
    robot = login(sandbox, tool, registry.host, "acme+ci", people.robot_token)
    assert robot.returncode == 0
    # a token logs in only as its owner
    assert login(sandbox, tool, registry.host, "acme+ci", people.alice_token).returncode != 0


def test_cli_token_pushes_and_pulls_in_the_users_namespace(
    registry: RegistryProcess,
    people: People,
    sandbox: ClientSandbox,
    busybox_image: TestImage,
    tmp_path: Path,
) -> None:
    login(sandbox, "skopeo", registry.host, "alice", people.alice_token)
    reference = f"{registry.host}/alice/busybox:1"
    sandbox.push(busybox_image, reference)
    pulled = sandbox.pull(reference, tmp_path / "pulled")
    assert pulled.digest == busybox_image.digest
    denied = sandbox.skopeo(
        "copy",
        "--dest-tls-verify=false",
        busybox_image.reference,
        f"docker://{registry.host}/acme/app:from-alice",
        check=False,
    )
    assert denied.returncode != 0 and "denied" in denied.stderr.lower()


def test_robot_pushes_where_it_may_and_nowhere_else(
    registry: RegistryProcess,
    people: People,
    sandbox: ClientSandbox,
    busybox_image: TestImage,
) -> None:
    login(sandbox, "podman", registry.host, "acme+ci", people.robot_token)
    sandbox.push(busybox_image, f"{registry.host}/acme/app:ci")
    elsewhere = sandbox.skopeo(
        "copy",
        "--dest-tls-verify=false",
        busybox_image.reference,
        f"docker://{registry.host}/acme/other:ci",
        check=False,
    )
    assert elsewhere.returncode != 0 and "denied" in elsewhere.stderr.lower()
    pushes = _audit(registry, performer="acme+ci", kind="push")
    assert {(e["repository"], e["performer_kind"]) for e in pushes} == {("acme/app", "robot")}


def _audit(registry: RegistryProcess, **filters: str) -> list[dict[str, Any]]:
    """The audit entries matching ``filters``, once pulls and pushes were flushed (they
    are written in batches about once a second)."""
    deadline = time.monotonic() + 10
    with api(registry, registry.credentials) as admin:
        while True:
            logs: list[dict[str, Any]] = _created(admin.get("/logs", params=filters))["logs"]
            if logs or time.monotonic() > deadline:
                return logs
            time.sleep(0.2)


def test_oras_logs_in_with_a_robot_token(
    registry: RegistryProcess, people: People, tmp_path: Path
) -> None:
    client = oras.client.OrasClient(hostname=registry.host, insecure=True)
    client.login(username="acme+ci", password=people.robot_token)
    artifact = tmp_path / "notes.txt"
    artifact.write_text("built by ci\n")
    response = client.push(
        files=[str(artifact)],
        target=f"{registry.host}/acme/app:notes",
        disable_path_validation=True,
    )
    assert response.status_code == 201
    pulled = client.pull(target=f"{registry.host}/acme/app:notes", outdir=str(tmp_path / "out"))
    assert Path(pulled[0]).read_text() == "built by ci\n"


def test_no_secret_reaches_the_server_log_or_the_audit_log(
    registry: RegistryProcess, people: People, sandbox: ClientSandbox
) -> None:
    login(sandbox, "podman", registry.host, "alice", PASSWORD)
    login(sandbox, "podman", registry.host, "alice", "a wrong password")
    login(sandbox, "podman", registry.host, "acme+ci", people.robot_token)
    with api(registry, registry.credentials) as admin:
        exported = admin.get("/logs/export").text
    assert '"login_failed"' in exported and '"login"' in exported
    server_log = registry.log_file.read_text()
    for secret in (
        PASSWORD,
        "a wrong password",
        people.robot_token,
        people.alice_token,
        registry.credentials[1],
    ):
        assert secret not in server_log
        assert secret not in exported


# LDAP and OIDC users: a registry of their own, configured with the test session's
# directory and provider.


@pytest.fixture
def federated_registry(
    registry_factory: RegistryFactory,
    slapd_server: SlapdServer,  # noqa: F811
    oidc_server: OidcProviderServer,  # noqa: F811
    tmp_path: Path,
) -> RegistryProcess:
    ldap = slapd_settings(slapd_server).model_dump(mode="json")
    ldap["bind_password"] = slapd_settings(slapd_server).bind_password.get_secret_value()  # type: ignore[union-attr]
    oidc = oidc_server.settings(redirect_uri=REDIRECT_URI).model_dump(mode="json")
    oidc["client_secret"] = oidc_server.settings().client_secret.get_secret_value()  # type: ignore[union-attr]
    config = tmp_path / "federated.yaml"
    config.write_text(yaml.safe_dump({"ldap": ldap, "oidc": oidc}))
    server = registry_factory(start=False)
    server.extra_args += ["--config", str(config)]
    server.start()
    return server


def test_ldap_user_pushes_and_pulls_with_a_cli_token(
    federated_registry: RegistryProcess,
    slapd_server: SlapdServer,  # noqa: F811
    sandbox: ClientSandbox,
    busybox_image: TestImage,
    tmp_path: Path,
) -> None:
    uid = f"ldap{uuid.uuid4().hex[:8]}"  # the directory outlives each registry
    slapd_server.add_user(uid, password="directory-pw")
    with api(federated_registry, (uid, "directory-pw")) as user:
        token = _created(user.post("/user/tokens", json={"name": "ci"}))["token"]
        assert _created(user.get("/user"))["provider"] == "ldap"
    assert login(sandbox, "podman", federated_registry.host, uid, token).returncode == 0
    reference = f"{federated_registry.host}/{uid}/busybox:1"
    sandbox.push(busybox_image, reference)
    assert sandbox.pull(reference, tmp_path / "pulled").digest == busybox_image.digest


async def test_oidc_user_pushes_and_pulls_with_a_cli_token(
    federated_registry: RegistryProcess,
    sandbox: ClientSandbox,
    busybox_image: TestImage,
    tmp_path: Path,
) -> None:
    async with httpx.AsyncClient(base_url=f"{federated_registry.url}/api/v1") as browser:
        start = await browser.get("/auth/oidc/login")
        assert start.status_code == 302, start.text
        params = await login_through(start.headers["location"], "alice", "alice-pw")
        callback = await browser.get("/auth/oidc/callback", params=params)
        assert callback.status_code == 302, callback.text
        token = (await browser.post("/user/tokens", json={"name": "laptop"})).json()["token"]
        assert (await browser.get("/user")).json()["provider"] == "oidc"
    assert login(sandbox, "skopeo", federated_registry.host, "alice", token).returncode == 0
    reference = f"{federated_registry.host}/alice/busybox:1"
    sandbox.push(busybox_image, reference)
    assert sandbox.pull(reference, tmp_path / "pulled").digest == busybox_image.digest
