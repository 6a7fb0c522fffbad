"""Compatibility and planning versus formal contracts (testing 001's claim).

001 reports that strategic compatibility and rigorous planning matter more for
alliance success than formal contractual arrangements. Here each lever is
raised by the same relative step (``experiment.lever_step``) from the defaults:

- compatibility and planning: the weight of strategic compatibility in partner
  choice and the share of firms with a planned approach;
- contracts: the formality of agreements and the intensity of formal control.

Every arm runs on the same seeds as a baseline and a world without alliances,
so effects on alliance survival (share ending within 60 months, median
duration) and on the causal revenue uplift are paired differences with 95% CIs.
The answer comes from the model, whichever way it falls.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.analysis import plots
from experiments.kinds import Outputs
from experiments.kinds.uplift import paired_table
from experiments.replication.compare import mean_ci, paired_jobs, run_jobs
from sim.files import atomic_write
from sim.io import RunFolder

#: The report, one row per lever and outcome, and each lever's effects.
OUTPUTS = Outputs("report.md", "effects", tuple(f"{lever}_{k}" for lever in ("compatibility_planning", "contracts")
                                                for k in ("uplift_revenue", "alliance_end_share_60m")))

OUTCOMES = {"alliance_end_share_60m": "share of alliances ending within 60 months",
            "alliance_median_duration_months": "median alliance duration (months)",
            "uplift_revenue": "causal revenue uplift (share)"}


def lever_arms(cfg: Any, step: float) -> dict[str, dict]:
    """Baseline, each lever raised by ``step`` (relative), and the no-alliance world."""
    a, f = cfg.alliances, cfg.firms
    up = 1.0 + step
    return {
        "baseline": {},
        "compatibility_planning": {
            "alliances.search.weight_compatibility": a.search.weight_compatibility * up,
            "firms.share_planned": min(1.0, f.share_planned * up)},
        "contracts": {
            "alliances.structure.formality_base": min(1.0, a.structure.formality_base * up),
            "alliances.structure.formality_planned": min(1.0, a.structure.formality_planned * up),
            "alliances.structure.control_intensity": a.structure.control_intensity * up},
        "no_alliances": {"alliances.enabled": False},
    }


def model_runs(cfg: Any) -> int:
    """Every lever arm on every seed."""
    return len(lever_arms(cfg, cfg.experiment.lever_step)) * cfg.experiment.n_seeds


def run(cfg: Any, out_dir: Path) -> dict:
    """Run the lever comparison and write its run folder."""
    folder = RunFolder(out_dir, cfg, seed=cfg.seed, kind="compatibility_vs_contracts")
    ex = cfg.experiment
    arms = lever_arms(cfg, ex.lever_step)
    results = run_jobs(paired_jobs(cfg, arms, ex.n_seeds), ex.workers, ex.progress, "lever runs",
                       store=folder.replications)
    failed = [f"seed {r.seed} ({r.arm}): {r.error.splitlines()[0]}" for r in results if r.error]
    per_arm = {}
    for arm in ("baseline", "compatibility_planning", "contracts"):
        t = paired_table([r for r in results if r.arm in (arm, "no_alliances")], on=arm).set_index("seed")
        durations = {r.seed: r.summary.get("alliance_median_duration_months") for r in results
                     if r.arm == arm and r.error is None}
        t["alliance_median_duration_months"] = pd.Series(durations, dtype=float)
        per_arm[arm] = t
    folder.table("replications", pd.concat(per_arm, names=["arm"]).reset_index())
    n_paired = min(len(t) for t in per_arm.values())  # seeds paired in every arm (failed runs left out)
    rows = []
    for lever in ("compatibility_planning", "contracts"):
        for key, label in OUTCOMES.items():
            diff = (per_arm[lever][key] - per_arm["baseline"][key]).dropna()
            m, lo, hi = mean_ci(diff)
            base = mean_ci(per_arm["baseline"][key])[0]
            rows.append({"lever": lever, "outcome": key, "label": f"{lever}: {label}", "baseline": base,
                         "mean": m, "lo": lo, "hi": hi, "significant": bool(lo > 0 or hi < 0)})
    effects = pd.DataFrame(rows)
    folder.table("effects", effects)
    figs = folder.path / "figures"
    for key, label in OUTCOMES.items():
        plots.estimates_with_ci(effects[effects["outcome"] == key], figs / f"effect_{key}.png",
                                f"Raising each lever by {ex.lever_step:.0%}", f"change in {label} vs baseline")
    lines = ["# Compatibility and planning versus contracts", "",
             f"Each lever raised by {ex.lever_step:.0%} of its default; {n_paired} paired seeds "
             f"(of {ex.n_seeds} planned), "
             f"{cfg.firms.n_firms} firms, {cfg.months} months. Changes are paired differences from the "
             "baseline on the same seeds, with 95% t-intervals.", "",
             effects[["lever", "outcome", "baseline", "mean", "lo", "hi", "significant"]].to_markdown(index=False),
             "", _verdict(effects), ""]
    lines += [f"![{k}](figures/effect_{k}.png)" for k in OUTCOMES]
    if failed:
        lines += ["", "## Failed runs", *[f"- {f}" for f in failed]]
    atomic_write(folder.path / "report.md", lambda p: p.write_text("\n".join(lines) + "\n"))
    e = effects.set_index(["lever", "outcome"])
    summary = {f"{lever}_{key}": float(e.loc[(lever, key), "mean"]) for lever, key in e.index}
    summary.update({f"{lever}_{key}_ci": [float(e.loc[(lever, key), "lo"]), float(e.loc[(lever, key), "hi"])]
                    for lever, key in e.index})
    summary.update(verdict=_verdict(effects), failed_runs=failed, n_seeds=n_paired, n_seeds_planned=ex.n_seeds)
    folder.json("summary", summary)
    folder.finish("completed" if not failed else "completed_with_failures")
    return summary


def _verdict(effects: pd.DataFrame) -> str:
    """One sentence on which lever does more for alliance survival, or that it cannot be told apart."""
    e = effects.set_index(["lever", "outcome"])
    c = e.loc[("compatibility_planning", "alliance_end_share_60m")]
    k = e.loc[("contracts", "alliance_end_share_60m")]
    if not np.isfinite([c["mean"], k["mean"]]).all():
        return ("The share of alliances ending within 60 months is not defined: the run must last at least "
                "60 months after alliances start forming (alliances.search.min_age_months + 60), with at "
                "least two completed seeds per arm.")
    better = "compatibility and planning" if c["mean"] < k["mean"] else "contracts"
    overlap = not (c["hi"] < k["lo"] or k["hi"] < c["lo"])
    claim = ("consistent with 001's claim" if better == "compatibility and planning" else
             "contrary to 001's claim")
    note = (" The two intervals overlap, so the levers cannot be told apart at this number of seeds."
            if overlap else "")
    return (f"Share of alliances ending within 60 months changes by {c['mean']:+.3f} when compatibility "
            f"and planning are raised and by {k['mean']:+.3f} when contracts are raised: {better} does more "
            f"for alliance survival, {claim}.{note}")
