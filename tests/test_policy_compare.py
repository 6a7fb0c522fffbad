"""The policy_compare experiment (shrunken), and the scenarios policy briefs are read against:
the crisis calibrated to INEGI 2019-2020 and large-firm entry confined to the sectors it names."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

import sim.config
from experiments import policy_compare
from sim import AllianceModel, load_config
from sim.policies import REGISTRY

SHRUNK = ("experiment=policy_compare", "firms.n_firms=200", "months=48", "experiment.n_seeds=3",
          "experiment.workers=1", "experiment.progress=false", "experiment.policy_start_month=6",
          "experiment.policy_stop_month=30")
SCENARIOS = {"baseline": (), "crisis": ("scenario=crisis",)}
CI_OUTCOMES = ("public_cost", "extra_firms_alive", "extra_firm_years", "extra_revenue", "alliances_formed")


@pytest.fixture(scope="module")
def compare_runs(tmp_path_factory):
    """policy_compare run once per scenario: name -> (Config, run folder, returned summary)."""
    out = {}
    for name, extra in SCENARIOS.items():
        folder = tmp_path_factory.mktemp(f"policy_compare_{name}")
        cfg = sim.config.check(load_config(*SHRUNK, *extra))
        out[name] = (cfg, folder, policy_compare.run(cfg, folder))
    return out


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_run_completes_without_failed_runs(compare_runs, scenario):
    """Every arm of every seed runs (alone or with a scenario) and the manifest says completed."""
    _, folder, summary = compare_runs[scenario]
    assert summary["failed_runs"] == [], f"expected no failed runs, got {summary['failed_runs']}"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "completed", f"expected status completed, got {manifest['status']}"
    assert set(summary["instruments"]) == set(REGISTRY), (
        f"expected every instrument in summary.json, got {sorted(summary['instruments'])}")


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_brief_names_every_instrument_and_its_figures_exist(compare_runs, scenario):
    """policy_brief.md exists, names every instrument and the scenario, and every figure it links exists."""
    _, folder, _ = compare_runs[scenario]
    brief = folder / "policy_brief.md"
    assert brief.is_file(), "expected policy_brief.md in the run folder"
    text = brief.read_text()
    for kind in REGISTRY:
        assert kind in text, f"expected the brief to name {kind!r}"
    assert f"scenario: {scenario}" in text, f"expected the brief to state 'scenario: {scenario}'"
    for name in ("extra_firm_years.png", "extra_revenue.png"):
        fig = folder / "figures" / name
        assert fig.is_file() and fig.stat().st_size > 0, f"expected a non-empty figure {fig.name}"
    for link in [line[line.index("(") + 1: -1] for line in text.splitlines() if line.startswith("![")]:
        assert (folder / link).is_file(), f"expected the linked figure {link} to exist"


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_instruments_table_has_one_row_per_instrument_with_finite_cost_and_cis(compare_runs, scenario):
    """instruments.parquet: one row per instrument, n_seeds each, finite means and CIs (lo <= mean <= hi)."""
    cfg, folder, _ = compare_runs[scenario]
    table = pd.read_parquet(folder / "instruments.parquet")
    assert sorted(table["instrument"]) == sorted(REGISTRY), (
        f"expected one row per instrument, got {list(table['instrument'])}")
    assert (table["n_seeds"] == cfg.experiment.n_seeds).all(), "expected every instrument paired on every seed"
    for key in CI_OUTCOMES:
        for col in (key, f"{key}_lo", f"{key}_hi"):
            assert np.isfinite(table[col].astype(float)).all(), f"expected finite {col}, got {table[col].tolist()}"
        assert (table[f"{key}_lo"] <= table[key] + 1e-9).all() and (table[key] <= table[f"{key}_hi"] + 1e-9).all(), (
            f"expected {key}_lo <= {key} <= {key}_hi")
    sig = table["extra_firm_years_significant"]
    assert table.loc[~sig, "cost_per_extra_firm_year"].isna().all(), (
        "expected no cost per extra firm-year where extra firm-years are not significant")
    assert np.isfinite(table.loc[sig, "cost_per_extra_firm_year"]).all(), (
        "expected a finite cost per extra firm-year where extra firm-years are significant")


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_public_cost_never_exceeds_the_equal_budget(compare_runs, scenario):
    """Per instrument and seed the public cost is within [0, experiment.budget] and so is its mean."""
    cfg, folder, _ = compare_runs[scenario]
    budget = cfg.experiment.budget
    reps = pd.read_parquet(folder / "replications.parquet")
    assert len(reps) == len(REGISTRY) * cfg.experiment.n_seeds, (
        f"expected {len(REGISTRY)} x {cfg.experiment.n_seeds} replications, got {len(reps)}")
    assert set(reps["seed"]) == {cfg.seed + k for k in range(cfg.experiment.n_seeds)}, "expected seeds seed..seed+2"
    over = reps[(reps["public_cost"] > budget * (1 + 1e-12)) | (reps["public_cost"] < -1e-9)]
    assert over.empty, f"expected public cost in [0, {budget:,.0f}], got {over[['instrument', 'seed', 'public_cost']]}"
    table = pd.read_parquet(folder / "instruments.parquet")
    assert (table["public_cost"] <= budget * (1 + 1e-12)).all(), "expected every mean public cost within the budget"
    assert (table["public_cost"] > 0).all(), (
        f"expected every instrument to spend something, got {dict(zip(table['instrument'], table['public_cost']))}")


def test_configured_policy_is_compared_alone(tmp_path):
    """With policy=training the experiment compares that configured instrument only, in its own window."""
    cfg = sim.config.check(load_config(*SHRUNK, "policy=training", "policies.training.start_month=6",
                                       "policies.training.stop_month=30", "policies.training.budget=50000"))
    summary = policy_compare.run(cfg, tmp_path)
    assert list(summary["instruments"]) == ["training"], f"expected only training, got {list(summary['instruments'])}"
    reps = pd.read_parquet(tmp_path / "replications.parquet")
    assert (reps["public_cost"] <= 50000 + 1e-9).all(), "expected the configured budget of 50,000 respected"


# ----------------------------------------------------------------- scenarios
CRISIS_SEEDS = tuple(range(8))


def test_crisis_mortality_matches_inegi_2019_2020():
    """firms=stock scenario=crisis, N=2000, 60 months, 8 seeds: mean share of firms alive at the onset
    that exit within 17 months is 0.21 +- 0.03 (INEGI 2019-2020: 20.8%)."""
    vals = []
    for seed in CRISIS_SEEDS:
        cfg = load_config("firms=stock", "scenario=crisis", "firms.n_firms=2000", "months=60", f"seed={seed}")
        m = AllianceModel.from_config(cfg)
        m.run_for(60)
        v = m.summary()["crisis_mortality_17m"]
        assert v is not None and math.isfinite(v), f"seed {seed}: expected crisis_mortality_17m, got {v}"
        vals.append(v)
    mean = float(np.mean(vals))
    assert abs(mean - 0.21) <= 0.03, f"expected mean crisis mortality 0.21 +- 0.03, got {mean:.3f} ({np.round(vals, 3)})"


ENTRY_SEEDS = (0, 1, 2, 3)
ENTRY_MONTHS = 60


def _sector_revenue(*overrides: str, seed: int) -> np.ndarray:
    """Monthly revenue of living firms by sector (months x sectors)."""
    cfg = load_config("firms.n_firms=2000", f"months={ENTRY_MONTHS}", f"seed={seed}", *overrides)
    m = AllianceModel.from_config(cfg)
    out = []
    for _ in range(ENTRY_MONTHS):
        m.step()
        t, n = m.firms, m.firms.n
        alive = t.alive[:n]
        out.append(np.bincount(t.sector[:n][alive], weights=t.revenue[:n][alive], minlength=len(m.sector_names)))
    return np.array(out)


@pytest.fixture(scope="module")
def entry_revenue():
    """Per seed: sector revenue without entry, with entry in every sector, with entry in sector 1 only."""
    return {seed: {"none": _sector_revenue(seed=seed),
                   "all": _sector_revenue("scenario=large_firm_entry", seed=seed),
                   "sector1": _sector_revenue("scenario=large_firm_entry", "market.competition.sectors=[1]",
                                              seed=seed)}
            for seed in ENTRY_SEEDS}


def test_large_firm_entry_in_sector_1_lowers_only_sector_1_revenue(entry_revenue):
    """market.competition.sectors=[1]: identical before entry (month 24); from then sector 1's revenue
    falls by more than 5% while sectors 0 and 2 stay within 3% of the no-entry world, every seed."""
    start = load_config("scenario=large_firm_entry").market.competition.start_month
    for seed, runs in entry_revenue.items():
        base, hit = runs["none"], runs["sector1"]
        assert np.array_equal(base[: start - 1], hit[: start - 1]), (
            f"seed {seed}: expected identical sector revenue before the entrant arrives in month {start}")
        ratio = hit[start - 1:].sum(0) / base[start - 1:].sum(0)
        assert ratio[1] < 0.95, f"seed {seed}: expected sector 1 revenue down > 5%, ratio {ratio[1]:.3f}"
        assert np.all(np.abs(ratio[[0, 2]] - 1) <= 0.03), (
            f"seed {seed}: expected sectors 0 and 2 within 3% of no entry, ratios {np.round(ratio[[0, 2]], 3)}")


def test_large_firm_entry_in_every_sector_lowers_every_sectors_revenue(entry_revenue):
    """Default (sectors=[]): every sector's revenue from month 24 falls by more than 5%, every seed."""
    start = load_config("scenario=large_firm_entry").market.competition.start_month
    for seed, runs in entry_revenue.items():
        ratio = runs["all"][start - 1:].sum(0) / runs["none"][start - 1:].sum(0)
        assert np.all(ratio < 0.95), f"seed {seed}: expected every sector down > 5%, ratios {np.round(ratio, 3)}"
