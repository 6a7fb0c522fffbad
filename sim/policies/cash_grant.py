"""Cash or in-kind grants to microenterprises: the benchmark arm of most randomized evaluations.

Each month in the window up to ``grants_per_month`` eligible firms not yet paid, chosen by a
lottery keyed by firm and month, receive ``amount`` once (model brief section 6). In kind
(``form: in_kind``: equipment or stock chosen by the owner, as in McKenzie and Woodruff 2008 and
de Mel, McKenzie and Woodruff 2008) it becomes capital at once. In cash it reaches the firm's
cash and, given for the business, is invested up to the capital the owner wants at its own cost
of funds; what is left stays as cash, and the owner draws what exceeds the buffer
(``sim.capital``). Paid after trading, so the capital counts from the next month's trade.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim import capital
from sim.params import param
from sim.policies.base import Policy


@dataclass
class CashGrantParams:
    """Parameters of the grant."""

    amount: float = param(1500.0, 0, 1e8, "currency", "grant per firm, paid once "
                          "(McKenzie and Woodruff 2008: 1,500 pesos)")
    form: str = param("in_kind", choices=("cash", "in_kind"),
                      doc="cash: to the firm's cash, invested as its owner wants; in_kind: equipment or stock")
    grants_per_month: int = param(20, 1, 10_000_000, "firms/month", "grants paid per month at most")


class CashGrant(Policy):
    """Gives eligible firms a one-off grant, in cash or in kind."""

    kind = "cash_grant"
    label = "Cash grant"
    generosity = "params.amount"
    Params = CashGrantParams

    def setup(self, model) -> None:
        super().setup(model)
        self.granted = np.zeros(0, dtype=bool)

    def before_exit(self) -> None:
        """Pay this month's grants (after trading: cash arrives at once, capital counts from next month)."""
        m = self.model
        if not self.active(m.month) or self.remaining() <= 0:
            return
        self.granted = self.per_firm(self.granted, False)
        chosen = self.intake(self.granted, self.p.grants_per_month)
        if not len(chosen):
            return
        paid = self.pay(chosen, np.full(len(chosen), self.p.amount), self.p.form)
        got = paid > 0
        chosen, paid = chosen[got], paid[got]
        self.granted[chosen] = True
        fc = m.cfg.firms
        if self.p.form == "in_kind":
            capital.install(m.firms, chosen, paid, fc)
        else:
            capital.invest_windfall(m.firms, chosen, paid, fc)
