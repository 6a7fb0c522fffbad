"""The notebooks under notebooks/ run top to bottom without an error, on this interpreter, in time.

Each notebook is executed with nbclient (nbmake's own engine) in a fresh ipykernel
whose working directory is notebooks/. The kernel is pinned to the interpreter
running the tests: a temporary "python3" kernel spec that launches
``sys.executable`` is put first on ``JUPYTER_PATH``, so a user-level kernel
spec of the same name that points at another Python cannot be picked instead,
and no ``ipykernel install`` is needed. A first cell, added to the in-memory
copy only, checks that the kernel really runs in this interpreter's prefix.
The whole notebook, kernel start included, must finish within ``BUDGET_S``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

PROJECT_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))

#: Wall-clock budget for one notebook, kernel start included (seconds).
BUDGET_S = 120


def test_every_notebook_the_readme_links_is_executed_here():
    """The notebooks the README sends readers to are the ones this suite executes."""
    import re
    linked = set(re.findall(r"notebooks/([\w.-]+\.ipynb)", (PROJECT_ROOT / "README.md").read_text()))
    assert linked, "expected the README to link at least one notebook"
    missing = linked - {p.name for p in NOTEBOOKS}
    assert not missing, f"the README links notebooks that do not exist: {sorted(missing)}"


def _pin_kernel(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make "python3" mean this interpreter, and keep the kernel's files out of the home directory."""
    spec = root / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (test interpreter)",
        "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(root / "jupyter"))         # searched before user and env dirs
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(root / "runtime"))  # connection files
    monkeypatch.setenv("IPYTHONDIR", str(root / "ipython"))           # no user profile or startup files
    # The project importable even without an editable install (the kernel's cwd is notebooks/).
    path = os.environ.get("PYTHONPATH")
    monkeypatch.setenv("PYTHONPATH", str(PROJECT_ROOT) + (os.pathsep + path if path else ""))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    _pin_kernel(tmp_path, monkeypatch)
    nb = nbformat.read(path, as_version=4)
    nb.cells.insert(0, nbformat.v4.new_code_cell(
        "import sys\n"
        f"assert sys.prefix == {sys.prefix!r}, f'kernel runs {{sys.executable}}, not the test interpreter'"))

    start = time.monotonic()
    deadline = start + BUDGET_S
    client = NotebookClient(
        nb,
        kernel_name="python3",
        timeout_func=lambda cell: max(1, int(deadline - time.monotonic())),  # what is left of the budget
        startup_timeout=60,
        resources={"metadata": {"path": str(path.parent)}},  # the kernel's working directory
    )
    client.execute()  # raises CellExecutionError (with the cell's traceback) on the first failing cell
    elapsed = time.monotonic() - start

    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, errors
    assert elapsed < BUDGET_S, f"{path.name} took {elapsed:.0f} s (budget {BUDGET_S} s)"
