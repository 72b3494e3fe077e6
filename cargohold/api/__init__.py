"""The management REST API under ``/api/v1``: FastAPI, its OpenAPI document published.

One module per resource, each an ``APIRouter`` of thin handlers that parse (pydantic
models, ``models``), call a service of ``auth`` or ``content`` and render; none opens a
database session. ``auth`` says who calls (``Caller``) and records their changes in the
audit log (``Audit``); ``errors`` renders every refusal as the registry's error body;
``app.create_api`` puts it together.

- ``sessions``: ``/auth/login``, ``/auth/logout``, ``/auth/jwks``
- ``user``: ``/user``, ``/user/tokens``, ``/user/apitokens``; ``robots``: ``/user/robots``
  and ``/organization/{org}/robots``
- ``superuser``: ``/superuser/users``
- ``organizations``: ``/organization``, members, default permissions; ``teams``: teams
  and their members
- ``repositories``: ``/repository``, visibility, permissions; ``security``: scan reports
  and SBOMs; ``logs``: the audit log
"""
