"""Firm: one microenterprise (0-10 employees), a Mesa agent viewing one row of state.

The model keeps every firm's state in numpy columns (``sim.population.FirmTable``)
so that a month of the whole economy is a few array operations. A ``Firm`` is a
view for people and tests: ``firm.cash`` reads the model's array and
``firm.cash = x`` writes through to it. The monthly path never loops over
``Firm`` objects.
"""

from __future__ import annotations

import gc
import logging
from collections import deque

import mesa
import numpy as np
from mesa.experimental.mesa_signals import ModelSignals
from mesa.mesa_logging import LOGGER_NAME

from sim.population import FIELDS, RESOURCE_DIMENSIONS

#: Mesa's own logger for agent registration (``mesa.model``): its debug lines are kept.
_REGISTRATION_LOGGER = logging.getLogger(f"{LOGGER_NAME}.mesa.model")


def _column_property(name: str, meaning: str) -> property:
    def getter(self):
        value = getattr(self.model.firms, name)[self.row]
        return value.item() if hasattr(value, "item") and getattr(value, "ndim", 0) == 0 else value

    def setter(self, value):
        if name == "alive":
            raise AttributeError("alive is set by the model's exit rule, not by hand")
        getattr(self.model.firms, name)[self.row] = value

    return property(getter, setter, doc=meaning)


class Firm(mesa.Agent):
    """A microenterprise: sector, size, revenue, costs, cash, resources, risk and traits.

    Attributes (read and write through to the model's arrays; units in
    ``sim.population.FIELDS``): ``sector``, ``workers``, ``base_revenue``,
    ``input_cost_share``, ``fixed_cost``, ``cash``, ``revenue``, ``costs``,
    ``volatility``, ``exposure``, ``capability``, ``cooperativeness``, ``planned``,
    ``resources`` (finance, technology, market access, know-how), ``alliance_id``,
    ``alive``, ``birth_month``, ``death_month``.
        row: index of this firm in the model's arrays.
    """

    def __init__(self, model: mesa.Model, row: int):
        super().__init__(model)
        self.row = int(row)
        model.firms.firm_id[self.row] = self.unique_id

    @classmethod
    def create_rows(cls, model: mesa.Model, rows: np.ndarray) -> list[Firm]:
        """Create and register one firm per row of ``rows``, as ``[Firm(model, r) for r in rows]`` would.

        The firms get the next Mesa ids in row order, sit in ``model.agents`` and
        ``model.agents_by_type``, and ``firm_id`` holds their ids. When registration
        would only add each agent to Mesa's two agent sets (nobody observes the
        model's ``agents`` signals, no dataset tracks firms, Mesa's debug log is
        off), that is done once for the whole batch, with garbage collection paused:
        every new firm survives, so collecting while creating them is wasted work.
        That costs under 1 µs per firm against about 5 µs through ``Agent.__init__``
        (measured on this project's 2-core machine), which a national population pays
        at build and births every month. Otherwise each firm goes through ``Agent.__init__``.
        """
        if not _plain_registration(model, cls, ModelSignals.AGENT_ADDED):
            return [cls(model, r) for r in rows]
        start = model.agent_id_counter
        new = object.__new__
        firms = []
        append = firms.append
        collecting = gc.isenabled()
        gc.disable()
        try:
            for uid, row in enumerate(np.asarray(rows).tolist(), start):
                firm = new(cls)
                firm.model = model
                firm.unique_id = uid
                firm.pos = None
                firm.row = row
                append(firm)
        finally:
            if collecting:
                gc.enable()
        model.agent_id_counter = start + len(firms)
        model.firms.firm_id[rows] = np.arange(start, start + len(firms))
        registered = dict.fromkeys(firms)
        model._all_agents._agents.update(registered)
        by_type = model._agents_by_type.get(cls)
        if by_type is None:
            model._agents_by_type[cls] = type(model._all_agents)(firms, random=model.random)
        else:
            by_type._agents.update(registered)
        return firms

    @classmethod
    def remove_all(cls, model: mesa.Model, firms: list[Firm]) -> None:
        """Remove ``firms`` from the model, as calling ``remove()`` on each would."""
        if not _plain_registration(model, cls, ModelSignals.AGENT_REMOVED):
            for firm in firms:
                firm.remove()
            return
        for registered in (model._all_agents._agents, model._agents_by_type[cls]._agents):
            try:
                deque(map(registered.pop, firms), maxlen=0)  # pops without a Python loop
            except KeyError:  # a firm removed by hand before it closed: as Agent.remove, ignore it
                for firm in firms:
                    registered.pop(firm, None)

    @property
    def age_months(self) -> int:
        """Months since founding (up to exit for a dead firm)."""
        end = self.death_month if not self.alive else self.model.month
        return int(end - self.birth_month)

    @property
    def sector_name(self) -> str:
        """Label of the firm's sector."""
        return self.model.sector_names[self.sector]

    @property
    def resource_gaps(self) -> dict[str, float]:
        """Shortfall (1 - endowment) on each resource dimension of the 000 paper."""
        return {d: float(1.0 - v) for d, v in zip(RESOURCE_DIMENSIONS, self.resources)}

    def __repr__(self) -> str:
        state = "alive" if self.alive else f"exited at month {self.death_month}"
        return (f"Firm(id={self.unique_id}, sector={self.sector_name}, workers={self.workers}, "
                f"revenue={self.revenue:,.0f}, cash={self.cash:,.0f}, {state})")


def _plain_registration(model: mesa.Model, cls: type, signal) -> bool:
    """True when (de)registering a ``cls`` agent does nothing but update Mesa's two agent sets.

    Checks what ``Agent.__init__``/``remove`` would do besides (signal ``signal`` on the
    model's ``agents`` observable, dataset tracking, debug logging, a subclass's own
    ``remove``) and that Mesa keeps its agent sets as in 3.5 (dicts under ``_agents``).
    """
    signals_heard = (model._batch_context is not None or ("agents", signal) in model.subscribers) \
        and not model._suppress
    return (not signals_heard and not cls._datasets and cls.remove is mesa.Agent.remove
            and not _REGISTRATION_LOGGER.isEnabledFor(logging.DEBUG)
            and isinstance(getattr(model._all_agents, "_agents", None), dict))


for _name, (_dtype, _shape, _fill, _meaning) in FIELDS.items():
    if _name != "firm_id":
        setattr(Firm, _name, _column_property(_name, _meaning))
