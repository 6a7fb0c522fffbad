"""The Hydra entry point: ``python -m experiments.run [overrides]`` (``-m`` for sweeps).

Before Hydra starts, :func:`prepare` checks the whole command, so a mistake
stops it with one line and exit code 2 before anything runs:

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

import contextlib
import copy
import functools
import hashlib
import itertools
import json
import logging
import os
import signal
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import DictConfig, open_dict

from experiments import launchers, sweep_console
from experiments.registry import EXPERIMENTS
from sim.config import CONFIG_DIR, check, load_config
from sim.io import (LAUNCHER_ENV, RESUME_ENV, RunFolder, RunFolderError, close_open_folders, config_hash,
                    create_unique_folder, effective_status, finite, one_line, open_folders, read_manifest,
                    resume_allowed, write_json)
from sim.field_checks import check_raw_value
from sim.params import ConfigError, register_schema


#: Model runs per seed of each experiment kind (its arms), for the memory estimate; others count 2.
ARMS_PER_SEED = {"single": 1, "uplift": 2, "compatibility_vs_contracts": 4}
MAX_PREFLIGHT = 2000
log = logging.getLogger("alianzas")

#: Hydra settings the command line may change; everything else under ``hydra`` is refused.
HYDRA_KEYS = ("hydra.run.dir", "hydra.sweep.dir", "hydra.mode", "hydra.verbose", "hydra.job.chdir",
              "hydra.launcher.n_jobs", "hydra.sweeper.params", "hydra/launcher",
              # the resources of a submitit (Slurm) job; its `setup` lines (shell commands) stay in config files
              "hydra.launcher.partition", "hydra.launcher.timeout_min", "hydra.launcher.mem_gb",
              "hydra.launcher.cpus_per_task", "hydra.launcher.array_parallelism", "hydra.launcher.nodes",
              "hydra.launcher.tasks_per_node", "hydra.launcher.gpus_per_node", "hydra.launcher.submitit_folder")
#: Launchers and sweepers a sweep may use (Hydra's own basic ones, joblib, and submitit's local and Slurm).
LAUNCHERS = ("hydra._internal.core_plugins.basic_launcher.BasicLauncher",
             "hydra_plugins.hydra_joblib_launcher.joblib_launcher.JoblibLauncher",
             "hydra_plugins.hydra_submitit_launcher.submitit_launcher.LocalLauncher",
             "hydra_plugins.hydra_submitit_launcher.submitit_launcher.SlurmLauncher")
SWEEPERS = ("hydra._internal.core_plugins.basic_sweeper.BasicSweeper",)
#: Hydra options that read configs or earlier runs from elsewhere.
REFUSED_OPTIONS = ("--config-dir", "-cd", "--config-path", "-cp", "--config-name", "-cn", "--experimental-rerun")
INFO_OPTIONS = ("--help", "-h", "--hydra-help", "--info", "-i", "--cfg", "-c", "--shell-completion", "-sc")

#: Memory model of one model run, from peaks measured at 100k-200k firms and 5M firms (performance notes).
BYTES_BASE = 200e6         # interpreter, numpy, pandas, mesa
BYTES_PER_FIRM_ROW = 750   # every column of the firm table, per allocated row, with step temporaries
BYTES_PER_PANEL_ROW = 100  # one living firm in one panel snapshot (about half the firms are alive on average)
BYTES_PER_MONTH = 600      # one row of the monthly series and its demand paths
BYTES_PER_JOB = 8000       # one job's config object in the parent's job list


@dataclass
class Plan:
    """What a command will run, once checked.

    Attributes:
        args: the command line for Hydra (overrides and options, output folder not yet added).
        configs: every configuration it runs, validated (one per sweep job).
        multirun: whether it is a sweep.
        explicit_dir: the output folder given with ``hydra.run.dir`` or ``hydra.sweep.dir``, if any.
        hydra_overrides: the ``hydra.*`` overrides given.
    """

    args: list[str]
    configs: list[Any]
    multirun: bool
    explicit_dir: str | None = None
    hydra_overrides: list[str] = field(default_factory=list)


def _key(arg: str) -> str:
    return arg.split("=", 1)[0].lstrip("+~")


def _is_hydra(arg: str) -> bool:
    return _key(arg) == "hydra" or _key(arg).startswith(("hydra.", "hydra/"))


def refuse_code_loading(args: list[str]) -> None:
    """Refuse options and keys that load code or configs from elsewhere, and unknown Hydra settings."""
    for arg in args:
        name = arg.split("=", 1)[0]
        if name in REFUSED_OPTIONS:
            raise ConfigError(f"{name} is not accepted: it reads configs from outside configs/; allowed options: "
                              "-m (sweep), --cfg job, --help")
        if arg.startswith("-"):
            continue
        key = _key(arg)
        if "_target_" in key or key.endswith("._args_") or ".()" in key:
            raise ConfigError(f"{key} is not accepted from the command line: it would load code")
        if _is_hydra(arg) and not (key in HYDRA_KEYS or key.startswith("hydra.sweeper.params.")):
            raise ConfigError(f"{key} is not accepted from the command line (hydra.callbacks, logging and search "
                              f"path settings can load code); allowed hydra keys: {', '.join(HYDRA_KEYS)}")


def check_hydra_node(hydra_cfg: Any) -> None:
    """Refuse a composed Hydra node (a sweep file's) that adds callbacks or another launcher or sweeper."""
    if hydra_cfg.get("callbacks"):
        raise ConfigError(f"hydra.callbacks={list(hydra_cfg.callbacks)} is not accepted: callbacks load code")
    launcher = str(hydra_cfg.launcher.get("_target_", ""))
    if launcher not in LAUNCHERS:
        raise ConfigError(f"hydra.launcher._target_={launcher!r} is not accepted; allowed: {', '.join(LAUNCHERS)}")
    sweeper = str(hydra_cfg.sweeper.get("_target_", ""))
    if sweeper not in SWEEPERS:
        raise ConfigError(f"hydra.sweeper._target_={sweeper!r} is not accepted; allowed: {', '.join(SWEEPERS)}")


def _choices(overrides: list[str]) -> list[list[str]]:
    """For each override, the list of single-valued overrides it stands for (sweeps expanded)."""
    parser = OverridesParser.create()
    parsed = []
    for line in overrides:
        try:
            parsed += parser.parse_overrides([line])
        except Exception as err:  # Hydra raises its own OverrideParseException
            reason = " ".join(str(err).split()).split(" See https://")[0]
            raise ConfigError(f"{line!r} is not a valid override ({reason}); expected name=value in Hydra's "
                              "override syntax (quote values with special characters)") from None
    out = []
    for ov in parsed:
        key = ov.get_key_element()
        if not ov.key_or_group.strip(" +~"):
            raise ConfigError(f"{ov.input_line!r} has no parameter name; expected name=value")
        if ov.is_sweep_override():
            try:
                values = list(ov.sweep_string_iterator())
            except Exception as err:  # glob() needs the config repository; interval() cannot be listed
                raise ConfigError(f"{ov.input_line} is not accepted ({' '.join(str(err).split())}); allowed: a "
                                  "list of values (a,b,c) or range(start,stop)") from None
            for value in ov.sweep_iterator():
                check_raw_value(key, value)
            out.append([f"{key}={v}" for v in values])
        else:
            try:
                check_raw_value(key, ov.value())
            except ConfigError:
                raise
            except Exception:  # values that only Hydra's composition can judge
                pass
            out.append([ov.input_line])
    return out


def hydra_node(fixed: list[str]) -> Any:
    """The Hydra node the command composes to (its sweep file's grid, mode and launcher), or None."""
    full = composed(tuple(fixed))
    return full.hydra if full is not None else None


@functools.lru_cache(maxsize=32)
def composed(fixed: tuple[str, ...]) -> Any:
    """The full config (Hydra's node included) of a list of single-valued overrides, or None if it does not
    compose. Cached: a command is composed once for its checks and its model config."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            return compose(config_name="config", overrides=list(fixed), return_hydra_config=True)
    except Exception:  # composition errors are reported by load_config with a clear line
        return None
    finally:
        GlobalHydra.instance().clear()


def expand_overrides(args: list[str]) -> list[list[str]]:
    """Every combination of model overrides the command stands for: its own sweep values,
    ``hydra.sweeper.params.<key>=...`` given on the command line, and the grid of a sweep
    file it selects (``hydra.sweeper.params``), the command's values taking precedence."""
    return _expand(args)[0]


def _expand(args: list[str]) -> tuple[list[list[str]], Any, Any]:
    """The combinations of :func:`expand_overrides`, the composed Hydra node (None if it does not compose)
    and, when the command stands for one configuration composed as is, its model config (else None)."""
    model_args = [a for a in args if not a.startswith("-") and not _is_hydra(a)]
    model_args += [a.lstrip("+~")[len("hydra.sweeper.params."):] for a in args
                   if a.lstrip("+~").startswith("hydra.sweeper.params.")]
    choices = _choices(model_args)
    fixed = [c[0] for c in choices if len(c) == 1]
    given = {c[0].split("=", 1)[0].lstrip("+~") for c in choices}
    hydra_args = [a for a in args if _is_hydra(a) and not a.lstrip("+~").startswith(
        ("hydra.run.dir", "hydra.sweep.dir", "hydra.sweeper.params."))]
    full = composed(tuple(fixed + hydra_args))
    node = full.hydra if full is not None else None
    params = (node.sweeper.get("params") or {}) if node is not None else {}
    from_file = [o for o in (f"{k}={v}" for k, v in params.items()) if o.split("=", 1)[0] not in given]
    choices += _choices(from_file)
    combos = [list(c) for c in itertools.islice(itertools.product(*choices), MAX_PREFLIGHT)]
    model = None
    if full is not None and combos == [fixed]:
        model = copy.deepcopy(full)
        with open_dict(model):
            del model["hydra"]
    return combos, node, model


def plan(args: list[str]) -> Plan:
    """Check a command line and return what it will run.

    Raises:
        ConfigError: one line naming the parameter, the value and what is allowed.
    """
    refuse_code_loading(args)
    combos, node, model = _expand(args)
    if node is not None:
        check_hydra_node(node)
    multirun = any(a in ("-m", "--multirun") for a in args) or (
        node is not None and str(node.get("mode")) == str(RunMode.MULTIRUN))
    if len(combos) > 1 and not multirun:
        keys = [c.split("=", 1)[0] for c in combos[0]]
        swept = [k for i, k in enumerate(keys) if len({combo[i] for combo in combos}) > 1]
        raise ConfigError(f"{', '.join(swept) or 'a parameter'} has several values; add -m (multirun) "
                          "to sweep them")
    configs = [check(model)] if model is not None else [check(load_config(*combo)) for combo in combos]
    explicit = [a.split("=", 1)[1] for a in args
                if a.lstrip("+~").startswith("hydra.sweep.dir=" if multirun else "hydra.run.dir=")]
    for path in explicit:
        if not path.strip():
            raise ConfigError(f"{'hydra.sweep.dir' if multirun else 'hydra.run.dir'}='' is not allowed; "
                              "expected a folder")
    check_memory(configs, multirun, node)
    return Plan(args=list(args), configs=configs, multirun=multirun, explicit_dir=explicit[-1] if explicit else None,
                hydra_overrides=[a for a in args if _is_hydra(a)])


def preflight(args: list[str]) -> int:
    """Compose and validate every configuration the command would run; return how many."""
    if any(a in INFO_OPTIONS for a in args):
        return 0
    return len(plan(args).configs)


def available_memory() -> int | None:
    """Bytes of memory this process can still use: MemAvailable, or a lower cgroup limit (None if unknown)."""
    avail = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        if limit.isdigit():
            avail = min(avail or int(limit), int(limit) - used)
    except (OSError, ValueError):
        pass
    return avail


def run_bytes(cfg: Any) -> float:
    """Estimated peak bytes of one model run of ``cfg`` (firm table, panel, series, interpreter)."""
    rows = cfg.firms.n_firms * (1.5 + cfg.births.rate_monthly * cfg.months)
    if cfg.firms.initial_population == "stock":
        rows += cfg.firms.n_firms * cfg.births.rate_monthly * cfg.firms.stock_burn_in_months
    every = cfg.output.panel_every_months
    panel = 0.5 * cfg.firms.n_firms * (cfg.months // every + 1) if every else 0
    return BYTES_BASE + rows * BYTES_PER_FIRM_ROW + panel * BYTES_PER_PANEL_ROW + cfg.months * BYTES_PER_MONTH


def jobs_of(cfg: Any) -> int:
    """Model runs an experiment of ``cfg`` makes."""
    ex = cfg.experiment
    if ex.kind == "policy_compare":
        arms = 1 + (len(ex.arms) or len(cfg.policies) or len(ex.instruments))
    elif ex.kind == "uplift_frontier":
        from sim.validation import parse_grid
        points = 1
        for values in parse_grid(ex.grid).values():
            points *= len(values)
        arms = 1 + points
    else:
        arms = ARMS_PER_SEED.get(ex.kind, 2)
    return arms * (1 if ex.kind == "single" else ex.n_seeds)


def peak_bytes(cfg: Any) -> float:
    """Estimated peak bytes of an experiment: its workers' model runs plus the results it holds."""
    from experiments.compare import available_cores

    one = run_bytes(cfg)
    jobs = jobs_of(cfg)
    if cfg.experiment.kind == "single":
        return one
    workers = min(cfg.experiment.workers or available_cores(), available_cores(), jobs)
    held = jobs * (BYTES_PER_JOB + cfg.months * 8 * 8 + cfg.firms.n_firms * 4 * 8)
    return one * (workers + (1 if workers > 1 else 0)) - (BYTES_BASE if workers == 1 else 0) + held


def check_memory(configs: list[Any], multirun: bool, node: Any) -> None:
    """Refuse a run whose estimated peak memory exceeds what is available; cap workers with a warning."""
    from experiments.compare import available_cores

    for cfg in configs[:1] if not multirun else configs:
        requested = cfg.experiment.workers
        if requested > available_cores() and cfg.experiment.kind != "single":
            print(f"alianzas: warning: experiment.workers={requested} is more than the {available_cores()} "
                  f"cores of this machine; using {available_cores()}", file=sys.stderr)
            break
    avail = available_memory()
    if avail is None or not configs:
        return
    parallel = 1
    if multirun and node is not None and "n_jobs" in node.launcher:
        parallel = max(1, min(int(node.launcher.n_jobs or 1), available_cores(), len(configs)))
    need = max(peak_bytes(c) for c in configs) * parallel
    if need > avail:
        cfg = max(configs, key=peak_bytes)
        raise ConfigError(
            f"this run needs about {need / 1e9:.1f} GB of memory at its peak ({cfg.firms.n_firms:,} firms, "
            f"{cfg.months:,} months, births.rate_monthly={cfg.births.rate_monthly}, {jobs_of(cfg):,} model runs"
            f"{f', {parallel} sweep jobs at once' if parallel > 1 else ''}), more than the "
            f"{avail / 1e9:.1f} GB available; allowed: fewer firms, months, births, seeds or workers")


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
    keys = {_key(a) for a in extra if not a.startswith("-")}
    return [a for a in stored if a.startswith("-") or _key(a) not in keys] + [a for a in extra if a not in stored]


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
    args = [a for a in p.args if not a.startswith("-") and not _is_hydra(a)]
    fixed = sorted({_key(a) for a in args if len(_choices([a])[0]) == 1})
    return [f"hydra.job.config.override_dirname.exclude_keys=[{','.join(fixed)}]"] if fixed else []


def sweep_manifest(p: Plan, args: list[str]) -> dict:
    """The manifest of a sweep folder: how to replay it, its jobs' hash, who runs it."""
    import socket

    from sim.io import now_iso
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
        if not arg.startswith("-") and _key(arg) not in allowed:
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
    """Run the configured experiment in Hydra's output folder (a sweep job's output goes to its job.log)."""
    hc = HydraConfig.get()
    if hc.mode == RunMode.MULTIRUN:
        with sweep_console.job_output(Path(hc.runtime.output_dir)):
            return run_job(cfg)
    return run_job(cfg)


def run_job(cfg: DictConfig) -> dict | None:
    """Run the configured experiment in Hydra's output folder; print its headline numbers."""
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
    if prepared.plan.multirun:  # Hydra's own lines (one per job) would crowd out the progress bar
        sys.argv.append("hydra/hydra_logging=none")
    console = sweep_console.SweepConsole(prepared.folder, len(prepared.plan.configs)) if prepared.plan.multirun \
        else contextlib.nullcontext()
    code = 0
    try:
        with console:
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
        console.print(sweep_console.closing_summary(prepared.folder))
    return code


def finish_sweep(folder: Path, status: str | None = None) -> int:
    """Record the sweep's end, mark jobs whose process is gone ``interrupted``; 1 if any job did not complete
    (``experiments.sweep_console.closing_summary`` lists them)."""
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
        from sim.io import now_iso
        manifest.update(status=status or ("failed" if bad else "completed"), ended=now_iso(),
                        jobs_completed=sum(r.status in USABLE for r in records), jobs_failed=len(bad))
        write_json(folder / "manifest.json", manifest)
    except ValueError:
        pass
    return 1 if status is None and bad else 0


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
