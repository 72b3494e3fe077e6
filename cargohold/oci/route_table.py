"""A table of routes matched by one regular expression.

Starlette's ``Router`` tries its ``Route``s one after another, each with its own regular
expression and its own parameter dictionaries: reaching the blob routes near the end of
the /v2 table took 15 µs, a sixth of a blob HEAD's CPU. ``RouteTable`` is one route for
the whole table. One alternation of all its templates finds the template, and a dictionary
finds the method's handler.

Templates use Starlette's syntax: ``{param}`` is one path segment, ``{param:path}`` any
text, slashes included, matched greedily. The templates of one table must be disjoint: no
path may match two of them. (Then trying them in any order gives what a ``Router`` of
``Route``s gives.)
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from starlette._utils import get_route_path
from starlette.datastructures import URLPath
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

Handler = Callable[[Request], Awaitable[Response]]
_PARAM = re.compile(r"{(\w+)(?::(\w+))?}")
_PARAM_REGEX = {None: "[^/]+", "path": ".*"}


@dataclass(frozen=True)
class _Template:
    handlers: Mapping[str, Handler]  # by method; HEAD falls back to GET
    params: tuple[tuple[str, str], ...]  # (regex group, parameter name)
    refusal: Handler  # 405, naming the methods the template takes


class RouteTable(BaseRoute):
    """The routes ``{template: {method: handler}}``, as one Starlette route. A path that
    matches a template with a method it does not take is a partial match, which the
    router answers with ``405`` and an ``Allow`` header (through the application's
    ``HTTPException`` handler)."""

    def __init__(self, table: Mapping[str, Mapping[str, Handler]]) -> None:
        alternatives: list[str] = []
        self._templates: dict[str, _Template] = {}
        for index, (template, handlers) in enumerate(table.items()):
            pattern, params = _compile(template, index)
            alternatives.append(f"(?P<t{index}>{pattern})")
            by_method = dict(handlers)
            if "GET" in by_method:
                by_method.setdefault("HEAD", by_method["GET"])
            refusal = _method_not_allowed(sorted(by_method))
            self._templates[f"t{index}"] = _Template(by_method, params, refusal)
        self._regex = re.compile(f"(?:{'|'.join(alternatives)})")

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] != "http":
            return Match.NONE, {}
        found = self._regex.fullmatch(get_route_path(scope))
        if found is None:
            return Match.NONE, {}
        # The template's own group closes after its parameters' groups: it is the last.
        template = self._templates[str(found.lastgroup)]
        path_params = {name: found[group] for group, name in template.params}
        handler = template.handlers.get(scope["method"])
        if handler is None:
            return Match.PARTIAL, {"endpoint": template.refusal, "path_params": path_params}
        return Match.FULL, {"endpoint": handler, "path_params": path_params}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Calls the handler. What it raises goes to the application's exception handlers
        (``ExceptionMiddleware``), as from a ``Route``, one wrapper fewer."""
        handler: Handler = scope["endpoint"]
        response = await handler(Request(scope, receive, send))
        await response(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        raise NoMatchFound(name, path_params)


def _compile(template: str, index: int) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The template's regular expression, its groups named ``<param>_<index>`` so that
    templates do not clash in one alternation, and those (group, parameter) pairs."""
    pattern, params, position = "", [], 0
    for param in _PARAM.finditer(template):
        name, kind = param[1], param[2]
        if kind not in _PARAM_REGEX:
            raise ValueError(f"{template}: unknown parameter type {kind!r}")
        group = f"{name}_{index}"
        pattern += re.escape(template[position : param.start()])
        pattern += f"(?P<{group}>{_PARAM_REGEX[kind]})"
        params.append((group, name))
        position = param.end()
    return pattern + re.escape(template[position:]), tuple(params)


def _method_not_allowed(methods: list[str]) -> Handler:
    allow = {"Allow": ", ".join(methods)}

    async def refuse(request: Request) -> NoReturn:
        raise HTTPException(405, headers=allow)

    return refuse
