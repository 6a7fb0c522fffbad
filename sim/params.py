"""Typed parameter schema: every default, unit and allowed range, held once.

The dataclasses below are registered in Hydra's ConfigStore as ``base_config``;
the YAML files under ``configs/`` only override them. Each field carries
metadata (unit, allowed range, one-line meaning) that :func:`validate` checks
before a run starts and that ``docs/ODD.md`` lists. Sources for the defaults
are given in ``docs/ODD.md`` (section 7, Submodels).
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from typing import Any

from hydra.core.config_store import ConfigStore


class ConfigError(ValueError):
    """A user mistake in the configuration, reported as one line before the run."""


def param(default: Any, lo: float | None = None, hi: float | None = None, unit: str = "",
          doc: str = "", choices: tuple | None = None, item_lo: float | None = None,
          item_hi: float | None = None):
    """A schema field with its default, unit and allowed range (``lo <= value <= hi``)."""
    meta = {"lo": lo, "hi": hi, "unit": unit, "doc": doc, "choices": choices,
            "item_lo": item_lo, "item_hi": item_hi}
    if isinstance(default, list):
        return field(default_factory=lambda d=default: list(d), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class FirmsConfig:
    """Initial population and firm-level distributions (model brief section 1)."""

    n_firms: int = param(2000, 1, 10_000_000, "firms", "initial number of firms")
    initial_population: str = param("cohort", choices=("cohort", "stock"),
                                     doc="cohort: all firms founded at month 0 (INEGI follows birth "
                                         "cohorts); stock: mixed ages from a geometric age distribution")
    mean_stock_age_months: float = param(48.0, 1, 600, "months", "mean age of a mixed-age stock")
    sector_names: list = param(["commerce", "services", "manufacturing"],
                               doc="sector labels; their number sets the number of sectors")
    sector_shares: list = param([0.47, 0.41, 0.12], item_lo=0.0, item_hi=1.0, unit="share",
                                doc="share of firms per sector, same order as sector_names")
    p_extra_worker: float = param(0.45, 0, 0.95, "probability",
                                  "workers = min(10, geometric): chance of each extra worker")
    median_revenue_solo: float = param(18_000.0, 1, 1e7, "currency/month",
                                       "median monthly revenue of a firm with no employees")
    revenue_size_elasticity: float = param(0.6, 0, 3, "", "revenue ~ (1 + workers)^elasticity")
    sd_log_revenue: float = param(0.7, 0, 3, "log units", "spread of the lognormal revenue draw")
    max_yearly_sales: float = param(4_000_000.0, 1, 1e10, "currency/year",
                                    "micro-firm sales ceiling (INEGI stratification)")
    mean_input_cost_share: float = param(0.55, 0, 0.95, "share of revenue",
                                         "mean variable (input) cost as a share of revenue")
    sd_input_cost_share: float = param(0.08, 0, 0.5, "share of revenue", "spread of input cost share")
    mean_margin: float = param(0.0, -1, 1, "share of revenue",
                               "mean expected operating margin at launch (calibration lever)")
    sd_margin: float = param(0.12, 0, 1, "share of revenue",
                             "spread of expected operating margins (calibration lever)")
    median_initial_cash_months: float = param(2.0, 0, 120, "months of fixed cost",
                                              "median start-up cash buffer (calibration lever)")
    sd_log_initial_cash: float = param(0.6, 0, 3, "log units", "spread of the start-up cash buffer")
    cash_target_months: float = param(2.0, 0, 120, "months of fixed cost",
                                      "cash above this buffer is drawn by the owner (calibration lever)")
    median_volatility: float = param(0.30, 0, 3, "log units/month", "median idiosyncratic volatility")
    sd_log_volatility: float = param(0.3, 0, 3, "log units", "spread of idiosyncratic volatility")
    shock_persistence: float = param(0.85, 0, 0.999, "AR(1) coefficient/month",
                                     "persistence of a firm's own revenue shock")
    mean_sector_exposure: float = param(1.0, 0, 5, "elasticity", "mean exposure to sector demand")
    sd_sector_exposure: float = param(0.3, 0, 5, "elasticity", "spread of sector exposure")
    capability_a: float = param(2.0, 0.01, 100, "", "Beta(a, b) alliance-management capability")
    capability_b: float = param(5.0, 0.01, 100, "", "Beta(a, b) alliance-management capability")
    cooperativeness_a: float = param(5.0, 0.01, 100, "", "Beta(a, b) propensity to cooperate")
    cooperativeness_b: float = param(2.0, 0.01, 100, "", "Beta(a, b) propensity to cooperate")
    share_planned: float = param(0.3, 0, 1, "share", "share of firms with a planned alliance approach")
    resource_a: float = param(2.0, 0.01, 100, "", "Beta(a, b) endowment on each resource dimension")
    resource_b: float = param(2.0, 0.01, 100, "", "Beta(a, b) endowment on each resource dimension")


@dataclass
class BirthsConfig:
    """Entry of new firms (open population)."""

    rate_monthly: float = param(0.01, 0, 1, "share of initial firms/month",
                                "expected births per month as a share of the initial population")


@dataclass
class CrisisConfig:
    """A sharp, temporary fall in demand (pandemic-like), switchable."""

    enabled: bool = param(False, doc="switch the crisis on")
    start_month: int = param(36, 0, 100_000, "month", "first month of the fall")
    duration_months: int = param(6, 1, 1200, "months", "months at full depth")
    recovery_months: int = param(12, 0, 1200, "months", "linear recovery after the trough")
    depth: float = param(0.35, 0, 0.99, "share of demand", "fall in demand at the trough")


@dataclass
class CompetitionConfig:
    """Large-firm competition eroding part of some sectors' demand, switchable."""

    enabled: bool = param(False, doc="switch large-firm competition on")
    start_month: int = param(24, 0, 100_000, "month", "month the large competitor enters")
    ramp_months: int = param(12, 0, 1200, "months", "months until the full share is taken")
    share_taken: float = param(0.15, 0, 1, "share of demand", "share of sector demand taken")
    sectors: list = param([], item_lo=0, item_hi=1000, unit="sector index",
                          doc="affected sector indices; empty means all sectors")


