"""One function per figure of issue 5. Each runs every repetition against every server,
interleaved (rep 1 on each server, then rep 2, ...) so that drift of this shared machine
spreads evenly, and returns ``Figure``s holding the raw values of every repetition.

Conventions: every figure is a number per server per repetition; the report takes the
median. ``higher_is_better`` says which way is good; the ratio is always
cargohold / reference, whatever the direction.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import images
from bench.client import AsyncPool, Conn, MiB, Sink, file_chunks
from bench.servers import Server, tree_cpu_seconds, tree_memory_bytes

GiB = 1024 * MiB
Request = tuple[str, str, bytes, dict[str, str], tuple[int, ...]]
SEED_SCOPE = "repository:bench/seed:pull"


@dataclass
class Figure:
    name: str
    unit: str
    higher_is_better: bool
    description: str
    runs: dict[str, list[float | None]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def add(self, server: Server, value: float | None) -> None:
        self.runs.setdefault(server.name, []).append(value)


@dataclass
class Context:
    quick: bool
    repetitions: int
    workdir: Path
    log: Callable[[str], None]
    blob_mib: int = 256
    chunk_mib: int = 16
    range_mib: int = 64
    small_seconds: int = 10
    connections: int = 64
    image_mib: float = 70
    family_base_mib: float = 20
    family_own_mib: float = 2
    family_size: int = 8
    tags: int = 100_000
    repos: int = 10_000
    page_size: int = 100
    page_samples: int = 10
    seed_concurrency: int = 32
    timed_tags: int = 6_000
    skopeo_isolated: bool = False
    blob_file: Path = Path()
    # per server: accumulated CPU seconds and bytes while pushing blobs (figure 8)
    push_cpu: dict[str, list[tuple[float, float, int]]] = field(default_factory=dict)
    uploaded: dict[str, tuple[str, str]] = field(default_factory=dict)  # repo, digest
    tiny: images.Image | None = None

    @classmethod
    def create(
        cls, quick: bool, repetitions: int, workdir: Path, log: Callable[[str], None]
    ) -> Context:
        ctx = cls(quick, repetitions, workdir, log)
        if quick:
            ctx.blob_mib, ctx.range_mib, ctx.small_seconds = 64, 16, 1
            ctx.image_mib, ctx.family_base_mib, ctx.family_own_mib = 24, 8, 1
            ctx.tags, ctx.repos, ctx.page_samples, ctx.timed_tags = 1_000, 200, 5, 600
        return ctx

    def scale(self) -> dict[str, Any]:
        return {
            "mode": "quick" if self.quick else "full",
            "repetitions": self.repetitions,
            "blob_MiB": self.blob_mib,
            "chunk_MiB": self.chunk_mib,
            "range_MiB": self.range_mib,
            "small_request_seconds": self.small_seconds,
            "connections": self.connections,
            "image_MiB": self.image_mib,
            "family": {
                "images": self.family_size,
                "base_MiB": self.family_base_mib,
                "own_MiB": self.family_own_mib,
            },
            "tags": self.tags,
            "repositories": self.repos,
            "page_size": self.page_size,
            "page_samples": self.page_samples,
            "seed_concurrency": self.seed_concurrency,
            "timed_tag_puts": self.timed_tags,
            "skopeo_blob_info_cache_isolated": self.skopeo_isolated,
        }


def _each(
    ctx: Context,
    servers: list[Server],
    figures: list[Figure],
    body: Callable[[Server, int], list[float | None]],
) -> None:
    """Run ``body(server, rep)`` for every repetition and server; it returns one value per
    figure. A failure is recorded for that server and its later repetitions are skipped.

    The servers' order rotates from one repetition to the next, so that none always runs
    right after the same other: what one run leaves the machine to do (the writeback of a
    push's data, most of all the reference's, which does not fsync) slows the next one.
    Swapping two cargohold servers in a fixed order moved their skopeo push medians by
    5-10%."""
    failed: set[str] = set()
    for rep in range(ctx.repetitions):
        for server in _rotated(servers, rep):
            if server.name in failed:
                continue
            try:
                values = body(server, rep)
            except Exception as exc:  # a server bug must not stop the whole benchmark
                failed.add(server.name)
                message = f"{type(exc).__name__}: {exc}"[:600]
                ctx.log(f"  ! {server.name}: {message}")
                for figure in figures:
                    figure.errors[server.name] = message
                continue
            for figure, value in zip(figures, values, strict=True):
                figure.add(server, value)
        summary = "; ".join(
            f"{f.name}="
            + ", ".join(f"{s.name}:{_fmt(f.runs.get(s.name, [None])[-1])}" for s in servers)
            for f in figures
        )
        ctx.log(f"  rep {rep + 1}: {summary}")


def _rotated(servers: list[Server], rep: int) -> list[Server]:
    """The servers in repetition ``rep``'s order (see ``_each``)."""
    shift = rep % len(servers)
    return servers[shift:] + servers[:shift]


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _conn(server: Server, repository: str, action: str = "pull,push") -> Conn:
    return Conn(server.host, server.port, server.auth_headers(f"repository:{repository}:{action}"))


