"""The background workers' own process beside ``cargohold serve``'s HTTP workers.

Scans decompress and parse layers and collection deletes in bulk: CPU work that, run in
the HTTP worker processes, took the GIL and the cores from requests (while one image was
scanned, every step of the next push waited milliseconds for the interpreter; issue 5).
``serve`` runs the workers instead in one child process, forked from the server's master
after the application is loaded (like the HTTP workers), at a lower CPU priority
(``worker_niceness``): they get the CPU the requests leave.

``WorkerProcess`` starts that child, forks a new one when it dies of anything but a clean
stop (a crash, the OOM killer), and stops it with the server.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from collections.abc import Callable
from multiprocessing.process import BaseProcess

log = logging.getLogger("cargohold")

RESTART_DELAY_SECONDS = 1.0


class WorkerProcess:
    """A child process running ``target()``, restarted after ``RESTART_DELAY_SECONDS``
    whenever it exits with a non-zero status (or a signal) before ``stop``. A clean exit
    (status 0: it was asked to stop, by a terminal's Ctrl-C say) is not restarted."""

    def __init__(self, target: Callable[[], None], name: str = "cargohold-worker") -> None:
        self._target = target
        self._name = name
        self._context = multiprocessing.get_context("fork")
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._process: BaseProcess | None = None
        self._supervisor = threading.Thread(target=self._supervise, name=f"{name}-supervisor")

    @property
    def pid(self) -> int | None:
        with self._lock:
            return self._process.pid if self._process is not None else None

    def start(self) -> None:
        with self._lock:
            self._process = self._spawn()
        self._supervisor.start()

    def stop(self, timeout: float) -> None:
        """Ask the child to stop (SIGTERM), wait up to ``timeout`` seconds, then kill it.
        (Only the supervising thread waits for the child, so only it reaps it.)"""
        self._stopping.set()
        with self._lock:
            process = self._process
        if process is None:
            return
        process.terminate()  # a no-op for a child already gone
        self._supervisor.join(timeout)
        if self._supervisor.is_alive():
            log.warning("background workers did not stop in time; killing them")
            process.kill()
            self._supervisor.join()

    def _spawn(self) -> BaseProcess:
        process = self._context.Process(target=self._target, name=self._name, daemon=False)
        process.start()
        return process

    def _supervise(self) -> None:
        while True:
            with self._lock:
                process = self._process
            assert process is not None
            process.join()
            if self._stopping.is_set() or process.exitcode == 0:
                return
            log.error(
                "background worker process exited; starting another",
                extra={"fields": {"pid": process.pid, "exitcode": process.exitcode}},
            )
            if self._stopping.wait(RESTART_DELAY_SECONDS):
                return
            with self._lock:
                if self._stopping.is_set():
                    return
                self._process = self._spawn()
