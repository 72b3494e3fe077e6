"""The indexer's own exceptions; ``index_image`` turns them into an ``ImageIndex``."""

from __future__ import annotations

from cargohold.errors import CargoholdError


class ImageUnsupported(CargoholdError):
    """The image cannot be indexed, and trying again would not change that.

    Raised where the reason is found (a layer past the size limit, a layer that is not a
    tar stream); ``index_image`` returns it as an ``unsupported`` index.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RecordInvalid(CargoholdError):
    """One package record could not be parsed; the indexer skips it with a warning."""


class LayerStreamFailed(CargoholdError):
    """A layer's byte stream raised (storage unavailable, for example); the original
    exception is the ``__cause__``. Unlike ``ImageUnsupported`` this is a failure: the
    caller should index the image again later."""
