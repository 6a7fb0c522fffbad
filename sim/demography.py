"""Who the firms are when they are founded, when new ones are born, and when they exit.

Founding draws (model brief section 1), each keyed by firm and birth month: sector from
the configured shares; workers ``min(10, Geometric)`` with the mean persons per micro
establishment of INEGI's economic census (2.2 persons, owner included); expected monthly
revenue lognormal around ``median_revenue_solo * (1 + workers)^elasticity``, capped at the
micro ceiling; input cost share normal around the sector's mean; expected operating margin
normal (mean shifted by sector), which fixes the fixed cost; start-up cash in months of
fixed cost, lognormal; volatility lognormal (scaled by sector); sector exposure normal;
capability, cooperativeness and resources Beta; planned approach Bernoulli; the true log
efficiency the founder does not know (``sim.learning``) and the owner's age.

Exit rule: a firm that ends a month with negative cash cannot pay its way and closes
(insolvent; no credit line in the default economy); a solvent firm that has learned it
cannot cover its costs closes (unviable, ``sim.learning``); any other may close for the
owner's reasons (retirement, illness, a move) with a monthly probability that doubles
every ``owner_hazard_doubling_years`` of the owner's age (Gompertz). Births: a Poisson
number per month with mean ``births.rate_monthly * n_firms``, independent of how many
firms are alive so that both arms of a comparison see the same entrants.
"""

from __future__ import annotations

import numpy as np

from sim import capital, learning, local_markets
from sim.population import MAX_WORKERS, RESOURCE_DIMENSIONS, FirmTable
from sim.rng import Stream


def draw_founding_traits(table: FirmTable, rows: np.ndarray, fc, month: int, draws: Stream,
                         locality_weights: np.ndarray | None = None) -> None:
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
    sector = np.minimum(np.searchsorted(cum, u("sector"), side="right"), len(shares) - 1)
    table.sector[rows] = sector
    if locality_weights is not None and len(locality_weights) > 1:
        table.locality[rows] = local_markets.draw_localities(u("locality"), locality_weights)
    # Geometric number of extra workers by inverse transform: P(W >= w) = p^w.
    p = extra_worker_probability(fc.founding_mean_persons - 1.0)
    workers = np.floor(np.log(u("workers")) / np.log(p)).astype(np.int64) if p > 0 else np.zeros(k, np.int64)
    workers = np.minimum(workers, MAX_WORKERS)
    table.workers[rows] = workers
    table.founding_workers[rows] = workers
    median = fc.median_revenue_solo * (1.0 + workers) ** fc.revenue_size_elasticity
    base = median * np.exp(fc.sd_log_revenue * z("revenue"))
    base = np.minimum(base, fc.max_yearly_sales / 12.0)
    table.base_revenue[rows] = base
    mean_c = np.asarray(fc.sector_input_cost_share, dtype=float)[sector]
    c = np.clip(mean_c + fc.sd_input_cost_share * z("input_cost_share"), 0.0, 0.95)
    table.input_cost_share[rows] = c
    margin = fc.mean_margin + np.asarray(fc.sector_margin_shift, dtype=float)[sector] + fc.sd_margin * z("margin")
    # Fixed cost is what the margin leaves after inputs; every firm has some (rent, the owner's time).
    fixed_share = np.maximum(1.0 - c - margin, 0.02)
    table.fixed_cost[rows] = base * fixed_share
    # The founder chose the size that was right for what they expected: a worker costs its
    # marginal revenue product at the founding plan (sim.learning).
    beta = fc.revenue_size_elasticity
    table.worker_cost[rows] = np.minimum(beta * (1.0 - c) * base / (1.0 + workers),
                                         table.fixed_cost[rows] / np.maximum(workers, 1))
    table.capital[rows] = table.founding_capital[rows] = capital.founding_capital(base, z("capital"), fc)
    table.capital_factor[rows] = 1.0
    cash_months = fc.median_initial_cash_months * np.exp(fc.sd_log_initial_cash * z("cash"))
    table.cash[rows] = cash_months * table.fixed_cost[rows]
    vol_factor = np.asarray(fc.sector_volatility_factor, dtype=float)[sector]
    vol = vol_factor * fc.median_volatility * np.exp(fc.sd_log_volatility * z("volatility"))
    table.volatility[rows] = vol
    table.exposure[rows] = np.clip(fc.mean_sector_exposure + fc.sd_sector_exposure * z("exposure"), 0.0, None)
    table.capability[rows] = draws.beta(month, ids, fc.capability_a, fc.capability_b, "capability")
    table.cooperativeness[rows] = draws.beta(month, ids, fc.cooperativeness_a, fc.cooperativeness_b,
                                             "cooperativeness")
    table.planned[rows] = u("planned") < fc.share_planned
    table.resources[rows] = draws.beta(month, ids, fc.resource_a, fc.resource_b, "resources",
                                       width=len(RESOURCE_DIMENSIONS))
    table.goal[rows] = u("goal")
    mu0, tau0 = learning.prior(fc)
    table.quality[rows] = mu0 + fc.quality_sd * z("quality")
    table.belief[rows] = mu0
    table.belief_precision[rows] = tau0
    table.owner_age[rows] = np.clip(fc.mean_owner_age + fc.sd_owner_age * z("owner_age"), 18.0, 75.0)
    table.shock[rows] = 0.0
    table.birth_month[rows] = month
    table.death_month[rows] = -1
    table.alive[rows] = True


