"""Paired replications: the same seeds in several arms (with/without alliances, or a policy).

Each arm of a replication is one model run from a config that differs from the
others only in the switches being compared. Because every process draws from
its own named stream (``sim.rng``), the arms share demand, firm shocks and
births (common random numbers), so differences between arms are caused by the
switch. Runs are farmed out to worker processes; results come back in job
order, so 1 or many workers give identical numbers. A failed run is reported,
not fatal: the others are kept. Each finished run is saved in the run folder's
``replications/`` as it finishes, so a resumed run reruns only what is missing.
"""

from __future__ import annotations

import copy
import logging
import multiprocessing
import os
import re
import signal
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from omegaconf import OmegaConf
from scipy import stats

from experiments.runtime import executors
from sim import metrics
from sim.io import ReplicationStore
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
    ledger: dict = field(default_factory=dict)
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


def run_arm(job: tuple[str, Any], recorder: type | None = None) -> ArmResult:
    """Run one model for ``cfg.months`` months and measure it.

    With ``experiment.per_firm`` the ``recorder`` (a class with ``observe(model)`` and ``result()``;
    ``FirmMonths`` by default) follows every firm, and its result is the record's ``firm_months``.
    """
    arm, cfg = job
    try:
        model = AllianceModel.from_config(cfg)
        per_firm = (recorder or FirmMonths).observe(model) if cfg.experiment.per_firm else None
        model.run_for(cfg.months)
        series = model.series()
        keep = ["month", "firms_alive", "mean_revenue", "revenue_per_initial_firm", "share_allied",
                "initial_cohort_alive", "mean_revenue_allied", "mean_revenue_never_allied"]
        life = metrics.lifetimes(model, initial_only=False)
        return ArmResult(arm=arm, seed=int(cfg.seed), summary=model.summary(),
                         series={k: series[k].to_numpy() for k in keep},
                         lifetimes={k: life[k].to_numpy() for k in life.columns},
                         firm_months=per_firm.result() if per_firm is not None else {},
                         ledger=ledger_arrays(model.ledger.table()))
    except Exception as err:  # a failed run is reported, not fatal
        return ArmResult(arm=arm, seed=int(getattr(cfg, "seed", -1)),
                         error=f"{type(err).__name__}: {err}\n{traceback.format_exc(limit=3)}")


def ledger_arrays(table: Any) -> dict:
    """A run's ledger table as plain numpy arrays (text as fixed-width strings, so it saves without pickling);
    empty when nothing was paid."""
    if table.empty:
        return {}
    return {c: (table[c].to_numpy().astype(str) if table[c].dtype == object else table[c].to_numpy())
            for c in table.columns}


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

    @classmethod
    def observe(cls, model: AllianceModel) -> FirmMonths:
        """A recorder of ``model``, registered as its observer before the run."""
        recorder = cls(model)
        model.observers.append(recorder.record)
        return recorder

    def record(self, model: AllianceModel | None = None) -> None:
        """Snapshot this month (a model observer: called at the end of each month)."""
        f, n = self.model.firms, self.model.firms.n
        alive = f.alive[:n]
        self.revenue.append(np.where(alive, f.revenue[:n], np.nan).astype(np.float32))
        aid = f.alliance_id[:n]
        kind = np.full(n, -1, dtype=np.int8)
        if self.model.alliances is not None:
            allied = alive & self.model.alliances.table.running(aid)
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
                **{c: table[c].to_numpy() for c in ("firm_id", "initial", "sector", "locality", "workers",
                                                    "capability", "birth_month", "ever_allied")}}


def n_workers(requested: int) -> int:
    """Worker processes to use: ``requested`` (at most the machine's cores, with a warning), or every core when 0."""
    cores = available_cores()
    if requested > cores:
        logging.getLogger("alianzas").warning("experiment.workers=%d is more than the %d cores of this machine; "
                                              "using %d", requested, cores, cores)
        return cores
    return requested if requested > 0 else cores


def available_cores() -> int:
    """Cores this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def replication_key(arm: str, cfg: Any) -> str:
    """The name a replication is saved under: its arm and seed (``no_alliances_seed3``)."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{arm}_seed{int(cfg.seed)}")


