"""Sector demand: persistent common and sector shocks, a crisis, large-firm competition.

Log demand of sector s follows an AR(1) around zero,
``x_s(t) = rho * x_s(t-1) + sigma * (sqrt(w) * e_common + sqrt(1 - w) * e_s)``,
and the demand index is ``D_s(t) = exp(x_s(t) + g_s t / 12) * crisis(t) * (1 - taken_s(t))``
with ``g_s`` the sector's trend growth per year.
The crisis (a pandemic-like fall, 000 and the INEGI 2019-2020 study) cuts demand
by ``depth`` for ``duration_months`` and recovers linearly; large-firm competition
(000: "increased competition ... disrupted microenterprises") takes a share of the
affected sectors' demand, ramped in over ``ramp_months``. Draws come only from
the ``demand`` stream, keyed by month and sector (id 0 is the common shock).
"""

from __future__ import annotations

import numpy as np


def crisis_factor(month: int, crisis) -> float:
    """Multiplier on demand from the crisis scenario at ``month`` (1 outside the crisis)."""
    if not crisis.enabled or month < crisis.start_month:
        return 1.0
    into = month - crisis.start_month
    if into < crisis.duration_months:
        return 1.0 - crisis.depth
    rec = into - crisis.duration_months
    if crisis.recovery_months > 0 and rec < crisis.recovery_months:
        return 1.0 - crisis.depth * (1.0 - (rec + 1) / crisis.recovery_months)
    return 1.0


def competition_share(month: int, competition) -> float:
    """Share of affected sectors' demand taken by a large competitor at ``month``."""
    if not competition.enabled or month < competition.start_month:
        return 0.0
    ramp = competition.ramp_months
    frac = 1.0 if ramp == 0 else min(1.0, (month - competition.start_month + 1) / ramp)
    return competition.share_taken * frac


class Market:
    """Demand indices by sector.

    Attributes:
        log_demand: persistent log demand per sector (before scenarios).
        demand: current demand index per sector (1 = normal).
    """

    def __init__(self, cfg, n_sectors: int, draws):
        self.cfg = cfg
        self.draws = draws
        self.n_sectors = n_sectors
        self.log_demand = np.zeros(n_sectors)
        self.demand = np.ones(n_sectors)
        affected = list(cfg.competition.sectors) or list(range(n_sectors))
        self.competition_mask = np.zeros(n_sectors, dtype=bool)
        self.competition_mask[affected] = True

    def update(self, month: int) -> np.ndarray:
        """Advance demand to ``month`` and return the demand index per sector."""
        c = self.cfg
        e = self.draws.normal(month, np.arange(self.n_sectors + 1))
        w = c.share_common_shock
        innov = c.demand_volatility * (np.sqrt(w) * e[0] + np.sqrt(1.0 - w) * e[1:])
        self.log_demand = c.demand_persistence * self.log_demand + innov
        taken = competition_share(month, c.competition) * self.competition_mask
        trend = np.asarray(c.sector_demand_growth, dtype=float) * month / 12.0
        self.demand = np.exp(self.log_demand + trend) * crisis_factor(month, c.crisis) * (1.0 - taken)
        return self.demand
