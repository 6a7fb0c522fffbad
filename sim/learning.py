"""Passive learning (Jovanovic 1982): firms learn how efficient they are, grow, shrink or quit.

Each firm has a true log efficiency ``theta_i`` (column ``quality``) that its founder does
not know: ``theta_i ~ N(-s^2/2, s^2)`` with ``s = firms.quality_sd``, so that founders are
right on average (``E exp(theta) = 1``). Revenue carries ``exp(theta_i + u_i(t))``, where
``u_i`` is the firm's persistent AR(1) luck (``sim.economy``). The owner separates the
market, the alliance and the crisis from the firm's own performance, so each month it
sees ``y_t = theta_i + u_i(t)``. With AR(1) luck the quasi-differenced signal
``z_t = (y_t - phi y_{t-1}) / (1 - phi) = theta_i + sqrt(1 - phi^2) vol_i e_t / (1 - phi)``
is ``theta_i`` plus independent noise of variance ``vol_i^2 (1 + phi) / (1 - phi)``, so the
Bayesian (normal-normal) update is exact:
``tau' = tau + (1 - phi) / ((1 + phi) vol_i^2)``, ``mu' = (tau mu + (tau' - tau) z_t) / tau'``,
starting from the prior ``mu = -s^2/2``, ``tau = 1/s^2`` (columns ``belief``,
``belief_precision``).

Exit on belief (Jovanovic's stopping rule, in the approximation of a reservation belief
that falls with uncertainty): a firm closes as *unviable* when even an optimistic belief,
``learning_option_sd`` posterior standard deviations above its mean, leaves expected
monthly revenue below what it must cover at normal demand:
``(1 - c_i k_i) R_hat_i < F_i`` with ``R_hat_i = base_i exp(mu + lambda sd + sd^2/2) m_i``
(``m_i`` the firm's known alliance multipliers and last month's local-market factor, ``k_i`` its input-cost factor, ``F_i`` its
fixed cost, which includes the owner's own pay, so the outside option is inside ``F_i``).
The ``lambda sd`` term is the option value of staying to learn: young firms, whose beliefs
are vague, stay through losses that would close an old firm.

Size: once a year (on the firm's founding anniversary) the owner re-chooses the number of
workers for what it now believes. With revenue ``~ (1 + w)^beta`` the profit-maximising size
scales as ``exp(belief / (1 - beta))``, and the founder chose the size that was right for the
prior, so the target is ``(1 + w*) = (1 + w_0) exp((mu + sd^2/2 + log m_i) / (1 - beta))``.
The firm moves one worker towards it per year (hiring only with a month of the extra cost
in cash); each worker costs ``worker_cost_i``, the marginal revenue product at the founding
plan. Revenue scale and fixed cost follow the workforce. So growth, shrinkage, the size
distribution of survivors and the fall of the hazard with size all follow from what firms
learn about themselves.
"""

from __future__ import annotations

import numpy as np

from sim.population import MAX_WORKERS, FirmTable


def prior(fc) -> tuple[float, float]:
    """Founders' prior mean and precision of their own log efficiency."""
    s = fc.quality_sd
    if s <= 0:
        return 0.0, np.inf
    return -0.5 * s * s, 1.0 / (s * s)


def observe(table: FirmTable, rows: np.ndarray, previous_shock: np.ndarray, phi: float) -> None:
    """Update the beliefs of ``rows`` with this month's quasi-differenced signal.

    ``previous_shock`` is each row's AR(1) luck before this month's trade (0 in a firm's first month).
    """
    tau = table.belief_precision[rows]
    learning = np.isfinite(tau)
    if not learning.any():
        return
    rows, tau, prev = rows[learning], tau[learning], previous_shock[learning]
    vol = np.maximum(table.volatility[rows], 1e-9)
    signal = table.quality[rows] + (table.shock[rows] - phi * prev) / (1.0 - phi)
    gain = (1.0 - phi) / ((1.0 + phi) * vol * vol)
    new_tau = tau + gain
    table.belief[rows] = (tau * table.belief[rows] + gain * signal) / new_tau
    table.belief_precision[rows] = new_tau


def belief_sd(table: FirmTable, rows: np.ndarray) -> np.ndarray:
    """Posterior standard deviation of each row's log efficiency (0 when known)."""
    return 1.0 / np.sqrt(table.belief_precision[rows])


def expected_revenue(table: FirmTable, rows: np.ndarray, option_sd: float = 0.0) -> np.ndarray:
    """Monthly revenue each row expects at normal demand, its belief ``option_sd`` sd above its mean.

    Known multipliers count: alliances' productivity and market access, last month's local-market
    factor and the firm's capital (``sim.capital``).
    """
    sd = belief_sd(table, rows)
    return (table.base_revenue[rows] * np.exp(table.belief[rows] + option_sd * sd + 0.5 * sd * sd)
            * table.productivity[rows] * table.demand_boost[rows] * table.sales_factor[rows]
            * table.capital_factor[rows])


def unviable(table: FirmTable, rows: np.ndarray, option_sd: float) -> np.ndarray:
    """Mask of ``rows`` whose optimistic expected margin at normal demand is negative."""
    expected = expected_revenue(table, rows, option_sd)
    contribution = 1.0 - table.input_cost_share[rows] * table.input_cost_factor[rows]
    return contribution * expected < table.fixed_cost[rows]


def target_workers(table: FirmTable, rows: np.ndarray, elasticity: float) -> np.ndarray:
    """Profit-maximising workforce for what each row now believes (real-valued, before rounding)."""
    sd = belief_sd(table, rows)
    log_gain = (table.belief[rows] + 0.5 * sd * sd
                + np.log(table.productivity[rows] * table.demand_boost[rows] * table.sales_factor[rows]
                         * table.capital_factor[rows]))
    exponent = log_gain / max(1.0 - elasticity, 1e-6)
    return (1.0 + table.founding_workers[rows]) * np.exp(np.minimum(exponent, 10.0)) - 1.0


def review_size(table: FirmTable, rows: np.ndarray, fc) -> np.ndarray:
    """Move each of ``rows`` one worker towards its target; return the change in workers per row."""
    if not len(rows):
        return np.zeros(0, dtype=np.int64)
    target = target_workers(table, rows, fc.revenue_size_elasticity)
    w = table.workers[rows]
    cost = table.worker_cost[rows]
    step = np.where(target >= w + 1.0, 1, np.where(target <= w - 1.0, -1, 0))
    step = np.where((step > 0) & ((w >= MAX_WORKERS) | (table.cash[rows] < cost)), 0, step)
    step = np.where((step < 0) & (w <= 0), 0, step)
    changed = step != 0
    if changed.any():
        r, s, w0 = rows[changed], step[changed], w[changed]
        beta = fc.revenue_size_elasticity
        table.base_revenue[r] *= ((1.0 + w0 + s) / (1.0 + w0)) ** beta
        table.fixed_cost[r] = np.maximum(table.fixed_cost[r] + s * table.worker_cost[r],
                                         0.02 * table.base_revenue[r])
        table.workers[r] = w0 + s
    return step
