"""The API's one error renderer: every refusal is ``{"errors": [{"code", "message",
"detail"}]}`` with the status of its code (``cargohold.spec.errorcodes``), as on /v2.

Handlers raise ``RegistryError``s. FastAPI's own refusals are translated here: a request
that does not validate is ``INVALID_REQUEST`` (400, with the failures as ``detail``), an
unknown path ``NOT_FOUND``, a wrong method ``UNSUPPORTED``, an oversized body
``SIZE_INVALID`` (413); anything else unexpected is logged and answered ``UNKNOWN`` (500).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from cargohold.errors import (
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    RegistryError,
    Unsupported,
)
from cargohold.spec.errorcodes import status_of

log = logging.getLogger(__name__)


class ErrorDetail(BaseModel):
    code: str
    message: str
    detail: Any = None


class ErrorBody(BaseModel):
    errors: list[ErrorDetail]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": description}
    for status, description in [
        (400, "The request is not valid (INVALID_REQUEST, NAME_INVALID, ...)"),
        (401, "Authentication required, or the credentials are wrong (UNAUTHORIZED)"),
        (403, "The caller may not do this, or the API token lacks the scope (DENIED)"),
        (404, "No such resource, or one the caller may not see (NOT_FOUND)"),
        (409, "The resource already exists (ALREADY_EXISTS)"),
    ]
}


def render(error: RegistryError) -> Response:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.detail is not None:
        body["detail"] = error.detail
    status = error.status or status_of(error.code)
    return JSONResponse({"errors": [body]}, status, headers=error.headers or None)


async def _registry_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RegistryError)
    return render(exc)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    failures = [
        {"location": [str(part) for part in e["loc"]], "message": e["msg"], "type": e["type"]}
        for e in exc.errors()
    ]
    return render(InvalidRequest("the request does not validate", failures))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    path = request.url.path
    if exc.status_code == 404:
        return render(NotFound(f"no API endpoint at {path}"))
    if exc.status_code == 405:
        return render(Unsupported(f"{request.method} is not supported on {path}"))
    if exc.status_code == 413:
        return render(PayloadTooLarge())
    if exc.status_code == 400:
        return render(InvalidRequest(str(exc.detail)))
    return render(RegistryError(str(exc.detail), status=exc.status_code))


async def _internal_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return render(RegistryError("internal error; the server log has details"))


ExceptionHandler = Callable[[Request, Any], Coroutine[Any, Any, Response]]

EXCEPTION_HANDLERS: dict[int | type[Exception], ExceptionHandler] = {
    RegistryError: _registry_error,
    RequestValidationError: _validation_error,
    HTTPException: _http_error,
    Exception: _internal_error,
}
