"""Where each alliance type's benefit comes from (Meléndez Delgado 2026, 001; model brief section 4).

- cluster (same sector): shared purchasing cuts input costs, with economies of
  scale in pooled volume: ``saving = max_savings * V / (V + V_half)`` where V is
  the members' pooled monthly input purchases (000: shared purchases).
- bridge (market access): demand grows through the partner's market,
  ``boost = gain * partner_market_access * exp(f - vol^2/2)``, with ``f`` an AR(1)
  foreign-market shock per alliance (added exposure to foreign risk).
- innovation (knowledge partner): after ``delay`` months productivity rises by
  ``rate * absorptive_capacity * partner_knowledge`` a month, up to ``max_gain``;
  absorptive capacity is the member's own technology and know-how. A share of
  projects never pays (performance risk).
Every type also carries monthly performance risk (lognormal noise shared by the
members) and loses ``harm`` of a member's benefit per opportunistic partner.
Benefits are measured as contribution to profit so they compare with costs.
"""

from __future__ import annotations

import numpy as np

from sim.alliance_table import TYPE, AllianceTable, seat_sum
from sim.matching import KNOW_HOW, MARKET_ACCESS, TECHNOLOGY


def mean_over_partners(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per seat, the mean of ``values`` over the other valid members."""
    v = np.where(valid, values, 0.0)
    others = seat_sum(valid)[:, None] - valid
    return np.where(others > 0, (seat_sum(v)[:, None] - v) / np.maximum(others, 1), 0.0)


def cluster_saving(firms, members: np.ndarray, valid: np.ndarray, tc) -> np.ndarray:
    """Input-cost saving share of each cluster alliance from its pooled purchase volume."""
    mc = np.maximum(members, 0)
    volume = seat_sum(np.where(valid, firms.input_cost_share[mc] * firms.base_revenue[mc], 0.0))
    return tc.cluster_max_savings * volume / (volume + tc.cluster_half_volume)


def expected_benefit(firms, t: AllianceTable, rows: np.ndarray, tc) -> np.ndarray:
    """Each member's expected monthly profit contribution at formation (before risk and opportunism)."""
    m = t.members[rows]
    valid = m >= 0
    mc = np.maximum(m, 0)
    base, share = firms.base_revenue[mc], firms.input_cost_share[mc]
    kind = t.kind[rows][:, None]
    cluster = share * base * cluster_saving(firms, m, valid, tc)[:, None]
    bridge = base * tc.bridge_access_gain * mean_over_partners(firms.resources[mc, MARKET_ACCESS], valid) * (1 - share)
    innovation = base * 0.5 * tc.innovation_max_gain * (1 - share)
    out = np.select([kind == TYPE["cluster"], kind == TYPE["bridge"]], [cluster, bridge], innovation)
    return np.where(valid, out, 0.0)


def apply_benefits(model, t: AllianceTable, act: np.ndarray, harm: np.ndarray, draws) -> np.ndarray:
    """Set this month's input-cost factors, demand boosts and productivity gains of members.

    Returns, per seat, what the alliance delivered relative to expectation (1 = as
    expected), the signal from which competence trust is updated.
    """
    firms, tc, month = model.firms, model.cfg.alliances.types, model.month
    m = t.members[act]
    valid = m >= 0
    mc = np.maximum(m, 0)
    kind = t.kind[act]
    noise = tc.performance_noise
    # Draws keyed by the alliance's initiating firm and the month (stream alliance_outcomes).
    perf = np.exp(noise * draws.normal(month, t.initiator_id[act], "performance") - 0.5 * noise * noise)[:, None]
    foreign_innov = draws.normal(month, t.initiator_id[act], "foreign_shock")
    delivered = perf * harm

    is_cluster = (kind == TYPE["cluster"])[:, None] & valid
    factor = 1.0 - cluster_saving(firms, m, valid, tc)[:, None] * perf * harm
    firms.input_cost_factor[m[is_cluster]] = np.clip(factor, 0.1, 1.0)[is_cluster]

    bridge = kind == TYPE["bridge"]
    rho, vol = tc.bridge_foreign_persistence, tc.bridge_foreign_volatility
    fs = rho * t.foreign_shock[act] + np.sqrt(1.0 - rho * rho) * vol * foreign_innov
    t.foreign_shock[act] = np.where(bridge, fs, 0.0)
    foreign = np.exp(fs - 0.5 * vol * vol)[:, None]
    is_bridge = bridge[:, None] & valid
    gain = tc.bridge_access_gain * mean_over_partners(firms.resources[mc, MARKET_ACCESS], valid) * foreign * perf * harm
    firms.demand_boost[m[is_bridge]] = (1.0 + gain)[is_bridge]
    delivered = np.where(is_bridge, foreign * perf * harm, delivered)

    innov = kind == TYPE["innovation"]
    learning = innov & (month - t.start_month[act] >= tc.innovation_delay_months)
    pays = learning & ~t.project_fails[act]
    absorptive = 0.5 * (firms.resources[mc, TECHNOLOGY] + firms.resources[mc, KNOW_HOW])
    knowledge = mean_over_partners(firms.resources[mc, TECHNOLOGY], valid)
    inc = tc.innovation_rate * absorptive * knowledge * perf * harm
    old = t.productivity_gained[act]
    new = np.where(pays[:, None] & valid, np.minimum(old + inc, tc.innovation_max_gain), old)
    t.productivity_gained[act] = new
    grow = pays[:, None] & valid
    firms.productivity[m[grow]] *= ((1.0 + new) / (1.0 + old))[grow]
    delivered = np.where(innov[:, None] & ~learning[:, None], 1.0, delivered)
    delivered = np.where((learning & ~pays)[:, None], 0.0, delivered)
    return delivered


def realized_benefit(firms, t: AllianceTable, act: np.ndarray) -> np.ndarray:
    """Each member's profit contribution from its alliance this month, after trading."""
    m = t.members[act]
    mc = np.maximum(m, 0)
    rev, share = firms.revenue[mc], firms.input_cost_share[mc]
    factor, boost = firms.input_cost_factor[mc], firms.demand_boost[mc]
    kind = t.kind[act][:, None]
    margin = 1.0 - share * factor
    cluster = share * (1.0 - factor) * rev
    bridge = rev * (1.0 - 1.0 / boost) * margin
    gained = t.productivity_gained[act]
    innovation = rev * (1.0 - 1.0 / (1.0 + gained)) * margin
    return np.select([kind == TYPE["cluster"], kind == TYPE["bridge"]], [cluster, bridge], innovation)