def _unique() -> bytes:
    return uuid.uuid4().bytes


# --- 1-3: blobs ---------------------------------------------------------------------------


def _push_cpu(ctx: Context, server: Server, work: Callable[[], None], size: int) -> float:
    cpu0 = tree_cpu_seconds(server.pid)
    pg0 = tree_cpu_seconds(server.extra_pids["postgresql"]) if server.extra_pids else 0.0
    started = time.perf_counter()
    work()
    elapsed = time.perf_counter() - started
    cpu = tree_cpu_seconds(server.pid) - cpu0
    pg = (tree_cpu_seconds(server.extra_pids["postgresql"]) - pg0) if server.extra_pids else 0.0
    ctx.push_cpu.setdefault(server.name, []).append((cpu, pg, size))
    return elapsed


def _start_upload(conn: Conn, repository: str) -> http.client.HTTPResponse:
    """POST a new upload session; the answer's Location is where its bytes go."""
    return conn.request(
        "POST", f"/v2/{repository}/blobs/uploads/", headers={"Content-Length": "0"}, expect=(202,)
    )


def _complete_upload(
    conn: Conn,
    response: http.client.HTTPResponse,
    digest: str,
    body: Iterable[bytes] | None = None,
    size: int = 0,
) -> http.client.HTTPResponse:
    """PUT ``?digest=`` to the Location of ``response``, with the last ``size`` bytes."""
    location = conn.path_of(response.headers["Location"])
    sep = "&" if "?" in location else "?"
    headers = {"Content-Length": str(size)}
    if body is not None:
        headers["Content-Type"] = "application/octet-stream"
    return conn.request(
        "PUT", f"{location}{sep}digest={digest}", body=body, headers=headers, expect=(201,)
    )


def upload_monolithic(ctx: Context, servers: list[Server]) -> list[Figure]:
    figure = Figure(
        "upload_monolithic",
        "MiB/s",
        True,
        f"monolithic blob upload (POST, then one PUT of {ctx.blob_mib} MiB)",
    )
    size = ctx.blob_file.stat().st_size
    repository = "bench/upload"

    def body(server: Server, rep: int) -> list[float | None]:
        prefix = _unique()
        digest = images.file_digest(ctx.blob_file, prefix)
        conn = _conn(server, repository)
        try:

            def work() -> None:
                started = _start_upload(conn, repository)
                done = _complete_upload(
                    conn, started, digest, file_chunks(ctx.blob_file, prefix), size
                )
                if done.headers.get("Docker-Content-Digest", digest) != digest:
                    raise RuntimeError("wrong Docker-Content-Digest")

            elapsed = _push_cpu(ctx, server, work, size)
        finally:
            conn.close()
        ctx.uploaded[server.name] = (repository, digest)
        ctx.uploaded[server.name + ":prefix"] = (repository, prefix.hex())
        return [size / MiB / elapsed]

    _each(ctx, servers, [figure], body)
    return [figure]


