"""What Mesa's own tools expect of a model: keyword parameters, ``rng=`` and a DataCollector.

``mesa.batch_run`` builds a model as ``Model(**parameters, rng=...)``, steps it
while ``model.running`` and reads ``model.datacollector``. ``AllianceModel``
is configured by a Hydra config instead, so this module translates: keyword
parameters become the same overrides the command line takes (``n_firms=500``
is ``firms.n_firms=500``, a config group such as ``scenario="crisis"`` selects
its file) and are validated by ``sim.config.load_config``; Mesa's ``rng``
becomes the root ``seed`` of the model's named streams; and a DataCollector
mirrors ``series()`` column for column.

The collector only copies the series row the model has just recorded, so it
adds a few microseconds per month, not a second pass over the firms.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import mesa
import numpy as np
from omegaconf import DictConfig

from sim.param_docs import resolve_name
from sim.schema import ConfigError

#: Config groups a keyword parameter may select (``scenario="crisis"`` is ``scenario=crisis``).
CONFIG_GROUPS = ("firms", "market", "scenario", "experiment", "policy")


def hydra_value(value: Any) -> str:
    """``value`` written in Hydra's override grammar (strings quoted, lists and dicts nested)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, np.integer, np.floating)):
        return repr(value.item() if hasattr(value, "item") else value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{hydra_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(hydra_value(v) for v in value) + "]"
    raise ConfigError(f"{value!r} is not accepted: parameters take numbers, strings, booleans, lists or dicts")


def seed_from_rng(rng: Any) -> int:
    """The root seed Mesa's ``rng`` argument stands for (an int, a SeedSequence or a Generator)."""
    if isinstance(rng, np.random.Generator):
        return int(rng.integers(0, 2**63 - 1))
    if isinstance(rng, np.random.SeedSequence):
        return int(rng.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return int(rng)
    raise ConfigError(f"rng={rng!r} is not accepted; allowed: an int seed, a numpy SeedSequence or Generator")


def overrides_from_keywords(params: dict[str, Any]) -> list[str]:
    """Command-line overrides for keyword parameters (leaf names resolved to their dotted paths)."""
    out = []
    for name, value in params.items():
        if name in CONFIG_GROUPS and isinstance(value, str):
            out.append(f"{name}={value}")
        else:
            out.append(f"{resolve_name(name)}={hydra_value(value)}")
    return out


def resolve_config(cfg: Any, rng: Any, params: dict[str, Any]):
    """The validated ``Config`` a model is built from: ``cfg``, or defaults with ``params``; ``rng`` sets the seed.

    Raises:
        ConfigError: a bad parameter (one line, as on the command line), or both
            a config and keyword parameters, or both ``rng`` and ``seed``.
    """
    from sim.config import check, load_config

    if params and cfg is not None:
        raise ConfigError(f"give a config or keyword parameters, not both (got {', '.join(params)})")
    if rng is not None and "seed" in params:
        raise ConfigError("give seed or rng, not both; rng is Mesa's name for the root seed")
    if cfg is None:
        cfg = load_config(*overrides_from_keywords(params))
    elif isinstance(cfg, DictConfig):
        cfg = check(cfg)
    if rng is not None:
        cfg = copy.deepcopy(cfg)
        cfg.seed = seed_from_rng(rng)
    return cfg


def _series_value(name: str, model) -> Any:
    return model.series_row[name]


class SeriesCollector(mesa.DataCollector):
    """Mesa's DataCollector with one model reporter per column of ``series()``.

    The columns are known once the first month is recorded (they include one
    demand column per sector), so the reporters are added then; each reads the
    model's last series row. Reporters are partials of a module function, so
    the model stays picklable.
    """

    def collect(self, model) -> None:
        """Record the month just simulated under the names of ``series()``."""
        if not self.model_reporters:
            for name in model.series_row:
                self._new_model_reporter(name, functools.partial(_series_value, name))
        super().collect(model)
