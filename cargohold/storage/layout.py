"""Where things live in blob storage. Every driver stores keys, not paths of its own::

    blobs/
      sha256/
        ab/
          ab12...ef          the bytes of blob sha256:ab12...ef; immutable once written
      sha512/...
    uploads/
      <upload id>            the bytes received so far for one upload in progress

Blob keys are content addressed and shared by every repository; which repository may read
a blob is the database's business, never the storage's.
"""

from __future__ import annotations

import re

BLOBS_PREFIX = "blobs/"
UPLOADS_PREFIX = "uploads/"

_UPLOAD_ID = re.compile(r"^[0-9a-f]{32}$")


def blob_key(algorithm: str, hex_digest: str) -> str:
    """The key of a blob's bytes: ``blobs/<algorithm>/<first two hex>/<hex>``."""
    return f"{BLOBS_PREFIX}{algorithm}/{hex_digest[:2]}/{hex_digest}"


def upload_key(upload_id: str) -> str:
    """The key of an upload's bytes. ``upload_id`` must be 32 lower-case hex characters."""
    if not _UPLOAD_ID.match(upload_id):
        raise ValueError(f"malformed upload id {upload_id!r}")
    return f"{UPLOADS_PREFIX}{upload_id}"


def digest_of_blob_key(key: str) -> str | None:
    """``sha256:<hex>`` for a key made by ``blob_key``; None for any other key."""
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != "blobs" or parts[2] != parts[3][:2]:
        return None
    return f"{parts[1]}:{parts[3]}"


def upload_id_of_key(key: str) -> str | None:
    """The upload id of a key made by ``upload_key``; None for any other key."""
    if not key.startswith(UPLOADS_PREFIX):
        return None
    upload_id = key[len(UPLOADS_PREFIX) :]
    return upload_id if _UPLOAD_ID.match(upload_id) else None
