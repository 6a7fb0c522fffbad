"""Typed parameter schema: every default, unit and allowed range, held once.

The dataclasses below are registered in Hydra's ConfigStore as ``base_config``;
the YAML files under ``configs/`` only override them. Each field carries
metadata (unit, allowed range, one-line meaning) that ``sim.validation`` checks
before a run starts and that ``docs/ODD.md`` lists. Sources for the defaults
are given in ``docs/ODD.md`` (section 7, Submodels). This module holds the
schema only: it imports no policy or experiment module, so every module of the
model can import it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore

#: A name that is one path component (a run folder label): no '/', no leading dot.
SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$")


class ConfigError(ValueError):
    """A user mistake in the configuration, reported as one line before the run."""


def param(default: Any, lo: float | None = None, hi: float | None = None, unit: str = "",
          doc: str = "", choices: tuple | None = None, item_lo: float | None = None,
          item_hi: float | None = None, item_type: type | None = None, kinds: str | None = None):
    """A schema field with its default, unit and allowed range (``lo <= value <= hi``).

    A list field names the type of its items (``item_type``: str, int or float) and may bound them.
    ``kinds`` names the registry whose kind names the field (or each item of a list) must be,
    besides any ``choices``: ``"instrument"`` (``sim.policies.REGISTRY``) or ``"experiment"``
    (``experiments.registry.EXPERIMENTS``); ``sim.validation`` holds the registries.
    """
    meta = {"lo": lo, "hi": hi, "unit": unit, "doc": doc, "choices": choices,
            "item_lo": item_lo, "item_hi": item_hi, "item_type": item_type, "kinds": kinds}
    if isinstance(default, list):
        return field(default_factory=lambda d=default: list(d), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class FirmsConfig:
    """Initial population and firm-level distributions (model brief section 1)."""

    n_firms: int = param(2000, 1, 10_000_000, "firms", "initial number of firms")
    initial_population: str = param("cohort", choices=("cohort", "stock"),
                                     doc="cohort: all firms founded at month 0 (INEGI follows birth "
                                         "cohorts); stock: survivors of a simulated pre-history (mixed ages)")
    stock_sample_firms: int = param(20_000, 100, 10_000_000, "firms",
                                    "a stock larger than this is resampled from the survivors of a pre-history "
                                    "of this many firms, so seating a national stock costs no more than this")
    stock_burn_in_months: int = param(240, 12, 2400, "months",
                                      "length of the pre-history that ages a mixed-age stock")
    sector_names: list = param(["commerce", "services", "manufacturing"], item_type=str,
                               doc="sector labels; their number sets the number of sectors")
    sector_shares: list = param([0.47, 0.41, 0.12], item_lo=0.0, item_hi=1.0, unit="share", item_type=float,
                                doc="share of firms per sector, same order as sector_names")
    founding_mean_persons: float = param(2.2, 1.0, 6.0, "persons",
                                         "mean persons employed at founding, owner included (INEGI Censos "
                                         "Economicos 2024: 2.2 per micro establishment); workers besides the "
                                         "owner are min(10, geometric) with this mean")
    median_revenue_solo: float = param(18_000.0, 1, 1e7, "currency/month",
                                       "median monthly revenue of a firm with no employees")
    revenue_size_elasticity: float = param(0.6, 0, 3, "", "revenue ~ (1 + workers)^elasticity")
    sd_log_revenue: float = param(0.7, 0, 3, "log units", "spread of the lognormal revenue draw")
    max_yearly_sales: float = param(4_000_000.0, 1, 1e10, "currency/year",
                                    "micro-firm sales ceiling (INEGI stratification)")
    sector_input_cost_share: list = param([0.69, 0.40, 0.55], item_lo=0.0, item_hi=0.95, unit="share of revenue",
                                          item_type=float,
                                          doc="mean variable (input) cost as a share of revenue, per sector "
                                              "(commerce: goods for resale, Censos Economicos 2019)")
    sector_margin_shift: list = param([-0.005, 0.01, 0.025], item_lo=-1.0, item_hi=1.0, unit="share of revenue",
                                      item_type=float,
                                      doc="added to mean_margin per sector (calibrated to INEGI survival by sector)")
    sector_volatility_factor: list = param([1.1, 0.85, 0.8], item_lo=0.0, item_hi=5.0, unit="multiplier",
                                           item_type=float,
                                           doc="multiplies median_volatility per sector (calibrated to INEGI "
                                               "survival by sector)")
    sd_input_cost_share: float = param(0.08, 0, 0.5, "share of revenue", "spread of input cost share")
    mean_margin: float = param(0.03, -1, 1, "share of revenue",
                               "mean expected operating margin at launch (calibration lever)")
    sd_margin: float = param(0.075, 0, 1, "share of revenue",
                             "spread of expected operating margins (calibration lever)")
    median_initial_cash_months: float = param(3.1, 0, 120, "months of fixed cost",
                                              "median start-up cash buffer (calibration lever)")
    sd_log_initial_cash: float = param(0.6, 0, 3, "log units", "spread of the start-up cash buffer")
    p_closure: float = param(0.0022, 0, 1, "probability/month",
                             "closure for the owner's reasons (retires, falls ill, moves) at owner age 45; "
                             "doubles every owner_hazard_doubling_years")
    owner_hazard_doubling_years: float = param(8.7, 1.0, 1000.0, "years",
                                               "the owner's closure hazard doubles this often with age (Gompertz)")
    mean_owner_age: float = param(40.0, 18, 80, "years", "mean age of the owner at founding")
    sd_owner_age: float = param(10.0, 0, 30, "years", "spread of the owner's age at founding (18-75)")
    quality_sd: float = param(0.35, 0, 2, "log units",
                              "spread of true log efficiency, unknown to the founder (Jovanovic learning)")
    learning_option_sd: float = param(1.0, 0, 10, "posterior sd",
                                      "a firm quits as unviable when its belief this many sd above the mean "
                                      "cannot cover its costs (option value of learning)")
    cash_target_months: float = param(2.0, 0, 120, "months of fixed cost",
                                      "cash above this buffer is drawn by the owner (calibration lever)")
    capital_elasticity: float = param(0.3, 0, 0.9, "elasticity",
                                      "revenue ~ capital^elasticity (diminishing returns; chosen so that a grant "
                                      "returns about 20%/month to the smallest firms, McKenzie and Woodruff 2008, "
                                      "and about 5%/month to larger ones, de Mel, McKenzie and Woodruff 2008)")
    median_capital_months: float = param(0.6, 0.01, 120, "months of revenue",
                                         "median founding capital (equipment, stock of goods)")
    sd_log_capital: float = param(0.8, 0, 3, "log units", "spread of founding capital")
    owner_cost_of_funds_monthly: float = param(0.10, 0, 1, "share/month",
                                               "return an owner asks of money kept in the business "
                                               "instead of drawn (no credit: informal rates)")
    capital_upkeep_monthly: float = param(0.01, 0, 1, "share/month",
                                          "upkeep of capital bought after founding, added to the fixed cost")
    share_surplus_reinvested: float = param(0.1, 0, 1, "share",
                                            "share of the cash surplus above the buffer that the owner puts "
                                            "into capital while it earns more than its cost of funds")
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
    depth: float = param(0.31, 0, 0.99, "share of demand",
                         "fall in demand at the trough (calibrated: 21% of a mixed-age stock dies in 17 months)")


@dataclass
class CompetitionConfig:
    """Large-firm competition eroding part of some sectors' demand, switchable."""

    enabled: bool = param(False, doc="switch large-firm competition on")
    start_month: int = param(24, 0, 100_000, "month", "month the large competitor enters")
    ramp_months: int = param(12, 0, 1200, "months", "months until the full share is taken")
    share_taken: float = param(0.15, 0, 1, "share of demand", "share of sector demand taken")
    sectors: list = param([], item_lo=0, item_hi=1000, unit="sector index", item_type=int,
                          doc="affected sector indices; empty means all sectors")


