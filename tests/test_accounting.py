"""Monthly bookkeeping: cash identity, exits, births, ids and the Mesa agent registry."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from mesa.experimental.mesa_signals import ModelSignals
from mesa.mesa_logging import LOGGER_NAME

from agents.firm import Firm
from sim import AllianceModel
from sim.population import FirmTable
from tests.conftest import small_config

RTOL = 1e-9


def _snapshot(m: AllianceModel) -> dict:
    """Copies of the columns a step changes, for the rows in use."""
    t = m.firms
    return {name: t.view(name).copy() for name in
            ("alive", "cash", "revenue", "costs", "owner_draw", "investment", "transfers", "death_month", "firm_id")}


def _months(m: AllianceModel, months: int):
    """Step ``m`` month by month, yielding (snapshot before, model after) each month."""
    for _ in range(months):
        before = _snapshot(m)
        m.run_for(1)
        yield before, m


@pytest.mark.parametrize("alliances", ["true", "false"])
@pytest.mark.parametrize("population", ["default", "stock"])
def test_cash_change_equals_revenue_minus_costs_minus_draw_plus_transfers(population, alliances):
    """Every firm alive at the start of a month changes cash by exactly its booked flows."""
    m = AllianceModel.from_config(small_config(f"firms={population}", f"alliances.enabled={alliances}"))
    checked = 0
    for before, m in _months(m, 36):
        t = m.firms
        rows = np.flatnonzero(before["alive"])
        delta = t.cash[rows] - before["cash"][rows]
        flows = t.revenue[rows] - t.costs[rows] - t.owner_draw[rows] - t.investment[rows] + t.transfers[rows]
        assert np.allclose(delta, flows, rtol=RTOL, atol=1e-6), (
            f"month {m.month}: expected cash change == revenue - costs - owner_draw - investment + transfers for every "
            f"firm alive at the start of the month; worst gap {np.max(np.abs(delta - flows)):.6g}")
        assert np.all(t.revenue[rows] > 0), f"month {m.month}: expected every trading firm to book revenue > 0"
        assert np.all(t.owner_draw[rows] >= 0), f"month {m.month}: expected owner drawings >= 0"
        checked += len(rows)
    assert checked > 300 * 10, f"expected many firm-months to be checked, got {checked}"


def test_recorded_transfers_enter_cash_once_and_stay_recorded():
    """A transfer recorded before trading shows in the transfers column and in cash, once."""
    m = AllianceModel.from_config(small_config(seed=4))
    original_trade = m.trade
    rng = np.random.default_rng(123)
    recorded: dict[int, np.ndarray] = {}

    def trade_with_transfers(demand):
        # add a recorded transfer to every living firm on top of whatever the model recorded
        n = m.firms.n
        amounts = np.where(m.firms.alive[:n], rng.normal(0.0, 500.0, n), 0.0)
        m.firms.transfers[:n] += amounts
        recorded[m.month] = m.firms.transfers[:n].copy()
        return original_trade(demand)

    m.trade = trade_with_transfers
    for before, m in _months(m, 24):
        t = m.firms
        n_before = len(before["alive"])
        rows = np.flatnonzero(before["alive"])
        assert np.array_equal(t.transfers[:n_before], recorded[m.month]), (
            f"month {m.month}: expected the transfers column after the month to hold the transfers "
            f"recorded at trading time")
        delta = t.cash[rows] - before["cash"][rows]
        flows = t.revenue[rows] - t.costs[rows] - t.owner_draw[rows] - t.investment[rows] + recorded[m.month][rows]
        assert np.allclose(delta, flows, rtol=RTOL, atol=1e-6), (
            f"month {m.month}: expected cash change == revenue - costs - owner_draw - investment + recorded transfer; "
            f"worst gap {np.max(np.abs(delta - flows)):.6g}")
    assert len(recorded) == 24, "expected the injected transfers in every month"


def test_dead_firms_stay_dead_earn_nothing_and_keep_their_cash(small_model):
    """A firm dead before a month books no revenue, costs or drawings and its cash is frozen."""
    m = small_model
    saw_dead = 0
    for before, m in _months(m, 36):
        t = m.firms
        dead = np.flatnonzero(~before["alive"])
        saw_dead += len(dead)
        assert not t.alive[dead].any(), f"month {m.month}: expected dead firms to stay dead"
        assert np.all(t.revenue[dead] == 0.0), f"month {m.month}: expected dead firms to have revenue 0"
        assert np.all(t.costs[dead] == 0.0), f"month {m.month}: expected dead firms to have costs 0"
        assert np.all(t.owner_draw[dead] == 0.0), f"month {m.month}: expected no owner drawing from dead firms"
        assert np.array_equal(t.cash[dead], before["cash"][dead]), (
            f"month {m.month}: expected a dead firm's cash not to change after death")
        assert np.array_equal(t.death_month[dead], before["death_month"][dead]), (
            f"month {m.month}: expected a dead firm's death_month never to change")
    assert saw_dead > 0, "expected some firms to die in 36 months so that the check means something"


def test_exits_set_death_month_and_alive_false_and_leave_only_solvent_firms():
    """Firms exiting in month t get death_month t, alive False and a cause; survivors have cash >= 0."""
    m = AllianceModel.from_config(small_config(seed=2))
    total_deaths = 0
    for before, m in _months(m, 36):
        t = m.firms
        n_before = len(before["alive"])
        died = np.flatnonzero(before["alive"] & ~t.alive[:n_before])
        total_deaths += len(died)
        assert np.all(t.death_month[died] == m.month), (
            f"month {m.month}: expected death_month == {m.month} for firms that exited this month")
        insolvent, closed, unviable = (t.exit_cause[died] == c for c in (1, 2, 3))
        assert np.all(insolvent | closed | unviable), f"month {m.month}: expected every exit to carry its cause"
        assert np.all(t.cash[died][insolvent] < 0), (
            f"month {m.month}: expected firms exiting as insolvent to have negative cash")
        assert np.all(t.cash[died][closed | unviable] >= 0), (
            f"month {m.month}: expected firms closing as unviable or for the owner's reasons to be solvent")
        alive = t.view("alive")
        assert np.all(t.view("death_month")[alive] == -1), (
            f"month {m.month}: expected death_month == -1 for every living firm")
        assert np.all(t.view("death_month")[~alive] >= 1), (
            f"month {m.month}: expected every dead firm to carry its exit month (>= 1)")
        assert np.all(t.view("cash")[alive] >= 0), (
            f"month {m.month}: expected every living firm to have cash >= 0 after the exit phase")
        assert m.series()["deaths"].iloc[-1] == len(died), (
            f"month {m.month}: expected the series to count {len(died)} deaths")
    assert total_deaths > 0, "expected some exits in 36 months"


def test_mesa_agents_are_exactly_the_living_firms():
    """``m.agents`` holds one Firm per living row and none of the dead ones, every month."""
    m = AllianceModel.from_config(small_config(seed=3))
    for _, m in _months(m, 36):
        t = m.firms
        living_ids = set(t.view("firm_id")[t.view("alive")].tolist())
        agent_ids = [a.unique_id for a in m.agents]
        assert len(agent_ids) == len(set(agent_ids)), f"month {m.month}: expected no duplicate agents"
        assert set(agent_ids) == living_ids, (
            f"month {m.month}: expected m.agents == living firms; {len(set(agent_ids) - living_ids)} dead "
            f"firms in agents, {len(living_ids - set(agent_ids))} living firms missing")
        assert all(a.alive for a in m.agents), f"month {m.month}: expected every agent in m.agents alive"


def test_births_get_fresh_ids_never_seen_before():
    """Entrants get new rows and firm ids that no earlier firm ever had."""
    m = AllianceModel.from_config(small_config("births.rate_monthly=0.03", seed=5))
    seen = set(m.firms.view("firm_id").tolist())
    assert len(seen) == m.firms.n, "expected distinct ids for the initial firms"
    total_births = 0
    for before, m in _months(m, 36):
        t = m.firms
        n_before = len(before["alive"])
        assert np.array_equal(t.firm_id[:n_before], before["firm_id"]), (
            f"month {m.month}: expected existing rows to keep their firm_id")
        new_ids = t.firm_id[n_before:t.n].tolist()
        births = int(m.series()["births"].iloc[-1])
        assert len(new_ids) == births, f"month {m.month}: expected {births} new rows, got {len(new_ids)}"
        assert len(set(new_ids)) == len(new_ids), f"month {m.month}: expected unique ids among entrants"
        assert not (set(new_ids) & seen), f"month {m.month}: expected entrants' ids never used before"
        new_rows = np.arange(n_before, t.n)
        assert np.all(t.alive[new_rows]), f"month {m.month}: expected entrants alive"
        assert np.all(t.birth_month[new_rows] == m.month), f"month {m.month}: expected birth_month == {m.month}"
        assert np.all(t.death_month[new_rows] == -1), f"month {m.month}: expected entrants' death_month -1"
        assert np.all(t.revenue[new_rows] == 0.0), (
            f"month {m.month}: expected entrants to book no revenue in a month they did not trade")
        assert np.all(t.cash[new_rows] >= 0), f"month {m.month}: expected entrants to start with cash >= 0"
        seen.update(new_ids)
        total_births += births
    assert total_births > 0, "expected some births in 36 months at 3% a month"
    assert len(seen) == m.firms.n, "expected one distinct id per row ever created"


def test_one_firm_object_per_row_viewing_its_row():
    """``firm_objects`` has one Firm per row whose properties read and write that row."""
    m = AllianceModel.from_config(small_config(seed=6))
    m.run_for(24)
    t = m.firms
    assert len(m.firm_objects) == t.n, f"expected {t.n} Firm objects (one per row), got {len(m.firm_objects)}"
    for r, firm in enumerate(m.firm_objects):
        assert firm.row == r, f"expected firm_objects[{r}].row == {r}, got {firm.row}"
        assert firm.unique_id == t.firm_id[r], f"expected firm_objects[{r}].unique_id == firm_id[{r}]"
        assert firm.cash == t.cash[r] and firm.alive == bool(t.alive[r]), (
            f"expected firm_objects[{r}] to read its own row")
    f = m.firm_objects[3]
    f.cash = 12345.0
    assert t.cash[3] == 12345.0, "expected firm.cash = x to write through to the model's array"
    with pytest.raises(AttributeError):
        f.alive = not f.alive
    dead = np.flatnonzero(~t.view("alive"))
    assert len(dead), "expected some dead firms after 24 months"
    d = m.firm_objects[dead[0]]
    assert d.age_months == d.death_month - d.birth_month, "expected a dead firm's age to stop at its exit"
    assert m.firm(d.unique_id) is d, "expected m.firm(id) to find a dead firm by id"


def test_bulk_created_firms_are_registered_as_mesa_would_register_them():
    """Firms created in bulk get the ids, agent sets and counter of one ``Agent.__init__`` per firm."""
    bulk = AllianceModel.from_config(small_config("births.rate_monthly=0.03", seed=8))
    bulk.run_for(24)
    registration_log = logging.getLogger(f"{LOGGER_NAME}.mesa.model")
    level = registration_log.level
    registration_log.setLevel(logging.DEBUG)  # Mesa's debug lines need Agent.__init__ for every firm
    try:
        one_by_one = AllianceModel.from_config(small_config("births.rate_monthly=0.03", seed=8))
        one_by_one.run_for(24)
    finally:
        registration_log.setLevel(level)
    for m in (bulk, one_by_one):
        living = set(m.firms.view("firm_id")[m.firms.view("alive")].tolist())
        assert {a.unique_id for a in m.agents} == living, "expected m.agents to be the living firms"
        assert list(m.agents_by_type) == [Firm] and set(m.agents_by_type[Firm]) == set(m.agents), (
            "expected every agent registered under Firm in agents_by_type")
        assert m.agent_id_counter == m.firms.n + 1, "expected Mesa's id counter one past the last firm"
    assert [a.unique_id for a in bulk.agents] == [a.unique_id for a in one_by_one.agents], (
        "expected the same agents in the same order from bulk and one-by-one registration")
    assert [(f.unique_id, f.row, f.pos) for f in bulk.firm_objects] == \
        [(f.unique_id, f.row, f.pos) for f in one_by_one.firm_objects], "expected the same Firm objects"
    pd.testing.assert_frame_equal(bulk.series(), one_by_one.series())


def test_observers_of_agent_signals_hear_every_birth_and_exit():
    """A subscriber to the model's ``agents`` signals is told of each firm added and removed."""
    m = AllianceModel.from_config(small_config("births.rate_monthly=0.03", seed=9))
    heard = {ModelSignals.AGENT_ADDED: [], ModelSignals.AGENT_REMOVED: []}

    def listen(signal):
        heard[signal.signal_type].append(signal.additional_kwargs["args"][0].unique_id)

    m.observe("agents", ModelSignals.AGENT_ADDED, listen)
    m.observe("agents", ModelSignals.AGENT_REMOVED, listen)
    m.run_for(24)
    t = m.firms
    born = t.firm_id[m.n_initial:t.n].tolist()
    died = t.firm_id[np.flatnonzero(~t.view("alive"))].tolist()
    assert born and died, "expected births and exits in 24 months"
    assert heard[ModelSignals.AGENT_ADDED] == born, "expected one agent_added signal per entrant, in order"
    assert sorted(heard[ModelSignals.AGENT_REMOVED]) == died, "expected one agent_removed signal per exit"
    assert {a.unique_id for a in m.agents} == set(t.view("firm_id")[t.view("alive")].tolist()), (
        "expected m.agents to be the living firms with observers attached")


