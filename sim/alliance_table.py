"""Alliance state as a struct of numpy arrays: one row per alliance ever formed.

Member-level quantities are (alliances x max_group_size) matrices with ``-1``
padding in ``members``, so a month of every alliance is a few array operations.
``agents.alliance.Alliance`` is a readable view onto one row.
"""

from __future__ import annotations

import numpy as np

from sim.columns import ColumnTable

#: Causes of an alliance's end; code = index. ``active`` alliances have cause -1.
END_CAUSES = (
    "low_benefit",            # benefits stayed below costs after renegotiation
    "lost_trust",             # goodwill or competence trust fell below the exit threshold
    "detected_opportunism",   # a partner's opportunism was caught and trust collapsed
    "partner_exit",           # a member closed down (ran out of cash)
    "renegotiation_failed",   # members could not agree on new terms
    "negotiation_failed",     # talks broke down during design or structuring, before implementation
)
CAUSE = {name: code for code, name in enumerate(END_CAUSES)}
#: Stages an alliance row passes through (code = index). Stage 1 (rethink business) and the
#: search of stage 2 belong to firms (``sim.matching``); a row exists from the partners' agreement.
STAGES = (
    "design",          # stage 2 ends: partners agreed, they design goals and contributions
    "structuring",     # stage 3: contract, governance and shares are settled
    "implementation",  # stage 4, with periodic evaluations (stage 5)
    "replacement",     # a member was left alone by a partner's exit and seeks a replacement
    "dissolved",       # ended (see ``end_cause``)
)
STAGE = {name: code for code, name in enumerate(STAGES)}

#: name -> (dtype, per-member?, fill, meaning)
ALLIANCE_FIELDS: dict[str, tuple[type, bool, object, str]] = {
    "active": (bool, False, False, "alliance is running"),
    "kind": (np.int64, False, 0, "type code (cluster, bridge, innovation)"),
    "members": (np.int64, True, -1, "firm rows of members, -1 for empty seats"),
    "initiator_id": (np.int64, False, -1, "firm id of the seeker that proposed the alliance (keys its draws)"),
    "share": (float, True, 0.0, "member's share of alliance costs"),
    "stage": (np.int64, False, 0, "code in STAGES"),
    "search_month": (np.int64, False, -1, "month the initiator began searching for a partner"),
    "agreed_month": (np.int64, False, -1, "month the partners agreed (design began)"),
    "structuring_month": (np.int64, False, -1, "month structuring began, -1 if never reached"),
    "start_month": (np.int64, False, -1, "month implementation began (the alliance formed), -1 if never reached"),
    "vacant_since": (np.int64, False, -1, "month the alliance was left with one member, -1 otherwise"),
    "evaluations": (np.int64, False, 0, "evaluations so far (stage 5)"),
    "repairs": (np.int64, False, 0, "relationships repaired after trust fell below the exit threshold"),
    "end_month": (np.int64, False, -1, "month ended, -1 while active"),
    "end_cause": (np.int64, False, -1, "code in END_CAUSES, -1 while active"),
    "formality": (float, False, 0.0, "formality of the agreement, 0-1"),
    "control_behaviour": (float, False, 0.0, "behaviour control intensity, 0-1"),
    "control_output": (float, False, 0.0, "output control intensity, 0-1"),
    "control_social": (float, False, 0.0, "social control intensity, 0-1"),
    "goodwill": (float, True, 0.0, "member's goodwill trust in its partners, 0-1"),
    "competence": (float, True, 0.0, "member's competence trust in its partners, 0-1"),
    "goodwill_initial": (float, False, 0.0, "mean goodwill trust at formation"),
    "competence_initial": (float, False, 0.0, "mean competence trust at formation"),
    "opportunism_detected": (np.int64, False, 0, "opportunistic acts detected"),
    "opportunism_undetected": (np.int64, False, 0, "opportunistic acts not detected"),
    "detected_since_eval": (np.int64, False, 0, "detected acts since the last evaluation"),
    "expected_benefit": (float, True, 0.0, "member's expected monthly benefit at formation, currency"),
    "member_benefit": (float, True, 0.0, "member's realized benefit since joining, currency"),
    "delivery": (float, True, 1.0, "member's recent realized over expected benefit (trailing mean, 1 = as expected)"),
    "benefit_recent": (float, True, 0.0, "member's recent realized benefit (trailing mean), currency/month"),
    "cost_recent": (float, True, 0.0, "member's recent running alliance costs (trailing mean), currency/month"),
    "member_cost": (float, True, 0.0,
                    "member's running alliance costs (control, coordination) since joining, currency"),
    "cost_month": (float, True, 0.0, "member's running alliance costs this month, currency"),
    "benefit_total": (float, False, 0.0, "realized benefit of all members over the alliance's life, currency"),
    "cost_total": (float, False, 0.0, "alliance costs of all members over the alliance's life, currency"),
    "last_eval_month": (np.int64, False, -1, "month of the last evaluation"),
    "renegotiations": (np.int64, False, 0, "renegotiations so far"),
    "strikes": (np.int64, False, 0, "evaluations in a row with benefit below cost"),
    "project_fails": (bool, False, False, "innovation project that will never pay (performance risk)"),
    "foreign_shock": (float, False, 0.0, "foreign-market shock of a bridge alliance, log units"),
    "productivity_gained": (float, True, 0.0, "productivity each member gained in this alliance"),
}


