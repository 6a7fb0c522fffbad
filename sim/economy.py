"""One month of trading for every living firm, as whole-array operations.

Revenue of firm i in month t (model brief sections 1 and 2):
``R_i = base_i * D_s(t)^exposure_i * exp(theta_i + u_i(t) - vol_i^2 / 2) * productivity_i * demand_boost_i``
with ``theta_i`` the firm's true log efficiency, which it learns about (``sim.learning``),
with the firm's own persistent shock ``u_i(t) = phi u_i(t-1) + sqrt(1 - phi^2) vol_i e_i(t)``
(stationary sd ``vol_i``). Costs: ``C_i = input_share_i * input_cost_factor_i * R_i + fixed_i``.
Sales carry the local market's factor (``sim.local_markets``) and the firm's capital its factor
(``sim.capital``). Cash: ``cash += R_i - C_i + transfers_i``; of whatever exceeds
``cash_target_months * fixed_i`` the owner invests a share in capital while it earns more than
the owner's cost of funds (``sim.capital``) and draws the rest (micro firms fund the owner's
household).
Each living firm's shock innovation ``e_i(t)`` is a draw keyed by the firm and the month
(stream ``firm_shocks``), the same in every arm of a comparison in which the firm is alive.
"""

from __future__ import annotations

import numpy as np

from sim import capital
from sim.population import FirmTable
from sim.rng import Stream


def trade(table: FirmTable, demand: np.ndarray, fc, month: int, draws: Stream,
          sales_factor: np.ndarray | None = None, price: np.ndarray | None = None) -> None:
    """Book one month of revenue, costs, transfers and owner drawings for living firms.

    ``sales_factor`` (per row, 1 when None) is what the firm's local market gives it
    (``sim.local_markets``: crowding by rivals and the effect of its price); ``price`` its
    relative price, so that inputs cost ``c k R / price`` (the same units at a lower price).
    """
    n = table.n
    alive = table.alive[:n]
    eps = np.zeros(n)
    living = np.flatnonzero(alive)
    eps[living] = draws.normal(month, table.firm_id[living])
    phi = fc.shock_persistence
    vol = table.volatility[:n]
    shock = phi * table.shock[:n] + np.sqrt(1.0 - phi * phi) * vol * eps
    table.shock[:n] = np.where(alive, shock, table.shock[:n])

    revenue = (table.base_revenue[:n] * demand[table.sector[:n]] ** table.exposure[:n]
               * np.exp(table.quality[:n] + shock - 0.5 * vol * vol) * table.productivity[:n] * table.demand_boost[:n]
               * table.capital_factor[:n])
    if sales_factor is not None:
        revenue = revenue * sales_factor
    revenue = np.where(alive, revenue, 0.0)
    inputs = table.input_cost_share[:n] * table.input_cost_factor[:n] * revenue
    if price is not None:
        inputs = inputs / price
    costs = np.where(alive, inputs + table.fixed_cost[:n], 0.0)
    cash = table.cash[:n] + revenue - costs + table.transfers[:n]
    surplus = np.where(alive, np.maximum(cash - fc.cash_target_months * table.fixed_cost[:n], 0.0), 0.0)
    invest = capital.reinvest_surplus(table, surplus, fc)
    # New capital's upkeep raises the fixed cost and so the buffer: the owner leaves that much more in cash.
    draw = np.maximum(surplus - invest * (1.0 + fc.cash_target_months * fc.capital_upkeep_monthly), 0.0)
    table.revenue[:n] = revenue
    table.costs[:n] = costs
    table.owner_draw[:n] = draw
    table.cash[:n] = np.where(alive, cash - draw, table.cash[:n])
    bought = np.flatnonzero(invest)
    capital.buy(table, bought, invest[bought], fc)