@dataclass
class MarketConfig:
    """Sector demand with persistent common shocks (model brief section 2)."""

    demand_persistence: float = param(0.9, 0, 0.999, "AR(1) coefficient/month",
                                      "persistence of log sector demand")
    demand_volatility: float = param(0.02, 0, 1, "log units/month", "sd of monthly demand innovations")
    share_common_shock: float = param(0.5, 0, 1, "share of variance",
                                      "share of demand innovation common to all sectors")
    sector_demand_growth: list = param([0.0, 0.0, 0.0], item_lo=-0.5, item_hi=0.5, unit="share/year",
                                       item_type=float,
                                       doc="trend growth of each sector's demand (same order as firms.sector_names)")
    localities: int = param(10, 1, 100_000, "localities",
                            "localities per sector market; each sector x locality is one market whose customers "
                            "its firms share (1: one national market per sector)")
    zipf_exponent: float = param(1.0, 0, 3, "",
                                 "locality sizes follow Zipf's law: share of firms ~ rank^-exponent (Gabaix 1999)")
    competition_intensity: float = param(0.3, 0, 0.99, "elasticity",
                                         "elasticity of a firm's sales to its rivals' total offer in its market at "
                                         "the reference state (0: firms never compete)")
    price_elasticity: float = param(2.0, 1.0, 10.0, "elasticity",
                                    "customers' response to a firm's price within its market")
    pass_through: float = param(0.5, 0, 1, "share",
                                "share of an input-cost saving (cluster purchasing) passed into a lower price")
    crisis: CrisisConfig = field(default_factory=CrisisConfig)
    competition: CompetitionConfig = field(default_factory=CompetitionConfig)


