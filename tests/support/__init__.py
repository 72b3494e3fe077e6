"""Helpers for cargohold's tests: real servers and real clients, started by the fixtures.

- ``processes``: free ports, running a command with a timeout, waiting for a condition.
- ``postgres``: a throwaway PostgreSQL server from Debian's binaries.
- ``auth``: logging in as Docker clients do (the token flow for httpx), the test superuser.
- ``registry``: ``cargohold serve`` as a subprocess, with restart and SIGKILL, and a superuser.
- ``images``: offline OCI test images in OCI layouts, read and written byte for byte.
- ``clients``: skopeo, podman, buildah and the docker CLI, each in its own sandbox, which
  holds their credentials (``login``).
"""
