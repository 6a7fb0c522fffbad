"""AllianceModel: the microenterprise economy as a Mesa model over numpy state."""

from __future__ import annotations

import copy
from typing import Any

import mesa
import numpy as np
import pandas as pd

from agents.alliance import Alliance
from agents.firm import Firm
from sim import demography, economy, learning, mesa_compat, metrics
from sim.ledger import Ledger
from sim.lifecycle import AllianceProcess
from sim.local_markets import LocalMarkets
from sim.market import Market
from sim.policies import PolicySet
from sim.population import FIELDS, FirmTable
from sim.rng import RandomStreams, stream_key

#: Entry rate of the pre-history that ages a mixed-age stock (share of its cohort per month).
STOCK_ENTRY_RATE = 0.04


class AllianceModel(mesa.Model):
    """A population of microenterprises trading month by month in sector markets.

    One step is one month. ``step()`` runs these phases, in this order:

    1. ``open_month``: advance the clock, clear last month's transfers and subsidies.
    2. ``update_market``: draw this month's sector demand (crisis and large-firm
       competition applied), so every later phase sees the same demand.
    3. policy hook ``start_of_month``: training, grant announcements. Before
       partner search, so a firm trained or subsidised this month acts on it.
    4. ``form_alliances``: lifecycle stages 1-3 (rethink business, partner search
       and consent, structure); policy hook ``after_formation`` (grants paid).
       Before trading, so search and formation costs and a new alliance's first
       benefits fall in the month it forms.
    5. ``run_alliances``: stage 4 (cooperate or cheat, detection, benefits set for
       this month's trade, control and coordination costs, goodwill update);
       policy hook ``after_alliance_costs`` (cost co-funding).
    6. ``trade``: anniversary size reviews (``sim.learning``); local markets divide
       customers (``sim.local_markets``); every living firm books revenue and costs
       (with its alliance's multipliers), receives this month's recorded transfers and
       pays its owner; then it updates its belief about its own efficiency.
    7. ``evaluate_alliances``: stage 5 after trade, because members judge the
       benefits they have just realized; continue, renegotiate or dissolve.
    8. policy hook ``before_exit``: credit lines cover shortfalls, loans are repaid.
    9. ``close_failed_firms``: firms with negative cash exit, firms that learned they
       are unviable quit, a few close for their owner's reasons; their age at death
       is recorded, their Mesa agent removed (the row keeps the history) and
       their alliances end with cause ``partner_exit``. Exit comes after trading
       so a firm dies from this month's result.
    10. ``found_new_firms``: entrants are born after exits, so a newborn is never
        judged on a month it did not trade.
    11. ``record``: the monthly series, and the firm panel at its frequency.

    With ``alliances.enabled=false`` phases 4, 5 and 7 do nothing and draw
    nothing; with no policies the hooks do nothing. Every process draws from
    its own stream, so switching either leaves demand, firm shocks and births
    unchanged (common random numbers).

    Attributes:
        cfg: the resolved configuration (``sim.params.Config`` fields).
        streams: named random streams, draws keyed by firm and month (``sim.rng``).
        observers: callables run with the model at the end of every month (per-firm recorders).
        firms: per-firm state arrays (``sim.population.FirmTable``).
        market: sector demand (``sim.market.Market``).
        alliances: the lifecycle (``sim.lifecycle.AllianceProcess``), None when disabled.
        policies: the policy instruments (``sim.policies.PolicySet``).
        ledger: every public payment (``sim.ledger.Ledger``).
        month: months simulated so far (0 before the first step).
        n_initial: size of the initial population (rows ``0..n_initial-1``).
    """

    def __init__(self, cfg: Any = None, *, rng: Any = None, **params: Any):
        """Build the world from ``cfg`` (a composed config or ``Config``), or from the defaults.

        Args:
            cfg: a config from ``sim.load_config`` or a ``Config`` object; None for the defaults.
            rng: Mesa's seed argument (int, SeedSequence or Generator); replaces ``seed``.
            **params: instead of ``cfg``, parameters by name, validated as on the command
                line: top-level or dotted (``seed=3``, ``**{"firms.n_firms": 500}``), a
                unique leaf name (``n_firms=500``) or a config group (``scenario="crisis"``).
        """
        cfg = mesa_compat.resolve_config(cfg, rng, params)
        super().__init__(rng=int(cfg.seed))
        self.cfg = cfg
        self.streams = RandomStreams(cfg.seed)
        fc = cfg.firms
        self.sector_names = list(fc.sector_names)
        self.month = 0
        self.n_initial = int(fc.n_firms)
        self.firms = FirmTable(capacity=int(self.n_initial * (1.5 + cfg.births.rate_monthly * cfg.months)))
        self.market = Market(cfg.market, len(self.sector_names), self.streams["demand"])
        self.local_markets = LocalMarkets(cfg.market, len(self.sector_names))
        self.alliances = AllianceProcess(self, cfg.alliances) if cfg.alliances.enabled else None
        self.ledger = Ledger()
        self._traded = False
        self.firm_objects: list[Firm] = []
        self._series: list[dict] = []
        #: callables ``(model)`` run at the end of every month, after ``record`` (per-firm recorders).
        self.observers: list = []
        self._panel: list[pd.DataFrame] = []
        self._births_this_month = 0
        self._deaths_this_month = 0
        self.crisis_cohort: np.ndarray | None = None

        rows = self.firms.add_rows(self.n_initial)
        self._create_agents(rows)  # ids first: founding draws are keyed by firm id
        if fc.initial_population == "stock":
            self._seat_stock(rows)
        else:
            demography.draw_founding_traits(self.firms, rows, fc, 0, self.streams["population"],
                                            self.local_markets.weights)
        self.local_markets.set_reference(self.firms, rows)
        self.policies = PolicySet(self, cfg.policies)
        if self.alliances is not None:
            self.alliances.formation_hooks.append(lambda model, rows: self.policies.run("after_formation", rows))
        self.running = True
        self.datacollector = mesa_compat.SeriesCollector()
        self._record_panel()

    @classmethod
    def from_config(cls, cfg: Any) -> "AllianceModel":
        """Build a model from a composed config (``sim.load_config``) or a ``Config`` object."""
        return cls(cfg)

    # ----------------------------------------------------------------- phases
    def step(self) -> None:
        """One month; the phases and their order are documented in the class docstring."""
        self.open_month()
        demand, fall = self.update_market()
        self.policies.run("start_of_month")
        self.form_alliances()
        self.run_alliances()
        self.policies.run("after_alliance_costs")
        self.trade(demand)
        self.evaluate_alliances(fall)
        self.policies.run("before_exit")
        self.close_failed_firms()
        self.found_new_firms()
        self.record()

    def open_month(self) -> None:
        """Advance the clock and clear last month's per-firm transfers."""
        self.month += 1
        self.firms.transfers[: self.firms.n] = 0.0
        self.firms.formation_subsidy[: self.firms.n] = 0.0
        self.firms.investment[: self.firms.n] = 0.0
        self._traded = False
        self._births_this_month = 0
        self._deaths_this_month = 0

    def update_market(self) -> tuple[np.ndarray, np.ndarray]:
        """Draw this month's demand index per sector; also return its fall from last month (share)."""
        before = self.market.demand.copy()
        demand = self.market.update(self.month)
        return demand, np.clip(1.0 - demand / before, 0.0, None)

    def form_alliances(self) -> None:
        """Lifecycle stages 1-3 (``sim.matching``, ``sim.lifecycle``)."""
        if self.alliances is not None:
            self.alliances.form()

    def run_alliances(self) -> None:
        """Lifecycle stage 4 (``sim.lifecycle``, ``sim.trust``, ``sim.alliance_types``)."""
        if self.alliances is not None:
            self.alliances.implement()

    def evaluate_alliances(self, demand_fall: np.ndarray) -> None:
        """Lifecycle stage 5; ``demand_fall`` flags shocks that trigger an evaluation."""
        if self.alliances is not None:
            self.alliances.evaluate(demand_fall)

    def trade(self, demand: np.ndarray) -> None:
        """Revenue, costs, transfers and owner drawings for all living firms; then they learn from it.

        On its founding anniversary (the month after each full year of trading) a firm first
        moves its workforce towards the size its belief calls for; after trading, each living
        firm updates that belief from the month's result (``sim.learning``).
        """
        fc = self.cfg.firms
        living = self.living_rows
        age = self.month - self.firms.birth_month[living]
        learning.review_size(self.firms, living[(age > 1) & (age % 12 == 1)], fc)
        previous_shock = self.firms.shock[living]
        sales, price = self._local_market_factors(living)
        economy.trade(self.firms, demand, fc, self.month, self.streams["firm_shocks"], sales, price)
        self._traded = True
        if fc.quality_sd > 0:
            learning.observe(self.firms, living, previous_shock, fc.shock_persistence)

    def _local_market_factors(self, living: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Per-row sales factor and price from the local markets (None when firms do not compete)."""
        lm = self.local_markets
        if not lm.active:
            return None, None
        n = self.firms.n
        sales, price = np.ones(n), np.ones(n)
        sales[living], price[living] = lm.sales_factor(self.firms, living)
        self.firms.sales_factor[living] = sales[living]
        return sales, price

    def pay(self, rows: np.ndarray, amounts: np.ndarray) -> None:
        """Move money to (positive) or from (negative) firms as a recorded transfer.

        Before trading, transfers reach cash when the month is booked; after it,
        at once. Either way ``transfers`` holds the month's total, so each firm's
        cash change is revenue - costs - owner draw + transfers.
        """
        np.add.at(self.firms.transfers, rows, amounts)
        if self._traded:
            np.add.at(self.firms.cash, rows, amounts)

    def close_failed_firms(self) -> np.ndarray:
        """Exit insolvent firms, firms that learned they are unviable and those closing for their owner's reasons.

        Returns their rows."""
        rows = demography.exits(self.firms, self.cfg.firms, self.month, self.streams["exits"])
        if len(rows):
            self.firms.alive[rows] = False
            self.firms.death_month[rows] = self.month
            self._remove_agents(rows)
            if self.alliances is not None:
                self.alliances.handle_exits(rows)
        self._deaths_this_month = len(rows)
        return rows

    def found_new_firms(self) -> np.ndarray:
        """Create this month's entrants with fresh ids; return their rows."""
        k = demography.births_this_month(self.cfg.births.rate_monthly, self.n_initial, self.month,
                                         self.streams["births"])
        rows = self.firms.add_rows(k)
        if k:
            self._create_agents(rows)
            demography.draw_founding_traits(self.firms, rows, self.cfg.firms, self.month,
                                            self.streams["population"], self.local_markets.weights)
        self._births_this_month = k
        return rows

    def record(self) -> None:
        """Append this month's model-level series; snapshot the firm panel when due."""
        self._series.append(metrics.month_record(self))
        self.datacollector.collect(self)
        self.running = self.month < self.cfg.months  # Mesa's tools (batch_run, SolaraViz) stop at the horizon
        crisis = self.cfg.market.crisis
        if crisis.enabled and self.month == crisis.start_month - 1:
            self.crisis_cohort = self.living_rows  # firms alive at the onset of the crisis
        every = self.cfg.output.panel_every_months
        if every and self.month % every == 0:
            self._record_panel()
        for observe in self.observers:
            observe(self)

    # ---------------------------------------------------------------- helpers
    def _seat_stock(self, rows: np.ndarray) -> None:
        """Fill ``rows`` with a mixed-age stock: survivors of a simulated pre-history.

        The pre-history is this economy without alliances, policies or scenarios, run
        for ``stock_burn_in_months`` from a cohort with steady entry, on streams of
        its own (root seed derived from ``seed`` and the name "prehistory"), so
        the stock carries the selection of who survives, with ages, cash, shocks and
        last month's revenue and costs as the survivors have them. It is the same for
        every arm of a comparison. ``n_firms`` survivors are drawn by a keyed lottery.
        The pre-history starts from ``min(n_firms, stock_sample_firms)`` firms: a larger
        stock draws its firms with replacement from those survivors (each then follows its
        own keyed draws under its new id), so building a national stock costs no more than
        the sample's pre-history.
        """
        fc = self.cfg.firms
        pre_seed = int(np.random.SeedSequence(self.cfg.seed, spawn_key=(stream_key("prehistory"),))
                       .generate_state(1)[0])
        pre_cfg = copy.deepcopy(self.cfg)
        pre_cfg.seed = pre_seed
        pre_cfg.months = fc.stock_burn_in_months
        pre_cfg.firms.initial_population = "cohort"
        pre_cfg.firms.n_firms = min(fc.n_firms, fc.stock_sample_firms)
        pre_cfg.births.rate_monthly = STOCK_ENTRY_RATE
        pre_cfg.alliances.enabled = False
        pre_cfg.policies = {}
        pre_cfg.market.crisis.enabled = False
        pre_cfg.market.competition.enabled = False
        pre_cfg.output.panel_every_months = 0
        pre = PreHistory(pre_cfg)
        pre.run_for(pre_cfg.months)
        alive = pre.living_rows
        lottery = self.streams["stock"]
        if len(alive) >= len(rows):
            pick = np.sort(alive[np.argsort(lottery.priority(0, pre.firms.firm_id[alive]), kind="stable")[: len(rows)]])
        else:
            pick = alive[lottery.integers(0, self.firms.firm_id[rows], len(alive))]
        for name in FIELDS:
            if name != "firm_id":
                getattr(self.firms, name)[rows] = getattr(pre.firms, name)[pick]
        self.firms.birth_month[rows] -= pre.month
        self.firms.transfers[rows] = 0.0

    def _create_agents(self, rows: np.ndarray) -> None:
        self.firm_objects.extend(Firm.create_rows(self, rows))

    def _remove_agents(self, rows: np.ndarray) -> None:
        objects = self.firm_objects
        Firm.remove_all(self, [objects[r] for r in rows.tolist()])

    def _record_panel(self) -> None:
        if self.cfg.output.panel_every_months:
            self._panel.append(metrics.panel_snapshot(self))

    def firm(self, firm_id: int) -> Firm:
        """The firm with Mesa ``unique_id`` ``firm_id``, alive or dead.

        Ids are given in row order, so the row is found by bisection.
        """
        ids = self.firms.view("firm_id")
        row = int(np.searchsorted(ids, firm_id))
        if row >= len(ids) or ids[row] != firm_id:
            raise KeyError(f"no firm with id {firm_id}")
        return self.firm_objects[row]

    @property
    def living_rows(self) -> np.ndarray:
        """Row indices of living firms."""
        return np.flatnonzero(self.firms.view("alive"))

    # ---------------------------------------------------------------- outputs
    @property
    def series_row(self) -> dict:
        """The series row of the month just simulated (what the DataCollector records)."""
        return self._series[-1]

    def series(self) -> pd.DataFrame:
        """Model-level monthly series (one row per simulated month)."""
        return pd.DataFrame(self._series)

    def panel(self) -> pd.DataFrame:
        """Firm panel: living firms at the configured snapshot months."""
        if not self._panel:
            return pd.DataFrame(columns=metrics.PANEL_COLUMNS)
        return pd.concat(self._panel, ignore_index=True)

    def firm_table(self) -> pd.DataFrame:
        """One row per firm ever created: traits, birth, exit, age."""
        return metrics.firm_table(self)

    def alliance(self, alliance_id: int) -> Alliance:
        """A view of alliance ``alliance_id`` (members, type, governance, trust)."""
        if self.alliances is None or not 0 <= alliance_id < self.alliances.table.n:
            raise KeyError(f"no alliance with id {alliance_id}")
        return Alliance(self, alliance_id)

    def alliance_table(self) -> pd.DataFrame:
        """One row per alliance ever formed (empty when alliances are disabled)."""
        if self.alliances is None:
            return pd.DataFrame(columns=metrics.ALLIANCE_COLUMNS)
        return self.alliances.alliance_table()

    def summary(self) -> dict:
        """Headline outcomes of the run (names as in ``sim.metrics``)."""
        return metrics.summary(self)


class PreHistory(AllianceModel):
    """The economy that ages a mixed-age stock, without ``Firm`` agents: nobody inspects its
    firms one by one, and creating a Mesa agent costs microseconds per firm. Ids are the
    row number plus one, as Mesa would give them."""

    def _create_agents(self, rows: np.ndarray) -> None:
        self.firms.firm_id[rows] = rows + 1

    def _remove_agents(self, rows: np.ndarray) -> None:
        pass