@dataclass
class SearchConfig:
    """Stages 1-2: rethink business (who seeks a partner) and partner search and choice."""

    p_seek_max: float = param(0.025, 0, 1, "probability/month",
                              "monthly chance to start seeking for a firm with full need and cooperativeness")
    weight_gap: float = param(0.6, 0, 1, "share", "weight of the largest resource gap in the need to ally")
    weight_pressure: float = param(0.4, 0, 1, "share", "weight of performance pressure (sales shortfall)")
    planned_gap_focus: float = param(0.8, 0, 1, "share",
                                     "planned firms weigh gaps this much more than pressure (003)")
    min_age_months: int = param(24, 0, 1200, "months", "firms younger than this do not seek partners")
    cooldown_months: int = param(6, 0, 1200, "months", "months after an alliance ends before seeking again")
    max_search_months: int = param(3, 1, 120, "months",
                                   "a search goes on, month after month, until a partner agrees or this many "
                                   "months have passed (stage 2 takes time; 1 = a single month)")
    search_cost: float = param(300.0, 0, 1e7, "currency/month", "cost of a month of searching")
    min_cash_months: float = param(2.0, 0, 120, "months of fixed cost",
                                   "a firm seeks only if its cash covers this buffer (it must afford the search)")
    n_candidates_planned: int = param(12, 1, 200, "firms", "candidates seen by a planned seeker")
    n_candidates_opportunistic: int = param(4, 1, 200, "firms", "candidates seen by an opportunistic seeker")
    share_referrals: float = param(0.25, 0, 1, "share",
                                   "share of candidate slots filled through past partners' partners")
    weight_compatibility: float = param(1.0, 0, 10, "score weight", "strategic compatibility (goals)")
    weight_complementarity: float = param(1.0, 0, 10, "score weight", "partner's strength on my gap")
    weight_capability: float = param(0.5, 0, 10, "score weight", "partner's perceived alliance capability")
    weight_reputation: float = param(0.5, 0, 10, "score weight", "partner's record of no detected opportunism")
    weight_economic_potential: float = param(1.5, 0, 10, "score weight",
                                             "partner's financial soundness (000: economic potential)")
    weight_prior_tie: float = param(0.5, 0, 10, "score weight", "bonus for a past partner or a referral")
    weight_trustworthiness: float = param(1.0, 0, 10, "score weight",
                                          "candidate's cooperativeness as the judge perceives it, less the "
                                          "population mean: seen in proportion to the judge's capability "
                                          "(due diligence in partner selection, Kale and Singh 2009)")
    perception_noise: float = param(0.055, 0, 5, "score units",
                                    "sd of error in judging a candidate (the score is a weighted mean on a 0-1 scale)")
    planned_noise_factor: float = param(0.5, 0, 5, "", "planned seekers judge with this share of the noise")
    accept_threshold: float = param(0.733, -10, 50, "score",
                                    "least score a firm accepts in a partner (selective: about a third of "
                                    "seeker-months find one)")


