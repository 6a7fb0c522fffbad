"""Innovation (knowledge partner, e.g. a university): productivity rises after a delay (001; 002).

After ``innovation_delay_months`` of implementation productivity rises by
``rate * absorptive_capacity * partner_knowledge`` a month, up to ``max_gain``; absorptive
capacity is the member's own technology and know-how. A share of projects never pays
(performance risk), decided when partners agree. Benefits are judged only after the delay.
"""

from __future__ import annotations

import numpy as np

from sim.alliance_table import mean_over_partners
from sim.alliance_types.base import AllianceType
from sim.population import KNOW_HOW, TECHNOLOGY


class Innovation(AllianceType):
    """Joint learning with a knowledge partner."""

    name = "innovation"
    colour = "#1B7837"
    order = 2

    def need(self, gaps: np.ndarray) -> np.ndarray:
        return 0.5 * (gaps[:, TECHNOLOGY] + gaps[:, KNOW_HOW])

    def partner_strength(self, firms, other: np.ndarray, tc) -> np.ndarray:
        return 0.5 * (firms.resources[other, TECHNOLOGY] + firms.resources[other, KNOW_HOW])

    def expected_benefit(self, firms, members, valid, tc):
        mc = np.maximum(members, 0)
        return firms.base_revenue[mc] * 0.5 * tc.innovation_max_gain * (1 - firms.input_cost_share[mc])

    def at_agreement(self, t, rows, month, draws, tc):
        # Keyed by the initiating firm and the month of agreement.
        t.project_fails[rows] = draws.uniform(month, t.initiator_id[rows], "project_fails") < tc.innovation_failure

    def apply(self, model, t, rows, members, valid, perf, harm, draws):
        firms, tc, month = model.firms, model.cfg.alliances.types, model.month
        learning = month - t.start_month[rows] >= tc.innovation_delay_months
        pays = learning & ~t.project_fails[rows]
        mc = np.maximum(members, 0)
        absorptive = 0.5 * (firms.resources[mc, TECHNOLOGY] + firms.resources[mc, KNOW_HOW])
        knowledge = mean_over_partners(firms.resources[mc, TECHNOLOGY], valid)
        inc = tc.innovation_rate * absorptive * knowledge * perf * harm
        old = t.productivity_gained[rows]
        grow = pays[:, None] & valid
        new = np.where(grow, np.minimum(old + inc, tc.innovation_max_gain), old)
        t.productivity_gained[rows] = new
        firms.productivity[members[grow]] *= ((1.0 + new) / (1.0 + old))[grow]
        delivered = np.where(learning[:, None], perf * harm, 1.0)
        return np.where((learning & ~pays)[:, None], 0.0, np.broadcast_to(delivered, members.shape))

    def realized_benefit(self, firms, t, rows, members):
        mc = np.maximum(members, 0)
        margin = 1.0 - firms.input_cost_share[mc] * firms.input_cost_factor[mc]
        gained = t.productivity_gained[rows]
        return firms.revenue[mc] * (1.0 - 1.0 / (1.0 + gained)) * margin

    def payoff_delay(self, tc) -> int:
        return int(tc.innovation_delay_months)
