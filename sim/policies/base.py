"""What every policy instrument shares: a ``[start, stop)`` window, who is eligible,
a hard total budget, and payments written to the ledger.

Policies act on firms only through named hooks that the model calls at fixed
points of the month (``start_of_month``, ``after_formation``,
``after_alliance_costs``, ``before_exit``) and through the firm columns those
hooks may write (``formation_subsidy``, ``capability``) or money paid with
``model.pay``. An instrument is one subclass with its own parameter dataclass.
Design follows Starsim/Covasim interventions: what is delivered, to whom, when.
"""

from __future__ import annotations

from dataclasses import fields as dc_fields
from typing import Any, ClassVar

import numpy as np

from sim.field_checks import check_fields
from sim.params import ConfigError, PolicyConfig


class Policy:
    """Base class: window, eligibility, budget and ledger; subclasses implement hooks.

    Attributes:
        name: the key of this policy in ``cfg.policies`` (ledger instrument name).
        cfg: its ``PolicyConfig``; ``p`` its parameters (the subclass's ``Params``).
        spent: gross outlay so far (never above ``cfg.budget``).
    """

    kind: ClassVar[str] = ""
    #: The instrument's name for people (the browser view, briefs): "Credit line", not ``credit``.
    label: ClassVar[str] = ""
    #: What an equal-spend comparison scales to make the instrument less generous: a field of its
    #: ``params`` or of its ``eligibility`` (by default the share of eligible firms it reaches).
    generosity: ClassVar[str] = "eligibility.share"
    Params: ClassVar[type] = object
    HOOKS: ClassVar[tuple[str, ...]] = ("start_of_month", "after_formation", "after_alliance_costs", "before_exit")

    def __init__(self, name: str, cfg: PolicyConfig, params: Any):
        self.name = name
        self.cfg = cfg
        self.p = params
        self.spent = 0.0
        self.model = None

    @classmethod
    def parse_params(cls, raw: dict, path: str) -> Any:
        """The instrument's parameters from config, checked against its ``Params`` schema."""
        known = {f.name for f in dc_fields(cls.Params)}
        unknown = sorted(set(raw) - known)
        if unknown:
            raise ConfigError(f"{path}.{unknown[0]} is not a parameter of {cls.kind}; allowed: "
                              f"{', '.join(sorted(known))}")
        values = {}
        for f in dc_fields(cls.Params):
            if f.name not in raw:
                continue
            value, default = raw[f.name], f.default
            if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if type(value) is not type(default):
                raise ConfigError(f"{path}.{f.name}={value!r} is not accepted: expected a "
                                  f"{type(default).__name__}")
            values[f.name] = value
        params = cls.Params(**values)
        check_fields(params, cls.Params, path + ".")
        return params

    def setup(self, model) -> None:
        """Attach to the model; subclasses register candidate sources or hooks here."""
        self.model = model
        self.draws = model.streams[f"policy:{self.name}"]

    def window(self) -> tuple[int, int]:
        """The window ``[start, stop)`` in months of the run (a crisis-relative window shifted by the onset)."""
        shift = self.model.cfg.market.crisis.start_month if self.cfg.window_from == "crisis_onset" else 0
        return self.cfg.start_month + shift, self.cfg.stop_month + shift

    def active(self, month: int) -> bool:
        """Whether ``month`` falls in the window (``[start_month, stop_month)``, counted from its origin)."""
        start, stop = self.window()
        return start <= month < stop

    def remaining(self) -> float:
        """Budget left."""
        return max(self.cfg.budget - self.spent, 0.0)

    def eligible(self, rows: np.ndarray) -> np.ndarray:
        """Mask over ``rows`` of living firms meeting every eligibility condition."""
        m, e = self.model, self.cfg.eligibility
        t = m.firms
        rows = np.asarray(rows, dtype=np.int64)
        age = m.month - t.birth_month[rows]
        ok = (t.alive[rows] & (t.workers[rows] >= e.min_workers) & (t.workers[rows] <= e.max_workers)
              & (age >= e.min_age_months) & (age <= e.max_age_months))
        if e.min_capability > 0.0 or e.max_capability < 1.0:
            cap = t.capability[rows]
            ok &= (cap >= e.min_capability) & (cap <= e.max_capability)
        if e.sectors:
            ok &= np.isin(t.sector[rows], list(e.sectors))
        if e.allied != "any":
            allied = m.alliances.table.running(t.alliance_id[rows]) if m.alliances else np.zeros(len(rows), bool)
            ok &= allied if e.allied == "allied" else ~allied
        if e.share < 1.0:
            ok &= self._random_draw(rows) < e.share
        return ok

    def per_firm(self, column: np.ndarray, fill=0) -> np.ndarray:
        """``column`` (the instrument's own per-firm state) grown to cover every firm row.

        It grows to the firm table's capacity, not to the rows in use, so a month's
        entrants do not copy it again; rows not yet in use hold ``fill``.
        """
        firms = self.model.firms
        if len(column) >= firms.n:
            return column
        return np.concatenate([column, np.full(firms.capacity - len(column), fill, dtype=column.dtype)])

    def _random_draw(self, rows: np.ndarray) -> np.ndarray:
        """One fixed uniform per firm for the whole run (the eligibility lottery), keyed by firm id."""
        return self.draws.uniform(0, self.model.firms.firm_id[rows], "eligibility")

    def pay(self, rows: np.ndarray, amounts: np.ndarray, form: str = "cash") -> np.ndarray:
        """Pay ``amounts`` to firms ``rows`` in the given order until the budget runs out.

        Returns the amounts actually paid. Money (cash, loans) is divisible: the last
        payment may be partial. An in-kind service is delivered whole or not at all.
        Cash and loans reach the firm's cash as recorded transfers; in-kind services
        are only booked. Every payment is written to the ledger.
        """
        rows = np.asarray(rows, dtype=np.int64)
        amounts = np.maximum(np.asarray(amounts, dtype=float), 0.0)
        if form == "in_kind":
            paid = np.where(np.cumsum(amounts) <= self.remaining() + 1e-9, amounts, 0.0)
        else:
            before = np.concatenate([[0.0], np.cumsum(amounts)[:-1]])
            paid = np.clip(self.remaining() - before, 0.0, amounts)
        self.spent += float(paid.sum())
        if self.spent > self.cfg.budget:  # the cumulative sums' rounding (a few ulps), never real money
            self.spent = self.cfg.budget
        if form in ("cash", "loan"):
            self.model.pay(rows, paid)
        self.model.ledger.record(self.model.month, self.name, self.model.firms.firm_id[rows], paid, form)
        return paid

    def receive(self, rows: np.ndarray, amounts: np.ndarray) -> None:
        """Take repayments from firms (booked as negative ledger amounts)."""
        self.model.pay(rows, -amounts)
        self.model.ledger.record(self.model.month, self.name, self.model.firms.firm_id[rows], -amounts,
                                 "repayment")

    def finish(self) -> dict:
        """End-of-run record of the instrument."""
        start, stop = self.window()
        return {"instrument": self.name, "kind": self.kind, "budget": self.cfg.budget, "spent": self.spent,
                "start_month": start, "stop_month": stop}