@dataclass
class StructureConfig:
    """Stage 3: contributions, type, formality and control mechanisms, and their costs."""

    max_group_size: int = param(2, 2, 20, "firms", "largest alliance; 2 means dyads only")
    design_months: int = param(1, 0, 120, "months",
                               "months partners spend designing the alliance after agreeing (stage 2 ends)")
    structuring_months: int = param(2, 0, 120, "months",
                                    "months of structuring (contract, governance, shares) before implementation")
    negotiation_breakdown: float = param(0.05, 0, 1, "probability/month",
                                         "monthly chance talks break down during design and structuring, at zero "
                                         "mean capability and no goal misfit; x (1 - capability) x (1 + misfit)")
    replacement_months: int = param(3, 0, 120, "months",
                                    "months a member left alone by a partner's exit may seek a replacement before "
                                    "the alliance ends as partner_exit; 0 ends it at once")
    types_enabled: list = param(["cluster", "bridge", "innovation"], item_type=str,
                                doc="alliance types that can form")
    contribution_rule: str = param("equal", choices=("equal", "proportional"),
                                   doc="members share alliance costs equally or by revenue")
    formation_cost: float = param(1500.0, 0, 1e8, "currency/member",
                                  "one-off cost of negotiating and setting up, per member, at formality 0")
    formation_cost_formal: float = param(1500.0, 0, 1e8, "currency/member",
                                         "extra one-off cost of a fully formal contract")
    formality_base: float = param(0.3, 0, 1, "0-1", "formality of an opportunistic firm's agreement")
    formality_planned: float = param(0.3, 0, 1, "0-1", "extra formality when the initiator plans (003)")
    control_base: float = param(0.2, 0, 1, "0-1", "control intensity chosen at full initial trust")
    control_trust_substitution: float = param(0.5, 0, 1, "0-1",
                                              "extra control per unit of missing goodwill trust (Das and Teng)")
    control_intensity: float = param(1.0, 0, 5, "multiplier", "scales all control chosen (policy lever)")
    cost_behaviour_control: float = param(600.0, 0, 1e7, "currency/month", "monthly cost of full behaviour control")
    cost_output_control: float = param(400.0, 0, 1e7, "currency/month", "monthly cost of full output control")
    cost_social_control: float = param(100.0, 0, 1e7, "currency/month", "monthly cost of full social control")
    coordination_cost: float = param(150.0, 0, 1e7, "currency/month", "coordination cost per member in a dyad")
    coordination_exponent: float = param(1.5, 0, 5, "", "coordination cost grows as (size - 1)^exponent")


@dataclass
class AllianceTypesConfig:
    """Where each type's benefit comes from (001; model brief section 4)."""

    cluster_max_savings: float = param(0.12, 0, 0.9, "share of input costs",
                                       "input-cost saving as pooled volume grows (assumption, sweep 0.03-0.15)")
    cluster_half_volume: float = param(20_000.0, 1, 1e9, "currency/month",
                                       "pooled monthly purchases at which half the saving is reached")
    bridge_access_gain: float = param(0.3, 0, 2, "share of revenue",
                                      "demand gain through a partner with full market access")
    bridge_foreign_volatility: float = param(0.25, 0, 3, "log units/month",
                                             "sd of the foreign-market shock on the bridge gain")
    bridge_foreign_persistence: float = param(0.8, 0, 0.999, "AR(1)", "persistence of the foreign shock")
    innovation_delay_months: int = param(12, 0, 600, "months", "months before knowledge raises productivity")
    innovation_rate: float = param(0.03, 0, 1, "share/month",
                                   "monthly productivity gain at full absorptive capacity and partner knowledge")
    innovation_max_gain: float = param(0.2, 0, 5, "share", "cap on productivity gained in one alliance")
    innovation_failure: float = param(0.3, 0, 1, "probability", "chance the project never pays (performance risk)")
    performance_noise: float = param(0.3, 0, 3, "log units", "sd of monthly performance risk on benefits")
    misfit_benefit_loss: float = param(0.3, 0, 1, "share",
                                       "share of benefits lost to friction at full goal misfit (001: compatibility)")


