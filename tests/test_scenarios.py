"""Scenarios: shapes of the crisis and competition factors, direction of their effects, panel frequency."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from sim.market import competition_share, crisis_factor
from tests.conftest import SEEDS, run_model, small_config

SCENARIO_N = 1000
SCENARIO_MONTHS = 72
SECTOR_COLUMNS = ["demand_commerce", "demand_services", "demand_manufacturing"]


@pytest.fixture(scope="module")
def scenario_runs():
    """Models of baseline, crisis and large_firm_entry on the same seeds (N=1000, 72 months)."""
    return {sc: [run_model(small_config(f"scenario={sc}", n=SCENARIO_N, months=SCENARIO_MONTHS, seed=s))
                 for s in SEEDS]
            for sc in ("baseline", "crisis", "large_firm_entry")}


# ------------------------------------------------------------------ unit shapes
def _crisis(**kw):
    base = dict(enabled=True, start_month=10, duration_months=3, recovery_months=4, depth=0.4)
    return SimpleNamespace(**{**base, **kw})


def _competition(**kw):
    base = dict(enabled=True, start_month=5, ramp_months=4, share_taken=0.2, sectors=[])
    return SimpleNamespace(**{**base, **kw})


def test_crisis_factor_shape():
    """1 before the start, 1 - depth for the duration, a monotone recovery, then 1 again."""
    c = _crisis()
    f = np.array([crisis_factor(t, c) for t in range(40)])
    assert np.all(f[:10] == 1.0), f"expected factor 1 before month 10, got {f[:10]}"
    assert np.allclose(f[10:13], 0.6), f"expected factor 1 - depth = 0.6 in months 10-12, got {f[10:13]}"
    rec = f[13:17]
    assert np.all(np.diff(rec) > 0) and rec[0] > 0.6, f"expected a strictly rising recovery, got {rec}"
    assert np.allclose(rec, [0.7, 0.8, 0.9, 1.0]), f"expected a linear recovery 0.7..1.0, got {rec}"
    assert np.all(f[17:] == 1.0), f"expected factor 1 after the recovery, got {f[17:]}"
    assert np.all((f > 0) & (f <= 1)), "expected the factor in (0, 1]"


def test_crisis_factor_switches_and_edge_cases():
    """Disabled means 1 throughout; no recovery period means a jump back to 1."""
    assert all(crisis_factor(t, _crisis(enabled=False)) == 1.0 for t in range(40)), (
        "expected factor 1 everywhere when the crisis is disabled")
    f = [crisis_factor(t, _crisis(recovery_months=0)) for t in range(9, 15)]
    assert f == pytest.approx([1.0, 0.6, 0.6, 0.6, 1.0, 1.0]), f"expected an instant recovery, got {f}"


def test_competition_share_shape():
    """0 before entry, a linear ramp over ramp_months, then share_taken for ever."""
    c = _competition()
    s = np.array([competition_share(t, c) for t in range(30)])
    assert np.all(s[:5] == 0.0), f"expected no share taken before month 5, got {s[:5]}"
    assert np.allclose(s[5:9], [0.05, 0.10, 0.15, 0.20]), f"expected a linear ramp to 0.2, got {s[5:9]}"
    assert np.allclose(s[9:], 0.2), "expected the full share 0.2 after the ramp"
    assert np.all(np.diff(s) >= 0), "expected the share never to fall"
    assert competition_share(5, _competition(ramp_months=0)) == pytest.approx(0.2), (
        "expected the full share at entry with no ramp")
    assert all(competition_share(t, _competition(enabled=False)) == 0.0 for t in range(30)), (
        "expected no share taken when competition is disabled")


# ------------------------------------------------------------------ model level
def test_crisis_scales_demand_exactly_by_its_factor(scenario_runs):
    """On the same seed, crisis demand == baseline demand * crisis_factor(month), every sector."""
    base, crisis = scenario_runs["baseline"][0], scenario_runs["crisis"][0]
    factor = np.array([crisis_factor(t, crisis.cfg.market.crisis) for t in range(1, SCENARIO_MONTHS + 1)])
    assert factor.min() < 0.9, "expected the configured crisis to cut demand by at least 10%"
    ratio = crisis.series()[SECTOR_COLUMNS].to_numpy() / base.series()[SECTOR_COLUMNS].to_numpy()
    assert np.allclose(ratio, factor[:, None], rtol=1e-12), (
        "expected crisis demand / baseline demand == crisis_factor(month) (same demand draws)")
    c = crisis.cfg.market.crisis
    window = slice(c.start_month - 1, c.start_month - 1 + c.duration_months)   # series row = month - 1
    before = slice(0, c.start_month - 1)
    dip = crisis.series()[SECTOR_COLUMNS].to_numpy()
    assert dip[window].mean() < (1 - 0.5 * c.depth) * dip[before].mean(), (
        "expected the demand series to dip during the crisis window")


def test_crisis_lowers_survival(scenario_runs):
    """Mean survival_60m over the seed list is lower with the crisis than in the baseline."""
    base = np.mean([m.summary()["survival_60m"] for m in scenario_runs["baseline"]])
    crisis = np.mean([m.summary()["survival_60m"] for m in scenario_runs["crisis"]])
    assert crisis < base - 0.02, (
        f"expected crisis to lower mean survival_60m by > 0.02 over seeds {SEEDS}: baseline {base:.3f}, "
        f"crisis {crisis:.3f}")
    # before the crisis starts the two worlds are identical (common random numbers)
    start = scenario_runs["crisis"][0].cfg.market.crisis.start_month
    for b, c in zip(scenario_runs["baseline"], scenario_runs["crisis"]):
        sb, sc = b.series(), c.series()
        assert sb["firms_alive"].iloc[: start - 1].equals(sc["firms_alive"].iloc[: start - 1]), (
            "expected identical firm counts before the crisis starts")


def test_large_firm_entry_erodes_demand(scenario_runs):
    """On the same seed, entry demand == baseline demand * (1 - competition_share(month))."""
    base, entry = scenario_runs["baseline"][0], scenario_runs["large_firm_entry"][0]
    comp = entry.cfg.market.competition
    taken = np.array([competition_share(t, comp) for t in range(1, SCENARIO_MONTHS + 1)])
    assert taken.max() > 0.05, "expected the scenario to take a visible share of demand"
    ratio = entry.series()[SECTOR_COLUMNS].to_numpy() / base.series()[SECTOR_COLUMNS].to_numpy()
    assert np.allclose(ratio, (1.0 - taken)[:, None], rtol=1e-12), (
        "expected entry demand / baseline demand == 1 - competition_share(month) in every sector")
    assert np.all(ratio[comp.start_month + comp.ramp_months:] < 1.0), (
        "expected demand eroded in every month after the ramp")


def test_large_firm_entry_lowers_revenue(scenario_runs):
    """Mean revenue per living firm after month 36, averaged over seeds, is lower with entry."""
    def late_revenue(runs):
        return np.mean([m.series().query("month > 36")["mean_revenue"].mean() for m in runs])

    base, entry = late_revenue(scenario_runs["baseline"]), late_revenue(scenario_runs["large_firm_entry"])
    assert entry < 0.97 * base, (
        f"expected large-firm entry to lower mean revenue after month 36 by > 3% over seeds {SEEDS}: "
        f"baseline {base:,.0f}, entry {entry:,.0f}")
    surv_b = np.mean([m.summary()["survival_60m"] for m in scenario_runs["baseline"]])
    surv_e = np.mean([m.summary()["survival_60m"] for m in scenario_runs["large_firm_entry"]])
    assert surv_e < surv_b, f"expected entry to lower survival too: baseline {surv_b:.3f}, entry {surv_e:.3f}"


def test_competition_only_hits_listed_sectors():
    """With sectors=[0], only sector 0's demand is eroded."""
    base = run_model(small_config(n=50, months=30, seed=1)).series()
    hit = run_model(small_config("scenario=large_firm_entry", "market.competition.sectors=[0]",
                                 n=50, months=30, seed=1)).series()
    ratio = hit[SECTOR_COLUMNS].to_numpy() / base[SECTOR_COLUMNS].to_numpy()
    assert np.all(ratio[24:, 0] < 1.0), "expected sector 0 eroded after entry"
    assert np.allclose(ratio[:, 1:], 1.0, rtol=1e-12), "expected the other sectors untouched"


