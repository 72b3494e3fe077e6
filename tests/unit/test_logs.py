"""The access log: one JSON line per request, shaped as every other log line, on stderr;
the registry API version header on every answer."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from cargohold.logs import ACCESS, AccessLog, JsonFormatter, utc_time


async def _answer(scope: Scope, receive: Receive, send: Send) -> None:
    scope["state"]["principal"] = SimpleNamespace(name="alice")
    await send({"type": "http.response.start", "status": 201, "headers": [(b"x-a", b"1")]})
    await send({"type": "http.response.body", "body": b"hello", "more_body": True})
    await send({"type": "http.response.body", "body": b" world"})


def _request(
    app: Any, path: str = "/v2/a/blobs/uploads/", *, enabled: bool = True
) -> list[Message]:
    """The messages ``app`` sends for a POST to ``path``, behind the access log."""
    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "query_string": b"digest=sha256:secret",
        "headers": [(b"authorization", b"Bearer secret")],
        "client": ("192.0.2.7", 51000),
        "state": {},
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(AccessLog(app, enabled=enabled)(scope, receive, send))
    return sent


@pytest.fixture(autouse=True)
def _info_level() -> Iterator[None]:
    level = ACCESS.level
    ACCESS.setLevel(logging.INFO)
    yield
    ACCESS.setLevel(level)


def _lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().err.splitlines()]


def test_one_line_per_request_with_its_fields(capsys: pytest.CaptureFixture[str]) -> None:
    _request(_answer)
    [line] = _lines(capsys)
    assert line.pop("time").endswith("Z")
    assert line.pop("ms") >= 0
    assert line == {
        "level": "info",
        "logger": "cargohold.access",
        "message": "request",
        "method": "POST",
        "path": "/v2/a/blobs/uploads/",
        "status": 201,
        "bytes": 11,
        "client": "192.0.2.7",
        "user": "alice",
    }


def test_query_strings_and_headers_are_not_logged(capsys: pytest.CaptureFixture[str]) -> None:
    _request(_answer)
    assert "secret" not in capsys.readouterr().err


def test_a_hostile_path_stays_one_json_line(capsys: pytest.CaptureFixture[str]) -> None:
    path = '/v2/a"b\\c\n{"forged": 1}/\u00e9\u2028\x00'
    _request(_answer, path)
    [line] = _lines(capsys)
    assert line["path"] == path
    assert "forged" not in line


def test_an_anonymous_request_has_no_user(capsys: pytest.CaptureFixture[str]) -> None:
    async def anonymous(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 401, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    _request(anonymous)
    [line] = _lines(capsys)
    assert (line["status"], line["user"]) == (401, None)


def test_a_failed_request_is_logged_as_500(capsys: pytest.CaptureFixture[str]) -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        _request(broken)
    [line] = _lines(capsys)
    assert (line["status"], line["bytes"]) == (500, 0)


def test_no_line_below_the_access_loggers_level(capsys: pytest.CaptureFixture[str]) -> None:
    ACCESS.setLevel(logging.WARNING)
    _request(_answer)
    assert capsys.readouterr().err == ""


def test_no_line_when_disabled(capsys: pytest.CaptureFixture[str]) -> None:
    _request(_answer, enabled=False)
    assert capsys.readouterr().err == ""


def test_every_answer_carries_the_api_version_header() -> None:
    start = _request(_answer)[0]
    assert (b"docker-distribution-api-version", b"registry/2.0") in start["headers"]
    assert (b"x-a", b"1") in start["headers"]


def test_utc_time_is_the_formatters_time() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    record.created = 1_796_301_607.0456
    assert json.loads(JsonFormatter().format(record))["time"] == "2026-12-03T12:40:07.045Z"
    assert utc_time(1_796_301_607.9999) == "2026-12-03T12:40:07.999Z"
    assert utc_time(1_796_301_608) == "2026-12-03T12:40:08.000Z"


def test_a_log_that_cannot_be_written_fails_no_request(monkeypatch: pytest.MonkeyPatch) -> None:
    closed = io.StringIO()
    closed.close()
    monkeypatch.setattr(sys, "stderr", closed)
    assert _request(_answer)[0]["status"] == 201
