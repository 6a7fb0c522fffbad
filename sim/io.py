"""Run folders: resolved config, manifest, summary and tables, each written atomically.

A run folder holds ``config.yaml`` (the resolved config), ``manifest.json`` (seed,
git commit and dirty flag, package versions, start and end time, status),
``summary.json`` and parquet tables. Every file is written to a temporary name
in the same folder and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import pandas as pd
from omegaconf import OmegaConf

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mesa", "numpy", "scipy", "pandas", "pyarrow", "hydra-core", "omegaconf", "matplotlib")


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


def atomic_write(path: Path, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` then rename the temporary file onto ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        writer(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
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


def write_json(path: Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically; undefined numbers (NaN) become null."""
    text = json.dumps(finite(obj), indent=2, sort_keys=False, default=_json_default, allow_nan=False)
    return atomic_write(path, lambda p: p.write_text(text + "\n"))


def write_table(path: Path, df: pd.DataFrame) -> Path:
    """Write a DataFrame as parquet, atomically."""
    return atomic_write(path, lambda p: df.to_parquet(p, index=False))


def write_config(path: Path, cfg: Any) -> Path:
    """Write the resolved config as YAML, atomically."""
    if not OmegaConf.is_config(cfg):
        cfg = OmegaConf.structured(cfg)
    text = OmegaConf.to_yaml(cfg, resolve=True)
    return atomic_write(path, lambda p: p.write_text(text))


def _json_default(o: Any):
    if hasattr(o, "item"):
        return o.item()
    if hasattr(o, "tolist"):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o)}")


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


class RunFolder:
    """One run's output folder; the manifest tracks its status from start to end.

    Attributes:
        path: the folder.
        manifest: the manifest as last written.
    """

    def __init__(self, path: Path, cfg: Any, seed: int, kind: str):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.manifest = {
            "kind": kind,
            "seed": int(seed),
            "status": "running",
            "started": now_iso(),
            "ended": None,
            "git": git_state(),
            "packages": package_versions(),
            "command": " ".join(["python", "-m", "experiments.run", *sys.argv[1:]])
            if Path(sys.argv[0]).name in ("run.py", "__main__.py") else " ".join(sys.argv),
        }
        write_config(self.path / "config.yaml", cfg)
        write_json(self.path / "manifest.json", self.manifest)

    def finish(self, status: str = "completed", error: str | None = None) -> None:
        """Record the end time and final status (``completed`` or ``failed``)."""
        self.manifest.update(status=status, ended=now_iso())
        if error:
            self.manifest["error"] = error
        write_json(self.path / "manifest.json", self.manifest)

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
