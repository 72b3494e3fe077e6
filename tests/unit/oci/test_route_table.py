"""``RouteTable`` routes as a Starlette ``Router`` of ``Route``s would, with one regular
expression: the /v2 table's templates, and paths built to confuse them."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from cargohold.oci.route_table import Handler, RouteTable

DIGEST = f"sha256:{'a' * 64}"
TEMPLATES = [
    "/v2/",
    "/v2/auth",
    "/v2/_catalog",
    "/v2/{name:path}/tags/list",
    "/v2/{name:path}/manifests/{reference}",
    "/v2/{name:path}/blobs/uploads/",
    "/v2/{name:path}/blobs/uploads/{upload_id}",
    "/v2/{name:path}/blobs/{digest}",
    "/v2/{name:path}/referrers/{digest}",
]
METHODS = ["GET", "HEAD", "PUT", "POST", "PATCH", "DELETE"]
PATHS = [
    "/v2/",
    "/v2",
    "/v2/auth",
    "/v2/auth/",
    "/v2/_catalog",
    "/v2/library/busybox/tags/list",
    "/v2/a/manifests/tags/list",
    "/v2/tags/list/manifests/latest",
    "/v2/a/b/c/manifests/latest",
    f"/v2/a/manifests/{DIGEST}",
    "/v2/a/manifests/b/manifests/c",
    "/v2/a/manifests/",
    "/v2//manifests/latest",
    "/v2/a/blobs/uploads/",
    "/v2/a/blobs/uploads",
    f"/v2/a/blobs/uploads/{'0' * 32}",
    "/v2/a/blobs/uploads/x/y",
    "/v2/blobs/blobs/uploads/",
    "/v2/uploads/blobs/uploads/abc",
    f"/v2/a/blobs/{DIGEST}",
    f"/v2/a/blobs/uploads/blobs/{DIGEST}",
    f"/v2/a/referrers/{DIGEST}",
    "/v2/a/referrers/",
    "/v2/a/unknown/thing",
    "/api/v1/repositories",
    "/",
]


def _handler(name: str) -> Handler:
    async def handler(request: Request) -> Response:
        return Response(name)

    handler.__name__ = name
    return handler


def _table() -> dict[str, dict[str, Handler]]:
    """Each template takes GET and PUT, and a HEAD of its own on the manifest and blob
    templates, as /v2 does."""
    table: dict[str, dict[str, Handler]] = {}
    for template in TEMPLATES:
        table[template] = {method: _handler(f"{method} {template}") for method in ("GET", "PUT")}
        if "manifests" in template or template.endswith("{digest}"):
            table[template]["HEAD"] = _handler(f"HEAD {template}")
    return table


def _starlette_match(routes: list[Route], scope: dict[str, Any]) -> tuple[Match, Any, Any]:
    """What Starlette's ``Router`` picks: the first full match, else the first partial."""
    partial = None
    for route in routes:
        match, child = route.matches(scope)
        if match is Match.FULL:
            return match, child["endpoint"], child["path_params"]
        if match is Match.PARTIAL and partial is None:
            partial = (match, None, child["path_params"])
    return partial or (Match.NONE, None, None)


def _scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": ""}


@pytest.mark.parametrize("path", PATHS)
def test_matches_as_starlette_routes_do(path: str) -> None:
    table = _table()
    routes = [
        Route(template, handler, methods=[method])
        for template, handlers in table.items()
        # HEAD routes first: Starlette lets a GET route answer HEAD too.
        for method, handler in sorted(handlers.items(), key=lambda item: item[0] != "HEAD")
    ]
    route_table = RouteTable(table)
    for method in METHODS:
        scope = _scope(method, path)
        match, child = route_table.matches(scope)
        expected, endpoint, params = _starlette_match(routes, scope)
        assert match is expected, (method, path)
        if match is Match.FULL:
            assert child["endpoint"] is endpoint, (method, path)
        if match is not Match.NONE:
            assert child["path_params"] == params, (method, path)


def test_head_falls_back_to_get_only_where_the_template_has_no_head() -> None:
    table = _table()
    route_table = RouteTable(table)
    _, tags = route_table.matches(_scope("HEAD", "/v2/a/tags/list"))
    _, blob = route_table.matches(_scope("HEAD", f"/v2/a/blobs/{DIGEST}"))
    assert tags["endpoint"] is table["/v2/{name:path}/tags/list"]["GET"]
    assert blob["endpoint"] is table["/v2/{name:path}/blobs/{digest}"]["HEAD"]


def test_a_method_the_template_does_not_take_is_partial_and_refused() -> None:
    match, child = RouteTable(_table()).matches(_scope("PATCH", "/v2/_catalog"))
    assert match is Match.PARTIAL
    assert child["path_params"] == {}
    assert child["endpoint"].__name__ == "refuse"


def test_websocket_and_lifespan_scopes_do_not_match() -> None:
    table = RouteTable(_table())
    assert table.matches({"type": "websocket", "path": "/v2/"})[0] is Match.NONE


def test_unknown_parameter_types_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown parameter type 'int'"):
        RouteTable({"/v2/{n:int}": {"GET": _handler("n")}})
