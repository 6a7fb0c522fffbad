"""Cluster (same sector, same locality): shared purchasing cuts input costs (000: shared purchases; 001).

The saving has economies of scale in pooled volume: ``saving = max_savings * V / (V + V_half)``
where V is the members' pooled monthly input purchases. Partners come from the seeker's own
local market, and groups (``max_group_size`` > 2) take new members into a free seat.
"""

from __future__ import annotations

import numpy as np

from sim.alliance_table import seat_sum
from sim.alliance_types.base import AllianceType
from sim.population import FINANCE


def cluster_saving(firms, members: np.ndarray, valid: np.ndarray, tc) -> np.ndarray:
    """Input-cost saving share of each cluster alliance from its pooled purchase volume."""
    mc = np.maximum(members, 0)
    volume = seat_sum(np.where(valid, firms.input_cost_share[mc] * firms.base_revenue[mc], 0.0))
    return tc.cluster_max_savings * volume / (volume + tc.cluster_half_volume)


class Cluster(AllianceType):
    """Shared purchasing among neighbours in one sector."""

    name = "cluster"
    colour = "#D55E00"
    order = 0
    local = True
    joinable = True

    def need(self, gaps: np.ndarray) -> np.ndarray:
        return gaps[:, FINANCE]

    def partner_strength(self, firms, other: np.ndarray, tc) -> np.ndarray:
        volume = firms.input_cost_share[other] * firms.base_revenue[other]
        return volume / (volume + tc.cluster_half_volume)

    def expected_benefit(self, firms, members, valid, tc):
        mc = np.maximum(members, 0)
        share, base = firms.input_cost_share[mc], firms.base_revenue[mc]
        return share * base * cluster_saving(firms, members, valid, tc)[:, None]

    def apply(self, model, t, rows, members, valid, perf, harm, draws):
        firms, tc = model.firms, model.cfg.alliances.types
        factor = 1.0 - cluster_saving(firms, members, valid, tc)[:, None] * perf * harm
        firms.input_cost_factor[members[valid]] = np.clip(factor, 0.1, 1.0)[valid]
        return np.broadcast_to(perf * harm, members.shape)

    def realized_benefit(self, firms, t, rows, members):
        mc = np.maximum(members, 0)
        return firms.input_cost_share[mc] * (1.0 - firms.input_cost_factor[mc]) * firms.revenue[mc]