def upload_chunked(ctx: Context, servers: list[Server]) -> list[Figure]:
    chunk = ctx.chunk_mib * MiB
    size = ctx.blob_file.stat().st_size
    figure = Figure(
        "upload_chunked",
        "MiB/s",
        True,
        f"chunked blob upload ({size // chunk} PATCHes of {ctx.chunk_mib} MiB "
        "with Content-Range, then PUT ?digest=)",
    )
    repository = "bench/chunked"

    def body(server: Server, rep: int) -> list[float | None]:
        prefix = _unique()
        digest = images.file_digest(ctx.blob_file, prefix)
        conn = _conn(server, repository)
        try:

            def work() -> None:
                response = _start_upload(conn, repository)
                for start in range(0, size, chunk):
                    length = min(chunk, size - start)
                    location = conn.path_of(response.headers["Location"])
                    data = file_chunks(ctx.blob_file, prefix if start == 0 else b"", start, length)
                    response = conn.request(
                        "PATCH",
                        location,
                        body=data,
                        headers={
                            "Content-Length": str(length),
                            "Content-Range": f"{start}-{start + length - 1}",
                            "Content-Type": "application/octet-stream",
                        },
                        expect=(202,),
                    )
                _complete_upload(conn, response, digest)

            elapsed = _push_cpu(ctx, server, work, size)
        finally:
            conn.close()
        return [size / MiB / elapsed]

    _each(ctx, servers, [figure], body)
    return [figure]


DOWNLOAD_BYTES = 1024 * MiB
"""Bytes each download figure reads per repetition (the blob or the range, several times on
one connection): one 256 MiB download lasts about 0.15 s here, too short to measure."""


