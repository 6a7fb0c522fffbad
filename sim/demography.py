"""Who the firms are when they are founded, when new ones are born, and when they exit.

Founding draws (model brief section 1): sector from the configured shares; workers
``min(10, Geometric)`` so most firms have 0-2 employees (INEGI: micro firms have
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


def draw_founding_traits(table: FirmTable, rows: np.ndarray, fc, month: int,
                         rng: np.random.Generator) -> None:
    """Fill ``rows`` of ``table`` with new firms founded at ``month`` (draw order is fixed)."""
    k = len(rows)
    shares = np.asarray(fc.sector_shares, dtype=float)
    table.sector[rows] = rng.choice(len(shares), size=k, p=shares / shares.sum())
    workers = np.minimum(rng.geometric(1.0 - fc.p_extra_worker, size=k) - 1, 10)
    table.workers[rows] = workers
    median = fc.median_revenue_solo * (1.0 + workers) ** fc.revenue_size_elasticity
    base = median * np.exp(fc.sd_log_revenue * rng.standard_normal(k))
    base = np.minimum(base, fc.max_yearly_sales / 12.0)
    table.base_revenue[rows] = base
    c = np.clip(fc.mean_input_cost_share + fc.sd_input_cost_share * rng.standard_normal(k), 0.0, 0.95)
    table.input_cost_share[rows] = c
    margin = fc.mean_margin + fc.sd_margin * rng.standard_normal(k)
    # Fixed cost is what the margin leaves after inputs; every firm has some (rent, the owner's time).
    fixed_share = np.maximum(1.0 - c - margin, 0.02)
    table.fixed_cost[rows] = base * fixed_share
    cash_months = fc.median_initial_cash_months * np.exp(fc.sd_log_initial_cash * rng.standard_normal(k))
    table.cash[rows] = cash_months * table.fixed_cost[rows]
    vol = fc.median_volatility * np.exp(fc.sd_log_volatility * rng.standard_normal(k))
    table.volatility[rows] = vol
    table.exposure[rows] = np.clip(fc.mean_sector_exposure + fc.sd_sector_exposure * rng.standard_normal(k),
                                   0.0, None)
    table.capability[rows] = rng.beta(fc.capability_a, fc.capability_b, size=k)
    table.cooperativeness[rows] = rng.beta(fc.cooperativeness_a, fc.cooperativeness_b, size=k)
    table.planned[rows] = rng.random(k) < fc.share_planned
    table.resources[rows] = rng.beta(fc.resource_a, fc.resource_b, size=(k, len(RESOURCE_DIMENSIONS)))
    table.goal[rows] = rng.random(k)
    table.shock[rows] = 0.0
    table.birth_month[rows] = month
    table.death_month[rows] = -1
    table.alive[rows] = True


def births_this_month(rate_monthly: float, n_initial: int, rng: np.random.Generator) -> int:
    """Number of entrants this month: Poisson with a mean fixed by the initial population."""
    return int(rng.poisson(rate_monthly * n_initial))


#: Why a firm exited (``exit_cause`` column): 0 still operating.
INSOLVENT, CLOSED = 1, 2


def exits(table: FirmTable, p_closure: float, rng: np.random.Generator) -> np.ndarray:
    """Rows of living firms that exit this month, with ``exit_cause`` set.

    A firm that cannot pay its way (negative cash) is insolvent; any other may
    close for reasons outside the business (the owner retires, falls ill, moves)
    with monthly probability ``p_closure``. One draw per row every month keeps
    the ``exits`` stream aligned across the arms of a comparison.
    """
    n = table.n
    u = rng.random(n)
    alive = table.alive[:n]
    insolvent = alive & (table.cash[:n] < 0.0)
    closed = alive & ~insolvent & (u < p_closure)
    table.exit_cause[:n][insolvent] = INSOLVENT
    table.exit_cause[:n][closed] = CLOSED
    return np.flatnonzero(insolvent | closed)
