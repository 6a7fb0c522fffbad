"""Where in parameter space does the effect on the allied reach the 001 paper's 20%?

The 001 figure comes from a survey of allied firms, so the quantity it approximates
(at best, without its selection) is the effect of allying on the firms that ally, not
the average over every firm. Every combination of ``experiment.grid`` (sweeps in
Hydra's syntax, ``path=v1,v2,...``) is run with alliances on, each seed paired with
the same seed's world without alliances (which no alliance parameter changes, so it
is run once per seed and shared), and each allied firm is followed into that world
(``experiments.replication.counterfactuals``). A point is on the frontier when the lower bound of
its 95% CI for the effect on the allied is at least ``experiment.target_uplift``; the
average effect over all firms and the naive gap are reported beside it.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pandas as pd

from experiments.analysis import plots
from experiments.kinds import Outputs
from experiments.kinds.uplift import paired_table
from experiments.replication.compare import mean_ci, run_jobs, with_overrides
from sim.files import atomic_write
from sim.io import RunFolder
from sim.validation import parse_grid

#: The report, one row per grid point and where the effect on the allied peaks.
OUTPUTS = Outputs("report.md", "frontier", ("max_effect_on_allied_mean", "max_effect_lower_bound"))


def grid_points(grid: dict) -> list[dict]:
    """Every combination of the grid's values (path -> values), as dotted-path override dicts."""
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(list(grid[k]) for k in keys))]


def model_runs(cfg: Any) -> int:
    """The no-alliance world and every point of the grid on every seed."""
    points = 1
    for values in parse_grid(cfg.experiment.grid).values():
        points *= len(values)
    return (1 + points) * cfg.experiment.n_seeds


def run(cfg: Any, out_dir: Path) -> dict:
    """Run the grid of paired uplift estimates and report the frontier."""
    folder = RunFolder(out_dir, cfg, seed=cfg.seed, kind="uplift_frontier")
    ex = cfg.experiment
    grid = parse_grid(ex.grid)
    points = grid_points(grid)
    seeds = [int(cfg.seed) + k for k in range(ex.n_seeds)]
    jobs = [("no_alliances", with_overrides(cfg, seed=s, **{"alliances.enabled": False})) for s in seeds]
    for p, point in enumerate(points):
        jobs += [(f"point{p}", with_overrides(cfg, seed=s, **{"alliances.enabled": True}, **point))
                 for s in seeds]
    results = run_jobs(jobs, ex.workers, ex.progress, "frontier runs", store=folder.replications)
    failed = [f"seed {r.seed} ({r.arm}): {r.error.splitlines()[0]}" for r in results if r.error]
    rows = []
    for p, point in enumerate(points):
        arm = [r for r in results if r.arm == f"point{p}"]
        table = paired_table(arm + [r for r in results if r.arm == "no_alliances"], on=f"point{p}")
        for r in arm:  # the point's firm-month matrices are no longer needed
            r.firm_months = {}
        nan3 = (float("nan"),) * 3
        m, lo, hi = mean_ci(table["effect_on_allied"]) if "effect_on_allied" in table else nan3
        avg, avg_lo, avg_hi = mean_ci(table["uplift_revenue"]) if len(table) else nan3
        rows.append({**point, "n_seeds": len(table), "effect_on_allied": m, "effect_lo": lo, "effect_hi": hi,
                     "uplift_revenue": avg, "uplift_lo": avg_lo, "uplift_hi": avg_hi,
                     "naive_gap": table["naive_gap"].mean() if len(table) else float("nan"),
                     "survival_effect_60m": table["survival_effect_60m"].mean() if len(table) else float("nan")})
    frontier = pd.DataFrame(rows)
    if not frontier["n_seeds"].any():
        raise RuntimeError(f"every replication failed ({len(failed)} runs): " + "; ".join(failed[:3]))
    n_paired = int(frontier["n_seeds"].min())  # seeds paired at every grid point (failed runs left out)
    frontier["reaches_target"] = frontier["effect_lo"] >= ex.target_uplift
    folder.table("frontier", frontier)
    figs = {}
    keys = list(grid)
    if len(keys) == 2:
        figs["heatmap"] = plots.heatmap(frontier, keys[0], keys[1], "effect_on_allied",
                                        folder.path / "figures" / "effect_on_allied_heatmap.png",
                                        f"Effect on the allied (outlined: 95% CI lower bound >= "
                                        f"{ex.target_uplift:.0%})", mark=frontier["reaches_target"])
    hits = frontier[frontier["reaches_target"]]
    if frontier["effect_lo"].isna().all():
        verdict = ("No confidence interval could be computed (each point needs at least two completed seeds), "
                   f"so no point can be shown to reach {ex.target_uplift:.0%}.")
    elif len(hits):
        verdict = (f"{len(hits)} of {len(frontier)} grid points reach an effect on the allied whose 95% CI lower "
                   f"bound is at least {ex.target_uplift:.0%}:")
    else:
        best = frontier["effect_lo"].idxmax()
        verdict = (f"None of the {len(frontier)} swept points reaches an effect on the allied of "
                   f"{ex.target_uplift:.0%} with confidence (largest lower bound: "
                   f"{frontier.loc[best, 'effect_lo']:.1%}, "
                   f"at the point with mean effect {frontier.loc[best, 'effect_on_allied']:.1%}).")
    lines = ["# Uplift frontier", "",
             f"Grid over {', '.join(keys)}; {n_paired} paired seeds per point (of {ex.n_seeds} planned), "
             f"{cfg.firms.n_firms} firms, {cfg.months} months. Effect on the allied = revenue of allied firm-months "
             "against the same firms' same months without alliances; average effect (uplift) = mean monthly revenue "
             "per living firm, alliances on versus off; 95% t-intervals over seeds.", "", verdict, ""]
    show = hits if len(hits) else frontier
    lines += [show[keys + ["effect_on_allied", "effect_lo", "effect_hi", "uplift_revenue", "naive_gap"]]
              .to_markdown(index=False), ""]
    lines += [f"![{k}]({Path(v).relative_to(folder.path)})" for k, v in figs.items()]
    if failed:
        lines += ["", "## Failed runs", *[f"- {f}" for f in failed]]
    atomic_write(folder.path / "report.md", lambda p: p.write_text("\n".join(lines) + "\n"))
    summary = {"n_points": len(frontier), "n_seeds": n_paired, "n_seeds_planned": ex.n_seeds,
               "target_uplift": ex.target_uplift,
               "points_reaching_target": int(frontier["reaches_target"].sum()),
               "max_effect_lower_bound": float(frontier["effect_lo"].max()) if frontier["effect_lo"].notna().any()
               else None,
               "max_effect_on_allied_mean": float(frontier["effect_on_allied"].max()),
               "max_uplift_mean": float(frontier["uplift_revenue"].max()), "verdict": verdict,
               "failed_runs": failed}
    folder.json("summary", summary)
    folder.finish("completed" if not failed else "completed_with_failures")
    return summary

