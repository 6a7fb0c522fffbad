"""Per-firm counterfactuals: each firm in the alliances world against itself in the world without.

Both arms of a replication hold the same firms (same ids, same entrants) drawing the same
numbers (``sim.rng``), so a firm's months in the alliances-off arm are what its months in
the alliances-on arm would have been without alliances. From the two firms x months
revenue matrices of one seed (``experiments.replication.compare.FirmMonths``) this module computes:

- the **effect on the allied**: revenue in the firm-months a firm spends in an alliance,
  against the same firms' same months in the off world (firm-months alive in both; the
  quantity a survey of allied firms approximates at best);
- the same **counting exits**: off-world months after the firm closed earn zero;
- the **naive gap** a survey would see within the on world: allied firm-months against
  never-allied firms in the same months (never-allied revenue averaged with the allied
  months' weights, so both groups cover the same calendar);
- **selection bias** = naive gap - effect on the allied;
- the **spillover** on firms that never allied (their own revenue, on against off): with
  shared local markets, the customers allied rivals take from them (displacement);
- the **net effect on the market**: every firm's revenue, on against off, months after an
  exit counting as zero (what allied firms gain less what the others lose);
- survival of the firms that ever allied, on against off;
- the effect on the allied by size class, sector, capability tercile and alliance type.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.alliance_types import ALLIANCE_TYPES

#: Size classes of the workers count (employees besides the owner).
SIZE_CLASSES = {"0 workers": (0, 0), "1-2 workers": (1, 2), "3-5 workers": (3, 5), "6-10 workers": (6, 10)}
SURVIVAL_HORIZONS = (60, 120)


def _ratio(num: float, den: float) -> float:
    return float(num / den - 1.0) if den > 0 else float("nan")


def _aligned(on: dict, off: dict) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Revenue on, revenue off and alliance kind on, over the firms both arms hold."""
    n = min(len(on["revenue"]), len(off["revenue"]))
    if not np.array_equal(on["firm_id"][:n], off["firm_id"][:n]):
        raise ValueError("the two arms do not hold the same firms: per-firm counterfactuals need paired ids")
    return on["revenue"][:n].astype(float), off["revenue"][:n].astype(float), on["kind"][:n]


def _traits(arm: dict, n: int) -> pd.DataFrame:
    """The firms' traits recorded with an arm's firm months, first ``n`` firms."""
    return pd.DataFrame({c: arm[c][:n] for c in ("firm_id", "initial", "sector", "workers", "capability",
                                                 "birth_month")})


def seed_effects(on: dict, off: dict) -> dict:
    """Per-seed estimands (shares; survival in percentage points) from the two arms' firm months."""
    r_on, r_off, kind = _aligned(on, off)
    allied = kind >= 0
    both = ~np.isnan(r_on) & ~np.isnan(r_off)
    sel = allied & both
    on_sum, off_sum = r_on[sel].sum(), r_off[sel].sum()
    # Never allied: not even in an alliance formed and dissolved within one month.
    never = ~allied.any(axis=1) & ~on["ever_allied"][: len(r_on)]
    out = {
        "allied_firm_months": int(allied.sum()),
        "revenue_allied_on": float(on_sum / max(sel.sum(), 1)),
        "revenue_allied_off": float(off_sum / max(sel.sum(), 1)),
        "effect_on_allied": _ratio(on_sum, off_sum),
        "effect_on_allied_with_exit": _ratio(r_on[allied].sum(), np.nan_to_num(r_off)[allied].sum()),
    }
    # Naive gap on the same months: never-allied revenue reweighted to the allied months.
    weights = allied.sum(axis=0).astype(float)
    with np.errstate(invalid="ignore"):
        never_monthly = np.nanmean(np.where(never[:, None], r_on, np.nan), axis=0)
    ok = np.isfinite(never_monthly) & (weights > 0)
    allied_mean = r_on[allied].mean() if allied.any() else np.nan
    never_mean = (weights[ok] * never_monthly[ok]).sum() / weights[ok].sum() if ok.any() else np.nan
    out["naive_gap"] = _ratio(allied_mean, never_mean) if np.isfinite(never_mean) else float("nan")
    out["selection_bias"] = out["naive_gap"] - out["effect_on_allied"]
    nb = never[:, None] & both
    out["spillover_never_allied"] = _ratio(r_on[nb].sum(), r_off[nb].sum())
    out["net_effect_market"] = _ratio(np.nansum(r_on), np.nansum(r_off))
    initial = on["initial"][: len(r_on)]
    ever = allied.any(axis=1) & initial
    for h in SURVIVAL_HORIZONS:
        if r_on.shape[1] >= h and ever.any():
            alive_on, alive_off = ~np.isnan(r_on[ever, h - 1]), ~np.isnan(r_off[ever, h - 1])
            out[f"survival_{h}m_allied_on"] = float(alive_on.mean())
            out[f"survival_{h}m_allied_off"] = float(alive_off.mean())
            out[f"survival_effect_allied_{h}m"] = float(100.0 * (alive_on.mean() - alive_off.mean()))
        else:
            out[f"survival_effect_allied_{h}m"] = float("nan")
    return out


