"""Who may read what through the management API's repository routes.

``ReadableRepository`` is the path's repository name once the caller may pull it:
otherwise ``404 NOT_FOUND`` (a private repository is invisible, as is a missing one), or
``401 UNAUTHORIZED`` for an anonymous caller, who might see it after logging in.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from cargohold.api.auth import Caller
from cargohold.api.models import RepositoryName
from cargohold.api.services import Repositories


async def require_read(name: RepositoryName, principal: Caller, repositories: Repositories) -> str:
    await repositories.require_read(principal, name)
    return name


ReadableRepository = Annotated[str, Depends(require_read)]