def seat_sum(values: np.ndarray) -> np.ndarray:
    """Sum over the last axis (an alliance's seats, or a firm's resource dimensions): ``values.sum(axis=-1)``.

    numpy reduces a short trailing axis element by element, some twenty times slower
    than adding its columns as whole arrays. Below 8 entries numpy adds them in order,
    so adding the columns in order gives the same numbers to the bit (a test checks
    it); from 8 entries on numpy sums pairwise, and its own sum is used. Booleans sum
    to counts, as with numpy.
    """
    width = values.shape[-1]
    if width >= 8:
        return values.sum(axis=-1)
    total = values[..., 0].astype(np.int64 if values.dtype == bool else values.dtype)
    for j in range(1, width):
        total += values[..., j]
    return total


def seat_any(flags: np.ndarray) -> np.ndarray:
    """Whether any seat of each alliance is flagged: ``flags.any(axis=-1)``, column by column."""
    out = flags[..., 0].copy()
    for j in range(1, flags.shape[-1]):
        out |= flags[..., j]
    return out


def seat_all(flags: np.ndarray) -> np.ndarray:
    """Whether every seat of each alliance is flagged: ``flags.all(axis=-1)``, column by column."""
    out = flags[..., 0].copy()
    for j in range(1, flags.shape[-1]):
        out &= flags[..., j]
    return out


def seat_min(values: np.ndarray) -> np.ndarray:
    """The smallest entry of each row: ``values.min(axis=-1)``, column by column."""
    out = values[..., 0].copy()
    for j in range(1, values.shape[-1]):
        np.minimum(out, values[..., j], out=out)
    return out


def seat_max(values: np.ndarray) -> np.ndarray:
    """The largest entry of each row: ``values.max(axis=-1)``, column by column."""
    out = values[..., 0].copy()
    for j in range(1, values.shape[-1]):
        np.maximum(out, values[..., j], out=out)
    return out


def mean_over_partners(values: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Per seat, the mean of ``values`` over the other valid members."""
    v = np.where(valid, values, 0.0)
    others = seat_sum(valid)[:, None] - valid
    return np.where(others > 0, (seat_sum(v)[:, None] - v) / np.maximum(others, 1), 0.0)


class AllianceTable(ColumnTable):
    """Per-alliance state columns (``ALLIANCE_FIELDS``), one row per alliance ever formed.

    Attributes:
        group: seats per alliance (the configured maximum group size).
    """

    def __init__(self, capacity: int, group: int):
        self.group = int(group)
        super().__init__({name: (dtype, (self.group,) if per_member else (), fill)
                          for name, (dtype, per_member, fill, _) in ALLIANCE_FIELDS.items()}, capacity)

    def active_rows(self) -> np.ndarray:
        """Rows of alliances not yet dissolved (in any stage)."""
        return np.flatnonzero(self.active[: self.n])

    def rows_in(self, stage: str) -> np.ndarray:
        """Rows of alliances in ``stage`` (a name in ``STAGES``)."""
        return np.flatnonzero(self.stage[: self.n] == STAGE[stage])

    def running(self, alliance_id: np.ndarray) -> np.ndarray:
        """Whether each id (``-1`` = none) is an alliance in implementation: its members are allied."""
        aid = np.asarray(alliance_id)
        return (aid >= 0) & (self.stage[np.maximum(aid, 0)] == STAGE["implementation"])

    def size(self, rows: np.ndarray) -> np.ndarray:
        """Number of members of each alliance in ``rows``."""
        return seat_sum(self.members[rows] >= 0)
