"""Per-firm counterfactual estimands on known cases, and the fixes that make the estimates honest
(stock pre-history, smooth seeking rule, delayed entry)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments import counterfactuals, survival
from experiments.compare import run_arm, with_overrides
from sim import AllianceModel, load_config
from sim.config import check
from tests.conftest import run_model, small_config


def _arm(revenue: np.ndarray, kind: np.ndarray, ever: np.ndarray | None = None) -> dict:
    n = len(revenue)
    return {"revenue": revenue.astype(np.float32), "kind": kind.astype(np.int8), "firm_id": np.arange(1, n + 1),
            "initial": np.ones(n, bool), "sector": np.zeros(n, int), "workers": np.zeros(n, int),
            "capability": np.linspace(0, 1, n), "birth_month": np.zeros(n, int),
            "ever_allied": (kind >= 0).any(axis=1) if ever is None else ever}


def test_known_effects_are_recovered():
    """Firms 0-1 ally in months 5-9 and earn 10% more then; firm 2 never allies and earns half.
    Effect on the allied 0.10; naive gap on the same months 1.1 * 100 / 50 - 1 = 1.2; selection 1.1."""
    months = 12
    off = np.full((3, months), 100.0)
    off[2] = 50.0
    on = off.copy()
    kind = np.full((3, months), -1)
    kind[:2, 5:10] = 1
    on[:2, 5:10] *= 1.1
    e = counterfactuals.seed_effects(_arm(on, kind), _arm(off, np.full((3, months), -1)))
    assert e["effect_on_allied"] == pytest.approx(0.10)
    assert e["naive_gap"] == pytest.approx(1.2)
    assert e["selection_bias"] == pytest.approx(1.1)
    assert e["spillover_never_allied"] == pytest.approx(0.0)


def test_exit_in_the_off_world_counts_as_zero_only_in_the_with_exit_estimand():
    months = 10
    on = np.full((2, months), 100.0)
    off = on.copy()
    off[0, 6:] = np.nan  # firm 0 would have closed in month 7 without its alliance
    kind = np.full((2, months), -1)
    kind[0, 2:] = 0
    e = counterfactuals.seed_effects(_arm(on, kind), _arm(off, np.full((2, months), -1)))
    assert e["effect_on_allied"] == pytest.approx(0.0), "alive in both: same revenue, no effect"
    assert e["effect_on_allied_with_exit"] == pytest.approx(800 / 400 - 1)


def test_never_allied_firms_lose_nothing_while_markets_are_not_shared():
    """Without shared markets a firm that never allies has the same revenue in both worlds, exactly.

    Owners do not reinvest here: with reinvestment, a firm that searched for a partner in vain paid search
    fees and so invested less, a real (and tiny) loss that this exactness check would mistake for a leak."""
    cfg = check(load_config("experiment=uplift", "firms.n_firms=300", "months=48", "seed=3",
                            "market.competition_intensity=0", "alliances.search.p_seek_max=0.12",
                            "firms.share_surplus_reinvested=0"))
    on = run_arm(("alliances", with_overrides(cfg, **{"alliances.enabled": True})))
    off = run_arm(("no_alliances", with_overrides(cfg, **{"alliances.enabled": False})))
    e = counterfactuals.seed_effects(on.firm_months, off.firm_months)
    assert e["allied_firm_months"] > 500, "expected alliances to form, or the test tests nothing"
    assert e["spillover_never_allied"] == 0.0
    assert e["effect_on_allied"] > 0.0, "expected allied firms to earn more than themselves without alliances"
    table = counterfactuals.firm_outcomes(on.firm_months, off.firm_months, 3)
    assert len(table) == len(on.firm_months["firm_id"]) and table["allied"].any()
    never = table[~table["allied"]]
    assert (never["revenue_total_on"] >= 0).all()


def test_allied_rivals_displace_never_allied_firms_when_markets_are_shared():
    """With shared local markets, firms that never ally lose customers to allied rivals (negative spillover),
    and the net effect on the market is smaller than the effect on the allied (seeds 0-2 pooled)."""
    spill, net, allied = [], [], []
    for seed in (0, 1, 2):
        cfg = check(load_config("experiment=uplift", "firms.n_firms=600", "months=72", f"seed={seed}",
                                "market.competition_intensity=0.3", "market.localities=5"))
        on = run_arm(("alliances", with_overrides(cfg, **{"alliances.enabled": True})))
        off = run_arm(("no_alliances", with_overrides(cfg, **{"alliances.enabled": False})))
        e = counterfactuals.seed_effects(on.firm_months, off.firm_months)
        spill.append(e["spillover_never_allied"]), net.append(e["net_effect_market"]), allied.append(e["effect_on_allied"])
    assert np.mean(spill) < 0.0, f"expected displacement of never-allied firms, got spillovers {spill}"
    assert np.mean(net) < np.mean(allied), f"expected net effect {net} below the effect on the allied {allied}"


def test_stock_prehistory_ignores_policies_and_scenarios_and_seats_real_revenue():
    """The mixed-age stock is the same for an arm with a policy and a crisis as for its baseline, and
    stock firms start with the revenue they last earned (not 0, which reads as maximal sales pressure)."""
    base = AllianceModel(check(small_config("firms=stock", n=300, months=12, seed=4)))
    arm = AllianceModel(check(small_config("firms=stock", "policy=training", "scenario=crisis",
                                           "market.crisis.start_month=1", n=300, months=12, seed=4)))
    for col in ("birth_month", "base_revenue", "cash", "revenue", "shock", "capability"):
        assert np.array_equal(getattr(base.firms, col)[:300], getattr(arm.firms, col)[:300]), \
            f"expected the same stock ({col}) whatever the arm's policies and scenario"
    traded = base.firms.birth_month[:300] < 0  # firms born in the pre-history's last month have not traded yet
    assert traded.mean() > 0.95
    assert (base.firms.revenue[:300][traded] > 0).all(), "expected stock firms seated with last month's revenue"


@pytest.mark.parametrize("param, values", [("firms.cash_target_months", (1.9, 1.99, 2.0, 2.01, 2.1)),
                                           ("alliances.search.min_cash_months", (1.9, 1.99, 2.0, 2.01, 2.1))])
def test_alliance_counts_change_smoothly_with_the_cash_rules(param, values):
    """Seeds 0-2, N=600, 60 months: nudging either cash parameter by up to 5% moves the number of
    alliances formed by less than 25% (it used to drop from about 300 to 0 at 1.99)."""
    counts = []
    for v in values:
        counts.append(sum(run_model(small_config(f"{param}={v}", n=600, months=60, seed=s)).summary()
                          ["alliances_formed"] for s in (0, 1, 2)))
    ref = counts[values.index(2.0)]
    assert ref > 100
    for v, c in zip(values, counts):
        assert abs(c - ref) < 0.25 * ref, f"expected a smooth response to {param}: {dict(zip(values, counts))}"


def test_delayed_entry_corrects_the_survival_of_a_stock():
    """Firms observed from age 24 that all survive to 36 must not lift survival at ages below 24:
    with delayed entry S(12) comes from the cohort observed from birth only."""
    cohort = pd.DataFrame({"entry_months": 0, "duration_months": np.r_[np.full(50, 6), np.full(50, 40)],
                           "died": np.r_[np.ones(50, bool), np.zeros(50, bool)]})
    late = pd.DataFrame({"entry_months": 24, "duration_months": 36, "died": False}, index=range(100))
    curve = survival.survival_curve({0: pd.concat([cohort, late])}, "x", 40, n_boot=10).set_index("month")
    assert curve.loc[12, "survival"] == pytest.approx(0.5), "expected late entrants outside the risk set at 12"
    naive = survival.survival_curve({0: pd.concat([cohort, late.assign(entry_months=0)])}, "x", 40,
                                    n_boot=10).set_index("month")
    assert naive.loc[12, "survival"] == pytest.approx(0.75), "without delayed entry they would count"


def test_curve_bands_resample_seeds_not_firms():
    """Two seeds with very different survival: the band spans them; pooling firms would make it thin."""
    a = pd.DataFrame({"entry_months": 0, "duration_months": np.r_[np.full(900, 5), np.full(100, 30)],
                      "died": np.r_[np.ones(900, bool), np.zeros(100, bool)]})
    b = pd.DataFrame({"entry_months": 0, "duration_months": np.r_[np.full(100, 5), np.full(900, 30)],
                      "died": np.r_[np.ones(100, bool), np.zeros(900, bool)]})
    curve = survival.survival_curve({0: a, 1: b}, "x", 30).set_index("month")
    assert curve.loc[10, "survival"] == pytest.approx(0.5)
    assert curve.loc[10, "hi"] - curve.loc[10, "lo"] > 0.5, "expected a seed bootstrap band wider than 0.5"


def test_a_stock_larger_than_its_sample_is_resampled_from_the_same_pre_history():
    """A stock of 12,000 firms seated from a 1,500-firm pre-history has the age and revenue
    distribution of the 1,500-firm stock (KS tests), and the pre-history does not grow with it."""
    from scipy import stats

    from sim import model as model_module
    sizes = []
    original = model_module.PreHistory.__init__

    def spy(self, cfg):
        sizes.append(cfg.firms.n_firms)
        original(self, cfg)

    small = AllianceModel(check(small_config("firms=stock", "firms.stock_sample_firms=1500", n=1500, seed=2)))
    model_module.PreHistory.__init__ = spy
    try:
        big = AllianceModel(check(small_config("firms=stock", "firms.stock_sample_firms=1500", n=12_000, seed=2)))
    finally:
        model_module.PreHistory.__init__ = original
    assert sizes == [1500], f"expected one pre-history of 1,500 firms, got {sizes}"
    for col in ("birth_month", "base_revenue", "cash"):
        p = stats.ks_2samp(getattr(small.firms, col)[:1500], getattr(big.firms, col)[:12_000]).pvalue
        assert p > 0.01, f"expected the big stock's {col} distributed as the small one's (KS p = {p:.3g})"


def test_an_exit_beyond_the_curve_horizon_is_censored_not_counted_at_it():
    """A stock firm that exits at age 200 does not die at the horizon age 120 of the curve."""
    life = pd.DataFrame({"entry_months": [100, 0], "duration_months": [200, 50], "died": [True, False]})
    counts = survival.at_risk_counts(life["entry_months"], life["duration_months"], life["died"], 120)
    assert counts[1].sum() == 0, "expected no exit within ages 1-120"
