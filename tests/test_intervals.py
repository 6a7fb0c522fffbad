"""Intervals that can fail: a share's interval stays inside [0, 1], a verdict of pass needs the whole
interval inside the band, and a shrunken run says it is a quick look, in its report and on screen."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments import quick_look, validate
from experiments.compare import mean_ci
from experiments.registry import EXPERIMENTS
from experiments.targets import STATISTIC_SCALES, STATISTICS, Target, fit_row, interval
from sim import load_config
from sim.config import check


def test_every_statistic_declares_its_range():
    """A share or a duration without a declared scale would get an interval that can leave its range."""
    assert set(STATISTIC_SCALES) == set(STATISTICS)


def test_two_seeds_of_a_share_give_an_interval_inside_0_1_where_student_t_leaves_it():
    """The issue's case: survival_12m over 2 seeds had a Student-t interval of 0.125 to 1.14."""
    values = [0.55, 0.716]
    _, t_lo, t_hi = mean_ci(values)
    assert t_lo < 0 or t_hi > 1, "the plain Student-t interval leaves [0, 1] here"
    m, lo, hi = interval(values, "share")
    assert m == pytest.approx(np.mean(values)) and 0 < lo < m < hi < 1


def test_a_duration_interval_stays_positive():
    """life_expectancy over 2 seeds: 9.22 (-11.8 to 30.2) in the issue; on the log scale it stays above 0."""
    m, lo, hi = interval([7.6, 10.84], "positive")
    assert 0 < lo < m < hi


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=2, max_size=30))
def test_share_intervals_never_leave_0_1(values):
    m, lo, hi = interval(values, "share")
    if np.isfinite(lo):
        assert 0 <= lo <= m <= hi <= 1


def test_many_seeds_give_the_student_t_interval_back():
    """With a narrow spread the transformed interval is the usual one (the delta method is exact in the limit)."""
    values = np.random.default_rng(0).normal(0.63, 0.01, 40)
    assert interval(values, "share") == pytest.approx(mean_ci(values), abs=2e-4)


@pytest.mark.parametrize(("ci", "expected"), [((0.60, 0.66), "pass"), ((0.55, 0.66), "inconclusive"),
                                              ((0.66, 0.75), "inconclusive"), ((0.40, 0.55), "FAIL"),
                                              ((0.71, 0.80), "FAIL"), ((np.nan, np.nan), "inconclusive")])
def test_the_verdict_reads_the_whole_interval(ci, expected):
    t = Target("survival_12m", "survival", "calibration", "survival_12m", band=(0.58, 0.70), value=0.64)
    assert t.verdict(*ci) == expected


def test_a_mean_inside_the_band_with_a_wide_interval_is_inconclusive_not_pass():
    t = Target("survival_12m", "survival", "calibration", "survival_12m", band=(0.58, 0.70), value=0.64)
    row = fit_row(t, [0.55, 0.716])
    assert row["mean_in_band"] and row["verdict"] == "inconclusive" and not row["passes"]
    one_sided = Target("h", "survival", "validation", "hazard_ratio_year1_to_year5", band=(1.0, None))
    assert fit_row(one_sided, [3.8, 4.0, 4.1])["verdict"] == "pass"


def test_a_shrunken_validation_is_a_quick_look_with_inconclusive_verdicts(tmp_path, capsys):
    """2 seeds of 300 firms: said at the top of validation.md, in summary.json and on stderr; no pass claimed
    for a target whose interval crosses its band."""
    cfg = check(load_config("experiment=validate", "firms.n_firms=300", "experiment.n_seeds=2",
                            "experiment.workers=1", "experiment.progress=false",
                            "experiment.targets=[survival_12m]"))
    summary = EXPERIMENTS["validate"](cfg, tmp_path)
    report = (tmp_path / "validation.md").read_text().splitlines()
    assert report[0] == "# Validation report" and report[2].startswith("> **Quick look.** 2 seeds (default 20)")
    assert "300 firms (default 2,000)" in report[2]
    assert "quick look" in capsys.readouterr().err
    assert json.loads((tmp_path / "summary.json").read_text())["quick_look"] == summary["quick_look"]
    row = summary["targets"]["survival_12m"]
    assert 0 <= row["ci_lo"] and row["ci_hi"] <= 1
    assert row["verdict"] == "inconclusive" and summary["n_inconclusive"] == 1 and summary["n_pass"] == 0
    assert "| inconclusive |" in "\n".join(report) and validate.RULE in "\n".join(report)


def test_runs_at_the_defaults_are_not_quick_looks():
    for name in ("validate", "uplift", "calibrate", "policy_targeting", "sensitivity_sobol", "single"):
        assert quick_look.message(load_config(f"experiment={name}")) is None, name
    sweep_job = load_config("sweep=trust_rates")  # an uplift of 8 seeds and 1,000 firms
    assert "8 seeds (default 30)" in quick_look.message(sweep_job)
    assert "experiment=uplift" in quick_look.message(sweep_job)
    assert quick_look.message(load_config("firms.n_firms=500")) == (
        "quick look: 500 firms (default 2,000) for experiment=single; intervals are wide and verdicts may be "
        "inconclusive; run with the defaults before quoting a number.")
