"""``cargohold serve``'s processes: its HTTP workers, and one process of background workers
(scans, collection) at a lower CPU priority that is replaced when it dies. All of them stop
with the server, even when it is killed alone."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest
from support.processes import wait_until
from support.registry import RegistryFactory, RegistryProcess

pytestmark = pytest.mark.clients

WORKER_NICENESS = 10  # the default of ``worker_niceness``


def children(pid: int) -> set[int]:
    """The children of process ``pid``, whichever of its threads forked them."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found.update(int(child) for child in (task / "children").read_text().split())
        except FileNotFoundError:  # the thread ended meanwhile
            continue
    return found


def background_workers(server: RegistryProcess) -> set[int]:
    """The server's children that run at the background workers' priority."""
    assert server.process is not None
    return {
        child
        for child in children(server.process.pid)
        if _niceness(child) == os.getpriority(os.PRIO_PROCESS, 0) + WORKER_NICENESS
    }


def _niceness(pid: int) -> int | None:
    try:
        return os.getpriority(os.PRIO_PROCESS, pid)
    except ProcessLookupError:
        return None


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def signal_server_alone(server: RegistryProcess, signum: signal.Signals) -> None:
    """Send ``signum`` to the server's main process only, not its process group, and wait
    for it to exit."""
    assert server.process is not None
    os.kill(server.process.pid, signum)
    server.process.wait(timeout=60)


def test_background_workers_run_in_their_own_lower_priority_process(
    registry_factory: RegistryFactory,
) -> None:
    server = registry_factory(workers=2)
    assert server.process is not None
    [background] = background_workers(server)
    assert len(children(server.process.pid)) == 3  # two HTTP workers and the background one

    os.kill(background, signal.SIGKILL)
    wait_until(
        lambda: len(background_workers(server) - {background}) == 1,
        timeout=30,
        message=lambda: f"no new background worker process\n{server.logs()[-3000:]}",
    )
    assert "background worker process exited; starting another" in server.logs()
    [replacement] = background_workers(server)

    signal_server_alone(server, signal.SIGTERM)  # it stops the background workers
    wait_until(lambda: not alive(replacement), timeout=30, message="background workers left")
    server.stop()


def test_its_processes_stop_and_free_the_port_when_the_server_is_killed(
    registry_factory: RegistryFactory,
) -> None:
    """The server killed alone (the OOM killer, a runtime's hard stop of the main PID): its
    HTTP workers used to live on and serve on its port, where a new server (granian sets
    SO_REUSEPORT) shared the connections with them."""
    server = registry_factory(workers=2)
    assert server.process is not None
    [background] = background_workers(server)
    http_workers = children(server.process.pid) - {background}
    assert len(http_workers) == 2
    signal_server_alone(server, signal.SIGKILL)
    wait_until(
        lambda: not any(alive(pid) for pid in http_workers),
        timeout=15,
        message=lambda: (
            f"orphaned HTTP workers {sorted(pid for pid in http_workers if alive(pid))}\n"
            f"{server.logs()[-3000:]}"
        ),
    )
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", server.port), timeout=5).close()
    wait_until(lambda: not alive(background), timeout=30, message="orphaned background workers")
    server.kill()


def test_a_server_stopped_as_soon_as_it_answers_stops_cleanly_and_soon(
    registry_factory: RegistryFactory,
) -> None:
    """SIGTERM to the whole process group (systemd, a terminal's Ctrl-C) as soon as the
    first worker answers, while the other may still be starting: a starting worker used to
    swallow the signal, or hang on the server's own SIGTERM that followed, and hold the
    stop until granian killed it 30 s later (``cargohold.worker_signals``)."""
    server = registry_factory(workers=2)
    server.stop()
    assert not server.last_stop_escalated, server.logs()[-3000:]
    assert server.last_exit_code == 0, server.logs()[-3000:]


def test_a_new_registry_has_one_signing_key_whatever_its_workers(
    registry_factory: RegistryFactory,
) -> None:
    """The key is made before the workers fork; each worker used to make its own."""
    server = registry_factory(workers=2)
    with server.http() as http:
        assert http.get("/v2/").status_code == 200
    assert server.logs().count("made token signing key") == 1
    server.stop()
    server.start()
    assert server.logs().count("made token signing key") == 1