def download(ctx: Context, servers: list[Server]) -> list[Figure]:
    size = ctx.blob_file.stat().st_size
    start = size // 2 - ctx.range_mib * MiB // 2
    end = start + ctx.range_mib * MiB - 1
    whole_times = max(1, DOWNLOAD_BYTES // size)
    range_times = max(1, DOWNLOAD_BYTES // (end - start + 1))
    whole = Figure(
        "download",
        "MiB/s",
        True,
        f"blob download, {size // MiB} MiB, {whole_times} times in a row, the bytes discarded "
        "by the client's kernel",
    )
    ranged = Figure(
        "download_range",
        "MiB/s",
        True,
        f"ranged blob download: {ctx.range_mib} MiB from the middle (206), {range_times} times "
        "in a row, discarded alike",
    )
    verified: set[str] = set()

    def served_sha256(
        conn: Conn, path: str, byte_range: str | None = None
    ) -> tuple[str, http.client.HTTPResponse]:
        """The sha256 (hex) of the bytes ``GET path`` serves, whole or ``byte_range``, and
        the response (read)."""
        headers, expect = ({"Range": byte_range}, (206,)) if byte_range else ({}, (200,))
        response = conn.request("GET", path, headers=headers, expect=expect, read=False)
        hasher = hashlib.sha256()
        while chunk := response.read(MiB):
            hasher.update(chunk)
        return hasher.hexdigest(), response

    def verify(server: Server, conn: Conn, path: str, digest: str, prefix: bytes) -> None:
        """Untimed, once per server: the bytes served, whole and ranged, are those pushed."""
        whole, _ = served_sha256(conn, path)
        if f"sha256:{whole}" != digest:
            raise RuntimeError("download returned the wrong bytes")
        ranged, response = served_sha256(conn, path, f"bytes={start}-{end}")
        want = hashlib.sha256(
            b"".join(file_chunks(ctx.blob_file, prefix, start, end - start + 1))
        ).hexdigest()
        if ranged != want:
            raise RuntimeError("ranged download returned the wrong bytes")
        if response.headers.get("Content-Range") != f"bytes {start}-{end}/{size}":
            raise RuntimeError(f"bad Content-Range {response.headers.get('Content-Range')}")
        verified.add(server.name)

    def body(server: Server, rep: int) -> list[float | None]:
        repository, digest = ctx.uploaded[server.name]
        prefix = bytes.fromhex(ctx.uploaded[server.name + ":prefix"][1])
        path = f"/v2/{repository}/blobs/{digest}"
        if server.name not in verified:
            conn = _conn(server, repository, "pull")
            try:
                verify(server, conn, path, digest, prefix)
            finally:
                conn.close()
        sink = Sink(server.host, server.port, server.auth_headers(f"repository:{repository}:pull"))
        try:
            t0 = time.perf_counter()
            for _ in range(whole_times):
                got = sink.get(path)
                if got != size:
                    raise RuntimeError(f"download returned {got} of {size} bytes")
            t1 = time.perf_counter()
            for _ in range(range_times):
                got = sink.get(path, {"Range": f"bytes={start}-{end}"}, expect=(206,))
                if got != end - start + 1:
                    raise RuntimeError(f"ranged download returned {got} bytes")
            t2 = time.perf_counter()
        finally:
            sink.close()
        mib = (size * whole_times / MiB, (end - start + 1) * range_times / MiB)
        return [mib[0] / (t1 - t0), mib[1] / (t2 - t1)]

    _each(ctx, servers, [whole, ranged], body)
    return [whole, ranged]


# --- 4 and 8: small requests, memory ------------------------------------------------------

_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def parse_wrk(output: str) -> dict[str, float]:
    result: dict[str, float] = {}
    for pct in ("50", "99"):
        match = re.search(rf"^\s+{pct}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
        if match:
            result[f"p{pct}_ms"] = float(match.group(1)) * _UNIT[match.group(2)]
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if match:
        result["rps"] = float(match.group(1))
    match = re.search(r"(\d+) requests in", output)
    result["requests"] = float(match.group(1)) if match else 0.0
    match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    result["errors"] = float(match.group(1)) if match else 0.0
    match = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if match:
        result["errors"] += sum(float(x) for x in match.groups())
    return result


def parse_hey(output: str) -> dict[str, float]:
    result: dict[str, float] = {}
    for pct in ("50", "99"):
        match = re.search(rf"^\s+{pct}% in ([\d.]+) secs", output, re.M)
        if match:
            result[f"p{pct}_ms"] = float(match.group(1)) * 1000
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if match:
        result["rps"] = float(match.group(1))
    ok = sum(int(n) for n in re.findall(r"\[2\d\d\]\s+(\d+) responses", output))
    total = sum(int(n) for n in re.findall(r"\[\d{3}\]\s+(\d+) responses", output))
    errors = re.search(r"Error distribution:(.*)", output, re.S)
    error_count = sum(int(n) for n in re.findall(r"\[(\d+)\]", errors.group(1))) if errors else 0
    result["requests"] = float(total)
    result["errors"] = float(total - ok + error_count)
    return result


def _sample_memory(pid: int, stop: threading.Event, peak: list[int]) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], tree_memory_bytes(pid)[0])
        stop.wait(0.2)


def _load(
    tool: str,
    server: Server,
    path: str,
    headers: dict[str, str],
    seconds: int,
    connections: int,
    workdir: Path,
    method: str = "GET",
) -> tuple[dict[str, float], int]:
    """Run wrk (GET) or hey (HEAD: Debian's wrk 4.1 waits for a body after a HEAD answer
    with Content-Length) and sample the server's memory (PSS) meanwhile; return (stats,
    its peak)."""
    url = server.base_url + path
    if tool == "wrk":
        script = workdir / f"wrk-{uuid.uuid4().hex[:8]}.lua"
        lines = [f'wrk.method = "{method}"']
        lines += [f'wrk.headers["{k}"] = "{v}"' for k, v in headers.items()]
        script.write_text("\n".join(lines) + "\n")
        argv = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ]
    else:
        argv = [
            "hey",
            "-z",
            f"{seconds}s",
            "-c",
            str(connections),
            "-m",
            method,
            "-t",
            "10",
            "-disable-compression",
        ]
        for k, v in headers.items():
            argv += ["-H", f"{k}: {v}"]
        argv.append(url)
    stop, peak = threading.Event(), [0]
    sampler = threading.Thread(target=_sample_memory, args=(server.pid, stop, peak))
    sampler.start()
    try:
        result = subprocess.run(
            argv, capture_output=True, text=True, timeout=seconds + 60, check=True
        )
    finally:
        stop.set()
        sampler.join()
    stats = parse_wrk(result.stdout) if tool == "wrk" else parse_hey(result.stdout)
    if "rps" not in stats or "p99_ms" not in stats:
        raise RuntimeError(f"cannot parse {tool} output:\n{result.stdout}\n{result.stderr}")
    if stats["errors"]:
        raise RuntimeError(
            f"{tool}: {stats['errors']:.0f} errors of {stats['requests']:.0f} "
            f"requests\n{result.stdout[-800:]}"
        )
    return stats, peak[0]


