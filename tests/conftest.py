"""Shared fixtures: a small-config factory, a model runner and the fixed seed lists."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
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

#: Modules that take longest (real commands, sweeps, notebooks, seed lists of large worlds), longest first.
#: ``--dist loadscope`` keeps a module on one worker; handing out the long ones first and the many short
#: ones last (longest-processing-time order) keeps one worker from starting a long module while the other
#: has nothing left. Only the order of modules depends on this list: a module missing here runs after
#: these, a stale entry costs time and nothing else.
LONGEST_MODULES = ("test_resume", "test_sweeps", "test_baseline", "test_notebooks", "test_firm_dynamics",
                   "test_experiments", "test_policies", "test_policy_compare", "test_cluster", "test_sensitivity",
                   "test_app_browser", "test_drop_in", "test_howto",
                   "test_calibrate", "test_config_errors", "test_install", "test_numbers", "test_counterfactuals",
                   "test_validate")


def pytest_configure(config):
    """Send modules to xdist workers in collection order (set below), not sorted by their number of tests."""
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items):
    """Collect the modules of LONGEST_MODULES first, in its order; tests keep their order within a module."""
    rank = {name: k for k, name in enumerate(LONGEST_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))


#: What a copy of the checkout holds (code, configs and docs; not tests, results or the environment).
COPIED = ("sim", "agents", "experiments", "configs", "docs", "pyproject.toml")


def copy_checkout(root: Path, names: tuple[str, ...] = COPIED) -> Path:
    """Copy the checkout's ``names`` (code, configs and docs) into ``root``; commands run there with
    :func:`run_in` see the copy."""
    root.mkdir(parents=True, exist_ok=True)
    for name in names:
        source = PROJECT_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        else:
            shutil.copy(source, root / name)
    return root


def run_in(root: Path, *args: str, timeout: float = 180) -> str:
    """Run ``python *args`` in the copy ``root`` (its packages first); return stdout, failing on a non-zero exit."""
    env = dict(os.environ, PYTHONPATH=str(root), MPLBACKEND="Agg")
    done = subprocess.run([sys.executable, *args], cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"expected {' '.join(args)[:200]} to succeed in the copy, got:\n{done.stderr[-3000:]}"
    return done.stdout


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


def run_main(args: list[str]) -> subprocess.CompletedProcess:
    """``experiments.run.main(args)`` in this process, its exit code and stderr as a finished process's.

    For commands refused before Hydra starts: the same entry point gives the same code
    and stderr as the command, without the seconds an interpreter takes to start.
    """
    from experiments.run import main

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        code = main(list(args))
    return subprocess.CompletedProcess(args, code, "", err.getvalue())


def run_cli_cases(cases: dict[str, list[str]], tmp_path_factory,
                  in_subprocess: tuple[str, ...] | None = None) -> dict[str, tuple[subprocess.CompletedProcess, Path]]:
    """Run each case's ``experiments.run`` arguments in a fresh folder of its own.

    The cases named in ``in_subprocess`` (all when None) run as real commands, two at a
    time; the others through :func:`run_main` in this process (only for commands refused
    before Hydra starts). Returns case -> (finished process, its folder); the run folder
    would be ``<folder>/run``. The folders are made before the threads start: pytest's
    temporary-folder factory is not thread-safe, and under pytest-xdist its first call
    empties the worker's base folder, which removed the folder a second thread had just made.
    """
    folders = {case: tmp_path_factory.mktemp(case) for case in cases}
    real = [case for case in cases if in_subprocess is None or case in in_subprocess]

    def one(case: str):
        cwd = folders[case]
        return case, (run_cli([*cases[case], f"hydra.run.dir={cwd / 'run'}"], cwd=cwd), cwd)

    with ThreadPoolExecutor(max_workers=2) as pool:
        done = dict(pool.map(one, real))
    for case in cases:
        if case not in done:
            done[case] = (run_main([*cases[case], f"hydra.run.dir={folders[case] / 'run'}"]), folders[case])
    return {case: done[case] for case in cases}


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
