"""Content descriptors: the ``{"mediaType", "digest", "size", ...}`` objects through which
manifests point at blobs and at other manifests (OCI image-spec ``descriptor.md``).

:func:`parse_descriptor` reads one from decoded JSON and raises
:class:`~cargohold.errors.ManifestInvalid` naming the field path (``layers[2].digest``) of
whatever is wrong, so a person can find it in the document they pushed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from cargohold.errors import DigestInvalid, ManifestInvalid
from cargohold.spec.digest import Digest


@dataclass(frozen=True, slots=True)
class Descriptor:
    """A reference to content by media type, digest and size.

    ``annotations`` and ``platform`` are read-only mappings when set; they take no part in
    hashing, so descriptors can be kept in sets.
    """

    media_type: str
    digest: Digest
    size: int
    artifact_type: str | None = None
    annotations: Mapping[str, str] | None = field(default=None, hash=False)
    platform: Mapping[str, Any] | None = field(default=None, hash=False)
    urls: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The OCI JSON shape: ``mediaType``, ``digest`` and ``size``, then
        ``artifactType``, ``annotations``, ``platform`` and ``urls`` only when set."""
        shape: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": str(self.digest),
            "size": self.size,
        }
        if self.artifact_type is not None:
            shape["artifactType"] = self.artifact_type
        if self.annotations is not None:
            shape["annotations"] = dict(self.annotations)
        if self.platform is not None:
            shape["platform"] = dict(self.platform)
        if self.urls:
            shape["urls"] = list(self.urls)
        return shape


def parse_descriptor(value: object, path: str) -> Descriptor:
    """Read the descriptor at field ``path`` of a decoded manifest.

    ``value`` must be an object with a non-empty string ``mediaType``, a valid ``digest``
    and a non-negative integer ``size``; ``artifactType`` (string), ``annotations``
    (string to string), ``platform`` (object) and ``urls`` (list of strings) are optional.
    Raises ``ManifestInvalid`` naming ``path`` otherwise.
    """
    if not isinstance(value, dict):
        raise ManifestInvalid(f"{path} must be a descriptor object, not {_json_type(value)}")
    return Descriptor(
        media_type=_media_type(value, path),
        digest=_digest(value, path),
        size=_size(value, path),
        artifact_type=optional_string(value, "artifactType", path),
        annotations=optional_annotations(value, path),
        platform=_platform(value, path),
        urls=_urls(value, path),
    )


def parse_descriptor_list(body: Mapping[str, Any], key: str) -> tuple[Descriptor, ...]:
    """Read the required list of descriptors at ``body[key]``; ``ManifestInvalid`` when it
    is missing, not a list, or holds an invalid descriptor (named ``key[i]``)."""
    if key not in body:
        raise ManifestInvalid(f"manifest has no {key!r} list")
    items = body[key]
    if not isinstance(items, list):
        raise ManifestInvalid(f"{key} must be a list, not {_json_type(items)}")
    return tuple(parse_descriptor(item, f"{key}[{index}]") for index, item in enumerate(items))


def optional_string(body: Mapping[str, Any], key: str, path: str = "") -> str | None:
    """``body[key]`` if present (it must be a string), else None."""
    value = body.get(key)
    if value is None or isinstance(value, str):
        return value
    raise ManifestInvalid(f"{_join(path, key)} must be a string, not {_json_type(value)}")


def optional_annotations(body: Mapping[str, Any], path: str = "") -> Mapping[str, str] | None:
    """``body["annotations"]`` as a read-only mapping if present; every key and value must
    be a string."""
    value = body.get("annotations")
    if value is None:
        return None
    where = _join(path, "annotations")
    if not isinstance(value, dict):
        raise ManifestInvalid(f"{where} must be an object, not {_json_type(value)}")
    for key, item in value.items():
        if not isinstance(item, str):
            raise ManifestInvalid(f"{where}[{key!r}] must be a string, not {_json_type(item)}")
    return MappingProxyType(dict(value))


def _media_type(body: Mapping[str, Any], path: str) -> str:
    value = body.get("mediaType")
    if isinstance(value, str) and value:
        return value
    if value is None:
        raise ManifestInvalid(f"{path}.mediaType is missing")
    raise ManifestInvalid(f"{path}.mediaType must be a non-empty string")


def _digest(body: Mapping[str, Any], path: str) -> Digest:
    value = body.get("digest")
    if not isinstance(value, str):
        raise ManifestInvalid(f"{path}.digest must be a digest string, not {_json_type(value)}")
    try:
        return Digest.parse(value)
    except DigestInvalid as exc:
        raise ManifestInvalid(f"{path}.digest is invalid: {exc.message}") from exc


def _size(body: Mapping[str, Any], path: str) -> int:
    value = body.get("size")
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    shown = repr(value) if is_number else _json_type(value)
    raise ManifestInvalid(f"{path}.size must be a non-negative integer, not {shown}")


def _platform(body: Mapping[str, Any], path: str) -> Mapping[str, Any] | None:
    value = body.get("platform")
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ManifestInvalid(f"{path}.platform must be an object, not {_json_type(value)}")
    return MappingProxyType(dict(value))


def _urls(body: Mapping[str, Any], path: str) -> tuple[str, ...]:
    value = body.get("urls")
    if value is None:
        return ()
    if isinstance(value, list) and all(isinstance(url, str) for url in value):
        return tuple(value)
    raise ManifestInvalid(f"{path}.urls must be a list of strings")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"
