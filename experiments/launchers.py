"""Where the work runs: the Hydra launcher of a sweep and the executor of replications, checked before Hydra starts.

Sweep files name no launcher: the primary config selects joblib (local cores)
and the command line may choose another, ``hydra/launcher=submitit_local`` or
``hydra/launcher=slurm`` (``configs/hydra/launcher/slurm.yaml``, on top of
hydra-submitit-launcher's ``submitit_slurm``). A launcher that is unknown, or
whose plugin is not installed, would otherwise stop Hydra with a long
traceback; here it is one line naming the choice and what is allowed. The
same holds for ``hydra/launcher=slurm`` on a machine without Slurm (no ``sbatch``
on PATH) and for ``experiment.executor=submitit`` without submitit installed.
"""

from __future__ import annotations

import importlib.util
import re
import shutil

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from sim.config import CONFIG_DIR, config_error_line
from sim.params import ConfigError, register_schema

#: Launchers that need hydra-submitit-launcher (the ``cluster`` extra).
SUBMITIT_LAUNCHERS = ("submitit_local", "submitit_slurm", "slurm")
#: Launchers that submit to Slurm, hence need its ``sbatch`` command on this machine.
SLURM_LAUNCHERS = ("submitit_slurm", "slurm")


def no_slurm_line(name: str) -> str:
    """The one line for a Slurm launcher on a machine without Slurm."""
    return (f"hydra/launcher={name} needs Slurm, but sbatch is not on PATH: this machine is not a Slurm login "
            "node; run the sweep on this machine's cores (leave out hydra/launcher) or try the job layout with "
            "hydra/launcher=submitit_local")

_CHOICE = re.compile(r"^[+~]?hydra/launcher=(.*)$")


def chosen_launcher(args: list[str]) -> str | None:
    """The launcher named on the command line (the last ``hydra/launcher=...``), or None."""
    names = [m.group(1) for m in map(_CHOICE.match, args) if m]
    return names[-1] if names else None


def submitit_installed() -> bool:
    """Whether hydra-submitit-launcher (and with it submitit) can be imported."""
    return importlib.util.find_spec("hydra_plugins.hydra_submitit_launcher") is not None


def launcher_error(name: str, available: list[str], detail: str, plugin_installed: bool) -> str:
    """The one line for a launcher choice that Hydra cannot compose."""
    if name in SUBMITIT_LAUNCHERS and not plugin_installed:
        return (f"hydra/launcher={name} needs hydra-submitit-launcher, which is not installed; "
                "install it with: pip install 'alianzas[cluster]'")
    if name not in available:
        return f"hydra/launcher={name} is not a known launcher; allowed: {', '.join(available)}"
    detail = detail.replace("is not a parameter of this model", "is not a field of this launcher").replace(
        "see sim/params.py for the allowed names", f"its fields: alianzas run hydra/launcher={name} --cfg hydra")
    return f"hydra/launcher={name}: {detail}"


def check_launcher(args: list[str]) -> None:
    """Compose the Hydra part of the command line; raise one line if its launcher cannot run.

    Raises:
        ConfigError: unknown launcher, missing plugin, a wrong ``hydra.launcher.*`` field, or
            the submitit executor without submitit.
    """
    if any(a.lstrip("+").endswith("experiment.executor=submitit") for a in args) and not submitit_installed():
        raise ConfigError("experiment.executor=submitit needs submitit, which is not installed; install it with: "
                          "pip install 'alianzas[cluster]'")
    name = chosen_launcher(args)
    if name is None:
        return
    register_schema()
    hydra_args = [a for a in args if a.lstrip("+~").startswith("hydra") and ("=" in a or a.startswith("~"))]
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            available = sorted(GlobalHydra.instance().config_loader().get_group_options("hydra/launcher"))
            try:
                compose(config_name="config", overrides=hydra_args, return_hydra_config=True)
            except Exception as err:  # Hydra's and OmegaConf's own exception types
                raise ConfigError(launcher_error(name, available, config_error_line(err),
                                                 submitit_installed())) from None
    finally:
        GlobalHydra.instance().clear()
    if name in SLURM_LAUNCHERS and shutil.which("sbatch") is None:
        raise ConfigError(no_slurm_line(name))
