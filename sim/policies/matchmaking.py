"""Matchmaking or brokerage: more and better-informed candidates, and brokered trust.

Chambers of commerce, universities and innovation centres act as intermediaries
that broker trust between SMEs (002, section 4.3). Each month in the window,
every eligible seeker the budget can serve (``service_cost`` each, in kind)
is shown ``extra_candidates`` partners that the broker picked from a wider pool
by their true fit; the seeker judges them with half its usual perception noise
(better information, drawn from the ``alliance_brokered`` stream), and alliances
formed with them start with ``trust_bonus`` more goodwill and competence trust.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim import alliance_types, matching
from sim.params import param
from sim.policies.base import Policy


@dataclass
class MatchmakingParams:
    """Parameters of the matchmaking service."""

    extra_candidates: int = param(6, 1, 100, "firms", "candidates the broker adds per served seeker")
    pool_factor: int = param(4, 1, 50, "", "broker screens this many firms per candidate it proposes")
    trust_bonus: float = param(0.15, 0, 1, "0-1", "initial trust added to brokered alliances")
    service_cost: float = param(400.0, 0, 1e8, "currency/seeker-month", "cost of serving one seeker for a month")


class Matchmaking(Policy):
    """Adds broker-screened candidates with a trust bonus to eligible seekers (in kind)."""

    kind = "matchmaking"
    label = "Matchmaking (brokers)"
    Params = MatchmakingParams

    def setup(self, model) -> None:
        """Register as a candidate source of the partner search (hook of stage 2)."""
        super().setup(model)
        if model.alliances is not None:
            model.alliances.candidate_sources.append(self.candidates)

    def candidates(self, model, seekers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Broker-screened candidates and their trust bonus for each seeker (-1 = none)."""
        k = self.p.extra_candidates
        cand = np.full((len(seekers), k), -1, dtype=np.int64)
        bonus = np.zeros((len(seekers), k))
        if not self.active(model.month) or self.remaining() <= 0 or len(seekers) == 0:
            return cand, bonus
        # Firms looking for an alliance (a member seeking a replacement partner searches on its own).
        served = np.flatnonzero(self.eligible(seekers) & (self.model.firms.alliance_id[seekers] < 0))
        paid = self.pay(seekers[served], np.full(len(served), self.p.service_cost), "in_kind")
        served = served[paid >= self.p.service_cost]
        firms = model.firms
        pool = matching.free_firms(firms, model.month, model.cfg.alliances.search.min_age_months)
        if len(served) == 0 or len(pool) == 0:
            return cand, bonus
        s_rows = seekers[served]
        screened = pool[self.draws.integers(model.month, firms.firm_id[s_rows], len(pool), "screen",
                                            width=k * self.p.pool_factor)]
        kind = np.argmax(matching.type_need(firms, s_rows, model.cfg.alliances.structure.types_enabled), axis=1)
        same = ~alliance_types.local(kind)[:, None] | (firms.sector[screened] == firms.sector[s_rows][:, None])
        fit = matching.score(firms, s_rows[:, None], np.where(same & (screened != s_rows[:, None]), screened, -1),
                             kind[:, None], np.zeros(screened.shape), model.cfg.alliances.search,
                             np.zeros(screened.shape), model.cfg.alliances.types,
                             model.cfg.firms.cash_target_months, matching.mean_cooperativeness(model.cfg.firms))
        best = np.argsort(-fit, axis=1, kind="stable")[:, :k]
        picked = np.take_along_axis(screened, best, axis=1)
        picked = np.where(np.isfinite(np.take_along_axis(fit, best, axis=1)), picked, -1)
        cand[served] = picked
        bonus[served] = np.where(picked >= 0, self.p.trust_bonus, 0.0)
        return cand, bonus
