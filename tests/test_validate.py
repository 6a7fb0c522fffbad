"""Targets as data and the validation report: every target file is complete, the competing-risks
estimator gives known answers, and the report passes a target the model meets and fails it when
the model is moved off it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from experiments import validate
from experiments.targets import (
    ROLES,
    STATISTICS,
    TARGET_DIR,
    Target,
    cumulative_incidence,
    load_target,
    load_targets,
    loss,
)
from sim import load_config
from sim.alliance_table import CAUSE
from sim.config import check
from sim.params import ConfigError
from tests.conftest import run_cli

#: A shrunken validation: two survival targets, 300 firms, seeds 0 and 1, one process.
SHRUNKEN = ("experiment=validate", "firms.n_firms=300", "experiment.n_seeds=3", "experiment.workers=1",
            "experiment.progress=false", "experiment.targets=[survival_12m,survival_60m]")


def run_validation(tmp_path, *overrides: str) -> tuple[dict, pd.DataFrame, str]:
    cfg = check(load_config(*SHRUNKEN, *overrides))
    validate.run(cfg, tmp_path)
    return (json.loads((tmp_path / "summary.json").read_text()), pd.read_parquet(tmp_path / "validation.parquet"),
            (tmp_path / "validation.md").read_text())


@pytest.mark.parametrize("path", sorted(TARGET_DIR.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_target_file_declares_measure_band_and_source(path):
    """Each target says what is measured and how, its band, its source and its role."""
    t = load_target(path)
    assert t.role in ROLES and t.statistic in STATISTICS, f"{path.name}: role or statistic unknown"
    for key in ("population", "horizon", "estimator"):
        assert t.measure.get(key), f"{path.name}: expected measure.{key}"
    for key in ("publisher", "title", "year", "table"):
        assert t.source.get(key), f"{path.name}: expected source.{key}"
    lo, hi = t.band
    assert lo is not None or hi is not None, f"{path.name}: expected at least one bound"
    if t.value is not None:
        assert t.passes(t.value), f"{path.name}: the literature value {t.value} must lie in its band {t.band}"


def test_the_issue_targets_are_declared_with_their_bands():
    """The stylized facts the model issues name are all present, with the bands they give."""
    targets = {t.name: t for t in load_targets()}
    expected = {"survival_12m": (0.58, 0.70), "survival_60m": (0.25, 0.35),
                "alliance_relational_failure_60m": (0.30, 0.70), "alliance_prevalence": (0.0, 0.15),
                "life_expectancy": (6.0, 8.0)}
    for name, band in expected.items():
        assert targets[name].band == band, f"expected {name} with band {band}, got {targets[name].band}"
    assert targets["crisis_mortality_17m"].value == pytest.approx(0.208)
    assert targets["hazard_falls_with_age"].band == (1.0, None)
    assert {t.role for t in targets.values()} == set(ROLES), "expected calibration targets and validation checks"


def test_cumulative_incidence_with_a_competing_risk_and_censoring():
    """Hand-computed Aalen-Johansen: 4 alliances, ends at months 1 (low benefit), 2 (partner exit),
    2 (lost trust), one censored at 3. The causes' incidences sum to 1 - Kaplan-Meier."""
    duration = np.array([1, 2, 2, 3])
    cause = np.array([CAUSE["low_benefit"], CAUSE["partner_exit"], CAUSE["lost_trust"], -1])
    cif = cumulative_incidence(duration, cause, horizon=4)
    assert cif["low_benefit"][1] == pytest.approx(0.25) and cif["low_benefit"][0] == 0.0
    assert cif["partner_exit"][2] == pytest.approx(0.75 / 3) and cif["lost_trust"][2] == pytest.approx(0.25)
    total = sum(v[4] for v in cif.values())
    assert total == pytest.approx(1 - 0.75 * (1 / 3)), "expected the incidences to sum to 1 - KM survival"


def test_cumulative_incidence_without_censoring_is_the_share_ended_by_each_cause():
    rng = np.random.default_rng(0)
    duration = rng.integers(0, 30, 200)
    cause = rng.integers(0, 5, 200)
    cif = cumulative_incidence(duration, cause, horizon=40)
    for k, name in enumerate(("low_benefit", "lost_trust", "detected_opportunism", "partner_exit",
                              "renegotiation_failed")):
        assert cif[name][40] == pytest.approx(np.mean(cause == k)), f"expected the plain share of {name}"
        assert cif[name][10] == pytest.approx(np.mean((cause == k) & (duration <= 10)))


def test_loss_is_zero_at_the_value_and_one_at_the_band_edge():
    point = Target("x", "f", "calibration", "survival_12m", band=(0.58, 0.70), value=0.64)
    assert loss(point, 0.64) == 0.0 and loss(point, 0.70) == pytest.approx(1.0)
    open_band = Target("y", "f", "validation", "share_allied_mean", band=(0.0, 0.15))
    assert loss(open_band, 0.10) == 0.0 and loss(open_band, 0.30) > 0.0
    assert loss(point, float("nan")) == float("inf")


def test_report_passes_the_survival_targets_of_the_defaults(tmp_path):
    """The calibrated defaults meet INEGI's survival bands, whole intervals inside, on 10 seeds of 1,000 firms."""
    summary, table, report = run_validation(tmp_path, "experiment.n_seeds=10", "firms.n_firms=1000")
    assert set(table["target"]) == {"survival_12m", "survival_60m"}
    assert (table["verdict"] == "pass").all(), f"expected both survival targets to pass, got\n{table}"
    assert (table["ci_lo"] >= table["band_lo"]).all() and (table["ci_hi"] <= table["band_hi"]).all()
    assert np.isfinite(table[["model", "ci_lo", "ci_hi"]].to_numpy()).all()
    assert (table["ci_lo"] < table["model"]).all() and (table["model"] < table["ci_hi"]).all()
    assert "**FAIL**" not in report and summary["n_pass"] == 2
    for name in ("survival", "hazard_by_age", "fit_survival"):
        assert (tmp_path / "figures" / f"{name}.png").is_file(), f"expected figures/{name}.png"


def test_report_fails_survival_when_closures_are_far_too_frequent(tmp_path):
    """firms.p_closure = 0.1 a month leaves about 0.9^12 = 28% of a cohort after a year: FAIL."""
    summary, table, report = run_validation(tmp_path, "firms.p_closure=0.1")
    row = table.set_index("target").loc["survival_12m"]
    assert not row["passes"] and row["model"] < 0.35, f"expected survival_12m far below its band, got {row['model']}"
    assert "| `survival_12m` | calibration |" in report and "**FAIL**" in report
    assert summary["targets"]["survival_12m"]["passes"] is False


def test_every_target_is_measured_on_a_small_world(tmp_path):
    """All seven statistics are defined on a small world (each under its own run conditions)."""
    cfg = check(load_config(*SHRUNKEN[:-1], "firms.n_firms=200", "experiment.targets=[]"))
    fit, _, results = validate.validate(cfg, load_targets())
    assert not [r.error for r in results if r.error], "expected no failed run"
    assert np.isfinite(fit["model"]).all(), f"expected every target measured, got\n{fit[['target', 'model']]}"


def test_unknown_target_is_refused_in_one_line(tmp_path):
    with pytest.raises(ConfigError, match="unknown target"):
        load_targets(["no_such_target"])
    proc = run_cli(["experiment=validate", "experiment.targets=[no_such_target]"], cwd=tmp_path)
    assert proc.returncode == 2 and "no_such_target" in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
