"""OCI and Docker formats: digests, references, media types, manifests, error codes.

Pure: no I/O.
"""
