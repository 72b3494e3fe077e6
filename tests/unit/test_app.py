"""The HTTP worker's application factory."""

from __future__ import annotations

import gc
import inspect
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.routing import Mount

import cargohold.app
from cargohold.app import create_app_from_environment
from cargohold.worker_signals import STOP_SIGNALS


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """No object frozen out of the garbage collector before the test, nor after it."""
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.fixture
def worker_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """What a worker's factory reads (data under ``tmp_path``), without touching logging;
    SIGTERM and SIGINT handled after the test as before it."""
    monkeypatch.setenv("CARGOHOLD_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(cargohold.app, "configure_logging", lambda level: None)
    saved = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    yield
    for signum, handler in saved.items():
        signal.signal(signum, handler)


@pytest.mark.usefixtures("unfrozen", "worker_environment")
def test_a_worker_freezes_what_it_loaded_out_of_the_garbage_collector() -> None:
    assert gc.get_freeze_count() == 0
    app = create_app_from_environment()
    assert gc.get_freeze_count() > 0
    assert all(tracked is not app for tracked in gc.get_objects())  # in no generation: frozen


@pytest.mark.usefixtures("unfrozen", "worker_environment")
def test_a_starting_worker_stops_at_once_on_sigterm_and_sigint() -> None:
    """Until granian installs its graceful handlers, the ones the worker inherited from the
    server process (they only set a flag) must not swallow a stop."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, lambda *_: None)
    create_app_from_environment()
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    assert signal.getsignal(signal.SIGINT) == signal.SIG_DFL


@pytest.mark.usefixtures("unfrozen", "worker_environment")
def test_every_error_handler_runs_on_the_event_loop() -> None:
    """Starlette runs an exception handler that is a plain function on a worker thread:
    every error answer (a HEAD of an absent blob, which each layer of a push starts with)
    would pay that hop."""
    app = create_app_from_environment()
    apps = [app, *(route.app for route in app.routes if isinstance(route, Mount))]
    handlers = {
        f"{type(each).__name__}: {error}": handler
        for each in apps
        for error, handler in each.exception_handlers.items()
    }
    plain = [name for name, handler in handlers.items() if not inspect.iscoroutinefunction(handler)]
    assert len(apps) == 2
    assert plain == []
