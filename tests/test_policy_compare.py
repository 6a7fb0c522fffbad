"""The policy_compare experiment (shrunken), and the scenarios policy briefs are read against:
the crisis calibrated to INEGI 2019-2020 and large-firm entry confined to the sectors it names."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest

import sim.config
import sim.params
from experiments.analysis import policy_ranking
from experiments.analysis.policy_terms import LABELS
from experiments.kinds import policy_compare
from sim import AllianceModel, load_config
from sim.policies import REGISTRY

SHRUNK = ("experiment=policy_compare", "firms.n_firms=200", "months=48", "experiment.n_seeds=3",
          "experiment.workers=1", "experiment.progress=false", "experiment.policy_start_month=6",
          "experiment.policy_stop_month=30")
#: The crisis brief compares instruments acting in the crisis' first year (months 36-47).
SCENARIOS = {"baseline": (), "crisis": ("scenario=crisis", "experiment.policy_window_from=crisis_onset",
                                        "experiment.policy_start_month=0", "experiment.policy_stop_month=12")}
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
        assert LABELS[kind] in text, f"expected the brief to name {LABELS[kind]!r}"
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


def test_brief_opens_with_the_terms_of_every_instrument(compare_runs):
    """Before any result the brief states scenario, horizon, seeds, firms and per instrument its budget, window,
    eligibility, spend against cap and firms paid; credit also lent, repaid, outstanding and written off."""
    cfg, folder, _ = compare_runs["baseline"]
    text = (folder / "policy_brief.md").read_text()
    terms = text[: text.index("## Ranking")]
    for needle in ("scenario: baseline", f"horizon: {cfg.months} months", f"{cfg.experiment.n_seeds} paired seeds",
                   f"firms: {cfg.firms.n_firms:,}", "budget (MXN)", "1,000,000", "months 6-29", "eligibility",
                   "at least 12 months old", "share of cap", "firms paid", "lent (MXN)", "repaid (MXN)",
                   "outstanding (MXN)", "written off (MXN)"):
        assert needle in terms, f"expected the terms section to state {needle!r}"
    table = pd.read_parquet(folder / "terms.parquet")
    assert sorted(table["kind"]) == sorted(REGISTRY), "expected one row of terms per instrument"
    assert ((table["paid_out"] >= 0) & (table["paid_out"] <= table["budget"] * (1 + 1e-12))).all(), (
        "expected every instrument's outlay within [0, its cap]")
    credit = table[table["kind"] == "credit"].iloc[0]
    assert credit["lent"] > 0 and credit["lent"] == pytest.approx(credit["paid_out"]), (
        f"expected credit's outlay to be what it lent, got {credit.to_dict()}")
    # Debt grows only by interest: what is still owed or lost is at least what was lent and not repaid.
    assert credit["outstanding"] + credit["written_off"] >= credit["lent"] - credit["repaid"] - 1e-6, (
        f"expected outstanding + written off >= lent - repaid, got {credit.to_dict()}")


def test_ledger_parquet_holds_every_arms_payments_and_adds_up_to_public_cost(compare_runs):
    """ledger.parquet has seed and arm columns; per arm and seed its rows add up to the public cost (net) and to
    the outlay the instruments report (gross, without repayments); the baseline pays nothing."""
    cfg, folder, _ = compare_runs["baseline"]
    ledger = pd.read_parquet(folder / "ledger.parquet")
    reps = pd.read_parquet(folder / "replications.parquet").set_index(["instrument", "seed"])
    assert {"seed", "arm", "month", "instrument", "firm_id", "amount", "form"} <= set(ledger.columns)
    assert set(ledger["arm"]) == set(REGISTRY), f"expected payments of every arm, got {set(ledger['arm'])}"
    net = ledger.groupby(["arm", "seed"])["amount"].sum()
    gross = ledger[ledger["form"] != "repayment"].groupby(["arm", "seed"])["amount"].sum()
    for (arm, seed), value in net.items():
        assert value == pytest.approx(reps.loc[(arm, seed), "public_cost"], rel=1e-9, abs=1e-6), (
            f"{arm} seed {seed}: expected the ledger's net total to be the public cost")
        assert gross[(arm, seed)] == pytest.approx(reps.loc[(arm, seed), "paid_out"], rel=1e-9, abs=1e-6), (
            f"{arm} seed {seed}: expected the ledger's outlay to be what the instrument reports as spent")


def test_crisis_relative_window_pays_nothing_before_the_onset(compare_runs):
    """experiment.policy_window_from=crisis_onset with [0, 12): no grant, course, loan or service before month
    36, something paid in the crisis' first year, and the brief states the window after the onset."""
    cfg, folder, _ = compare_runs["crisis"]
    onset = cfg.market.crisis.start_month
    ledger = pd.read_parquet(folder / "ledger.parquet")
    paid = ledger[ledger["form"] != "repayment"]
    assert len(paid) and (paid["month"] >= onset).all(), (
        f"expected payments only from the onset (month {onset}), got months {sorted(set(paid['month']))[:5]}")
    assert (paid["month"] < onset + 12).all(), "expected no payment after the crisis' first year"
    text = (folder / "policy_brief.md").read_text()
    assert f"0 to 11 after the crisis onset in month {onset}" in text, "expected the brief to state the window"


