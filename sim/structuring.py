"""Stage 3 of the alliance lifecycle: structure the deal, over months of talks (000; 001).

Partners who agreed (stage 2) open an alliance row in ``design``; after ``design_months``
they move to ``structuring`` and after ``structuring_months`` more to implementation. Each
month of talks can end in a breakdown (``negotiation_failed``), more often between partners
of little alliance capability and distant goals; formation fees are paid in monthly
instalments while talks last. Structuring sets type, shares, formality, the control fitted
to the deal's risk and initial trust. A member joining a running group, or replacing a
partner that closed, is seated at once.
"""

from __future__ import annotations

import numpy as np

from sim import alliance_types, matching, trust
from sim.alliance_table import ALLIANCE_FIELDS, CAUSE, STAGE, mean_over_partners, seat_max, seat_sum
from sim.matching import serve_in_order


class Structuring:
    """Stage 3 methods of ``sim.lifecycle.AllianceProcess`` (its table, firms, streams and ledger)."""

    def _negotiate(self) -> None:
        """Design and structuring take time: each month talks may break down (more often between
        partners of little alliance capability and misfitting goals); formation fees are paid in
        monthly instalments while they last; an alliance whose talks are over is implemented."""
        t, firms, sc, month = self.table, self.firms, self.cfg.structure, self.model.month
        rows = np.union1d(t.rows_in("design"), t.rows_in("structuring"))
        if len(rows) == 0:
            return
        m = t.members[rows]
        valid = m >= 0
        mc = np.maximum(m, 0)
        cap = seat_sum(np.where(valid, firms.capability[mc], 0.0)) / np.maximum(seat_sum(valid), 1)
        # Goal misfit as stage 4 measures it (distance to the partners' mean goal), the largest over members.
        goal = firms.goal[mc]
        misfit = seat_max(np.where(valid, np.abs(goal - mean_over_partners(goal, valid)), 0.0))
        p_break = sc.negotiation_breakdown * (1.0 - cap) * (1.0 + misfit)
        breaks = self._outcomes.uniform(month, t.initiator_id[rows], "negotiation") < p_break
        self.dissolve(rows[breaks], np.full(int(breaks.sum()), CAUSE["negotiation_failed"]), learn=False)
        rows = rows[~breaks]
        elapsed = month - t.agreed_month[rows]
        talks = sc.design_months + sc.structuring_months
        implement = elapsed >= talks
        to_structure = (t.stage[rows] == STAGE["design"]) & (elapsed >= sc.design_months) & ~implement
        t.stage[rows[to_structure]] = STAGE["structuring"]
        t.structuring_month[rows[to_structure]] = month
        self._charge_instalment(rows[~implement])
        self._start_implementation(rows[implement])

    def _charge_instalment(self, rows: np.ndarray) -> None:
        """Each member pays this month's share of its formation fee (spread over the months of talks)."""
        if len(rows) == 0:
            return
        t, sc = self.table, self.cfg.structure
        m = t.members[rows]
        valid = m >= 0
        fee = trust.formation_fee(t.formality[rows], sc) / max(sc.design_months + sc.structuring_months, 1)
        fees = np.broadcast_to(fee[:, None], m.shape)
        self._charge(m[valid], fees[valid], "formation_cost")
        t.cost_total[rows] += fee * seat_sum(valid)

    def _start_implementation(self, rows: np.ndarray) -> None:
        """Stage 4 begins: the alliance is formed, its members are allied."""
        if len(rows) == 0:
            return
        t, firms, month = self.table, self.firms, self.model.month
        t.stage[rows] = STAGE["implementation"]
        t.start_month[rows] = month
        t.last_eval_month[rows] = month
        members = t.members[rows]
        members = members[members >= 0]
        firms.ever_allied[members] = True
        firms.alliances_joined[members] += 1
        self.formed_this_month += len(rows)

    def _structure(self, props: matching.Proposals) -> np.ndarray:
        """Stage 3: resolve conflicts in a random order, then set members, type, shares,
        formality, control and initial trust; charge formation costs.

        The order is a priority keyed by each seeker and the month, so two seekers that
        compete for a partner in two arms are served in the same order in both."""
        firms, t = self.firms, self.table
        order = np.argsort(self._search.priority(self.model.month, firms.firm_id[props.seeker]), kind="stable")
        group = firms.alliance_id[props.partner[order]]  # >= 0: join that cluster group
        groups = np.unique(group[group >= 0])
        accepted = serve_in_order(props.seeker[order], props.partner[order], group, groups,
                                  t.group - t.size(groups))
        # A member left alone seats its new partner in its own alliance.
        own = firms.alliance_id[props.seeker[order]]
        replace = accepted & (group < 0) & (own >= 0)
        pairs = order[accepted & (group < 0) & (own < 0)]
        joins = zip(order[accepted & (group >= 0)].tolist(), group[accepted & (group >= 0)].tolist())
        rows = t.add_rows(len(pairs))
        self.agreed_this_month = len(pairs)
        if len(pairs):
            self._open_alliances(rows, props, pairs)
        for i, aid in joins:
            self._join(aid, int(props.seeker[i]), float(props.tie[i]), float(props.brokered[i]))
        i = order[replace]
        self._seat_replacements(own[replace], props.partner[i], props.tie[i], props.brokered[i])
        return rows

    def _open_alliances(self, rows: np.ndarray, props: matching.Proposals, idx: np.ndarray) -> None:
        cfg, firms, t, month = self.cfg, self.firms, self.table, self.model.month
        sc, tc = cfg.structure, cfg.trust
        a, b = props.seeker[idx], props.partner[idx]
        t.active[rows] = True
        t.kind[rows] = props.kind[idx]
        t.members[rows, 0], t.members[rows, 1] = a, b
        t.search_month[rows] = firms.seeking_since[a]
        t.agreed_month[rows] = month
        tie, brokered = props.tie[idx], props.brokered[idx]
        gw = np.stack([trust.initial_goodwill(firms.capability[b], tie, tc, brokered),
                       trust.initial_goodwill(firms.capability[a], tie, tc, brokered)], 1)
        ct = np.stack([trust.initial_competence(firms.capability[b], tie, tc, brokered),
                       trust.initial_competence(firms.capability[a], tie, tc, brokered)], 1)
        t.goodwill[rows, :2], t.competence[rows, :2] = gw, ct
        t.goodwill_initial[rows], t.competence_initial[rows] = gw.mean(1), ct.mean(1)
        t.formality[rows] = trust.choose_formality(firms.planned[a], sc)
        # Each side judges the deal's risk by what it sees of the other's propensity to cheat.
        mean_coop = matching.mean_cooperativeness(self.model.cfg.firms)
        risk = 0.5 * (trust.relational_risk(firms.capability[a], firms.cooperativeness[b], mean_coop)
                      + trust.relational_risk(firms.capability[b], firms.cooperativeness[a], mean_coop))
        t.control_behaviour[rows], t.control_output[rows], t.control_social[rows] = \
            trust.choose_control(gw.mean(1), t.formality[rows], sc, risk)
        t.initiator_id[rows] = firms.firm_id[a]
        alliance_types.at_agreement(t, rows, month, self._outcomes, cfg.types)
        self.member_ids.extend(np.stack([firms.firm_id[a], firms.firm_id[b]], axis=1).tolist())
        for firm_rows in (a, b):
            firms.alliance_id[firm_rows] = rows
        self._set_shares(rows)
        t.expected_benefit[rows] = alliance_types.expected_benefit(firms, t, rows, cfg.types)
        if sc.design_months + sc.structuring_months == 0:  # no talks: implemented at once
            self._charge_instalment(rows)
            self._start_implementation(rows)
            return
        t.stage[rows] = STAGE["design"] if sc.design_months > 0 else STAGE["structuring"]
        if sc.design_months == 0:
            t.structuring_month[rows] = month
        self._charge_instalment(rows)

    def _join(self, aid: int, firm_row: int, tie: float, brokered: float) -> None:
        """Seat ``firm_row`` in the free seat of the running group ``aid`` (several may join one
        group in a month, so joins are seated one by one; they need groups, which are rare)."""
        t = self.table
        self._seat(np.array([aid]), np.array([int(np.flatnonzero(t.members[aid] < 0)[0])]), np.array([firm_row]),
                   np.array([tie]), np.array([brokered]))

    def _seat_replacements(self, aids: np.ndarray, newcomers: np.ndarray, tie: np.ndarray,
                           brokered: np.ndarray) -> None:
        """Seat each newcomer beside the member left alone in ``aids`` (one each) and resume implementation.

        A replacement is a stranger to that member: its trust starts afresh, towards the
        newcomer (delivery record 1, no strikes), and its next evaluation is a full window away."""
        if len(aids) == 0:
            return
        t, firms, tc = self.table, self.firms, self.cfg.trust
        m = t.members[aids]
        old = np.argmax(m >= 0, axis=1)
        self._seat(aids, np.argmax(m < 0, axis=1), newcomers, tie, brokered)
        cap = firms.capability[newcomers]
        t.goodwill[aids, old] = trust.initial_goodwill(cap, tie, tc, brokered)
        t.competence[aids, old] = trust.initial_competence(cap, tie, tc, brokered)
        t.delivery[aids, old] = 1.0
        t.stage[aids] = STAGE["implementation"]
        t.vacant_since[aids] = -1
        t.strikes[aids] = 0
        t.last_eval_month[aids] = self.model.month

    def _seat(self, aids: np.ndarray, seats: np.ndarray, newcomers: np.ndarray, tie: np.ndarray,
              brokered: np.ndarray) -> None:
        """Seat ``newcomers`` in the free ``seats`` of running alliances ``aids`` (distinct) at once, without
        talks: a clean seat, trust in the others from their mean capability, the formation fee at the
        alliance's formality paid at once; shares and expected benefits recomputed."""
        cfg, firms, t = self.cfg, self.firms, self.table
        m = t.members[aids]
        valid = m >= 0
        partner_cap = seat_sum(np.where(valid, firms.capability[np.maximum(m, 0)], 0.0)) / seat_sum(valid)
        for name, (_, per_member, fill, _) in ALLIANCE_FIELDS.items():
            if per_member:  # a vacated seat keeps its last occupant's record until now
                getattr(t, name)[aids, seats] = fill
        t.members[aids, seats] = newcomers
        t.goodwill[aids, seats] = trust.initial_goodwill(partner_cap, tie, cfg.trust, brokered)
        t.competence[aids, seats] = trust.initial_competence(partner_cap, tie, cfg.trust, brokered)
        firms.alliance_id[newcomers] = aids
        for aid, fid in zip(aids.tolist(), firms.firm_id[newcomers].tolist()):
            self.member_ids[aid].append(int(fid))
        firms.ever_allied[newcomers] = True
        firms.alliances_joined[newcomers] += 1
        self._set_shares(aids)
        t.expected_benefit[aids] = alliance_types.expected_benefit(firms, t, aids, cfg.types)
        fee = trust.formation_fee(t.formality[aids], cfg.structure)
        self._charge(newcomers, fee, "formation_cost")
        t.cost_total[aids] += fee

    def _set_shares(self, rows: np.ndarray) -> None:
        """Members' shares of alliance costs: equal, or in proportion to expected revenue."""
        t, firms = self.table, self.firms
        m = t.members[rows]
        valid = m >= 0
        if self.cfg.structure.contribution_rule == "proportional":
            weight = np.where(valid, firms.base_revenue[np.maximum(m, 0)], 0.0)
        else:
            weight = valid.astype(float)
        t.share[rows] = weight / seat_sum(weight)[:, None]
