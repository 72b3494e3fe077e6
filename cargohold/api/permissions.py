"""Who may read what through the management API: the hook that issue 3 fills.

Today there is no identity, so every request may read everything (as on /v2).
"""

from __future__ import annotations

from starlette.requests import Request


async def require_read(request: Request, repository: str) -> None:
    """Raise ``Unauthorized`` or ``Denied`` when the caller may not read ``repository``'s
    scan results. Issue 3 (identity and access) decides here; for now everyone may."""
    del request, repository
