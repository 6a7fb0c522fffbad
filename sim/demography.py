"""Who the firms are when they are founded, when new ones are born, and when they exit.

Founding draws (model brief section 1), each keyed by firm and birth month: sector from
the configured shares; workers ``min(10, Geometric)`` so most firms have 0-2 employees (INEGI: micro firms have
0-10); expected monthly revenue lognormal around ``median_revenue_solo *
(1 + workers)^elasticity``, capped at the micro ceiling; input cost share normal;
expected operating margin normal, which fixes the fixed cost; start-up cash in
months of fixed cost, lognormal; volatility lognormal; sector exposure normal;
capability, cooperativeness and resources Beta; planned approach Bernoulli.

Exit rule: a firm that ends a month with negative cash cannot pay its way and
closes (no credit line in the default economy); any firm may also close for
reasons outside the business with a small monthly probability. Births: a Poisson number per
month with mean ``births.rate_monthly * n_firms``, independent of how many firms
are alive so that both arms of a comparison see the same entrants.
"""

from __future__ import annotations

import numpy as np

from sim.population import RESOURCE_DIMENSIONS, FirmTable
from sim.rng import Stream


def draw_founding_traits(table: FirmTable, rows: np.ndarray, fc, month: int, draws: Stream) -> None:
    """Fill ``rows`` of ``table`` with new firms founded at ``month``.

    Every trait is its own keyed draw (stream ``population``, the firm's id, its birth
    month and the trait's slot), so a firm's traits do not depend on how many firms are
    founded with it: the same entrant in two arms, or in a larger initial population,
    has the same traits.
    """
    k = len(rows)
    ids = table.firm_id[rows]

    def u(slot, width=None):
        return draws.uniform(month, ids, slot, width)

    def z(slot):
        return draws.normal(month, ids, slot)

    shares = np.asarray(fc.sector_shares, dtype=float)
    cum = np.cumsum(shares / shares.sum())
    table.sector[rows] = np.minimum(np.searchsorted(cum, u("sector"), side="right"), len(shares) - 1)
    # Geometric number of extra workers by inverse transform: P(W >= w) = p^w.
    p = fc.p_extra_worker
    workers = np.floor(np.log(u("workers")) / np.log(p)).astype(np.int64) if p > 0 else np.zeros(k, np.int64)
    workers = np.minimum(workers, 10)
    table.workers[rows] = workers
    median = fc.median_revenue_solo * (1.0 + workers) ** fc.revenue_size_elasticity
    base = median * np.exp(fc.sd_log_revenue * z("revenue"))
    base = np.minimum(base, fc.max_yearly_sales / 12.0)
    table.base_revenue[rows] = base
    c = np.clip(fc.mean_input_cost_share + fc.sd_input_cost_share * z("input_cost_share"), 0.0, 0.95)
    table.input_cost_share[rows] = c
    margin = fc.mean_margin + fc.sd_margin * z("margin")
    # Fixed cost is what the margin leaves after inputs; every firm has some (rent, the owner's time).
    fixed_share = np.maximum(1.0 - c - margin, 0.02)
    table.fixed_cost[rows] = base * fixed_share
    cash_months = fc.median_initial_cash_months * np.exp(fc.sd_log_initial_cash * z("cash"))
    table.cash[rows] = cash_months * table.fixed_cost[rows]
    vol = fc.median_volatility * np.exp(fc.sd_log_volatility * z("volatility"))
    table.volatility[rows] = vol
    table.exposure[rows] = np.clip(fc.mean_sector_exposure + fc.sd_sector_exposure * z("exposure"), 0.0, None)
    table.capability[rows] = draws.beta(month, ids, fc.capability_a, fc.capability_b, "capability")
    table.cooperativeness[rows] = draws.beta(month, ids, fc.cooperativeness_a, fc.cooperativeness_b,
                                             "cooperativeness")
    table.planned[rows] = u("planned") < fc.share_planned
    table.resources[rows] = draws.beta(month, ids, fc.resource_a, fc.resource_b, "resources",
                                       width=len(RESOURCE_DIMENSIONS))
    table.goal[rows] = u("goal")
    table.shock[rows] = 0.0
    table.birth_month[rows] = month
    table.death_month[rows] = -1
    table.alive[rows] = True


def births_this_month(rate_monthly: float, n_initial: int, month: int, draws: Stream) -> int:
    """Number of entrants this month: Poisson with a mean fixed by the initial population."""
    return draws.poisson(month, rate_monthly * n_initial)


#: Why a firm exited (``exit_cause`` column): 0 still operating.
INSOLVENT, CLOSED = 1, 2


def exits(table: FirmTable, p_closure: float, month: int, draws: Stream) -> np.ndarray:
    """Rows of living firms that exit this month, with ``exit_cause`` set.

    A firm that cannot pay its way (negative cash) is insolvent; any other may
    close for reasons outside the business (the owner retires, falls ill, moves)
    with monthly probability ``p_closure``, a draw keyed by the firm and the month.
    """
    n = table.n
    alive = table.alive[:n]
    insolvent = alive & (table.cash[:n] < 0.0)
    closed = np.zeros(n, dtype=bool)
    solvent = np.flatnonzero(alive & ~insolvent)
    if p_closure > 0 and len(solvent):
        closed[solvent] = draws.uniform(month, table.firm_id[solvent], "closure") < p_closure
    table.exit_cause[:n][insolvent] = INSOLVENT
    table.exit_cause[:n][closed] = CLOSED
    return np.flatnonzero(insolvent | closed)
