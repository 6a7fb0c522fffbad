"""Global sensitivity with SALib: shrunken Morris and Sobol runs give indices for every factor and
outcome, a factor the model never reads gets exactly zero effect (common random numbers), one that
matters does not, and bad designs are refused in one line."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from experiments import sensitivity
from sim import load_config
from sim.config import check
from sim.params import ConfigError

#: 100 firms, 60 months, seeds 0-1, one process; the crisis depth is inert (no crisis in the baseline).
SHRUNKEN = ("experiment=sensitivity", "firms.n_firms=100", "months=60", "experiment.n_seeds=2",
            "experiment.workers=1", "experiment.progress=false", "experiment.n_bootstrap=100",
            "experiment.uncertainties=[alliances.types.cluster_max_savings,market.crisis.depth]")


def run_sensitivity(tmp_path, *overrides: str) -> tuple[dict, pd.DataFrame]:
    cfg = check(load_config(*SHRUNKEN, *overrides))
    summary = sensitivity.run(cfg, tmp_path)
    assert json.loads((tmp_path / "summary.json").read_text())["n_points"] == summary["n_points"]
    return summary, pd.read_parquet(tmp_path / "indices.parquet")


def test_morris_screen_finds_the_inert_factor_and_the_active_one(tmp_path):
    """Crisis depth without a crisis changes nothing: mu* = 0 exactly on every outcome. Cluster savings
    change what alliances do: mu* > 0 for the revenue uplift."""
    summary, indices = run_sensitivity(tmp_path, "experiment.n_samples=2")
    assert summary["n_points"] == 2 * (2 + 1) and summary["n_runs"] == 6 * 2 * 3
    assert set(indices["outcome"]) == set(sensitivity.OUTCOMES), f"expected every outcome, got {indices['outcome']}"
    by = indices.set_index(["outcome", "factor"])
    for outcome in sensitivity.OUTCOMES:
        assert by.loc[(outcome, "market.crisis.depth"), "mu_star"] == 0.0, (
            f"expected no effect of an unused parameter on {outcome}")
    assert by.loc[("uplift_revenue", "alliances.types.cluster_max_savings"), "mu_star"] > 0.0
    assert np.isfinite(indices["mu_star_conf"]).all()
    report = (tmp_path / "sensitivity.md").read_text()
    assert report.startswith("# Global sensitivity (morris)") and "How to read this" in report
    for outcome in sensitivity.OUTCOMES:
        assert (tmp_path / "figures" / f"indices_{outcome}.png").is_file()
    points = pd.read_parquet(tmp_path / "points.parquet")
    assert "cost_per_extra_firm_year" in points and len(points) == summary["n_points"]


def test_sobol_gives_first_and_total_order_indices_with_intervals(tmp_path):
    summary, indices = run_sensitivity(tmp_path, "experiment.method=sobol", "experiment.n_samples=4",
                                       "experiment.n_seeds=1")
    assert summary["n_points"] == 4 * (2 + 2)
    for col in ("S1", "S1_conf", "ST", "ST_conf"):
        assert np.isfinite(indices[col]).all(), f"expected finite {col}"
    inert = indices[indices["factor"] == "market.crisis.depth"]
    assert (inert["ST"].abs() < 1e-12).all(), "expected a total-order index of 0 for an unused parameter"


def test_sobol_refuses_a_sample_that_is_not_a_power_of_two(tmp_path):
    with pytest.raises(ConfigError, match="power of 2"):
        sensitivity.run(check(load_config(*SHRUNKEN, "experiment.method=sobol", "experiment.n_samples=3")), tmp_path)


def test_undeclared_uncertainty_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="not declared"):
        sensitivity.run(check(load_config(*SHRUNKEN, "experiment.uncertainties=[firms.n_firms]")), tmp_path)
