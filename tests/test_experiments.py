"""Every experiment file runs, shrunken, through the real code path; the uplift estimator passes known cases.

Known cases run the uplift experiment end to end (``experiments.kinds.EXPERIMENTS``,
run folder and all) on the fixed seed list ``tests.conftest.SEEDS`` and read its
replications table back, so they test the estimator, the pairing of arms on
common random numbers and the files together.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from experiments.collect import outcome_columns
from experiments.kinds import EXPERIMENTS, Outputs, module
from sim import load_config
from sim.config import CONFIG_DIR, check
from tests.conftest import SEEDS

EXPERIMENT_FILES = sorted(p.stem for p in (CONFIG_DIR / "experiment").glob("*.yaml"))

#: A small world for every experiment file: few firms, seeds and one process.
SHRINK = ("firms.n_firms=120", "months=60", "experiment.n_seeds=2", "experiment.workers=1",
          "experiment.progress=false")

#: What an experiment file needs beyond SHRINK to produce its headline numbers.
SHRINK_EXTRA = {
    # survival_effect_60m needs 60 months; 3 seeds give CIs of positive width.
    "uplift": ("firms.n_firms=200", "experiment.n_seeds=3"),
    "uplift_frontier": ("experiment.grid=['alliances.types.bridge_access_gain=0.15,0.6',"
                        "'alliances.search.p_seek_max=0.03,0.12']",),
    # Alliances form from month 24 (alliances.search.min_age_months) and
    # alliance_end_share_60m needs 60 months of follow-up after that.
    "compatibility_vs_contracts": ("months=96",),
    "validate": ("firms.n_firms=200", "experiment.targets=[survival_12m,survival_60m,crisis_mortality_17m]"),
    "calibrate": ("experiment.n_trials=2", "experiment.targets=[survival_12m,survival_60m]"),
    "sensitivity": ("experiment.n_samples=2", "experiment.uncertainties=[firms.mean_margin,firms.p_closure]"),
    "sensitivity_sobol": ("experiment.n_samples=2", "experiment.n_seeds=1",
                          "experiment.uncertainties=[firms.mean_margin,firms.p_closure]"),
}

#: Experiment files whose headline outcomes differ from their kind's (their arms have names of their own).
HEADLINES_BY_FILE = {
    "policy_targeting": [f"instruments.credit_{rule}.{k}" for rule in ("all", "solo", "young")
                         for k in ("public_cost", "extra_firm_years")],
}

#: Alliance benefits switched off: shared purchasing, market access and knowledge.
NO_BENEFITS = ("alliances.types.cluster_max_savings=0", "alliances.types.bridge_access_gain=0",
               "alliances.types.innovation_rate=0")
#: Every cost of seeking, forming, controlling and coordinating an alliance switched off.
NO_COSTS = ("alliances.search.search_cost=0", "alliances.structure.formation_cost=0",
            "alliances.structure.formation_cost_formal=0", "alliances.structure.cost_behaviour_control=0",
            "alliances.structure.cost_output_control=0", "alliances.structure.cost_social_control=0",
            "alliances.structure.coordination_cost=0")
#: The fixed seed list of the known cases: seeds SEEDS[0] .. SEEDS[-1] in every arm.
KNOWN_CASE = ("experiment=uplift", "firms.n_firms=300", "months=60", f"seed={SEEDS[0]}",
              f"experiment.n_seeds={len(SEEDS)}", "experiment.workers=1", "experiment.progress=false")


def run_uplift(tmp_path, *overrides: str) -> tuple[dict, pd.DataFrame]:
    """Run the uplift experiment end to end in ``tmp_path``; return its summary and replications table."""
    cfg = check(load_config(*KNOWN_CASE, *overrides))
    EXPERIMENTS["uplift"](cfg, tmp_path)
    table = pd.read_parquet(tmp_path / "replications.parquet")
    assert list(table["seed"]) == list(SEEDS), f"expected one row per seed {SEEDS}, got {list(table['seed'])}"
    return json.loads((tmp_path / "summary.json").read_text()), table


def test_every_experiment_kind_declares_its_outputs():
    """Each experiment kind's module says what it writes (``OUTPUTS``: report, main table, headline numbers)."""
    missing = [kind for kind in EXPERIMENTS if not isinstance(getattr(module(kind), "OUTPUTS", None), Outputs)]
    assert not missing, f"expected OUTPUTS = Outputs(...) in the modules of {missing}"


@pytest.fixture(scope="module")
def shrunken_run(tmp_path_factory):
    """Experiment file name -> (config, run folder, returned summary) of its shrunken run, each run once."""
    done = {}

    def run(name: str):
        if name not in done:
            cfg = check(load_config(f"experiment={name}", *SHRINK, *SHRINK_EXTRA.get(name, ())))
            folder = tmp_path_factory.mktemp(name)
            done[name] = (cfg, folder, EXPERIMENTS[cfg.experiment.kind](cfg, folder))
        return done[name]
    return run


