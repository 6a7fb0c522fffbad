"""Which instrument, or package of instruments, keeps more microenterprises alive per peso?

A no-policy baseline and every arm run on the same seeds and random streams (a policy
draws only from its own stream), so per-seed differences from the baseline are the arm's
effect. An arm is one instrument or a package of several (``experiment.arms``); a
package's parts also run alone, so its interaction (package minus the sum of its parts) is
measured. Instruments get an equal cap (``experiment.budget_mode=equal_cap``) or are made
to spend alike (``equal_spend``, ``experiments.replication.policy_spend``). Windows count from the
start of the run or from a crisis onset (``experiment.policy_window_from``).

Per arm, each with a 95% CI over seeds: public cost, extra firms alive at the horizon,
extra firm-years and revenue (net: every firm), the same among beneficiaries (gross) and
among their rivals in the same local markets (``experiments.replication.displacement``), alliances
formed, the early-end share and the cost per extra firm-year (a ratio of means with a
paired bootstrap CI). Arms are ranked on net firm-years per peso and ranked apart only
when the paired difference's CI excludes zero (``experiments.analysis.policy_ranking``). With
``experiment.max_seeds`` the experiment adds seeds until every pair is resolved.
``policy_brief.md`` opens with the terms (``experiments.analysis.policy_terms``), its sections are
written by ``experiments.analysis.policy_brief``, and every arm's
ledger is in ``ledger.parquet``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from experiments.analysis import policy_ranking, policy_terms
from experiments.analysis.policy_brief import (
    beneficiary_lines,
    beneficiary_table,
    budget_curve_lines,
    displacement_lines,
    draw_figures,
    equal_spend_lines,
    package_lines,
    pair_lines,
    ranking_lines,
    ranking_table,
)
from experiments.analysis.policy_terms import label, money
from experiments.kinds import Outputs
from experiments.replication import displacement, policy_spend
from experiments.replication.compare import ArmResult, mean_ci, paired_jobs, run_arm, run_jobs
from sim.config import check, load_config
from sim.files import atomic_write
from sim.io import ReplicationStore, RunFolder
from sim.policies import REGISTRY

#: The policy brief, one row per arm, and every instrument's cost and effects.
OUTPUTS = Outputs("policy_brief.md", "instruments",
                  tuple(f"instruments.{kind}.{k}" for kind in REGISTRY
                        for k in ("public_cost", "extra_firm_years", "extra_revenue")))

OUTCOMES = {
    "public_cost": "public cost (MXN)",
    "extra_firms_alive": "extra firms alive at the horizon",
    "extra_firm_years": "extra firm-years",
    "extra_revenue": "extra revenue (MXN)",
    "alliances_formed": "alliances formed",
    "alliance_end_share_60m": "share of alliances ending within 60 months",
}


def instrument_policies(cfg: Any) -> dict[str, Any]:
    """Every instrument the comparison uses, by name: configured policies, and instrument kinds as
    ``configs/policy/<kind>.yaml`` defines them with the experiment's window and budget."""
    ex = cfg.experiment
    chosen = dict(cfg.policies)
    wanted = [n for arm in ex.arms for n in arm] if ex.arms else (list(chosen) or list(ex.instruments))
    for kind in dict.fromkeys(wanted):
        if kind in chosen:
            continue
        pol = check(load_config(f"policy={kind}")).policies[kind]
        pol.start_month, pol.stop_month, pol.budget = ex.policy_start_month, ex.policy_stop_month, ex.budget
        pol.window_from = ex.policy_window_from
        chosen[kind] = pol
    return {n: chosen[n] for n in dict.fromkeys(wanted)}


def model_runs(cfg: Any) -> int:
    """The no-policy world and one world per arm (or configured policy, or instrument) on every seed."""
    ex = cfg.experiment
    return (1 + (len(ex.arms) or len(cfg.policies) or len(ex.instruments))) * ex.n_seeds


def instrument_arms(cfg: Any) -> dict[str, list[str]]:
    """Arm name -> its instruments: ``experiment.arms`` (every part of a package also alone), else one each."""
    arms = [list(a) for a in cfg.experiment.arms] or [[n] for n in instrument_policies(cfg)]
    singles = {a[0] for a in arms if len(a) == 1}
    for arm in list(arms):
        for part in arm if len(arm) > 1 else []:
            if part not in singles:
                arms.append([part])
                singles.add(part)
    return {"+".join(a): a for a in arms}


def run_policy_arm(job: tuple[str, Any]) -> ArmResult:
    """Run one arm following every firm's months alive and revenue (``displacement.FirmTotals``)."""
    return run_arm(job, recorder=displacement.FirmTotals)