def births_this_month(rate_monthly: float, n_initial: int, month: int, draws: Stream) -> int:
    """Number of entrants this month: Poisson with a mean fixed by the initial population."""
    return draws.poisson(month, rate_monthly * n_initial)


#: Why a firm exited (``exit_cause`` column): 0 still operating.
INSOLVENT, CLOSED, UNVIABLE = 1, 2, 3
#: Labels of ``exit_cause`` values, by value.
EXIT_CAUSES = ("operating", "insolvent", "closed", "unviable")
#: Owner age at which ``p_closure`` applies.
REFERENCE_OWNER_AGE = 45.0


def extra_worker_probability(mean_workers: float) -> float:
    """``p`` of ``min(MAX_WORKERS, Geometric(p))`` whose mean is ``mean_workers`` (bisection)."""
    if mean_workers <= 0:
        return 0.0
    lo, hi = 0.0, 0.999
    for _ in range(60):
        p = 0.5 * (lo + hi)
        mean = p * (1.0 - p ** MAX_WORKERS) / (1.0 - p)
        lo, hi = (p, hi) if mean < mean_workers else (lo, p)
    return 0.5 * (lo + hi)


def closure_hazard(table: FirmTable, rows: np.ndarray, fc, month: int) -> np.ndarray:
    """Monthly probability that each of ``rows`` closes for its owner's reasons (Gompertz in owner age)."""
    owner_age = table.owner_age[rows] + (month - table.birth_month[rows]) / 12.0
    h = fc.p_closure * np.exp2((owner_age - REFERENCE_OWNER_AGE) / fc.owner_hazard_doubling_years)
    return np.minimum(h, 1.0)


def exits(table: FirmTable, fc, month: int, draws: Stream) -> np.ndarray:
    """Rows of living firms that exit this month, with ``exit_cause`` set.

    A firm that cannot pay its way (negative cash) is insolvent; a solvent firm whose
    optimistic belief no longer covers its costs is unviable (``sim.learning``); any other
    may close for its owner's reasons with the Gompertz hazard of ``closure_hazard``, a
    draw keyed by the firm and the month.
    """
    n = table.n
    alive = table.alive[:n]
    insolvent = alive & (table.cash[:n] < 0.0)
    solvent = np.flatnonzero(alive & ~insolvent)
    unviable = np.zeros(n, dtype=bool)
    if fc.quality_sd > 0 and len(solvent):
        unviable[solvent] = learning.unviable(table, solvent, fc.learning_option_sd)
    closed = np.zeros(n, dtype=bool)
    rest = solvent[~unviable[solvent]]
    if fc.p_closure > 0 and len(rest):
        closed[rest] = draws.uniform(month, table.firm_id[rest], "closure") < closure_hazard(table, rest, fc, month)
    table.exit_cause[:n][insolvent] = INSOLVENT
    table.exit_cause[:n][unviable] = UNVIABLE
    table.exit_cause[:n][closed] = CLOSED
    return np.flatnonzero(insolvent | unviable | closed)