def push_tiny(server: Server, repository: str, image: images.Image, tag: str) -> None:
    conn = _conn(server, repository)
    try:
        for digest, data in image.blobs.items():
            started = conn.request(
                "POST",
                f"/v2/{repository}/blobs/uploads/",
                headers={"Content-Length": "0"},
                expect=(202,),
            )
            location = conn.path_of(started.headers["Location"])
            sep = "&" if "?" in location else "?"
            conn.request(
                "PUT",
                f"{location}{sep}digest={digest}",
                body=data,
                headers={"Content-Type": "application/octet-stream"},
                expect=(201,),
            )
        conn.request(
            "PUT",
            f"/v2/{repository}/manifests/{tag}",
            body=image.manifest,
            headers={"Content-Type": images.OCI_MANIFEST},
            expect=(201,),
        )
    finally:
        conn.close()


def small_requests(ctx: Context, servers: list[Server]) -> list[Figure]:
    c = ctx.connections
    figures = [
        Figure("manifest_get_rps", "req/s", True, f"GET manifest by tag, {c} connections (wrk)"),
        Figure("manifest_get_p50", "ms", False, "GET manifest latency, median"),
        Figure("manifest_get_p99", "ms", False, "GET manifest latency, 99th percentile"),
        Figure("blob_head_rps", "req/s", True, f"HEAD blob, {c} connections (hey)"),
        Figure("blob_head_p50", "ms", False, "HEAD blob latency, median"),
        Figure("blob_head_p99", "ms", False, "HEAD blob latency, 99th percentile"),
        Figure(
            "memory_under_load",
            "MiB",
            False,
            "peak resident memory of the server's process tree during the GET manifest "
            "load (sum of PSS)",
        ),
    ]
    repository = "bench/small"
    image = ctx.tiny or images.tiny_image()
    layer = image.layer_digests[0]
    warmed: set[str] = set()

    def body(server: Server, rep: int) -> list[float | None]:
        headers = server.auth_headers(f"repository:{repository}:pull")
        manifest_headers = {**headers, "Accept": images.ACCEPT_MANIFESTS}
        if server.name not in warmed:
            push_tiny(server, repository, image, "latest")
            _load(
                "wrk",
                server,
                f"/v2/{repository}/manifests/latest",
                manifest_headers,
                1,
                c,
                ctx.workdir,
            )
            warmed.add(server.name)
        get, peak = _load(
            "wrk",
            server,
            f"/v2/{repository}/manifests/latest",
            manifest_headers,
            ctx.small_seconds,
            c,
            ctx.workdir,
        )
        head, _ = _load(
            "hey",
            server,
            f"/v2/{repository}/blobs/{layer}",
            headers,
            ctx.small_seconds,
            c,
            ctx.workdir,
            method="HEAD",
        )
        return [
            get["rps"],
            get["p50_ms"],
            get["p99_ms"],
            head["rps"],
            head["p50_ms"],
            head["p99_ms"],
            peak / MiB,
        ]

    _each(ctx, servers, figures, body)
    return figures


def memory_idle(
    ctx: Context, servers: list[Server], figure: Figure | None = None, key: str = ""
) -> Figure:
    """Resident memory of each server at rest: three samples a second apart."""
    if figure is None:
        figure = Figure(
            "memory_idle",
            "MiB",
            False,
            "resident memory of the server's process tree at idle, after start (sum of PSS; "
            "details.rss_sum_MiB: the sum of VmRSS)",
        )
    for server in servers:
        samples, rss_samples = [], []
        for _ in range(ctx.repetitions):
            pss, rss = tree_memory_bytes(server.pid)
            samples.append(pss / MiB)
            rss_samples.append(rss / MiB)
            time.sleep(0.2)
        if key:
            figure.details.setdefault(key, {})[server.name] = round(statistics.median(samples), 1)
        else:
            figure.runs[server.name] = list(samples)
            rss_sum = round(statistics.median(rss_samples), 1)
            figure.details.setdefault("rss_sum_MiB", {})[server.name] = rss_sum
    return figure


