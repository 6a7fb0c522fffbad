"""The validation report: how the configured world matches every stylized fact of ``configs/targets/``.

Each target names the run conditions that measure it (a founding cohort over 120
months, a mixed-age stock through a crisis, a cohort followed for 50 years);
targets with equal conditions share runs. Every run is repeated on the fixed
seed list ``seed .. seed + n_seeds - 1``. The verdict is read from the 95%
interval of the mean over seeds (``experiments.targets.interval``: on the logit
scale for shares, so it stays inside [0, 1], on the log scale for durations and
ratios): ``pass`` when the whole interval lies inside the band, ``FAIL`` when it
lies wholly outside, ``inconclusive`` when it straddles a bound (more seeds or
firms narrow it). ``validation.md`` states FAIL where the model misses, whatever
the role of the target.

Run: ``python -m experiments.run experiment=validate`` (add ``calibrated=<name>``
to check a calibrated parameter set, ``experiment.targets=[survival_12m]`` for a
subset).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from experiments import plots, survival
from experiments.compare import run_jobs
from experiments.targets import (
    CIF_MONTHS,
    RELATIONAL_CAUSES,
    Target,
    fit_row,
    load_targets,
    measure_run,
    per_seed_values,
    target_jobs,
)
from experiments.uplift import seed_lifetimes
from sim.alliance_table import END_CAUSES
from sim.io import RunFolder, atomic_write


def seed_list(cfg: Any) -> list[int]:
    """The replication seeds ``seed .. seed + n_seeds - 1``."""
    return [int(cfg.seed) + k for k in range(cfg.experiment.n_seeds)]


def fit_table(results: list, targets: list[Target]) -> tuple[pd.DataFrame, dict[str, list[float]]]:
    """One row per target (model mean, 95% CI, band, pass) and the per-seed values behind it."""
    values = per_seed_values(results, targets)
    return pd.DataFrame([fit_row(t, values[t.name]) for t in targets]), values


def mean_band(curves: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over rows (seeds) of equal-length curves, with a 95% Student-t band."""
    mean = curves.mean(axis=0)
    if len(curves) < 2:
        return mean, mean, mean
    half = stats.t.ppf(0.975, len(curves) - 1) * curves.std(axis=0, ddof=1) / np.sqrt(len(curves))
    return mean, mean - half, mean + half


def _runs_of(results: list, target: Target) -> list:
    return [r for r in results if r.arm == target.run_key() and r.error is None]


def survival_figures(folder: Path, results: list, targets: list[Target]) -> dict[str, str]:
    """The cohort's survival curve against the INEGI points, and the exit hazard by age."""
    cohort = next((t for t in targets if t.statistic.startswith("survival_")), None)
    out = {}
    if cohort is not None and _runs_of(results, cohort):
        runs = _runs_of(results, cohort)
        n = min(len(r.series["month"]) for r in runs)
        curves = np.vstack([np.concatenate([[1.0], r.series["cohort_survival"][:n]]) for r in runs])
        mean, lo, hi = mean_band(curves)
        km = pd.DataFrame({"group": f"model, mean of {len(runs)} seeds (95% band)",
                           "month": np.arange(n + 1), "survival": mean, "lo": lo, "hi": hi})
        out["survival"] = plots.survival_curves(km, folder / "figures" / "survival.png",
                                                "Founding cohort survival against INEGI")
        hz = survival.hazard_by_age(seed_lifetimes(runs, cohort.run_key(), initial=None), "model", n)
        out["hazard"] = plots.hazard_by_age(hz, folder / "figures" / "hazard_by_age.png")
    return out


def alliance_figure(folder: Path, results: list, targets: list[Target]) -> dict[str, str]:
    """Cumulative incidence of alliance ends by cause, with the relational-failure band at 60 months."""
    target = next((t for t in targets if t.statistic == "alliance_relational_failure_60m"), None)
    if target is None:
        return {}
    runs = [r for r in _runs_of(results, target) if "cif_low_benefit" in r.series]
    if not runs:
        return {}
    parts = []
    relational = np.vstack([sum(r.series[f"cif_{c}"] for c in RELATIONAL_CAUSES) for r in runs])
    for name, curves in [("relational and performance (sum)", relational),
                         *[(c, np.vstack([r.series[f"cif_{c}"] for r in runs])) for c in END_CAUSES]]:
        mean, lo, hi = mean_band(curves)
        parts.append(pd.DataFrame({"group": name, "month": np.arange(CIF_MONTHS + 1), "mean": mean,
                                   "lo": lo, "hi": hi}))
    path = plots.cumulative_incidence(pd.concat(parts, ignore_index=True), folder / "figures" / "alliances.png",
                                      f"Alliance ends by cause (Aalen-Johansen, {len(runs)} seeds)",
                                      band=target.band, at=CIF_MONTHS, band_label="relational and performance")
    return {"alliances": path}


