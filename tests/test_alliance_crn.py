"""Common random numbers between the alliance-on and alliance-off worlds, literature bands
for alliance ends, the survival band with alliances on, and the run folder's alliance table."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sim.config
from experiments import single
from experiments.targets import relational_failure
from sim import AllianceModel, load_config
from sim.alliance_table import END_CAUSES
from tests.conftest import run_model, small_config

CRN_SEEDS = (0, 1, 2)
CRN_N, CRN_MONTHS = 1000, 72

#: Founding traits that alliances never change (capability does change: it is checked separately).
#: Traits fixed at founding (workers, revenue scale and fixed cost move with learning, ``sim.learning``).
FIXED_TRAITS = ("firm_id", "sector", "locality", "founding_workers", "birth_month", "input_cost_share",
                "worker_cost", "quality", "owner_age", "volatility", "exposure", "cooperativeness", "planned")


@pytest.fixture(scope="module")
def paired_worlds():
    """(alliances on, alliances off) models with the same seed, for seeds 0-2 (N=1000, 72 months)."""
    out = []
    for seed in CRN_SEEDS:
        on = run_model(small_config(n=CRN_N, months=CRN_MONTHS, seed=seed))
        off = run_model(small_config("alliances.enabled=false", n=CRN_N, months=CRN_MONTHS, seed=seed))
        out.append((seed, on, off))
    return out


def test_alliances_change_the_world_at_all(paired_worlds):
    """Guard: the on-world really has alliances (otherwise every CRN check would be trivial)."""
    for seed, on, off in paired_worlds:
        assert on.summary()["alliances_formed"] > 50, f"seed {seed}: expected >50 alliances in the on-world"
        assert off.alliances is None and off.summary()["alliances_formed"] == 0
        assert not np.array_equal(on.firms.view("cash"), off.firms.view("cash")), (
            f"seed {seed}: expected alliances to change some firm's cash")


def test_same_seed_gives_identical_demand_and_births(paired_worlds):
    """Demand of every sector and births in every month are identical with alliances on and off."""
    for seed, on, off in paired_worlds:
        s_on, s_off = on.series(), off.series()
        demand_cols = [c for c in s_on.columns if c.startswith("demand_")]
        assert len(demand_cols) == len(on.sector_names), f"expected one demand column per sector, got {demand_cols}"
        pd.testing.assert_frame_equal(s_on[demand_cols], s_off[demand_cols], check_exact=True,
                                      obj=f"seed {seed}: demand series on vs off")
        assert s_on["births"].tolist() == s_off["births"].tolist(), (
            f"seed {seed}: expected identical births per month on and off")
        assert s_on["births"].sum() > 0, "expected some births (else the births check is vacuous)"


def test_same_seed_gives_identical_founding_traits(paired_worlds):
    """Every firm ever founded (initial and entrants) has the same fixed traits in both worlds."""
    for seed, on, off in paired_worlds:
        ft_on, ft_off = on.firm_table(), off.firm_table()
        assert len(ft_on) == len(ft_off), f"seed {seed}: expected the same number of firms ever created"
        pd.testing.assert_frame_equal(ft_on[list(FIXED_TRAITS)], ft_off[list(FIXED_TRAITS)], check_exact=True,
                                      obj=f"seed {seed}: founding traits on vs off")
        for name in ("resources", "goal"):
            assert np.array_equal(on.firms.view(name), off.firms.view(name)), (
                f"seed {seed}: expected identical {name} on and off")


def test_same_seed_gives_identical_own_shocks_while_alive_in_both(paired_worlds):
    """A firm's own AR(1) revenue shock depends only on its draws: identical for rows alive in both worlds."""
    for seed, on, off in paired_worlds:
        both = on.firms.view("alive") & off.firms.view("alive")
        allied = both & on.firms.view("ever_allied")
        assert allied.sum() > 20, f"seed {seed}: expected >20 firms alive in both worlds that were allied"
        assert np.array_equal(on.firms.view("shock")[both], off.firms.view("shock")[both]), (
            f"seed {seed}: expected identical own shocks for the {both.sum()} firms alive in both worlds")


def test_unallied_months_trade_identically_in_both_worlds():
    """Month by month, a firm alive in both worlds and never allied (so far) books the same revenue and costs.

    Revenue = base x demand^exposure x exp(theta + shock) x productivity x boost; with no alliance
    history every factor is common to both worlds, as long as firms do not share markets (with
    competition on, allied rivals move customers: that displacement is tested in
    tests/test_firm_dynamics.py and measured by the uplift's spillover). Owners do not reinvest here: a firm
    that searched in vain paid fees and so would invest less, a real channel, not a shifted draw.
    """
    alone = "market.competition_intensity=0 firms.share_surplus_reinvested=0"
    on = AllianceModel.from_config(small_config(*alone.split(), n=800, months=60, seed=5))
    off = AllianceModel.from_config(small_config("alliances.enabled=false", *alone.split(), n=800, months=60, seed=5))
    compared = 0
    for _ in range(60):
        on.step()
        off.step()
        n = on.firms.n
        assert n == off.firms.n, f"month {on.month}: expected the same number of firm rows"
        same = on.firms.alive[:n] & off.firms.alive[:n] & ~on.firms.ever_allied[:n]
        for col in ("revenue", "costs"):
            a, b = getattr(on.firms, col)[:n][same], getattr(off.firms, col)[:n][same]
            assert np.array_equal(a, b), f"month {on.month}: expected identical {col} for never-allied firms"
        compared += int(same.sum())
    assert compared > 20_000, f"expected many firm-months compared, got {compared}"