@pytest.mark.parametrize("name", EXPERIMENT_FILES)
def test_experiment_file_runs_shrunken_and_writes_finite_results(name, shrunken_run):
    """The file composes, runs through EXPERIMENTS[kind] and writes its report, tables, figures and finite numbers."""
    cfg, tmp_path, returned = shrunken_run(name)
    kind = cfg.experiment.kind
    outputs = module(kind).OUTPUTS
    report_name, main_table = outputs.report, outputs.table
    headlines = HEADLINES_BY_FILE.get(name, outputs.headlines)

    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "completed", f"{name}: expected status completed, got {manifest}"
    assert (tmp_path / "config.yaml").is_file(), f"{name}: expected the resolved config.yaml"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary.get("failed_runs", []) == [], f"{name}: expected no failed runs, got {summary['failed_runs']}"
    assert set(returned) == set(summary), f"{name}: expected summary.json to hold what the experiment returned"
    flat = outcome_columns(summary)
    for key in headlines:
        assert isinstance(flat.get(key), (int, float)) and math.isfinite(flat[key]), (
            f"{name}: expected a finite {key} in summary.json, got {flat.get(key)!r}")

    if report_name:
        report = tmp_path / report_name
        assert report.is_file() and report.read_text().startswith("# "), f"{name}: expected {report.name}"
        for link in [ln[ln.index("(") + 1:-1] for ln in report.read_text().splitlines() if ln.startswith("![")]:
            assert (tmp_path / link).is_file(), f"{name}: the report links {link}, which does not exist"
        figures = sorted((tmp_path / "figures").glob("*.png"))
        assert figures, f"{name}: expected PNG figures under figures/"
        for fig in figures:
            assert fig.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", f"{name}: {fig.name} is not a PNG file"
    table = pd.read_parquet(tmp_path / f"{main_table}.parquet")
    assert len(table) and np.isfinite(table.select_dtypes("number").to_numpy(float)).any(), (
        f"{name}: expected rows with finite numbers in {main_table}.parquet")
    for path in sorted(tmp_path.glob("*.parquet")):
        # NaN marks a measure undefined at this horizon (e.g. 60-month alliance ends); inf would be a bug.
        numbers = pd.read_parquet(path).select_dtypes("number").to_numpy(float)
        assert not np.isinf(numbers).any(), f"{name}: expected no infinite values in {path.name}"


def test_uplift_summary_has_estimates_with_confidence_intervals(shrunken_run):
    """The uplift summary gives every headline estimate with a 95% CI of positive width around it
    (the shrunken run of configs/experiment/uplift.yaml)."""
    _, _, summary = shrunken_run("uplift")
    for key in ("uplift_revenue", "survival_effect_60m", "naive_gap", "selection_bias"):
        assert key in summary, f"expected {key} in the uplift summary"
    for key in ("uplift_revenue", "survival_effect_60m"):
        lo, hi = summary[f"{key}_ci"]
        assert lo < hi, f"expected a CI of positive width for {key}, got [{lo}, {hi}]"
        assert lo <= summary[key] <= hi, f"expected {key}={summary[key]} inside its CI [{lo}, {hi}]"
    for key in ("effect_on_allied", "survival_effect_allied_60m", "naive_gap"):
        lo, hi = summary[f"{key}_ci"]
        assert lo <= summary[key] <= hi, f"expected {key}={summary[key]} inside its CI [{lo}, {hi}]"


def test_alliances_that_change_nothing_give_exactly_zero_uplift_on_every_seed(tmp_path):
    """No benefits and no costs: both arms are the same world (common random numbers), so uplift is exactly 0."""
    summary, table = run_uplift(tmp_path, *NO_BENEFITS, *NO_COSTS)
    assert summary["alliances_formed_mean"] > 0, "expected alliances to form, or the case tests nothing"
    for key in ("uplift_revenue", "uplift_revenue_per_initial_firm", "survival_effect_60m"):
        assert (table[key] == 0.0).all(), f"expected {key} exactly 0 on every seed, got {table[key].tolist()}"
        lo, hi = summary[f"{key}_ci"]
        assert lo <= 0.0 <= hi, f"expected the CI of {key} to contain 0, got [{lo}, {hi}]"


