"""The package installs as a user gets it: a built wheel (not an editable checkout) runs from an empty folder.

To stay fast the test builds the wheel without dependencies and installs it,
``--no-deps``, into a fresh venv that sees the test environment's packages
through a ``.pth`` line (mesa, numpy, Hydra...). The venv's own site-packages
comes first on its path, so ``sim``, ``agents`` and ``experiments`` are the
installed copies, and the run must find its configs as package data.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import tomllib
import venv
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

#: What a wheel is built from: the files pyproject.toml packages.
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "sim", "agents", "experiments", "configs")


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A venv with the wheel installed; returns its bin folder."""
    root = tmp_path_factory.mktemp("install")
    src = root / "src"
    src.mkdir()
    for name in SOURCES:
        path = PROJECT_ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(path, src / name)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    built = subprocess.run([*pip, "wheel", "--no-deps", "-w", str(root / "dist"), str(src)],
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, f"building the wheel failed:\n{built.stderr}"
    wheel = next((root / "dist").glob("alianzas-*.whl"))
    env_dir = root / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    own_site = Path(subprocess.check_output([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                                            text=True).strip())
    (own_site / "test_environment.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    done = subprocess.run([*pip, "--python", str(python), "install", "--no-deps", "--no-index", str(wheel)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"installing the wheel failed:\n{done.stderr}"
    return env_dir / "bin"


def clean_env() -> dict:
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "HYDRA_FULL_ERROR", "VIRTUAL_ENV")}


@pytest.mark.install
def test_installed_command_runs_from_an_empty_folder(installed, tmp_path):
    """alianzas run experiment=single from an empty folder writes ./results/runs/<run>/ there, from the
    installed package and its packaged configs."""
    where = subprocess.run([installed / "python", "-c", "import sim, sim.config; print(sim.__file__); "
                            "print(sim.config.CONFIG_DIR)"], cwd=tmp_path, env=clean_env(),
                           capture_output=True, text=True, timeout=60)
    module, config_dir = where.stdout.split()
    assert not module.startswith(str(PROJECT_ROOT)), f"expected the installed sim, got {module}"
    assert config_dir.endswith(os.path.join("site-packages", "sim", "configs")), config_dir
    done = subprocess.run([installed / "alianzas", "run", "experiment=single", "firms.n_firms=50", "months=6"],
                          cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"alianzas run failed:\n{done.stdout}\n{done.stderr}"
    runs = list((tmp_path / "results" / "runs").iterdir())
    assert len(runs) == 1 and runs[0].name.endswith("_single_seed0"), f"expected one run folder, got {runs}"
    summary = json.loads((runs[0] / "summary.json").read_text())
    assert summary["months"] == 6 and summary["n_firms_initial"] == 50, summary
    manifest = json.loads((runs[0] / "manifest.json").read_text())
    assert manifest["packages"]["alianzas"] == tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())[
        "project"]["version"], "expected the package's own version in the manifest"
    assert manifest["git"]["commit"] is None and manifest["git"]["note"].startswith("none: not run from a git "
                                                                                    "checkout"), manifest["git"]
    assert json.loads(done.stdout[done.stdout.index("{"):])["run_folder"] == str(runs[0])


@pytest.mark.install
def test_installed_command_lists_parameters(installed, tmp_path):
    params = subprocess.run([installed / "alianzas", "params", "firms.n_firms"], cwd=tmp_path, env=clean_env(),
                            capture_output=True, text=True, timeout=60)
    assert params.returncode == 0, params.stderr
    assert params.stdout.startswith("firms.n_firms = 2000 firms  (allowed: [1, 1e7])"), params.stdout


def test_pyproject_lists_every_package():
    """pyproject.toml lists its packages (so configs/ can map to sim/configs); none may be left out."""
    listed = set(tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(PROJECT_ROOT).parts)
             for top in ("sim", "agents", "experiments") for p in (PROJECT_ROOT / top).rglob("__init__.py")}
    assert found <= listed, f"add these packages to [tool.setuptools] packages: {sorted(found - listed)}"
    assert "sim.configs" in listed