# ------------------------------------------------------------------ bands
BAND_SEEDS = tuple(range(5))
BAND_N, BAND_MONTHS = 2000, 120
#: Share of alliances failing within 60 months (Kale and Singh 2009; Park and Ungson 2001): about half.
END_SHARE_BAND = (0.30, 0.70)
SURVIVAL_12M_BAND = (0.58, 0.70)
SURVIVAL_60M_BAND = (0.25, 0.35)


@pytest.fixture(scope="module")
def default_summaries():
    """Summaries of the default world (alliances on) at N=2000, 120 months, seeds 0-4."""
    out = []
    for s in BAND_SEEDS:
        m = run_model(small_config(n=BAND_N, months=BAND_MONTHS, seed=s))
        out.append(m.summary() | {"relational_failure": relational_failure(m)})
    return out


def test_relational_failure_60m_lies_in_literature_band(default_summaries):
    """Mean over seeds 0-4 of the cumulative incidence of relational and performance ends within 60 months
    (a partner's closure competing) is in [0.30, 0.70] (Kale and Singh 2009; whole band)."""
    values = np.array([s["relational_failure"] for s in default_summaries], dtype=float)
    assert all(s["alliances_formed"] > 150 for s in default_summaries), "expected >150 alliances per run"
    lo, hi = END_SHARE_BAND
    assert lo <= values.mean() <= hi, (
        f"expected mean relational failure within 60 months over seeds 0-4 (N=2000, 120 months) in [{lo}, {hi}], "
        f"got {values.mean():.3f} (per seed {np.round(values, 3).tolist()})")


def test_alliances_end_for_more_than_one_cause(default_summaries):
    """Ends are not all of one kind: at least three causes occur over seeds 0-4, each with several cases."""
    total = {c: sum(s["alliance_ends_by_cause"][c] for s in default_summaries) for c in END_CAUSES}
    occurring = [c for c, k in total.items() if k >= 5]
    assert len(occurring) >= 3, f"expected at least three end causes with >=5 cases each, got {total}"
    assert max(total.values()) < 0.9 * sum(total.values()), (
        f"expected no single cause to account for 90% of ends, got {total}")


@pytest.mark.parametrize("key, band", [("survival_12m", SURVIVAL_12M_BAND), ("survival_60m", SURVIVAL_60M_BAND)])
def test_survival_band_holds_with_alliances_on(default_summaries, key, band):
    """Cohort survival, mean over seeds 0-4 with alliances on, stays in INEGI's band (whole band = tolerance)."""
    values = np.array([s[key] for s in default_summaries], dtype=float)
    assert all(s["share_allied_mean"] > 0.05 for s in default_summaries), "expected >5% of firms allied on average"
    lo, hi = band
    assert lo <= values.mean() <= hi, (
        f"expected mean {key} over seeds 0-4 with alliances on in [{lo}, {hi}], got {values.mean():.4f} "
        f"(per seed {np.round(values, 3).tolist()})")


def test_run_folder_alliance_table_has_required_columns(tmp_path):
    """experiments.single writes alliances.parquet with id, members, type, governance, control levels,
    start/end month, end cause, initial/final goodwill and competence trust, detected/undetected acts."""
    cfg = sim.config.check(load_config("firms.n_firms=500", "months=60", "seed=2",
                                       "alliances.search.min_age_months=6"))
    summary = single.run(cfg, tmp_path)
    path = tmp_path / "alliances.parquet"
    assert path.exists(), f"expected {path} in the run folder, found {sorted(p.name for p in tmp_path.iterdir())}"
    df = pd.read_parquet(path)
    required = ["alliance_id", "members", "type", "formality", "control_behaviour", "control_output",
                "control_social", "start_month", "end_month", "end_cause", "goodwill_initial", "goodwill_final",
                "competence_initial", "competence_final", "opportunism_detected", "opportunism_undetected"]
    missing = [c for c in required if c not in df.columns]
    assert not missing, f"expected alliance table columns {required}; missing {missing}"
    assert len(df) == summary["alliances_agreed"] >= summary["alliances_formed"] > 0, (
        "expected one row per agreement, implemented or not")
    assert df["alliance_id"].is_unique
    assert all(len(m) >= 2 for m in df["members"]), "expected every alliance to list at least two member ids"
    assert set(df["type"]) <= {"cluster", "bridge", "innovation"}
    assert set(df["end_cause"]) <= set(END_CAUSES) | {"active"}
    ended = df["end_cause"] != "active"
    assert ended.any() and (~ended).any(), "expected both ended and active alliances in the table"
    assert (df.loc[ended, "end_month"] >= df.loc[ended, "start_month"]).all()
    assert (df.loc[~ended, "end_month"] == -1).all(), "expected end_month -1 for active alliances"
    for col in ("goodwill_initial", "goodwill_final", "competence_initial", "competence_final",
                "formality", "control_behaviour", "control_output", "control_social"):
        assert df[col].between(0, 1).all(), f"expected {col} in [0, 1]"
    assert (tmp_path / "alliance_ledger.parquet").exists(), "expected the alliance ledger in the run folder"
