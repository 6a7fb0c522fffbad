"""The Hydra entry point: ``python -m experiments.run [overrides]`` (``-m`` for sweeps).

Before Hydra starts, every requested configuration (each combination of a
sweep) is composed and validated, so a wrong parameter name, a wrong type or an
out-of-range value stops the run with one line and exit code 2, no traceback.
"""

from __future__ import annotations

import itertools
import json
import logging
import sys

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.types import RunMode
from omegaconf import DictConfig

from experiments import calibrate, frontier, launchers, levers, policy_compare, sensitivity, single, uplift, validate
from sim.config import CONFIG_DIR, check, load_config
from sim.io import finite
from sim.params import ConfigError, register_schema

EXPERIMENTS = {"single": single.run, "uplift": uplift.run, "uplift_frontier": frontier.run,
               "compatibility_vs_contracts": levers.run, "policy_compare": policy_compare.run,
               "validate": validate.run, "calibrate": calibrate.run, "sensitivity": sensitivity.run}
MAX_PREFLIGHT = 2000
log = logging.getLogger("alianzas")


def _choices(overrides: list[str]) -> list[list[str]]:
    """For each override, the list of single-valued overrides it stands for (sweeps expanded)."""
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except Exception as err:  # Hydra raises its own OverrideParseException
        raise ConfigError(" ".join(str(err).split())) from None
    out = []
    for ov in parsed:
        if ov.is_sweep_override():
            out.append([f"{ov.get_key_element()}={v}" for v in ov.sweep_string_iterator()])
        else:
            out.append([ov.input_line])
    return out


def sweep_file_params(fixed: list[str]) -> list[str]:
    """``hydra.sweeper.params`` of the composed config (a sweep file's grid) as overrides."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name="config", overrides=fixed, return_hydra_config=True)
        params = cfg.hydra.sweeper.get("params") or {}
        return [f"{key}={value}" for key, value in params.items()]
    except Exception:  # composition errors are reported by load_config with a clear line
        return []
    finally:
        GlobalHydra.instance().clear()


def expand_overrides(args: list[str]) -> list[list[str]]:
    """Every combination of model overrides the command stands for: its own sweep values,
    and the grid of a sweep file it selects (``hydra.sweeper.params``), the command's
    values taking precedence."""
    model_args = [a for a in args if not a.startswith("-") and not a.lstrip("+~").startswith("hydra")]
    choices = _choices(model_args)
    fixed = [c[0] for c in choices if len(c) == 1]
    given = {c[0].split("=", 1)[0].lstrip("+~") for c in choices}
    grid_args = [a for a in args if a.lstrip("+~").startswith("hydra.sweeper.params")]
    from_file = [o for o in sweep_file_params(fixed + grid_args) if o.split("=", 1)[0] not in given]
    choices += _choices(from_file)
    return [list(c) for c in itertools.islice(itertools.product(*choices), MAX_PREFLIGHT)]


def preflight(args: list[str]) -> int:
    """Compose and validate every configuration the command would run; return how many."""
    if any(a in ("--help", "-h", "--hydra-help", "--info", "-i", "--cfg", "-c", "--shell-completion",
                 "-sc") for a in args):
        return 0
    combos = expand_overrides(args)
    sweeping = any(a in ("-m", "--multirun") for a in args) or any("sweep=" in a for a in args)
    if len(combos) > 1 and not sweeping:
        keys = [c.split("=", 1)[0] for c in combos[0]]
        swept = [k for i, k in enumerate(keys) if len({combo[i] for combo in combos}) > 1]
        raise ConfigError(f"{', '.join(swept) or 'a parameter'} has several values; add -m (multirun) "
                          "to sweep them")
    for combo in combos:
        load_config(*combo)
    return len(combos)


@hydra.main(config_path=str(CONFIG_DIR), config_name="config", version_base="1.3")
def hydra_main(cfg: DictConfig) -> dict | None:
    """Run the configured experiment in Hydra's output folder."""
    logging.getLogger("MESA").setLevel(logging.WARNING)  # Mesa logs every step at INFO
    hc = HydraConfig.get()
    out_dir = hc.runtime.output_dir
    try:
        obj = check(cfg)
        summary = EXPERIMENTS[obj.experiment.kind](obj, out_dir)
    except ConfigError as err:  # found only by the experiment (a target or uncertainty name, a resume folder)
        if hc.mode == RunMode.MULTIRUN:
            raise
        print(f"alianzas: configuration error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    except Exception as err:
        if hc.mode != RunMode.MULTIRUN:
            raise
        # In a sweep one failed job must not stop the others: report it and go on.
        log.error("job %s failed (%s): %s: %s", hc.job.num, out_dir, type(err).__name__, err)
        return None
    print(json.dumps(finite({"run_folder": out_dir, **{k: summary[k] for k in list(summary)[:12]}}), indent=1,
                     default=str))
    return summary


def main() -> None:
    """Validate the command line, then hand it to Hydra."""
    register_schema()
    try:
        preflight(sys.argv[1:])
        launchers.check_launcher(sys.argv[1:])  # issue 15: unknown or uninstalled launcher in one line
    except ConfigError as err:
        print(f"alianzas: configuration error: {err}", file=sys.stderr)
        raise SystemExit(2) from None
    hydra_main()


if __name__ == "__main__":
    main()
