"""How API handlers reach the domain services that ``app.py`` wired into the application."""

from __future__ import annotations

from starlette.requests import Request

from cargohold.content.services import Services


def services(request: Request) -> Services:
    registry: Services = request.app.state.services
    return registry
