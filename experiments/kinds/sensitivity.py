"""Global sensitivity: which uncertainties drive the conclusions users care about (SALib).

The factors are uncertainties (and, if named, levers) of ``configs/exploratory/``,
each over its declared range. ``experiment.method=morris`` screens them (Morris
elementary effects: mu*, the mean absolute effect, and sigma, its spread, which
signals interactions or non-linearity); ``sobol`` estimates first-order (S1, the
share of an outcome's variance due to the factor alone) and total-order indices
(ST, including all its interactions) from a Saltelli-type design (SALib's Sobol'
sequence sampler, ``N (D + 2)`` points for ``D`` factors). Confidence intervals
(95%) are SALib's bootstrap over the sample points.

Every sample point is a paired replication over ``experiment.n_seeds`` seeds, each
seed run in three arms on common random numbers: alliances on, alliances off, and
alliances on with ``experiment.instrument`` (window and budget of
``policy_compare``). One worker runs all arms of one seed (``run_paired``), the two
worlds with the per-firm recorder, and returns only scalars. Outcomes per point
(``OUTCOMES``), means over its seeds:

- ``uplift_revenue``, ``survival_effect_60m``: the paired effects of the uplift
  experiment (``experiments.kinds.uplift.paired_table``);
- ``effect_on_allied``: revenue of allied firm-months against the same firms'
  same months in the world without alliances (``experiments.replication.counterfactuals``),
  undefined where no firm allied; ``points.parquet`` adds its variant counting
  exits and the survival effect on firms that ever allied;
- ``alliance_relational_failure_60m``: the competing-risks failure share of the
  validation targets, in the alliances arm;
- ``firm_years_per_million``: extra firm-years per MXN 1,000,000 of the
  instrument's public cost against the alliances arm. Its reciprocal, the cost per
  extra firm-year, is what ``policy_compare`` reports; it is undefined where the
  instrument adds no firm-years, which variance-based indices cannot digest, so the
  indices are computed on this scale and the cost is reported per point.

All replications of all points go to one pool of worker processes (every core by
default), with a progress bar; each is saved in the run folder's replication store
as it finishes, so ``resume=<folder>`` reruns only the missing ones. A point whose
outcome is undefined (no alliance formed) takes the outcome's mean over the other
points, and the report counts such points.

Run: ``python -m experiments.run experiment=sensitivity`` (Morris) or
``experiment=sensitivity_sobol``.
"""

from __future__ import annotations

import copy
import functools
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.analysis import plots
from experiments.analysis.targets import measured_summary
from experiments.kinds import Outputs
from experiments.kinds.uplift import ARMS, paired_table
from experiments.replication import exploratory
from experiments.replication.compare import ArmResult, FirmMonths, run_jobs, with_overrides
from experiments.replication.exploratory import Factor
from sim.config import check, load_config
from sim.files import atomic_write
from sim.io import RunFolder
from sim.model import AllianceModel
from sim.params import PolicyConfig
from sim.schema import ConfigError

#: The sensitivity report, the indices and how many points and runs made them.
OUTPUTS = Outputs("sensitivity.md", "indices", ("n_points", "n_runs"))

try:
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample
except ImportError:  # SALib comes with the dev extra
    morris_analyze = sobol_analyze = morris_sample = sobol_sample = None

POLICY_ARM = "instrument"
OUTCOMES = ("uplift_revenue", "effect_on_allied", "survival_effect_60m", "alliance_relational_failure_60m",
            "firm_years_per_million")
#: Columns of the uplift's paired table kept per point: the outcomes and, for ``points.parquet``, two companions.
PAIRED_OUTCOMES = ("uplift_revenue", "effect_on_allied", "survival_effect_60m", "effect_on_allied_with_exit",
                   "survival_effect_allied_60m")


def problem(factors: list[Factor]) -> dict:
    """SALib's problem definition of the factors."""
    return {"num_vars": len(factors), "names": [f.name for f in factors], "bounds": [[f.lo, f.hi] for f in factors]}


