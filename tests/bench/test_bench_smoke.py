"""The benchmark harness runs and writes well-formed output. Not a performance test: no
figure is compared with any threshold.

This folder has no ``__init__.py`` on purpose: ``tests/`` is not a package, so under
pytest's default import mode ``tests/bench/__init__.py`` would make a package named
``bench`` that shadows the harness package ``bench/`` at the repository root.
"""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402
from bench.workloads import parse_hey, parse_wrk  # noqa: E402

TOOLS = ["docker-registry", "wrk", "hey", "skopeo"]
FIGURES = {
    "upload_monolithic",
    "upload_chunked",
    "download",
    "download_range",
    "manifest_get_rps",
    "manifest_get_p50",
    "manifest_get_p99",
    "blob_head_rps",
    "blob_head_p50",
    "blob_head_p99",
    "memory_under_load",
    "skopeo_push",
    "skopeo_pull",
    "concurrent_pushes",
    "tags_first_page",
    "tags_middle_page",
    "catalog_first_page",
    "catalog_middle_page",
    "manifest_put_rps",
    "memory_idle",
    "cpu_per_gib_pushed",
}

WRK_OUTPUT = """Running 2s test @ http://127.0.0.1:5000/v2/x/manifests/latest
  1 threads and 64 connections
  Latency Distribution
     50%  812.00us
     75%    1.20ms
     90%    2.10ms
     99%    1.05s
  8000 requests in 2.00s, 5.00MB read
  Socket errors: connect 0, read 0, write 0, timeout 2
  Non-2xx or 3xx responses: 3
Requests/sec:   4000.50
"""

HEY_OUTPUT = """Summary:
  Requests/sec:\t6183.8396

Latency distribution:
  10% in 0.0012 secs
  50% in 0.0022 secs
  99% in 0.0085 secs

Status code distribution:
  [200]\t12000 responses
  [404]\t5 responses
"""


def test_parse_wrk() -> None:
    stats = parse_wrk(WRK_OUTPUT)
    assert stats["rps"] == 4000.5
    assert stats["p50_ms"] == pytest.approx(0.812)
    assert stats["p99_ms"] == pytest.approx(1050.0)
    assert stats["requests"] == 8000
    assert stats["errors"] == 5


def test_parse_hey() -> None:
    stats = parse_hey(HEY_OUTPUT)
    assert stats["rps"] == pytest.approx(6183.8396)
    assert stats["p50_ms"] == pytest.approx(2.2)
    assert stats["p99_ms"] == pytest.approx(8.5)
    assert stats["requests"] == 12005
    assert stats["errors"] == 5


def _check_figure(name: str, entry: dict[str, object]) -> None:
    for key in (
        "cargohold",
        "reference",
        "ratio",
        "unit",
        "higher_is_better",
        "cargohold_postgresql",
        "ratio_postgresql",
        "runs",
        "description",
    ):
        assert key in entry, f"{name} lacks {key}"
    assert isinstance(entry["unit"], str) and entry["unit"]
    assert isinstance(entry["higher_is_better"], bool)
    errors = entry.get("errors", {})
    assert isinstance(errors, dict)
    for server, value_key, ratio_key in (
        ("cargohold", "cargohold", "ratio"),
        ("cargohold_postgresql", "cargohold_postgresql", "ratio_postgresql"),
        ("reference", "reference", None),
    ):
        value = entry[value_key]
        if value is None:
            assert server in errors, f"{name}: no value for {server} and no error recorded"
            continue
        assert isinstance(value, (int, float)) and math.isfinite(value) and value >= 0
        if ratio_key and entry["reference"]:
            ratio = entry[ratio_key]
            assert isinstance(ratio, (int, float))
            assert ratio == pytest.approx(value / entry["reference"], rel=0.01, abs=0.002)


def test_quick_run_writes_well_formed_results(tmp_path: Path) -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    assert not missing, f"scripts/install-test-deps installs {missing}; run it first"
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "run.py"),
            "--quick",
            "--repetitions",
            "1",
            # The listings' seeding takes most of a --quick run; the harness is the same.
            "--tags",
            "100",
            "--repos",
            "20",
            "--output",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "ratio" in result.stdout  # the table was printed
    document = json.loads((tmp_path / "latest.json").read_text())
    assert set(document) >= {"figures", "limits", "meta", "conventions"}
    assert set(document["figures"]) == FIGURES
    for name, entry in document["figures"].items():
        _check_figure(name, entry)
    limits = ["sha256_one_core", "disk_write_fdatasync", "loopback_tcp"]
    limits += ["nginx_sendfile"] if shutil.which("nginx") else []  # installed by the test deps
    for name in limits:
        assert document["limits"][name]["value"] > 0
        assert document["limits"][name]["unit"] == "MiB/s"
    assert document["meta"]["scale"]["mode"] == "quick"
    png = (tmp_path / "latest.png").read_bytes()
    assert png.startswith(b"\x89PNG")


LIMITS = {"sha256_one_core": {"value": 1.0, "unit": "MiB/s"}}
SCALE = {
    "mode": "quick",
    "repetitions": 1,
    "blob_MiB": 1,
    "image_MiB": 1,
    "tags": 1,
    "repositories": 1,
    "small_request_seconds": 1,
}


def _entry(**values: Any) -> dict[str, Any]:
    return {
        "cargohold": 1.0,
        "reference": 2.0,
        "ratio": 0.5,
        "unit": "s",
        "higher_is_better": False,
        "cargohold_postgresql": None,
        "ratio_postgresql": None,
        **values,
    }


def test_table_marks_failures() -> None:
    summary = {
        "x": _entry(
            cargohold=None,
            ratio=None,
            cargohold_postgresql=1.0,
            ratio_postgresql=0.5,
            errors={"cargohold": "boom"},
        )
    }
    meta = {"scale": SCALE, "servers": {"cargohold": "", "cargohold_postgresql": ""}}
    text = report.table(summary, LIMITS, meta)
    assert "FAIL" in text and "FAILED x on cargohold: boom" in text
    assert "ch+postgres" in text


def test_table_without_postgresql_has_no_postgresql_columns() -> None:
    """--no-postgres: the variant that did not run is neither a column nor a FAIL."""
    meta = {"scale": SCALE, "servers": {"cargohold": ""}}
    text = report.table({"x": _entry()}, LIMITS, meta)
    header, _, row = text.splitlines()[:3]
    assert header.split() == ["figure", "unit", "better", "reference", "cargohold", "ratio"]
    assert row.split() == ["x", "s", "lower", "2", "1", "0.50"]
    assert "FAIL" not in text
