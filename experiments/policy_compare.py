"""Which instrument, at equal budget, keeps more microenterprises alive and earning?

The no-policy baseline and each instrument alone run on the same seeds and
random streams (a policy draws only from its own stream), so per-seed
differences from the baseline are the instrument's effect. Reported per
instrument, each with a 95% CI over seeds: public cost, extra firms alive at
the horizon, extra firm-years, extra revenue, alliances formed, share of
alliances ending early and cost per extra surviving firm-year (a ratio of
means with a paired bootstrap CI). ``policy_brief.md`` ranks the instruments
and says plainly when differences are not significant.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from experiments import plots
from experiments.compare import mean_ci, paired_jobs, run_jobs
from sim.config import check, load_config
from sim.io import RunFolder, atomic_write

OUTCOMES = {
    "public_cost": "public cost (MXN)",
    "extra_firms_alive": "extra firms alive at the horizon",
    "extra_firm_years": "extra firm-years",
    "extra_revenue": "extra revenue (MXN)",
    "alliances_formed": "alliances formed",
    "alliance_end_share_60m": "share of alliances ending within 60 months",
}


def instrument_arms(cfg: Any) -> dict[str, dict]:
    """Baseline plus one arm per instrument; configured policies if any, else defaults at equal budget."""
    ex = cfg.experiment
    if cfg.policies:
        chosen = {name: pol for name, pol in cfg.policies.items()}
    else:
        chosen = {}
        for kind in ex.instruments:  # each instrument as configs/policy/<kind>.yaml defines it
            pol = check(load_config(f"policy={kind}")).policies[kind]
            pol.start_month, pol.stop_month, pol.budget = ex.policy_start_month, ex.policy_stop_month, ex.budget
            chosen[kind] = pol
    arms = {"baseline": {"policies": {}}}
    arms.update({name: {"policies": {name: pol}} for name, pol in chosen.items()})
    return arms


def per_seed_effects(results: list) -> pd.DataFrame:
    """One row per (instrument, seed): outcomes and differences from the same seed's baseline."""
    base = {r.seed: r.summary for r in results if r.arm == "baseline" and r.error is None}
    rows = []
    for r in results:
        if r.arm == "baseline" or r.error is not None or r.seed not in base:
            continue
        a, b = r.summary, base[r.seed]
        rows.append({
            "instrument": r.arm, "seed": r.seed,
            "public_cost": a["public_cost"],
            "extra_firms_alive": a["firms_alive_end"] - b["firms_alive_end"],
            "extra_firm_years": a["firm_years"] - b["firm_years"],
            "extra_revenue": a["total_revenue"] - b["total_revenue"],
            "firm_years_arm": a["firm_years"], "firm_years_baseline": b["firm_years"],
            "total_revenue_arm": a["total_revenue"], "total_revenue_baseline": b["total_revenue"],
            "alliances_formed": a["alliances_formed"],
            "extra_alliances_formed": a["alliances_formed"] - b["alliances_formed"],
            "alliance_end_share_60m": a["alliance_end_share_60m"],
            "baseline_alliance_end_share_60m": b["alliance_end_share_60m"],
        })
    return pd.DataFrame(rows)


def cost_per_firm_year(cost: np.ndarray, extra: np.ndarray, seed: int = 0) -> tuple[float, float, float]:
    """Mean public cost over mean extra firm-years, with a paired bootstrap 95% CI over seeds.

    Undefined (nan) when the extra firm-years are not significantly above zero.
    """
    if len(cost) < 2 or extra.mean() <= 0:
        return float("nan"), float("nan"), float("nan")
    point = cost.mean() / extra.mean()
    # A resample whose extra firm-years are not positive has no finite cost per firm-year:
    # it counts as +inf, so it widens the upper bound instead of being dropped.
    with np.errstate(invalid="ignore"):  # infinite resamples make scipy's spread estimate nan; unused here
        res = stats.bootstrap((cost, extra), lambda c, e: np.mean(c) / np.mean(e) if np.mean(e) > 0 else np.inf,
                              paired=True, vectorized=False, n_resamples=2000, method="percentile",
                              random_state=np.random.default_rng(seed))
    return float(point), float(res.confidence_interval.low), float(res.confidence_interval.high)


