"""Shared local markets: each market's customers are divided among the living firms that serve it.

A market is a sector in a locality (``market.localities`` of them, sized by Zipf's law for
city sizes, Gabaix 1999: locality ``l = 1..L`` gets a share of firms ``~ 1 / l^zipf_exponent``;
``localities=1`` is one national market per sector). A firm's *offer* is what draws customers
to it: ``a_i = base_i exp(theta_i) productivity_i p_i^(-epsilon)``, its scale, true efficiency,
innovation and price, where a cluster member that passes the share ``pass_through`` of its
input saving into its price charges ``p_i = 1 - pass_through * c_i (1 - k_i)`` (``k_i`` its
input-cost factor) and ``epsilon`` is the price elasticity its customers show.

Share rule: multinomial logit with an outside option (customers may buy from large stores or
not at all; Anderson, de Palma and Thisse 1992), in which each firm takes its rivals' offers
as given (monopolistic competition). Firm ``i``'s sales carry the crowding factor
``Phi_i = (1 + A_ref / a_0) / (1 + A_{-i} / a_0) = 1 / ((1 - eta) + eta * A_{-i} / A_ref)``,
where ``A_{-i}`` is the total offer of its living rivals in the market now, ``A_ref`` the same
at the reference state (the population the run starts from), ``a_0`` the outside option's
pull and ``eta`` the elasticity of a firm's sales to its rivals' offer at the reference
(``market.competition_intensity``), which fixes ``a_0 = A_ref (1 - eta) / eta``. So an entrant
takes customers from every incumbent, an exit gives them back, a rival that innovates or cuts
its price takes share; with ``eta = 0``, or with one firm per market, sales are what they would
be alone (today's revenue equation).
What is zero-sum: innovation's and price cuts' gains in share (taken from local rivals).
What is not: cluster cost savings kept as margin, bridge demand (customers from outside the
local pool, ``demand_boost`` multiplies sales outside the share rule), the productivity
gain on a firm's own customers, and capital (``sim.capital``: more stock and equipment let a
firm sell more to its own customers; capital is not in the offer, so an investing incumbent
does not crowd out entrants, an assumption: with capital in the offer, 20 years of investment
by incumbents halved the number of distinct survivors of a stock's pre-history).
"""

from __future__ import annotations

import numpy as np

from sim.population import FirmTable


def locality_weights(n_localities: int, zipf_exponent: float) -> np.ndarray:
    """Share of firms in each locality, Zipf: ``w_l ~ l^(-exponent)``, summing to 1."""
    w = np.arange(1, n_localities + 1, dtype=float) ** (-zipf_exponent)
    return w / w.sum()


def draw_localities(u: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Locality of each firm from uniforms ``u`` (inverse transform over ``weights``)."""
    return np.minimum(np.searchsorted(np.cumsum(weights), u, side="right"), len(weights) - 1)


def price_factor(table: FirmTable, rows: np.ndarray, pass_through: float) -> np.ndarray:
    """Relative price of each row: 1 minus the passed-through share of its input saving."""
    saving = table.input_cost_share[rows] * (1.0 - table.input_cost_factor[rows])
    return 1.0 - pass_through * saving


def offers(table: FirmTable, rows: np.ndarray, mc, price: np.ndarray | None = None) -> np.ndarray:
    """What draws customers to each row: scale, efficiency, innovation and price."""
    if price is None:
        price = price_factor(table, rows, mc.pass_through)
    return (table.base_revenue[rows] * np.exp(table.quality[rows]) * table.productivity[rows]
            * price ** (-mc.price_elasticity))


class LocalMarkets:
    """Market membership and the crowding each living firm faces.

    Attributes:
        cfg: ``market`` config (``localities``, ``competition_intensity`` ...).
        n_markets: sectors x localities.
        reference: ``A_ref`` per market, the rivals' offer a firm faced at the reference state.
    """

    def __init__(self, cfg, n_sectors: int):
        self.cfg = cfg
        self.n_markets = n_sectors * cfg.localities
        self.weights = locality_weights(cfg.localities, cfg.zipf_exponent)
        self.reference = np.zeros(self.n_markets)
        self.outside = np.ones(self.n_markets)

    @property
    def active(self) -> bool:
        """Whether sales depend on rivals at all."""
        return self.cfg.competition_intensity > 0

    def market_of(self, table: FirmTable, rows: np.ndarray) -> np.ndarray:
        """Market index (sector x locality) of each row."""
        return table.sector[rows] * self.cfg.localities + table.locality[rows]

    def set_reference(self, table: FirmTable, rows: np.ndarray) -> None:
        """Fix ``A_ref`` from the population in ``rows``: a typical firm's rivals' total offer.

        The outside option's pull ``a_0 = A_ref (1 - eta) / eta`` follows; a market with no
        rival at the reference (one firm or none) takes the offer of one average firm for
        ``a_0``, so that its lone firm sells as alone and its first entrants compete as in a
        thin market.
        """
        m = self.market_of(table, rows)
        a = offers(table, rows, self.cfg)
        total = np.bincount(m, weights=a, minlength=self.n_markets)
        count = np.bincount(m, minlength=self.n_markets)
        mean_offer = float(a.mean()) if len(a) else 1.0
        self.reference = np.where(count > 1, total * (count - 1) / np.maximum(count, 1), 0.0)
        eta = self.cfg.competition_intensity
        if eta > 0:
            self.outside = np.where(self.reference > 0, self.reference, mean_offer) * (1.0 - eta) / eta

    def crowding(self, table: FirmTable, rows: np.ndarray, price: np.ndarray | None = None) -> np.ndarray:
        """``Phi_i = (1 + A_ref / a_0) / (1 + A_{-i} / a_0)`` for each living row (1 at the reference).

        Where ``A_ref > 0`` this is ``1 / ((1 - eta) + eta A_{-i} / A_ref)``.
        """
        if not self.active or not len(rows):
            return np.ones(len(rows))
        m = self.market_of(table, rows)
        a = offers(table, rows, self.cfg, price)
        total = np.bincount(m, weights=a, minlength=self.n_markets)
        rivals = np.maximum(total[m] - a, 0.0)
        a0 = self.outside[m]
        return (1.0 + self.reference[m] / a0) / (1.0 + rivals / a0)

    def sales_factor(self, table: FirmTable, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Crowding times the price effect on revenue (``p^(1 - epsilon)``) for each living row, and the price."""
        price = price_factor(table, rows, self.cfg.pass_through)
        return self.crowding(table, rows, price) * price ** (1.0 - self.cfg.price_elasticity), price