def design(cfg: Any, factors: list[Factor]) -> np.ndarray:
    """The sample points, one row each, in the factors' units."""
    ex = cfg.experiment
    prob = problem(factors)
    if ex.method == "morris":
        return morris_sample.sample(prob, N=ex.n_samples, num_levels=4, seed=int(cfg.seed))
    if ex.n_samples & (ex.n_samples - 1):
        raise ConfigError(f"experiment.n_samples={ex.n_samples} is not allowed for sobol; expected a power of 2 "
                          "(the Sobol' sequence is balanced only then)")
    return sobol_sample.sample(prob, N=ex.n_samples, calc_second_order=False, seed=int(cfg.seed))


def instrument_policy(cfg: Any) -> PolicyConfig | None:
    """The instrument's ``PolicyConfig`` as ``configs/policy/<kind>.yaml`` defines it (None for ``none``).

    Composed once per experiment: a Hydra composition costs about a second, a sample point much less.
    """
    kind = cfg.experiment.instrument
    return None if kind == "none" else check(load_config(f"policy={kind}")).policies[kind]


def arms_at(point_cfg: Any, policy: PolicyConfig | None) -> dict[str, dict]:
    """The arms of one sample point: the uplift's two worlds, and the instrument on top of alliances,
    with ``policy_compare``'s window and the point's budget."""
    arms = {name: dict(overrides) for name, overrides in ARMS.items()}
    if policy is not None:
        ex = point_cfg.experiment
        pol = copy.deepcopy(policy)
        pol.start_month, pol.stop_month, pol.budget = ex.policy_start_month, ex.policy_stop_month, ex.budget
        arms[POLICY_ARM] = {"alliances.enabled": True, "policies": {ex.instrument: pol}}
    return arms


def point_jobs(cfg: Any, X: np.ndarray, factors: list[Factor]) -> list[tuple[str, Any]]:
    """One paired replication per (point, seed): ``("point_<i>", the point's config at that seed)``."""
    jobs = []
    for i, row in enumerate(X):
        pcfg = exploratory.apply(cfg, dict(zip([f.name for f in factors], row)), factors)
        jobs += [(f"point_{i}", with_overrides(pcfg, seed=int(cfg.seed) + k)) for k in range(cfg.experiment.n_seeds)]
    return jobs


def run_paired(job: tuple[str, Any], policy: PolicyConfig | None = None) -> ArmResult:
    """Run every arm of one seed at one sample point, in this process, and return only scalars.

    The two worlds (alliances on and off) carry the per-firm recorder
    (``FirmMonths``), whose firms x months matrices give the effect on the allied
    (``experiments.replication.counterfactuals.seed_effects``, through ``uplift.paired_table``)
    and are dropped here: over a Sobol design they would take gigabytes. The
    result's summary holds ``paired``, the seed's row of the uplift's paired table,
    and ``arms``, every arm's ``measured_summary``; small enough for the run
    folder's replication store, from which a resumed run reads it back.

    Args:
        job: ``(name, config)`` of ``point_jobs``.
        policy: the instrument (``instrument_policy``), or None for no instrument arm.
    """
    name, cfg = job
    try:
        arms = {}
        for arm, overrides in arms_at(cfg, policy).items():
            arm_cfg = with_overrides(cfg, **overrides)
            model = AllianceModel.from_config(arm_cfg)
            recorder = FirmMonths.observe(model) if arm in ARMS else None
            model.run_for(arm_cfg.months)
            arms[arm] = ArmResult(arm=arm, seed=int(cfg.seed), summary=measured_summary(model),
                                  firm_months=recorder.result() if recorder is not None else {})
        paired = paired_table([arms["alliances"], arms["no_alliances"]]).iloc[0]
        return ArmResult(arm=name, seed=int(cfg.seed), summary={
            "paired": {k: _scalar(v) for k, v in paired.items()},
            "arms": {arm: res.summary for arm, res in arms.items()}})
    except Exception as err:  # a failed replication is reported, not fatal
        return ArmResult(arm=name, seed=int(getattr(cfg, "seed", -1)),
                         error=f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}")


def _scalar(value: Any) -> Any:
    """A numpy scalar as the Python number it holds (the replication store writes JSON)."""
    return value.item() if isinstance(value, np.generic) else value


def _mean(values: list) -> float:
    """Mean of the defined values (NaN when none is)."""
    defined = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(defined)) if defined else float("nan")


