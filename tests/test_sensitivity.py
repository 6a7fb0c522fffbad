"""Global sensitivity with SALib: shrunken Morris and Sobol runs give indices for every factor and
outcome, a factor the model never reads gets exactly zero effect (common random numbers), one that
matters does not, and bad designs are refused in one line. The paired runner's effect on the allied is
the uplift experiment's, is undefined where no firm can ally, and an interrupted run resumes from the
scalars it saved."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from experiments.kinds import sensitivity
from experiments.kinds.uplift import ARMS, paired_table
from experiments.replication.compare import paired_jobs, run_jobs, with_overrides
from sim import load_config
from sim.config import check
from sim.model import AllianceModel
from sim.schema import ConfigError
from sim.supervision import RESUME_ENV

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
    assert summary["n_points"] == 2 * (2 + 1) and summary["n_replications"] == 6 * 2
    assert summary["n_runs"] == 6 * 2 * 3
    assert set(indices["outcome"]) == set(sensitivity.OUTCOMES), f"expected every outcome, got {indices['outcome']}"
    by = indices.set_index(["outcome", "factor"])
    for outcome in sensitivity.OUTCOMES:
        assert by.loc[(outcome, "market.crisis.depth"), "mu_star"] == 0.0, (
            f"expected no effect of an unused parameter on {outcome}")
    for outcome in ("uplift_revenue", "effect_on_allied"):
        assert by.loc[(outcome, "alliances.types.cluster_max_savings"), "mu_star"] > 0.0, (
            f"expected cluster savings to move {outcome}")
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


def point_config(*overrides: str):
    """One sample point's world at seed 0: 100 firms, 60 months."""
    return check(load_config(*SHRUNKEN, "seed=0", *overrides))


def test_paired_runner_gives_the_uplift_experiments_effect_on_the_allied():
    """One worker running both worlds of a seed with the per-firm recorder gives the uplift experiment's
    per-firm estimands for that seed (to 1e-12); with a strong bridge gain the effect on the allied is positive."""
    cfg = point_config("alliances.types.bridge_access_gain=0.6")
    res = sensitivity.run_paired(("point_0", cfg), policy=None)
    assert res.error is None, res.error
    assert set(res.summary["arms"]) == set(ARMS), "expected no instrument arm without a policy"
    assert not res.firm_months, "expected no per-firm matrices in the result"
    uplift = paired_table(run_jobs(paired_jobs(with_overrides(cfg, **{"experiment.per_firm": True}), ARMS, 1),
                                   workers=1, progress=False)).iloc[0]
    paired = res.summary["paired"]
    for key in ("effect_on_allied", "effect_on_allied_with_exit", "survival_effect_allied_60m", "uplift_revenue",
                "survival_effect_60m"):
        assert abs(paired[key] - uplift[key]) < 1e-12, f"{key}: runner {paired[key]} vs uplift {uplift[key]}"
    assert paired["effect_on_allied"] > 0.02, f"expected allied months to gain with bridge gain 0.6: {paired}"


def test_effect_on_the_allied_is_undefined_when_no_firm_can_ally():
    """With no partner search the two worlds are the same world (uplift exactly 0) and no firm-month is allied,
    so the effect on the allied is not defined rather than zero."""
    res = sensitivity.run_paired(("point_0", point_config("alliances.search.p_seek_max=0")), policy=None)
    assert res.error is None, res.error
    paired = res.summary["paired"]
    assert paired["allied_firm_months"] == 0 and paired["uplift_revenue"] == 0.0, paired
    assert np.isnan(paired["effect_on_allied"]), f"expected NaN, got {paired['effect_on_allied']}"
    assert np.isnan(sensitivity.point_outcomes([res])["effect_on_allied"])


def test_an_interrupted_sensitivity_run_resumes_from_its_saved_scalars(tmp_path, monkeypatch):
    """Every paired replication is saved as scalars only (no per-firm arrays); a resumed run reruns only the
    replications that are missing and writes the points of the uninterrupted run."""
    cfg = check(load_config(*SHRUNKEN, "experiment.n_samples=2", "experiment.instrument=none"))
    sensitivity.run(cfg, tmp_path)
    store = tmp_path / "replications"
    records = sorted(store.glob("*.json"))
    assert len(records) == 6 * 2, f"expected one record per point and seed, got {len(records)}"
    assert not list(store.glob("*.npz")), "expected scalars only in the replication store"
    first = pd.read_parquet(tmp_path / "points.parquet")
    for lost in records[:3]:
        lost.unlink()
    (tmp_path / "summary.json").unlink()
    runs = []
    real = AllianceModel.run_for
    monkeypatch.setattr(AllianceModel, "run_for", lambda self, months: (runs.append(self.cfg.seed),
                                                                          real(self, months))[1])
    monkeypatch.setenv(RESUME_ENV, str(tmp_path))
    summary = sensitivity.run(cfg, tmp_path)
    assert len(runs) == 3 * 2, f"expected only the 3 lost replications rerun (2 arms each), ran {len(runs)}"
    assert summary["n_replications"] == 12
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "points.parquet"), first, check_exact=True)
