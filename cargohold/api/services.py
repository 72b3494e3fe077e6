"""How API handlers reach the services that ``app.py`` wired into the application: FastAPI
dependencies, one per service a handler asks for.

They are coroutines though they never wait: FastAPI calls a dependency that is a plain
function on a worker thread, a hop per dependency per request."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import Request

from cargohold.auth.organizations import OrganizationService, RobotService
from cargohold.auth.repositories import RepositoryService
from cargohold.auth.services import AuthServices
from cargohold.content.services import Services


async def services(request: Request) -> Services:
    registry: Services = request.app.state.services
    return registry


async def auth_services(request: Request) -> AuthServices:
    auth: AuthServices = request.app.state.auth
    return auth


async def _organizations(request: Request) -> OrganizationService:
    return (await auth_services(request)).organizations


async def _repositories(request: Request) -> RepositoryService:
    return (await auth_services(request)).repositories


async def _robots(request: Request) -> RobotService:
    return (await auth_services(request)).robots


Content = Annotated[Services, Depends(services)]
Auth = Annotated[AuthServices, Depends(auth_services)]
Organizations = Annotated[OrganizationService, Depends(_organizations)]
Repositories = Annotated[RepositoryService, Depends(_repositories)]
Robots = Annotated[RobotService, Depends(_robots)]
