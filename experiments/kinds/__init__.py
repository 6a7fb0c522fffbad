"""Experiment kinds: the one registry of what ``experiment.kind`` may name, and the function that runs each.

``sim.validation`` checks ``experiment.kind`` against it, ``experiments.run`` runs the
chosen entry. An experiment's module is imported at the first run of its kind: a
command pays only for the experiment it runs (importing all of them, with scipy,
optuna and matplotlib, took about two seconds at every start of the command and of
every sweep worker). This module imports nothing of the project, so the schema's
validation can read it without importing any experiment.

Adding an experiment means its module under ``experiments/`` with
``run(cfg, out_dir) -> summary``, one entry here, one file under
``configs/experiment/`` and its case in ``tests/test_experiments.py`` (``OUTPUTS``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _experiment(module: str) -> Callable[[Any, Path], dict]:
    """The ``run(cfg, out_dir)`` of ``experiments.kinds.<module>``, imported at its first call."""
    def run(cfg: Any, out_dir: Path) -> dict:
        return importlib.import_module(f"experiments.kinds.{module}").run(cfg, out_dir)

    run.__qualname__ = run.__name__ = f"{module}.run"
    return run


#: Experiment kind -> the function that runs it in a run folder and returns its summary.
EXPERIMENTS: dict[str, Callable[[Any, Path], dict]] = {
    "single": _experiment("single"),
    "uplift": _experiment("uplift"),
    "uplift_frontier": _experiment("uplift_frontier"),
    "compatibility_vs_contracts": _experiment("compatibility_vs_contracts"),
    "policy_compare": _experiment("policy_compare"),
    "validate": _experiment("validate"),
    "calibrate": _experiment("calibrate"),
    "sensitivity": _experiment("sensitivity"),
}
