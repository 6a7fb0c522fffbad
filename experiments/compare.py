"""Paired replications: the same seeds in several arms (with/without alliances, or a policy).

Each arm of a replication is one model run from a config that differs from the
others only in the switches being compared. Because every process draws from
its own named stream (``sim.rng``), the arms share demand, firm shocks and
births (common random numbers), so differences between arms are caused by the
switch. Runs are farmed out to worker processes; results come back in job
order, so 1 or many workers give identical numbers. A failed run is reported,
not fatal: the others are kept.
"""

from __future__ import annotations

import copy
import multiprocessing
import os
import traceback
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from omegaconf import OmegaConf
from scipy import stats

from experiments import executors
from sim import metrics
from sim.model import AllianceModel


@dataclass
class ArmResult:
    """What one arm of one replication returns (small and picklable)."""

    arm: str
    seed: int
    summary: dict = field(default_factory=dict)
    series: dict = field(default_factory=dict)
    lifetimes: dict = field(default_factory=dict)
    firm_months: dict = field(default_factory=dict)
    error: str | None = None


def with_overrides(cfg: Any, **dotted: Any) -> Any:
    """A deep copy of a ``Config`` object with dotted-path values replaced (``alliances.enabled``...)."""
    new = copy.deepcopy(cfg)
    for path, value in dotted.items():
        obj = new
        *parents, leaf = path.split(".")
        for p in parents:
            obj = getattr(obj, p)
        if not hasattr(obj, leaf):
            raise KeyError(f"{path} is not a parameter")
        setattr(obj, leaf, value)
    return new


def run_arm(job: tuple[str, Any]) -> ArmResult:
    """Run one model for ``cfg.months`` months and measure it."""
    arm, cfg = job
    try:
        model = AllianceModel.from_config(cfg)
        per_firm = FirmMonths(model) if cfg.experiment.per_firm else None
        for _ in range(cfg.months):
            model.step()
            if per_firm is not None:
                per_firm.record()
        series = model.series()
        keep = ["month", "firms_alive", "mean_revenue", "revenue_per_initial_firm", "share_allied",
                "initial_cohort_alive", "mean_revenue_allied", "mean_revenue_never_allied"]
        life = metrics.lifetimes(model, initial_only=False)
        return ArmResult(arm=arm, seed=int(cfg.seed), summary=model.summary(),
                         series={k: series[k].to_numpy() for k in keep},
                         lifetimes={k: life[k].to_numpy() for k in life.columns},
                         firm_months=per_firm.result() if per_firm is not None else {})
    except Exception as err:  # a failed run is reported, not fatal
        return ArmResult(arm=arm, seed=int(getattr(cfg, "seed", -1)),
                         error=f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}")


class FirmMonths:
    """Every firm's revenue and alliance type month by month (for per-firm counterfactuals).

    Firms have the same ids in every arm of a replication and draw the same numbers
    (``sim.rng``), so firm ``i``'s months in one arm are its counterfactual months in the
    other. Revenue is NaN in months the firm is not alive; ``kind`` is the alliance type
    code (-1 when not in an alliance).
    """

    def __init__(self, model: AllianceModel):
        self.model = model
        self.revenue: list[np.ndarray] = []
        self.kind: list[np.ndarray] = []

    def record(self) -> None:
        """Snapshot this month (after the model's step)."""
        f, n = self.model.firms, self.model.firms.n
        alive = f.alive[:n]
        self.revenue.append(np.where(alive, f.revenue[:n], np.nan).astype(np.float32))
        aid = f.alliance_id[:n]
        kind = np.full(n, -1, dtype=np.int8)
        if self.model.alliances is not None:
            allied = alive & (aid >= 0)
            kind[allied] = self.model.alliances.table.kind[aid[allied]]
        self.kind.append(kind)

    def result(self) -> dict:
        """Firms x months matrices plus the firms' traits, all numpy arrays (small enough to return from a
        worker and to save with a replication)."""
        n = self.model.firms.n
        rev = np.full((n, len(self.revenue)), np.nan, dtype=np.float32)
        kind = np.full((n, len(self.kind)), -1, dtype=np.int8)
        for t, (r, k) in enumerate(zip(self.revenue, self.kind)):
            rev[: len(r), t], kind[: len(k), t] = r, k
        table = metrics.firm_table(self.model)
        return {"revenue": rev, "kind": kind,
                **{c: table[c].to_numpy() for c in ("firm_id", "initial", "sector", "workers", "capability",
                                                    "birth_month", "ever_allied")}}


def n_workers(requested: int) -> int:
    """Worker processes to use: ``requested``, or every core when 0."""
    return requested if requested > 0 else (os.cpu_count() or 1)


def run_jobs(jobs: list[tuple[str, Any]], workers: int = 0, progress: bool = True,
             desc: str = "runs", runner: Callable[[tuple[str, Any]], ArmResult] = run_arm) -> list[ArmResult]:
    """Run ``(arm, cfg)`` jobs, in parallel when ``workers`` != 1; results in job order.

    ``runner`` (a module-level function, so worker processes can import it) runs and
    measures one job; ``run_arm`` by default.
    """
    if jobs and jobs[0][1].experiment.executor == "submitit":  # issue 15: replications as submitit jobs
        return executors.map_replications(runner, jobs, jobs[0][1], on_failure=lambda job, message: ArmResult(
            arm=job[0], seed=int(job[1].seed), error=message))
    workers = min(n_workers(workers), max(len(jobs), 1))
    bar = _progress(len(jobs), desc, progress)
    if workers == 1:
        out = []
        for job in jobs:
            out.append(runner(job))
            bar.update(1)
    else:
        # forkserver: workers start from a clean process, not a fork of a threaded parent.
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver")) as pool:
            out = []
            for res in pool.map(runner, jobs, chunksize=1):
                out.append(res)
                bar.update(1)
    bar.close()
    return out


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit="run", disable=not enabled, leave=False)


def paired_jobs(cfg: Any, arms: dict[str, dict], n_seeds: int) -> list[tuple[str, Any]]:
    """Jobs for every seed ``cfg.seed .. cfg.seed + n_seeds - 1`` in every arm (arm -> overrides)."""
    jobs = []
    for k in range(n_seeds):
        for arm, overrides in arms.items():
            jobs.append((arm, with_overrides(cfg, seed=int(cfg.seed) + k, **overrides)))
    return jobs


def mean_ci(values: Any, level: float = 0.95) -> tuple[float, float, float]:
    """Mean of ``values`` over replications with a Student-t confidence interval."""
    x = np.asarray([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if len(x) == 0:
        return float("nan"), float("nan"), float("nan")
    m = float(x.mean())
    if len(x) < 2:
        return m, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))
    return m, m - half, m + half


def to_plain(cfg: Any) -> dict:
    """A config object as plain nested dicts (for tables and reports)."""
    return OmegaConf.to_container(OmegaConf.structured(cfg), resolve=True)