@dataclass
class BehaviourConfig:
    """Stage 4: cooperation or opportunism, and its detection by control."""

    opportunism_scale: float = param(0.25, 0, 1, "probability/month",
                                     "chance of an opportunistic act for a firm with zero cooperativeness")
    temptation: float = param(0.5, 0, 5, "", "extra pull of opportunism as the partner's resources grow")
    deterrence: float = param(0.6, 0, 1, "share", "share of opportunism deterred by full control")
    trust_restraint: float = param(0.5, 0, 1, "share", "share of opportunism restrained by full goodwill")
    misfit_opportunism: float = param(0.5, 0, 10, "",
                                      "opportunism multiplied by (1 + this x goal misfit with partners)")
    detection_base: float = param(0.15, 0, 1, "probability", "chance a partner notices opportunism without control")
    detection_behaviour: float = param(0.6, 0, 1, "probability", "detection by full behaviour control")
    detection_output: float = param(0.4, 0, 1, "probability", "detection by full output control")
    detection_social: float = param(0.2, 0, 1, "probability", "detection by full social control")
    detection_capability: float = param(0.3, 0, 1, "probability",
                                        "detection added by members of full alliance capability (monitoring skill)")
    harm: float = param(0.5, 0, 1, "share", "share of a partner's monthly benefit lost to one opportunistic act")


@dataclass
class TrustConfig:
    """Goodwill and competence trust: initial level, slow build, quick loss, crowding out."""

    goodwill_initial: float = param(0.35, 0, 1, "0-1", "goodwill trust towards a stranger")
    competence_initial: float = param(0.35, 0, 1, "0-1", "competence trust towards a stranger")
    goodwill_weight_capability: float = param(0.2, 0, 1, "0-1",
                                              "initial goodwill added by partner's perceived capability (004)")
    goodwill_weight_prior_tie: float = param(0.3, 0, 1, "0-1", "initial goodwill added by a prior tie (004)")
    competence_weight_capability: float = param(0.4, 0, 1, "0-1",
                                                "initial competence trust added by perceived capability (004)")
    competence_weight_prior_tie: float = param(0.1, 0, 1, "0-1", "initial competence trust added by a prior tie")
    build_rate: float = param(0.05, 0, 1, "share/month", "share of the gap to full trust closed per good month")
    loss_rate: float = param(0.4, 0, 1, "share/event", "share of goodwill trust lost on detected opportunism")
    competence_loss_rate: float = param(0.3, 0, 1, "share/month",
                                        "share of the gap to recent delivery closed per month when the partner "
                                        "delivers less than trusted (trust is lost faster than built)")
    crowding_out: float = param(0.5, 0, 1, "share", "share of goodwill building blocked by full formal control")
    shortfall_erosion: float = param(0.5, 0, 5, "share per shortfall",
                                     "goodwill lost per unit of benefit shortfall caused by partners' undetected "
                                     "opportunism (members feel what they do not see)")


