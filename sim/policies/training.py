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
from sim.policies.base import Policy, first_by_priority  # noqa: F401 (re-exported)


@dataclass
class TrainingParams:
    """Parameters of the training programme."""

    trainees_per_month: int = param(25, 1, 1_000_000, "firms/month", "course places per month")
    capability_gain: float = param(0.3, 0, 1, "share", "share of the gap to full capability closed")
    cost_per_trainee: float = param(2500.0, 0, 1e8, "currency", "cost of training one firm")


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
        intake = self.intake(self.trained, self.p.trainees_per_month)
        if len(intake) == 0:
            return
        paid = self.pay(intake, np.full(len(intake), self.p.cost_per_trainee), "in_kind")
        done = intake[paid >= self.p.cost_per_trainee]
        cap = m.firms.capability
        cap[done] += self.p.capability_gain * (1.0 - cap[done])
        self.trained[done] = True
