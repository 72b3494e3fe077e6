"""Who may read and change what through the management API's repository routes.

``ReadableRepository`` is the path's repository name once the caller may pull it:
otherwise ``404 NOT_FOUND`` (a private repository is invisible, as is a missing one), or
``401 UNAUTHORIZED`` for an anonymous caller, who might see it after logging in.
``WritableRepository`` and ``AdministeredRepository`` also need the ``write`` and
``admin`` roles (``403 DENIED`` for a caller who only sees it).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from cargohold.api.auth import Caller
from cargohold.api.models import RepositoryName
from cargohold.api.services import Repositories
from cargohold.auth.scopes import Role


async def require_read(name: RepositoryName, principal: Caller, repositories: Repositories) -> str:
    await repositories.require_read(principal, name)
    return name


async def require_write(name: RepositoryName, principal: Caller, repositories: Repositories) -> str:
    await repositories.require_role(principal, name, Role.WRITE)
    return name


async def require_admin(name: RepositoryName, principal: Caller, repositories: Repositories) -> str:
    await repositories.require_role(principal, name, Role.ADMIN)
    return name


ReadableRepository = Annotated[str, Depends(require_read)]
WritableRepository = Annotated[str, Depends(require_write)]
AdministeredRepository = Annotated[str, Depends(require_admin)]
