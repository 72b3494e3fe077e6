"""The HTTP worker's application factory."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

import cargohold.app
from cargohold.app import create_app_from_environment


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """No object frozen out of the garbage collector before the test, nor after it."""
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.mark.usefixtures("unfrozen")
def test_a_worker_freezes_what_it_loaded_out_of_the_garbage_collector(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CARGOHOLD_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(cargohold.app, "configure_logging", lambda level: None)
    assert gc.get_freeze_count() == 0
    app = create_app_from_environment()
    assert gc.get_freeze_count() > 0
    assert all(tracked is not app for tracked in gc.get_objects())  # in no generation: frozen
