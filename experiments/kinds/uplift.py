"""The headline experiment: causal revenue uplift and survival effect of alliances.

Each seed runs twice, with and without alliances, on common random numbers, so
the per-seed difference is the causal effect of the alliance process on the
same world. Beside it we report the naive gap a survey would see (revenue of
firms in an alliance over never-allied firms, within the alliances world) and
the selection bias (naive gap minus causal uplift). The 001 paper's "up to 20%"
comes from a survey of 150 firms; this separates the effect of allying from
the kind of firm that allies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from experiments.analysis import plots, survival
from experiments.kinds import Outputs
from experiments.replication import counterfactuals
from experiments.replication.compare import ArmResult, mean_ci, paired_jobs, run_jobs
from sim.files import atomic_write
from sim.io import RunFolder

#: The report, the per-seed table and the headline estimates with their 95% CIs.
OUTPUTS = Outputs("report.md", "replications", tuple(f"{k}{s}" for k in ("uplift_revenue", "survival_effect_60m",
                                                                          "naive_gap", "selection_bias")
                                                      for s in ("", "_lo", "_hi")))

ARMS = {"alliances": {"alliances.enabled": True}, "no_alliances": {"alliances.enabled": False}}


def model_runs(cfg: Any) -> int:
    """Both worlds on every seed."""
    return len(ARMS) * cfg.experiment.n_seeds
ARM_LABELS = {"alliances": "alliances on", "no_alliances": "alliances off"}


def _rel(a: float | None, b: float | None) -> float:
    return float(a / b - 1.0) if a is not None and b else float("nan")


def _pp(a: float | None, b: float | None) -> float:
    return float(100.0 * (a - b)) if a is not None and b is not None else float("nan")


def paired_table(results: list[ArmResult], on: str = "alliances", off: str = "no_alliances") -> pd.DataFrame:
    """One row per seed with both arms' outcomes and the paired effects.

    With per-firm records (``experiment.per_firm``) the row also holds the per-firm
    estimands of ``experiments.replication.counterfactuals`` (effect on the allied, the naive gap on
    the same months, selection bias, spillover, survival of the allied)."""
    rows = []
    for seed, a_res, b_res in _pairs(results, on, off):
        a, b = a_res.summary, b_res.summary
        uplift = _rel(a["mean_monthly_revenue"], b["mean_monthly_revenue"])
        row = {
            "seed": seed,
            "mean_monthly_revenue_on": a["mean_monthly_revenue"],
            "mean_monthly_revenue_off": b["mean_monthly_revenue"],
            "revenue_per_initial_firm_on": a["revenue_per_initial_firm"],
            "revenue_per_initial_firm_off": b["revenue_per_initial_firm"],
            "survival_60m_on": a["survival_60m"], "survival_60m_off": b["survival_60m"],
            "survival_120m_on": a["survival_120m"], "survival_120m_off": b["survival_120m"],
            "uplift_revenue": uplift,
            "uplift_revenue_per_initial_firm": _rel(a["revenue_per_initial_firm"], b["revenue_per_initial_firm"]),
            "survival_effect_60m": _pp(a["survival_60m"], b["survival_60m"]),
            "survival_effect_120m": _pp(a["survival_120m"], b["survival_120m"]),
            "alliances_formed": a["alliances_formed"],
            "share_allied_mean": a["share_allied_mean"],
            "alliance_end_share_60m": a["alliance_end_share_60m"],
        }
        if a_res.firm_months and b_res.firm_months:
            row.update(counterfactuals.seed_effects(a_res.firm_months, b_res.firm_months))
        else:  # no per-firm records: the within-run gap over each group's own months
            row["naive_gap"] = _rel(a["mean_revenue_allied"], a["mean_revenue_never_allied"])
        rows.append(row)
    return pd.DataFrame(rows)


def _pairs(results: list[ArmResult], on: str, off: str):
    """(seed, on result, off result) for every seed whose two arms both completed, by seed."""
    by_seed: dict[int, dict[str, ArmResult]] = {}
    for r in results:
        if r.error is None:
            by_seed.setdefault(r.seed, {})[r.arm] = r
    for seed, arms in sorted(by_seed.items()):
        if on in arms and off in arms:
            yield seed, arms[on], arms[off]


def per_firm_tables(results: list[ArmResult], sector_names: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The per-firm table (every firm of every seed, on and off) and the effect on the allied by
    subgroup (mean and 95% CI over seeds). Frees the arms' firm-month matrices."""
    firms, groups = [], []
    for seed, a_res, b_res in _pairs(results, "alliances", "no_alliances"):
        if not (a_res.firm_months and b_res.firm_months):
            continue
        firms.append(counterfactuals.firm_outcomes(a_res.firm_months, b_res.firm_months, seed))
        groups += [{"seed": seed, **g} for g in counterfactuals.subgroup_effects(a_res.firm_months,
                                                                                 b_res.firm_months, sector_names)]
        a_res.firm_months, b_res.firm_months = {}, {}
    if not firms:
        return pd.DataFrame(), pd.DataFrame()
    by_seed = pd.DataFrame(groups)
    rows = []
    for (dim, label), d in by_seed.groupby(["dimension", "group"], sort=False):
        m, lo, hi = mean_ci(d["effect_on_allied"])
        rows.append({"dimension": dim, "group": label, "firm_months": int(d["firm_months"].sum()),
                     "n_seeds": int(d["effect_on_allied"].notna().sum()), "mean": m, "lo": lo, "hi": hi})
    return pd.concat(firms, ignore_index=True), pd.DataFrame(rows)


