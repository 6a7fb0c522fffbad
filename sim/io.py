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
- Every file is written whole or not at all (``sim.files``); the manifest and
  summary are fsynced first, so a crash right after cannot leave an empty file.
- A process that dies cannot write its own end. The manifest carries the pid,
  the host and a heartbeat, and ``sim.supervision.effective_status`` reads a
  ``running`` run whose process is gone (or whose heartbeat stopped) as ``interrupted``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import platform
import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from sim import supervision
from sim.files import atomic_write, json_default, read_record, write_json, write_table
from sim.schema import SAFE_NAME
from sim.supervision import HEARTBEAT_SECONDS, effective_status, launcher_gone, now_iso, resume_allowed

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mesa", "numpy", "scipy", "pandas", "pyarrow", "hydra-core", "omegaconf", "matplotlib")


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


def plain_config(cfg: Any) -> dict:
    """A config (DictConfig or schema object) as plain nested dicts, interpolations resolved."""
    if not OmegaConf.is_config(cfg):
        cfg = OmegaConf.structured(cfg)
    return OmegaConf.to_container(cfg, resolve=True)


def write_config(path: Path, cfg: Any) -> Path:
    """Write the resolved config as YAML, atomically."""
    text = OmegaConf.to_yaml(OmegaConf.create(plain_config(cfg)))
    return atomic_write(path, lambda p: p.write_text(text))


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


def git_state() -> dict:
    """Commit hash and dirty flag of the project checkout (None outside git)."""
    def run(*args):
        return subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=10)
    try:
        head = run("rev-parse", "HEAD")
        if head.returncode != 0:
            return {"commit": None, "dirty": None}
        dirty = run("status", "--porcelain", "--untracked-files=no").stdout.strip() != ""
        return {"commit": head.stdout.strip(), "dirty": dirty}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}


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


def read_manifest(folder: Path) -> dict:
    """A folder's ``manifest.json`` (ValueError with a one-line reason if it is unreadable)."""
    return read_record(Path(folder) / "manifest.json")


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
        supervision.opened(self)
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
        supervision.closed(self)

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
        text = json.dumps({"status": status, "fields": plain}, default=json_default, allow_nan=True)
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
