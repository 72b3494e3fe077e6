"""What a running cargohold's scanner reports, read as a client reads it: the management
API's ``/security`` report and ``/sbom``, and the ``cargohold vulndb`` command.

- ``vulndb(registry, config, *args)``: run ``cargohold vulndb ARGS`` on the registry's
  data directory and database; its JSON output.
- ``security`` / ``sbom``: the report and CycloneDX SBOM of a manifest (200 asserted).
- ``wait_for_scan``: poll ``security`` until the manifest is no longer ``queued``.
- ``vulnerabilities(report, package)``: the one package of that name, its findings by id.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from .processes import wait_until
from .registry import RegistryProcess, cargohold_command, server_environment

SCAN_TIMEOUT = 120.0


def vulndb(registry: RegistryProcess, config: Path, *args: str) -> dict[str, Any]:
    """Run ``cargohold vulndb ARGS`` on the registry's database and data directory."""
    argv = [*cargohold_command(), "vulndb", *args, "--config", str(config),
            "--data-dir", str(registry.data_dir)]
    if registry.database_url:
        argv += ["--database-url", registry.database_url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120,
                          env=server_environment(), check=False)
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def _manifest_resource(registry: RegistryProcess, name: str, digest: str, what: str) -> Any:
    with registry.http() as http:
        response = http.get(f"/api/v1/repository/{name}/manifest/{digest}/{what}")
    assert response.status_code == 200, response.text
    return response.json()


def security(registry: RegistryProcess, name: str, digest: str) -> dict[str, Any]:
    report: dict[str, Any] = _manifest_resource(registry, name, digest, "security")
    return report


def sbom(registry: RegistryProcess, name: str, digest: str) -> dict[str, Any]:
    document: dict[str, Any] = _manifest_resource(registry, name, digest, "sbom")
    return document


def wait_for_scan(
    registry: RegistryProcess, name: str, digest: str, timeout: float = SCAN_TIMEOUT
) -> dict[str, Any]:
    """The security report once the scan of ``name@digest`` has left ``queued``."""
    wait_until(lambda: security(registry, name, digest)["status"] != "queued",
               timeout=timeout, message=lambda: registry.logs()[-3000:])
    return security(registry, name, digest)


def vulnerabilities(report: dict[str, Any], package: str) -> dict[str, dict[str, Any]]:
    [entry] = [p for p in report["packages"] if p["name"] == package]
    return {v["id"]: v for v in entry["vulnerabilities"]}
