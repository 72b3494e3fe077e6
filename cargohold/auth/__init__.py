"""Identities, credentials, tokens and permissions: who may do what.

- ``principal``: who is asking (an account and the credential it used, or anonymous).
- ``accounts``: users and robots, logging in with passwords, tokens or a provider.
- ``external``, ``ldap``, ``oidc``, ``web_login``: identity providers and the browser login.
- ``passwords``, ``secrets``, ``headers``: argon2 hashes; tokens stored as SHA-256;
  parsing credentials out of HTTP headers.
- ``scopes``, ``access``: roles, the Docker token scheme's scopes, and the rules that
  decide a principal's role on a repository.
- ``organizations``, ``repositories``: managing teams, members, robots, default and
  repository permissions, visibility.
- ``tokens``: the registry's signed JWTs and their keys.
- ``audit``: the audit log.
- ``services``: the bundle ``app.py`` builds.
"""
