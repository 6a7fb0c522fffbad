"""Stage 4 of the alliance lifecycle: run the alliance (000; Das and Teng; 001).

Each month every member cooperates or acts opportunistically (more when the partner is
strong, goals misfit and control and goodwill are weak); partners detect some acts (control
and their own capability); the alliance delivers its type's benefits for this month's trade,
less what opportunism and friction take; members pay control and coordination costs; and
goodwill moves: down on detected acts and on the shortfall undetected ones cause, slowly up
otherwise, crowded out by formal control.
"""

from __future__ import annotations

import numpy as np

from sim import alliance_types, trust
from sim.alliance_table import mean_over_partners, seat_sum


class Implementation:
    """Stage 4 method of ``sim.lifecycle.AllianceProcess``."""

    def implement(self) -> None:
        """Stage 4 for every running alliance: behaviour, detection, benefits for this
        month's trading, control and coordination costs, goodwill update."""
        firms, t, cfg = self.firms, self.table, self.cfg
        # Only members of running alliances carry multipliers other than 1 (they are set
        # below, and reset when a firm leaves), so last month's members are reset.
        firms.demand_boost[self._multiplied] = 1.0
        firms.input_cost_factor[self._multiplied] = 1.0
        act = t.rows_in("implementation")
        if len(act) == 0:
            self._multiplied = act
            return
        m = t.members[act]
        valid = m >= 0
        mc = np.maximum(m, 0)
        self._multiplied = m[valid]
        cb, co, cs = t.control_behaviour[act], t.control_output[act], t.control_social[act]
        bc = cfg.behaviour

        # Cooperate or act opportunistically (free-riding, appropriating knowledge).
        partner_strength = mean_over_partners(seat_sum(firms.resources[mc]) / firms.resources.shape[1],
                                                              valid)
        # Strategic misfit (distance between goals) breeds opportunism and friction (001).
        goal = firms.goal[mc]
        misfit = np.abs(goal - mean_over_partners(goal, valid))
        p_opp = (bc.opportunism_scale * (1.0 - firms.cooperativeness[mc])
                 * (1.0 + bc.temptation * partner_strength) * (1.0 + bc.misfit_opportunism * misfit)
                 * (1.0 - bc.deterrence * trust.control_strength(cb, co, cs))[:, None]
                 * (1.0 - bc.trust_restraint * t.goodwill[act]))
        # Each member's choice and its detection are keyed by that member and the month.
        month, ids = self.model.month, firms.firm_id[mc]
        opp = (self._behaviour.uniform(month, ids, "opportunism") < np.clip(p_opp, 0.0, 1.0)) & valid
        partner_capability = mean_over_partners(firms.capability[mc], valid)
        detected = opp & (self._behaviour.uniform(month, ids, "detection")
                          < trust.detection_probability(cb[:, None], co[:, None], cs[:, None], bc,
                                                        partner_capability))
        n_det = seat_sum(detected)
        t.opportunism_detected[act] += n_det
        t.opportunism_undetected[act] += seat_sum(opp & ~detected)
        t.detected_since_eval[act] += n_det
        np.add.at(firms.opportunism_detected, m[detected], 1)

        # Benefits by type; a partner's opportunism takes ``harm`` of a member's benefit.
        opp_partners = seat_sum(opp)[:, None] - opp
        harm = (1.0 - bc.harm) ** opp_partners * (1.0 - cfg.types.misfit_benefit_loss * misfit)
        alliance_types.apply_benefits(self.model, t, act, harm, self._outcomes)

        # Monthly control and coordination costs.
        size = seat_sum(valid)
        control = trust.control_cost(cb, co, cs, cfg.structure)[:, None] * t.share[act]
        coord = np.broadcast_to((cfg.structure.coordination_cost
                                 * np.maximum(size - 1, 1) ** cfg.structure.coordination_exponent)[:, None],
                                m.shape)
        self._charge(m[valid], control[valid], "control_cost")
        self._charge(m[valid], coord[valid], "coordination_cost")
        cost = np.where(valid, control + coord, 0.0)
        t.cost_month[act] = cost
        t.member_cost[act] += cost
        t.cost_total[act] += seat_sum(cost)

        # Goodwill: each member sees the detected acts of its partners, and feels the benefit
        # their undetected acts took.
        saw = (n_det[:, None] - detected) > 0
        hidden = opp & ~detected
        hidden_shortfall = 1.0 - (1.0 - bc.harm) ** (seat_sum(hidden)[:, None] - hidden)
        formal = trust.formal_control(t.formality[act], cb, co)[:, None]
        t.goodwill[act] = np.where(valid, trust.update_goodwill(t.goodwill[act], saw, formal, hidden_shortfall,
                                                                cfg.trust), 0.0)