def test_alliance_costs_without_benefits_cannot_raise_revenue_or_survival(tmp_path):
    """Costs only: no firm earns more or lives longer, yet revenue per living firm rises (survivorship).

    Costs only drain cash, so in the alliances world each firm dies no later
    than in the same world without alliances and earns the same while alive:
    revenue per initial firm (the dead count as 0) and survival cannot rise on
    any seed. Revenue per *living* firm (``uplift_revenue``) rises instead: the
    firms the costs push out are the weaker ones, so the survivors' mean goes
    up (+0.23%, 95% CI +0.12% to +0.35% on these seeds; positive on 10 of 10
    other seed lists tried). That is a change in who is alive, not an uplift;
    read uplift_revenue together with uplift_revenue_per_initial_firm.
    Firms do not share markets here: with competition, a firm pushed out by alliance costs hands
    its customers to rivals, so revenue can move for reasons other than the alliances' costs.
    """
    summary, table = run_uplift(tmp_path, *NO_BENEFITS, "market.competition_intensity=0")
    assert (table["uplift_revenue_per_initial_firm"] <= 0.0).all(), (
        f"expected no seed to gain revenue per initial firm from costs alone, "
        f"got {table['uplift_revenue_per_initial_firm'].tolist()}")
    lo, hi = summary["uplift_revenue_per_initial_firm_ci"]
    assert summary["uplift_revenue_per_initial_firm"] < 0.0 and lo <= 0.0, (
        f"expected the per-initial-firm uplift below 0 with a CI containing or below 0, got "
        f"{summary['uplift_revenue_per_initial_firm']} [{lo}, {hi}]")
    assert (table["survival_effect_60m"] <= 0.0).all(), (
        f"expected no seed to gain survival from costs alone, got {table['survival_effect_60m'].tolist()}")
    assert (table["uplift_revenue"] >= table["uplift_revenue_per_initial_firm"]).all() \
        and summary["uplift_revenue"] > 0.0, (
        f"expected the per-living-firm uplift above 0 and above the per-initial-firm uplift (survivorship), got "
        f"{table['uplift_revenue'].tolist()}")


def test_larger_cluster_savings_raise_the_uplift_on_every_seed(tmp_path):
    """Cluster alliances only: savings of 15% instead of 3% of input costs raise the uplift, paired by seed.

    Savings cut costs, not prices, so they reach revenue through survival: the
    effect shows in revenue per initial firm (dead = 0) and in survival. Revenue
    per living firm moves little in a world this small (weaker firms now
    survive), so it is not asserted.
    """
    only_cluster = ("alliances.structure.types_enabled=[cluster]", "alliances.search.p_seek_max=0.08")
    low, low_table = run_uplift(tmp_path / "low", *only_cluster, "alliances.types.cluster_max_savings=0.03")
    high, high_table = run_uplift(tmp_path / "high", *only_cluster, "alliances.types.cluster_max_savings=0.15")
    gain = high_table["uplift_revenue_per_initial_firm"] - low_table["uplift_revenue_per_initial_firm"]
    assert (gain > 0).all(), f"expected a higher per-initial-firm uplift on every seed, got differences {gain.tolist()}"
    survival_gain = high["survival_effect_60m"] - low["survival_effect_60m"]
    assert survival_gain > 0, (
        f"expected a larger survival effect with larger savings, got {low['survival_effect_60m']} -> "
        f"{high['survival_effect_60m']} pp")


def test_uplift_is_identical_with_one_or_two_workers(tmp_path):
    """Serial and parallel replications give exactly the same summary and replications table."""
    out = {}
    for workers in (1, 2):
        folder = tmp_path / f"workers{workers}"
        cfg = check(load_config("experiment=uplift", *SHRINK, f"experiment.workers={workers}"))
        EXPERIMENTS["uplift"](cfg, folder)
        out[workers] = ((folder / "summary.json").read_text(), pd.read_parquet(folder / "replications.parquet"))
    assert out[1][0] == out[2][0], "expected identical summary.json with 1 and 2 workers"
    pd.testing.assert_frame_equal(out[1][1], out[2][1], check_exact=True)


def test_single_seed_uplift_writes_strict_json_and_says_why_there_is_no_interval(tmp_path):
    """With one seed there is no CI: summary.json holds null (strict JSON, no NaN) and the report says why."""
    from experiments.kinds.uplift import run as run_uplift
    from sim import check, load_config

    cfg = check(load_config("experiment=uplift", "experiment.n_seeds=1", "firms.n_firms=120", "months=24",
                            "experiment.workers=1", "experiment.progress=false"))
    run_uplift(cfg, tmp_path)
    text = (tmp_path / "summary.json").read_text()
    summary = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    assert summary["uplift_revenue_ci"] == [None, None], f"expected a null interval, got {summary['uplift_revenue_ci']}"
    assert summary["survival_effect_60m"] is None, "expected survival_effect_60m undefined in a 24-month run"
    assert "needs at least two seeds" in (tmp_path / "report.md").read_text()


def test_frontier_grid_is_validated_before_the_run():
    """A grid over an unknown path, or with a value out of range, or an empty one, stops the run."""
    from sim import ConfigError, load_config

    for bad, named in ((["experiment.grid=['alliances.types.nope=1']"], "alliances.types.nope"),
                       (["experiment.grid=['alliances.types.cluster_max_savings=0.05,2.0']"], "2.0"),
                       (["experiment.grid=[]"], "experiment.grid")):
        with pytest.raises(ConfigError) as info:
            load_config("experiment=uplift_frontier", *bad)
        assert named in str(info.value), f"expected {named!r} in the message: {info.value}"
