"""Replications as cluster jobs: the seeds and arms of one experiment sent through submitit.

An experiment's replications (uplift seeds, policy arms) run by default in
local worker processes (``experiments.compare.run_jobs``). With
``experiment.executor=submitit`` they are packed into jobs of
``experiment.submitit.replications_per_job`` replications each and submitted
as one job array through submitit's ``AutoExecutor``: Slurm where ``sbatch``
exists, local processes otherwise (``experiment.submitit.cluster``). submitit
pickles the function and its inputs into the job folder and the results back,
so a 1,000-seed uplift can run on a cluster while this process waits and
then computes the estimates, exactly as with local workers: results come back
in job order, so the numbers do not depend on the executor.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Sequence

from tqdm.auto import tqdm

from sim.io import results_root
from sim.params import ConfigError


def _run_chunk(fn: Callable[[Any], Any], chunk: Sequence[Any]) -> list:
    """What one submitted job runs: ``fn`` on each replication of its chunk, in order."""
    return [fn(job) for job in chunk]


def job_folder(setting: str) -> Path:
    """Where submitit keeps logs and pickles: the setting, or ``<results>/submitit/<date>_<time>/%j``."""
    if setting:
        return Path(setting)
    return results_root() / "submitit" / datetime.now().strftime("%Y-%m-%d_%H-%M-%S") / "%j"


def submitit_executor(settings: Any, name: str = "alianzas"):
    """A submitit ``AutoExecutor`` configured from ``experiment.submitit``; its jobs are named ``name``
    (the experiment's name, so that ``squeue`` tells one experiment's jobs from another's).

    Raises:
        ConfigError: submitit is not installed (it comes with the ``cluster`` extra).
    """
    try:
        import submitit
    except ImportError:
        raise ConfigError("experiment.executor=submitit needs submitit, which is not installed; install it with: "
                          "pip install 'alianzas[cluster]'") from None
    executor = submitit.AutoExecutor(folder=job_folder(settings.folder), cluster=settings.cluster
                                     if settings.cluster != "auto" else None)
    slurm = {"slurm_array_parallelism": int(settings.array_parallelism)}
    if settings.partition:
        slurm["slurm_partition"] = settings.partition
    executor.update_parameters(name=name, timeout_min=int(settings.timeout_min), mem_gb=float(settings.mem_gb),
                               cpus_per_task=int(settings.cpus_per_task), **slurm)
    return executor


def map_replications(fn: Callable[[Any], Any], jobs: Sequence[Any], cfg: Any,
                     on_failure: Callable[[Any, str], Any] | None = None) -> list:
    """``[fn(job) for job in jobs]``, computed by submitted jobs as ``cfg.experiment`` says.

    Args:
        fn: a picklable module-level function of one replication.
        jobs: the replications, each a picklable input of ``fn``.
        cfg: the experiment's ``Config``; ``experiment.submitit`` sets the jobs.
        on_failure: called as ``on_failure(job, message)`` for each replication of a
            job that failed as a whole (timeout, lost node), its return taking the
            result's place; without it such a failure raises.

    Returns:
        The results in the order of ``jobs``.

    Raises:
        RuntimeError: a job failed and ``on_failure`` is None.
    """
    settings = cfg.experiment.submitit
    size = int(settings.replications_per_job)
    chunks = [list(jobs[i:i + size]) for i in range(0, len(jobs), size)]
    if not chunks:
        return []
    executor = submitit_executor(settings, name=str(cfg.experiment.name))
    submitted = executor.map_array(_run_chunk, [fn] * len(chunks), chunks)
    out = []
    for job, chunk in tqdm(list(zip(submitted, chunks)), desc="submitted jobs", unit="job", leave=False,
                           disable=not cfg.experiment.progress):
        try:
            out += job.result()
        except Exception as err:  # submitit re-raises the job's failure with its log
            message = f"submitit job {job.job_id} failed: {type(err).__name__}: {err}"
            if on_failure is None:
                raise RuntimeError(message) from err
            out += [on_failure(item, message) for item in chunk]
    return out
