"""Real container clients (skopeo, podman, buildah, docker CLI), each run in a sandbox.

Clients keep state in places shared by every run on the machine: storage under
``/var/lib/containers``, credentials in ``REGISTRY_AUTH_FILE`` or ``~/.docker``, and, as
root, a blob-info cache in ``/var/lib/containers/cache`` that makes a later push reuse an
earlier push's blobs or compression. A ``ClientSandbox`` gives each test its own copy of
all of them: its own home, auth file, docker config, temp dir, storage root, and (through a
private mount namespace, ``unshare --mount``) its own blob-info cache. ``login`` stores
credentials for a registry where every client looks for them, as ``podman login`` and
``docker login`` would.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from .auth import Credentials, basic_authorization
from .images import OciLayout, TestImage
from .processes import StrPath, run

SHARED_CACHE = Path("/var/lib/containers/cache")
# Runs argv[2:] with argv[1] (the sandbox's cache) mounted over the shared blob-info cache.
_WITH_PRIVATE_CACHE = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'


class ClientSandbox:
    """One test's private state for container clients, under ``root``; ``close()`` it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / "home"
        self.storage = root / "storage"
        # podman refuses a runroot longer than 50 characters: keep it short, outside root.
        self.runroot = Path(tempfile.mkdtemp(prefix="ch-run-", dir="/tmp"))
        self.cache = root / "blob-info-cache"
        self.tmp = root / "tmp"
        self.docker_config = root / "docker-config"
        self.auth_file = root / "auth.json"
        for directory in (
            self.home,
            self.storage,
            self.runroot,
            self.cache,
            self.tmp,
            self.docker_config,
        ):
            directory.mkdir(parents=True, exist_ok=True)
        self.auth_files = (self.auth_file, self.docker_config / "config.json")
        for path in self.auth_files:
            path.write_text('{"auths": {}}')
        self._private_cache = os.geteuid() == 0
        if self._private_cache:
            SHARED_CACHE.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        """Remove the sandbox's runroot (its other state lives under ``root``)."""
        shutil.rmtree(self.runroot, ignore_errors=True)

    def __enter__(self) -> ClientSandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def login(self, host: str, credentials: Credentials) -> None:
        """Log every client in to the registry at ``host`` (``HOST:PORT``): skopeo, podman
        and buildah read ``REGISTRY_AUTH_FILE``, the docker CLI ``DOCKER_CONFIG``."""
        for path in self.auth_files:
            config = json.loads(path.read_text())
            config["auths"][host] = {"auth": basic_authorization(credentials)}
            path.write_text(json.dumps(config))

    def environment(self) -> dict[str, str]:
        keep = ("PATH", "LANG", "LC_ALL", "TERM", "TZ")
        env = {key: os.environ[key] for key in keep if key in os.environ}
        env.update(
            {
                "HOME": str(self.home),
                "XDG_RUNTIME_DIR": str(self.runroot),
                "XDG_CONFIG_HOME": str(self.home / ".config"),
                "XDG_DATA_HOME": str(self.home / ".local" / "share"),
                "TMPDIR": str(self.tmp),
                "REGISTRY_AUTH_FILE": str(self.auth_file),
                "DOCKER_CONFIG": str(self.docker_config),
            }
        )
        return env

    def run(
        self, argv: list[StrPath], *, timeout: float = 180, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a client command in the sandbox; fail with its stderr unless ``check=False``."""
        tool = os.fspath(argv[0])
        if shutil.which(tool) is None:
            raise AssertionError(f"{tool} is not installed; .ci/run installs it")
        command: list[StrPath] = list(argv)
        if self._private_cache:
            command = [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "--",
                "sh",
                "-c",
                _WITH_PRIVATE_CACHE,
                "sh",
                self.cache,
                SHARED_CACHE,
                *command,
            ]
        return run(command, timeout=timeout, env=self.environment(), check=check)

    def skopeo(
        self, *args: StrPath, timeout: float = 180, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self.run(["skopeo", *args], timeout=timeout, check=check)

    def storage_options(self) -> list[StrPath]:
        return ["--root", self.storage, "--runroot", self.runroot, "--storage-driver", "vfs"]

    def podman(
        self, *args: StrPath, timeout: float = 180, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        options: list[StrPath] = [
            *self.storage_options(),
            "--tmpdir",
            self.tmp / "libpod",
            "--cgroup-manager",
            "cgroupfs",
            "--events-backend",
            "none",
        ]
        return self.run(["podman", *options, *args], timeout=timeout, check=check)

    def buildah(
        self, *args: StrPath, timeout: float = 180, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self.run(["buildah", *self.storage_options(), *args], timeout=timeout, check=check)

    def docker(
        self, *args: StrPath, timeout: float = 60, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        return self.run(["docker", *args], timeout=timeout, check=check)

    def skopeo_inspect(self, reference: str, *extra: str) -> Any:
        """``skopeo inspect`` of a plain-HTTP registry reference, parsed."""
        result = self.skopeo("inspect", "--tls-verify=false", *extra, reference)
        return json.loads(result.stdout)

    def push(self, image: TestImage, reference: str, *, all_images: bool = False) -> None:
        """``skopeo copy`` an OCI layout image to ``docker://reference`` over plain HTTP."""
        extra = ["--all"] if all_images else []
        self.skopeo(
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            *extra,
            image.reference,
            f"docker://{reference}",
        )

    def pull(
        self, reference: str, destination: Path, tag: str = "pulled", *, all_images: bool = False
    ) -> TestImage:
        """``skopeo copy`` ``docker://reference`` into a new OCI layout; return it."""
        extra = ["--all"] if all_images else []
        self.skopeo(
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            *extra,
            f"docker://{reference}",
            f"oci:{destination}:{tag}",
        )
        return TestImage(OciLayout(destination), tag)
