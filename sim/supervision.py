"""Process supervision: whether a run's process is alive, whether this process may reopen a folder, and the
run folders this process has open, so an interrupt or error records their end.

A process that dies cannot write its own end. Each run's manifest carries its pid,
host and a heartbeat (written every ``HEARTBEAT_SECONDS`` by ``sim.io.RunFolder``);
:func:`effective_status` reads a ``running`` run whose process is gone, or whose
heartbeat stopped, as ``interrupted``. A run reopens a folder only when the command
was started to resume it (``RESUME_ENV``), and a sweep job stops when the sweep
that launched it is gone (``LAUNCHER_ENV``).
"""

from __future__ import annotations

import os
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol


class OpenFolder(Protocol):
    """A run folder that has started: it can record its end."""

    def finish(self, status: str = "completed", error: str | None = None) -> None:
        """Record the run's end in its manifest."""


#: Seconds between heartbeats of a running run; a heartbeat older than STALE_AFTER means the run is gone.
HEARTBEAT_SECONDS = 10.0


STALE_AFTER = timedelta(seconds=6 * HEARTBEAT_SECONDS)


#: Environment variable naming the run or sweep folder this process may reopen (set by ``resume=``).
RESUME_ENV = "ALIANZAS_RESUME"


#: Environment variable holding the pid of the command that launched this run (a sweep's launcher).
LAUNCHER_ENV = "ALIANZAS_LAUNCHER_PID"


def now_iso() -> str:
    """Current UTC time, ISO 8601."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists on this machine."""
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True
    return True


def effective_status(manifest: dict) -> str:
    """The manifest's status, reading a ``running`` run whose process is gone as ``interrupted``.

    A run is gone when its host is this machine and its pid no longer exists, or
    when its heartbeat is older than ``STALE_AFTER`` (any machine).
    """
    status = manifest.get("status", "unknown")
    if status != "running":
        return status
    if manifest.get("host") == socket.gethostname() and manifest.get("pid") and not pid_alive(manifest["pid"]):
        return "interrupted"
    beat = manifest.get("heartbeat") or manifest.get("started")
    try:
        if beat and datetime.now(UTC) - datetime.fromisoformat(beat) > STALE_AFTER:
            return "interrupted"
    except (TypeError, ValueError):
        return "unknown"
    return status


def resume_allowed(folder: Path) -> bool:
    """Whether this process was started to resume ``folder`` (it or its sweep folder is named)."""
    target = os.environ.get(RESUME_ENV)
    if not target:
        return False
    folder, target_path = Path(folder).resolve(), Path(target).resolve()
    return folder == target_path or folder.parent == target_path


def launcher_gone() -> bool:
    """Whether the command that launched this process (a sweep's launcher) has ended."""
    pid = os.environ.get(LAUNCHER_ENV)
    return bool(pid) and pid.isdigit() and int(pid) != os.getpid() and not pid_alive(int(pid))


#: Run folders of this process that have started and not yet finished (innermost last).
_OPEN: list[OpenFolder] = []


def open_folders() -> list[OpenFolder]:
    """Run folders of this process still running (so an interrupt or error can record their end)."""
    return list(_OPEN)


def close_open_folders(err: BaseException, keep: list[OpenFolder] | None = None) -> None:
    """Record ``interrupted`` (for Ctrl-C or SIGTERM) or ``failed`` with a one-line reason in every open folder
    (except those in ``keep``: folders opened before the failing call, which belong to someone else)."""
    status = "interrupted" if isinstance(err, KeyboardInterrupt) else "failed"
    reason = one_line(err)
    for folder in reversed(open_folders()):
        if folder not in (keep or []):
            folder.finish(status, error=reason)


def one_line(err: BaseException) -> str:
    """``Type: message`` on one line (the message's own newlines folded)."""
    text = " ".join(str(err).split())
    if isinstance(err, KeyboardInterrupt):
        return text or "interrupted (Ctrl-C)"
    return f"{type(err).__name__}: {text}" if text else type(err).__name__



def opened(folder: OpenFolder) -> None:
    """Count ``folder`` among this process's open run folders (innermost last)."""
    _OPEN.append(folder)


def closed(folder: OpenFolder) -> None:
    """``folder`` has recorded its end."""
    if folder in _OPEN:
        _OPEN.remove(folder)
