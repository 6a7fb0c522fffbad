"""Composing configurations (Hydra compose API) and turning mistakes into one-line errors."""

from __future__ import annotations

import hashlib
import re
from importlib import resources
from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from sim.io import results_root
from sim.params import Config, PolicyConfig, register_schema
from sim.policies import REGISTRY
from sim.schema import ConfigError
from sim.validation import validate


def find_config_dir() -> Path:
    """The project's Hydra configs: the copy installed with the package, else the checkout's ``configs/``.

    ``pip install .`` ships ``configs/`` as package data under ``sim/configs``
    (pyproject.toml maps it there); an editable install or a plain checkout has
    only the top-level folder.
    """
    packaged = Path(str(resources.files("sim") / "configs"))
    if (packaged / "config.yaml").is_file():
        return packaged
    return Path(__file__).resolve().parents[1] / "configs"


#: The folder Hydra composes configs from (see ``find_config_dir``).
CONFIG_DIR = find_config_dir()

# ``${results_root:}`` in configs/config.yaml: run folders go under the checkout's
# results/, or under ./results/ when the package runs outside a checkout.
OmegaConf.register_new_resolver("results_root", lambda: str(results_root()), replace=True)


def job_folder_name(override_dirname: str) -> str:
    """A sweep job's folder name from its overrides (Hydra's ``override_dirname``): readable and unique.

    Jobs are keyed by their override set, not by Hydra's job number, so a
    resumed sweep (which Hydra numbers from 0 again) finds each job's folder.
    The name keeps the last part of each key (``loss_rate=0.4``) and ends in a
    hash of the full override set.
    """
    text = re.sub(r"(?:[A-Za-z_][\w]*\.)+(?=[A-Za-z_]\w*=)", "", override_dirname)
    text = re.sub(r"[^A-Za-z0-9._=,+-]", "_", text).strip("._") or "job"
    return f"{text[:80]}-{hashlib.sha256(override_dirname.encode()).hexdigest()[:8]}"


def register_resolvers() -> None:
    """Register ``${alianzas_job:...}`` (the sweep job folder name) with OmegaConf (idempotent)."""
    if not OmegaConf.has_resolver("alianzas_job"):
        OmegaConf.register_new_resolver("alianzas_job", job_folder_name)


register_resolvers()  # at import: sweep jobs resolve their folder in worker processes that import this module


def config_error_line(err: Exception) -> str:
    """One line from a Hydra or OmegaConf error: parameter, value and what is allowed."""
    cause = err
    while getattr(cause, "__cause__", None) is not None and not isinstance(cause, OmegaConfBaseException):
        cause = cause.__cause__
    if isinstance(cause, OmegaConfBaseException):
        key = getattr(cause, "full_key", None) or "?"
        msg = str(cause).splitlines()[0]
        if "not in" in msg or "Key" in msg and "not" in msg:
            return f"{key} is not a parameter of this model ({msg}); see sim/params.py for the allowed names"
        value = getattr(cause, "value", None)
        return f"{key}={value!r} is not accepted: {msg}"
    text = " ".join(str(err).split())
    missing = re.search(r"Could not find '([^/']+)/([^']+)'.*?Available options in '[^']+': (.*?) Config search", text)
    if missing:
        group, name, options = missing.groups()
        return f"{group}={name} is not a known {group}; allowed: {', '.join(options.split())}"
    return text


def load_config(*overrides: str, validate_ranges: bool = True) -> DictConfig:
    """Compose the primary config with ``overrides`` (Hydra syntax) and check it.

    Raises:
        ConfigError: unknown key, wrong type or out-of-range value, in one line.
    """
    register_schema()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name="config", overrides=list(overrides))
    except (HydraException, OmegaConfBaseException, ValueError, TypeError, KeyError) as err:
        raise ConfigError(config_error_line(err)) from None
    finally:
        GlobalHydra.instance().clear()
    list_every_instrument(cfg)
    if validate_ranges:
        check(cfg)
    return cfg


def list_every_instrument(cfg: Any) -> None:
    """An empty ``experiment.instruments`` (the default) becomes every registered instrument, in place.

    Done on the composed config and on the checked object alike, so both say the same
    and a run's saved config names the instruments it compared, whatever is added later.
    """
    if not cfg.experiment.instruments:
        cfg.experiment.instruments = list(REGISTRY)


def check(cfg: DictConfig) -> Config:
    """Validate a composed config against the schema; return it as a ``Config`` object
    (an empty ``experiment.instruments`` listing every instrument, see ``list_every_instrument``)."""
    try:
        obj = OmegaConf.to_object(cfg)
    except OmegaConfBaseException as err:
        raise ConfigError(config_error_line(err)) from None
    for name, entry in cfg.policies.items():
        if not OmegaConf.is_dict(entry):
            given = OmegaConf.to_container(entry) if OmegaConf.is_config(entry) else entry
            raise ConfigError(f"policies.{name}={given!r} is not accepted; a policy is a mapping such as "
                              "{kind:training,budget:5e4}")
        if "kind" not in entry:
            raise ConfigError(f"policies.{name} has no kind; allowed: add kind, one of {', '.join(REGISTRY)}, "
                              f"e.g. \"+policies.{name}={{kind:training}}\"")
    obj.policies = {str(name): policy_config(str(name), entry) for name, entry in cfg.policies.items()}
    list_every_instrument(obj)
    validate(obj)
    return obj


def policy_config(name: str, entry) -> PolicyConfig:
    """One ``policies.<name>`` entry typed as a ``PolicyConfig`` (defaults filled in, types checked)."""
    try:
        merged = OmegaConf.merge(OmegaConf.structured(PolicyConfig), entry)
        return OmegaConf.to_object(merged)
    except OmegaConfBaseException as err:
        key = getattr(err, "full_key", None) or "?"
        msg = str(err).splitlines()[0]
        raise ConfigError(f"policies.{name}.{key} is not accepted: {msg}") from None
