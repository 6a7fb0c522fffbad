"""Stage 5 of the alliance lifecycle: evaluate, then continue, repair, renegotiate or dissolve (000; 004).

After trading, members book what the alliance delivered and update competence trust on
realized against expected benefit. Alliances are evaluated periodically, after detected
opportunism, and with some chance after a demand shock: members leave when trust fell below
the exit threshold (unless capable members repair the relationship) or when recent benefits
stayed below costs (after one renegotiation); experience raises capability.
"""

from __future__ import annotations

import numpy as np

from sim import alliance_types, trust
from sim.alliance_table import CAUSE, seat_all, seat_any, seat_min, seat_sum


class Evaluation:
    """Stage 5 method of ``sim.lifecycle.AllianceProcess``."""

    def evaluate(self, demand_fall: np.ndarray) -> None:
        """After trading: book realized benefits, update competence trust, then evaluate
        alliances that are due (periodically, after detected opportunism, or after a
        demand shock in a member's sector): continue, renegotiate or dissolve."""
        firms, t, cfg, month = self.firms, self.table, self.cfg, self.model.month
        act = t.rows_in("implementation")
        if len(act) == 0:
            return
        m = t.members[act]
        valid = m >= 0
        mc = np.maximum(m, 0)
        benefit = np.where(valid, alliance_types.realized_benefit(firms, t, act), 0.0)
        t.member_benefit[act] += benefit
        t.benefit_total[act] += seat_sum(benefit)
        ec = cfg.evaluation
        # Trailing means over the evaluation window (a running mean until the window is full).
        age = month - t.start_month[act]
        w = np.maximum(1.0 / ec.every_months, 1.0 / (age + 1.0))[:, None]
        t.benefit_recent[act] = np.where(valid, t.benefit_recent[act] + w * (benefit - t.benefit_recent[act]), 0.0)
        t.cost_recent[act] = np.where(valid, t.cost_recent[act] + w * (t.cost_month[act] - t.cost_recent[act]), 0.0)
        # Competence trust: realized against expected benefit. A partner in an alliance whose payoff
        # comes late (innovation) delivers what was expected by delivering nothing before the delay.
        waiting = age < alliance_types.payoff_delay(t.kind[act], cfg.types)
        expected = t.expected_benefit[act]
        realized = np.where(waiting[:, None], expected, benefit)
        t.delivery[act] = np.where(valid, trust.update_delivery(t.delivery[act], realized, expected, w), 1.0)
        t.competence[act] = np.where(valid, trust.update_competence(t.competence[act], t.delivery[act], cfg.trust),
                                     0.0)

        # Evaluation: periodically, after detected opportunism, and with some chance after a demand shock.
        shocked = seat_any(np.where(valid, demand_fall[firms.sector[mc]], 0.0) >= ec.shock_threshold)
        shocked &= self._outcomes.uniform(month, t.initiator_id[act], "shock_evaluation") < \
            ec.shock_evaluation_probability
        due = (month - t.last_eval_month[act] >= ec.every_months) | (t.detected_since_eval[act] > 0) | shocked
        rows = act[due]
        if len(rows) == 0:
            return
        m, valid = t.members[rows], t.members[rows] >= 0
        mc = np.maximum(m, 0)
        gw = seat_min(np.where(valid, t.goodwill[rows], np.inf))
        ct = seat_min(np.where(valid, t.competence[rows], np.inf))
        # An alliance whose payoff comes late (innovation) is not judged on benefits before one
        # full window after its payoff delay.
        delay = alliance_types.payoff_delay(t.kind[rows], cfg.types)
        in_delay = (delay > 0) & (month - t.start_month[rows] < delay + ec.every_months)
        # Members judge the relationship on what it has delivered lately against its running costs.
        ratio = np.where(valid, t.benefit_recent[rows] / np.maximum(t.cost_recent[rows], 1e-9), np.inf)
        content = seat_all((ratio >= ec.benefit_cost_ratio_min) | ~valid) | in_delay
        # Expectations adapt to experience (outside a wait for a late payoff).
        revise = valid & ~in_delay[:, None]
        t.expected_benefit[rows] = np.where(
            revise, t.expected_benefit[rows] + ec.expectation_revision * (t.benefit_recent[rows]
                                                                          - t.expected_benefit[rows]),
            t.expected_benefit[rows])

        # A member leaves when it no longer trusts its partners' goodwill or their competence;
        # a collapse of goodwill right after caught opportunism is recorded as that.
        lost_trust = np.minimum(gw, ct) < ec.trust_exit_threshold
        caught = (t.detected_since_eval[rows] > 0) & (gw < ec.trust_exit_threshold)
        cause = np.where(caught, CAUSE["detected_opportunism"], CAUSE["lost_trust"])
        cap = seat_sum(np.where(valid, firms.capability[mc], 0.0)) / seat_sum(valid)
        # Capable members detect and resolve conflicts: a repair lifts trust back above the threshold.
        repaired = lost_trust & (self._outcomes.uniform(month, t.initiator_id[rows], "repair")
                                 < ec.repair_success * cap)
        r = rows[repaired]
        floor = ec.trust_exit_threshold + ec.repair_trust
        t.goodwill[r] = np.where(valid[repaired], np.maximum(t.goodwill[r], floor), 0.0)
        t.competence[r] = np.where(valid[repaired], np.maximum(t.competence[r], floor), 0.0)
        t.repairs[r] += 1
        lost_trust &= ~repaired
        gw = np.where(repaired, np.maximum(gw, floor), gw)
        unhappy = ~lost_trust & ~content
        give_up = unhappy & (t.strikes[rows] >= 1)
        try_again = unhappy & ~give_up
        # Capability and goodwill partly substitute in getting new terms agreed (004).
        p_ok = ec.renegotiation_success * (1.0 - (1.0 - cap) * (1.0 - np.clip(gw, 0.0, 1.0)))
        u = self._outcomes.uniform(month, t.initiator_id[rows], "renegotiation")
        reneg_ok = try_again & (u < p_ok)
        reneg_fail = try_again & ~reneg_ok

        # Renegotiation: tighten control after opportunism or with low trust, else relax it to cut costs.
        r = rows[reneg_ok]
        tighten = (t.detected_since_eval[r] > 0) | (gw[reneg_ok] < 0.5)
        step = np.where(tighten, ec.control_step, -ec.control_step)
        for col in (t.control_behaviour, t.control_output, t.control_social):
            col[r] = np.clip(col[r] * (1.0 + step), 0.0, 1.0)
        t.renegotiations[r] += 1
        t.strikes[rows] = np.where(content, 0, t.strikes[rows] + unhappy)

        # Experience raises capability (weakly: organizational learning is often poor, 003).
        members = m[valid]
        firms.capability[members] += ec.capability_learning * (1.0 - firms.capability[members])

        t.last_eval_month[rows] = month
        t.evaluations[rows] += 1
        t.detected_since_eval[rows] = 0
        self.dissolve(rows[lost_trust], cause[lost_trust], learn=False)
        self.dissolve(rows[give_up], np.full(give_up.sum(), CAUSE["low_benefit"]), learn=False)
        self.dissolve(rows[reneg_fail], np.full(reneg_fail.sum(), CAUSE["renegotiation_failed"]), learn=False)
