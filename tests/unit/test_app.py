"""The HTTP worker's application factory."""

from __future__ import annotations

import gc
import signal
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


@pytest.fixture
def signal_handlers() -> Iterator[None]:
    """SIGTERM and SIGINT handled after the test as before it."""
    saved = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGINT)}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.usefixtures("unfrozen", "signal_handlers")
def test_a_worker_freezes_what_it_loaded_out_of_the_garbage_collector(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("CARGOHOLD_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(cargohold.app, "configure_logging", lambda level: None)
    assert gc.get_freeze_count() == 0
    app = create_app_from_environment()
    assert gc.get_freeze_count() > 0
    assert all(tracked is not app for tracked in gc.get_objects())  # in no generation: frozen


@pytest.mark.usefixtures("unfrozen", "signal_handlers")
def test_a_starting_worker_stops_at_once_on_sigterm_and_sigint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Until granian installs its graceful handlers, the ones the worker inherited from the
    server process (they only set a flag) must not swallow a stop."""
    monkeypatch.setenv("CARGOHOLD_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(cargohold.app, "configure_logging", lambda level: None)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: None)
    create_app_from_environment()
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) == signal.SIG_DFL
