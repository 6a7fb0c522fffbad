"""Shared fixtures: a small-config factory, a model runner and the fixed seed lists."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sim import AllianceModel, load_config

#: Seeds used wherever a test needs "a few fixed seeds" (never drawn at random).
SEEDS = (0, 1, 2, 3, 4, 5)

#: Size and horizon of the small default test world.
SMALL_N = 300
SMALL_MONTHS = 36

#: The project checkout (tests/ lives directly under it).
PROJECT_ROOT = Path(__file__).resolve().parents[1]

logging.getLogger("MESA").setLevel(logging.WARNING)


def small_config(*overrides: str, n: int = SMALL_N, months: int = SMALL_MONTHS, seed: int = 0):
    """Compose a small validated config; later ``overrides`` win over n, months and seed."""
    return load_config(f"firms.n_firms={n}", f"months={months}", f"seed={seed}", *overrides)


def run_model(cfg) -> AllianceModel:
    """Build a model from ``cfg`` and simulate its full horizon."""
    m = AllianceModel.from_config(cfg)
    m.run_for(int(cfg.months))
    return m


def run_cli(args: list[str], cwd: Path, timeout: float = 120, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m experiments.run *args`` in ``cwd`` and capture its output (``env`` adds variables)."""
    full = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"} | (env or {})
    return subprocess.run([sys.executable, "-m", "experiments.run", *args], cwd=cwd, env=full,
                          capture_output=True, text=True, timeout=timeout)


def run_cli_cases(cases: dict[str, list[str]], tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """Run each case's ``experiments.run`` arguments in a fresh folder of its own, two at a time.

    Returns case -> (finished process, its folder); the run folder would be ``<folder>/run``.
    The folders are made before the threads start: pytest's temporary-folder factory is not
    thread-safe, and under pytest-xdist its first call empties the worker's base folder, which
    removed the folder a second thread had just made.
    """
    folders = {case: tmp_path_factory.mktemp(case) for case in cases}

    def one(case: str):
        cwd = folders[case]
        return case, (run_cli([*cases[case], f"hydra.run.dir={cwd / 'run'}"], cwd=cwd), cwd)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, cases))


def fault_env(folder: Path, code: str) -> dict:
    """Environment that makes every Python process of a command run ``code`` first (a ``sitecustomize``).

    For fault injection in a real subprocess (a full disk, a crash) where no
    configuration can cause the fault.
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(code)
    return {"PYTHONPATH": os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


@pytest.fixture
def make_config():
    """Factory of small configs: ``make_config("scenario=crisis", n=500, seed=3)``."""
    return small_config


@pytest.fixture
def small_model():
    """A fresh, un-stepped small model (N=300, 36 months, seed 0)."""
    return AllianceModel.from_config(small_config())
