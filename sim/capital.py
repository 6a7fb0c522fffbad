"""Productive capital: equipment and stock of goods, with diminishing returns (model brief section 1).

A firm holds capital ``K_i`` (column ``capital``) besides cash. Revenue carries the factor
``(K_i / K0_i)^alpha`` (column ``capital_factor``, 1 at founding), ``K0_i`` the founding capital
and ``alpha = firms.capital_elasticity``, so that the revenue equation of ``sim.economy`` is
unchanged for a firm that never invests. The owner's expected marginal return to one more
peso of capital, per month, is ``m_i = alpha (1 - c_i k_i) R_hat_i / K_i``: the contribution
margin on the extra revenue, where ``R_hat_i`` is the revenue the owner expects at normal
demand (``sim.learning.expected_revenue``). The return falls with capital relative to
revenue, so the smallest firms are the most capital-constrained (McKenzie and Woodruff 2008,
Leon, Mexico: 20-33% a month for firms with under US$200 of capital; de Mel, McKenzie and
Woodruff 2008, Sri Lanka: about 5-6% a month on average).

Investment: the owner wants the capital at which the marginal return equals its cost of own
funds plus upkeep, ``m(K*) = rho + delta``; with ``R_hat ~ K^alpha`` that is
``K* = K_i (m_i / (rho + delta))^(1 / (1 - alpha))``. Each month a firm with cash above its
buffer puts the share ``share_surplus_reinvested`` of that surplus into capital, up to ``K*``
(the rest is the owner's drawing); a windfall given for the business (a cash grant, a loan)
is invested whole, up to ``K*`` at the firm's cost of funds (or the loan's interest). Without
credit nobody borrows, so a firm grows its capital only as fast as its surplus allows. New
capital raises the fixed cost by its upkeep ``delta`` a month; the upkeep of the founding
capital is inside the founding fixed cost.
"""

from __future__ import annotations

import numpy as np

from sim import learning
from sim.population import FirmTable


def founding_capital(expected_revenue: np.ndarray, z: np.ndarray, fc) -> np.ndarray:
    """Capital a founder starts with: ``median_capital_months`` of expected revenue, lognormal."""
    return fc.median_capital_months * expected_revenue * np.exp(fc.sd_log_capital * z)


def marginal_return(table: FirmTable, rows: np.ndarray, fc) -> np.ndarray:
    """Each row's expected monthly return on one more peso of capital (share per month)."""
    contribution = 1.0 - table.input_cost_share[rows] * table.input_cost_factor[rows]
    expected = learning.expected_revenue(table, rows)
    return fc.capital_elasticity * contribution * expected / np.maximum(table.capital[rows], 1e-9)


def desired_capital(table: FirmTable, rows: np.ndarray, fc, cost_of_funds: float | np.ndarray) -> np.ndarray:
    """``K*``: the capital at which the marginal return equals ``cost_of_funds`` plus upkeep."""
    a = fc.capital_elasticity
    if a <= 0:
        return table.capital[rows].copy()
    ratio = marginal_return(table, rows, fc) / (cost_of_funds + fc.capital_upkeep_monthly)
    return table.capital[rows] * np.minimum(ratio, 1e6) ** (1.0 / (1.0 - a))


def room(table: FirmTable, rows: np.ndarray, fc, cost_of_funds: float | np.ndarray | None = None) -> np.ndarray:
    """How much more capital each row would buy at ``cost_of_funds`` (default: its owner's own)."""
    rho = fc.owner_cost_of_funds_monthly if cost_of_funds is None else cost_of_funds
    return np.maximum(desired_capital(table, rows, fc, rho) - table.capital[rows], 0.0)


def install(table: FirmTable, rows: np.ndarray, amounts: np.ndarray, fc) -> None:
    """Add ``amounts`` of capital to ``rows`` (bought or given in kind); revenue factor and upkeep follow.

    ``rows`` must be distinct.
    """
    if not len(rows):
        return
    table.capital[rows] += amounts
    table.capital_factor[rows] = (table.capital[rows] / table.founding_capital[rows]) ** fc.capital_elasticity
    table.fixed_cost[rows] += fc.capital_upkeep_monthly * amounts


def buy(table: FirmTable, rows: np.ndarray, amounts: np.ndarray, fc) -> None:
    """``rows`` pay ``amounts`` from cash for capital (a windfall or a loan put into the business)."""
    if not len(rows):
        return
    table.cash[rows] -= amounts
    table.investment[rows] += amounts
    install(table, rows, amounts, fc)


def invest_windfall(table: FirmTable, rows: np.ndarray, amounts: np.ndarray, fc,
                    cost_of_funds: float | None = None) -> np.ndarray:
    """Put each row's windfall into capital, up to what it wants at ``cost_of_funds``; return what was invested."""
    invest = np.minimum(amounts, room(table, rows, fc, cost_of_funds))
    keep = invest > 0
    buy(table, rows[keep], invest[keep], fc)
    return invest


def reinvest_surplus(table: FirmTable, surplus: np.ndarray, fc) -> np.ndarray:
    """How much of each row's ``surplus`` (cash above its buffer, length ``table.n``) its owner invests."""
    invest = np.zeros_like(surplus)
    if fc.share_surplus_reinvested <= 0 or fc.capital_elasticity <= 0:
        return invest
    rows = np.flatnonzero(surplus > 0)
    if len(rows):
        # What is invested raises the buffer by its upkeep's months of cover, which the surplus must also fund.
        affordable = surplus[rows] / (1.0 + fc.cash_target_months * fc.capital_upkeep_monthly)
        invest[rows] = np.minimum(np.minimum(fc.share_surplus_reinvested * surplus[rows], affordable),
                                  room(table, rows, fc))
    return invest
