"""Credit access: a cash line at a subsidised rate for eligible firms (002: access to finance).

Before the exit check, an eligible firm whose cash is negative may draw on a
line of up to ``line_months`` of its fixed cost to cover the shortfall (a
loan, within the window and the budget). Debt accrues ``interest_monthly`` and
is repaid from positive cash at ``1/term_months`` of principal plus interest a
month, also after the window closes. Debt of firms that exit is lost (the
public cost is disbursements minus repayments).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.params import param
from sim.policies.base import Policy


@dataclass
class CreditParams:
    """Parameters of the credit line."""

    line_months: float = param(2.0, 0, 120, "months of fixed cost", "credit line per firm")
    interest_monthly: float = param(0.01, 0, 1, "share/month", "interest charged on debt")
    term_months: int = param(24, 1, 600, "months", "months over which a loan is repaid")


class Credit(Policy):
    """Lends eligible firms the cash they lack, up to a line; collects repayments."""

    kind = "credit"
    Params = CreditParams

    def setup(self, model) -> None:
        super().setup(model)
        self.debt = np.zeros(0)

    def _grow(self) -> None:
        n = self.model.firms.n
        if len(self.debt) < n:
            self.debt = np.concatenate([self.debt, np.zeros(n - len(self.debt))])

    def before_exit(self) -> None:
        """Collect repayments from firms with cash, then lend to eligible firms short of cash."""
        m = self.model
        self._grow()
        t = m.firms
        n = t.n
        owing = np.flatnonzero(t.alive[:n] & (self.debt[:n] > 0))
        if len(owing):
            self.debt[owing] *= 1.0 + self.p.interest_monthly
            due = self.debt[owing] / self.p.term_months + self.p.interest_monthly * self.debt[owing]
            repay = np.minimum(np.minimum(due, self.debt[owing]), np.maximum(t.cash[owing], 0.0))
            self.debt[owing] -= repay
            self.receive(owing[repay > 0], repay[repay > 0])
        if not self.active(m.month) or self.remaining() <= 0:
            return
        short = np.flatnonzero(t.alive[:n] & (t.cash[:n] < 0.0))
        short = short[self.eligible(short)]
        room = np.maximum(self.p.line_months * t.fixed_cost[short] - self.debt[short], 0.0)
        need = np.minimum(-t.cash[short], room)
        lend = need > 0
        paid = self.pay(short[lend], need[lend], "loan")
        self.debt[short[lend]] += paid

    def finish(self) -> dict:
        out = super().finish()
        self._grow()
        out["debt_outstanding"] = float(self.debt[self.model.firms.alive[: len(self.debt)]].sum())
        out["debt_written_off"] = float(self.debt[~self.model.firms.alive[: len(self.debt)]].sum())
        return out
