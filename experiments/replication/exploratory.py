"""Uncertainties, levers and outcomes (EMA Workbench's vocabulary), read from ``configs/exploratory/``.

One file declares what we do not control (uncertainties), what policy chooses
(levers) and what we measure (outcomes), so that ``sensitivity``, ``calibrate``
and the EMA Workbench adapter vary and report the same things. A factor is a
config path with a range; a factor without one takes the range the schema
allows (``sim/params.py`` field metadata).
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, fields, is_dataclass
from typing import Any

from omegaconf import OmegaConf

from experiments.replication.compare import with_overrides
from sim.config import CONFIG_DIR
from sim.params import Config
from sim.schema import ConfigError

EXPLORATORY_DIR = CONFIG_DIR / "exploratory"


@dataclass(frozen=True)
class Factor:
    """One varied config value.

    Attributes:
        name: dotted config path (``firms.mean_margin``).
        lo, hi: the range explored, in the parameter's own unit.
        kind: ``uncertainty`` or ``lever``.
        integer: draw whole numbers.
        calibrate: a free parameter of ``calibrate`` by default.
    """

    name: str
    lo: float
    hi: float
    kind: str = "uncertainty"
    integer: bool = False
    calibrate: bool = False

    def value(self, x: float) -> float | int:
        """``x`` as the config stores it (rounded for an integer factor)."""
        return int(round(x)) if self.integer else float(x)


@dataclass
class Exploratory:
    """The declared uncertainties, levers and outcomes (outcome name -> meaning)."""

    name: str
    uncertainties: dict[str, Factor]
    levers: dict[str, Factor]
    outcomes: dict[str, str]

    def factors(self, names: list[str] | tuple = (), what: str = "experiment.uncertainties") -> list[Factor]:
        """The named factors (uncertainties or levers); every uncertainty when none are named."""
        every = {**self.uncertainties, **self.levers}
        unknown = [n for n in names if n not in every]
        if unknown:
            raise ConfigError(f"{what} names {', '.join(unknown)}, not declared in configs/exploratory/"
                              f"{self.name}.yaml; declared: {', '.join(every)}")
        return [every[n] for n in names] if names else list(self.uncertainties.values())

    def free_parameters(self, names: list[str] | tuple = ()) -> list[Factor]:
        """Calibration's free parameters: those named, or every uncertainty marked ``calibrate: true``."""
        chosen = self.factors(names, "experiment.free_parameters") if names else \
            [f for f in self.uncertainties.values() if f.calibrate]
        if not chosen:
            raise ConfigError(f"experiment.free_parameters is empty and no uncertainty of configs/exploratory/"
                              f"{self.name}.yaml is marked calibrate: true")
        return chosen


def schema_field(path: str):
    """The dataclass field of ``Config`` at a dotted path (ConfigError if there is none)."""
    schema = Config
    *parents, leaf = path.split(".")
    for part in parents:
        node = next((f for f in fields(schema) if f.name == part), None)
        sub = node.default_factory if node is not None and node.default_factory is not MISSING else None
        if not (isinstance(sub, type) and is_dataclass(sub)):
            raise ConfigError(f"{path} is not a parameter of this model; see sim/params.py")
        schema = sub
    match = [f for f in fields(schema) if f.name == leaf]
    if not match:
        raise ConfigError(f"{path} is not a parameter of this model; see sim/params.py")
    return match[0]


def _factor(name: str, spec: dict | None, kind: str, source: str) -> Factor:
    spec = spec or {}
    meta = schema_field(name).metadata
    lo = spec.get("lo", meta.get("lo"))
    hi = spec.get("hi", meta.get("hi"))
    if lo is None or hi is None or not lo < hi:
        raise ConfigError(f"{source}: {name} needs a range lo < hi (given or from the schema), got [{lo}, {hi}]")
    if (meta.get("lo") is not None and lo < meta["lo"]) or (meta.get("hi") is not None and hi > meta["hi"]):
        raise ConfigError(f"{source}: {name} range [{lo}, {hi}] leaves the schema's [{meta['lo']}, {meta['hi']}]")
    default = schema_field(name).default
    return Factor(name, float(lo), float(hi), kind, bool(spec.get("integer", isinstance(default, int)
                                                                  and not isinstance(default, bool))),
                  bool(spec.get("calibrate", False)))


def load(name: str = "default") -> Exploratory:
    """``configs/exploratory/<name>.yaml`` with every range checked against the schema."""
    path = EXPLORATORY_DIR / f"{name}.yaml"
    if not path.is_file():
        options = ", ".join(p.stem for p in sorted(EXPLORATORY_DIR.glob("*.yaml")))
        raise ConfigError(f"experiment.exploratory={name!r} has no file configs/exploratory/{name}.yaml; "
                          f"allowed: {options}")
    raw = OmegaConf.to_container(OmegaConf.load(path), resolve=True) or {}
    return Exploratory(
        name=name,
        uncertainties={k: _factor(k, v, "uncertainty", path.name) for k, v in (raw.get("uncertainties") or {}).items()},
        levers={k: _factor(k, v, "lever", path.name) for k, v in (raw.get("levers") or {}).items()},
        outcomes=dict(raw.get("outcomes") or {}))


def configured(cfg: Any, path: str) -> float:
    """The value of a dotted config path in ``cfg``."""
    node = cfg
    for part in path.split("."):
        node = getattr(node, part)
    return float(node)


def apply(cfg: Any, point: dict[str, float], factors: list[Factor]) -> Any:
    """A copy of ``cfg`` with each factor set to its value in ``point``."""
    return with_overrides(cfg, **{f.name: f.value(point[f.name]) for f in factors})