@dataclass
class EvaluationConfig:
    """Stage 5: periodic and shock-triggered evaluation; continue, renegotiate or dissolve."""

    every_months: int = param(12, 1, 600, "months", "months between regular evaluations")
    shock_threshold: float = param(0.1, 0, 1, "share of demand", "a monthly sector demand fall that may trigger one")
    shock_evaluation_probability: float = param(0.25, 0, 1, "probability",
                                                "chance that such a shock triggers an evaluation of an alliance")
    expectation_revision: float = param(0.5, 0, 1, "share",
                                        "share of the gap between a member's expected and recent realized benefit "
                                        "closed at each evaluation (adaptive expectations)")
    trust_exit_threshold: float = param(0.3, 0, 1, "0-1", "goodwill or competence trust below which a member leaves")
    benefit_cost_ratio_min: float = param(1.0, 0, 10, "ratio",
                                          "least recent benefit/cost (trailing means over every_months) that keeps a "
                                          "member content")
    renegotiation_success: float = param(0.8, 0, 1, "probability",
                                         "chance a renegotiation succeeds with full capability or full goodwill")
    control_step: float = param(0.2, 0, 1, "0-1", "change of control intensity in a renegotiation")
    repair_success: float = param(0.5, 0, 1, "probability",
                                  "chance members of full capability repair a relationship whose trust fell below "
                                  "the exit threshold (x mean capability; conflict resolution, Kale and Singh 2009)")
    repair_trust: float = param(0.15, 0, 1, "0-1", "trust above the exit threshold a repair restores")
    capability_learning: float = param(0.05, 0, 1, "share",
                                       "share of the gap to full capability closed per evaluation (weak, 003)")


@dataclass
class AlliancesConfig:
    """The alliance lifecycle (model brief sections 3-5); ``enabled`` switches it off whole."""

    enabled: bool = param(True, doc="run the alliance lifecycle; false gives the same world without alliances")
    search: SearchConfig = field(default_factory=SearchConfig)
    structure: StructureConfig = field(default_factory=StructureConfig)
    types: AllianceTypesConfig = field(default_factory=AllianceTypesConfig)
    behaviour: BehaviourConfig = field(default_factory=BehaviourConfig)
    trust: TrustConfig = field(default_factory=TrustConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)


@dataclass
class OutputConfig:
    """What a run writes and where."""

    panel_every_months: int = param(12, 0, 100_000, "months",
                                    "firm panel snapshot frequency; 0 turns the panel off")
    write_files: bool = param(True, doc="write the run folder (tables, summary, manifest)")
    root: str = param("results", doc="results root: runs go to <root>/runs/, sweeps to <root>/sweeps/")


@dataclass
class EligibilityConfig:
    """Who may receive an instrument (all conditions must hold)."""

    min_workers: int = param(0, 0, 10, "workers", "smallest eligible firm")
    max_workers: int = param(10, 0, 10, "workers", "largest eligible firm")
    sectors: list = param([], item_lo=0, item_hi=1000, unit="sector index", item_type=int,
                          doc="eligible sectors; empty = all")
    min_age_months: int = param(0, 0, 100_000, "months", "youngest eligible firm")
    max_age_months: int = param(100_000, 0, 100_000, "months", "oldest eligible firm")
    allied: str = param("any", choices=("any", "allied", "unallied"), doc="alliance status required")
    share: float = param(1.0, 0, 1, "share", "share of firms drawn at random (policy's own stream) to be eligible")
    min_capability: float = param(0.0, 0, 1, "0-1", "least alliance-management capability of an eligible firm")
    max_capability: float = param(1.0, 0, 1, "0-1", "greatest alliance-management capability of an eligible firm")


#: What a policy window's months count from.
WINDOW_ORIGINS = ("run_start", "crisis_onset")


@dataclass
class PolicyConfig:
    """One instrument in the run: kind, window, budget, eligibility and its own parameters."""

    kind: str = param("formation_grant", kinds="instrument", doc="instrument kind (see sim.policies.REGISTRY)")
    start_month: int = param(12, 0, 100_000, "month", "first month of the window [start, stop)")
    stop_month: int = param(72, 0, 100_000, "month", "first month after the window")
    window_from: str = param("run_start", choices=WINDOW_ORIGINS,
                             doc="run_start: the window's months count from the start of the run; crisis_onset: "
                                 "from the crisis onset (market.crisis.start_month), so [0, 12) is the crisis' "
                                 "first year")
    budget: float = param(1_000_000.0, 0, 1e13, "currency", "hard cap on total payments")
    eligibility: EligibilityConfig = field(default_factory=EligibilityConfig)
    params: dict = field(default_factory=dict, metadata={"doc": "instrument parameters (its Params schema)"})