#: estimate -> (label, the per-seed columns of the two arms' levels it compares, or None)
ESTIMATES = {
    "uplift_revenue": ("average effect: revenue per living firm, alliances on vs off (share)",
                       ("mean_monthly_revenue_on", "mean_monthly_revenue_off")),
    "uplift_revenue_per_initial_firm": ("average effect per initial firm, dead = 0 (share)",
                                        ("revenue_per_initial_firm_on", "revenue_per_initial_firm_off")),
    "effect_on_allied": ("effect on the allied: their allied months vs the same months without alliances (share)",
                         ("revenue_allied_on", "revenue_allied_off")),
    "effect_on_allied_with_exit": ("effect on the allied, counting months after an exit in the off world as zero "
                                   "(share)", None),
    "naive_gap": ("naive gap: allied vs never-allied firms, same months, one world (share)", None),
    "selection_bias": ("selection bias: naive gap - effect on the allied (share)", None),
    "spillover_never_allied": ("spillover on firms that never allied: their revenue on vs off (share)", None),
    "net_effect_market": ("net effect on the market: all firms' revenue on vs off, exits as zero (share)", None),
    "survival_effect_60m": ("average survival effect at 60 months (pp)", ("survival_60m_on", "survival_60m_off")),
    "survival_effect_120m": ("average survival effect at 120 months (pp)",
                             ("survival_120m_on", "survival_120m_off")),
    "survival_effect_allied_60m": ("survival effect on firms that ever allied, 60 months (pp)",
                                   ("survival_60m_allied_on", "survival_60m_allied_off")),
    "survival_effect_allied_120m": ("survival effect on firms that ever allied, 120 months (pp)",
                                    ("survival_120m_allied_on", "survival_120m_allied_off")),
}