def test_arms_without_a_gain_stay_in_the_ranking_table(compare_runs):
    """Every arm is in the brief's ranking table with its cost; an arm without a significant gain reads
    'no detectable gain' and has no rank."""
    for _, folder, _ in compare_runs.values():
        table = pd.read_parquet(folder / "instruments.parquet")
        text = (folder / "policy_brief.md").read_text()
        ranking = text[text.index("## Ranking"):]
        rows = [line for line in ranking.splitlines() if line.startswith("| ")]
        for r in table.itertuples():
            row = next((line for line in rows if f"| {LABELS[r.instrument]} " in line), None)
            assert row is not None, f"expected {r.instrument} in the ranking table"
            assert f"{r.public_cost:,.0f}" in row, f"expected {r.instrument}'s cost in its row: {row}"
            if not r.extra_firm_years_significant:
                assert "no detectable gain" in row and np.isnan(r.rank), f"expected no gain and no rank: {row}"


def test_arms_are_ranked_apart_only_when_their_paired_difference_excludes_zero(compare_runs):
    """In the runs: two arms with different ranks have a separated pair. On made-up seeds: two arms far apart
    rank 1 and 2; a noisy third arm that overlaps both ties them all."""
    for _, folder, _ in compare_runs.values():
        table = pd.read_parquet(folder / "instruments.parquet").dropna(subset=["rank"])
        pairs = pd.read_parquet(folder / "pairs.parquet").set_index(["arm_a", "arm_b"])
        for a, b in itertools.combinations(table.itertuples(), 2):
            if a.rank != b.rank:
                pair = pairs.loc[(a.instrument, b.instrument)] if (a.instrument, b.instrument) in pairs.index \
                    else pairs.loc[(b.instrument, a.instrument)]
                assert pair["separated"], f"{a.instrument} and {b.instrument} ranked apart without separation"
    rng = np.random.default_rng(7)
    seeds = np.arange(12)
    made_up = {"a": 100 + rng.normal(0, 2, 12), "b": 20 + rng.normal(0, 2, 12), "c": 60 + 300.0 * (-1) ** seeds}

    def ranks(arms):
        eff = pd.DataFrame([{"instrument": k, "seed": s, "public_cost": 1e6, "extra_firm_years": made_up[k][s]}
                            for k in arms for s in seeds])
        table = pd.DataFrame([{"instrument": k, "extra_firm_years_significant": True,
                               "yield": float(np.mean(made_up[k]))} for k in arms])
        return dict(zip(arms, policy_ranking.rank_arms(table, policy_ranking.paired_differences(eff, 0))))

    assert ranks(["a", "b"]) == {"a": 1.0, "b": 2.0}, f"expected a and b ranked apart, got {ranks(['a', 'b'])}"
    assert set(ranks(["a", "b", "c"]).values()) == {1.0}, (
        f"expected a noisy arm overlapping both to tie them all, got {ranks(['a', 'b', 'c'])}")


