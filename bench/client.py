"""Small, cheap HTTP clients: the benchmark must not be limited by its own client.

- ``Conn``: one persistent ``http.client`` connection with 1 MiB send blocks, for the big
  uploads (bodies stream from a file, never held twice in memory).
- ``Sink``: one persistent raw connection whose GETs' bodies the kernel discards, for the
  timed downloads.
- ``AsyncPool``: raw asyncio HTTP/1.1 keep-alive connections for many small requests
  (seeding 100,000 tags), far cheaper per request than a full client library.
- ``TokenSource``: bearer tokens from a registry's token endpoint (Docker token scheme).
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import mmap
import re
import socket
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

MiB = 1024 * 1024


class HTTPError(RuntimeError):
    pass


class Conn:
    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.base = f"http://{host}:{port}"
        self.headers = headers or {}
        self.conn = http.client.HTTPConnection(host, port, timeout=300, blocksize=MiB)

    def close(self) -> None:
        self.conn.close()

    def path_of(self, location: str) -> str:
        """A Location header (absolute or relative, maybe with a query) as a request path."""
        parts = urlsplit(urljoin(self.base + "/", location))
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def request(
        self,
        method: str,
        path: str,
        body: bytes | Iterable[bytes] | None = None,
        headers: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
        read: bool = True,
    ) -> http.client.HTTPResponse:
        all_headers = {**self.headers, **(headers or {})}
        try:
            self.conn.request(method, path, body=body, headers=all_headers)
            response = self.conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # the keep-alive connection was closed by the server: reconnect once
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=300, blocksize=MiB)
            self.conn.request(method, path, body=body, headers=all_headers)
            response = self.conn.getresponse()
        if response.status not in expect:
            text = response.read()[:500]
            raise HTTPError(f"{method} {path}: {response.status} {text!r}")
        if read:
            response.read()
        return response


class Sink:
    """One keep-alive connection for GETs whose bodies the kernel discards: ``recv`` with
    ``MSG_TRUNC`` on a TCP socket (Linux) drops that many bytes without copying them to the
    process, so the figure is the server's sending rate. Reading the bodies into Python, even
    in 16 MiB blocks, pinned every server here at the client's own ~2.1 GiB/s, nginx's
    ``sendfile`` included (bench/README.md). The bytes are not seen: check them apart."""

    BLOCK = 64 * MiB

    def __init__(self, host: str, port: int, headers: dict[str, str] | None = None) -> None:
        self.host, self.port = host, port
        self.headers = {"Host": f"{host}:{port}", **(headers or {})}
        self.sock: socket.socket | None = None
        # recv_into wants a buffer of the size asked for; the kernel never writes to it,
        # so an anonymous mapping's pages are never even allocated
        self._nowhere = mmap.mmap(-1, self.BLOCK)

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def get(
        self, path: str, headers: dict[str, str] | None = None, expect: tuple[int, ...] = (200,)
    ) -> int:
        """GET ``path``, discard its body (which must have a ``Content-Length``); return
        the body's length."""
        if self.sock is None:
            self.sock = socket.create_connection((self.host, self.port), timeout=300)
        sent = {**self.headers, **(headers or {})}
        lines = [f"GET {path} HTTP/1.1"] + [f"{k}: {v}" for k, v in sent.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        status, fields, early = self._head()
        length = int(fields.get("content-length", "-1"))
        if length < 0:
            raise HTTPError(f"GET {path}: {status} without a Content-Length")
        remaining = length - len(early)
        while remaining > 0:
            count = self.sock.recv_into(self._nowhere, min(self.BLOCK, remaining), socket.MSG_TRUNC)
            if not count:
                raise HTTPError(f"GET {path}: connection closed {remaining} bytes early")
            remaining -= count
        if "close" in fields.get("connection", "").lower():
            self.close()
        if status not in expect:
            raise HTTPError(f"GET {path}: {status}")
        return length

    def _head(self) -> tuple[int, dict[str, str], bytes]:
        """The response's status and header fields (lower-case names), and the body bytes
        read with them."""
        assert self.sock is not None
        received = b""
        while b"\r\n\r\n" not in received:
            data = self.sock.recv(65536)
            if not data:
                raise HTTPError("connection closed before the response's header")
            received += data
        head, _, early = received.partition(b"\r\n\r\n")
        status_line, *field_lines = head.decode("latin-1").split("\r\n")
        fields = {}
        for line in field_lines:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        return int(status_line.split()[1]), fields, early


def file_chunks(
    path: Path, prefix: bytes = b"", start: int = 0, length: int | None = None, block: int = MiB
) -> Iterator[bytes]:
    """The bytes of ``path`` from ``start``, with its first ``len(prefix)`` bytes (counted
    from the file's beginning) replaced by ``prefix``: unique content without a new file."""
    size = path.stat().st_size if length is None else start + length
    with open(path, "rb") as f:
        f.seek(start)
        position = start
        while position < size:
            data = f.read(min(block, size - position))
            if not data:
                break
            if position == 0 and prefix:
                data = prefix + data[len(prefix) :]
            position += len(data)
            yield data


class AsyncPool:
    """``concurrency`` keep-alive connections working through a list of requests."""

    def __init__(
        self, host: str, port: int, concurrency: int, headers: dict[str, str] | None = None
    ) -> None:
        self.host, self.port, self.concurrency = host, port, concurrency
        self.headers = headers or {}

    async def _one(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        method: str,
        path: str,
        body: bytes,
        headers: dict[str, str],
    ) -> int:
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {len(body)}",
        ]
        lines += [f"{k}: {v}" for k, v in {**self.headers, **headers}.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        status_line = await reader.readline()
        if not status_line:
            raise ConnectionResetError("server closed the connection")
        status = int(status_line.split()[1])
        length, chunked, close = 0, False, False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
            elif name == "connection" and "close" in value.lower():
                close = True
        if chunked:
            while True:
                size = int((await reader.readline()).split(b";")[0], 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
        elif length and method != "HEAD":
            await reader.readexactly(length)
        if close:
            raise ConnectionResetError("server asked to close")
        return status

    async def run(
        self, requests: list[tuple[str, str, bytes, dict[str, str], tuple[int, ...]]]
    ) -> float:
        """Send every request; raise on an unexpected status; return the seconds taken."""
        queue = list(reversed(requests))
        started = time.perf_counter()

        async def worker() -> None:
            reader, writer = await asyncio.open_connection(self.host, self.port)
            try:
                while queue:
                    method, path, body, headers, expect = queue.pop()
                    for attempt in range(3):
                        try:
                            status = await self._one(reader, writer, method, path, body, headers)
                            break
                        except (ConnectionError, asyncio.IncompleteReadError):
                            writer.close()
                            if attempt == 2:
                                raise
                            reader, writer = await asyncio.open_connection(self.host, self.port)
                    if status not in expect:
                        raise HTTPError(f"{method} {path}: status {status}")
            finally:
                writer.close()

        await asyncio.gather(*(worker() for _ in range(self.concurrency)))
        return time.perf_counter() - started

    def run_sync(
        self, requests: list[tuple[str, str, bytes, dict[str, str], tuple[int, ...]]]
    ) -> float:
        return asyncio.run(self.run(requests))


class TokenSource:
    """Bearer tokens for one registry, logged in with basic ``credentials`` (username and
    password or CLI token), as Docker clients get them: ``GET /v2/`` answers ``401`` with
    ``WWW-Authenticate: Bearer realm="URL",service="S"``, and the realm, asked with
    ``service`` and ``scope``, answers ``{"token": ...}``. ``headers(scope)`` fetches one
    token per scope and keeps it: the caller makes sure tokens outlive the run."""

    def __init__(self, host: str, port: int, credentials: tuple[str, str]) -> None:
        self.host, self.port = host, port
        basic = base64.b64encode(":".join(credentials).encode()).decode()
        self._authorization = f"Basic {basic}"
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def headers(self, scope: str) -> dict[str, str]:
        """``{"Authorization": "Bearer ..."}`` granting ``scope`` (several: space-separated)."""
        with self._lock:
            if scope not in self._tokens:
                self._tokens[scope] = self._fetch(scope)
            return {"Authorization": f"Bearer {self._tokens[scope]}"}

    def _fetch(self, scope: str) -> str:
        ping = Conn(self.host, self.port)
        try:
            answer = ping.request("GET", "/v2/", expect=(401,))
            challenge = dict(re.findall(r'(\w+)="([^"]*)"', answer.headers["WWW-Authenticate"]))
        finally:
            ping.close()
        realm = urlsplit(challenge["realm"])
        query = urlencode({"service": challenge.get("service", ""), "scope": scope})
        endpoint = Conn(realm.hostname or self.host, realm.port or 80)
        try:
            response = endpoint.request(
                "GET",
                f"{realm.path}?{query}",
                headers={"Authorization": self._authorization},
                read=False,
            )
            token: str = json.loads(response.read())["token"]
        finally:
            endpoint.close()
        return token
