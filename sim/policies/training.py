"""Alliance-management training: raises the capability of trained firms (002; 004).

Each month in the window up to ``trainees_per_month`` eligible firms not yet
trained, chosen by a lottery keyed by firm and month, take a course (valued at
``cost_per_trainee``, in kind) that closes ``capability_gain`` of the gap
between their alliance-management capability and full capability.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.params import param
from sim.policies.base import Policy


@dataclass
class TrainingParams:
    """Parameters of the training programme."""

    trainees_per_month: int = param(25, 1, 1_000_000, "firms/month", "course places per month")
    capability_gain: float = param(0.3, 0, 1, "share", "share of the gap to full capability closed")
    cost_per_trainee: float = param(2500.0, 0, 1e8, "currency", "cost of training one firm")


def first_by_priority(rows: np.ndarray, priority: np.ndarray, k: int) -> np.ndarray:
    """The ``k`` rows of lowest priority, in priority order (ties in row order).

    The same as ``rows[np.argsort(priority, kind="stable")][:k]``, without sorting every
    eligible firm of a national population for a few course places.
    """
    if len(rows) > k:
        kth = np.partition(priority, k - 1)[k - 1]
        near = np.flatnonzero(priority <= kth)  # every row that can be among the first k, in row order
        rows, priority = rows[near], priority[near]
    return rows[np.argsort(priority, kind="stable")][:k]


class Training(Policy):
    """Trains eligible firms once each, raising their alliance-management capability."""

    kind = "training"
    label = "Alliance training"
    generosity = "params.trainees_per_month"
    Params = TrainingParams

    def setup(self, model) -> None:
        super().setup(model)
        self.trained = np.zeros(0, dtype=bool)

    def start_of_month(self) -> None:
        """Train this month's intake (before partner search, so it counts this month)."""
        m = self.model
        if not self.active(m.month) or self.remaining() <= 0:
            return
        self.trained = self.per_firm(self.trained, False)
        rows = m.living_rows
        rows = rows[self.eligible(rows) & ~self.trained[rows]]
        if len(rows) == 0:
            return
        # A lottery keyed by firm and month: the intake does not depend on row order.
        intake = first_by_priority(rows, self.draws.priority(m.month, m.firms.firm_id[rows]),
                                   self.p.trainees_per_month)
        paid = self.pay(intake, np.full(len(intake), self.p.cost_per_trainee), "in_kind")
        done = intake[paid >= self.p.cost_per_trainee]
        cap = m.firms.capability
        cap[done] += self.p.capability_gain * (1.0 - cap[done])
        self.trained[done] = True
