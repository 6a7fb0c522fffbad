"""What a command will run, checked before Hydra starts: one line and exit code 2 for any mistake.

Every requested configuration (each combination of a sweep, the grid of a sweep
file and ``hydra.sweeper.params`` given on the command line included) is composed
and validated: parameter names, types, ranges, cross-field rules. Keys that would
load code or configs from elsewhere (``hydra.callbacks``, any ``_target_``, logging
and search-path settings, ``--config-dir``) are refused from the command line and
from sweep files. The peak memory is estimated (``experiments.runtime.memory``).
"""

from __future__ import annotations

import copy
import functools
import itertools
from dataclasses import dataclass, field
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import open_dict

from experiments.runtime.memory import check_memory
from sim.config import CONFIG_DIR, check, load_config
from sim.field_checks import check_raw_value
from sim.schema import ConfigError

#: Hydra options that only print (help, the composed config): nothing runs, nothing is checked.
INFO_OPTIONS = ("--help", "-h", "--hydra-help", "--info", "-i", "--cfg", "-c", "--shell-completion", "-sc")
#: Combinations of a sweep checked before it starts (a larger sweep is checked up to this many).
MAX_PREFLIGHT = 2000

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


def key_of(arg: str) -> str:
    """The config key an override sets (``+x.y=1`` -> ``x.y``)."""
    return arg.split("=", 1)[0].lstrip("+~")


def is_hydra(arg: str) -> bool:
    """Whether an override sets a Hydra setting (``hydra.*`` or a ``hydra/`` group)."""
    return key_of(arg) == "hydra" or key_of(arg).startswith(("hydra.", "hydra/"))


def refuse_code_loading(args: list[str]) -> None:
    """Refuse options and keys that load code or configs from elsewhere, and unknown Hydra settings."""
    for arg in args:
        name = arg.split("=", 1)[0]
        if name in REFUSED_OPTIONS:
            raise ConfigError(f"{name} is not accepted: it reads configs from outside configs/; allowed options: "
                              "-m (sweep), --cfg job, --help")
        if arg.startswith("-"):
            continue
        key = key_of(arg)
        if "_target_" in key or key.endswith("._args_") or ".()" in key:
            raise ConfigError(f"{key} is not accepted from the command line: it would load code")
        if is_hydra(arg) and not (key in HYDRA_KEYS or key.startswith("hydra.sweeper.params.")):
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


def override_choices(overrides: list[str]) -> list[list[str]]:
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
    model_args = [a for a in args if not a.startswith("-") and not is_hydra(a)]
    model_args += [a.lstrip("+~")[len("hydra.sweeper.params."):] for a in args
                   if a.lstrip("+~").startswith("hydra.sweeper.params.")]
    choices = override_choices(model_args)
    fixed = [c[0] for c in choices if len(c) == 1]
    given = {c[0].split("=", 1)[0].lstrip("+~") for c in choices}
    hydra_args = [a for a in args if is_hydra(a) and not a.lstrip("+~").startswith(
        ("hydra.run.dir", "hydra.sweep.dir", "hydra.sweeper.params."))]
    full = composed(tuple(fixed + hydra_args))
    node = full.hydra if full is not None else None
    params = (node.sweeper.get("params") or {}) if node is not None else {}
    from_file = [o for o in (f"{k}={v}" for k, v in params.items()) if o.split("=", 1)[0] not in given]
    choices += override_choices(from_file)
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
                hydra_overrides=[a for a in args if is_hydra(a)])


def preflight(args: list[str]) -> int:
    """Compose and validate every configuration the command would run; return how many."""
    if any(a in INFO_OPTIONS for a in args):
        return 0
    return len(plan(args).configs)
