"""Real Go executables for the indexer tests: built offline by this machine's Go toolchain
from modules served by a local file proxy, and what ``go version -m`` says of any binary.

``build_demo_app`` builds ``example.com/app`` (no VCS, so its version is ``(devel)``),
which requires ``golang.org/x/text v0.3.7`` (a stand-in module of that path and version:
the build info records path and version, which is what the indexer reads) and
``example.com/greeting v1.0.0``, replaced by ``example.com/greetfork v1.2.0``.
``install_released_tool`` runs ``go install example.com/tool@v1.4.0``, which records the
main module at its version. Go's build and module caches live under the system temp
directory so that later sessions are quick.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import zipfile
from pathlib import Path

GO_CACHE = Path(tempfile.gettempdir()) / "cargohold-test-cache" / "go"

APP_GO_MOD = """\
module example.com/app

go 1.19

require (
\tgolang.org/x/text v0.3.7
\texample.com/greeting v1.0.0
)

replace example.com/greeting => example.com/greetfork v1.2.0
"""

APP_MAIN = """\
package main

import (
\t"fmt"

\t"example.com/greeting"
\t"golang.org/x/text/language"
)

func main() { fmt.Println(greeting.Hello(), language.Parse("en")) }
"""

TOOL_MAIN = """\
package main

import (
\t"fmt"

\t"golang.org/x/text/language"
)

func main() { fmt.Println(language.Parse("en")) }
"""

PROXY_MODULES = {
    ("example.com/tool", "v1.4.0"): {"main.go": TOOL_MAIN},
    ("golang.org/x/text", "v0.3.7"): {
        "language/language.go": "package language\n\nfunc Parse(s string) string { return s }\n"
    },
    ("example.com/greeting", "v1.0.0"): {
        "greeting.go": 'package greeting\n\nfunc Hello() string { return "hello" }\n'
    },
    ("example.com/greetfork", "v1.2.0"): {
        "greeting.go": 'package greeting\n\nfunc Hello() string { return "hi" }\n'
    },
}


REQUIRES = {"example.com/tool": "\nrequire golang.org/x/text v0.3.7\n"}


def run(*command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{command} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def build_demo_app(work: Path, goarch: str = "amd64") -> Path:
    """The demo app built for ``goarch`` (statically, without cgo) into ``work``."""
    proxy, source = work / "proxy", work / "app"
    if not proxy.is_dir():
        _write_proxy(proxy)
    source.mkdir(exist_ok=True)
    (source / "go.mod").write_text(APP_GO_MOD)
    (source / "main.go").write_text(APP_MAIN)
    binary = work / f"app-{goarch}"
    env = _go_environment(proxy) | {"GOARCH": goarch, "GOFLAGS": "-mod=mod"}
    run("go", "build", "-buildvcs=false", "-o", binary, ".", cwd=source, env=env)
    return binary


def install_released_tool(work: Path) -> Path:
    """``example.com/tool`` v1.4.0 (requires ``golang.org/x/text v0.3.7``), installed
    from the proxy into ``work/bin``."""
    proxy = work / "proxy"
    if not proxy.is_dir():
        _write_proxy(proxy)
    env = _go_environment(proxy) | {"GOBIN": str(work / "bin")}
    run("go", "install", "example.com/tool@v1.4.0", cwd=work, env=env)
    return work / "bin" / "tool"


def _go_environment(proxy: Path) -> dict[str, str]:
    return os.environ | {
        "CGO_ENABLED": "0",
        "GOPROXY": proxy.as_uri(),
        "GOSUMDB": "off",
        "GOPATH": str(GO_CACHE / "path"),
        "GOCACHE": str(GO_CACHE / "build"),
    }


def go_version_m(binary: Path) -> list[list[str]]:
    """The lines of ``go version -m binary`` below its first, split at tabs (leading tab
    dropped): ``["dep", PATH, VERSION, SUM]``, ``["=>", PATH, VERSION, SUM]``, ..."""
    lines = run("go", "version", "-m", binary).splitlines()[1:]
    return [line.removeprefix("\t").split("\t") for line in lines]


def go_version(binary: Path) -> str:
    """The toolchain version ``go version`` reports for ``binary`` (``go1.19.8``)."""
    return run("go", "version", binary).split(": ", 1)[1].split()[0]


def _write_proxy(proxy: Path) -> None:
    """A GOPROXY file tree (``$module/@v/list``, ``.info``, ``.mod``, ``.zip``)."""
    for (module, version), files in PROXY_MODULES.items():
        versions = proxy / module / "@v"
        versions.mkdir(parents=True, exist_ok=True)
        go_mod = f"module {module}\n\ngo 1.18\n" + REQUIRES.get(module, "")
        (versions / "list").write_text(version + "\n")
        info = {"Version": version, "Time": "2022-01-01T00:00:00Z"}
        (versions / f"{version}.info").write_text(json.dumps(info))
        (versions / f"{version}.mod").write_text(go_mod)
        with zipfile.ZipFile(versions / f"{version}.zip", "w") as archive:
            archive.writestr(f"{module}@{version}/go.mod", go_mod)
            for name, text in files.items():
                archive.writestr(f"{module}@{version}/{name}", text)
