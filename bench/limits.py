"""What the machine can do at most, measured next to the registries: one core's sha256,
disk writes that end with fdatasync (in the directory the registries store into), loopback
TCP throughput between two threads of one process, and, when nginx is installed, nginx
serving a file with ``sendfile`` to the download figures' client: the ceiling for serving
blobs."""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import threading
import time
from pathlib import Path

from bench.client import MiB, Sink
from bench.images import random_file
from bench.servers import free_port, wait_http

NGINX_FILE_MIB = 256


def sha256_mib_s(total_mib: int) -> float:
    block = os.urandom(4 * MiB)
    h = hashlib.sha256()
    started = time.perf_counter()
    for _ in range(total_mib // 4):
        h.update(block)
    return total_mib / (time.perf_counter() - started)


def disk_write_fdatasync_mib_s(directory: Path, total_mib: int) -> float:
    """Write ``total_mib`` in 1 MiB blocks and fdatasync once, as an upload commit does."""
    block = os.urandom(MiB)
    path = directory / "limits-disk-test.bin"
    started = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for _ in range(total_mib):
            os.write(fd, block)
        os.fdatasync(fd)
    finally:
        os.close(fd)
    elapsed = time.perf_counter() - started
    path.unlink()
    return total_mib / elapsed


def loopback_mib_s(total_mib: int) -> float:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    received = [0]

    def sink() -> None:
        conn, _ = listener.accept()
        buffer = bytearray(MiB)
        view = memoryview(buffer)
        while count := conn.recv_into(view):
            received[0] += count
        conn.close()

    thread = threading.Thread(target=sink)
    thread.start()
    block = os.urandom(MiB)
    sender = socket.create_connection(("127.0.0.1", port))
    started = time.perf_counter()
    for _ in range(total_mib):
        sender.sendall(block)
    sender.shutdown(socket.SHUT_WR)
    thread.join()
    elapsed = time.perf_counter() - started
    sender.close()
    listener.close()
    assert received[0] == total_mib * MiB
    return total_mib / elapsed


def nginx_sendfile_runs(directory: Path, total_mib: int, repetitions: int) -> list[float]:
    """MiB/s of nginx (one process, ``sendfile``, from the page cache) serving a 256 MiB
    file ``total_mib`` / 256 times on one connection to ``Sink``, as the download figures
    read, in each of ``repetitions`` runs."""
    root = directory / "limits-nginx"
    (root / "logs").mkdir(parents=True, exist_ok=True)
    random_file(root / "blob", NGINX_FILE_MIB * MiB)
    port = free_port()
    (root / "nginx.conf").write_text(
        "daemon off; master_process off; pid nginx.pid; error_log logs/error.log;\n"
        "events {}\n"
        "http { access_log off; sendfile on; tcp_nopush on;\n"
        f"  server {{ listen 127.0.0.1:{port}; root {root}; }} }}\n"
    )
    argv = ["nginx", "-p", str(root), "-c", "nginx.conf", "-e", "logs/error.log"]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sink = Sink("127.0.0.1", port)
    times = max(1, total_mib // NGINX_FILE_MIB)
    runs = []
    try:
        wait_http("127.0.0.1", port, "/blob", 10, proc, root / "logs" / "error.log")
        sink.get("/blob")  # the file into the page cache
        for _ in range(repetitions):
            started = time.perf_counter()
            for _ in range(times):
                sink.get("/blob")
            runs.append(times * NGINX_FILE_MIB / (time.perf_counter() - started))
    finally:
        sink.close()
        proc.terminate()
        proc.wait()
        shutil.rmtree(root)
    return runs


def measure(directory: Path, quick: bool, repetitions: int) -> dict[str, dict[str, object]]:
    size = 256 if quick else 1024
    results = {
        "sha256_one_core": [sha256_mib_s(size) for _ in range(repetitions)],
        "disk_write_fdatasync": [
            disk_write_fdatasync_mib_s(directory, size // 2) for _ in range(repetitions)
        ],
        "loopback_tcp": [loopback_mib_s(size * 2) for _ in range(repetitions)],
    }
    if shutil.which("nginx"):
        results["nginx_sendfile"] = nginx_sendfile_runs(directory, size, repetitions)
    return {
        name: {
            "value": round(statistics.median(values), 1),
            "unit": "MiB/s",
            "runs": [round(v, 1) for v in values],
        }
        for name, values in results.items()
    } | {"cpu_count": {"value": os.cpu_count(), "unit": "cores", "runs": []}}