def test_net_effect_is_the_sum_over_beneficiaries_their_rivals_and_other_firms(compare_runs):
    """Per arm and seed, the per-firm split adds up: beneficiaries + same-market others + other markets = net,
    and net equals the difference of the two worlds' firm-years and revenue."""
    _, folder, _ = compare_runs["baseline"]
    reps = pd.read_parquet(folder / "replications.parquet")
    for key in ("extra_firm_years", "extra_revenue"):
        parts = sum(reps[f"{key}_{g}"] for g in ("beneficiaries", "same_market_others", "other_markets"))
        assert np.allclose(parts, reps[f"{key}_net"], rtol=1e-9, atol=1e-6), f"expected the groups to add to net {key}"
    assert np.allclose(reps["extra_firm_years_net"], reps["extra_firm_years"], rtol=0, atol=1e-9), (
        "expected the per-firm net firm-years to equal the worlds' difference")
    # Summed per firm rather than per month: equal to the worlds' difference up to rounding (1e-6 of their level).
    gap = (reps["extra_revenue_net"] - reps["extra_revenue"]).abs()
    assert (gap <= 1e-6 * reps["total_revenue_baseline"]).all(), (
        f"expected the per-firm net revenue to equal the worlds' difference, largest gap {gap.max():.3g}")
    credit = reps[reps["instrument"] == "credit"]
    assert (credit["firms_beneficiaries"] > 0).all(), "expected credit to reach some firms on every seed"


PACKAGE = (*SHRUNK[:2], "months=36", "experiment.n_seeds=2", "experiment.max_seeds=4", "experiment.seeds_step=2",
           *SHRUNK[4:], "experiment.arms=[[credit],[training,credit]]")


@pytest.fixture(scope="module")
def package_run(tmp_path_factory):
    """A package of training and credit, its parts alone (training added because the package needs it), seeds
    added two at a time while pairs are unresolved, up to 4."""
    folder = tmp_path_factory.mktemp("policy_package")
    cfg = sim.config.check(load_config(*PACKAGE))
    return cfg, folder, policy_compare.run(cfg, folder)


def test_a_packages_ledger_is_the_union_of_its_instruments_payments(package_run):
    """The package arm pays only through its two instruments; each one's rows add up to what it reports as
    spent, within its own budget; its parts also run alone, and the brief reports the interaction with a CI."""
    cfg, folder, summary = package_run
    assert set(summary["instruments"]) == {"credit", "training+credit", "training"}, (
        f"expected the package and both parts as arms, got {sorted(summary['instruments'])}")
    ledger = pd.read_parquet(folder / "ledger.parquet")
    pack = ledger[ledger["arm"] == "training+credit"]
    assert set(pack["instrument"]) == {"training", "credit"}, (
        f"expected payments of both, got {set(pack['instrument'])}")
    terms = pd.read_parquet(folder / "terms.parquet")
    for r in terms[terms["arm"] == "training+credit"].itertuples():
        gross = pack[(pack["instrument"] == r.instrument) & (pack["form"] != "repayment")]["amount"].sum()
        assert gross / summary["n_seeds"] == pytest.approx(r.paid_out), (
            f"expected {r.instrument}'s rows to be its outlay")
        assert r.paid_out <= r.budget * (1 + 1e-12), f"expected {r.instrument} within its own budget"
    reps = pd.read_parquet(folder / "replications.parquet")
    assert np.allclose(reps.loc[reps["instrument"] == "training+credit", "public_cost"].sum(), pack["amount"].sum())
    packages = pd.read_parquet(folder / "packages.parquet")
    row = packages.iloc[0]
    assert row["package"] == "training+credit" and row["extra_firm_years_interaction_lo"] <= \
        row["extra_firm_years_interaction"] <= row["extra_firm_years_interaction_hi"], f"expected a CI, got {row}"
    assert "## Packages" in (folder / "policy_brief.md").read_text(), "expected the brief to report the package"


def test_adaptive_seeds_stop_when_pairs_are_resolved_or_at_the_maximum(package_run):
    """Seeds grow from 2 by 2 up to 4: the run stops early only when no pair is unresolved, the tables use every
    seed run, and the brief says how many ran and which pairs remain unresolved."""
    cfg, folder, summary = package_run
    n = summary["n_seeds_run"]
    assert n in (2, 4), f"expected 2 or 4 seeds, got {n}"
    assert n == cfg.experiment.max_seeds or not summary["unresolved_pairs"], (
        f"expected more seeds while pairs are unresolved, stopped at {n} with {summary['unresolved_pairs']}")
    table = pd.read_parquet(folder / "instruments.parquet")
    assert (table["n_seeds"] == n).all(), f"expected every arm on all {n} seeds"
    text = (folder / "policy_brief.md").read_text()
    assert f"{n} paired seeds" in text and "adaptive" in text, "expected the brief to say how many seeds ran"
    for a, _ in summary["unresolved_pairs"]:
        assert f"{LABELS[a.split('+')[0]]}" in text[text.index("Unresolved pairs"):], "expected unresolved pairs named"


