"""``/v2/<name>/tags/list`` and ``/v2/_catalog``: names in pages, with a ``Link`` header."""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response

from cargohold.content.pagination import Page, PageRequest
from cargohold.oci.access import auth
from cargohold.oci.params import repository_name
from cargohold.oci.responses import json_response
from cargohold.oci.services import services


def _page_request(request: Request) -> PageRequest:
    return PageRequest.parse(request.query_params.get("n"), request.query_params.get("last"))


def _link(path: str, page: Page, request: PageRequest) -> dict[str, str]:
    if not page.has_more or not page.names:
        return {}
    query = urlencode({"n": request.limit, "last": page.names[-1]})
    return {"Link": f'<{path}?{query}>; rel="next"'}


async def list_tags(request: Request) -> Response:
    repository = repository_name(request)
    page_request = _page_request(request)
    page = await services(request).tags.list(repository, page_request)
    headers = _link(f"/v2/{repository}/tags/list", page, page_request)
    return json_response({"name": repository, "tags": page.names}, headers=headers)


async def catalog(request: Request) -> Response:
    page_request = _page_request(request)
    visible = auth(request).access.visible(request.state.principal)
    page = await services(request).catalog.list(page_request, visible)
    headers = _link("/v2/_catalog", page, page_request)
    return json_response({"repositories": page.names}, headers=headers)
