"""The alliance lifecycle: structure (stage 3), implementation (4), evaluation and dissolution (5).

Stages 1 and 2 (rethink business, partner search) are in ``sim.matching``; trust
and control rules in ``sim.trust``; benefits by type in ``sim.alliance_types``.
``AllianceProcess`` owns the alliance table and calls them in the order the
model's step gives. Every unit of money an alliance moves (search, formation,
control and coordination costs) is charged to the firm as a recorded transfer
and booked in ``ledger`` by month and purpose, so it can be accounted for.
Four random streams are used, every draw keyed by month and firm (``sim.rng``):
``alliance_search`` (stages 1-2 and the order of stage 3, keyed by the seeker),
``alliance_brokered`` (judging candidates that extra sources such as a broker add),
``alliance_behaviour`` (opportunism and detection, keyed by the acting member) and
``alliance_outcomes`` (performance risk, foreign shocks, renegotiation, keyed by the
firm that initiated the alliance).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from sim import alliance_types, matching, trust
from sim.alliance_table import (ALLIANCE_FIELDS, CAUSE, END_CAUSES, TYPE, AllianceTable, seat_all, seat_any,
                                seat_min, seat_sum)
from sim.params import ALLIANCE_TYPES
from sim.population import FirmTable

LEDGER_ITEMS = ("search_cost", "formation_cost", "control_cost", "coordination_cost")


def serve_in_order(seeker: np.ndarray, partner: np.ndarray, group: np.ndarray, groups: np.ndarray,
                   seats: np.ndarray) -> np.ndarray:
    """Which agreed proposals stand when they are served one by one in the given order.

    Served in order, a proposal fails if its seeker is already taken; one to a member of a
    group (``group`` >= 0; ``seats`` free seats per alliance in ``groups``, sorted) takes
    the seeker into it while a seat is left; one to a free firm takes both firms unless
    the partner is taken. That loop is computed in rounds of whole-array operations: a
    proposal is decided once no earlier undecided proposal shares a firm (or a group)
    with it, since only those can change its outcome, and proposals whose firm is taken
    (or whose group is full) are dropped; each round decides at least the earliest one.

    Returns:
        A mask over the proposals (in serving order) of those that stand.
    """
    count = len(seeker)
    firm_ids, node = np.unique(np.concatenate([seeker, partner]), return_inverse=True)
    seeker_node, partner_node = node[:count], node[count:]
    joins = group >= 0
    group_index = np.where(joins, np.searchsorted(groups, group), 0)
    room = np.append(np.asarray(seats, dtype=np.int64), 0)  # a last, empty slot for pairs
    group_index[~joins] = len(groups)
    taken = np.zeros(len(firm_ids), dtype=bool)
    accepted = np.zeros(count, dtype=bool)
    open_ = np.arange(count)
    while len(open_):
        pair = open_[~joins[open_]]
        first_on_firm = np.full(len(firm_ids), count)
        np.minimum.at(first_on_firm, seeker_node[open_], open_)
        np.minimum.at(first_on_firm, partner_node[pair], pair)
        first_in_group = np.full(len(room), count)
        np.minimum.at(first_in_group, group_index[open_], open_)
        ready = (first_on_firm[seeker_node[open_]] == open_) & np.where(
            joins[open_], first_in_group[group_index[open_]] == open_, first_on_firm[partner_node[open_]] == open_)
        now = open_[ready]
        stands = ~taken[seeker_node[now]] & np.where(joins[now], room[group_index[now]] > 0,
                                                     ~taken[partner_node[now]])
        won = now[stands]
        accepted[won] = True
        taken[seeker_node[won]] = True
        taken[partner_node[won[~joins[won]]]] = True
        room[group_index[won[joins[won]]]] -= 1
        open_ = open_[~ready]
        lost = taken[seeker_node[open_]] | np.where(joins[open_], room[group_index[open_]] <= 0,
                                                    taken[partner_node[open_]])
        open_ = open_[~lost]
    return accepted


class AllianceProcess:
    """Forms, runs, evaluates and dissolves alliances among the model's firms.

    Attributes:
        table: alliance state (``sim.alliance_table.AllianceTable``).
        ledger: month -> item -> currency paid by firms for alliances.
        candidate_sources: extra candidate providers (e.g. a broker policy).
        formation_hooks: callables ``(model, alliance_rows)`` run after alliances form
            (e.g. a formation grant); they may add recorded transfers.
    """

    def __init__(self, model, cfg):
        self.model = model
        self.cfg = cfg
        self.table = AllianceTable(capacity=max(64, model.n_initial // 2), group=cfg.structure.max_group_size)
        self.ledger: dict[int, dict[str, float]] = defaultdict(lambda: dict.fromkeys(LEDGER_ITEMS, 0.0))
        self.candidate_sources: list[matching.CandidateSource] = []
        self.formation_hooks: list = []
        self.formed_this_month = 0
        self.ended_this_month: dict[str, int] = dict.fromkeys(END_CAUSES, 0)
        self.seekers_this_month = 0
        self.member_ids: list[list[int]] = []  # every firm that sat in each alliance, by firm id
        self._multiplied = np.zeros(0, dtype=np.int64)  # firms whose demand boost or input cost factor was set
        self._search = model.streams["alliance_search"]
        self._brokered = model.streams["alliance_brokered"]
        self._behaviour = model.streams["alliance_behaviour"]
        self._outcomes = model.streams["alliance_outcomes"]

    @property
    def firms(self) -> FirmTable:
        return self.model.firms

    def _charge(self, rows: np.ndarray, amounts: np.ndarray, item: str) -> None:
        """Pay ``amounts`` from firms ``rows`` as recorded transfers, booked under ``item``."""
        self.model.pay(rows, -np.asarray(amounts, dtype=float))
        self.ledger[self.model.month][item] += float(np.sum(amounts))

    # ------------------------------------------------------ stages 1-3: form
    def form(self) -> np.ndarray:
        """Stages 1-3 for this month: who seeks, who agrees, and how new alliances are structured."""
        self.formed_this_month = 0
        self.ended_this_month = dict.fromkeys(END_CAUSES, 0)
        cfg, firms, month = self.cfg, self.firms, self.model.month
        free = matching.free_firms(firms, month, cfg.search.min_age_months)  # seekers' and partners' pool
        seekers = matching.choose_seekers(firms, month, cfg.search, self._search,
                                          self.model.cfg.firms.cash_target_months, free)
        self.seekers_this_month = len(seekers)
        if len(seekers) == 0:
            return np.zeros(0, dtype=np.int64)
        self._charge(seekers, np.full(len(seekers), cfg.search.search_cost), "search_cost")
        props = matching.find_partners(self.model, seekers, cfg, self.candidate_sources, self._search,
                                       joinable=self._joinable(), draws_sources=self._brokered, free=free)
        new_rows = self._structure(props)
        for hook in self.formation_hooks:
            hook(self.model, new_rows)
        return new_rows

    def _joinable(self) -> np.ndarray | None:
        """Firms in a cluster alliance with a free seat (only when groups are allowed)."""
        t = self.table
        if t.group <= 2:
            return None
        act = t.active_rows()
        open_rows = act[(t.kind[act] == TYPE["cluster"]) & (t.size(act) < t.group)]
        members = t.members[open_rows]
        mask = np.zeros(self.firms.n, dtype=bool)
        mask[members[members >= 0]] = True
        return mask

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
        pairs = order[accepted & (group < 0)]
        joins = zip(order[accepted & (group >= 0)].tolist(), group[accepted & (group >= 0)].tolist())
        rows = t.add_rows(len(pairs))
        if len(pairs):
            self._open_alliances(rows, props, pairs)
        for i, aid in joins:
            self._join(aid, int(props.seeker[i]), float(props.tie[i]), float(props.brokered[i]))
        self.formed_this_month = len(pairs)
        return rows

    def _open_alliances(self, rows: np.ndarray, props: matching.Proposals, idx: np.ndarray) -> None:
        cfg, firms, t, month = self.cfg, self.firms, self.table, self.model.month
        sc, tc = cfg.structure, cfg.trust
        a, b = props.seeker[idx], props.partner[idx]
        t.active[rows] = True
        t.kind[rows] = props.kind[idx]
        t.members[rows, 0], t.members[rows, 1] = a, b
        t.start_month[rows] = month
        t.last_eval_month[rows] = month
        tie, brokered = props.tie[idx], props.brokered[idx]
        gw = np.stack([trust.initial_goodwill(firms.capability[b], tie, tc, brokered),
                       trust.initial_goodwill(firms.capability[a], tie, tc, brokered)], 1)
        ct = np.stack([trust.initial_competence(firms.capability[b], tie, tc, brokered),
                       trust.initial_competence(firms.capability[a], tie, tc, brokered)], 1)
        t.goodwill[rows, :2], t.competence[rows, :2] = gw, ct
        t.goodwill_initial[rows], t.competence_initial[rows] = gw.mean(1), ct.mean(1)
        t.formality[rows] = trust.choose_formality(firms.planned[a], sc)
        t.control_behaviour[rows], t.control_output[rows], t.control_social[rows] = \
            trust.choose_control(gw.mean(1), t.formality[rows], sc)
        t.initiator_id[rows] = firms.firm_id[a]
        t.project_fails[rows] = (self._outcomes.uniform(month, t.initiator_id[rows], "project_fails")
                                 < cfg.types.innovation_failure) \
            & (props.kind[idx] == TYPE["innovation"])
        self.member_ids.extend(np.stack([firms.firm_id[a], firms.firm_id[b]], axis=1).tolist())
        for firm_rows in (a, b):
            firms.alliance_id[firm_rows] = rows
            firms.ever_allied[firm_rows] = True
            firms.alliances_joined[firm_rows] += 1
        self._set_shares(rows)
        t.expected_benefit[rows] = alliance_types.expected_benefit(firms, t, rows, cfg.types)
        fee = trust.formation_fee(t.formality[rows], sc)
        self._charge(np.concatenate([a, b]), np.concatenate([fee, fee]), "formation_cost")
        t.cost_total[rows] += 2 * fee

    def _join(self, aid: int, firm_row: int, tie: float, brokered: float) -> None:
        """Seat ``firm_row`` in the cluster group ``aid`` and charge its formation cost."""
        cfg, firms, t = self.cfg, self.firms, self.table
        seat = int(np.flatnonzero(t.members[aid] < 0)[0])
        others = t.members[aid][t.members[aid] >= 0]
        for name, (_, per_member, fill, _) in ALLIANCE_FIELDS.items():
            if per_member:  # a vacated seat keeps its last occupant's record until now
                getattr(t, name)[aid, seat] = fill
        t.members[aid, seat] = firm_row
        tc = cfg.trust
        partner_cap = firms.capability[others].mean()
        t.goodwill[aid, seat] = trust.initial_goodwill(partner_cap, tie, tc, brokered)
        t.competence[aid, seat] = trust.initial_competence(partner_cap, tie, tc, brokered)
        firms.alliance_id[firm_row] = aid
        self.member_ids[aid].append(int(firms.firm_id[firm_row]))
        firms.ever_allied[firm_row] = True
        firms.alliances_joined[firm_row] += 1
        rows = np.array([aid])
        self._set_shares(rows)
        t.expected_benefit[rows] = alliance_types.expected_benefit(firms, t, rows, cfg.types)
        fee = trust.formation_fee(t.formality[aid], cfg.structure)
        self._charge(np.array([firm_row]), np.array([fee]), "formation_cost")
        t.cost_total[aid] += fee

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

    # ------------------------------------------------- stage 4: implementation
    def implement(self) -> None:
        """Stage 4 for every running alliance: behaviour, detection, benefits for this
        month's trading, control and coordination costs, goodwill update."""
        firms, t, cfg = self.firms, self.table, self.cfg
        # Only members of running alliances carry multipliers other than 1 (they are set
        # below, and reset when a firm leaves), so last month's members are reset.
        firms.demand_boost[self._multiplied] = 1.0
        firms.input_cost_factor[self._multiplied] = 1.0
        act = t.active_rows()
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
        partner_strength = alliance_types.mean_over_partners(seat_sum(firms.resources[mc]) / firms.resources.shape[1],
                                                              valid)
        # Strategic misfit (distance between goals) breeds opportunism and friction (001).
        goal = firms.goal[mc]
        misfit = np.abs(goal - alliance_types.mean_over_partners(goal, valid))
        p_opp = (bc.opportunism_scale * (1.0 - firms.cooperativeness[mc])
                 * (1.0 + bc.temptation * partner_strength) * (1.0 + bc.misfit_opportunism * misfit)
                 * (1.0 - bc.deterrence * trust.control_strength(cb, co, cs))[:, None]
                 * (1.0 - bc.trust_restraint * t.goodwill[act]))
        # Each member's choice and its detection are keyed by that member and the month.
        month, ids = self.model.month, firms.firm_id[mc]
        opp = (self._behaviour.uniform(month, ids, "opportunism") < np.clip(p_opp, 0.0, 1.0)) & valid
        detected = opp & (self._behaviour.uniform(month, ids, "detection")
                          < trust.detection_probability(cb, co, cs, bc)[:, None])
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

    # --------------------------------------------------- stage 5: evaluation
    def evaluate(self, demand_fall: np.ndarray) -> None:
        """After trading: book realized benefits, update competence trust, then evaluate
        alliances that are due (periodically, after detected opportunism, or after a
        demand shock in a member's sector): continue, renegotiate or dissolve."""
        firms, t, cfg, month = self.firms, self.table, self.cfg, self.model.month
        act = t.active_rows()
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
        # Competence trust: realized against expected benefit. An innovation partner delivers what
        # was expected by delivering nothing before the payoff delay.
        waiting = (t.kind[act] == TYPE["innovation"]) & (age < cfg.types.innovation_delay_months)
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
        # An innovation alliance is not judged on benefits before one full window of learning.
        in_delay = (t.kind[rows] == TYPE["innovation"]) & \
            (month - t.start_month[rows] < cfg.types.innovation_delay_months + ec.every_months)
        # Members judge the relationship on what it has delivered lately against its running costs.
        ratio = np.where(valid, t.benefit_recent[rows] / np.maximum(t.cost_recent[rows], 1e-9), np.inf)
        content = seat_all((ratio >= ec.benefit_cost_ratio_min) | ~valid) | in_delay
        # Expectations adapt to experience (outside an innovation's wait for its payoff).
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
        unhappy = ~lost_trust & ~content
        give_up = unhappy & (t.strikes[rows] >= 1)
        try_again = unhappy & ~give_up
        cap = seat_sum(np.where(valid, firms.capability[mc], 0.0)) / seat_sum(valid)
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
        t.detected_since_eval[rows] = 0
        self.dissolve(rows[lost_trust], cause[lost_trust], learn=False)
        self.dissolve(rows[give_up], np.full(give_up.sum(), CAUSE["low_benefit"]), learn=False)
        self.dissolve(rows[reneg_fail], np.full(reneg_fail.sum(), CAUSE["renegotiation_failed"]), learn=False)

    # -------------------------------------------------------- dissolution
    def dissolve(self, rows: np.ndarray, causes: np.ndarray, learn: bool = True) -> None:
        """End alliances ``rows`` with the given cause codes; free their members.

        ``learn`` gives members the experience of an ended alliance; an evaluation
        that dissolves has already counted it this month.
        """
        if len(rows) == 0:
            return
        firms, t, month = self.firms, self.table, self.model.month
        t.active[rows] = False
        t.end_month[rows] = month
        t.end_cause[rows] = causes
        for code, count in enumerate(np.bincount(causes, minlength=len(END_CAUSES)).tolist()):
            self.ended_this_month[END_CAUSES[code]] += count
        m = t.members[rows]
        valid = m >= 0
        self._release(m, valid)
        if learn:  # experience: every ended alliance teaches its members a little
            members = m[valid]
            firms.capability[members] += self.cfg.evaluation.capability_learning * (1.0 - firms.capability[members])

    def _release(self, members: np.ndarray, valid: np.ndarray) -> None:
        """Free the members of ended alliances (rows of ``members``, seats where ``valid``).

        Each member remembers its partners as its most recent past partners: the
        partners in reverse seat order, then the partners it remembered before,
        keeping the ``PAST_PARTNERS`` most recent (a firm sits in one alliance at a time).
        """
        firms, month = self.firms, self.model.month
        group, seat = np.nonzero(valid)
        leaving = members[group, seat]
        firms.alliance_id[leaving] = -1
        firms.last_alliance_end[leaving] = month
        firms.demand_boost[leaving] = 1.0
        firms.input_cost_factor[leaving] = 1.0
        partners = members[group, ::-1]
        known = valid[group, ::-1] & (partners != leaving[:, None])
        remembered = np.concatenate([partners, firms.past_partners[leaving]], axis=1)
        keep = np.concatenate([known, np.ones(firms.past_partners[leaving].shape, dtype=bool)], axis=1)
        first = np.argsort(~keep, axis=1, kind="stable")[:, : firms.past_partners.shape[1]]
        firms.past_partners[leaving] = np.take_along_axis(remembered, first, axis=1)

    def handle_exits(self, dead_rows: np.ndarray) -> None:
        """Members that closed leave; an alliance left with fewer than two ends (partner exit)."""
        if len(dead_rows) == 0:
            return
        firms, t = self.firms, self.table
        aids = np.unique(firms.alliance_id[dead_rows])
        aids = aids[aids >= 0]
        if len(aids) == 0:
            return
        dead = np.zeros(firms.n, dtype=bool)
        dead[dead_rows] = True
        m = t.members[aids]
        gone = (m >= 0) & dead[np.maximum(m, 0)]
        left = seat_sum((m >= 0) & ~gone)
        firms.alliance_id[m[gone]] = -1
        t.members[aids] = np.where(gone, -1, m)
        ends = aids[left < 2]
        self.dissolve(ends, np.full(len(ends), CAUSE["partner_exit"]))
        keep = aids[left >= 2]
        if len(keep):
            self._set_shares(keep)

    # ---------------------------------------------------------- outputs
    def alliance_table(self) -> pd.DataFrame:
        """One row per alliance ever formed (the run folder's ``alliances.parquet``)."""
        t = self.table
        n = t.n
        valid = t.members[:n] >= 0
        count = np.maximum(valid.sum(1), 1)
        return pd.DataFrame({
            "alliance_id": np.arange(n),
            "members": [list(ids) for ids in self.member_ids],
            "size": [len(ids) for ids in self.member_ids],
            "type": np.asarray(ALLIANCE_TYPES)[t.kind[:n]],
            "formality": t.formality[:n],
            "control_behaviour": t.control_behaviour[:n],
            "control_output": t.control_output[:n],
            "control_social": t.control_social[:n],
            "start_month": t.start_month[:n],
            "end_month": t.end_month[:n],
            "end_cause": np.where(t.end_cause[:n] >= 0,
                                  np.asarray(END_CAUSES + ("active",))[t.end_cause[:n]], "active"),
            "goodwill_initial": t.goodwill_initial[:n],
            "competence_initial": t.competence_initial[:n],
            "goodwill_final": np.where(valid, t.goodwill[:n], 0.0).sum(1) / count,
            "competence_final": np.where(valid, t.competence[:n], 0.0).sum(1) / count,
            "opportunism_detected": t.opportunism_detected[:n],
            "opportunism_undetected": t.opportunism_undetected[:n],
            "renegotiations": t.renegotiations[:n],
            "benefit_total": t.benefit_total[:n],
            "cost_total": t.cost_total[:n],
        })

    def ledger_table(self) -> pd.DataFrame:
        """Money firms paid for alliances, by month and item."""
        rows = [{"month": mth, **items} for mth, items in sorted(self.ledger.items())]
        return pd.DataFrame(rows, columns=["month", *LEDGER_ITEMS])