def per_seed_effects(results: list) -> pd.DataFrame:
    """One row per (arm, seed): outcomes and differences from the same seed's baseline."""
    base = {r.seed: r.summary for r in results if r.arm == "baseline" and r.error is None}
    rows = []
    for r in results:
        if r.arm == "baseline" or r.error is not None or r.seed not in base:
            continue
        a, b = r.summary, base[r.seed]
        rows.append({
            "instrument": r.arm, "seed": r.seed,
            "public_cost": a["public_cost"],
            "paid_out": float(sum(p["spent"] for p in a.get("policies", []))),
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


def displacement_effects(results: list, ledger: pd.DataFrame, sector_names: list[str]
                         ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per (arm, seed): extra outcomes of beneficiaries, same-market others and net; and who benefits."""
    base = {r.seed: r.firm_months for r in results if r.arm == "baseline" and r.error is None and r.firm_months}
    paid = ledger[(ledger["form"] != "repayment") & (ledger["amount"] > 0)]
    ids = paid.groupby(["arm", "seed"])["firm_id"].unique()
    rows, groups = [], []
    for r in results:
        if r.arm == "baseline" or r.error is not None or r.seed not in base or not r.firm_months:
            continue
        got = ids.get((r.arm, r.seed))
        firms = displacement.split(r.firm_months, base[r.seed], got if got is not None else np.array([], np.int64))
        rows.append({"instrument": r.arm, "seed": r.seed, **displacement.displacement_row(firms)})
        groups += [{"instrument": r.arm, "seed": r.seed, **g}
                   for g in displacement.beneficiary_groups(firms, sector_names)]
    return pd.DataFrame(rows), pd.DataFrame(groups)


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


def summarise(effects: pd.DataFrame, seed: int, displaced: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per arm: mean and 95% CI of each outcome, its yield and the cost per extra firm-year."""
    rows = []
    for name, d in effects.groupby("instrument", sort=False):
        row = {"instrument": name, "n_seeds": len(d)}
        for key in (*OUTCOMES, "paid_out"):
            row[key], row[f"{key}_lo"], row[f"{key}_hi"] = mean_ci(d[key].astype(float))
        # Public cost is bounded by the budget and by zero outlay; keep its t-interval inside.
        row["public_cost_lo"] = max(row["public_cost_lo"], float(d["public_cost"].min()), 0.0)
        row["public_cost_hi"] = min(row["public_cost_hi"], float(d["public_cost"].max()))
        row["extra_firm_years_significant"] = bool(row["extra_firm_years_lo"] > 0)
        row["yield"] = policy_ranking.arm_yield(d["public_cost"].to_numpy(float), d["extra_firm_years"].to_numpy(float))
        # What pairing buys: the paired standard error and the two arms' correlation across seeds.
        for key, level in (("extra_firm_years", "firm_years"), ("extra_revenue", "total_revenue")):
            row[f"{key}_se_paired"] = float(d[key].std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else float("nan")
            x, y = d[f"{level}_arm"].astype(float), d[f"{level}_baseline"].astype(float)
            row[f"{key}_corr_arms"] = float(np.corrcoef(x, y)[0, 1]) if len(d) > 2 and x.std() > 0 and y.std() > 0 \
                else float("nan")
        c, lo, hi = cost_per_firm_year(d["public_cost"].to_numpy(float), d["extra_firm_years"].to_numpy(float), seed)
        if not row["extra_firm_years_significant"]:
            c, lo, hi = float("nan"), float("nan"), float("nan")
        row["cost_per_extra_firm_year"] = c
        row["cost_per_extra_firm_year_lo"], row["cost_per_extra_firm_year_hi"] = lo, hi
        if displaced is not None and len(displaced):
            dd = displaced[displaced["instrument"] == name]
            for g in (*displacement.GROUPS, "net"):
                for key in ("extra_firm_years", "extra_revenue"):
                    col = f"{key}_{g}"
                    row[col], row[f"{col}_lo"], row[f"{col}_hi"] = mean_ci(dd[col].astype(float))
        rows.append(row)
    return pd.DataFrame(rows)


def _seeds_run(cfg: Any, arms: dict, policies: dict, folder: RunFolder) -> tuple[list, int]:
    """Run the replications: ``n_seeds`` seeds, then ``seeds_step`` more at a time while pairs stay unresolved
    (up to ``max_seeds``). Returns every result and the number of seeds run."""
    ex = cfg.experiment
    overrides = {"baseline": {"policies": {}, "experiment.per_firm": True}}
    overrides.update({arm: {"policies": {n: policies[n] for n in parts}, "experiment.per_firm": True}
                      for arm, parts in arms.items()})
    results, done, n = [], 0, ex.n_seeds
    limit = max(ex.max_seeds, ex.n_seeds)
    while True:
        results += run_jobs(paired_jobs(cfg, overrides, n, first=done), ex.workers, ex.progress, "policy runs",
                            store=folder.replications, runner=run_policy_arm)
        done = n
        effects = per_seed_effects(results)
        if n >= limit or effects.empty:
            return results, n
        pairs = policy_ranking.paired_differences(effects, int(cfg.seed))
        if policy_ranking.unresolved_pairs(pairs, ex.target_half_width).empty:
            return results, n
        n = min(n + ex.seeds_step, limit)


def budget_curve(cfg: Any, arms: dict, policies: dict, results: list, effects: pd.DataFrame, n_run: int,
                 folder: RunFolder) -> pd.DataFrame:
    """Extra firm-years (net) and public cost of every arm at each budget of ``experiment.budget_curve``
    and at ``experiment.budget``, on the same seeds, each a mean with its 95% t-interval.

    Every arm reruns with each of its instruments' budgets set to the point; the no-policy baseline
    of the main comparison is shared, so each point is paired with the same worlds."""
    import copy

    ex = cfg.experiment
    base = [r for r in results if r.arm == "baseline"]
    rows = []
    for point in sorted(set(float(b) for b in ex.budget_curve) - {float(ex.budget)}):
        scaled = {}
        for name, pol in policies.items():
            scaled[name] = copy.deepcopy(pol)
            scaled[name].budget = point
        overrides = {f"{arm}@{point:.0f}": {"policies": {n: scaled[n] for n in parts}, "experiment.per_firm": True}
                     for arm, parts in arms.items()}
        more = run_jobs(paired_jobs(cfg, overrides, n_run), ex.workers, ex.progress, f"budget {point:,.0f}",
                        store=folder.replications, runner=run_policy_arm)
        at = per_seed_effects(base + more)
        at["instrument"] = at["instrument"].str.rsplit("@", n=1).str[0]
        rows.append(at.assign(budget=point))
    rows.append(effects.assign(budget=float(ex.budget)))
    every = pd.concat(rows, ignore_index=True)
    out = []
    for (arm, budget), g in every.groupby(["instrument", "budget"], sort=True):
        years, cost = mean_ci(g["extra_firm_years"]), mean_ci(g["public_cost"])
        out.append({"instrument": arm, "budget": budget, "n_seeds": len(g),
                    "extra_firm_years": years[0], "extra_firm_years_lo": years[1], "extra_firm_years_hi": years[2],
                    "public_cost": cost[0], "public_cost_lo": cost[1], "public_cost_hi": cost[2]})
    return pd.DataFrame(out)


def _terms_header(cfg: Any, n_paired: int, n_run: int, mode_note: str) -> list[str]:
    """The design in a few bullets: scenario, horizon, seeds, firms, budget mode."""
    ex, crisis = cfg.experiment, cfg.market.crisis
    scen = []
    if crisis.enabled:
        scen.append(f"crisis (onset month {crisis.start_month}, demand down {crisis.depth:.0%} for "
                    f"{crisis.duration_months} months, recovery over {crisis.recovery_months})")
    if cfg.market.competition.enabled:
        scen.append(f"large-firm entry (month {cfg.market.competition.start_month})")
    seeds = f"{n_paired} paired seeds ({cfg.seed} to {cfg.seed + n_run - 1})"
    if n_paired < n_run:
        seeds += f" of {n_run} run; the others failed"
    if ex.max_seeds > ex.n_seeds:
        seeds += (f"; adaptive: started with {ex.n_seeds}, {ex.seeds_step} more at a time while pairs were "
                  f"unresolved, at most {ex.max_seeds}")
    return [f"- **scenario: {', '.join(scen) or 'baseline'}**",
            f"- horizon: {cfg.months} months; firms: {cfg.firms.n_firms:,} at the start (plus entrants); "
            f"alliances {'on' if cfg.alliances.enabled else 'off'}",
            f"- seeds: {seeds}",
            f"- budgets: {mode_note}",
            f"- money in {cfg.currency}; every figure is a mean over seeds of the difference from the same seed "
            "without any policy (same demand, same shocks, same firms), with its 95% confidence interval"]


def run(cfg: Any, out_dir: Path) -> dict:
    """Run the paired policy comparison and write its run folder."""
    folder = RunFolder(out_dir, cfg, seed=cfg.seed, kind="policy_compare")
    ex, cur = cfg.experiment, cfg.currency
    policies = instrument_policies(cfg)
    arms = instrument_arms(cfg)
    spend = None
    if ex.budget_mode == "equal_spend":
        policies, spend = policy_spend.equal_spend(cfg, policies, ReplicationStore(folder.path / "spend_calibration"))
        folder.table("equal_spend", spend)
        origin = ("as configured (experiment.spend_target)" if ex.spend_target else
                  f"the least an instrument spent at the equal cap of {money(ex.budget, cur)}")
        mode_note = (f"equal spending: each instrument's generosity scaled so that it spends about "
                     f"{money(spend['target'].iloc[0], cur)}, {origin} (see Equal spending below)")
    else:
        mode_note = "equal cap: each instrument's own budget below is a hard cap, not a spending target"
    results, n_run = _seeds_run(cfg, arms, policies, folder)
    failed = [f"seed {r.seed} ({r.arm}): {r.error.splitlines()[0]}" for r in results if r.error]
    effects = per_seed_effects(results)
    if effects.empty:
        raise RuntimeError("no arm could be paired with its baseline: " + "; ".join(failed))
    ledger = policy_terms.ledger_frame(results)
    folder.table("ledger", ledger)
    sector_names = list(cfg.firms.sector_names)
    displaced, groups = displacement_effects(results, ledger, sector_names)
    folder.table("replications", effects.merge(displaced, on=["instrument", "seed"], how="left")
                 if len(displaced) else effects)
    n_paired = int(effects["seed"].nunique())
    table = summarise(effects, int(cfg.seed), displaced)
    pairs = policy_ranking.paired_differences(effects, int(cfg.seed))
    table["rank"] = policy_ranking.rank_arms(table, pairs)
    unresolved = policy_ranking.unresolved_pairs(pairs, ex.target_half_width)
    folder.table("instruments", table)
    folder.table("pairs", pairs)
    terms = policy_terms.fiscal_terms(results, ledger, policies, cfg)
    folder.table("terms", terms)
    packages = policy_ranking.interactions(effects, arms)
    if len(packages):
        folder.table("packages", packages)
    who = beneficiary_table(groups) if len(groups) else pd.DataFrame()
    if len(who):
        folder.table("beneficiaries", who)

    figs = folder.path / "figures"
    shown = draw_figures(table, who, figs, n_paired, cur)
    curve_lines = []
    if ex.budget_curve:
        curve = budget_curve(cfg, arms, policies, results, effects, n_run, folder)
        folder.table("budget_curve", curve)
        curve_lines = budget_curve_lines(curve, figs, cur)
    lines = [f"# Policy brief: {', '.join(label(a) for a in arms)}", "", "## Terms", "",
             *_terms_header(cfg, n_paired, n_run, mode_note), "",
             *policy_terms.terms_markdown(terms, cur),
             "## Ranking (lowest cost per extra surviving firm-year first)", "",
             *ranking_lines(table, pairs, unresolved, cur), "", ranking_table(table, cur), "",
             *package_lines(packages, cur), *displacement_lines(table, cur), *beneficiary_lines(shown),
             *pair_lines(pairs), *curve_lines]
    if spend is not None:
        lines += equal_spend_lines(spend, table, min(ex.n_seeds, policy_spend.CALIBRATION_SEEDS), cur)
    lines += [f"![{p.stem}](figures/{p.name})" for p in sorted(figs.glob("*.png"))]
    lines += ["", "Every payment of every arm and seed is in `ledger.parquet`; all outcomes with their intervals in "
              "`instruments.parquet`. How the response to money looks: `experiment.budget_curve=[...]` adds it to "
              "this brief; for other settings sweep the budget (`sweep=policy_budget`, then "
              "`experiments.collect <folder> --curve experiment.budget extra_firm_years`)."]
    if failed:
        lines += ["", "## Failed runs", *[f"- {f}" for f in failed]]
    atomic_write(folder.path / "policy_brief.md", lambda p: p.write_text("\n".join(lines) + "\n"))
    summary = {"n_seeds": n_paired, "n_seeds_planned": ex.n_seeds, "n_seeds_run": n_run, "failed_runs": failed,
               "budget_mode": ex.budget_mode,
               "unresolved_pairs": [[r.arm_a, r.arm_b] for r in unresolved.itertuples()],
               "instruments": {r["instrument"]: {k: r[k] for k in table.columns if k != "instrument"}
                               for r in table.to_dict("records")}}
    folder.json("summary", summary)
    folder.finish("completed" if not failed else "completed_with_failures")
    return summary
