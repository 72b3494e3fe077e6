"""cargohold benchmark: the same workload against the reference registry and cargohold.

Starts Debian's docker-registry (CNCF Distribution 2.8, filesystem storage), cargohold
(embedded default: SQLite) and cargohold on PostgreSQL 15 itself, on loopback, in a
temporary directory; runs every workload against each (repetitions interleaved); prints a
table; writes OUTPUT/latest.json and OUTPUT/latest.png (ratios).

JSON: {"figures": {NAME: {"cargohold": X, "reference": Y, "ratio": X/Y, "unit": U,
"higher_is_better": B, "cargohold_postgresql": Z, "ratio_postgresql": Z/Y, "runs": {...},
"description": ...}}, "limits": {NAME: {"value", "unit", "runs"}}, "meta": {...},
"conventions": {...}}. Every value is the median of the repetitions. The ratio is always
cargohold / reference: for higher_is_better=false figures (seconds, latency, memory, CPU)
a ratio below 1 means cargohold is better.

Needs: docker-registry, wrk, hey, skopeo, PostgreSQL 15 server binaries, and for the plot
matplotlib (pip install -e '.[bench]').
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: import ``bench`` from the repository root
    root = Path(__file__).resolve().parent.parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != root / "bench"]
    sys.path.insert(0, str(root))

from bench import images, limits, report, workloads
from bench.client import MiB
from bench.servers import Fleet

GROUPS = {
    "blobs": [workloads.upload_monolithic, workloads.upload_chunked, workloads.download],
    "small": [workloads.small_requests],
    "skopeo": [workloads.skopeo_push_pull],
    "concurrent": [workloads.concurrent_pushes],
    "listings": [workloads.listings],
}
REQUIRED_TOOLS = ["docker-registry", "wrk", "hey", "skopeo"]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python bench/run.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="short run (< 2 min): 64 MiB blobs, 1 s load runs, a 24 MiB "
        "image, 1,000 tags and 200 repositories",
    )
    parser.add_argument(
        "--repetitions",
        type=int,
        default=3,
        help="repetitions per figure (default 3; the median is reported)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=Path(__file__).resolve().parent / "results",
        help="where latest.json and latest.png go",
    )
    parser.add_argument(
        "--only",
        default=",".join(GROUPS),
        help=f"comma-separated workload groups (default all: "
        f"{','.join(GROUPS)}); memory and CPU figures always come",
    )
    parser.add_argument(
        "--tags",
        type=int,
        help="tags in one repository for the listing figures (default 100,000; --quick 1,000)",
    )
    parser.add_argument(
        "--repos",
        type=int,
        help="repositories for the catalog figures (default 10,000; --quick 200)",
    )
    parser.add_argument(
        "--no-postgres", action="store_true", help="skip the cargohold-on-PostgreSQL variant"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp directory")
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(GROUPS)
    if unknown:
        parser.error(f"unknown group(s) {', '.join(sorted(unknown))}")
    if args.repetitions < 1:
        parser.error("--repetitions must be at least 1")
    return args


def _exit_on_sigterm(signum: int, _frame: object) -> None:
    """A ``kill`` of the benchmark stops the servers it started, as Ctrl-C does."""
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = [tool for tool in REQUIRED_TOOLS if shutil.which(tool) is None]
    if missing:
        print(
            f"missing tools: {', '.join(missing)} (apt-get install docker-registry wrk hey "
            "skopeo postgresql)",
            file=sys.stderr,
        )
        return 2
    began = time.monotonic()

    def log(message: str) -> None:
        print(f"[{time.monotonic() - began:6.1f}s] {message}", flush=True)

    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # so that ``fleet.stop()`` runs
    fleet = Fleet(with_postgres=not args.no_postgres, keep=args.keep)
    ctx = workloads.Context.create(args.quick, args.repetitions, fleet.root, log)
    ctx.skopeo_isolated = workloads.skopeo_isolation_works()
    ctx.tags = args.tags or ctx.tags
    ctx.repos = args.repos or ctx.repos
    log(f"measuring machine limits in {fleet.root}")
    machine = limits.measure(fleet.root, args.quick, args.repetitions)
    log("limits: " + ", ".join(f"{k} {v['value']} {v['unit']}" for k, v in machine.items()))
    ctx.blob_file = images.random_file(fleet.root / "blob.bin", ctx.blob_mib * MiB)
    ctx.tiny = images.tiny_image()
    figures: list[workloads.Figure] = []
    try:
        servers = fleet.start()
        log("started " + ", ".join(f"{s.name} (pid {s.pid}, {s.base_url})" for s in servers))
        time.sleep(1.0)
        idle = workloads.memory_idle(ctx, servers)
        for group in args.only.split(","):
            for workload in GROUPS[group]:
                log(f"{workload.__name__}")
                figures += workload(ctx, servers)
        workloads.memory_idle(ctx, servers, idle, key="after_workload_MiB")
        figures.append(idle)
        if any(ctx.push_cpu.values()):
            figures.append(workloads.cpu_per_gib(ctx, servers))
        versions = _versions()
    finally:
        fleet.stop()
    meta = {
        "started": started,
        "seconds": round(time.monotonic() - began, 1),
        "scale": ctx.scale(),
        "servers": {
            "reference": "docker-registry (Distribution 2.8) filesystem storage, "
            "in-memory blob descriptor cache, no auth",
            "cargohold": "cargohold serve, embedded default (SQLite WAL, "
            "one HTTP worker per core, a background worker process)",
            **(
                {}
                if args.no_postgres
                else {
                    "cargohold_postgresql": "cargohold serve --database-url postgresql:// "
                    "(PostgreSQL 15, default settings)"
                }
            ),
        },
        "clients": {
            "upload": "http.client, 1 MiB blocks",
            "download": "raw socket, bodies discarded by the kernel (MSG_TRUNC)",
            "GET manifest": f"wrk -t1 -c{ctx.connections}",
            "HEAD blob": f"hey -c {ctx.connections}",
            "listings": "sequential http.client requests, keep-alive",
            "seeding": f"asyncio, {ctx.seed_concurrency} keep-alive connections",
        },
        "auth": "cargohold: bearer tokens (Docker token scheme), one per scope, fetched "
        "with a superuser's CLI token; reference: none",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "kernel": platform.release(),
        },
        "versions": versions,
    }
    summary = report.summarize(figures)
    out_json = args.output / "latest.json"
    report.write_json(out_json, summary, machine, meta)
    problem = report.plot(args.output / "latest.png", summary, meta)
    print()
    print(report.table(summary, machine, meta))
    print(f"\nwrote {out_json}" + ("" if problem else f" and {args.output / 'latest.png'}"))
    if problem:
        print(problem)
    log("done")
    return 0


def _versions() -> dict[str, str]:
    def first_line(argv: list[str]) -> str:
        try:
            result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
            return (result.stdout or result.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "unknown"

    return {
        "docker-registry": first_line(["docker-registry", "--version"]),
        "skopeo": first_line(["skopeo", "--version"]),
        "wrk": first_line(["wrk", "-v"]),
        "cargohold_commit": first_line(
            ["git", "-C", str(Path(__file__).resolve().parent), "rev-parse", "--short", "HEAD"]
        ),
    }


if __name__ == "__main__":
    sys.exit(main())