def point_outcomes(results: list[ArmResult]) -> dict[str, float]:
    """The outcomes of one sample point from its completed paired replications (``run_paired``), means over
    seeds; plus, per point only, the effect on the allied counting exits, the survival effect on firms that
    ever allied and the instrument's cost per extra firm-year."""
    done = [r.summary for r in results if r.error is None]
    paired = [s["paired"] for s in done]
    on = [s["arms"]["alliances"] for s in done]
    out = {key: _mean([p.get(key) for p in paired]) for key in PAIRED_OUTCOMES}
    out["alliance_relational_failure_60m"] = _mean([s["alliance_relational_failure_60m"] for s in on])
    pol = [(s["arms"][POLICY_ARM], s["arms"]["alliances"]) for s in done if POLICY_ARM in s["arms"]]
    if pol:
        cost = sum(a["public_cost"] for a, _ in pol)
        extra = sum(a["firm_years"] - b["firm_years"] for a, b in pol)
        out["firm_years_per_million"] = float(1e6 * extra / cost) if cost > 0 else np.nan
        out["cost_per_extra_firm_year"] = float(cost / extra) if extra > 0 else np.nan
    return out


def outcomes_table(results: list[ArmResult], n_points: int) -> pd.DataFrame:
    """One row per sample point with its outcomes (``results`` of ``run_paired`` on ``point_jobs``)."""
    by_point: dict[int, list] = {i: [] for i in range(n_points)}
    for r in results:
        by_point[int(r.arm.rsplit("_", 1)[1])].append(r)
    rows = []
    for i in range(n_points):
        with np.errstate(all="ignore"):
            rows.append({"point": i, **point_outcomes(by_point[i])})
    return pd.DataFrame(rows)


def analyse(cfg: Any, factors: list[Factor], X: np.ndarray, Y: np.ndarray) -> pd.DataFrame:
    """Indices of every factor for one outcome (NaN outcomes already filled)."""
    ex = cfg.experiment
    prob = problem(factors)
    if ex.method == "morris":
        res = morris_analyze.analyze(prob, X, Y, num_resamples=ex.n_bootstrap, conf_level=0.95, seed=int(cfg.seed))
        return pd.DataFrame({"factor": prob["names"], "mu_star": res["mu_star"], "mu_star_conf": res["mu_star_conf"],
                             "mu": res["mu"], "sigma": res["sigma"]})
    res = sobol_analyze.analyze(prob, Y, calc_second_order=False, num_resamples=ex.n_bootstrap, conf_level=0.95,
                                seed=int(cfg.seed))
    return pd.DataFrame({"factor": prob["names"], "S1": res["S1"], "S1_conf": res["S1_conf"], "ST": res["ST"],
                         "ST_conf": res["ST_conf"]})


def how_to_read(method: str) -> list[str]:
    """The report's guide to the indices."""
    if method == "morris":
        return ["mu* is the mean absolute change of the outcome when the factor moves one step of its range "
                "(a quarter of it here), other factors held: it ranks factors. sigma is the spread of those "
                "changes: sigma comparable to mu* means the factor's effect depends on the others (interactions) "
                "or is non-linear. A factor whose mu* interval reaches zero is not shown to matter; Morris "
                "screens, it does not apportion variance: follow up the leaders with `method=sobol`."]
    return ["S1 is the share of the outcome's variance over the declared ranges that the factor explains alone; "
            "ST adds every interaction it takes part in. ST near zero: the factor can be fixed anywhere in its "
            "range. ST much larger than S1: it acts through interactions. The S1 sum to at most 1; with a small "
            "sample the indices can come out slightly negative or above 1, and their intervals say how far to "
            "trust them."]


