"""Small process and network primitives that the other test helpers share."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

StrPath = str | os.PathLike[str]


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that nothing listened on a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def run(
    command: Sequence[StrPath],
    *,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
    cwd: StrPath | None = None,
    check: bool = True,
    stdin_text: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``command`` to completion and return its result with text output.

    With ``check`` (the default) a non-zero exit or a timeout fails the test with an
    ``AssertionError`` that shows the command, its exit code, its stdout and its stderr.
    """
    argv = [os.fspath(part) for part in command]
    try:
        result = subprocess.run(
            argv,
            input=stdin_text,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(
            f"timed out after {timeout}s: {' '.join(argv)}\n"
            f"--- stdout ---\n{_text(exc.stdout)}\n--- stderr ---\n{_text(exc.stderr)}"
        ) from exc
    except FileNotFoundError as exc:
        raise AssertionError(
            f"{argv[0]} is not installed (run .ci/run, or install it): {exc}"
        ) from exc
    if check and result.returncode != 0:
        raise AssertionError(describe_failure(result))
    return result


def describe_failure(result: subprocess.CompletedProcess[str]) -> str:
    """Describe a finished command for an assertion message."""
    return (
        f"exit {result.returncode}: {' '.join(map(str, result.args))}\n"
        f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}"
    )


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout: float,
    interval: float = 0.05,
    message: Callable[[], str] | str = "condition not met",
) -> None:
    """Poll ``condition`` until it is true; fail with ``message`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"after {timeout}s: {text}")
        time.sleep(interval)


def tail(path: Path, limit: int = 20_000) -> str:
    """The last ``limit`` characters of a log file, or a note that it does not exist."""
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return text[-limit:]


def _text(output: bytes | str | None) -> str:
    if output is None:
        return ""
    return output.decode(errors="replace") if isinstance(output, bytes) else output
