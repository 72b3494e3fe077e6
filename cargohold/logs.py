"""Structured logging: one JSON object per line on stderr, and one per request."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import sys
import time
from json.encoder import encode_basestring_ascii
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ACCESS = logging.getLogger("cargohold.access")


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ...extra fields}`` per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": utc_time(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if fields:
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, separators=(",", ":"), default=str)


def utc_time(timestamp: float) -> str:
    """``2026-11-28T12:40:07.123Z``: the time of a log line, in UTC to the millisecond."""
    second = int(timestamp)
    return f"{_utc_second(second)}.{int((timestamp - second) * 1000):03d}Z"


@functools.lru_cache(maxsize=4)
def _utc_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class AccessLog:
    """ASGI middleware: adds the registry API version header to every answer and logs one
    line per request (method, path, status, bytes sent, duration, client address, and the
    account the registry token named). Query strings and headers are not logged: they may
    carry digests of private content and credentials.

    The lines are those ``JsonFormatter`` writes for the ``cargohold.access`` logger, at
    its level, but written to stderr directly: a record through ``logging`` cost ~4x as
    much, a fifth of a small request's CPU."""

    def __init__(self, app: ASGIApp, *, enabled: bool = True) -> None:
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        sent = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), API_VERSION_HEADER]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            if self.enabled and ACCESS.isEnabledFor(logging.INFO):
                client = scope.get("client")
                principal = scope.get("state", {}).get("principal")
                elapsed = (time.perf_counter() - started) * 1000
                _write(
                    _access_line(
                        scope["method"],
                        scope["path"],
                        status,
                        sent,
                        elapsed,
                        client[0] if client else None,
                        getattr(principal, "name", None),
                    )
                )


API_VERSION_HEADER = (b"docker-distribution-api-version", b"registry/2.0")


def _access_line(
    method: str, path: str, status: int, sent: int, ms: float, client: str | None, user: str | None
) -> str:
    """The line ``JsonFormatter`` would write for the request, built without a record."""
    return (
        f'{{"time":"{utc_time(time.time())}","level":"info","logger":"{ACCESS.name}",'
        f'"message":"request","method":{_json(method)},"path":{_json(path)},'
        f'"status":{status},"bytes":{sent},"ms":{round(ms, 2)},'
        f'"client":{_json(client)},"user":{_json(user)}}}\n'
    )


def _write(line: str) -> None:
    """``line`` to stderr; like ``logging``, a log that cannot be written fails no request."""
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(line)


def _json(value: str | None) -> str:
    return "null" if value is None else encode_basestring_ascii(value)