# ------------------------------------------------------------------ panel frequency
def test_panel_every_six_months(make_config):
    """panel_every_months=6 gives snapshots at months 0, 6, 12, ... of exactly the living firms."""
    m = run_model(make_config("output.panel_every_months=6", n=200, months=30))
    panel, series = m.panel(), m.series()
    months = sorted(panel["month"].unique().tolist())
    assert months == list(range(0, 31, 6)), f"expected panel months 0, 6, ..., 30, got {months}"
    assert (panel.query("month == 0").shape[0]) == 200, "expected all 200 initial firms at month 0"
    for t in months[1:]:
        n_alive = int(series.loc[series["month"] == t, "firms_alive"].iloc[0])
        assert (panel["month"] == t).sum() == n_alive, f"expected {n_alive} panel rows at month {t}"
    assert not panel.duplicated(["month", "firm_id"]).any(), "expected one row per firm per snapshot"
    assert (panel["age_months"] >= 0).all(), "expected non-negative ages in the panel"


def test_panel_off_gives_empty_panel(make_config):
    """panel_every_months=0 gives an empty panel with the documented columns."""
    m = run_model(make_config("output.panel_every_months=0", n=200, months=24))
    panel = m.panel()
    assert len(panel) == 0, f"expected an empty panel, got {len(panel)} rows"
    assert "firm_id" in panel.columns and "month" in panel.columns, "expected the panel columns kept"
