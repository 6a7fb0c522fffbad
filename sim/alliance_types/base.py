"""What every alliance type owns: its candidate rule, its benefit channel and its evaluation horizon.

A type is one class (``AllianceType``) in one module of this package, registered in
``sim.alliance_types.REGISTRY``; its parameters are the ``alliances.types`` fields named after
it. The lifecycle never asks which type an alliance is: it calls the type's methods on the
rows of that type (whole arrays, alliances x seats).
"""

from __future__ import annotations

import numpy as np


class AllianceType:
    """One way microenterprises ally (001's three models), as whole-array rules.

    Attributes:
        name: the type's name in configs and outputs.
        order: its place in the registry (unique; codes follow it, so an existing type keeps its code).
        code: its index in the registry (set by the registry; stored in ``AllianceTable.kind``).
        local: partners come from the seeker's own local market (sector x locality).
        joinable: a running alliance of this type with a free seat accepts new members (groups).
        colour: how views draw it (a CSS colour; the three types use the colour-blind safe Okabe-Ito set).
    """

    name: str = ""
    colour: str = "#7F7F7F"
    order: int = -1
    code: int = -1
    local: bool = False
    joinable: bool = False

    def need(self, gaps: np.ndarray) -> np.ndarray:
        """A seeker's need for this type, from its resource gaps (seekers x 4 dimensions); the
        largest need among the enabled types picks the type it seeks (stage 1)."""
        raise NotImplementedError

    def partner_strength(self, firms, other: np.ndarray, tc) -> np.ndarray:
        """What a candidate brings to an alliance of this type (complementarity in the partner score)."""
        raise NotImplementedError

    def expected_benefit(self, firms, members: np.ndarray, valid: np.ndarray, tc) -> np.ndarray:
        """Each member's expected monthly profit contribution at formation (before risk and opportunism)."""
        raise NotImplementedError

    def at_agreement(self, t, rows: np.ndarray, month: int, draws, tc) -> None:
        """Type-specific state set when partners agree (e.g. whether a project will ever pay)."""

    def apply(self, model, t, rows: np.ndarray, members: np.ndarray, valid: np.ndarray, perf: np.ndarray,
              harm: np.ndarray, draws) -> np.ndarray:
        """Set this month's benefits of members of ``rows`` before trading; return per seat what was
        delivered against expectation (1 = as expected)."""
        raise NotImplementedError

    def realized_benefit(self, firms, t, rows: np.ndarray, members: np.ndarray) -> np.ndarray:
        """Each member's profit contribution from the alliance this month, after trading."""
        raise NotImplementedError

    def payoff_delay(self, tc) -> int:
        """Months after implementation before benefits are due: competence trust and evaluations do
        not judge an alliance on benefits before this (0: from the start)."""
        return 0
