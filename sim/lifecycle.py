"""The alliance lifecycle: one process that runs the five stages and ends alliances.

Where each stage lives: stages 1 and 2 (rethink business, find and choose a partner, and
which of a month's agreements stand) in ``sim.matching``; stage 3 (structure the deal over
months of talks) in ``sim.structuring``; stage 4 (run it) in ``sim.implementation``; stage 5
(evaluate; continue, repair, renegotiate or dissolve) in ``sim.evaluation``. Trust and control
rules are in ``sim.trust``, each alliance type's candidate rule, benefits and payoff delay in
``sim.alliance_types``. ``AllianceProcess`` owns the alliance table, calls the stages in the
order the model's step gives, and ends alliances: dissolution, and the one partner-exit rule
for dyads and groups. Every unit of money an alliance moves (search, formation,
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

from sim import alliance_types, matching
from sim.alliance_table import CAUSE, END_CAUSES, STAGE, STAGES, AllianceTable, seat_max, seat_sum
from sim.alliance_types import ALLIANCE_TYPES
from sim.evaluation import Evaluation
from sim.implementation import Implementation
from sim.population import FirmTable
from sim.structuring import Structuring

LEDGER_ITEMS = ("search_cost", "formation_cost", "control_cost", "coordination_cost")


class AllianceProcess(Structuring, Implementation, Evaluation):
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
        self.formed_this_month = 0  # alliances whose implementation began this month
        self.agreed_this_month = 0  # new agreements (alliance rows opened) this month
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
        """The model's firm table."""
        return self.model.firms

    def _charge(self, rows: np.ndarray, amounts: np.ndarray, item: str) -> None:
        """Pay ``amounts`` from firms ``rows`` as recorded transfers, booked under ``item``."""
        self.model.pay(rows, -np.asarray(amounts, dtype=float))
        self.ledger[self.model.month][item] += float(np.sum(amounts))

    # ------------------------------------------------------ stages 1-3: form
    def form(self) -> np.ndarray:
        """Stages 1-3 for this month: negotiations under way move on or break down, members left
        alone seek a replacement, firms seek partners, and new agreements open alliance rows.

        Returns the rows of alliances agreed this month (in design, or already implemented when
        design and structuring take no time)."""
        self.formed_this_month = 0
        self.agreed_this_month = 0
        self.ended_this_month = dict.fromkeys(END_CAUSES, 0)
        cfg, firms, month, t = self.cfg, self.firms, self.model.month, self.table
        self._negotiate()
        self._end_vacancies()
        free = matching.free_firms(firms, month, cfg.search.min_age_months)  # seekers' and partners' pool
        seekers = matching.choose_seekers(firms, month, cfg.search, self._search,
                                          self.model.cfg.firms.cash_target_months, free)
        since = firms.seeking_since[seekers]
        firms.seeking_since[seekers[(since < 0) | (month - since >= cfg.search.max_search_months)]] = month
        alone = t.rows_in("replacement")
        survivors = seat_max(t.members[alone])  # the one member left in each
        everyone = np.concatenate([seekers, survivors])
        self.seekers_this_month = len(everyone)
        if len(everyone) == 0:
            return np.zeros(0, dtype=np.int64)
        self._charge(everyone, np.full(len(everyone), cfg.search.search_cost), "search_cost")
        kinds = np.concatenate([np.full(len(seekers), -1), t.kind[alone]])
        props = matching.find_partners(self.model, everyone, cfg, self.candidate_sources, self._search,
                                       joinable=self._joinable(), draws_sources=self._brokered, free=free,
                                       kinds=kinds)
        new_rows = self._structure(props)
        # A search ends when a partner agrees, or after max_search_months.
        done = (firms.alliance_id[seekers] >= 0) | (month - firms.seeking_since[seekers] + 1
                                                    >= cfg.search.max_search_months)
        firms.seeking_since[seekers[done]] = -1
        for hook in self.formation_hooks:
            hook(self.model, new_rows)
        return new_rows
    def _end_vacancies(self) -> None:
        """A member left alone longer than ``replacement_months`` ends the alliance (partner exit)."""
        t = self.table
        alone = t.rows_in("replacement")
        over = alone[self.model.month - t.vacant_since[alone] > self.cfg.structure.replacement_months]
        self.dissolve(over, np.full(len(over), CAUSE["partner_exit"]))

    def _joinable(self) -> np.ndarray | None:
        """Per firm, the type code of its running alliance when that type takes new members and a
        seat is free, else -1 (None when groups are not allowed)."""
        t = self.table
        if t.group <= 2:
            return None
        act = t.rows_in("implementation")
        open_rows = act[alliance_types.joinable(t.kind[act]) & (t.size(act) < t.group)]
        members = t.members[open_rows]
        code = np.full(self.firms.n, -1, dtype=np.int64)
        code[members[members >= 0]] = np.broadcast_to(t.kind[open_rows][:, None], members.shape)[members >= 0]
        return code
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
        t.stage[rows] = STAGE["dissolved"]
        t.end_month[rows] = month
        t.end_cause[rows] = causes
        for code, count in enumerate(np.bincount(causes, minlength=len(END_CAUSES)).tolist()):
            self.ended_this_month[END_CAUSES[code]] += count
        m = t.members[rows]
        valid = m >= 0
        self._release(m, valid)
        if learn:  # experience: every ended alliance that ran teaches its members a little
            members = m[valid & (t.start_month[rows] >= 0)[:, None]]
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
        """Members that closed leave; one rule for dyads and groups (ODD 7.7.6).

        An alliance runs while at least two members remain. Talks (design, structuring)
        whose partner closes end. A running alliance left with one member waits for a
        replacement partner, which that member seeks for up to ``replacement_months``
        months; with none left, or no replacement window, it ends (``partner_exit``).
        """
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
        window = self.cfg.structure.replacement_months
        may_wait = (left == 1) & (window > 0) & np.isin(t.stage[aids], (STAGE["implementation"],
                                                                         STAGE["replacement"]))
        ends = aids[(left < 2) & ~may_wait]
        self.dissolve(ends, np.full(len(ends), CAUSE["partner_exit"]))
        wait = aids[may_wait & (t.stage[aids] == STAGE["implementation"])]
        t.stage[wait] = STAGE["replacement"]
        t.vacant_since[wait] = self.model.month
        keep = aids[left >= 1]
        keep = keep[t.active[keep]]
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
            "stage": np.asarray(STAGES)[t.stage[:n]],
            "search_month": t.search_month[:n],
            "agreed_month": t.agreed_month[:n],
            "structuring_month": t.structuring_month[:n],
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
            "evaluations": t.evaluations[:n],
            "repairs": t.repairs[:n],
            "benefit_total": t.benefit_total[:n],
            "cost_total": t.cost_total[:n],
        })

    def ledger_table(self) -> pd.DataFrame:
        """Money firms paid for alliances, by month and item."""
        rows = [{"month": mth, **items} for mth, items in sorted(self.ledger.items())]
        return pd.DataFrame(rows, columns=["month", *LEDGER_ITEMS])
