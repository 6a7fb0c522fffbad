"""Survival curves and exit hazards from replications: delayed entry, and bands from a bootstrap over seeds.

A cohort founded at month 0 is observed from age 0. A mixed-age stock is observed from
each firm's age at month 0 (left truncation): a firm aged 30 months at the start can only
count in the risk set from age 30 on, or the curve would overstate early survival (the
firms that died young are missing from a stock). The Kaplan-Meier estimator with delayed
entry handles both: at age ``a`` the risk set holds the firms that entered before ``a`` and
had not exited, ``S(a) = prod_{b <= a} (1 - d(b) / n(b))``.

Firms of one seed share demand shocks, so they are not independent draws: bands and
confidence intervals come from resampling whole seeds (a cluster bootstrap), never firms.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

N_BOOT = 1000


def at_risk_counts(entry: np.ndarray, duration: np.ndarray, died: np.ndarray, max_age: int) -> np.ndarray:
    """Per age 1..max_age in months: (firms at risk, exits) as a (2, max_age) integer array.

    ``entry`` is the age when observation starts (0 for a cohort), ``duration`` the age at
    exit or censoring; a firm exiting at age ``a`` traded ``a`` months and is at risk at
    ages ``entry + 1 .. a``.
    """
    duration = np.asarray(duration, dtype=np.int64)
    died = np.asarray(died, bool) & (duration <= max_age)  # an exit past max_age is censored at it
    entry = np.clip(np.asarray(entry, dtype=np.int64), 0, max_age)
    duration = np.clip(duration, 0, max_age)
    starts = np.bincount(entry, minlength=max_age + 1)[: max_age + 1]
    stops = np.bincount(duration, minlength=max_age + 1)[: max_age + 1]
    # at risk at age a: entered before a (entry <= a - 1) and still there at a (duration >= a)
    entered = np.cumsum(starts)[:-1]
    left = np.cumsum(stops)[:-1]
    n = entered - left
    d = np.bincount(duration[died & (duration > entry)], minlength=max_age + 1)[1: max_age + 1]
    return np.stack([n, d])


def km_from_counts(counts: np.ndarray) -> np.ndarray:
    """Kaplan-Meier survival at ages 1..A from (at risk, exits) counts; flat where nobody is at risk."""
    n, d = counts
    with np.errstate(invalid="ignore", divide="ignore"):
        step = np.where(n > 0, 1.0 - d / np.maximum(n, 1), 1.0)
    return np.cumprod(step, axis=-1)


def seed_counts(lifetimes: dict[int, pd.DataFrame], max_age: int) -> np.ndarray:
    """(seeds, 2, max_age) at-risk and exit counts, one slice per seed's lifetimes table."""
    return np.stack([at_risk_counts(life["entry_months"], life["duration_months"], life["died"], max_age)
                     for life in lifetimes.values()])


def bootstrap_seeds(n_seeds: int, n_boot: int = N_BOOT, seed: int = 0) -> np.ndarray:
    """(n_boot, n_seeds) counts of how often each seed is drawn in each resample."""
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, n_seeds, size=(n_boot, n_seeds))
    return np.stack([np.bincount(p, minlength=n_seeds) for p in picks]) if n_seeds else np.zeros((n_boot, 0))


def survival_curve(lifetimes: dict[int, pd.DataFrame], group: str, max_age: int, n_boot: int = N_BOOT,
                   seed: int = 0) -> pd.DataFrame:
    """Kaplan-Meier curve with delayed entry over pooled seeds, with a 95% band from a bootstrap over seeds.

    ``lifetimes`` maps seed -> table with ``entry_months``, ``duration_months`` and ``died``.
    """
    counts = seed_counts(lifetimes, max_age)
    surv = km_from_counts(counts.sum(axis=0))
    weights = bootstrap_seeds(len(counts), n_boot, seed)
    boot = km_from_counts(np.einsum("bs,ska->bka", weights, counts).transpose(1, 0, 2))
    lo, hi = np.percentile(boot, [2.5, 97.5], axis=0) if len(counts) > 1 else (surv, surv)
    months = np.arange(0, max_age + 1)
    return pd.DataFrame({"group": group, "month": months, "survival": np.concatenate([[1.0], surv]),
                         "lo": np.concatenate([[1.0], lo]), "hi": np.concatenate([[1.0], hi])})


def hazard_by_age(lifetimes: dict[int, pd.DataFrame], group: str, max_age: int, bin_months: int = 12,
                  n_boot: int = N_BOOT, seed: int = 0) -> pd.DataFrame:
    """Exits per firm-year at risk by age band, with a 95% interval from a bootstrap over seeds."""
    counts = seed_counts(lifetimes, max_age)
    n_bins = -(-max_age // bin_months)
    pad = n_bins * bin_months - max_age
    binned = np.pad(counts, ((0, 0), (0, 0), (0, pad))).reshape(len(counts), 2, n_bins, bin_months).sum(axis=3)
    exposure, deaths = binned[:, 0] / 12.0, binned[:, 1]
    total_e, total_d = exposure.sum(axis=0), deaths.sum(axis=0)
    weights = bootstrap_seeds(len(counts), n_boot, seed)
    with np.errstate(invalid="ignore", divide="ignore"):
        point = total_d / total_e
        boot = (weights @ deaths) / (weights @ exposure)
    lo, hi = np.nanpercentile(boot, [2.5, 97.5], axis=0) if len(counts) > 1 else (point, point)
    ok = total_e > 0
    return pd.DataFrame({"group": group, "age_years": (np.arange(n_bins) * bin_months // 12)[ok],
                         "deaths": total_d[ok], "firm_years": total_e[ok], "hazard": point[ok],
                         "lo": lo[ok], "hi": hi[ok]})