def estimates(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% CI over seeds of each paired effect, its paired standard error and, where the
    effect compares two levels, the correlation of the two arms across seeds (what pairing buys)."""
    rows = []
    for key, (label, levels) in ESTIMATES.items():
        values = table[key].astype(float) if key in table else pd.Series(dtype=float)
        m, lo, hi = mean_ci(values)
        ok = values.dropna()
        se = float(ok.std(ddof=1) / np.sqrt(len(ok))) if len(ok) > 1 else float("nan")
        corr = float("nan")
        if levels and all(c in table for c in levels) and len(table) > 2:
            x, y = table[levels[0]].astype(float), table[levels[1]].astype(float)
            if x.std() > 0 and y.std() > 0:
                corr = float(np.corrcoef(x, y)[0, 1])
        rows.append({"metric": key, "label": label, "mean": m, "lo": lo, "hi": hi, "se_paired": se,
                     "corr_arms": corr, "n_seeds": int(len(ok))})
    return pd.DataFrame(rows)


def seed_lifetimes(results: list[ArmResult], arm: str, initial: bool | None = True,
                   ever_allied: bool | None = None) -> dict[int, pd.DataFrame]:
    """Per seed, the lifetimes of one arm's firms (the initial population, or entrants when
    ``initial`` is False, or all when None), optionally only firms that ever or never allied."""
    out = {}
    for r in results:
        if r.arm != arm or r.error is not None:
            continue
        life = pd.DataFrame(r.lifetimes)
        if initial is not None:
            life = life[life["initial"] == initial]
        if ever_allied is not None:
            life = life[life["ever_allied"] == ever_allied]
        out[r.seed] = life
    return out


def revenue_paths(results: list[ArmResult], column: str) -> pd.DataFrame:
    """Mean over seeds of a monthly series, per arm, with 95% band."""
    out = []
    for arm, label in ARM_LABELS.items():
        runs = [r.series[column] for r in results if r.arm == arm and r.error is None]
        if not runs:
            continue
        x = np.vstack(runs)
        mean = x.mean(axis=0)
        half = stats.t.ppf(0.975, max(len(runs) - 1, 1)) * x.std(axis=0, ddof=1) / np.sqrt(len(runs)) \
            if len(runs) > 1 else np.zeros_like(mean)
        month = next(r.series["month"] for r in results if r.arm == arm and r.error is None)
        out.append(pd.DataFrame({"group": label, "month": month, "mean": mean, "lo": mean - half,
                                 "hi": mean + half}))
    return pd.concat(out, ignore_index=True)


def write_figures(folder: Path, results: list[ArmResult], months: int, subgroups: pd.DataFrame) -> dict[str, str]:
    """Survival curves (delayed entry for a stock), hazard, revenue paths and who benefits, under
    ``figures/``; curve bands come from a bootstrap over seeds."""
    figs = folder / "figures"
    km_worlds = pd.concat([survival.survival_curve(seed_lifetimes(results, arm), ARM_LABELS[arm], months)
                           for arm in ARMS], ignore_index=True)
    km_allied = pd.concat([
        survival.survival_curve(seed_lifetimes(results, "alliances", ever_allied=True), "ever allied", months),
        survival.survival_curve(seed_lifetimes(results, "alliances", ever_allied=False), "never allied", months)],
        ignore_index=True)
    hz = pd.concat([survival.hazard_by_age(seed_lifetimes(results, arm, initial=None), label, months)
                    for arm, label in ARM_LABELS.items()], ignore_index=True)
    out = {
        "km_worlds": plots.survival_curves(km_worlds, figs / "survival_worlds.png",
                                           "Initial population survival: same world with and without alliances"),
        "km_allied": plots.survival_curves(km_allied, figs / "survival_allied_vs_never.png",
                                           "Within the alliances world: ever vs never allied"),
        "hazard": plots.hazard_by_age(hz, figs / "hazard_by_age.png"),
        "revenue": plots.paths_with_band(revenue_paths(results, "mean_revenue"), figs / "revenue_paths.png",
                                         "mean monthly revenue per living firm (MXN)",
                                         "Revenue per living firm, mean over seeds (95% band)"),
    }
    if len(subgroups):
        est = subgroups.assign(label=subgroups["dimension"] + ": " + subgroups["group"]).dropna(subset=["mean"])
        out["who_benefits"] = plots.estimates_with_ci(est, figs / "effect_on_allied_by_group.png",
                                                      "Effect on the allied by group (95% CI over seeds)",
                                                      "revenue effect on the allied (share)")
    for name, df in (("km_worlds", km_worlds), ("km_allied", km_allied), ("hazard_by_age", hz)):
        atomic_write(folder / f"{name}.parquet", lambda p, df=df: df.to_parquet(p, index=False))
    return {k: str(v.relative_to(folder)) for k, v in out.items()}


def _fmt(row: pd.Series, pct: bool) -> str:
    scale, unit = (100.0, "%") if pct else (1.0, " pp")
    if not np.isfinite(row["mean"]):
        return "not defined (the horizon is too short for this measure, or no run completed)"
    if not (np.isfinite(row["lo"]) and np.isfinite(row["hi"])):
        return f"{scale * row['mean']:+.2f}{unit} (no confidence interval: it needs at least two seeds)"
    return f"{scale * row['mean']:+.2f}{unit} (95% CI {scale * row['lo']:+.2f} to {scale * row['hi']:+.2f})"


def write_report(folder: Path, cfg: Any, est: pd.DataFrame, table: pd.DataFrame, figs: dict,
                 failed: list[str], subgroups: pd.DataFrame) -> Path:
    """``report.md``: the numbers, the figures and how to read them."""
    e = est.set_index("metric")
    lines = [
        "# Causal uplift of alliances",
        "",
        f"Paired replications: {len(table)} seeds ({int(cfg.seed)} to {int(cfg.seed) + cfg.experiment.n_seeds - 1}), "
        f"{cfg.firms.n_firms} initial firms, {cfg.months} months; each seed run with and without alliances "
        "on common random numbers keyed by firm and month. Means over seeds with 95% Student-t confidence "
        "intervals; the paired standard error and the correlation of the two arms across seeds show what "
        "pairing buys (an unpaired design's variance would be larger by about 1 / (1 - correlation)).",
        "",
        "| estimate | value | paired SE | arms' correlation |",
        "|---|---|---|---|",
    ]
    for key, (label, _) in ESTIMATES.items():
        row = e.loc[key]
        pct = "survival" not in key
        se = f"{(100.0 if pct else 1.0) * row['se_paired']:.2f}{'%' if pct else ' pp'}" \
            if np.isfinite(row["se_paired"]) else "-"
        corr = f"{row['corr_arms']:.3f}" if np.isfinite(row["corr_arms"]) else "-"
        lines.append(f"| {label} | {_fmt(row, pct=pct)} | {se} | {corr} |")
    lines += [
        "",
        f"Alliances formed per run: {table['alliances_formed'].mean():.0f}; mean share of living firms allied: "
        f"{100 * table['share_allied_mean'].mean():.1f}%; share of alliances ending within 60 months: "
        f"{100 * table['alliance_end_share_60m'].mean():.1f}%.",
        "",
    ]
    if len(subgroups):
        show = subgroups.assign(effect=[_fmt(r, pct=True) for _, r in subgroups.iterrows()])
        lines += ["## Who benefits: effect on the allied by group", "",
                  show[["dimension", "group", "firm_months", "effect"]].to_markdown(index=False), "",
                  "Size class and sector are the firm's at founding; capability terciles are of founding "
                  "capability within each seed; alliance type is the type of the alliance in each allied month. "
                  "The per-firm table is `firm_outcomes.parquet`.", ""]
    lines += [
        "## How to read this",
        "",
        "The average effect compares the same world with and without the alliance process, seed by seed: "
        "demand, firm shocks, entrants and every firm's own draws are identical in both arms, so the "
        "difference is what alliances do, averaged over all living firms, allied or not. "
        "The effect on the allied follows each firm that allied into the world without alliances: its "
        "revenue in the months it spent in an alliance against its own revenue in the same months there "
        "(months in which it is alive in both worlds; the variant counting exits gives zero revenue to "
        "off-world months after the firm closed). "
        "The naive gap is what a survey such as 001's would measure: allied firm-months against firms that "
        "never allied, inside one world and over the same calendar months. It mixes the effect of allying "
        "with who allies (older, healthier, better-resourced firms that survived long enough to ally). "
        "Selection bias is naive gap minus the effect on the allied; when its interval excludes zero, a "
        "cross-sectional comparison overstates (or understates) what alliances do for the firms that ally. "
        "The spillover is the effect on firms that never allied: with shared local markets "
        "(market.competition_intensity > 0) allied rivals that cut prices or innovate take customers from "
        "them, so it is negative (displacement); with market.competition_intensity=0 it is zero by "
        "construction. The net effect on the market adds every firm's revenue in both worlds (months after an "
        "exit count as zero): what the allied gain less what the others lose. The ever-allied survival curve "
        "shares the selection bias (immortal time: "
        "firms must live to the minimum search age to ally), so compare worlds, not groups, for causal "
        "statements. Curve bands resample whole seeds (firms of one seed share demand shocks); a mixed-age "
        "stock's curves use delayed entry.",
        "",
        "## Figures",
        "",
    ]
    lines += [f"![{k}]({v})" for k, v in figs.items()]
    if failed:
        lines += ["", "## Failed runs", "", *[f"- {f}" for f in failed]]
    text = "\n".join(lines) + "\n"
    return atomic_write(folder / "report.md", lambda p: p.write_text(text))


def run(cfg: Any, out_dir: Path) -> dict:
    """Run the paired uplift experiment and write its run folder; return the summary."""
    folder = RunFolder(out_dir, cfg, seed=cfg.seed, kind="uplift")

    def work() -> tuple[dict, list]:
        ex = cfg.experiment
        results = run_jobs(paired_jobs(cfg, ARMS, ex.n_seeds), ex.workers, ex.progress, "uplift runs",
                           store=folder.replications)
        failed = [f"seed {r.seed} ({r.arm}): {r.error.splitlines()[0]}" for r in results if r.error]
        table = paired_table(results)
        if table.empty:
            raise RuntimeError("every replication failed: " + "; ".join(failed))
        folder.table("replications", table)
        firms, subgroups = per_firm_tables(results, list(cfg.firms.sector_names))
        if len(firms):
            folder.table("firm_outcomes", firms)
            folder.table("effect_by_group", subgroups)
        est = estimates(table)
        folder.table("estimates", est)
        figs = write_figures(folder.path, results, int(cfg.months), subgroups)
        write_report(folder.path, cfg, est, table, figs, failed, subgroups)
        e = est.set_index("metric")
        return {
            "n_seeds": int(len(table)),
            "failed_runs": failed,
            **{k: float(e.loc[k, "mean"]) for k in ESTIMATES},
            **{f"{k}_ci": [float(e.loc[k, "lo"]), float(e.loc[k, "hi"])] for k in ESTIMATES},
            **{f"{k}_se_paired": float(e.loc[k, "se_paired"]) for k in ESTIMATES},
            **{f"{k}_corr_arms": float(e.loc[k, "corr_arms"]) for k in ESTIMATES},
            "alliances_formed_mean": float(table["alliances_formed"].mean()),
            "alliance_end_share_60m_mean": float(table["alliance_end_share_60m"].mean()),
        }, failed

    return folder.complete(work)
