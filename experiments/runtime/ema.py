"""EMA Workbench runs the model: an adapter from its ``Model`` to our paired replications.

EMA Workbench (Kwakkel 2017) is the exploratory-modelling toolkit whose vocabulary
``configs/exploratory/`` uses. ``ema_model`` builds an ``ema_workbench.Model``
whose uncertainties and levers are those declared there and whose outcomes are
``experiments.kinds.sensitivity.OUTCOMES``; each EMA experiment is one sample point
of the sensitivity experiment (alliances on, off and with the instrument, over
``n_seeds`` seeds on common random numbers), so EMA's samplers, scenario
discovery (PRIM) and robustness analyses apply to the same outcomes. Requires the
``ema`` extra (``pip install -e ".[ema]"``).

Example::

    from ema_workbench import perform_experiments
    from experiments.runtime.ema import ema_model
    model = ema_model("firms.n_firms=500", n_seeds=2)
    experiments, outcomes = perform_experiments(model, scenarios=50, policies=4)
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from experiments.kinds.sensitivity import OUTCOMES, instrument_policy, outcomes_table, point_jobs, run_paired
from experiments.replication import exploratory
from experiments.replication.compare import run_jobs
from experiments.replication.exploratory import Factor, configured
from sim.config import check, load_config


def ema_name(path: str) -> str:
    """A config path as an EMA parameter name (EMA passes names as Python keywords)."""
    return path.replace(".", "__")


class PairedReplication:
    """The function EMA calls: factor values in, the outcomes of one paired replication out.

    Attributes:
        cfg: the base configuration (a ``Config``), with ``experiment.n_seeds`` seeds.
        factors: the uncertainties and levers EMA varies.
        policy: the instrument's ``PolicyConfig`` (None without one), composed once.
    """

    def __init__(self, cfg: Any, factors: list[Factor]):
        self.cfg = cfg
        self.factors = factors
        self.policy = instrument_policy(cfg)

    def __call__(self, **values: float) -> dict[str, float]:
        """Run the point's arms and seeds in this process; a factor EMA does not set keeps its configured value."""
        row = np.array([[values.get(ema_name(f.name), configured(self.cfg, f.name)) for f in self.factors]])
        results = run_jobs(point_jobs(self.cfg, row, self.factors), workers=1, progress=False,
                           runner=functools.partial(run_paired, policy=self.policy))
        out = outcomes_table(results, 1).iloc[0]
        return {o: float(out.get(o, np.nan)) for o in OUTCOMES}


def ema_model(*overrides: str, n_seeds: int = 2, exploratory_name: str = "default", name: str = "alianzas"):
    """An ``ema_workbench.Model`` of the configured world (``overrides`` in Hydra syntax)."""
    from ema_workbench import IntegerParameter, Model, RealParameter, ScalarOutcome

    cfg = check(load_config(*overrides, f"experiment.n_seeds={n_seeds}"))
    space = exploratory.load(exploratory_name)
    unc, lev = list(space.uncertainties.values()), list(space.levers.values())

    def parameter(f: Factor):
        cls = IntegerParameter if f.integer else RealParameter
        bounds = (int(f.lo), int(f.hi)) if f.integer else (f.lo, f.hi)
        return cls(ema_name(f.name), *bounds)

    model = Model(name, function=PairedReplication(cfg, unc + lev))
    model.uncertainties = [parameter(f) for f in unc]
    model.levers = [parameter(f) for f in lev]
    model.outcomes = [ScalarOutcome(o) for o in OUTCOMES if o in space.outcomes]
    return model
