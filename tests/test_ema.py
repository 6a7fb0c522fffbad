"""The EMA Workbench adapter: EMA samples the declared uncertainties and levers and runs 20 paired
replications through our code; the same inputs give the same outcomes (common random numbers)."""

from __future__ import annotations

import numpy as np
import pytest

ema_workbench = pytest.importorskip("ema_workbench")

from experiments.kinds.sensitivity import OUTCOMES  # noqa: E402
from experiments.replication import exploratory  # noqa: E402
from experiments.runtime.ema import ema_model, ema_name  # noqa: E402

#: A tiny world: 60 firms over 60 months, one seed per experiment.
TINY = ("firms.n_firms=60", "months=60")


def test_ema_workbench_runs_20_experiments_through_the_adapter():
    model = ema_model(*TINY, n_seeds=1)
    space = exploratory.load()
    experiments, outcomes = ema_workbench.perform_experiments(model, scenarios=10, policies=2,
                                                              evaluator=ema_workbench.SequentialEvaluator(model))
    assert len(experiments) == 20, f"expected 10 scenarios x 2 policies, got {len(experiments)}"
    for f in [*space.uncertainties.values(), *space.levers.values()]:
        col = experiments[ema_name(f.name)]
        assert col.between(f.lo, f.hi).all(), f"expected {f.name} sampled inside [{f.lo}, {f.hi}]"
    assert set(outcomes) == {o for o in OUTCOMES if o in space.outcomes}
    assert all(len(v) == 20 for v in outcomes.values())
    assert np.isfinite(outcomes["uplift_revenue"]).all(), "expected an uplift for every experiment"


def test_adapter_gives_the_same_outcomes_for_the_same_inputs():
    model = ema_model(*TINY, n_seeds=1)
    point = {p.name: (p.lower_bound + p.upper_bound) / 2 for p in [*model.uncertainties, *model.levers]}
    first, second = model.function(**point), model.function(**point)
    assert first.keys() == second.keys()
    for key in first:
        assert first[key] == second[key] or (np.isnan(first[key]) and np.isnan(second[key])), key
