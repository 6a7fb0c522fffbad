"""Calibration: cohort survival against INEGI's band, as a mean over ten fixed seeds."""

from __future__ import annotations

import numpy as np
import pytest

from experiments import survival
from sim import metrics
from tests.conftest import run_model, small_config

CALIBRATION_SEEDS = tuple(range(10))
CALIBRATION_N = 2000
CALIBRATION_MONTHS = 120

#: Target bands from the issue; the band itself is the stated tolerance on the 10-seed mean
#: (the seed-to-seed sd is about 0.02-0.03, so the mean's standard error is about 0.01).
SURVIVAL_12M_BAND = (0.58, 0.70)
SURVIVAL_60M_BAND = (0.25, 0.35)


@pytest.fixture(scope="module")
def calibration_runs():
    """Summaries and lifetimes of the default world at N=2000, 120 months, seeds 0..9."""
    out = []
    for s in CALIBRATION_SEEDS:
        m = run_model(small_config(n=CALIBRATION_N, months=CALIBRATION_MONTHS, seed=s))
        out.append((m.summary(), metrics.lifetimes(m, initial_only=True)))
    return out


@pytest.fixture(scope="module")
def calibration_summaries(calibration_runs):
    return [summary for summary, _ in calibration_runs]


@pytest.mark.parametrize("key, band", [("survival_12m", SURVIVAL_12M_BAND),
                                       ("survival_60m", SURVIVAL_60M_BAND)])
def test_mean_survival_within_band(calibration_summaries, key, band):
    """Mean cohort survival over seeds 0..9 lies in the target band."""
    values = np.array([s[key] for s in calibration_summaries], dtype=float)
    mean = values.mean()
    lo, hi = band
    assert lo <= mean <= hi, (
        f"expected mean {key} over seeds 0..9 at N={CALIBRATION_N} in [{lo}, {hi}] (tolerance: the whole "
        f"band), got {mean:.4f} (per seed: {np.round(values, 3).tolist()})")


def test_exit_hazard_falls_with_age(calibration_runs):
    """Firm-dynamics stylized fact (Evans 1987; INEGI): the yearly exit hazard of a founding cohort in
    its first year exceeds twice its hazard at ages 3-5 (pooled seeds 0..9, bands from a seed bootstrap)."""
    lives = {k: life for k, (_, life) in enumerate(calibration_runs)}
    hz = survival.hazard_by_age(lives, "cohort", CALIBRATION_MONTHS).set_index("age_years")
    first, later = hz.loc[0], hz.loc[3:5]
    later_rate = later["deaths"].sum() / later["firm_years"].sum()
    assert first["lo"] > 2 * later_rate, (
        f"expected first-year hazard (95% CI {first['lo']:.3f}-{first['hi']:.3f}) above twice the hazard at "
        f"ages 3-5 ({later_rate:.3f})")