def test_a_firm_removed_by_hand_can_still_close():
    """A living firm whose agent was removed by hand closes like the others, and the rest stay registered."""
    m = AllianceModel.from_config(small_config(seed=10))
    hand, other = m.firm_objects[4], m.firm_objects[5]
    hand.remove()
    m.firms.cash[[4, 5]] = -1e9  # both insolvent at the end of the next month
    m.run_for(1)
    assert not m.firms.alive[4] and not m.firms.alive[5], "expected both firms to close"
    assert hand not in m.agents and other not in m.agents, "expected neither closed firm in m.agents"
    assert {a.unique_id for a in m.agents} == set(m.firms.view("firm_id")[m.firms.view("alive")].tolist())


def test_firm_lookup_by_id_raises_for_an_unknown_id():
    """``m.firm(id)`` finds any firm by id and raises KeyError for an id no firm has."""
    m = AllianceModel.from_config(small_config(seed=6))
    last = int(m.firms.view("firm_id")[-1])
    assert m.firm(last) is m.firm_objects[-1], "expected m.firm to find the last firm"
    with pytest.raises(KeyError):
        m.firm(last + 1)


def test_firm_table_growth_keeps_rows_and_fills_defaults():
    """Growing past capacity keeps every earlier value and fills new rows with defaults."""
    t = FirmTable(capacity=16)
    rows = t.add_rows(10)
    t.cash[rows] = np.arange(10.0)
    t.firm_id[rows] = np.arange(100, 110)
    more = t.add_rows(40)
    assert t.capacity >= 50 and t.n == 50, f"expected 50 rows in use within capacity, got {t.n}/{t.capacity}"
    assert np.array_equal(t.view("cash")[:10], np.arange(10.0)), "expected cash of old rows kept after growth"
    assert np.array_equal(t.view("firm_id")[:10], np.arange(100, 110)), "expected ids kept after growth"
    assert np.all(t.firm_id[more] == -1) and np.all(t.death_month[more] == -1), (
        "expected new rows to hold the default fill values")
    assert not t.alive[more].any(), "expected new rows not alive until founded"
