"""The real tools that define each ecosystem's version order, driven from tests.

``dpkg --compare-versions`` (dpkg), rpm's Lua ``rpm.vercmp`` (``rpm --eval``), node's
``semver`` package (Debian's node-semver), Maven's ``ComparableVersion`` (its ``main``, run
by java from Debian's maven). Each answers -1, 0 or 1 per pair, or None where the tool
refuses a version.
"""

from __future__ import annotations

import glob
import json
import re
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

NODE_SEMVER_PATH = "/usr/share/nodejs"
MAVEN_ARTIFACT_JARS = "/usr/share/maven/lib/maven-artifact-*.jar"


def require(tool: str) -> str:
    """The path of ``tool``, or skip: scripts/install-test-deps installs it."""
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (scripts/install-test-deps installs it)")
    return path


def dpkg_compare(a: str, b: str) -> int | None:
    """dpkg's answer for one pair: two runs at most (lt, then eq)."""
    for relation, answer in (("lt", -1), ("eq", 0)):
        result = subprocess.run(
            ["dpkg", "--compare-versions", a, relation, b], capture_output=True, check=False
        )
        if result.returncode not in (0, 1):
            return None
        if result.returncode == 0:
            return answer
    return 1


def dpkg_complaint(version: str) -> str:
    """What dpkg writes to stderr about ``version`` when comparing it."""
    result = subprocess.run(
        ["dpkg", "--compare-versions", version, "eq", version],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stderr


def dpkg_compare_many(pairs: list[tuple[str, str]]) -> list[int | None]:
    """dpkg's answers for many pairs, a few dpkg processes at a time."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(lambda pair: dpkg_compare(*pair), pairs))


def rpm_compare_many(pairs: list[tuple[str, str]]) -> list[int]:
    """rpm's own ``rpm.vercmp`` (full epoch:version-release) for every pair, in one run."""
    lines = [f"print(rpm.vercmp({json.dumps(a)}, {json.dumps(b)}) .. ' ')" for a, b in pairs]
    with tempfile.TemporaryDirectory() as directory:
        script = Path(directory) / "pairs.lua"
        script.write_text("\n".join(lines))
        output = subprocess.run(
            ["rpm", "--eval", f'%{{lua: dofile("{script}")}}'],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    answers = [int(answer) for answer in output.split()]
    assert len(answers) == len(pairs)
    return answers


_NODE_SCRIPT = """
const semver = require("semver");
const pairs = JSON.parse(require("fs").readFileSync(0, "utf8"));
console.log(JSON.stringify(pairs.map(([a, b]) =>
    semver.valid(a) && semver.valid(b) ? semver.compare(a, b) : null)));
"""


def node_semver_compare_many(pairs: list[tuple[str, str]]) -> list[int | None]:
    """node-semver's ``compare`` for every pair (None where ``valid`` refuses one)."""
    node = shutil.which("node") or require("nodejs")
    if not Path(NODE_SEMVER_PATH, "semver", "package.json").exists():
        pytest.skip("node-semver is not installed (scripts/install-test-deps installs it)")
    result = subprocess.run(
        [node, "-e", _NODE_SCRIPT],
        input=json.dumps(pairs),
        capture_output=True,
        text=True,
        check=True,
        env={"NODE_PATH": NODE_SEMVER_PATH, "PATH": "/usr/bin:/bin"},
    )
    answers: list[int | None] = json.loads(result.stdout)
    return answers


_MAVEN_VERDICT = re.compile(r"   \S+ (==|<|>) \S+")
_MAVEN_CANONICAL = re.compile(r"\d+\. \S+ (?:->|==) (\S*?)(?:; tokens: .*)?")


def _maven_main(versions: list[str]) -> list[str]:
    """The lines ``ComparableVersion``'s ``main`` prints for ``versions``: each version's
    canonical form, and between two versions their comparison."""
    java = require("java")
    jars = sorted(glob.glob(MAVEN_ARTIFACT_JARS))
    if not jars:
        pytest.skip("maven is not installed (scripts/install-test-deps installs it)")
    result = subprocess.run(
        [java, "-cp", jars[0], "org.apache.maven.artifact.versioning.ComparableVersion", *versions],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.splitlines()[1:]


def maven_compare_many(pairs: list[tuple[str, str]]) -> list[int]:
    """Maven's ``ComparableVersion.compareTo`` for every pair, in one java run: ``main``
    compares each version with the one before it, so the pairs go in one after another
    and every second comparison is one of them."""
    lines = _maven_main([version for pair in pairs for version in pair])
    verdicts = [match.group(1) for line in lines if (match := _MAVEN_VERDICT.fullmatch(line))]
    assert len(verdicts) == 2 * len(pairs) - 1
    answer = {"<": -1, "==": 0, ">": 1}
    return [answer[verdict] for verdict in verdicts[::2]]


def maven_canonical_many(versions: list[str]) -> list[str]:
    """Maven's canonical form of each version (``ComparableVersion.getCanonical``)."""
    lines = _maven_main(versions)
    forms = [match.group(1) for line in lines if (match := _MAVEN_CANONICAL.fullmatch(line))]
    assert len(forms) == len(versions)
    return forms
