"""Formation grant: pays part of the cost of forming an alliance (002, section 4.3: finance access).

While the window is open and budget remains, eligible firms carry a
``formation_subsidy``: the grant they would receive, which counts towards the
cash buffer they need before they can afford to seek a partner (stage 1); and
each eligible member of a newly formed alliance is paid ``grant_share`` of its
formation cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim import trust
from sim.params import param
from sim.policies.base import Policy


@dataclass
class FormationGrantParams:
    """Parameters of the formation grant."""

    grant_share: float = param(0.5, 0, 1, "share of formation cost", "share of a member's formation cost paid")


class FormationGrant(Policy):
    """Pays ``grant_share`` of eligible members' formation costs (cash)."""

    kind = "formation_grant"
    label = "Formation grant"
    generosity = "params.grant_share"
    Params = FormationGrantParams

    def start_of_month(self) -> None:
        """Announce the grant to eligible firms: the money it would pay them counts towards
        the cash they need before they can afford to seek (hook read by partner search)."""
        m = self.model
        if not self.active(m.month) or self.remaining() <= 0:
            return
        rows = m.living_rows
        rows = rows[self.eligible(rows)]
        sc = m.cfg.alliances.structure
        grant = self.p.grant_share * trust.formation_fee(trust.choose_formality(m.firms.planned[rows], sc), sc)
        m.firms.formation_subsidy[rows] = np.maximum(m.firms.formation_subsidy[rows], grant)

    def after_formation(self, alliance_rows: np.ndarray) -> None:
        """Pay the grant to eligible members of alliances formed this month."""
        m = self.model
        if not self.active(m.month) or len(alliance_rows) == 0 or self.remaining() <= 0:
            return
        t, sc = m.alliances.table, m.cfg.alliances.structure
        members = t.members[alliance_rows]
        fee = trust.formation_fee(t.formality[alliance_rows], sc)
        rows = members[members >= 0]
        fees = np.broadcast_to(fee[:, None], members.shape)[members >= 0]
        ok = self.eligible(rows)
        self.pay(rows[ok], self.p.grant_share * fees[ok], "cash")