def test_equal_spend_arms_spend_within_5_percent_of_each_other(tmp_path):
    """experiment.budget_mode=equal_spend: credit and training, whose outlays at an equal cap differ more than
    twofold, spend within 5% of each other; neither above the target."""
    cfg = sim.config.check(load_config(*SHRUNK[:2], "months=36", "experiment.n_seeds=2", *SHRUNK[4:],
                                       "experiment.instruments=[credit,training]",
                                       "experiment.budget_mode=equal_spend"))
    policy_compare.run(cfg, tmp_path)
    spend = pd.read_parquet(tmp_path / "equal_spend.parquet")
    assert spend["spent_at_equal_cap"].max() > 2 * spend["spent_at_equal_cap"].min(), (
        f"expected very different outlays at equal cap, got {spend['spent_at_equal_cap'].tolist()}")
    paid = pd.read_parquet(tmp_path / "instruments.parquet").set_index("instrument")["paid_out"]
    assert paid.max() <= 1.05 * paid.min(), f"expected outlays within 5% of each other, got {paid.to_dict()}"
    assert (paid <= spend["target"].iloc[0] * (1 + 1e-9)).all(), "expected no instrument above the target"
    assert (spend["factor"] <= 1).all() and (spend["factor"] > 0).all(), "expected generosity scaled down only"


def test_budget_curve_reruns_every_arm_at_each_budget_on_the_same_seeds(tmp_path):
    """experiment.budget_curve=[20000]: each instrument runs at MXN 20,000 and at the equal budget on the same
    two seeds; the curve table has both points per instrument, spending at 20,000 stays within it, and the
    brief has its section and figure. A curve with equal spending is refused in one line."""
    cfg = sim.config.check(load_config(*SHRUNK[:2], "months=36", "experiment.n_seeds=2", *SHRUNK[4:],
                                       "experiment.instruments=[credit,formation_grant]",
                                       "experiment.budget_curve=[20000]"))
    policy_compare.run(cfg, tmp_path)
    curve = pd.read_parquet(tmp_path / "budget_curve.parquet")
    assert sorted(map(tuple, curve[["instrument", "budget"]].to_numpy().tolist())) == sorted(
        (k, b) for k in ("credit", "formation_grant") for b in (20000.0, float(cfg.experiment.budget))), curve
    assert (curve["n_seeds"] == 2).all(), "expected every point on the same two seeds"
    low = curve[curve["budget"] == 20000.0]
    assert (low["public_cost"] <= 20000.0 * (1 + 1e-9)).all(), f"expected spending within the smaller cap: {low}"
    brief = (tmp_path / "policy_brief.md").read_text()
    assert "## Response to the budget" in brief and (tmp_path / "figures" / "budget_response.png").is_file()
    with pytest.raises(sim.ConfigError) as err:
        load_config("experiment=policy_compare", "experiment.budget_mode=equal_spend", "experiment.budget_curve=[1e5]")
    assert "experiment.budget_curve" in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("override, name", [
    ("experiment.budget_mode=equal_money", "experiment.budget_mode"),
    ("experiment.arms=[[credit],[loans]]", "experiment.arms[1]"),
    ("experiment.policy_window_from=crisis_onset", "experiment.policy_window_from"),
])
def test_a_bad_policy_compare_setting_stops_with_one_line(override, name):
    """A bad budget mode, an unknown instrument in an arm, or a crisis-relative window without a crisis: one
    line naming the parameter."""
    with pytest.raises(sim.ConfigError) as err:
        load_config("experiment=policy_compare", override)
    assert name in str(err.value) and "\n" not in str(err.value), f"expected one line naming {name}: {err.value}"


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
    assert abs(mean - 0.21) <= 0.03, (
        f"expected mean crisis mortality 0.21 +- 0.03, got {mean:.3f} ({np.round(vals, 3)})")


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