def run_jobs(jobs: list[tuple[str, Any]], workers: int = 0, progress: bool = True,
             desc: str = "runs", store: ReplicationStore | None = None,
             runner: Callable[[tuple[str, Any]], ArmResult] = run_arm) -> list[ArmResult]:
    """Run ``(arm, cfg)`` jobs, in parallel when ``workers`` != 1; results in job order.

    ``runner`` (a module-level function, so worker processes can import it) runs and
    measures one job; ``run_arm`` by default. With a ``store`` every result is saved
    as soon as it finishes, and a job the store already holds as completed (an
    earlier attempt of a resumed run) is read back instead of run again, so a
    resumed run gives the numbers of an uninterrupted one. A worker that dies
    (killed, out of memory) stops the run with a one-line RuntimeError; what
    finished is kept for a resume.
    """
    if jobs and jobs[0][1].experiment.executor == "submitit":  # issue 15: replications as submitit jobs
        return executors.map_replications(runner, jobs, jobs[0][1], on_failure=lambda job, message: ArmResult(
            arm=job[0], seed=int(job[1].seed), error=message))
    keys = [replication_key(arm, cfg) for arm, cfg in jobs]
    if len(set(keys)) < len(keys):  # arms that share a name and a seed: number them instead
        keys = [f"{i:06d}_{k}" for i, k in enumerate(keys)]
    out: list[ArmResult | None] = [store.load(k, ArmResult) if store else None for k in keys]
    todo = [i for i, res in enumerate(out) if res is None]
    workers = min(n_workers(workers), max(len(todo), 1))
    bar = _progress(len(jobs), desc, progress)
    bar.update(len(jobs) - len(todo))

    def done(i: int, res: ArmResult) -> None:
        out[i] = res
        if store is not None:
            store.save(keys[i], res)
        bar.update(1)

    try:
        if workers == 1:
            for i in todo:
                done(i, runner(jobs[i]))
        else:
            _run_in_pool(jobs, todo, workers, done, runner)
    finally:
        bar.close()
    return out


def _run_in_pool(jobs: list, todo: list[int], workers: int, done: Callable[[int, ArmResult], None],
                 runner: Callable[[tuple[str, Any]], ArmResult] = run_arm) -> None:
    """Run the jobs ``todo`` on ``workers`` processes, calling ``done`` as each finishes; no worker outlives it."""
    # forkserver: workers start from a clean process, not a fork of a threaded parent.
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver"),
                               initializer=_worker_init, initargs=(os.getpid(),))
    futures, handled = {}, set()
    try:
        futures = {pool.submit(runner, jobs[i]): i for i in todo}
        for fut in as_completed(futures):
            done(futures[fut], fut.result())
            handled.add(fut)
    except BrokenProcessPool:
        for fut in futures:  # runs that finished before the pool broke are kept too
            if fut not in handled and fut.done() and not fut.cancelled() and fut.exception() is None:
                done(futures[fut], fut.result())
                handled.add(fut)
        raise RuntimeError(f"a worker process died (killed, or out of memory) after {len(handled)} of {len(todo)} "
                           "runs finished; the finished ones are saved for a resume") from None
    except BaseException:
        _stop_workers(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _stop_workers(pool: ProcessPoolExecutor) -> None:
    """Terminate the pool's worker processes now (an interrupt must not wait for runs in flight)."""
    for proc in list(getattr(pool, "_processes", {}).values()):  # no public API before Python 3.14
        if proc.is_alive():
            proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def _worker_init(parent_pid: int) -> None:
    """In each worker: leave Ctrl-C to the parent (which stops the pool) and exit if the parent dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            time.sleep(1.0)
            try:
                os.kill(parent_pid, 0)
            except ProcessLookupError:
                os._exit(1)
            except PermissionError:
                pass

    threading.Thread(target=watch, name="alianzas-parent-watch", daemon=True).start()


def _progress(total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit="run", disable=not enabled, leave=False)


def paired_jobs(cfg: Any, arms: dict[str, dict], n_seeds: int, first: int = 0) -> list[tuple[str, Any]]:
    """Jobs for every seed ``cfg.seed + first .. cfg.seed + n_seeds - 1`` in every arm (arm -> overrides)."""
    jobs = []
    for k in range(first, n_seeds):
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