def cpu_per_gib(ctx: Context, servers: list[Server]) -> Figure:
    figure = Figure(
        "cpu_per_gib_pushed",
        "CPU s/GiB",
        False,
        "server CPU seconds (user+system, whole process tree) per GiB of blob "
        "pushed, over the monolithic and chunked uploads",
    )
    for server in servers:
        runs = ctx.push_cpu.get(server.name, [])
        # pair monolithic rep i with chunked rep i
        half = len(runs) // 2
        for (c1, p1, s1), (c2, p2, s2) in zip(runs[:half], runs[half:], strict=False):
            figure.add(server, (c1 + c2) / ((s1 + s2) / GiB))
            if server.extra_pids:
                figure.details.setdefault("postgresql_cpu_per_gib", {}).setdefault(
                    server.name, []
                ).append(round((p1 + p2) / ((s1 + s2) / GiB), 3))
    return figure


# --- 5-6: skopeo --------------------------------------------------------------------------


def skopeo_isolation_works() -> bool:
    """skopeo (as root) keeps a blob-info cache in /var/lib/containers/cache that would let
    a later push mount or skip blobs it saw before; run each skopeo with a private, empty
    cache (a tmpfs in its own mount namespace) when the machine allows it."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    Path("/var/lib/containers/cache").mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["unshare", "-m", "sh", "-c", "mount -t tmpfs tmpfs /var/lib/containers/cache && true"],
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


def _skopeo_argv(ctx: Context, args: list[str]) -> list[str]:
    argv = ["skopeo", "copy", "--quiet", *args]
    if ctx.skopeo_isolated:
        return [
            "unshare",
            "-m",
            "sh",
            "-c",
            'mount -t tmpfs tmpfs /var/lib/containers/cache && exec "$@"',
            "sh",
            *argv,
        ]
    return argv


def _token_flags(server: Server, repository: str, side: str, action: str) -> list[str]:
    headers = server.auth_headers(f"repository:{repository}:{action}")
    token = headers.get("Authorization", "").removeprefix("Bearer ")
    return [f"--{side}-registry-token", token] if token else []


def _push_argv(ctx: Context, server: Server, layout: Path, repository: str) -> list[str]:
    return _skopeo_argv(
        ctx,
        [
            "--dest-tls-verify=false",
            *_token_flags(server, repository, "dest", "pull,push"),
            f"oci:{layout}:latest",
            f"docker://{server.hostport}/{repository}:v1",
        ],
    )


def _check(result: subprocess.CompletedProcess[str], what: str) -> None:
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed ({result.returncode}): {result.stderr[-800:]}")


def skopeo_push_pull(ctx: Context, servers: list[Server]) -> list[Figure]:
    image = images.multi_layer_image(ctx.image_mib)
    compressed = sum(len(b) for b in image.blobs.values())
    layout = images.write_layout(image, ctx.workdir / "layout-multi")
    push = Figure(
        "skopeo_push",
        "s",
        False,
        f"skopeo copy oci: -> registry, {len(image.layer_digests)} layers, "
        f"{compressed / 1e6:.0f} MB compressed, new repository each time",
    )
    pull = Figure("skopeo_pull", "s", False, "skopeo copy registry -> dir:, same image")

    def body(server: Server, rep: int) -> list[float | None]:
        repository = f"bench/skopeo{rep}"
        push_argv = _push_argv(ctx, server, layout, repository)
        t0 = time.perf_counter()
        result = subprocess.run(push_argv, capture_output=True, text=True, timeout=600, check=False)
        t1 = time.perf_counter()
        _check(result, "skopeo push")
        target = Path(tempfile.mkdtemp(dir=ctx.workdir, prefix="pull-"))
        try:
            argv = _skopeo_argv(
                ctx,
                [
                    "--src-tls-verify=false",
                    *_token_flags(server, repository, "src", "pull"),
                    f"docker://{server.hostport}/{repository}:v1",
                    f"dir:{target}",
                ],
            )
            t2 = time.perf_counter()
            result = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False)
            t3 = time.perf_counter()
            _check(result, "skopeo pull")
            for digest in image.layer_digests:
                if not (target / digest.removeprefix("sha256:")).exists():
                    raise RuntimeError(f"pulled image lacks layer {digest}")
        finally:
            shutil.rmtree(target, ignore_errors=True)
        return [t1 - t0, t3 - t2]

    _each(ctx, servers, [push, pull], body)
    return [push, pull]


def concurrent_pushes(ctx: Context, servers: list[Server]) -> list[Figure]:
    family = images.family(ctx.family_size, ctx.family_base_mib, ctx.family_own_mib)
    layouts = [
        images.write_layout(image, ctx.workdir / f"layout-family{i}")
        for i, image in enumerate(family)
    ]
    figure = Figure(
        "concurrent_pushes",
        "s",
        False,
        f"{ctx.family_size} concurrent skopeo pushes of different images sharing "
        f"a {ctx.family_base_mib:g} MiB base layer (+{ctx.family_own_mib:g} MiB "
        "each), wall time until the last finishes",
    )

    def body(server: Server, rep: int) -> list[float | None]:
        argvs = [
            _push_argv(ctx, server, layout, f"bench/family{rep}-{i}")
            for i, layout in enumerate(layouts)
        ]
        started = time.perf_counter()
        procs = [
            subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            for argv in argvs
        ]
        failures = []
        for proc in procs:
            _, err = proc.communicate(timeout=600)
            if proc.returncode != 0:
                failures.append(err[-400:])
        elapsed = time.perf_counter() - started
        if failures:
            raise RuntimeError(f"{len(failures)} of {len(procs)} pushes failed: {failures[0]}")
        return [elapsed]

    _each(ctx, servers, [figure], body)
    return [figure]


# --- 7: listings --------------------------------------------------------------------------


def _tag_requests(ctx: Context, image: images.Image) -> tuple[list[list[Request]], list[Request]]:
    """The tag PUTs into ``bench/tags``: (timed slices, the others). They carry no token: the
    pool's headers do (``_seed_start``)."""
    put = {"Content-Type": images.OCI_MANIFEST}
    body = image.manifest
    tags = [
        ("PUT", f"/v2/bench/tags/manifests/t{i:06d}", body, put, (201,)) for i in range(1, ctx.tags)
    ]
    per = min(ctx.timed_tags, len(tags)) // ctx.repetitions
    slices = [tags[i * per : (i + 1) * per] for i in range(ctx.repetitions)]
    return slices, tags[per * ctx.repetitions :]


