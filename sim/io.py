"""Run folders: resolved config, manifest, summary, tables and saved replications.

A run folder holds ``config.yaml`` (the resolved config), ``manifest.json``
(seed, config hash, git commit and dirty flag, package versions, pid, host,
start, heartbeat and end time, status), ``summary.json``, parquet tables and,
for experiments that replicate, ``replications/`` with one record per model run
saved as soon as it finishes.

Why it is built this way:

- A folder belongs to one run. It is created exclusively (a clash gets a
  ``-2``, ``-3`` ... suffix) and its manifest is published with a hard link,
  which fails if another process got there first; only an explicit resume of
  that run (``ALIANZAS_RESUME`` naming the folder or its sweep) reopens it.
- Every file is written to a temporary name in the same folder (created with
  the user's umask) and renamed, so a reader never sees half a file; the
  manifest and summary are fsynced first, so a crash right after cannot leave
  an empty file; a failed write removes its temporary file.
- A process that dies cannot write its own end. The manifest carries the pid,
  the host and a heartbeat, and :func:`effective_status` reads a ``running``
  run whose process is gone (or whose heartbeat stopped) as ``interrupted``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
import platform
import secrets
import socket
import subprocess
import sys
import threading
from datetime import datetime, timedelta, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from sim.params import SAFE_NAME

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("alianzas", "mesa", "numpy", "scipy", "pandas", "pyarrow", "hydra-core", "omegaconf", "matplotlib")

#: Seconds between heartbeats of a running run; a heartbeat older than STALE_AFTER means the run is gone.
HEARTBEAT_SECONDS = 10.0
STALE_AFTER = timedelta(seconds=6 * HEARTBEAT_SECONDS)

#: Environment variable naming the run or sweep folder this process may reopen (set by ``resume=``).
RESUME_ENV = "ALIANZAS_RESUME"
#: Environment variable holding the pid of the command that launched this run (a sweep's launcher).
LAUNCHER_ENV = "ALIANZAS_LAUNCHER_PID"

#: Config keys that change neither what is simulated nor what is written: left out of the config hash,
#: so a resume may use other values.
HASH_EXCLUDED = ("experiment.workers", "experiment.progress", "output.root")

#: Statuses a run can end in (``running`` while it runs).
FINAL_STATUSES = ("completed", "completed_with_failures", "failed", "interrupted")


class RunFolderError(RuntimeError):
    """A run folder cannot be used: it belongs to another run, or its records do not match."""


def results_root(cwd: Path | None = None) -> Path:
    """Where run and sweep folders go: ``results/`` of the alianzas checkout that ``cwd`` is in, else ``cwd/results``.

    A checkout is a folder holding ``configs/config.yaml`` and a ``pyproject.toml``
    of the project named alianzas; an installed package run from any other
    folder writes there.
    """
    here = Path.cwd() if cwd is None else Path(cwd)
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        if (folder / "configs" / "config.yaml").is_file() and pyproject.is_file() \
                and 'name = "alianzas"' in pyproject.read_text(errors="replace"):
            return folder / "results"
    return here / "results"


def now_iso() -> str:
    """Current UTC time, ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temp_file(path: Path) -> Path:
    """A new empty file next to ``path``, created with the user's umask (mode 0666 minus the umask)."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file next to {path}")


def atomic_write(path: Path, writer: Callable[[Path], None], fsync: bool = False,
                 exclusive: bool = False) -> Path:
    """Call ``writer(tmp_path)``, then move the temporary file onto ``path``.

    Args:
        path: the file to write.
        writer: writes the content to the path it is given.
        fsync: flush the file to disk before it is renamed (and the folder after).
        exclusive: publish with a hard link, raising ``FileExistsError`` if ``path`` exists.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_file(path)
    try:
        writer(tmp)
        if fsync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        if exclusive:
            os.link(tmp, path)
            tmp.unlink()
        else:
            os.replace(tmp, path)
        if fsync:
            _fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def finite(obj: Any) -> Any:
    """``obj`` with every NaN or infinite float replaced by None (JSON has no NaN)."""
    if isinstance(obj, dict):
        return {k: finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [finite(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if hasattr(obj, "item") and getattr(obj, "ndim", 1) == 0:
        return finite(obj.item())
    return obj


def write_json(path: Path, obj: Any, fsync: bool = True, exclusive: bool = False) -> Path:
    """Write ``obj`` as indented JSON, atomically and fsynced; undefined numbers (NaN) become null."""
    text = json.dumps(finite(obj), indent=2, sort_keys=False, default=_json_default, allow_nan=False)
    return atomic_write(path, lambda p: p.write_text(text + "\n"), fsync=fsync, exclusive=exclusive)


def write_table(path: Path, df: pd.DataFrame) -> Path:
    """Write a DataFrame atomically: CSV when ``path`` ends in ``.csv``, parquet otherwise."""
    if Path(path).suffix.lower() == ".csv":
        return atomic_write(path, lambda p: df.to_csv(p, index=False))
    return atomic_write(path, lambda p: df.to_parquet(p, index=False))


def plain_config(cfg: Any) -> dict:
    """A config (DictConfig or schema object) as plain nested dicts, interpolations resolved."""
    if not OmegaConf.is_config(cfg):
        cfg = OmegaConf.structured(cfg)
    return OmegaConf.to_container(cfg, resolve=True)


def write_config(path: Path, cfg: Any) -> Path:
    """Write the resolved config as YAML, atomically."""
    text = OmegaConf.to_yaml(OmegaConf.create(plain_config(cfg)))
    return atomic_write(path, lambda p: p.write_text(text))


def _json_default(o: Any):
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o)}")


def config_hash(cfg: Any) -> str:
    """SHA-256 of the resolved config, without the keys that cannot change results (HASH_EXCLUDED)."""
    tree = plain_config(cfg)
    for dotted in HASH_EXCLUDED:
        *parents, leaf = dotted.split(".")
        node = tree
        for part in parents:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(leaf, None)
    text = json.dumps(tree, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def config_difference(old: dict, new: dict, prefix: str = "") -> str | None:
    """The first dotted key whose value differs between two plain configs, as ``key: old -> new``."""
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            found = config_difference(a, b, f"{prefix}{key}.")
            if found:
                return found
        elif a != b and f"{prefix}{key}" not in HASH_EXCLUDED:
            return f"{prefix}{key}: {a!r} -> {b!r}"
    return None


#: What the manifest says when the code that ran is not a git checkout (an installed package).
NOT_A_CHECKOUT = "none: not run from a git checkout (an installed package; its version is under packages)"


def git_state(root: Path = PROJECT_ROOT) -> dict:
    """Commit hash and dirty flag of the project checkout the code runs from.

    Only when ``root`` is the top of a git work tree: an installed copy (in a
    virtual environment's site-packages, even one inside a checkout) has no commit
    of its own, and the manifest says so (``note``) rather than borrowing the
    enclosing checkout's.
    """
    none = {"commit": None, "dirty": None, "note": NOT_A_CHECKOUT}

    def run(*args):
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10)
    try:
        top = run("rev-parse", "--show-toplevel")
        if top.returncode != 0 or Path(top.stdout.strip()).resolve() != Path(root).resolve():
            return none
        head = run("rev-parse", "HEAD")
        if head.returncode != 0:
            return none
        dirty = run("status", "--porcelain", "--untracked-files=no").stdout.strip() != ""
        return {"commit": head.stdout.strip(), "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return none


def package_versions() -> dict:
    """Versions of Python and the packages that shape results."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def check_name(value: str, what: str) -> str:
    """``value`` if it is a single safe path component, else a ValueError naming ``what``."""
    if not isinstance(value, str) or not SAFE_NAME.match(value):
        raise ValueError(f"{what}={value!r} is not allowed; expected one folder name of letters, digits, "
                         "'.', '-' or '_' (no '/', not starting with '.', at most 100 characters)")
    return value


def create_unique_folder(parent: Path, name: str) -> Path:
    """Create ``parent/name`` exclusively; if it exists, ``name-2``, ``name-3`` ... (first free one)."""
    check_name(name, "folder name")
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    for k in range(1, 10_000):
        path = parent / (name if k == 1 else f"{name}-{k}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free folder name for {parent / name}")


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
        if beat and datetime.now(timezone.utc) - datetime.fromisoformat(beat) > STALE_AFTER:
            return "interrupted"
    except (TypeError, ValueError):
        return "unknown"
    return status


def read_record(path: Path, parse: Callable[[str], Any] = json.loads, expected: type = dict) -> Any:
    """A small file parsed by ``parse`` (JSON by default), checked to be an ``expected``.

    Raises:
        ValueError: one line naming the file and why it cannot be read (missing, corrupt, wrong shape).
    """
    path = Path(path)
    try:
        value = parse(path.read_text())
    except Exception as err:  # OSError, decoding errors and each parser's own error types
        raise ValueError(f"{path}: unreadable ({type(err).__name__}: {' '.join(str(err).split())[:200]})") from None
    if not isinstance(value, expected):
        raise ValueError(f"{path}: unreadable (not a {expected.__name__})")
    return value


def read_manifest(folder: Path) -> dict:
    """A folder's ``manifest.json`` (ValueError with a one-line reason if it is unreadable)."""
    return read_record(Path(folder) / "manifest.json")


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
_OPEN: list["RunFolder"] = []


def open_folders() -> list["RunFolder"]:
    """Run folders of this process still running (so an interrupt or error can record their end)."""
    return list(_OPEN)


def close_open_folders(err: BaseException, keep: list["RunFolder"] | None = None) -> None:
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


class RunFolder:
    """One run's output folder; the manifest tracks its status from start to end.

    Creating a RunFolder publishes a new manifest with status ``running``; a
    folder that already holds a manifest is reopened only when this process
    resumes it (``resume_allowed``) and its config hash matches, and the earlier
    attempt is kept under ``attempts``. A background thread renews the
    heartbeat until :meth:`finish`.

    Attributes:
        path: the folder.
        manifest: the manifest as last written.
        replications: the folder's store of finished model runs (``replications/``).
    """

    def __init__(self, path: Path, cfg: Any, seed: int, kind: str):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._done = threading.Event()
        digest = config_hash(cfg)
        previous = self._previous_manifest(digest, cfg)
        self.manifest = {
            "kind": kind,
            "seed": int(seed),
            "status": "running",
            "started": now_iso(),
            "heartbeat": now_iso(),
            "ended": None,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "config_hash": digest,
            "overrides": task_overrides(),
            "git": git_state(),
            "packages": package_versions(),
            "command": " ".join(["python", "-m", "experiments.run", *sys.argv[1:]])
            if Path(sys.argv[0]).name in ("run.py", "__main__.py") else " ".join(sys.argv),
        }
        if previous is not None:
            attempts = previous.pop("attempts", [])
            self.manifest["attempts"] = attempts + [
                {k: previous.get(k) for k in ("started", "ended", "status", "error", "pid", "host")}]
            for stale in self.path.glob(".*.tmp"):  # left by a killed write of the earlier attempt
                stale.unlink(missing_ok=True)
        try:  # the manifest first: a second run racing for the folder stops before writing anything
            write_json(self.path / "manifest.json", self.manifest, exclusive=previous is None)
        except FileExistsError:
            raise RunFolderError(f"{self.path} already holds a run (another process published its manifest "
                                 "first); a new run needs a new folder") from None
        write_config(self.path / "config.yaml", cfg)
        self.replications = ReplicationStore(self.path / "replications")
        _OPEN.append(self)
        self._beat = threading.Thread(target=self._heartbeat, name="alianzas-heartbeat", daemon=True)
        self._beat.start()

    def _previous_manifest(self, digest: str, cfg: Any) -> dict | None:
        """The earlier manifest of a resumed run (None for a new folder); refuses anything else."""
        if not (self.path / "manifest.json").exists():
            return None
        if not resume_allowed(self.path):
            raise RunFolderError(f"{self.path} already holds a run (manifest.json); a new run needs a new folder, "
                                 f"or resume it with resume={self.path}")
        previous = read_manifest(self.path)
        if previous.get("config_hash") != digest:
            diff = None
            if (self.path / "config.yaml").is_file():
                diff = config_difference(OmegaConf.to_container(OmegaConf.load(self.path / "config.yaml")),
                                         plain_config(cfg))
            raise RunFolderError(f"resume={self.path}: the configuration differs from the run's "
                                 f"({diff or 'config hash ' + str(previous.get('config_hash'))[:12]}); "
                                 "resume only with the run's own configuration")
        if effective_status(previous) == "running":
            raise RunFolderError(f"resume={self.path}: the run is still running (pid {previous.get('pid')} on "
                                 f"{previous.get('host')})")
        return previous

    def _heartbeat(self) -> None:
        while not self._done.wait(HEARTBEAT_SECONDS):
            if launcher_gone():  # the sweep that started this job was killed: do not outlive it
                self.finish("interrupted", error="the launching command ended")
                os._exit(1)
            self._write(heartbeat=now_iso())

    def _write(self, **changes: Any) -> None:
        with self._lock:
            if self.manifest["status"] != "running" and "status" not in changes:
                return
            self.manifest.update(changes)
            write_json(self.path / "manifest.json", self.manifest)

    def finish(self, status: str = "completed", error: str | None = None) -> None:
        """Record the end time and final status (one of FINAL_STATUSES); later calls do nothing."""
        if self.manifest["status"] != "running":
            return
        self._done.set()
        changes = {"status": status, "ended": now_iso(), "heartbeat": now_iso()}
        if error:
            changes["error"] = " ".join(str(error).split())
        self._write(**changes)
        if self in _OPEN:
            _OPEN.remove(self)

    def table(self, name: str, df: pd.DataFrame) -> Path:
        """Write ``<name>.parquet`` in the folder."""
        return write_table(self.path / f"{name}.parquet", df)

    def json(self, name: str, obj: Any) -> Path:
        """Write ``<name>.json`` in the folder."""
        return write_json(self.path / f"{name}.json", obj)

    def complete(self, work: Callable[[], tuple[dict, list]]) -> dict:
        """Call ``work()``, which returns the summary and the failed runs; write ``summary.json`` and the status.

        The manifest says ``failed`` (with the error) if ``work`` raises, ``completed_with_failures`` if some
        replications failed, else ``completed``.
        """
        try:
            summary, failed = work()
            self.json("summary", summary)
        except Exception as err:
            self.finish("failed", error=f"{type(err).__name__}: {err}")
            raise
        self.finish("completed" if not failed else "completed_with_failures")
        return summary


def _save_npz(path: Path, arrays: dict) -> None:
    with open(path, "wb") as fh:  # a file object: np.savez would add ".npz" to a path
        np.savez(fh, **arrays)


def task_overrides() -> list[str]:
    """The Hydra task overrides of the running job (empty outside Hydra)."""
    from hydra.core.hydra_config import HydraConfig
    if not HydraConfig.initialized():
        return []
    return [str(o) for o in HydraConfig.get().overrides.task]


class ReplicationStore:
    """Finished model runs of one experiment, one record each, saved as they finish.

    ``<key>.json`` holds the record's status (``completed`` or ``failed``), its
    error and every field that is not an array; ``<key>.npz`` holds its arrays
    (fields that are dicts of numpy arrays). JSON keeps NaN and exact float
    digits, so a resumed run reads back exactly what the first attempt computed.
    The JSON file is written last: a record without it does not exist.

    Attributes:
        path: the ``replications/`` folder.
    """

    def __init__(self, path: Path):
        self.path = Path(path)

    def save(self, key: str, record: Any) -> None:
        """Write one record (a dataclass with an ``error`` field)."""
        self.path.mkdir(parents=True, exist_ok=True)
        arrays, plain = {}, {}
        for f in dataclasses.fields(record):
            value = getattr(record, f.name)
            if isinstance(value, dict) and value and all(isinstance(v, np.ndarray) for v in value.values()):
                arrays.update({f"{f.name}/{k}": v for k, v in value.items()})
                plain[f.name] = {"__arrays__": list(value)}
            else:
                plain[f.name] = value
        status = "failed" if getattr(record, "error", None) else "completed"
        if arrays:
            atomic_write(self.path / f"{key}.npz", lambda p: _save_npz(p, arrays))
        text = json.dumps({"status": status, "fields": plain}, default=_json_default, allow_nan=True)
        atomic_write(self.path / f"{key}.json", lambda p: p.write_text(text + "\n"))

    def load(self, key: str, record_type: type) -> Any | None:
        """The completed record saved under ``key`` (None if absent, failed or unreadable)."""
        try:
            data = json.loads((self.path / f"{key}.json").read_text())
            if data.get("status") != "completed":
                return None
            fields = data["fields"]
            if any(isinstance(v, dict) and "__arrays__" in v for v in fields.values()):
                with np.load(self.path / f"{key}.npz", allow_pickle=False) as npz:
                    for name, value in fields.items():
                        if isinstance(value, dict) and "__arrays__" in value:
                            fields[name] = {k: npz[f"{name}/{k}"] for k in value["__arrays__"]}
            return record_type(**fields)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def statuses(self) -> dict[str, str]:
        """Key -> saved status of every record in the store."""
        out = {}
        for path in sorted(self.path.glob("*.json")):
            try:
                out[path.stem] = json.loads(path.read_text()).get("status", "unknown")
            except (OSError, ValueError):
                out[path.stem] = "unreadable"
        return out
