"""Firm: one microenterprise (0-10 employees), a Mesa agent viewing one row of state.

The model keeps every firm's state in numpy columns (``sim.population.FirmTable``)
so that a month of the whole economy is a few array operations. A ``Firm`` is a
view for people and tests: ``firm.cash`` reads the model's array and
``firm.cash = x`` writes through to it. The monthly path never loops over
``Firm`` objects.
"""

from __future__ import annotations

import mesa

from sim.population import FIELDS, RESOURCE_DIMENSIONS


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


for _name, (_dtype, _shape, _fill, _meaning) in FIELDS.items():
    if _name != "firm_id":
        setattr(Firm, _name, _column_property(_name, _meaning))
