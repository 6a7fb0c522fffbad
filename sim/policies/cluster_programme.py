"""Cluster programme: support for one alliance type (and optionally one sector).

Cluster programmes co-fund the running of inter-firm networks (002, section
4.3). Each month in the window, eligible members of active alliances of
``alliance_type`` (in ``sector``, if one is given) are paid ``cost_share`` of
that month's running alliance costs (control and coordination), in cash; the
members then weigh the alliance's benefits against the costs net of that support.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.alliance_types import ALLIANCE_TYPES, TYPE
from sim.params import param
from sim.policies.base import Policy


@dataclass
class ClusterProgrammeParams:
    """Parameters of the cluster programme."""

    alliance_type: str = param("cluster", choices=ALLIANCE_TYPES, doc="alliance type supported")
    sector: int = param(-1, -1, 1000, "sector index", "sector supported; -1 for every sector")
    cost_share: float = param(0.5, 0, 1, "share", "share of members' running alliance costs paid")


class ClusterProgramme(Policy):
    """Co-funds the running costs of one type of alliance."""

    kind = "cluster_programme"
    label = "Cluster programme"
    generosity = "params.cost_share"
    Params = ClusterProgrammeParams

    def after_alliance_costs(self) -> None:
        """Pay the programme's share of this month's running costs to eligible members."""
        m = self.model
        if not self.active(m.month) or self.remaining() <= 0 or m.alliances is None:
            return
        t = m.alliances.table
        act = t.active_rows()
        act = act[t.kind[act] == TYPE[self.p.alliance_type]]
        a_idx, s_idx = np.nonzero(t.members[act] >= 0)
        aids = act[a_idx]
        rows, cost = t.members[aids, s_idx], t.cost_month[aids, s_idx]
        ok = self.eligible(rows)
        if self.p.sector >= 0:
            ok &= m.firms.sector[rows] == self.p.sector
        paid = self.pay(rows[ok], self.p.cost_share * cost[ok], "cash")
        # Members judge the alliance on its cost net of the co-funding they receive.
        t.member_cost[aids[ok], s_idx[ok]] -= paid
