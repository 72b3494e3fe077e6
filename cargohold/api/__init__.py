"""The management REST API under ``/api/v1``: thin handlers over the domain services.

Starlette, like ``oci``: one framework, one set of error handlers, no second dependency
stack. When the identity issue publishes an OpenAPI document, the route table here is
small enough to describe with Starlette's schema generator or to move to FastAPI then.

No authentication exists yet: like /v2, the API is open. Every handler calls
``permissions.require_read`` first; that is where identity and access (issue 3) decide.
"""
