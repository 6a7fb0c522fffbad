"""The Hydra entry point: ``python -m experiments.run [overrides]`` (``-m`` for sweeps).

Before Hydra starts, :func:`prepare` checks the whole command
(``experiments.runtime.preflight``), so a mistake stops it with one line and exit
code 2 before anything runs:

- every requested configuration (each combination of a sweep, the grid of a
  sweep file and ``hydra.sweeper.params`` given on the command line included)
  is composed and validated: parameter names, types, ranges, cross-field rules;
- keys that would load code or configs from elsewhere (``hydra.callbacks``,
  any ``_target_``, logging and search-path settings, ``--config-dir``) are
  refused from the command line and from sweep files;
- the peak memory of the run is estimated and a run that cannot fit is refused
  with the figure; more workers than cores are capped with a warning.

Then it creates the run's own folder (``<output.root>/runs/...`` or
``<output.root>/sweeps/...``) exclusively, adding ``-2``, ``-3`` ... on a clash,
and hands the command to Hydra with that folder. ``resume=<folder>`` replays a
run or sweep's own overrides into its folder after checking the config hash
in its manifest; only missing or failed replications (and jobs) run again.
SIGINT and SIGTERM stop workers and record ``interrupted``. A sweep whose jobs
did not all complete exits 1 and lists them.

The functions take argument lists, so another command-line front end can call
:func:`prepare`, :func:`launch` and :func:`main` directly.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from experiments.kinds import EXPERIMENTS
from experiments.runtime import launchers
from experiments.runtime.preflight import INFO_OPTIONS, Plan, is_hydra, key_of, override_choices, plan
from sim.config import CONFIG_DIR, check
from sim.files import finite, write_json
from sim.io import RunFolder, RunFolderError, config_hash, create_unique_folder, read_manifest
from sim.params import register_schema
from sim.schema import ConfigError
from sim.supervision import (
    LAUNCHER_ENV,
    RESUME_ENV,
    close_open_folders,
    effective_status,
    one_line,
    open_folders,
    resume_allowed,
)

log = logging.getLogger("alianzas")


@dataclass
class Launch:
    """A checked command ready for Hydra.

    Attributes:
        plan: what it runs.
        folder: the run or sweep folder it writes (created, or the resumed one).
        hydra_args: the command line handed to Hydra.
        resumed: whether it resumes an earlier run.
    """

    plan: Plan
    folder: Path
    hydra_args: list[str]
    resumed: bool = False


def _stamp() -> str:
    return datetime.now().strftime("%Y-%m-%d_%H-%M-%S")


def sweep_hash(configs: list[Any]) -> str:
    """One hash for a sweep: of its jobs' config hashes, in any order."""
    return hashlib.sha256("".join(sorted(config_hash(c) for c in configs)).encode()).hexdigest()


def _merge(stored: list[str], extra: list[str]) -> list[str]:
    """Stored arguments with the keys ``extra`` gives replaced by its values."""
    keys = {key_of(a) for a in extra if not a.startswith("-")}
    return [a for a in stored if a.startswith("-") or key_of(a) not in keys] + [a for a in extra if a not in stored]


def prepare(args: list[str]) -> Launch:
    """Check a command, create (or reopen for a resume) its output folder; return what to hand to Hydra.

    Raises:
        ConfigError: a bad input, in one line (nothing has been written).
    """
    resume = [a.split("=", 1)[1] for a in args if a.startswith("resume=")]
    rest = [a for a in args if not a.startswith("resume=")]
    if resume:
        return _prepare_resume(Path(resume[-1]), rest)
    p = plan(rest)
    cfg = p.configs[0]
    if p.explicit_dir is not None:
        folder = Path(p.explicit_dir)
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise ConfigError(f"{folder} already exists and is not empty; a run writes only into a new folder "
                              f"(resume a run with resume={folder})")
    else:
        folder = None
    try:
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        elif p.multirun:
            folder = create_unique_folder(Path(cfg.output.root) / "sweeps", f"{_stamp()}_{cfg.experiment.name}")
        else:
            folder = create_unique_folder(Path(cfg.output.root) / "runs",
                                          f"{_stamp()}_{cfg.experiment.name}_seed{cfg.seed}")
    except OSError as err:
        raise ConfigError(f"cannot create the run folder under {folder or cfg.output.root}: "
                          f"{err.strerror or err}; allowed: a writable output.root") from None
    key = "hydra.sweep.dir" if p.multirun else "hydra.run.dir"
    hydra_args = [a for a in rest if not a.lstrip("+~").startswith(key + "=")] + [f"{key}={folder}"]
    hydra_args += job_name_settings(p)
    if p.multirun:
        write_json(folder / "manifest.json", sweep_manifest(p, rest), exclusive=True)
    return Launch(plan=p, folder=folder, hydra_args=hydra_args)


