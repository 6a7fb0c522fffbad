"""The firm population as a struct of numpy arrays (one row per firm ever born).

Every state variable that the monthly update touches lives here, so that the
whole population is updated with a few array operations. ``agents.firm.Firm``
objects are views onto one row each. Rows are never reused: a dead firm keeps
its row (``alive`` False) so that its history stays available.
"""

from __future__ import annotations

import numpy as np

from sim.columns import ColumnTable

#: Resource dimensions named in the five-stage model paper (000).
RESOURCE_DIMENSIONS = ("finance", "technology", "market_access", "know_how")
FINANCE, TECHNOLOGY, MARKET_ACCESS, KNOW_HOW = range(len(RESOURCE_DIMENSIONS))

#: Largest workforce of a micro firm besides the owner (0-10 employees).
MAX_WORKERS = 10

#: How many recent partners a firm remembers for referrals and prior ties.
PAST_PARTNERS = 3

#: name -> (dtype, trailing shape, fill value, unit/meaning)
FIELDS: dict[str, tuple[type, tuple, object, str]] = {
    "alive": (bool, (), False, "firm is operating"),
    "firm_id": (np.int64, (), -1, "Mesa unique_id of the firm"),
    "birth_month": (np.int64, (), -1, "model month of founding (negative for a mixed-age stock)"),
    "death_month": (np.int64, (), -1, "model month of exit, -1 while alive"),
    "exit_cause": (np.int64, (), 0, "0 operating, 1 insolvent (cash < 0), 2 closed for the owner's reasons, "
                                    "3 unviable (learned it cannot cover its costs)"),
    "sector": (np.int64, (), 0, "sector index"),
    "locality": (np.int64, (), 0, "locality index; sector x locality is the firm's market"),
    "workers": (np.int64, (), 0, "employees besides the owner, 0-10"),
    "founding_workers": (np.int64, (), 0, "employees besides the owner at founding"),
    "worker_cost": (float, (), 0.0, "monthly cost of one more worker (marginal revenue product at the founding "
                                    "plan), currency/month"),
    "quality": (float, (), 0.0, "true log efficiency, unknown to the firm (Jovanovic 1982)"),
    "belief": (float, (), 0.0, "posterior mean of the firm's own log efficiency"),
    "belief_precision": (float, (), np.inf, "posterior precision of that belief (inf: known)"),
    "owner_age": (float, (), 40.0, "owner's age at founding, years"),
    "base_revenue": (float, (), 0.0, "expected monthly revenue at demand index 1, currency/month"),
    "input_cost_share": (float, (), 0.0, "variable input cost as a share of revenue"),
    "fixed_cost": (float, (), 0.0, "fixed cost, currency/month"),
    "cash": (float, (), 0.0, "cash buffer, currency"),
    "capital": (float, (), 0.0, "productive capital (equipment, stock of goods), currency (sim.capital)"),
    "founding_capital": (float, (), 1.0, "capital at founding, currency (sim.capital)"),
    "capital_factor": (float, (), 1.0, "revenue multiplier from capital, (capital / founding_capital)^alpha"),
    "investment": (float, (), 0.0, "cash put into capital this month, currency (sim.capital)"),
    "revenue": (float, (), 0.0, "revenue of the last month, currency"),
    "costs": (float, (), 0.0, "operating costs of the last month, currency"),
    "owner_draw": (float, (), 0.0, "cash drawn by the owner last month, currency"),
    "transfers": (float, (), 0.0, "recorded net transfers received last month (alliances, policy), currency"),
    "volatility": (float, (), 0.0, "idiosyncratic revenue volatility, log units/month"),
    "exposure": (float, (), 1.0, "elasticity of revenue to sector demand"),
    "shock": (float, (), 0.0, "persistent own revenue shock, log units"),
    "productivity": (float, (), 1.0, "revenue multiplier from innovation"),
    "sales_factor": (float, (), 1.0, "last month's sales relative to trading alone at the reference state "
                                      "(local market crowding and price, sim.local_markets)"),
    "demand_boost": (float, (), 1.0, "revenue multiplier from market access (bridge alliances)"),
    "input_cost_factor": (float, (), 1.0, "multiplier on input costs (cluster purchasing)"),
    "capability": (float, (), 0.0, "alliance-management capability, 0-1"),
    "cooperativeness": (float, (), 0.0, "propensity to cooperate rather than act opportunistically, 0-1"),
    "planned": (bool, (), False, "planned (True) or opportunistic approach to alliances"),
    "resources": (float, (len(RESOURCE_DIMENSIONS),), 0.0, "endowment per resource dimension, 0-1"),
    "goal": (float, (), 0.5, "strategic orientation (stability 0 to growth 1), for compatibility"),
    "alliance_id": (np.int64, (), -1, "current alliance, -1 if none"),
    "alliances_joined": (np.int64, (), 0, "alliances joined so far (experience)"),
    "last_alliance_end": (np.int64, (), -10_000, "month the firm's last alliance ended"),
    "seeking_since": (np.int64, (), -1, "month the firm began its current search for a partner, -1 if not searching"),
    "opportunism_detected": (np.int64, (), 0, "opportunistic acts of this firm detected by partners"),
    "past_partners": (np.int64, (PAST_PARTNERS,), -1, "rows of the most recent partners (referrals, ties)"),
    "ever_allied": (bool, (), False, "has been in an alliance"),
    "formation_subsidy": (float, (), 0.0, "grant a firm would receive for forming an alliance this month, "
                                          "currency (policy hook)"),
}


class FirmTable(ColumnTable):
    """Per-firm state columns (``FIELDS``), one row per firm ever created."""

    def __init__(self, capacity: int):
        super().__init__({name: (dtype, shape, fill) for name, (dtype, shape, fill, _) in FIELDS.items()},
                         capacity)