def alliance_ends(results: list, targets: list[Target]) -> dict[str, list[float]]:
    """Cumulative incidence at 60 months of relational and performance ends, of partner exit (the
    competing risk) and of every cause: name -> [mean, lo, hi] over seeds (95% Student-t)."""
    target = next((t for t in targets if t.statistic == "alliance_relational_failure_60m"), None)
    runs = [r for r in _runs_of(results, target) if "cif_low_benefit" in r.series] if target else []
    if not runs:
        return {}
    at = {c: np.array([r.series[f"cif_{c}"][CIF_MONTHS] for r in runs]) for c in END_CAUSES}
    groups = {"relational and performance causes": sum(at[c] for c in RELATIONAL_CAUSES),
              "partner exit (competing risk)": at["partner_exit"], "every cause": sum(at.values())}
    out = {}
    for name, v in groups.items():
        mean, lo, hi = mean_band(v[:, None])
        out[name] = [float(mean[0]), float(lo[0]), float(hi[0])]
    return out


def alliance_end_lines(ends: dict[str, list[float]], n_seeds: int) -> list[str]:
    """Report lines of ``alliance_ends``."""
    if not ends:
        return []
    lines = ["## Alliance ends within 60 months of forming", "",
             f"Cumulative incidence (Aalen-Johansen) at 60 months of implementation, over {n_seeds} seeds "
             "(alliances whose talks broke down never formed and are not counted).", "",
             "| ends | share (95% CI) |", "|---|---|"]
    lines += [f"| {name} | {m:.3f} ({lo:.3f} to {hi:.3f}) |" for name, (m, lo, hi) in ends.items()]
    return lines + [""]


def family_figures(folder: Path, fit: pd.DataFrame, values: dict) -> dict[str, str]:
    """Per family, each target's per-seed values, mean and CI against its band."""
    out = {}
    for family, rows in fit.groupby("family", sort=False):
        out[f"fit_{family}"] = plots.target_fit(rows, values, folder / "figures" / f"fit_{family}.png",
                                                f"{family}: model against the targets")
    return out


def _num(x: float) -> str:
    return f"{x:.3g}" if np.isfinite(x) else "undefined"


VERDICT_TEXT = {"pass": "pass", "FAIL": "**FAIL**", "inconclusive": "inconclusive"}

#: The verdict rule, as the reports state it.
RULE = ("A target passes when its whole 95% interval lies inside its band and fails when the whole interval lies "
        "outside it; an interval that straddles a bound is inconclusive (more seeds or firms narrow it). The "
        "interval is over seeds (the model's run-to-run variation, not parameter uncertainty), built on the logit "
        "scale for shares and probabilities (so it stays inside [0, 1]) and on the log scale for durations and "
        "ratios.")


def verdict_counts(fit: pd.DataFrame) -> dict[str, int]:
    """How many targets pass, fail and are inconclusive."""
    verdicts = fit["verdict"].tolist() if "verdict" in fit else ["pass" if p else "FAIL" for p in fit["passes"]]
    return {v: verdicts.count(v) for v in ("pass", "FAIL", "inconclusive")}


def report_table(fit: pd.DataFrame) -> str:
    """The markdown table of the report: target, role, model value with 95% CI, band, verdict."""
    rows = ["| target | role | model (95% CI) | literature | band | verdict |", "|---|---|---|---|---|---|"]
    for r in fit.itertuples():
        ci = f" ({_num(r.ci_lo)} to {_num(r.ci_hi)})" if np.isfinite(r.ci_lo) else ""
        value = _num(r.value) if np.isfinite(r.value) else "-"
        rows.append(f"| `{r.target}` | {r.role} | {_num(r.model)}{ci} | {value}"
                    f" | {r.band} | {VERDICT_TEXT[getattr(r, 'verdict', 'pass' if r.passes else 'FAIL')]} |")
    return "\n".join(rows)


