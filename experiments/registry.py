"""Experiment kinds: the one registry of what ``experiment.kind`` may name, and the function that runs each.

``sim.validation`` checks ``experiment.kind`` against it, ``experiments.run`` runs the
chosen entry. An experiment's module is imported at the first run of its kind: a
command pays only for the experiment it runs (importing all of them, with scipy,
optuna and matplotlib, took about two seconds at every start of the command and of
every sweep worker). This module imports nothing of the project, so the schema's
validation can read it without importing any experiment.

Adding an experiment means its module under ``experiments/`` with
``run(cfg, out_dir) -> summary``, one entry here, one file under
``configs/experiment/`` and its case in ``tests/test_experiments.py`` (``OUTPUTS``)
and ``experiments.quick_look.REPORTS``. Every entry goes through one wrapper that
says when a run is a quick look (fewer seeds or firms than its experiment's defaults).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Callable


def _experiment(module: str) -> Callable[[Any, Path], dict]:
    """The ``run(cfg, out_dir)`` of ``experiments.<module>``, imported at its first call."""
    def run(cfg: Any, out_dir: Path) -> dict:
        quick_look = importlib.import_module("experiments.quick_look")
        quick_look.announce(cfg)  # fewer seeds or firms than the experiment's defaults: said on screen...
        summary = importlib.import_module(f"experiments.{module}").run(cfg, out_dir)
        return quick_look.stamp(cfg, out_dir, summary)  # ...and at the top of the report and in the summary

    run.__qualname__ = run.__name__ = f"{module}.run"
    return run


#: Experiment kind -> the function that runs it in a run folder and returns its summary.
EXPERIMENTS: dict[str, Callable[[Any, Path], dict]] = {
    "single": _experiment("single"),
    "uplift": _experiment("uplift"),
    "uplift_frontier": _experiment("frontier"),
    "compatibility_vs_contracts": _experiment("levers"),
    "policy_compare": _experiment("policy_compare"),
    "validate": _experiment("validate"),
    "calibrate": _experiment("calibrate"),
    "sensitivity": _experiment("sensitivity"),
}
