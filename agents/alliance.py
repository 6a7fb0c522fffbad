"""Alliance: a readable view of one alliance (members, type, governance, trust, stage).

The lifecycle runs on whole arrays (``sim.alliance_table``); this class is for
people: notebooks, the app and tests. ``model.alliance(k)`` returns one.
"""

from __future__ import annotations

import numpy as np

from sim.alliance_table import END_CAUSES, STAGE, STAGES
from sim.alliance_types import ALLIANCE_TYPES


class Alliance:
    """One alliance between microenterprises.

    Attributes:
        alliance_id: row of the alliance in the model's alliance table.
        model: the model it lives in.
    """

    def __init__(self, model, alliance_id: int):
        self.model = model
        self.alliance_id = int(alliance_id)

    @property
    def _t(self):
        return self.model.alliances.table

    @property
    def members(self) -> list:
        """Current member firms (``agents.firm.Firm``)."""
        rows = self._t.members[self.alliance_id]
        return [self.model.firm_objects[r] for r in rows[rows >= 0]]

    @property
    def kind(self) -> str:
        """Alliance type: cluster, bridge or innovation."""
        return ALLIANCE_TYPES[self._t.kind[self.alliance_id]]

    @property
    def active(self) -> bool:
        """Whether the alliance is still running."""
        return bool(self._t.active[self.alliance_id])

    @property
    def stage(self) -> str:
        """Lifecycle stage: design, structuring, implementation, evaluation (an implemented
        alliance in a month it was evaluated), replacement (a member seeks a new partner) or dissolved."""
        t, k = self._t, self.alliance_id
        code = int(t.stage[k])
        if code == STAGE["implementation"] and t.last_eval_month[k] == self.model.month and t.evaluations[k] > 0:
            return "evaluation"
        return STAGES[code]

    @property
    def stage_months(self) -> dict[str, int]:
        """Months spent so far in each stage the alliance has reached (search counts from the
        initiator's first month of searching)."""
        t, k, now = self._t, self.alliance_id, self.model.month
        end = int(t.end_month[k]) if t.end_month[k] >= 0 else now
        marks = [("search", int(t.search_month[k])), ("design", int(t.agreed_month[k])),
                 ("structuring", int(t.structuring_month[k])), ("implementation", int(t.start_month[k]))]
        reached = [(name, month) for name, month in marks if month >= 0]
        out = {}
        for (name, month), nxt in zip(reached, reached[1:] + [("end", end)]):
            out[name] = nxt[1] - month
        return out

    @property
    def end_cause(self) -> str | None:
        """Why it ended, or None while active."""
        code = self._t.end_cause[self.alliance_id]
        return END_CAUSES[code] if code >= 0 else None

    @property
    def governance(self) -> dict[str, float]:
        """Formality and the three control mechanisms, each 0-1."""
        t, k = self._t, self.alliance_id
        return {"formality": float(t.formality[k]), "behaviour": float(t.control_behaviour[k]),
                "output": float(t.control_output[k]), "social": float(t.control_social[k])}

    @property
    def trust(self) -> dict[str, list[float]]:
        """Each current member's goodwill and competence trust in its partners."""
        t, k = self._t, self.alliance_id
        seats = np.flatnonzero(t.members[k] >= 0)
        return {"goodwill": t.goodwill[k, seats].tolist(), "competence": t.competence[k, seats].tolist()}

    def __repr__(self) -> str:
        ids = [f.unique_id for f in self.members]
        state = "active" if self.active else f"ended ({self.end_cause})"
        return f"Alliance(id={self.alliance_id}, type={self.kind}, members={ids}, {state})"