@dataclass
class MarketConfig:
    """Sector demand with persistent common shocks (model brief section 2)."""

    demand_persistence: float = param(0.9, 0, 0.999, "AR(1) coefficient/month",
                                      "persistence of log sector demand")
    demand_volatility: float = param(0.02, 0, 1, "log units/month", "sd of monthly demand innovations")
    share_common_shock: float = param(0.5, 0, 1, "share of variance",
                                      "share of demand innovation common to all sectors")
    crisis: CrisisConfig = field(default_factory=CrisisConfig)
    competition: CompetitionConfig = field(default_factory=CompetitionConfig)


@dataclass
class AlliancesConfig:
    """Alliance process switch; the lifecycle parameters live here (alliance issue)."""

    enabled: bool = param(False, doc="run the alliance lifecycle")


@dataclass
class OutputConfig:
    """What a run writes and where."""

    panel_every_months: int = param(12, 0, 100_000, "months",
                                    "firm panel snapshot frequency; 0 turns the panel off")
    write_files: bool = param(True, doc="write the run folder (tables, summary, manifest)")


@dataclass
class ExperimentConfig:
    """Which experiment the entry point runs."""

    kind: str = param("single", choices=("single",), doc="experiment to run")
    name: str = param("default", doc="label used in the run folder name")


@dataclass
class Config:
    """Top-level configuration of one run."""

    seed: int = param(0, 0, 2**63 - 1, "", "root seed of every random stream")
    months: int = param(120, 1, 100_000, "months", "simulated horizon")
    currency: str = param("MXN", doc="currency of every money value")
    firms: FirmsConfig = field(default_factory=FirmsConfig)
    births: BirthsConfig = field(default_factory=BirthsConfig)
    market: MarketConfig = field(default_factory=MarketConfig)
    alliances: AlliancesConfig = field(default_factory=AlliancesConfig)
    output: OutputConfig = field(default_factory=OutputConfig)
    experiment: ExperimentConfig = field(default_factory=ExperimentConfig)


def register_schema() -> None:
    """Register the schema with Hydra's ConfigStore (idempotent)."""
    ConfigStore.instance().store(name="base_config", node=Config)


def _describe(meta: dict) -> str:
    if meta.get("choices"):
        return "one of " + ", ".join(map(str, meta["choices"]))
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and hi is not None:
        return f"a value in [{lo}, {hi}]"
    if lo is not None:
        return f"a value >= {lo}"
    if hi is not None:
        return f"a value <= {hi}"
    return "any value"


def _check_field(path: str, value: Any, meta: dict) -> None:
    unit = f" ({meta['unit']})" if meta.get("unit") else ""
    if meta.get("choices") is not None and value not in meta["choices"]:
        raise ConfigError(f"{path}={value!r} is not allowed; expected {_describe(meta)}")
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, (int, float)):
        lo, hi = meta.get("lo"), meta.get("hi")
        if (isinstance(value, float) and not math.isfinite(value)) or \
                (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ConfigError(f"{path}={value!r} is out of range; allowed: {_describe(meta)}{unit}")
    if isinstance(value, (list, tuple)):
        ilo, ihi = meta.get("item_lo"), meta.get("item_hi")
        for k, item in enumerate(value):
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                if (ilo is not None and item < ilo) or (ihi is not None and item > ihi):
                    raise ConfigError(f"{path}[{k}]={item!r} is out of range; allowed: "
                                      f"each item in [{ilo}, {ihi}]{unit}")


def validate(cfg: Any, schema: type = Config, path: str = "") -> None:
    """Check every value of ``cfg`` against the ranges and choices of ``schema``.

    Raises:
        ConfigError: one line naming the parameter, the value given and what is allowed.
    """
    for f in fields(schema):
        key = f"{path}{f.name}"
        value = getattr(cfg, f.name) if not isinstance(cfg, dict) else cfg[f.name]
        if is_dataclass(f.type) or (f.default_factory is not MISSING and is_dataclass(f.default_factory())):
            sub_schema = f.type if is_dataclass(f.type) else type(f.default_factory())
            validate(value, sub_schema, key + ".")
        else:
            _check_field(key, value, f.metadata)
    if schema is Config:
        _check_cross_fields(cfg)


def _check_cross_fields(cfg: Any) -> None:
    """Constraints that tie several parameters together."""
    names, shares = list(cfg.firms.sector_names), list(cfg.firms.sector_shares)
    if len(names) != len(shares) or not names:
        raise ConfigError(f"firms.sector_shares has {len(shares)} items but firms.sector_names has "
                          f"{len(names)}; allowed: one share per sector, at least one sector")
    if abs(sum(shares) - 1.0) > 1e-6:
        raise ConfigError(f"firms.sector_shares={shares} sums to {sum(shares):.4g}; allowed: shares summing to 1")
    for s in cfg.market.competition.sectors:
        if not 0 <= s < len(names):
            raise ConfigError(f"market.competition.sectors contains {s}; allowed: sector indices "
                              f"in [0, {len(names) - 1}]")
