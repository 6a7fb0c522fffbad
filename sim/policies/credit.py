"""Credit access: a cash line at a subsidised rate for eligible firms (002: access to finance).

Before the exit check, an eligible firm whose cash is negative may draw on a
line of up to ``line_months`` of its fixed cost to cover the shortfall (a
loan, within the window and the budget). Debt accrues ``interest_monthly``; a
firm repays from positive cash the interest plus the balance spread over the
months left of a ``term_months`` term (a new draw restarts the term), also after
the window closes. Debt of firms that exit is lost (the
public cost is disbursements minus repayments).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim import learning

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
    label = "Credit line"
    generosity = "params.line_months"
    Params = CreditParams

    def setup(self, model) -> None:
        super().setup(model)
        self.debt = np.zeros(0)
        self.months_left = np.zeros(0, dtype=np.int64)

    def _grow(self) -> None:
        self.debt = self.per_firm(self.debt)
        self.months_left = self.per_firm(self.months_left)

    def before_exit(self) -> None:
        """Collect repayments from firms with cash, then lend to eligible firms short of cash."""
        m = self.model
        self._grow()
        t = m.firms
        living = m.living_rows
        owing = living[self.debt[living] > 0]
        if len(owing):
            # Interest accrues; the instalment is the interest plus the balance spread over
            # the months left of the term, so a firm that can pay is clear when the term ends.
            interest = self.p.interest_monthly * self.debt[owing]
            self.debt[owing] += interest
            left = np.maximum(self.months_left[owing], 1)
            due = interest + (self.debt[owing] - interest) / left
            repay = np.minimum(np.minimum(due, self.debt[owing]), np.maximum(t.cash[owing], 0.0))
            self.debt[owing] -= repay
            self.months_left[owing] = np.maximum(left - 1, 1)
            self.receive(owing[repay > 0], repay[repay > 0])
        if not self.active(m.month) or self.remaining() <= 0:
            return
        short = living[t.cash[living] < 0.0]
        short = short[self.eligible(short)]
        if m.cfg.firms.quality_sd > 0:  # an owner who has learned the firm cannot cover its costs does not borrow
            short = short[~learning.unviable(t, short, m.cfg.firms.learning_option_sd)]
        room = np.maximum(self.p.line_months * t.fixed_cost[short] - self.debt[short], 0.0)
        need = np.minimum(-t.cash[short], room)
        lend = need > 0
        paid = self.pay(short[lend], need[lend], "loan")
        self.debt[short[lend]] += paid
        self.months_left[short[lend][paid > 0]] = self.p.term_months  # a new draw restarts the term

    def finish(self) -> dict:
        out = super().finish()
        self._grow()
        n = self.model.firms.n
        debt, alive = self.debt[:n], self.model.firms.alive[:n]
        out["debt_outstanding"] = float(debt[alive].sum())
        out["debt_written_off"] = float(debt[~alive].sum())
        return out
