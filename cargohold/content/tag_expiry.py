"""The ``cargohold.expires-after`` label: a tag pushed with a manifest that carries it
expires that long after the push (``30s``, ``30m``, ``12h``, ``3d``, ``2w``).

It is read from the manifest's ``annotations`` first, then from the image config's
``config.Labels`` (what ``LABEL`` in a Dockerfile sets), reading the config blob (at most
``MAX_CONFIG_BYTES``) from storage before the push's transaction; config blobs never
change, so each one's label is remembered (the newest ``CACHED_CONFIGS``). A value that does not
parse, or longer than ``MAX_EXPIRY``, is ignored: the label is metadata of images built
anywhere, and a push must not fail because of it.
"""

from __future__ import annotations

import json
import logging
import re
from collections import OrderedDict
from datetime import timedelta

from cargohold.errors import CargoholdError
from cargohold.spec.manifest import ParsedManifest
from cargohold.spec.mediatypes import DOCKER_CONFIG, OCI_CONFIG
from cargohold.storage.driver import StorageDriver
from cargohold.storage.layout import blob_key

log = logging.getLogger(__name__)

LABEL = "cargohold.expires-after"
MAX_CONFIG_BYTES = 1 << 20
MAX_EXPIRY = timedelta(days=3650)
CACHED_CONFIGS = 4096
_DURATION = re.compile(r"([0-9]{1,9})([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_duration(text: str) -> timedelta | None:
    """``2w`` and the like as a duration; None when it is not one (or is 0, or too long)."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        return None
    try:
        duration = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    except OverflowError:
        return None
    return duration if timedelta(0) < duration <= MAX_EXPIRY else None


class ExpiryLabels:
    """Finds a manifest's ``cargohold.expires-after``."""

    def __init__(self, storage: StorageDriver) -> None:
        self._storage = storage
        self._config_labels: OrderedDict[str, str | None] = OrderedDict()

    async def expires_after(self, manifest: ParsedManifest) -> timedelta | None:
        value = (manifest.annotations or {}).get(LABEL)
        if value is None:
            value = await self._config_label(manifest)
        if value is None:
            return None
        duration = parse_duration(value)
        if duration is None:
            log.info("ignoring %s=%r on manifest %s", LABEL, value[:64], manifest.digest)
        return duration

    async def _config_label(self, manifest: ParsedManifest) -> str | None:
        config = manifest.config
        if (
            config is None
            or config.media_type not in (OCI_CONFIG, DOCKER_CONFIG)
            or config.size > MAX_CONFIG_BYTES
        ):
            return None
        digest = str(config.digest)
        if digest in self._config_labels:
            self._config_labels.move_to_end(digest)
            return self._config_labels[digest]
        key = blob_key(config.digest.algorithm, config.digest.hex)
        try:
            data = b"".join([chunk async for chunk in self._storage.read(key)])
            labels = (json.loads(data).get("config") or {}).get("Labels") or {}
        except (CargoholdError, ValueError, AttributeError):
            return None  # a missing config blob is refused by the push itself
        value = labels.get(LABEL) if isinstance(labels, dict) else None
        label = value if isinstance(value, str) else None
        self._config_labels[digest] = label
        if len(self._config_labels) > CACHED_CONFIGS:
            self._config_labels.popitem(last=False)
        return label