def write_report(folder: Path, cfg: Any, targets: list[Target], fit: pd.DataFrame, figs: dict,
                 failed: list[str], extra: list[str] = ()) -> Path:
    """``validation.md``: the verdicts, how each target is measured, its source, and the figures."""
    seeds = seed_list(cfg)
    n = verdict_counts(fit)
    lines = ["# Validation report", "",
             f"{len(targets)} targets: {n['pass']} pass, {n['FAIL']} fail, {n['inconclusive']} inconclusive. "
             f"Seeds {seeds[0]} to {seeds[-1]} ({len(seeds)} replications), {cfg.firms.n_firms} initial firms; "
             f"each target runs under its own conditions (below) on top of this configuration. {RULE}", "",
             report_table(fit), "",
             "Calibration targets are what `experiment=calibrate` fits by default; validation checks are only "
             "reported. A FAIL is a finding about the model, not a fault of the report.", "",
             *extra, "## How each target is measured", ""]
    for t in targets:
        m, src = t.measure, t.source
        lines += [f"### `{t.name}` ({t.role}, family {t.family})", "",
                  t.description[:1].upper() + t.description[1:] + ".", "",
                  f"- statistic: `{t.statistic}`; population: {m.get('population', '-')}; horizon: "
                  f"{m.get('horizon', '-')}; estimator: {m.get('estimator', '-')}",
                  f"- run conditions: {t.run_key()}",
                  f"- band {t.band_text()}" + (f", literature value {t.value:g}" if t.value is not None else ""),
                  f"- source: {src.get('publisher', '-')}, *{src.get('title', '-')}*, {src.get('year', '-')}; "
                  f"{src.get('table', '-')}", ""]
    lines += ["## Figures", "", *[f"![{k}]({v})" for k, v in figs.items()]]
    if failed:
        lines += ["", "## Failed runs", "", *[f"- {f}" for f in failed]]
    text = "\n".join(lines) + "\n"
    return atomic_write(folder / "validation.md", lambda p: p.write_text(text))


def validate(cfg: Any, targets: list[Target], store=None) -> tuple[pd.DataFrame, dict, list]:
    """Run ``targets`` on the configured world over its seed list; the fit table, per-seed values and runs.

    With a ``store`` (the run folder's ``replications/``) each run is saved as it finishes and a
    resumed validation reruns only what is missing."""
    ex = cfg.experiment
    results = run_jobs(target_jobs(cfg, targets, seed_list(cfg)), ex.workers, ex.progress, "validation runs",
                       runner=measure_run, store=store)
    fit, values = fit_table(results, targets)
    return fit, values, results


def run(cfg: Any, out_dir: Path) -> dict:
    """Run the validation report and write its run folder; return the summary."""
    targets = load_targets(cfg.experiment.targets)
    folder = RunFolder(out_dir, cfg, seed=cfg.seed, kind="validate")

    def work() -> tuple[dict, list]:
        fit, values, results = validate(cfg, targets, store=folder.replications)
        failed = [f"seed {r.seed} ({r.arm}): {r.error.splitlines()[0]}" for r in results if r.error]
        if len(failed) == len(results):
            raise RuntimeError("every validation run failed: " + "; ".join(failed))
        folder.table("validation", fit)
        folder.table("per_seed", pd.DataFrame([{"target": k, "replication": i, "value": v}
                                               for k, vs in values.items() for i, v in enumerate(vs)]))
        figs = {**survival_figures(folder.path, results, targets), **alliance_figure(folder.path, results, targets),
                **family_figures(folder.path, fit, values)}
        figs = {k: str(Path(v).relative_to(folder.path)) for k, v in figs.items()}
        ends = alliance_ends(results, targets)
        write_report(folder.path, cfg, targets, fit, figs, failed, alliance_end_lines(ends, cfg.experiment.n_seeds))
        return {"n_seeds": cfg.experiment.n_seeds, "failed_runs": failed, "alliance_ends_60m": ends,
                "n_targets": len(fit), "n_pass": verdict_counts(fit)["pass"],
                "n_fail": verdict_counts(fit)["FAIL"], "n_inconclusive": verdict_counts(fit)["inconclusive"],
                "targets": {r["target"]: {k: r[k] for k in ("model", "ci_lo", "ci_hi", "band_lo", "band_hi",
                                                             "passes", "verdict", "role")}
                            for r in fit.to_dict("records")}}, failed

    return folder.complete(work)
