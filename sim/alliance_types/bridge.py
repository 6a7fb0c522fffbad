"""Bridge (market access): demand grows through the partner's market (001: bridge alliances abroad).

``boost = gain * partner_market_access * exp(f - vol^2/2)``, with ``f`` an AR(1) foreign-market
shock per alliance: the added exposure to foreign risk. Bridge demand multiplies a member's
sales outside the local share rule (new customers, not rivals' customers).
"""

from __future__ import annotations

import numpy as np

from sim.alliance_table import mean_over_partners
from sim.alliance_types.base import AllianceType
from sim.population import MARKET_ACCESS


class Bridge(AllianceType):
    """Access to the partner's (foreign) market."""

    name = "bridge"
    colour = "#7B3294"
    order = 1

    def need(self, gaps: np.ndarray) -> np.ndarray:
        return gaps[:, MARKET_ACCESS]

    def partner_strength(self, firms, other: np.ndarray, tc) -> np.ndarray:
        return firms.resources[other, MARKET_ACCESS]

    def expected_benefit(self, firms, members, valid, tc):
        mc = np.maximum(members, 0)
        access = mean_over_partners(firms.resources[mc, MARKET_ACCESS], valid)
        return firms.base_revenue[mc] * tc.bridge_access_gain * access * (1 - firms.input_cost_share[mc])

    def apply(self, model, t, rows, members, valid, perf, harm, draws):
        firms, tc = model.firms, model.cfg.alliances.types
        rho, vol = tc.bridge_foreign_persistence, tc.bridge_foreign_volatility
        # The foreign shock is keyed by the alliance's initiating firm and the month.
        innovation = draws.normal(model.month, t.initiator_id[rows], "foreign_shock")
        fs = rho * t.foreign_shock[rows] + np.sqrt(1.0 - rho * rho) * vol * innovation
        t.foreign_shock[rows] = fs
        foreign = np.exp(fs - 0.5 * vol * vol)[:, None]
        mc = np.maximum(members, 0)
        gain = tc.bridge_access_gain * mean_over_partners(firms.resources[mc, MARKET_ACCESS], valid) \
            * foreign * perf * harm
        firms.demand_boost[members[valid]] = (1.0 + gain)[valid]
        return np.broadcast_to(foreign * perf * harm, members.shape)

    def realized_benefit(self, firms, t, rows, members):
        mc = np.maximum(members, 0)
        margin = 1.0 - firms.input_cost_share[mc] * firms.input_cost_factor[mc]
        return firms.revenue[mc] * (1.0 - 1.0 / firms.demand_boost[mc]) * margin