@dataclass
class SubmititConfig:
    """Replications sent as jobs through submitit (``experiment.executor=submitit``)."""

    cluster: str = param("auto", choices=("auto", "slurm", "local", "debug"),
                         doc="auto: Slurm where sbatch exists, else local processes; debug runs in this process")
    replications_per_job: int = param(20, 1, 100_000, "replications",
                                      "replications (seed x arm) run one after another in one job")
    partition: str = param("", doc="Slurm partition (sbatch --partition); empty uses the cluster's default")
    timeout_min: int = param(60, 1, 100_000, "minutes", "wall-clock limit of one job (sbatch --time)")
    mem_gb: float = param(2.0, 0.1, 10_000, "GB", "memory of one job (sbatch --mem)")
    cpus_per_task: int = param(1, 1, 1024, "cores", "cores of one job")
    array_parallelism: int = param(64, 1, 100_000, "jobs", "jobs of the array running at once")
    folder: str = param("", doc="submitit's logs and pickled jobs; empty: <results>/submitit/<job id>")


EXECUTORS = ("processes", "submitit")


@dataclass
class ExperimentConfig:
    """Which experiment the entry point runs, and its replication design."""

    kind: str = param("single", kinds="experiment", doc="experiment to run")
    name: str = param("single", doc="label used in the run folder name (one folder name: letters, digits, "
                                    "'.', '-', '_')")
    n_seeds: int = param(30, 1, 100_000, "replications",
                         "paired replications; seeds are seed, seed+1, ..., seed+n_seeds-1")
    workers: int = param(0, 0, 1024, "processes", "parallel worker processes; 0 uses every core")
    progress: bool = param(True, doc="show a progress bar")
    per_firm: bool = param(False, doc="record every firm's monthly revenue and alliance in each arm, for "
                                      "per-firm counterfactuals (uplift: effect on the allied)")
    executor: str = param("processes", choices=EXECUTORS,
                          doc="where replications run: processes (experiment.workers local processes) or "
                              "submitit (jobs on Slurm or local, experiment.submitit.*)")
    submitit: SubmititConfig = field(default_factory=SubmititConfig)
    target_uplift: float = param(0.20, -1, 10, "share", "uplift threshold of the frontier (001: up to 20%)")
    grid: list = param([], item_type=str, doc="uplift_frontier: sweeps in Hydra's syntax, one 'path=v1,v2,...' per "
                               "parameter; every combination is run")
    lever_step: float = param(0.5, 0, 10, "share",
                              "compatibility_vs_contracts: relative increase applied to each lever")
    instruments: list = param([], item_type=str, kinds="instrument",
                              doc="policy_compare: instrument kinds compared (used when no policies are configured); "
                                  "empty means every instrument of sim.policies.REGISTRY")
    budget: float = param(1_000_000.0, 0, 1e13, "currency", "policy_compare: equal budget of every instrument")
    policy_start_month: int = param(12, 0, 100_000, "month", "policy_compare: window start")
    policy_stop_month: int = param(72, 1, 100_000, "month", "policy_compare: window stop (exclusive)")
    policy_window_from: str = param("run_start", choices=WINDOW_ORIGINS,
                                    doc="policy_compare: what the window's months count from (crisis_onset: "
                                        "months after the crisis onset)")
    arms: list = param([], doc="policy_compare: arms as lists of instruments (kinds, or names of configured "
                                "policies), e.g. [[credit],[training],[credit,training]]; an arm of several is a "
                                "package; empty means one arm per instrument")
    budget_mode: str = param("equal_cap", choices=("equal_cap", "equal_spend"),
                             doc="policy_compare: equal_cap gives every instrument the same budget cap; equal_spend "
                                 "scales each instrument's generosity down so that all spend about the same")
    spend_target: float = param(0.0, 0, 1e13, "currency",
                                "policy_compare, equal_spend: what every instrument should spend; 0 means the least "
                                "that any instrument spends at the equal cap")
    spend_tolerance: float = param(0.02, 0.001, 0.5, "share",
                                   "policy_compare, equal_spend: relative gap to the target spending accepted")
    budget_curve: list = param([], item_lo=0, item_hi=1e13, unit="currency", item_type=float,
                               doc="policy_compare, equal cap: further budgets at which every arm runs on the same "
                                   "seeds; the brief draws extra firm-years against the budget with 95% bands; "
                                   "empty draws none")
    max_seeds: int = param(0, 0, 100_000, "replications",
                           "policy_compare: with more than n_seeds, add seeds_step seeds at a time until every pair "
                           "of arms is resolved or max_seeds ran; 0 runs n_seeds only")
    seeds_step: int = param(10, 1, 100_000, "replications", "policy_compare: seeds added per round of replications")
    target_half_width: float = param(0.0, 0, 1e9, "firm-years per million currency",
                                     "policy_compare: a pair of arms whose paired-difference CI is this narrow is "
                                     "resolved even if it includes zero; 0: only separation resolves")
    targets: list = param([], doc="validate, calibrate: names of targets under configs/targets/; empty means "
                                  "every target (validate) or every calibration target (calibrate)")
    exploratory: str = param("default", doc="calibrate, sensitivity: configs/exploratory/<name>.yaml, where "
                                            "uncertainties, levers and outcomes are declared")
    free_parameters: list = param([], doc="calibrate: uncertainties fitted (names from the exploratory file); "
                                          "empty means every uncertainty marked calibrate: true")
    n_trials: int = param(40, 1, 100_000, "trials", "calibrate: trials of the study in all, counting resumed ones")
    resume: str = param("", doc="calibrate: run folder of an earlier calibration whose study.db is continued")
    write_config: str = param("", doc="calibrate: write the best parameters to configs/calibrated/<name>.yaml "
                                      "(use as calibrated=<name>); empty writes none")
    robustness_experiment: str = param("none", choices=("none", "uplift", "policy_compare"),
                                       doc="calibrate: rerun this experiment at the best top_k trials")
    top_k: int = param(5, 1, 1000, "trials", "calibrate: best trials the robustness experiment reruns")
    robustness_seeds: int = param(10, 1, 100_000, "replications", "calibrate: seeds of each robustness rerun")
    method: str = param("morris", choices=("morris", "sobol"), doc="sensitivity: Morris screening or Sobol indices")
    n_samples: int = param(10, 1, 1_000_000, "samples",
                           "sensitivity: Morris trajectories, or Sobol base sample (a power of 2)")
    uncertainties: list = param([], doc="sensitivity: names of the uncertainties varied; empty means all")
    instrument: str = param("training", choices=("none",), kinds="instrument",
                            doc="sensitivity: instrument whose cost per extra firm-year is an outcome; none skips it")
    n_bootstrap: int = param(1000, 10, 1_000_000, "resamples", "sensitivity: bootstrap resamples of the indices")


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
    policies: dict = field(default_factory=dict, metadata={
        "doc": "policy instruments by name, each a PolicyConfig (configs/policy/); empty means no policy"})


def register_schema() -> None:
    """Register the schema with Hydra's ConfigStore, once per process (later calls do nothing).

    ``policy/_policy_base`` types every policy file's node as a ``PolicyConfig`` so
    command-line overrides of its fields (eligibility, window...) are checked. Storing
    converts the dataclasses to config nodes (about 60 ms, a quarter of composing a
    config), and the store hands out a copy of a node at each load, so once is enough.
    """
    cs = ConfigStore.instance()
    if "base_config.yaml" in cs.repo and "_policy_base.yaml" in cs.repo.get("policy", {}):
        return
    cs.store(name="base_config", node=Config)
    cs.store(group="policy", name="_policy_base", node=PolicyConfig)
