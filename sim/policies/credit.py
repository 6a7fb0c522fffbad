"""Credit as a microlender gives it: application, screening, instalments, recovery (002: access to finance).

A firm applies when capital would earn it more than the loan's interest: it asks for the capital
it wants at that rate (``sim.capital``: ``K*`` where the marginal return equals the interest plus
upkeep), from ``min_loan`` up to ``max_loan``, and puts the loan into the business at once.
Screening, as microlenders do it: the firm must be eligible (``configs/policy/credit.yaml``
asks six months of trading history), solvent (cash >= 0), not have learned it cannot cover its
costs, have no loan outstanding and never have missed two instalments; the instalment of a
``term_months`` annuity at ``interest_monthly`` may take at most ``max_instalment_share`` of the
revenue the firm expects, which caps the loan. Instalments are collected each month from cash
(what cash allows; a shortfall stays owed and accrues interest), also after the window. A loan
is written off only when its borrower closes with debt. The fund revolves: repayments can be
lent again, and what is lent less what came back never exceeds the budget.

Sizes and terms: Compartamos' group loans in Sonora averaged about MXN 6,000 over four months at
about 110% a year (Angelucci, Karlan and Zinman 2015); the federal Tandas para el Bienestar lend
MXN 6,000 at no interest over ten monthly payments. The defaults (MXN 6,000 at most, 3% a month,
ten months) sit between the two.

``rescue_insolvent: true`` restores the old liquidity line, off by default: an eligible firm with
negative cash draws up to ``line_months`` of its fixed cost to cover the shortfall; it keeps firms
open that would close that month, most of which close anyway (the issue that retired it as the
default measured 98% of such principal written off).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim import capital, learning
from sim.params import param
from sim.policies.base import Policy, first_by_priority


@dataclass
class CreditParams:
    """Parameters of the credit line."""

    max_loan: float = param(6000.0, 0, 1e9, "currency", "largest loan (Compartamos' average, Tandas' first loan)")
    min_loan: float = param(1000.0, 0, 1e9, "currency", "smallest loan worth making")
    interest_monthly: float = param(0.03, 0, 1, "share/month", "interest charged on debt")
    term_months: int = param(10, 1, 600, "months", "instalments of a loan (an annuity)")
    max_instalment_share: float = param(0.15, 0, 1, "share of expected revenue",
                                        "screening: the instalment may take at most this share of the revenue "
                                        "the firm expects")
    rescue_insolvent: bool = param(False, doc="old liquidity line: lend firms with negative cash their shortfall "
                                              "(off: a microlender does not lend to the insolvent)")
    line_months: float = param(2.0, 0, 120, "months of fixed cost", "rescue line per firm (rescue_insolvent only)")


def annuity(principal: np.ndarray, rate: float, months: int) -> np.ndarray:
    """Monthly instalment that repays ``principal`` with interest ``rate`` in ``months`` payments."""
    if rate <= 0:
        return principal / months
    return principal * rate / (1.0 - (1.0 + rate) ** -months)


class Credit(Policy):
    """Lends eligible, solvent firms for investment, collects instalments, writes off only at closure."""

    kind = "credit"
    label = "Credit line"
    generosity = "params.max_loan"
    Params = CreditParams

    def setup(self, model) -> None:
        super().setup(model)
        self.debt = np.zeros(0)
        self.instalment = np.zeros(0)
        self.principal = np.zeros(0)
        self.months_left = np.zeros(0, dtype=np.int64)
        self.missed = np.zeros(0, dtype=np.int64)
        self.borrowed = np.zeros(0, dtype=bool)
        self.repaid = 0.0
        self.n_loans = 0

    def _grow(self) -> None:
        for name in ("debt", "instalment", "principal", "months_left", "missed"):
            setattr(self, name, self.per_firm(getattr(self, name)))
        self.borrowed = self.per_firm(self.borrowed, False)

    def recovered(self) -> float:
        """A microlender's fund revolves: repayments are lent again (the rescue line's does not)."""
        return 0.0 if self.p.rescue_insolvent else self.repaid

    def before_exit(self) -> None:
        """Collect this month's instalments, then lend (after trading: cash moves at once)."""
        self._grow()
        self.collect()
        if not self.active(self.model.month) or self.remaining() <= 0:
            return
        if self.p.rescue_insolvent:
            self.rescue()
        else:
            self.lend()

    def collect(self) -> None:
        """Interest accrues; each borrower pays its instalment (or, in rescue mode, the balance spread over
        the months left) from the cash it has; a shortfall stays owed."""
        m = self.model
        t = m.firms
        living = m.living_rows
        owing = living[self.debt[living] > 0]
        if not len(owing):
            return
        interest = self.p.interest_monthly * self.debt[owing]
        self.debt[owing] += interest
        if self.p.rescue_insolvent:
            left = np.maximum(self.months_left[owing], 1)
            due = interest + (self.debt[owing] - interest) / left
            self.months_left[owing] = np.maximum(left - 1, 1)
        else:
            due = self.instalment[owing]
        due = np.minimum(due, self.debt[owing])
        repay = np.minimum(due, np.maximum(t.cash[owing], 0.0))
        self.debt[owing] -= repay
        self.principal[owing] = np.maximum(self.principal[owing] - np.maximum(repay - interest, 0.0), 0.0)
        self.principal[owing[self.debt[owing] <= 1e-9]] = 0.0
        self.missed[owing] += repay < due - 1e-9
        paid = repay > 0
        self.repaid += float(repay[paid].sum())
        self.receive(owing[paid], repay[paid])

    def lend(self) -> None:
        """Screen this month's applicants and lend them the capital they want, within the loan limits."""
        m = self.model
        t, fc, p = m.firms, m.cfg.firms, self.p
        rows = m.living_rows
        rows = rows[(self.debt[rows] <= 0) & (self.missed[rows] < 2) & (t.cash[rows] >= 0)]
        rows = rows[self.eligible(rows)]
        if fc.quality_sd > 0:  # an owner who has learned the firm cannot cover its costs does not borrow
            rows = rows[~learning.unviable(t, rows, fc.learning_option_sd)]
        if not len(rows):
            return
        want = capital.room(t, rows, fc, p.interest_monthly)
        per_peso = annuity(np.ones(1), p.interest_monthly, p.term_months)[0]
        afford = p.max_instalment_share * learning.expected_revenue(t, rows) / per_peso
        amount = np.minimum(np.minimum(want, afford), p.max_loan)
        ok = amount >= p.min_loan
        rows, amount = rows[ok], amount[ok]
        if not len(rows):
            return
        order = first_by_priority(np.arange(len(rows)), self.draws.priority(m.month, t.firm_id[rows]), len(rows))
        rows, amount = rows[order], amount[order]
        paid = self.pay(rows, amount, "loan")
        got = paid > 0
        rows, paid = rows[got], paid[got]
        capital.buy(t, rows, paid, fc)
        self.debt[rows] = paid
        self.principal[rows] = paid
        self.instalment[rows] = annuity(paid, p.interest_monthly, p.term_months)
        self.borrowed[rows] = True
        self.n_loans += len(rows)

    def rescue(self) -> None:
        """The old liquidity line (``rescue_insolvent``): cover eligible firms' negative cash, up to a line."""
        m = self.model
        t = m.firms
        living = m.living_rows
        short = living[t.cash[living] < 0.0]
        short = short[self.eligible(short)]
        if m.cfg.firms.quality_sd > 0:
            short = short[~learning.unviable(t, short, m.cfg.firms.learning_option_sd)]
        room = np.maximum(self.p.line_months * t.fixed_cost[short] - self.debt[short], 0.0)
        need = np.minimum(-t.cash[short], room)
        lend = need > 0
        paid = self.pay(short[lend], need[lend], "loan")
        rows = short[lend]
        self.debt[rows] += paid
        self.principal[rows] += paid
        self.borrowed[rows[paid > 0]] = True
        self.months_left[rows[paid > 0]] = self.p.term_months  # a new draw restarts the term
        self.n_loans += int((paid > 0).sum())

    def finish(self) -> dict:
        out = super().finish()
        self._grow()
        n = self.model.firms.n
        debt, alive, principal = self.debt[:n], self.model.firms.alive[:n], self.principal[:n]
        lent = self.spent
        out["debt_outstanding"] = float(debt[alive].sum())
        out["debt_written_off"] = float(debt[~alive].sum())
        out["principal_written_off"] = float(principal[~alive].sum())
        out["share_principal_written_off"] = float(principal[~alive].sum() / lent) if lent > 0 else 0.0
        out["repaid"] = self.repaid
        out["n_loans"] = self.n_loans
        borrowers = self.borrowed[:n]
        out["n_borrowers"] = int(borrowers.sum())
        out["borrowers_trading"] = int((borrowers & alive).sum())
        return out
