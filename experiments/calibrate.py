"""Calibration: fit declared free parameters to the calibration targets with Optuna, resumably.

Free parameters and their ranges are uncertainties of ``configs/exploratory/``
(``experiment.free_parameters``, or those marked ``calibrate: true``); the targets
are those of ``configs/targets/`` with role ``calibration`` (or
``experiment.targets``). Each candidate runs every target's conditions on the
same seed list (``seed .. seed + n_seeds - 1``), so candidates are compared on
common random numbers and differences between them are not seed noise.

Loss: the sum over targets of the squared distance of the mean over seeds to the
literature value, in half-band widths, ``sum_k ((m_k - v_k) / h_k)^2`` with
``h_k = (hi_k - lo_k) / 2``: a target at the edge of its band costs 1. A target
with only a band costs nothing inside it and the squared distance to the nearest
bound outside (``experiments.targets.loss``). One number keeps the study
single-objective, so "best" is defined; the fit of each target is reported.

The study (Optuna's TPE sampler, seeded by ``seed``) lives in ``study.db``
(SQLite) in the run folder. ``experiment.resume=<run folder>`` continues a copy of
that folder's study in this run's own folder (the earlier folder is never written
to): ``experiment.n_trials`` counts the trials of every session, and a
trial left running by an interrupted session is marked failed and queued again
with the same parameters.

Outputs: ``best_params.json``, ``trials.parquet``, ``fit.parquet`` (every target
at the best trial), ``calibration.md``, figures (optimisation history, each
parameter against the loss); ``experiment.write_config=<name>`` writes
``configs/calibrated/<name>.yaml`` (``calibrated=<name>`` on any command, for
example ``experiment=validate``). ``experiment.robustness_experiment=uplift`` (or
``policy_compare``) reruns that experiment at the best ``top_k`` trials and says
whether its conclusion (the sign of the uplift, the ranking of instruments)
holds across them.

Run: ``python -m experiments.run experiment=calibrate``.
"""

from __future__ import annotations

import json
from dataclasses import replace
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import OmegaConf

from experiments import exploratory, plots
from experiments.compare import run_jobs, with_overrides
from experiments.exploratory import Factor
from experiments.registry import EXPERIMENTS
from experiments.targets import Target, load_targets, loss, measure_run, target_jobs
from experiments.validate import RULE, fit_table, report_table, seed_list
from sim.config import CONFIG_DIR
from sim.io import RunFolder, atomic_write, write_json
from sim.params import ConfigError

try:
    import optuna
except ImportError:  # optuna comes with the dev extra
    optuna = None

CALIBRATED_DIR = CONFIG_DIR / "calibrated"
STUDY_NAME = "calibration"
#: Trials asked at once; their runs share one pool of workers.
TRIALS_PER_BATCH = 4


def total_loss(targets: list[Target], fit: pd.DataFrame) -> float:
    """The calibration loss of one candidate (see the module docstring)."""
    means = fit.set_index("target")["model"]
    return float(sum(loss(t, float(means[t.name])) for t in targets))


def fit_of(results: list, targets: list[Target]) -> tuple[float, pd.DataFrame]:
    """Loss and fit table of one candidate from its runs."""
    fit, _ = fit_table(results, targets)
    return total_loss(targets, fit), fit


def suggest(trial: optuna.Trial, f: Factor) -> float | int:
    """A trial's value of one free parameter, in its declared range."""
    if f.integer:
        return trial.suggest_int(f.name, int(f.lo), int(f.hi))
    return trial.suggest_float(f.name, f.lo, f.hi)


def configured_point(cfg: Any, free: list[Factor]) -> dict | None:
    """The configured values of the free parameters (the defaults, unless overridden), if all are in range."""
    point = {f.name: f.value(exploratory.configured(cfg, f.name)) for f in free}
    return point if all(f.lo <= point[f.name] <= f.hi for f in free) else None


