"""Experiment kinds: every module of this package is one kind, named as the kind, found by listing the package.

A kind module has ``run(cfg, out_dir) -> summary``, which runs the experiment in its
run folder, and ``OUTPUTS`` (an :class:`Outputs`: its report, main table and headline
numbers, which the suite checks after a shrunken run). It may have
``model_runs(cfg) -> int`` (how many model runs it makes, for the memory estimate; two
per seed when absent) and ``REPLICATED = False`` (one model run in this process, no
workers). Adding an experiment means its module here, one file under
``configs/experiment/`` that selects it (``kind: <module name>``) and its case in
``tests/baseline/headlines.py``; nothing else names it.

A kind's module is imported at the first run of its kind: a command pays only for the
experiment it runs (importing all of them, with scipy, optuna and matplotlib, took
about two seconds at every start of the command and of every sweep worker). Listing
the package reads file names only.

The model does not import this package. Importing it adds the kinds to the schema's
registries (``sim.validation.KINDS["experiment"]``), so ``experiment.kind`` is checked
wherever an experiment can run: the commands, the config reference and the docs'
parameter table all import it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from sim.validation import register_kinds


@dataclass(frozen=True)
class Outputs:
    """What a run of one kind writes besides its manifest, config and summary.

    Attributes:
        report: its markdown report in the run folder (None: it writes none).
        table: its main table, ``<table>.parquet``.
        headlines: the summary keys (flattened with dots) that hold its headline numbers, each a finite number.
    """

    report: str | None
    table: str
    headlines: tuple[str, ...]


def module(kind: str) -> ModuleType:
    """The module of experiment kind ``kind``, imported now if it was not."""
    return importlib.import_module(f"{__name__}.{kind}")


def _experiment(kind: str) -> Callable[[Any, Path], dict]:
    """The ``run(cfg, out_dir)`` of ``experiments.kinds.<kind>``, imported at its first call."""
    def run(cfg: Any, out_dir: Path) -> dict:
        return module(kind).run(cfg, out_dir)

    run.__qualname__ = run.__name__ = f"{kind}.run"
    return run


#: Experiment kind -> the function that runs it in a run folder and returns its summary.
EXPERIMENTS: dict[str, Callable[[Any, Path], dict]] = {
    info.name: _experiment(info.name) for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name)
    if not info.name.startswith("_")
}
register_kinds("experiment", EXPERIMENTS)


def replicated(cfg: Any) -> bool:
    """Whether ``cfg``'s experiment replicates model runs over seeds and workers (every kind but a single run)."""
    return getattr(module(cfg.experiment.kind), "REPLICATED", True)


def model_runs(cfg: Any) -> int:
    """Model runs that ``cfg``'s experiment makes: its kind's ``model_runs``, else two arms per seed."""
    count = getattr(module(cfg.experiment.kind), "model_runs", None)
    return count(cfg) if count is not None else 2 * cfg.experiment.n_seeds