def job_name_settings(p: Plan) -> list[str]:
    """Leave the overrides every sweep job shares out of job folder names (they name the sweep, not the job)."""
    if not p.multirun:
        return []
    args = [a for a in p.args if not a.startswith("-") and not is_hydra(a)]
    fixed = sorted({key_of(a) for a in args if len(override_choices([a])[0]) == 1})
    return [f"hydra.job.config.override_dirname.exclude_keys=[{','.join(fixed)}]"] if fixed else []


def sweep_manifest(p: Plan, args: list[str]) -> dict:
    """The manifest of a sweep folder: how to replay it, its jobs' hash, who runs it."""
    import socket

    from sim.supervision import now_iso
    return {"kind": "sweep", "name": p.configs[0].experiment.name, "status": "running", "started": now_iso(),
            "heartbeat": now_iso(), "ended": None, "pid": os.getpid(), "host": socket.gethostname(),
            "config_hash": sweep_hash(p.configs), "n_jobs": len(p.configs),
            "overrides": [a for a in args if not a.lstrip("+~").startswith("hydra.sweep.dir=")]}


def _prepare_resume(folder: Path, extra: list[str]) -> Launch:
    """Reopen ``folder``: replay its overrides (``extra`` may change only workers, progress and launcher jobs)."""
    try:
        manifest = read_manifest(folder)
    except ValueError as err:
        raise ConfigError(f"resume={folder} is not a run or sweep folder ({err})") from None
    if effective_status(manifest) == "running":
        raise ConfigError(f"resume={folder}: the run is still running (pid {manifest.get('pid')} on "
                          f"{manifest.get('host')})")
    allowed = ("experiment.workers", "experiment.progress", "hydra.launcher.n_jobs")
    for arg in extra:
        if not arg.startswith("-") and key_of(arg) not in allowed:
            raise ConfigError(f"resume={folder} {arg}: a resume replays the run's own configuration; allowed "
                              f"extra settings: {', '.join(allowed)}")
    sweep = manifest.get("kind") == "sweep"
    stored = list(manifest.get("overrides") or [])
    args = _merge(stored + (["-m"] if sweep and "-m" not in stored else []), extra)
    p = plan(args)
    digest = sweep_hash(p.configs) if sweep else config_hash(p.configs[0])
    if manifest.get("config_hash") != digest:
        raise ConfigError(f"resume={folder}: the configuration no longer matches the run's (config hash "
                          f"{str(manifest.get('config_hash'))[:12]} recorded, {digest[:12]} now; the code's defaults "
                          "or config files changed); start a new run instead")
    key = "hydra.sweep.dir" if sweep else "hydra.run.dir"
    if sweep:
        manifest.update(status="running", pid=os.getpid(), ended=None)
        write_json(folder / "manifest.json", manifest)
    return Launch(plan=p, folder=folder, hydra_args=[*args, f"{key}={folder}", *job_name_settings(p)], resumed=True)


def run_experiment(cfg: Any, out_dir: Path) -> dict:
    """Run ``cfg``'s experiment in ``out_dir``, recording ``failed`` or ``interrupted`` if it does not finish.

    In a resume, a run whose manifest already says ``completed`` with the same
    config hash is not run again: its summary is returned.
    """
    out_dir = Path(out_dir)
    if resume_allowed(out_dir) and (out_dir / "summary.json").is_file():
        try:
            done = read_manifest(out_dir)
        except ValueError:
            done = {}
        if done.get("status") == "completed" and done.get("config_hash") == config_hash(cfg):
            return json.loads((out_dir / "summary.json").read_text())
    already_open = open_folders()
    try:
        return EXPERIMENTS[cfg.experiment.kind](cfg, out_dir)
    except BaseException as err:
        close_open_folders(err, keep=already_open)
        if not isinstance(err, RunFolderError) and not (out_dir / "manifest.json").exists():
            RunFolder(out_dir, cfg, seed=cfg.seed, kind=cfg.experiment.kind).finish(
                "interrupted" if isinstance(err, KeyboardInterrupt) else "failed", error=one_line(err))
        raise


@hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
def hydra_main(cfg: DictConfig) -> dict | None:
    """Run the configured experiment in Hydra's output folder."""
    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    hc = HydraConfig.get()
    out_dir = hc.runtime.output_dir
    try:
        summary = run_experiment(check(cfg), Path(out_dir))
    except ConfigError as err:  # found only by the experiment (a target or uncertainty name, a resume folder)
        if hc.mode == RunMode.MULTIRUN:
            raise
        print(f"alianzas: configuration error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except Exception as err:
        if hc.mode != RunMode.MULTIRUN:
            print(f"alianzas: run failed: {one_line(err)} (run folder {out_dir}; after fixing the cause, "
                  f"continue it with resume={out_dir})", file=sys.stderr)
            raise SystemExit(1) from None
        # In a sweep one failed job must not stop the others: report it and go on.
        log.error("job %s failed (%s): %s", hc.job.num, out_dir, one_line(err))
        return None
    print(json.dumps(finite({"run_folder": out_dir, **{k: summary[k] for k in list(summary)[:12]}}), indent=1,
                     default=str))
    return summary


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every handler records ``interrupted`` and stops its workers."""


def _on_sigterm(signum, frame):
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM ends the process at once
    raise Terminated("interrupted (SIGTERM)")


def launch(prepared: Launch) -> int:
    """Hand a prepared command to Hydra; return the exit code (1 for a failed run or sweep job)."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    os.environ[LAUNCHER_ENV] = str(os.getpid())
    if prepared.resumed:
        os.environ[RESUME_ENV] = str(prepared.folder.resolve())
    saved_argv = sys.argv
    # Options first: Hydra's parser takes no option after the first override ("a=1 -m b=2" would fail there).
    options = [a for a in prepared.hydra_args if a.startswith("-")]
    sys.argv = [saved_argv[0], *options, *[a for a in prepared.hydra_args if not a.startswith("-")]]
    code = 0
    try:
        hydra_main()
    except KeyboardInterrupt as err:
        close_open_folders(err)
        if prepared.plan.multirun:
            finish_sweep(prepared.folder, "interrupted")
        print(f"alianzas: {one_line(err)}; run folder {prepared.folder}; continue it with "
              f"resume={prepared.folder}", file=sys.stderr)
        return 143 if isinstance(err, Terminated) else 130
    except SystemExit as err:
        code = err.code if isinstance(err.code, int) else 1
    finally:
        sys.argv = saved_argv
    if prepared.plan.multirun:
        code = finish_sweep(prepared.folder) or code
    return code


def finish_sweep(folder: Path, status: str | None = None) -> int:
    """Record the sweep's end, mark jobs whose process is gone ``interrupted``; 1 (listing them) if any job
    did not complete."""
    from experiments.collect import USABLE, read_sweep
    records = read_sweep(folder)
    for r in records:
        if r.status == "interrupted" and (r.run_folder / "manifest.json").is_file():
            try:
                manifest = read_manifest(r.run_folder)
            except ValueError:
                continue
            if manifest.get("status") == "running":
                manifest.update(status="interrupted", error="its process ended without recording an end")
                write_json(r.run_folder / "manifest.json", manifest)
    bad = [r for r in records if r.status not in USABLE]
    try:
        manifest = read_manifest(folder)
        from sim.supervision import now_iso
        manifest.update(status=status or ("failed" if bad else "completed"), ended=now_iso(),
                        jobs_completed=sum(r.status in USABLE for r in records), jobs_failed=len(bad))
        write_json(folder / "manifest.json", manifest)
    except ValueError:
        pass
    if status is None and bad:
        print(f"alianzas: {len(bad)} of {len(records)} sweep jobs did not complete:", file=sys.stderr)
        for r in bad:
            print(f"  {r.run_folder.name}: {r.status}" + (f": {r.error}" if r.error else ""), file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    """Check the command line, create the run's folder, run it through Hydra; return the exit code."""
    register_schema()
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in INFO_OPTIONS for a in args):
        sys.argv = [sys.argv[0], *args]
        hydra_main()
        return 0
    try:
        launchers.check_launcher(args)  # an unknown or uninstalled launcher, in one line
        prepared = prepare(args)
    except ConfigError as err:
        print(f"alianzas: configuration error: {err}", file=sys.stderr)
        return 2
    return launch(prepared)


if __name__ == "__main__":
    raise SystemExit(main())