def firm_outcomes(on: dict, off: dict, seed: int) -> pd.DataFrame:
    """One row per firm of one seed: traits, whether it allied, and its outcomes on and off."""
    r_on, r_off, kind = _aligned(on, off)
    allied = kind >= 0
    sel = allied & ~np.isnan(r_on) & ~np.isnan(r_off)
    traits = _traits(off, len(r_on))  # the off world's capability is the founding capability
    main_kind = np.where(allied.any(axis=1),
                         np.argmax(np.stack([(kind == k).sum(axis=1) for k in range(len(ALLIANCE_TYPES))]), axis=0),
                         -1)
    return pd.DataFrame({
        "seed": seed, "firm_id": traits["firm_id"], "initial": traits["initial"], "sector": traits["sector"],
        "workers": traits["workers"], "capability": traits["capability"], "birth_month": traits["birth_month"],
        "allied": allied.any(axis=1),
        "alliance_type": np.where(main_kind >= 0, np.asarray(ALLIANCE_TYPES)[np.maximum(main_kind, 0)], "none"),
        "months_allied": allied.sum(axis=1),
        "revenue_allied_months_on": np.where(sel, r_on, 0.0).sum(axis=1),
        "revenue_allied_months_off": np.where(sel, r_off, 0.0).sum(axis=1),
        "months_alive_on": (~np.isnan(r_on)).sum(axis=1), "months_alive_off": (~np.isnan(r_off)).sum(axis=1),
        "revenue_total_on": np.nansum(r_on, axis=1), "revenue_total_off": np.nansum(r_off, axis=1),
    })


def subgroup_effects(on: dict, off: dict, sector_names: list[str]) -> list[dict]:
    """Effect on the allied within groups of firm-months: size class, sector, capability tercile, type."""
    r_on, r_off, kind = _aligned(on, off)
    traits = _traits(off, len(r_on))
    sel = (kind >= 0) & ~np.isnan(r_on) & ~np.isnan(r_off)
    workers, sector = traits["workers"].to_numpy(), traits["sector"].to_numpy()
    cap = traits["capability"].to_numpy()
    cuts = np.quantile(cap, [1 / 3, 2 / 3])
    tercile = np.searchsorted(cuts, cap, side="right")
    groups: list[tuple[str, str, np.ndarray]] = []
    for label, (lo, hi) in SIZE_CLASSES.items():
        groups.append(("size class", label, ((workers >= lo) & (workers <= hi))[:, None] & sel))
    for s, name in enumerate(sector_names):
        groups.append(("sector", name, (sector == s)[:, None] & sel))
    for k, name in enumerate(("low", "middle", "high")):
        groups.append(("capability tercile", name, (tercile == k)[:, None] & sel))
    for k, name in enumerate(ALLIANCE_TYPES):
        groups.append(("alliance type", name, (kind == k) & sel))
    return [{"dimension": dim, "group": label, "firm_months": int(mask.sum()),
             "effect_on_allied": _ratio(r_on[mask].sum(), r_off[mask].sum())} for dim, label, mask in groups]
