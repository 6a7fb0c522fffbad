"""Trust and control (Das and Teng's framework, as used in 000 and 004).

Confidence in a partner comes from goodwill trust (will it behave?), competence
trust (can it deliver?) and control, which partly substitute: partners who
start with little goodwill choose more control. Initial trust rises with the
partner's perceived alliance capability and with prior ties (Bortoluzzi and
Balboni 2013, 004). Trust is built slowly and lost quickly; heavy formal control
(behaviour and output control under a formal contract) crowds out the building
of goodwill. Control deters and detects opportunism at a monthly cost.
All functions work on whole arrays (alliances x members).
"""

from __future__ import annotations

import numpy as np


def initial_trust(base: float, w_capability: float, w_tie: float, partner_capability: np.ndarray,
                  tie: np.ndarray, brokered: np.ndarray | float = 0.0) -> np.ndarray:
    """Trust at formation: ``base + w_cap * capability + w_tie * tie + brokered``, clipped to [0, 1]."""
    return np.clip(base + w_capability * partner_capability + w_tie * tie + brokered, 0.0, 1.0)


def initial_goodwill(partner_capability, tie, tc, brokered=0.0) -> np.ndarray:
    """Goodwill trust at formation (prior ties weigh most)."""
    return initial_trust(tc.goodwill_initial, tc.goodwill_weight_capability, tc.goodwill_weight_prior_tie,
                         partner_capability, tie, brokered)


def initial_competence(partner_capability, tie, tc, brokered=0.0) -> np.ndarray:
    """Competence trust at formation (perceived capability weighs most)."""
    return initial_trust(tc.competence_initial, tc.competence_weight_capability, tc.competence_weight_prior_tie,
                         partner_capability, tie, brokered)


def relational_risk(capability: np.ndarray, partner_cooperativeness: np.ndarray, mean_cooperativeness: float
                    ) -> np.ndarray:
    """How risky a deal looks to the firms structuring it, relative to an average partner (1).

    Members of alliance capability ``c`` see the partner's true propensity to cheat in
    proportion to ``c`` and the average otherwise: ``(1 - c) + c (1 - coop) / (1 - mean coop)``.
    Capable firms fit control to the deal's risk (Kale and Singh 2009: governance design);
    on average the risk is unchanged, so capability moves control, not its mean price.
    """
    scaled = (1.0 - partner_cooperativeness) / max(1.0 - mean_cooperativeness, 1e-9)
    return (1.0 - capability) + capability * scaled


def choose_control(mean_goodwill: np.ndarray, formality: np.ndarray, sc, risk: np.ndarray | float = 1.0
                   ) -> tuple[np.ndarray, ...]:
    """Behaviour, output and social control chosen at formation.

    Total control ``c = intensity * (base + substitution * (1 - goodwill) * risk)`` (trust and
    control substitute; ``risk`` from ``relational_risk``, 1 for an average partner). Each formal mechanism
    (behaviour and output control) is set to the formal part ``c * formality``, informal social control to
    ``c * (1 - formality)``: a formal contract adds both monitoring of conduct and of results, so formality
    raises total control (an assumption, documented in docs/ODD.md).
    """
    total = np.clip(sc.control_intensity * (sc.control_base + sc.control_trust_substitution
                                            * (1.0 - mean_goodwill) * risk), 0.0, 1.0)
    formal = total * formality
    return formal, formal, total * (1.0 - formality)


def choose_formality(planned: np.ndarray, sc) -> np.ndarray:
    """Formality of an agreement: a base level, more when the initiator plans (003)."""
    return np.clip(sc.formality_base + sc.formality_planned * planned, 0.0, 1.0)


def formation_fee(formality: np.ndarray, sc) -> np.ndarray:
    """One-off cost of negotiating and setting up an alliance, per member; formal contracts cost more."""
    return sc.formation_cost + sc.formation_cost_formal * formality


def control_strength(cb: np.ndarray, co: np.ndarray, cs: np.ndarray) -> np.ndarray:
    """Overall control in place, 0-1 (mean of the three mechanisms)."""
    return (cb + co + cs) / 3.0


def formal_control(formality: np.ndarray, cb: np.ndarray, co: np.ndarray) -> np.ndarray:
    """Formal control, 0-1: what crowds out goodwill."""
    return formality * 0.5 * (cb + co)


def detection_probability(cb: np.ndarray, co: np.ndarray, cs: np.ndarray, bc,
                          capability: np.ndarray | float = 0.0) -> np.ndarray:
    """Chance an opportunistic act is noticed: independent channels, base plus each control,
    plus the members' monitoring skill (``detection_capability`` x their mean capability)."""
    miss = ((1.0 - bc.detection_base) * (1.0 - bc.detection_behaviour * cb)
            * (1.0 - bc.detection_output * co) * (1.0 - bc.detection_social * cs)
            * (1.0 - bc.detection_capability * capability))
    return 1.0 - miss


def control_cost(cb: np.ndarray, co: np.ndarray, cs: np.ndarray, sc) -> np.ndarray:
    """Monthly cost of the control mechanisms of each alliance (shared by its members)."""
    return (sc.cost_behaviour_control * cb + sc.cost_output_control * co
            + sc.cost_social_control * cs)


def update_goodwill(goodwill: np.ndarray, saw_opportunism: np.ndarray, formal: np.ndarray,
                    hidden_shortfall: np.ndarray, tc) -> np.ndarray:
    """Goodwill after a month (Malhotra and Lumineau 2011; Das and Teng).

    A detected act cuts it by ``loss_rate`` (lost quickly). Otherwise it closes
    ``build_rate`` of the gap to 1 (built slowly), less the share crowded out by formal
    control, and erodes by ``shortfall_erosion`` times the share of benefit that partners'
    undetected opportunism took (``hidden_shortfall``): cheating that is not seen still costs
    goodwill, through what it does to the relationship's results.
    """
    built = goodwill + tc.build_rate * (1.0 - goodwill) * (1.0 - tc.crowding_out * formal)
    eroded = built * np.clip(1.0 - tc.shortfall_erosion * hidden_shortfall, 0.0, 1.0)
    return np.where(saw_opportunism, goodwill * (1.0 - tc.loss_rate), eroded)


def update_delivery(delivery: np.ndarray, realized: np.ndarray, expected: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Trailing mean of realized over expected benefit (1 = as expected); ``weight`` per alliance."""
    ratio = np.where(expected > 0, realized / np.maximum(expected, 1e-12), 1.0)
    return delivery + weight * (ratio - delivery)


def update_competence(competence: np.ndarray, delivery: np.ndarray, tc) -> np.ndarray:
    """Competence trust moves towards recent delivery (capped at 1): slowly up, quickly down.

    A partner that delivers what was expected (delivery 1) earns full competence trust in
    time; one that delivers half of it brings trust down to 0.5, three times faster than it
    was built (``competence_loss_rate`` against ``build_rate``).
    """
    target = np.clip(delivery, 0.0, 1.0)
    rate = np.where(target >= competence, tc.build_rate, tc.competence_loss_rate)
    return competence + rate * (target - competence)
