"""The runner: a few asyncio tasks that take jobs from the queue and run their handlers.

``WorkerRunner.start()`` starts ``concurrency`` loops and the start-up hooks; ``stop()``
cancels them and waits, so that the caller can then close the database and storage. A
loop claims one job at a time; with nothing due it sleeps ``poll_seconds``.

A handler receives the job's key and its attempt number (1 for the first run). It returns
normally when the job is done, raises ``RetryLater`` to run it again after a delay, and
any other exception counts as a failure: retried with a growing delay, given up after
``max_attempts`` (logged). Handlers must be safe to run twice for the same key: a lease
can expire under a slow handler, and a crash repeats the last job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from cargohold.db.models import utcnow
from cargohold.db.session import Database
from cargohold.workers import queue

log = logging.getLogger(__name__)

Handler = Callable[[str, int], Awaitable[None]]
StartupHook = Callable[[], Awaitable[object]]


class RetryLater(Exception):
    """Raised by a handler: run this job again after ``delay``."""

    def __init__(self, reason: str, delay: timedelta) -> None:
        super().__init__(reason)
        self.delay = delay


@dataclass(frozen=True, slots=True)
class RunnerSettings:
    concurrency: int = 1
    poll_seconds: float = 2.0
    lease: timedelta = timedelta(minutes=15)
    max_attempts: int = 5
    first_retry: timedelta = timedelta(seconds=30)


class WorkerRunner:
    """Runs the jobs of ``handlers``' kinds from the queue in ``db`` until stopped."""

    def __init__(
        self,
        db: Database,
        handlers: Mapping[str, Handler],
        settings: RunnerSettings,
        startup: Sequence[StartupHook] = (),
    ) -> None:
        self.db = db
        self.handlers = dict(handlers)
        self.settings = settings
        self.startup = list(startup)
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()

    def start(self) -> None:
        """Start the loops and the start-up hooks as tasks of the running event loop."""
        for hook in self.startup:
            self._tasks.append(asyncio.create_task(self._run_hook(hook)))
        for number in range(self.settings.concurrency):
            self._tasks.append(asyncio.create_task(self._loop(), name=f"worker-{number}"))

    def wake(self) -> None:
        """Look for work now instead of after the current sleep."""
        self._wake.set()

    async def stop(self) -> None:
        """Cancel every task and wait for them; a job cut short is released at once and
        runs again (in this or another process)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def run_once(self) -> bool:
        """Claim and run one due job; False when none was due."""
        jobs = await queue.claim(self.db, list(self.handlers), self.settings.lease)
        for job in jobs:
            await self._run(job)
        return bool(jobs)

    async def _loop(self) -> None:
        while True:
            try:
                worked = await self.run_once()
            except Exception:
                log.exception("work queue unavailable; trying again")
                worked = False
            if not worked:
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.settings.poll_seconds)

    async def _run(self, job: queue.Claim) -> None:
        try:
            await self._run_and_settle(job)
        except asyncio.CancelledError:
            # Shutdown: hand the job back at once rather than when its lease expires.
            await asyncio.shield(queue.fail(self.db, job, "interrupted by shutdown", utcnow()))
            raise

    async def _run_and_settle(self, job: queue.Claim) -> None:
        handler = self.handlers[job.kind]
        try:
            await handler(job.key, job.attempts)
        except RetryLater as exc:
            await queue.fail(self.db, job, str(exc), utcnow() + exc.delay)
        except Exception as exc:
            await self._failed(job, exc)
        else:
            await queue.complete(self.db, job)

    async def _failed(self, job: queue.Claim, exc: Exception) -> None:
        give_up = job.attempts >= self.settings.max_attempts
        log.error(
            "job failed" + ("; giving up" if give_up else "; will retry"),
            exc_info=exc,
            extra={"fields": {"kind": job.kind, "key": job.key, "attempt": job.attempts}},
        )
        delay = self.settings.first_retry * (2 ** (job.attempts - 1))
        await queue.fail(self.db, job, repr(exc), None if give_up else utcnow() + delay)

    async def _run_hook(self, hook: StartupHook) -> None:
        try:
            await hook()
        except Exception:
            log.exception("worker start-up hook failed")