def summarise(effects: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Per instrument: mean and 95% CI of each outcome, and the cost per extra firm-year."""
    rows = []
    for name, d in effects.groupby("instrument", sort=False):
        row = {"instrument": name, "n_seeds": len(d)}
        for key in OUTCOMES:
            row[key], row[f"{key}_lo"], row[f"{key}_hi"] = mean_ci(d[key].astype(float))
        # Public cost is bounded by the budget and by zero outlay; keep its t-interval inside.
        row["public_cost_lo"] = max(row["public_cost_lo"], float(d["public_cost"].min()), 0.0)
        row["public_cost_hi"] = min(row["public_cost_hi"], float(d["public_cost"].max()))
        row["extra_firm_years_significant"] = bool(row["extra_firm_years_lo"] > 0)
        # What pairing buys: the paired standard error and the two arms' correlation across seeds.
        for key, level in (("extra_firm_years", "firm_years"), ("extra_revenue", "total_revenue")):
            row[f"{key}_se_paired"] = float(d[key].std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
            x, y = d[f"{level}_arm"].astype(float), d[f"{level}_baseline"].astype(float)
            row[f"{key}_corr_arms"] = float(np.corrcoef(x, y)[0, 1]) if len(d) > 2 and x.std() > 0 and y.std() > 0 \
                else float("nan")
        c, lo, hi = cost_per_firm_year(d["public_cost"].to_numpy(float), d["extra_firm_years"].to_numpy(float), seed)
        if not row["extra_firm_years_significant"]:
            c, lo, hi = float("nan"), float("nan"), float("nan")
        row["cost_per_extra_firm_year"], row["cost_per_extra_firm_year_lo"], row["cost_per_extra_firm_year_hi"] = c, lo, hi
        rows.append(row)
    return pd.DataFrame(rows)


def ranking_text(table: pd.DataFrame) -> list[str]:
    """Plain-language ranking, stating which differences are not significant."""
    sig = table[table["extra_firm_years_significant"]].sort_values("cost_per_extra_firm_year")
    lines = []
    if sig.empty:
        lines.append("No instrument adds firm-years that are significantly above zero at this budget and number "
                     "of seeds: the instruments cannot be ranked by cost per extra surviving firm-year.")
    else:
        for k, (_, r) in enumerate(sig.iterrows(), 1):
            lines.append(f"{k}. **{r['instrument']}**: MXN {r['cost_per_extra_firm_year']:,.0f} per extra firm-year "
                         f"(95% CI {r['cost_per_extra_firm_year_lo']:,.0f} to {r['cost_per_extra_firm_year_hi']:,.0f}); "
                         f"{r['extra_firm_years']:+.1f} firm-years for MXN {r['public_cost']:,.0f}.")
        for a, b in zip(sig.iloc[:-1].itertuples(), sig.iloc[1:].itertuples()):
            if not (a.cost_per_extra_firm_year_hi < b.cost_per_extra_firm_year_lo):
                lines.append(f"- The difference between {a.instrument} and {b.instrument} is not significant "
                             "(their intervals overlap).")
    none = table[~table["extra_firm_years_significant"]]
    if len(none):
        lines.append(f"- No significant gain in firm-years (CI includes zero or below): "
                     f"{', '.join(none['instrument'])}.")
    return lines


def _of_planned(done: int, planned: int) -> str:
    """`` (of N planned)`` when some seeds failed, else nothing."""
    return f" (of {planned} planned; the others failed)" if done < planned else ""


def run(cfg: Any, out_dir: Path) -> dict:
    """Run the paired policy comparison and write its run folder."""
    folder = RunFolder(out_dir, cfg, seed=cfg.seed, kind="policy_compare")
    ex = cfg.experiment
    results = run_jobs(paired_jobs(cfg, instrument_arms(cfg), ex.n_seeds), ex.workers, ex.progress, "policy runs",
                       store=folder.replications)
    failed = [f"seed {r.seed} ({r.arm}): {r.error.splitlines()[0]}" for r in results if r.error]
    effects = per_seed_effects(results)
    if effects.empty:
        raise RuntimeError("no instrument run could be paired with its baseline: " + "; ".join(failed))
    folder.table("replications", effects)
    n_paired = int(effects["seed"].nunique())  # seeds whose baseline and at least one instrument completed
    table = summarise(effects, int(cfg.seed))
    folder.table("instruments", table)
    figs = folder.path / "figures"
    for key, label in (("extra_firm_years", "extra firm-years vs no policy"),
                       ("extra_revenue", "extra revenue vs no policy (MXN)"),
                       ("cost_per_extra_firm_year", "public cost per extra firm-year (MXN)")):
        est = table.rename(columns={key: "mean", f"{key}_lo": "lo", f"{key}_hi": "hi"})
        est = est.assign(label=est["instrument"]).dropna(subset=["mean"])
        if len(est):
            plots.estimates_with_ci(est, figs / f"{key}.png", f"Instruments at equal budget ({n_paired} seeds)", label)
    scen = [s for s, on in (("crisis", cfg.market.crisis.enabled), ("large-firm entry", cfg.market.competition.enabled)) if on]
    cols = ["instrument"] + [c for k in OUTCOMES for c in (k, f"{k}_lo", f"{k}_hi")] + \
        ["cost_per_extra_firm_year", "cost_per_extra_firm_year_lo", "cost_per_extra_firm_year_hi",
         "extra_firm_years_se_paired", "extra_firm_years_corr_arms"]
    lines = ["# Policy brief: instruments compared at equal budget", "",
             f"{n_paired} paired seeds{_of_planned(n_paired, ex.n_seeds)}; {cfg.firms.n_firms} initial firms; {cfg.months} months; scenario: "
             f"{', '.join(scen) or 'baseline'}; alliances {'on' if cfg.alliances.enabled else 'off'}. "
             "Every instrument is compared with the same seeds without any policy; values are means over seeds "
             "with 95% confidence intervals; cost per extra firm-year is total public cost over extra firm-years "
             "(paired bootstrap CI), reported only where the extra firm-years are significantly positive.", "",
             "## Ranking (lowest cost per extra surviving firm-year first)", "", *ranking_text(table), "",
             "## All outcomes", "", table[cols].to_markdown(index=False, floatfmt=",.3g"), ""]
    lines += [f"![{p.stem}](figures/{p.name})" for p in sorted(figs.glob("*.png"))]
    if failed:
        lines += ["", "## Failed runs", *[f"- {f}" for f in failed]]
    atomic_write(folder.path / "policy_brief.md", lambda p: p.write_text("\n".join(lines) + "\n"))
    summary = {"n_seeds": n_paired, "n_seeds_planned": ex.n_seeds, "failed_runs": failed,
               "instruments": {r["instrument"]: {k: r[k] for k in table.columns if k != "instrument"}
                               for r in table.to_dict("records")}}
    folder.json("summary", summary)
    folder.finish("completed" if not failed else "completed_with_failures")
    return summary
