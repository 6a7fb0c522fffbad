"""Ranking policy arms by what a peso buys, and saying which pairs the seeds cannot tell apart.

Arms are compared on their *yield*: extra surviving firm-years per million of public
spending (currency), the mean extra firm-years over the mean public cost, over the same
seeds. It is the reciprocal of the cost per extra firm-year that the brief quotes, and
unlike that cost it stays defined when a gain is near zero. Two arms are compared by the
paired difference of their yields: seeds are resampled together (a paired bootstrap), so
the noise the two arms share (same demand, same shocks, same firms) cancels. Arms are
ranked apart only when that difference's 95% interval excludes zero: arms that cannot be
told apart, directly or through a chain of such arms, share a rank. An arm of several
instruments (a package) is also set against the sum of its parts: its interaction, per
seed, is the package's extra outcome minus the sum of its parts' extra outcomes.
"""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd

from experiments.replication.compare import mean_ci

#: Yields are per this much public money (one million of the configured currency).
PER_MONEY = 1_000_000.0
N_RESAMPLES = 2000


def arm_yield(cost: np.ndarray, extra: np.ndarray) -> float:
    """Extra firm-years per million spent: mean extra over mean cost (nan when nothing was spent)."""
    c = float(np.mean(cost))
    return PER_MONEY * float(np.mean(extra)) / c if c > 0 else float("nan")


def _aligned(effects: pd.DataFrame, a: str, b: str) -> tuple[np.ndarray, ...]:
    """Cost and extra firm-years of arms ``a`` and ``b`` on the seeds both completed, in seed order."""
    wide = effects[effects["instrument"].isin([a, b])].pivot(index="seed", columns="instrument",
                                                              values=["public_cost", "extra_firm_years"]).dropna()
    return (wide[("public_cost", a)].to_numpy(float), wide[("extra_firm_years", a)].to_numpy(float),
            wide[("public_cost", b)].to_numpy(float), wide[("extra_firm_years", b)].to_numpy(float))


def paired_differences(effects: pd.DataFrame, seed: int, level: float = 0.95) -> pd.DataFrame:
    """Every pair of arms: difference of yields (first minus second) with a paired bootstrap CI over seeds.

    Columns: ``arm_a``, ``arm_b``, ``n_seeds``, ``difference``, ``lo``, ``hi``, ``half_width`` and
    ``separated`` (the interval excludes zero).
    """
    arms = list(dict.fromkeys(effects["instrument"]))
    rng = np.random.default_rng(seed)
    rows = []
    for a, b in combinations(arms, 2):
        ca, ea, cb, eb = _aligned(effects, a, b)
        n = len(ca)
        diff = arm_yield(ca, ea) - arm_yield(cb, eb) if n else float("nan")
        lo = hi = float("nan")
        if n >= 2 and np.isfinite(diff):
            idx = rng.integers(0, n, size=(N_RESAMPLES, n))  # the same seeds drawn for both arms
            with np.errstate(divide="ignore", invalid="ignore"):
                boot = PER_MONEY * (ea[idx].mean(1) / ca[idx].mean(1) - eb[idx].mean(1) / cb[idx].mean(1))
            boot = boot[np.isfinite(boot)]
            if len(boot):
                tail = 100 * (1 - level) / 2
                lo, hi = (float(v) for v in np.percentile(boot, [tail, 100 - tail]))
        rows.append({"arm_a": a, "arm_b": b, "n_seeds": n, "difference": diff, "lo": lo, "hi": hi,
                     "half_width": (hi - lo) / 2, "separated": bool(lo > 0 or hi < 0)})
    return pd.DataFrame(rows, columns=["arm_a", "arm_b", "n_seeds", "difference", "lo", "hi", "half_width",
                                       "separated"])


def unresolved_pairs(pairs: pd.DataFrame, target_half_width: float) -> pd.DataFrame:
    """Pairs neither separated nor measured to within ``target_half_width`` (0: only separation resolves)."""
    resolved = pairs["separated"].astype(bool)
    if target_half_width > 0:
        resolved |= pairs["half_width"] <= target_half_width
    return pairs[~resolved]


def rank_arms(table: pd.DataFrame, pairs: pd.DataFrame) -> pd.Series:
    """Rank of each arm with a significant gain (1 = most firm-years per peso); nan for the others.

    Arms with a gain are ordered by yield; arms joined by a pair whose interval includes zero,
    directly or through other arms, form one group and share its rank, so two arms get
    different ranks only if the interval of their paired difference excludes zero.
    """
    gain = table[table["extra_firm_years_significant"]]
    order = list(gain.sort_values("yield", ascending=False)["instrument"])
    group = {arm: arm for arm in order}

    def root(arm: str) -> str:
        while group[arm] != arm:
            arm = group[arm]
        return arm

    for r in pairs.itertuples():
        if r.arm_a in group and r.arm_b in group and not r.separated:
            group[root(r.arm_b)] = root(r.arm_a)
    ranks, seen = {}, {}
    for arm in order:  # groups take ranks in the order of their best arm
        ranks[arm] = seen.setdefault(root(arm), len(seen) + 1)
    return table["instrument"].map(ranks).astype(float)


def interactions(effects: pd.DataFrame, components: dict[str, list[str]]) -> pd.DataFrame:
    """Per package (arm of several instruments): package minus the sum of its parts, mean and 95% CI over seeds.

    Outcomes: extra firm-years, extra revenue and public cost; only seeds on which the package
    and every part completed count.
    """
    singles = {parts[0]: arm for arm, parts in components.items() if len(parts) == 1}
    rows = []
    for arm, parts in components.items():
        if len(parts) < 2 or not all(p in singles for p in parts):
            continue
        by_arm = effects.set_index(["instrument", "seed"])
        seeds = set(effects.loc[effects["instrument"] == arm, "seed"])
        for p in parts:
            seeds &= set(effects.loc[effects["instrument"] == singles[p], "seed"])
        seeds = sorted(seeds)
        row = {"package": arm, "parts": " + ".join(parts), "n_seeds": len(seeds)}
        for key in ("extra_firm_years", "extra_revenue", "public_cost"):
            package = by_arm.loc[[(arm, s) for s in seeds], key].to_numpy(float)
            parts_sum = sum(by_arm.loc[[(singles[p], s) for s in seeds], key].to_numpy(float) for p in parts)
            row[f"{key}_interaction"], row[f"{key}_interaction_lo"], row[f"{key}_interaction_hi"] = \
                mean_ci(package - parts_sum)
        rows.append(row)
    return pd.DataFrame(rows)
