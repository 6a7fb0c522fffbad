"""Calibration: cohort survival against INEGI's band, as a mean over ten fixed seeds."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import run_model, small_config

CALIBRATION_SEEDS = tuple(range(10))
CALIBRATION_N = 2000
CALIBRATION_MONTHS = 120

#: Target bands from the issue; the band itself is the stated tolerance on the 10-seed mean
#: (the seed-to-seed sd is about 0.02-0.03, so the mean's standard error is about 0.01).
SURVIVAL_12M_BAND = (0.58, 0.70)
SURVIVAL_60M_BAND = (0.25, 0.35)


@pytest.fixture(scope="module")
def calibration_summaries():
    """Summaries of the default world at N=2000, 120 months, seeds 0..9."""
    return [run_model(small_config(n=CALIBRATION_N, months=CALIBRATION_MONTHS, seed=s)).summary()
            for s in CALIBRATION_SEEDS]


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


def test_survival_falls_with_horizon(calibration_summaries):
    """Survival never rises with the horizon (12 >= 24 >= 36 >= 60 >= 120 months), seed by seed."""
    keys = ["survival_12m", "survival_24m", "survival_36m", "survival_60m", "survival_120m"]
    for s in calibration_summaries:
        values = [s[k] for k in keys]
        assert all(a >= b for a, b in zip(values, values[1:])), (
            f"expected survival non-increasing with horizon for seed {s['seed']}, got {values}")
