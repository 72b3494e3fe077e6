"""Parsing and validating pushed manifests: OCI image manifests and indexes, Docker
image manifests (schema 2) and manifest lists.

:func:`parse_manifest` is the one entry point. It checks the document's shape, not what
it refers to: whether the blobs and child manifests exist is for ``cargohold.content``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, NoReturn

from cargohold.errors import ManifestInvalid, PayloadTooLarge
from cargohold.spec import mediatypes
from cargohold.spec.descriptor import (
    Descriptor,
    optional_annotations,
    optional_string,
    parse_descriptor,
    parse_descriptor_list,
)
from cargohold.spec.digest import Digest

__all__ = ["MAX_MANIFEST_SIZE", "Descriptor", "ParsedManifest", "parse_manifest"]

MAX_MANIFEST_SIZE: Final = 4 * 1024 * 1024
"""The largest manifest accepted, in bytes (the limit the distribution spec suggests)."""

_GENERIC_CONTENT_TYPES: Final = frozenset({"", "application/json", "application/octet-stream"})
"""Content-Types that say nothing about the manifest kind; the body decides instead."""


@dataclass(frozen=True, slots=True)
class ParsedManifest:
    """A manifest or index that passed validation.

    ``digest`` is the digest of the exact bytes pushed and ``size`` their length.
    ``config`` and ``layers`` are set for image manifests, ``manifests`` for indexes.
    ``artifact_type`` follows the OCI referrers rule: the ``artifactType`` field, else the
    config's media type for image manifests, else None.
    """

    media_type: str
    digest: Digest
    size: int
    config: Descriptor | None
    layers: tuple[Descriptor, ...]
    manifests: tuple[Descriptor, ...]
    subject: Descriptor | None
    artifact_type: str | None
    annotations: Mapping[str, str] | None = field(hash=False)

    @property
    def is_index(self) -> bool:
        """Whether this is an OCI index or a Docker manifest list."""
        return self.media_type in mediatypes.INDEX_TYPES

    @property
    def required_blobs(self) -> tuple[Descriptor, ...]:
        """The blobs that must exist in the repository before this manifest is accepted:
        the config and every layer, except foreign (non-distributable) layers that carry
        ``urls`` to fetch them from. Empty for an index."""
        config = (self.config,) if self.config is not None else ()
        return config + tuple(layer for layer in self.layers if not _is_external(layer))


def _is_external(layer: Descriptor) -> bool:
    return layer.media_type in mediatypes.FOREIGN_LAYER_TYPES and bool(layer.urls)


def parse_manifest(
    raw: bytes, content_type: str | None, *, algorithm: str = "sha256"
) -> ParsedManifest:
    """Validate the manifest bytes ``raw`` pushed with the request header ``content_type``.

    Raises ``PayloadTooLarge`` when ``raw`` exceeds :data:`MAX_MANIFEST_SIZE`, and
    ``ManifestInvalid`` with a message naming the problem when the bytes are not a UTF-8
    JSON object, ``schemaVersion`` is not 2 (Docker schema 1 is refused), the media type
    is unknown or contradicts the Content-Type, or a required field or descriptor is
    missing or malformed.

    The media type is the body's ``mediaType``; else ``content_type`` without its
    parameters, unless that is generic (absent, ``application/json`` or
    ``application/octet-stream``); else it is detected: ``manifests`` means an OCI index,
    ``config`` an OCI image manifest (umoci writes manifests without ``mediaType``).
    """
    _check_size(raw)
    body = _decode(raw)
    _check_schema_version(body)
    media_type = _media_type(body, content_type)
    is_index = media_type in mediatypes.INDEX_TYPES
    _forbid_fields(body, media_type, ("config", "layers") if is_index else ("manifests",))
    config = None if is_index else _config(body)
    layers = () if is_index else parse_descriptor_list(body, "layers")
    manifests = parse_descriptor_list(body, "manifests") if is_index else ()
    return ParsedManifest(
        media_type=media_type,
        digest=Digest.of_bytes(raw, algorithm),
        size=len(raw),
        config=config,
        layers=layers,
        manifests=manifests,
        subject=_subject(body),
        artifact_type=_artifact_type(body, config),
        annotations=optional_annotations(body),
    )


def _check_size(raw: bytes) -> None:
    if len(raw) > MAX_MANIFEST_SIZE:
        raise PayloadTooLarge(
            f"manifest is {len(raw)} bytes; the limit is {MAX_MANIFEST_SIZE} bytes (4 MiB)"
        )


def _decode(raw: bytes) -> dict[str, Any]:
    """The JSON object in ``raw``. Duplicate keys and NaN/Infinity are refused: another
    parser could read such a document differently from us."""
    try:
        body = json.loads(
            raw.decode("utf-8"),
            object_pairs_hook=_object_without_duplicates,
            parse_constant=_refuse_constant,
        )
    except UnicodeDecodeError as exc:
        raise ManifestInvalid(f"manifest is not valid JSON: not UTF-8 ({exc.reason})") from exc
    except (ValueError, RecursionError) as exc:
        raise ManifestInvalid(f"manifest is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise ManifestInvalid("manifest is not valid JSON: the document must be an object")
    return body


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _check_schema_version(body: Mapping[str, Any]) -> None:
    version = body.get("schemaVersion")
    is_integer = isinstance(version, int) and not isinstance(version, bool)
    if is_integer and version == 2:
        return
    if is_integer and version == 1:
        _refuse_schema1()
    if version is None:
        raise ManifestInvalid("manifest has no schemaVersion; it must be 2")
    raise ManifestInvalid(f"manifest schemaVersion must be 2, not {json.dumps(version)}")


def _refuse_schema1() -> NoReturn:
    raise ManifestInvalid(
        "Docker schema 1 manifests are not supported; push a Docker schema 2 or OCI "
        "manifest instead"
    )


def _media_type(body: Mapping[str, Any], content_type: str | None) -> str:
    declared = optional_string(body, "mediaType")
    requested = mediatypes.strip_parameters(content_type or "")
    if requested in mediatypes.SCHEMA1_TYPES or declared in mediatypes.SCHEMA1_TYPES:
        _refuse_schema1()
    if declared is not None:
        if requested in mediatypes.MANIFEST_TYPES and requested != declared:
            raise ManifestInvalid(
                f"manifest mediaType {declared!r} does not match the Content-Type "
                f"{requested!r} it was pushed with"
            )
        return _known(declared)
    if requested not in _GENERIC_CONTENT_TYPES:
        return _known(requested)
    return _detected(body)


def _known(media_type: str) -> str:
    if media_type in mediatypes.MANIFEST_TYPES:
        return media_type
    accepted = ", ".join(sorted(mediatypes.MANIFEST_TYPES))
    raise ManifestInvalid(f"unsupported manifest media type {media_type!r}; accepted: {accepted}")


def _detected(body: Mapping[str, Any]) -> str:
    if "manifests" in body:
        return mediatypes.OCI_INDEX
    if "config" in body:
        return mediatypes.OCI_MANIFEST
    raise ManifestInvalid(
        "cannot tell the manifest kind: it has no mediaType, was not pushed with a "
        "manifest Content-Type, and has neither 'config' nor 'manifests'"
    )


def _forbid_fields(body: Mapping[str, Any], media_type: str, keys: tuple[str, ...]) -> None:
    """Refuse documents that are both a manifest and an index (CVE-2021-41190): two
    clients could read them as different things."""
    for key in keys:
        if key in body:
            raise ManifestInvalid(f"a {media_type} cannot have a {key!r} field")


def _config(body: Mapping[str, Any]) -> Descriptor:
    if "config" not in body:
        raise ManifestInvalid("image manifest has no 'config' descriptor")
    return parse_descriptor(body["config"], "config")


def _subject(body: Mapping[str, Any]) -> Descriptor | None:
    if body.get("subject") is None:
        return None
    return parse_descriptor(body["subject"], "subject")


def _artifact_type(body: Mapping[str, Any], config: Descriptor | None) -> str | None:
    declared = optional_string(body, "artifactType")
    if declared is not None:
        return declared
    return config.media_type if config is not None else None
