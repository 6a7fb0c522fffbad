"""Stylized facts as data, and the statistics that measure them on a model run.

Each file under ``configs/targets/`` declares one fact the model is held to: its
name and family, whether it is a calibration target (``calibrate`` fits to it) or
a validation check (only ``validate`` reports it), the statistic and how it is
measured (population, horizon, estimator), the value and band from the
literature, the source, and the run conditions (dotted config paths set on top
of the configured world, for example ``market.crisis.enabled: true``).

A statistic is a function of a finished model, looked up by name in
``STATISTICS``. Every run measures all of them (they are cheap), together with
the curves the validation figures draw, and returns an ``ArmResult``, so runs
go through ``experiments.compare.run_jobs`` like any paired replication.

The alliance-failure statistic is a cumulative incidence with competing risks
(Aalen-Johansen): an alliance that ends because a member closed can no longer
fail for relational reasons, so counting partner exits as censored would
overstate relational failure and counting them as failures would mix firm
mortality into alliance failure (Kale and Singh 2009 count alliances that end
for relational or performance reasons).
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from omegaconf import OmegaConf

from experiments import survival
from experiments.compare import ArmResult, mean_ci, with_overrides
from sim import metrics
from sim.alliance_table import END_CAUSES
from sim.config import CONFIG_DIR
from sim.model import AllianceModel
from sim.params import ConfigError

TARGET_DIR = CONFIG_DIR / "targets"
ROLES = ("calibration", "validation")

#: Alliance ends that count as failure of the relationship or its performance (not a member's closure).
RELATIONAL_CAUSES = ("low_benefit", "lost_trust", "detected_opportunism", "renegotiation_failed")
#: Months since formation covered by the cumulative-incidence curves.
CIF_MONTHS = 60

#: What a statistic's value can be, which fixes the scale its interval is built on
#: (:func:`interval`): ``share`` (a share or probability, in [0, 1]: logit scale), ``positive``
#: (a duration or ratio, above 0: log scale). Statistics not listed are unbounded (plain Student-t).
STATISTIC_SCALES = {
    **dict.fromkeys(("survival_12m", "survival_60m", "crisis_mortality_17m", "share_allied_mean",
                     "alliance_relational_failure_60m", "alive_at_end", "survival_12m_commerce",
                     "survival_12m_services", "survival_12m_manufacturing"), "share"),
    **dict.fromkeys(("life_expectancy_years", "life_expectancy_years_commerce", "life_expectancy_years_services",
                     "life_expectancy_years_manufacturing", "hazard_ratio_year1_to_year5"), "positive"),
}
#: Verdicts of a target (:meth:`Target.verdict`).
VERDICTS = ("pass", "FAIL", "inconclusive")


def interval(values: Any, scale: str | None = None, level: float = 0.95) -> tuple[float, float, float]:
    """Mean over seeds of ``values`` with a ``level`` confidence interval that respects the statistic's range.

    The standard error of the mean over seeds is carried to the logit scale for a
    share (``scale="share"``) or to the log scale for a positive quantity
    (``"positive"``) by the delta method, the Student-t interval is built there and
    mapped back: a share's interval stays inside [0, 1] and a duration's above 0,
    however few the seeds, and the mean always lies inside it. Unlisted scales get
    the plain Student-t interval. With fewer than two finite values, or a mean on
    the edge of the range (every seed 0 or 1), the interval is undefined (NaN):
    nothing is known about the spread.
    """
    m, lo, hi = mean_ci(values, level)
    half_t = hi - m  # the Student-t half-width: t x the standard error of the mean over seeds
    if not np.isfinite(half_t) or half_t == 0.0 or scale not in ("share", "positive"):
        return m, lo, hi
    if scale == "share":
        if not 0.0 < m < 1.0:
            return m, float("nan"), float("nan")
        centre, half = np.log(m / (1 - m)), half_t / (m * (1 - m))
        lo, hi = 1 / (1 + np.exp(-(centre - half))), 1 / (1 + np.exp(-(centre + half)))
        return m, float(min(lo, m)), float(max(hi, m))  # min/max: rounding in the round trip
    if not m > 0.0:
        return m, float("nan"), float("nan")
    half = half_t / m
    return m, float(m * np.exp(-half)), float(m * np.exp(half))


@dataclass
class Target:
    """One stylized fact: what is measured, how, the band it must fall in and where it comes from.

    Attributes:
        name: unique name (the file's stem).
        family: group of related targets drawn in one figure (survival, alliances, crisis).
        role: ``calibration`` (fitted by ``calibrate``) or ``validation`` (only checked).
        statistic: key of ``STATISTICS`` that measures it on one run.
        value: the literature's point value, or None where only a band is given.
        band: ``[lo, hi]``; None on one side means unbounded.
        conditions: dotted config paths and values of the run that measures it.
        description, measure, source: prose for the report.
    """

    name: str
    family: str
    role: str
    statistic: str
    band: tuple[float | None, float | None]
    value: float | None = None
    conditions: dict = field(default_factory=dict)
    description: str = ""
    measure: dict = field(default_factory=dict)
    source: dict = field(default_factory=dict)

    def passes(self, x: float) -> bool:
        """Whether a model value lies inside the band."""
        lo, hi = self.band
        return bool(np.isfinite(x) and (lo is None or x >= lo) and (hi is None or x <= hi))

    def verdict(self, ci_lo: float, ci_hi: float) -> str:
        """``pass`` when the whole interval lies inside the band, ``FAIL`` when the whole interval lies
        outside it, ``inconclusive`` otherwise (it straddles a bound, or it is undefined)."""
        if not (np.isfinite(ci_lo) and np.isfinite(ci_hi)):
            return "inconclusive"
        if self.passes(ci_lo) and self.passes(ci_hi):
            return "pass"
        lo, hi = self.band
        if (hi is not None and ci_lo > hi) or (lo is not None and ci_hi < lo):
            return "FAIL"
        return "inconclusive"

    def scale(self) -> float:
        """Half the band's width (the unit of the calibration loss); the distance to its one bound if open."""
        lo, hi = self.band
        if lo is not None and hi is not None:
            return max((hi - lo) / 2.0, 1e-12)
        bound = lo if lo is not None else hi
        return max(abs(bound - (self.value if self.value is not None else 0.0)), abs(bound) * 0.1, 1e-12)

    def band_text(self) -> str:
        """The band as the report writes it: ``[0.58, 0.70]``, ``>= 1``, ``<= 0.15``."""
        lo, hi = self.band
        if lo is not None and hi is not None:
            return f"[{lo:g}, {hi:g}]"
        return f">= {lo:g}" if lo is not None else f"<= {hi:g}"

    def run_key(self) -> str:
        """A label of the run conditions; targets with equal conditions share runs."""
        return ", ".join(f"{k}={v}" for k, v in sorted(self.conditions.items())) or "defaults"


def load_target(path: Path) -> Target:
    """One target file as a ``Target``; a malformed file is a ``ConfigError`` naming it."""
    raw = OmegaConf.to_container(OmegaConf.load(path), resolve=True)
    try:
        band = raw["band"]
        target = Target(name=raw["name"], family=raw["family"], role=raw["role"], statistic=raw["statistic"],
                        band=(band[0], band[1]), value=raw.get("value"), conditions=raw.get("conditions") or {},
                        description=raw.get("description", ""), measure=raw.get("measure") or {},
                        source=raw.get("source") or {})
    except (KeyError, TypeError, IndexError) as err:
        raise ConfigError(f"{path.name}: a target needs name, family, role, statistic and band [lo, hi] ({err})") \
            from None
    if target.name != path.stem:
        raise ConfigError(f"{path.name}: name={target.name!r} must equal the file name {path.stem!r}")
    if target.role not in ROLES:
        raise ConfigError(f"{path.name}: role={target.role!r} is not allowed; expected one of {', '.join(ROLES)}")
    if target.statistic not in STATISTICS:
        raise ConfigError(f"{path.name}: statistic={target.statistic!r} is not known; expected one of "
                          f"{', '.join(STATISTICS)}")
    return target


def load_targets(names: list[str] | tuple = (), role: str | None = None, folder: Path = TARGET_DIR) -> list[Target]:
    """The targets named, in that order; when none are named, every target (of ``role`` if given)."""
    every = {p.stem: load_target(p) for p in sorted(Path(folder).glob("*.yaml"))}
    unknown = [n for n in names if n not in every]
    if unknown:
        raise ConfigError(f"experiment.targets has unknown target(s) {', '.join(unknown)}; allowed: "
                          f"{', '.join(every)}")
    if names:
        return [every[n] for n in names]
    return [t for t in every.values() if role is None or t.role == role]


def run_groups(targets: list[Target]) -> dict[str, dict]:
    """Distinct run conditions of ``targets`` (label -> dotted overrides)."""
    return {t.run_key(): t.conditions for t in targets}


def target_jobs(cfg: Any, targets: list[Target], seeds: list[int]) -> list[tuple[str, Any]]:
    """One job per (run conditions, seed); the arm name is the conditions' label."""
    return [(key, with_overrides(cfg, seed=int(s), **cond)) for key, cond in run_groups(targets).items()
            for s in seeds]


def per_seed_values(results: list[ArmResult], targets: list[Target]) -> dict[str, list[float]]:
    """Each target's value on each completed run of its conditions (NaN where undefined)."""
    out = {}
    for t in targets:
        vals = [r.summary.get(t.statistic) for r in results if r.arm == t.run_key() and r.error is None]
        out[t.name] = [float(v) if v is not None else float("nan") for v in vals]
    return out


def fit_row(t: Target, values: list[float]) -> dict:
    """The report row of one target: mean and 95% CI over seeds (:func:`interval`), band and verdict
    (:meth:`Target.verdict`: the interval, not the mean alone, decides; ``passes`` is ``verdict == "pass"``)."""
    m, lo, hi = interval(values, STATISTIC_SCALES.get(t.statistic))
    verdict = t.verdict(lo, hi)
    return {"target": t.name, "family": t.family, "role": t.role, "statistic": t.statistic,
            "model": m, "ci_lo": lo, "ci_hi": hi, "n_seeds": int(np.isfinite(values).sum()) if values else 0,
            "value": t.value if t.value is not None else float("nan"),
            "band_lo": t.band[0] if t.band[0] is not None else float("nan"),
            "band_hi": t.band[1] if t.band[1] is not None else float("nan"),
            "band": t.band_text(), "verdict": verdict, "passes": verdict == "pass", "mean_in_band": t.passes(m),
            "z": (m - (t.value if t.value is not None else m)) / t.scale() if np.isfinite(m) else float("nan")}


def loss(t: Target, mean: float) -> float:
    """One target's contribution to the calibration loss: squared distance in half-band widths.

    Towards the point value when the literature gives one; otherwise zero inside the
    band and the squared distance to the nearest bound outside it.
    """
    if not np.isfinite(mean):
        return float("inf")
    if t.value is not None:
        return float(((mean - t.value) / t.scale()) ** 2)
    lo, hi = t.band
    gap = (lo - mean) if lo is not None and mean < lo else (mean - hi) if hi is not None and mean > hi else 0.0
    return float((gap / t.scale()) ** 2)


# --- statistics of one finished run --------------------------------------------------------------

def cumulative_incidence(duration: np.ndarray, cause: np.ndarray, horizon: int = CIF_MONTHS) -> dict[str, np.ndarray]:
    """Aalen-Johansen cumulative incidence by cause at months 0..horizon of follow-up.

    Args:
        duration: months from formation to the end, or to the end of the run for running alliances.
        cause: index into ``END_CAUSES``, or -1 for a running (censored) alliance.

    An alliance ending in month ``d`` was at risk at every month up to ``d``; one
    censored at ``c`` was observed at risk through ``c`` and not after.
    """
    months = np.arange(horizon + 1)
    out = {c: np.zeros(len(months)) for c in END_CAUSES}
    if len(duration) == 0:
        return out
    surv, cif = 1.0, dict.fromkeys(END_CAUSES, 0.0)
    ended = cause >= 0
    for m in months:
        at_risk = int((duration >= m).sum())
        events = ended & (duration == m)
        n_events = int(events.sum())
        if at_risk and n_events:
            for k, c in enumerate(END_CAUSES):
                cif[c] += surv * int((events & (cause == k)).sum()) / at_risk
            surv *= 1.0 - n_events / at_risk
        for c in END_CAUSES:
            out[c][m] = cif[c]
    return out


def alliance_incidence(model) -> dict[str, np.ndarray] | None:
    """Cumulative incidence of each end cause over the first ``CIF_MONTHS`` months (None without alliances)."""
    proc = model.alliances
    if proc is None or proc.table.n == 0:
        return None
    t = proc.table
    start, end, cause = t.start_month[: t.n], t.end_month[: t.n], t.end_cause[: t.n]
    formed = start >= 0  # from implementation on: talks that broke down never formed an alliance
    start, end, cause = start[formed], end[formed], cause[formed]
    duration = np.where(end >= 0, end - start, model.month - start)
    return cumulative_incidence(duration, np.where(end >= 0, cause, -1))


def relational_failure(model) -> float | None:
    """Cumulative incidence at 60 months of the relational and performance causes (partner exit competes)."""
    cif = alliance_incidence(model)
    if cif is None or model.month < CIF_MONTHS:
        return None
    return float(sum(cif[c][CIF_MONTHS] for c in RELATIONAL_CAUSES))


def life_expectancy_years(model) -> float:
    """Restricted mean lifetime of the initial cohort over the run, in years (alive = the horizon)."""
    life = metrics.lifetimes(model, initial_only=True)
    return float(life["duration_months"].mean() / 12.0)


def hazard_ratio_year1_to_year5(model) -> float | None:
    """Exit hazard in the first age year over the hazard in the fifth (None if the fifth had no exit)."""
    life = metrics.lifetimes(model, initial_only=False)
    counts = survival.at_risk_counts(life["entry_months"], life["duration_months"], life["died"], 60)
    exposure, deaths = counts[0].reshape(5, 12).sum(axis=1), counts[1].reshape(5, 12).sum(axis=1)
    if model.month < 60 or exposure[4] <= 0 or deaths[4] == 0:
        return None
    return float((deaths[0] / exposure[0]) / (deaths[4] / exposure[4]))


def alive_at_end(model) -> float:
    """Share of the initial cohort still operating at the end of the run."""
    d = model.firms.death_month[: model.n_initial]
    return float(np.mean(d < 0))


def sector_survival(sector: str, months: int):
    """Statistic: share of the initial cohort's firms of ``sector`` alive ``months`` after founding."""
    def statistic(model, summary) -> float | None:
        if sector not in model.sector_names or model.month < months:
            return None
        t = model.firms
        mine = t.sector[: model.n_initial] == model.sector_names.index(sector)
        d = t.death_month[: model.n_initial][mine]
        return float(np.mean((d < 0) | (d > months))) if len(d) else None
    return statistic


def sector_life_expectancy(sector: str):
    """Statistic: restricted mean lifetime in years of the initial cohort's firms of ``sector``."""
    def statistic(model, summary) -> float | None:
        if sector not in model.sector_names:
            return None
        life = metrics.lifetimes(model, initial_only=True)
        mine = model.firms.sector[: model.n_initial] == model.sector_names.index(sector)
        return float(life["duration_months"].to_numpy()[mine].mean() / 12.0) if mine.any() else None
    return statistic


def _summary_key(key: str):
    return lambda model, summary: summary.get(key)


#: Statistic name -> function(model, summary) giving one run's value (None when undefined).
STATISTICS = {
    "survival_12m": _summary_key("survival_12m"),
    "survival_60m": _summary_key("survival_60m"),
    "crisis_mortality_17m": _summary_key("crisis_mortality_17m"),
    "share_allied_mean": _summary_key("share_allied_mean"),
    "alliance_relational_failure_60m": lambda model, summary: relational_failure(model),
    "life_expectancy_years": lambda model, summary: life_expectancy_years(model),
    "hazard_ratio_year1_to_year5": lambda model, summary: hazard_ratio_year1_to_year5(model),
    "alive_at_end": lambda model, summary: alive_at_end(model),
    **{f"survival_12m_{s}": sector_survival(s, 12) for s in ("commerce", "services", "manufacturing")},
    **{f"life_expectancy_years_{s}": sector_life_expectancy(s) for s in ("commerce", "services", "manufacturing")},
}


def measured_summary(model: AllianceModel) -> dict:
    """A finished model's ``summary()`` plus one key per statistic of ``STATISTICS``."""
    summary = model.summary()
    summary.update({name: fn(model, summary) for name, fn in STATISTICS.items()})
    return summary


def measure_run(job: tuple[str, Any]) -> ArmResult:
    """Run one model and measure every statistic and the curves of the validation figures.

    The summary is ``measured_summary(model)``, so paired estimators that read
    summaries (``experiments.uplift.paired_table``) work on it.
    """
    arm, cfg = job
    try:
        model = AllianceModel.from_config(cfg)
        model.run_for(cfg.months)
        summary = measured_summary(model)
        series = model.series()
        curves = {"month": series["month"].to_numpy(),
                  "cohort_survival": series["initial_cohort_alive"].to_numpy() / max(model.n_initial, 1),
                  "firms_alive": series["firms_alive"].to_numpy()}
        cif = alliance_incidence(model)
        if cif is not None:
            curves.update({f"cif_{c}": v for c, v in cif.items()})
        life = metrics.lifetimes(model, initial_only=False)
        return ArmResult(arm=arm, seed=int(cfg.seed), summary=summary, series=curves,
                         lifetimes={k: life[k].to_numpy() for k in life.columns})
    except Exception as err:  # a failed run is reported, not fatal
        return ArmResult(arm=arm, seed=int(getattr(cfg, "seed", -1)),
                         error=f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}")
