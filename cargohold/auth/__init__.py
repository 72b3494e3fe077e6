"""Identities, credentials, tokens and permissions: who may do what.

- ``external``: what an identity provider (LDAP, OIDC) tells about a person.
- ``ldap``, ``oidc``: the providers.
- ``passwords``, ``secrets``: argon2 password hashes; random tokens stored as hashes.
- ``tokens``: the registry's signed JWTs (Docker token scheme) and their keys.
- ``scopes``: parsing ``repository:NAME:pull,push`` and what each action needs.
"""