def write_report(folder: Path, cfg: Any, factors: list[Factor], points: pd.DataFrame, indices: pd.DataFrame,
                 filled: dict, figs: dict, failed: list[str], outcomes: dict[str, str]) -> Path:
    """``sensitivity.md``: design, indices per outcome, how to read them."""
    ex = cfg.experiment
    key = "mu_star" if ex.method == "morris" else "ST"
    lines = [f"# Global sensitivity ({ex.method})", "",
             f"{len(factors)} factors over their declared ranges (`configs/exploratory/{ex.exploratory}.yaml`), "
             f"{len(points)} sample points, each a paired replication over {ex.n_seeds} seeds (alliances on, off"
             + (f", and `{ex.instrument}` at MXN {ex.budget:,.0f}" if ex.instrument != "none" else "")
             + f"), {cfg.firms.n_firms} initial firms, {cfg.months} months.", "",
             "| factor | kind | range |", "|---|---|---|",
             *[f"| `{f.name}` | {f.kind} | [{f.lo:g}, {f.hi:g}] |" for f in factors], "", "## How to read this", "",
             *how_to_read(ex.method), ""]
    for outcome in indices["outcome"].unique():
        d = indices[indices["outcome"] == outcome].sort_values(key, ascending=False)
        note = f" {filled[outcome]} points had no value and took the mean of the others." if filled.get(outcome) \
            else ""
        meaning = outcomes.get(outcome, outcome)
        lines += [f"## `{outcome}`", "", meaning[:1].upper() + meaning[1:] + "." + note, "",
                  d.drop(columns="outcome").to_markdown(index=False, floatfmt=".3g"), "",
                  f"![{outcome}]({figs[outcome]})", ""]
    if failed:
        lines += ["## Failed runs", "", *[f"- {f}" for f in failed]]
    return atomic_write(folder / "sensitivity.md", lambda p: p.write_text("\n".join(lines) + "\n"))


def run(cfg: Any, out_dir: Path) -> dict:
    """Run the sensitivity analysis and write its run folder; return the summary."""
    if morris_sample is None:
        raise ConfigError("experiment=sensitivity needs SALib; install the dev extra: pip install -e '.[dev]'")
    ex = cfg.experiment
    space = exploratory.load(ex.exploratory)
    factors = space.factors(ex.uncertainties)
    X = design(cfg, factors)
    folder = RunFolder(out_dir, cfg, seed=cfg.seed, kind="sensitivity")

    def work() -> tuple[dict, list]:
        results = run_jobs(point_jobs(cfg, X, factors), ex.workers, ex.progress, "paired replications",
                           runner=functools.partial(run_paired, policy=instrument_policy(cfg)),
                           store=folder.replications)
        failed = [f"seed {r.seed} ({r.arm}): {r.error.splitlines()[0]}" for r in results if r.error]
        points = pd.concat([pd.DataFrame(X, columns=[f.name for f in factors]),
                            outcomes_table(results, len(X)).drop(columns="point")], axis=1)
        folder.table("points", points)
        parts, filled = [], {}
        for outcome in [o for o in OUTCOMES if o in points and o in space.outcomes]:
            y = points[outcome].to_numpy(float)
            ok = np.isfinite(y)
            if not ok.any():
                continue
            filled[outcome] = int((~ok).sum())
            y = np.where(ok, y, y[ok].mean())
            if ex.method == "sobol" and y.std() == 0:  # no factor moves it; Sobol's ratios would be 0/0
                d = pd.DataFrame({"factor": [f.name for f in factors], "S1": 0.0, "S1_conf": 0.0, "ST": 0.0,
                                  "ST_conf": 0.0})
            else:
                d = analyse(cfg, factors, X, y)
            parts.append(d.assign(outcome=outcome))
        if not parts:
            raise RuntimeError("no outcome was defined at any sample point")
        indices = pd.concat(parts, ignore_index=True)
        folder.table("indices", indices)
        figs = {o: str(plots.sensitivity_indices(indices, o, ex.method, folder.path / "figures" / f"indices_{o}.png")
                       .relative_to(folder.path)) for o in indices["outcome"].unique()}
        write_report(folder.path, cfg, factors, points, indices, filled, figs, failed, space.outcomes)
        key = "mu_star" if ex.method == "morris" else "ST"
        n_arms = len(ARMS) + (ex.instrument != "none")
        summary = {"method": ex.method, "n_points": int(len(X)), "n_replications": len(results),
                   "n_runs": n_arms * len(results), "failed_runs": failed,
                   "points_without_value": filled,
                   "leading_factor": {o: d.sort_values(key, ascending=False)["factor"].iloc[0]
                                      for o, d in indices.groupby("outcome")},
                   "indices": {o: {r["factor"]: {k: v for k, v in r.items() if k not in ("factor", "outcome")}
                                   for r in d.to_dict("records")} for o, d in indices.groupby("outcome")}}
        return summary, failed

    return folder.complete(work)
