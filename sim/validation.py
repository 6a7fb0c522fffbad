"""Validation of a whole configuration before a run: every field, then the rules across fields.

:func:`validate` checks each value against its schema field (``sim.field_checks``),
then what no single field can say: one value per sector, windows inside the
horizon, a policy's parameters valid for its instrument, the frontier's grid. The
fields that name a kind (``param(kinds=...)``: a policy's kind, the experiment, the
instruments compared) are checked against the registries themselves, ``KINDS``, so no
list of names beside a registry can fall behind it. The model knows its own registry
(instruments); the experiment kinds live in ``experiments.kinds``, which adds itself
with :func:`register_kinds` when imported, so the model never imports its entry
points. Every mistake is one ``ConfigError`` line naming the parameter, the value and
what is allowed.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from hydra.core.override_parser.overrides_parser import OverridesParser

from sim.alliance_types import ALLIANCE_TYPES
from sim.field_checks import allowed_choices, check_fields
from sim.params import Config
from sim.policies import REGISTRY
from sim.schema import SAFE_NAME, ConfigError

#: The registries a schema field can name with ``param(kinds=...)``: the model's own, and those that
#: outer layers add (``experiment``, by ``experiments.kinds``). A field whose registry is not here (the
#: model used without ``experiments``) is checked against its own choices only.
KINDS: dict[str, Mapping[str, Any]] = {"instrument": REGISTRY}


def register_kinds(name: str, registry: Mapping[str, Any]) -> None:
    """Make ``registry`` the names that fields declared with ``param(kinds=name)`` may take."""
    KINDS[name] = registry


def choices_of(meta: dict) -> tuple | None:
    """The values a schema field may take (its choices and its registry's names), or None if any."""
    return allowed_choices(meta, KINDS)


def validate(cfg: Any) -> None:
    """Check a whole ``Config`` object: every field's range and choices, then the cross-field rules.

    Raises:
        ConfigError: one line naming the parameter, the value given and what is allowed.
    """
    check_fields(cfg, Config, registries=KINDS)
    _check_cross_fields(cfg)


def _check_cross_fields(cfg: Any) -> None:
    """Constraints that tie several parameters together."""
    names, shares = list(cfg.firms.sector_names), list(cfg.firms.sector_shares)
    for k, name in enumerate(names):
        if not name.strip():
            raise ConfigError(f"firms.sector_names[{k}]={name!r} is empty; allowed: a non-empty name per sector")
        if names.index(name) != k:
            raise ConfigError(f"firms.sector_names lists {name!r} twice; allowed: distinct sector names (each "
                              "names a demand column)")
    if len(names) != len(shares) or not names:
        raise ConfigError(f"firms.sector_shares has {len(shares)} items but firms.sector_names has "
                          f"{len(names)}; allowed: one share per sector, at least one sector")
    for key in ("sector_input_cost_share", "sector_margin_shift", "sector_volatility_factor"):
        values = list(getattr(cfg.firms, key))
        if len(values) != len(names):
            raise ConfigError(f"firms.{key} has {len(values)} items but firms.sector_names has {len(names)}; "
                              "allowed: one value per sector")
    growth = list(cfg.market.sector_demand_growth)
    if len(growth) != len(names):
        raise ConfigError(f"market.sector_demand_growth has {len(growth)} items but firms.sector_names has "
                          f"{len(names)}; allowed: one value per sector")
    if abs(sum(shares) - 1.0) > 1e-6:
        raise ConfigError(f"firms.sector_shares={shares} sums to {sum(shares):.4g}; allowed: shares summing to 1")
    if not cfg.alliances.structure.types_enabled:
        raise ConfigError("alliances.structure.types_enabled=[] leaves no alliance type; allowed: a non-empty "
                          f"subset of {', '.join(ALLIANCE_TYPES)} (use alliances.enabled=false for no alliances)")
    for t in cfg.alliances.structure.types_enabled:
        if t not in ALLIANCE_TYPES:
            raise ConfigError(f"alliances.structure.types_enabled contains {t!r}; allowed: "
                              f"{', '.join(ALLIANCE_TYPES)}")
    for name, pol in cfg.policies.items():
        _check_policy(name, pol, len(names), cfg.market.crisis.enabled)
    _check_experiment(cfg)
    _check_horizon(cfg)
    if cfg.experiment.kind == "uplift_frontier":
        _check_grid(cfg)
    if cfg.experiment.policy_stop_month <= cfg.experiment.policy_start_month:
        raise ConfigError(f"experiment.policy_stop_month={cfg.experiment.policy_stop_month} must be greater than "
                          f"experiment.policy_start_month={cfg.experiment.policy_start_month} (empty window)")
    for s in cfg.market.competition.sectors:
        if not 0 <= s < len(names):
            raise ConfigError(f"market.competition.sectors contains {s}; allowed: sector indices "
                              f"in [0, {len(names) - 1}]")


def _check_experiment(cfg: Any) -> None:
    """The experiment's name is one folder name and agrees with its kind; the results root is a folder."""
    ex = cfg.experiment
    if not SAFE_NAME.match(ex.name):
        raise ConfigError(f"experiment.name={ex.name!r} is not allowed; expected one folder name of letters, "
                          "digits, '.', '-' or '_' (no '/', not starting with '.', at most 100 characters)")
    if ex.name in KINDS.get("experiment", ()) and ex.name != ex.kind:
        raise ConfigError(f"experiment.kind={ex.kind!r} with experiment.name={ex.name!r} (the {ex.name} experiment's "
                          f"name); allowed: select the experiment with experiment={ex.kind}, or set "
                          "experiment.name as well")
    if not cfg.output.root.strip():
        raise ConfigError("output.root='' is not allowed; expected a folder (default: results)")
    if ex.kind == "policy_compare":
        _check_policy_compare(cfg)


def _check_policy_compare(cfg: Any) -> None:
    """Arms name known instruments; adaptive seeds go up from n_seeds; a crisis window needs a crisis."""
    ex = cfg.experiment
    names = list(cfg.policies) or list(REGISTRY)
    for k, arm in enumerate(ex.arms):
        items = list(arm) if isinstance(arm, (list, tuple)) else None
        if not items or any(item not in names and item not in REGISTRY for item in items) \
                or len(set(items)) < len(items):
            raise ConfigError(f"experiment.arms[{k}]={arm!r} is not allowed; expected a list of distinct "
                              f"instruments from {', '.join(dict.fromkeys(names + list(REGISTRY)))}, "
                              "e.g. experiment.arms=[[credit],[training],[credit,training]]")
    if ex.budget_curve and ex.budget_mode == "equal_spend":
        raise ConfigError(f"experiment.budget_curve={list(ex.budget_curve)} with experiment.budget_mode=equal_spend; "
                          "allowed: a budget curve at equal caps (budget_mode=equal_cap), or budget_curve=[]")
    if 0 < ex.max_seeds < ex.n_seeds:
        raise ConfigError(f"experiment.max_seeds={ex.max_seeds} is below experiment.n_seeds={ex.n_seeds}; allowed: "
                          "0 (no further seeds) or at least n_seeds")
    if ex.policy_window_from == "crisis_onset" and not cfg.policies and not cfg.market.crisis.enabled:
        raise ConfigError("experiment.policy_window_from=crisis_onset needs a crisis; allowed: scenario=crisis "
                          "(market.crisis.enabled=true) or policy_window_from=run_start")


def _check_horizon(cfg: Any) -> None:
    """Every window opens inside the horizon (a window starting after the last month does nothing)."""
    onset = cfg.market.crisis.start_month
    windows = [(f"policies.{name}.start_month", pol.start_month + (onset if pol.window_from == "crisis_onset" else 0))
               for name, pol in cfg.policies.items()]
    if cfg.market.crisis.enabled:
        windows.append(("market.crisis.start_month", cfg.market.crisis.start_month))
    if cfg.market.competition.enabled:
        windows.append(("market.competition.start_month", cfg.market.competition.start_month))
    if cfg.experiment.kind == "policy_compare" and not cfg.policies:
        windows.append(("experiment.policy_start_month", cfg.experiment.policy_start_month
                        + (onset if cfg.experiment.policy_window_from == "crisis_onset" else 0)))
    for path, start in windows:
        if start > cfg.months:
            raise ConfigError(f"{path}={start} is after the horizon months={cfg.months}; allowed: a start month "
                              f"in [0, {cfg.months}]")


def _check_policy(name: str, pol: Any, n_sectors: int, crisis_enabled: bool) -> None:
    """A policy's window, eligibility sectors and instrument parameters (its kind is a checked field)."""
    path = f"policies.{name}"
    if pol.stop_month <= pol.start_month:
        raise ConfigError(f"{path}: the window [start_month={pol.start_month}, stop_month={pol.stop_month}) is "
                          "empty; allowed: stop_month > start_month")
    if pol.window_from == "crisis_onset" and not crisis_enabled:
        raise ConfigError(f"{path}.window_from=crisis_onset needs a crisis; allowed: scenario=crisis "
                          "(market.crisis.enabled=true) or window_from=run_start")
    el = pol.eligibility
    for low, high in (("min_workers", "max_workers"), ("min_age_months", "max_age_months"),
                      ("min_capability", "max_capability")):
        if getattr(el, low) > getattr(el, high):
            raise ConfigError(f"{path}.eligibility.{low}={getattr(el, low)} is above {path}.eligibility.{high}="
                              f"{getattr(el, high)}, so no firm is eligible; allowed: {low} <= {high}")
    for s in pol.eligibility.sectors:
        if not 0 <= s < n_sectors:
            raise ConfigError(f"{path}.eligibility.sectors contains {s}; allowed: sector indices in "
                              f"[0, {n_sectors - 1}]")
    REGISTRY[pol.kind].parse_params(pol.params, f"{path}.params")


def parse_grid(grid: list) -> dict[str, list]:
    """The frontier's grid, ``['path=v1,v2', ...]`` in Hydra's sweep syntax, as path -> typed values."""
    try:
        parsed = OverridesParser.create().parse_overrides([str(g) for g in grid])
    except Exception as err:  # Hydra's OverrideParseException
        raise ConfigError(f"experiment.grid={list(grid)!r} is not accepted: {' '.join(str(err).split())}") from None
    return {o.key_or_group: list(o.sweep_iterator()) if o.is_sweep_override() else [o.value()] for o in parsed}


def _check_grid(cfg: Any) -> None:
    """The frontier's grid: at least one parameter, each a real path, every value allowed."""
    if not cfg.experiment.grid:
        raise ConfigError("experiment.grid is empty; allowed: a list of quoted sweeps such as "
                          "\"experiment.grid=['alliances.types.bridge_access_gain=0.3,0.6']\"")
    for path, values in parse_grid(cfg.experiment.grid).items():
        *parents, leaf = path.split(".")
        node = cfg
        for part in parents:
            node = getattr(node, part, None)
        value = getattr(node, leaf, None) if node is not None else None
        if node is None or not hasattr(type(node), "__dataclass_fields__") or not hasattr(node, leaf) \
                or isinstance(value, (list, dict)) or hasattr(value, "__dataclass_fields__"):
            raise ConfigError(f"experiment.grid: {path!r} is not a model parameter that takes one value")
        for value in values:
            trial = copy.deepcopy(cfg)
            target = trial
            for part in parents:
                target = getattr(target, part)
            setattr(target, leaf, value)
            trial.experiment.grid = []
            trial.experiment.kind = trial.experiment.name = "single"
            try:
                validate(trial)
            except ConfigError as err:
                raise ConfigError(f"experiment.grid: {path}={value!r}: {err}") from None