def _catalog_requests(
    ctx: Context, server: Server, image: images.Image
) -> tuple[list[Request], list[Request]]:
    """The catalog's repositories, seeded on ``server``: (mounts, manifests), each with a
    token for its repository (and the mount source). Blobs go into every repository before
    any manifest does, so that a manifest PUT never overtakes the mounts of its repository
    on another connection."""
    put = {"Content-Type": images.OCI_MANIFEST}
    repos = [f"bench/catalog/r{i:05d}" for i in range(ctx.repos)]
    auth = {r: server.auth_headers(f"repository:{r}:pull,push {SEED_SCOPE}") for r in repos}
    mounts = [
        ("POST", f"/v2/{repo}/blobs/uploads/?mount={d}&from=bench/seed", b"", auth[repo], (201,))
        for repo in repos
        for d in image.blobs
    ]
    manifests = [
        ("PUT", f"/v2/{repo}/manifests/latest", image.manifest, {**put, **auth[repo]}, (201,))
        for repo in repos
    ]
    return mounts, manifests


def _seed_start(ctx: Context, server: Server, image: images.Image) -> AsyncPool:
    """The tiny image in ``bench/seed`` and, by one sequential PUT, under tag t000000 of
    ``bench/tags`` (the concurrent PUTs that follow then only add tags)."""
    push_tiny(server, "bench/seed", image, "latest")
    push_tiny(server, "bench/tags", image, "t000000")
    headers = server.auth_headers("repository:bench/tags:pull,push")
    return AsyncPool(server.host, server.port, ctx.seed_concurrency, headers)