def open_study(folder: Path, seed: int, free: list[Factor], targets: list[Target], resume: bool,
               start: dict | None = None) -> optuna.Study:
    """Create or load the study in ``folder/study.db``; on resume, check it fits the same problem.

    A new study's first trial is ``start`` (the configured values), so the calibration is
    measured against the point it would replace.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = f"sqlite:///{folder / 'study.db'}"
    study = optuna.create_study(study_name=STUDY_NAME, storage=storage, load_if_exists=resume, direction="minimize",
                                sampler=optuna.samplers.TPESampler(seed=seed))
    problem = {"free_parameters": [f.name for f in free], "targets": [t.name for t in targets]}
    stored = {k: study.user_attrs.get(k) for k in problem}
    if resume and stored != problem:
        raise ConfigError(f"experiment.resume: the study in {folder} fits {stored}, not {problem}; resume with "
                          "the same free parameters and targets")
    if not resume and start is not None:
        study.enqueue_trial(start)
    for key, value in problem.items():
        study.set_user_attr(key, value)
    for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        # Left running by an interrupted session: fail it and try the same parameters again.
        study.tell(t.number, state=optuna.trial.TrialState.FAIL)
        study.enqueue_trial(t.params)
    return study


def complete_trials(study: optuna.Study) -> list[optuna.trial.FrozenTrial]:
    """Finished trials, best (lowest loss) first."""
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return sorted(done, key=lambda t: t.value)


def optimise(cfg: Any, study: optuna.Study, free: list[Factor], targets: list[Target]) -> None:
    """Run trials until the study holds ``experiment.n_trials`` finished ones.

    Trials are asked in batches of ``TRIALS_PER_BATCH``, and the runs of a whole batch go to
    one pool of worker processes, so starting workers costs once per batch, not per trial.
    """
    from tqdm.auto import tqdm

    ex = cfg.experiment
    remaining = ex.n_trials - len(complete_trials(study))
    bar = tqdm(total=max(remaining, 0), desc="calibration trials", unit="trial", disable=not ex.progress)
    seeds = seed_list(cfg)
    while remaining > 0:
        batch = [study.ask() for _ in range(min(TRIALS_PER_BATCH, remaining))]
        points = [{f.name: suggest(trial, f) for f in free} for trial in batch]
        jobs = [(f"{k}|{arm}", c) for k, point in enumerate(points)
                for arm, c in target_jobs(exploratory.apply(cfg, point, free), targets, seeds)]
        results = run_jobs(jobs, ex.workers, progress=False, runner=measure_run)
        for k, trial in enumerate(batch):
            mine = [replace(r, arm=r.arm.split("|", 1)[1]) for r in results if r.arm.startswith(f"{k}|")]
            errors = [r.error.splitlines()[0] for r in mine if r.error]
            if len(errors) == len(mine):  # every run of the candidate crashed: a failed trial, not a bad fit
                trial.set_user_attr("error", errors[0] if errors else "no run")
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                continue
            value, fit = fit_of(mine, targets)
            trial.set_user_attr("fit", json.loads(fit.to_json(orient="records")))
            # A candidate with an undefined target is very bad, not an error.
            study.tell(trial, value if np.isfinite(value) else 1e12)
        remaining -= len(batch)
        bar.update(len(batch))
        if complete_trials(study):
            bar.set_postfix(best_loss=f"{study.best_value:.4g}")
    bar.close()


def calibrated_yaml(params: dict, source: str) -> str:
    """An override-group file (``# @package _global_``) setting ``params`` (dotted paths)."""
    nested: dict = {}
    for path, value in params.items():
        node = nested
        *parents, leaf = path.split(".")
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = value
    return ("# @package _global_\n" + "".join(f"# {line}\n" for line in source.splitlines())
            + OmegaConf.to_yaml(OmegaConf.create(nested)))


def write_calibrated(name: str, params: dict, source: str, folder: Path = CALIBRATED_DIR) -> Path:
    """Write ``configs/calibrated/<name>.yaml``, usable as ``calibrated=<name>``."""
    if not name.replace("_", "").replace("-", "").isalnum():
        raise ConfigError(f"experiment.write_config={name!r} is not allowed; expected letters, digits, _ or -")
    return atomic_write(Path(folder) / f"{name}.yaml", lambda p: p.write_text(calibrated_yaml(params, source)))


def conclusion(kind: str, summary: dict) -> str:
    """The headline conclusion of one robustness rerun, as a comparable label."""
    if kind == "uplift":
        lo, hi = summary["uplift_revenue_ci"]
        sign = "positive" if lo is not None and lo > 0 else "negative" if hi is not None and hi < 0 else \
            "not significant"
        return f"uplift {sign}"
    inst = summary["instruments"]
    gain = {k: v["extra_firm_years"] if v["extra_firm_years"] is not None else -np.inf for k, v in inst.items()}
    return " > ".join(sorted(gain, key=lambda k: -gain[k]))


def robustness(cfg: Any, folder: Path, study: optuna.Study, free: list[Factor]) -> pd.DataFrame:
    """Rerun the chosen experiment at the best ``top_k`` trials; one row per trial with its conclusion."""
    ex = cfg.experiment
    kind = ex.robustness_experiment
    rows = []
    for t in complete_trials(study)[: ex.top_k]:
        sub = with_overrides(exploratory.apply(cfg, t.params, free), **{
            "experiment.kind": kind, "experiment.name": kind, "experiment.n_seeds": ex.robustness_seeds})
        summary = EXPERIMENTS[kind](sub, folder / "robustness" / f"trial_{t.number}")
        row = {"trial": t.number, "loss": t.value, "conclusion": conclusion(kind, summary)}
        if kind == "uplift":
            row.update(uplift_revenue=summary["uplift_revenue"], uplift_revenue_lo=summary["uplift_revenue_ci"][0],
                       uplift_revenue_hi=summary["uplift_revenue_ci"][1],
                       survival_effect_60m=summary["survival_effect_60m"])
        rows.append(row)
    return pd.DataFrame(rows)


def write_report(folder: Path, cfg: Any, study: optuna.Study, free: list[Factor], targets: list[Target],
                 fit: pd.DataFrame, robust: pd.DataFrame | None, figs: dict, written: Path | None) -> Path:
    """``calibration.md``: the best parameters, the fit of every target, the study and its robustness."""
    trials = complete_trials(study)
    best = trials[0]
    seeds = seed_list(cfg)
    trials_by_number = {t.number: t for t in trials}
    start_is_0 = 0 in trials_by_number and trials_by_number[0].params == configured_point(cfg, free)
    lines = ["# Calibration", "",
             f"{len(trials)} finished trials (Optuna TPE, study `{folder / 'study.db'}`); each candidate ran "
             f"seeds {seeds[0]} to {seeds[-1]} ({len(seeds)} replications, the same for every candidate), "
             f"{cfg.firms.n_firms} initial firms. Loss: sum over targets of ((model - value) / half band)^2.", "",
             f"Best trial {best.number}, loss {best.value:.4g}"
             + (f"; trial 0 is the configured point, loss {trials_by_number[0].value:.4g}." if start_is_0 else "."),
             "",
             "| free parameter | range | best |", "|---|---|---|",
             *[f"| `{f.name}` | [{f.lo:g}, {f.hi:g}] | {best.params[f.name]:.4g} |" for f in free], "",
             "## Fit of every target at the best trial", "", report_table(fit), "", RULE, ""]
    if written is not None:
        lines += [f"Written as `{written}`: check it with "
                  f"`python -m experiments.run experiment=validate calibrated={written.stem}`.", ""]
    if robust is not None and len(robust):
        holds = robust["conclusion"].nunique() == 1
        lines += [f"## Does the conclusion hold across the best {len(robust)} trials?", "",
                  f"`{cfg.experiment.robustness_experiment}` rerun at each ({cfg.experiment.robustness_seeds} seeds): "
                  + ("**yes**, every trial gives the same conclusion." if holds else
                     "**no**, the conclusion changes between parameter sets that fit about equally well."), "",
                  robust.to_markdown(index=False, floatfmt=".4g"), ""]
    lines += ["## Figures", "", *[f"![{k}]({v})" for k, v in figs.items()]]
    return atomic_write(folder / "calibration.md", lambda p: p.write_text("\n".join(lines) + "\n"))


def resumed_study(cfg: Any) -> Path | None:
    """The ``study.db`` of the run folder ``experiment.resume`` names (None for a new study)."""
    resume = cfg.experiment.resume
    if not resume:
        return None
    source = Path(resume) / "study.db"
    if not source.is_file():
        raise ConfigError(f"experiment.resume={resume!r} has no study.db; expected the run folder of an earlier "
                          "experiment=calibrate")
    return source


def run(cfg: Any, out_dir: Path) -> dict:
    """Run (or resume) the calibration and write its run folder; return the summary."""
    if optuna is None:
        raise ConfigError("experiment=calibrate needs optuna; install the dev extra: pip install -e '.[dev]'")
    ex = cfg.experiment
    targets = load_targets(ex.targets, role="calibration")
    free = exploratory.load(ex.exploratory).free_parameters(ex.free_parameters)
    source = resumed_study(cfg)
    path, resume = Path(out_dir), source is not None
    folder = RunFolder(path, cfg, seed=cfg.seed, kind="calibrate")
    if source is not None:  # continue a copy: the earlier run folder is never written to
        shutil.copy2(source, path / "study.db")

    def work() -> tuple[dict, list]:
        study = open_study(path, int(cfg.seed), free, targets, resume, configured_point(cfg, free))
        optimise(cfg, study, free, targets)
        trials = complete_trials(study)
        if not trials:
            raise RuntimeError("no trial finished")
        best = trials[0]
        fit = pd.DataFrame(best.user_attrs["fit"])
        numeric = ["model", "ci_lo", "ci_hi", "value", "band_lo", "band_hi", "z"]
        fit[numeric] = fit[numeric].apply(pd.to_numeric, errors="coerce")  # JSON stored undefined numbers as null
        folder.table("fit", fit)
        folder.table("trials", study.trials_dataframe(attrs=("number", "value", "params", "state")))
        write_json(path / "best_params.json", {"trial": best.number, "loss": best.value, "params": best.params})
        written = None
        if ex.write_config:
            written = write_calibrated(ex.write_config, best.params,
                                       f"Written by experiment=calibrate, run folder {path}, trial {best.number}, "
                                       f"loss {best.value:.4g}.\nCheck: python -m experiments.run "
                                       f"experiment=validate calibrated={ex.write_config}")
        in_order = sorted(trials, key=lambda t: t.number)
        figs = {"history": plots.optimisation_history([t.number for t in in_order], [t.value for t in in_order],
                                                      path / "figures" / "optimisation_history.png"),
                "parameters": plots.parameters_vs_loss(
                    pd.DataFrame([{**t.params, "loss": t.value} for t in trials]), [f.name for f in free],
                    path / "figures" / "parameters_vs_loss.png")}
        figs = {k: str(v.relative_to(path)) for k, v in figs.items()}
        robust = robustness(cfg, path, study, free) if ex.robustness_experiment != "none" else None
        if robust is not None:
            folder.table("robustness", robust)
        write_report(path, cfg, study, free, targets, fit, robust, figs, written)
        summary = {"n_trials": len(trials), "best_trial": best.number, "best_loss": best.value,
                   "best_params": best.params, "calibrated_config": str(written) if written else None,
                   "fit": {r["target"]: {k: r.get(k) for k in ("model", "ci_lo", "ci_hi", "passes", "verdict")}
                           for r in fit.to_dict("records")},
                   "failed_runs": []}
        if robust is not None:
            summary["robustness"] = {"conclusions": robust["conclusion"].tolist(),
                                     "holds": bool(robust["conclusion"].nunique() == 1)}
        return summary, []

    return folder.complete(work)
