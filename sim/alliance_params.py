"""Parameters of the alliance lifecycle: search and choice (stages 1-2), structure (3), the alliance types,
behaviour, trust and control, and evaluation (5), with their units, ranges and meanings.

Part of the typed schema that ``sim.params`` assembles into ``Config`` (as
``alliances``); sources for the defaults are in ``docs/ODD.md`` (section 7).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.schema import param


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