def listings(ctx: Context, servers: list[Server]) -> list[Figure]:
    n = ctx.page_size
    put_rate = Figure(
        "manifest_put_rps",
        "req/s",
        True,
        f"manifest PUTs (a new tag, the same tiny manifest) per second with "
        f"{ctx.seed_concurrency} connections, first {ctx.timed_tags} tags of "
        "the seeding, in equal timed slices",
    )
    figures = [
        Figure(
            "tags_first_page",
            "ms",
            False,
            f"GET tags/list?n={n}, {ctx.tags} tags in one repository, first page",
        ),
        Figure(
            "tags_middle_page",
            "ms",
            False,
            f"GET tags/list?n={n}&last=<middle tag>, {ctx.tags} tags",
        ),
        Figure(
            "catalog_first_page",
            "ms",
            False,
            f"GET _catalog?n={n}, {ctx.repos} repositories (and a few more), first page",
        ),
        Figure("catalog_middle_page", "ms", False, f"GET _catalog?n={n}&last=<middle repository>"),
    ]
    put_rate.details["note"] = (
        "the first tag is pushed alone: concurrent first PUTs of one manifest into one "
        "repository answered 500 on PostgreSQL (unique violation on "
        "uq_manifest_repository_id_digest, a check-then-insert race) when this was written"
    )
    image = ctx.tiny or images.tiny_image()
    slices, rest = _tag_requests(ctx, image)
    pools: dict[str, AsyncPool] = {}

    def fail(server: Server, exc: BaseException) -> None:
        message = f"{type(exc).__name__}: {exc}"[:600]
        ctx.log(f"  ! seeding {server.name}: {message}")
        for figure in [put_rate, *figures]:
            figure.errors.setdefault(server.name, f"seeding failed: {message}")

    # timed: the first tags, in slices, one server at a time (interleaved)
    ctx.log(f"  seeding: {sum(map(len, slices))} timed tag PUTs per server")
    for rep, tag_slice in enumerate(slices):
        for server in _rotated(servers, rep):
            if server.name in put_rate.errors:
                continue
            try:
                if server.name not in pools:
                    pools[server.name] = _seed_start(ctx, server, image)
                seconds = pools[server.name].run_sync(tag_slice)
                put_rate.add(server, len(tag_slice) / seconds)
            except Exception as exc:
                fail(server, exc)
    # untimed: the rest, every server at once (each in its own thread and event loop)
    ctx.log(
        f"  seeding: {len(rest)} more tags, {ctx.repos} repositories per server, "
        "servers in parallel"
    )

    def seed_rest(server: Server) -> None:
        started = time.perf_counter()
        try:
            pool = pools[server.name]
            mounts, manifests = _catalog_requests(ctx, server, image)
            pool.run_sync(rest)
            pool.run_sync(mounts)
            pool.run_sync(manifests)
        except Exception as exc:
            fail(server, exc)
            return
        put_rate.details.setdefault("untimed_seed_seconds_in_parallel", {})[server.name] = round(
            time.perf_counter() - started, 1
        )

    threads = [
        threading.Thread(target=seed_rest, args=(s,))
        for s in servers
        if s.name not in put_rate.errors
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ctx.log("  seeded")
    seeded = [s for s in servers if s.name not in put_rate.errors]
    paths = [
        f"/v2/bench/tags/tags/list?n={n}",
        f"/v2/bench/tags/tags/list?n={n}&last=t{ctx.tags // 2:06d}",
        f"/v2/_catalog?n={n}",
        f"/v2/_catalog?n={n}&last=bench/catalog/r{ctx.repos // 2:05d}",
    ]
    returned: dict[str, dict[str, int]] = {}

    def body(server: Server, rep: int) -> list[float | None]:
        scope = "repository:bench/tags:pull registry:catalog:*"
        conn = Conn(server.host, server.port, server.auth_headers(scope))
        values: list[float | None] = []
        try:
            for path in paths:
                response = conn.request("GET", path, read=False)
                payload = response.read()  # warm-up, and what it returns
                data = json.loads(payload)
                items = data.get("tags") or data.get("repositories") or []
                returned.setdefault(
                    path.split("?")[0].rsplit("/", 1)[-1]
                    + ("_middle" if "last=" in path else "_first"),
                    {},
                )[server.name] = len(items)
                samples = []
                for _ in range(ctx.page_samples):
                    t0 = time.perf_counter()
                    conn.request("GET", path)
                    samples.append((time.perf_counter() - t0) * 1000)
                values.append(statistics.median(samples))
        finally:
            conn.close()
        return values

    _each(ctx, seeded, figures, body)
    figures[0].details["items_returned_per_page"] = returned
    return [*figures, put_rate]
