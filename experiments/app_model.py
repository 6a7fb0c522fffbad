"""The world the browser view runs: the model, its twin without alliances, and each firm's history.

The view's lesson is a comparison: the same firms, the same demand and the
same shocks, once with the alliance lifecycle and once without it. Every
process draws from its own named stream (``sim.rng``), so a twin built from
the same config with ``alliances.enabled=false`` and stepped in lockstep is
that counterfactual world, month by month, as ``experiments.compare`` pairs
runs on common random numbers.

The levers a visitor moves are :data:`LEVERS` (sliders) plus the crisis
switch and the policy choice; each turns into a ``load_config`` override, so
the browser runs exactly what the command line runs with the same overrides.
Slider defaults and ranges come from the schema (``sim.params``), except the
world size (:data:`APP_N_FIRMS`).
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from sim import AllianceModel, load_config, metrics
from sim.policies import REGISTRY

#: Initial firms of the view's world: half the schema default, so that PLAY (two or three worlds
#: stepped each month, seven charts redrawn up to four times a second) stays well above ten months a
#: second for one visitor on a classroom laptop (``benchmarks/app_capacity.py`` measures a class).
#: The slider reaches the default and beyond.
APP_N_FIRMS = 1000

#: Policy choices: ``none`` and every instrument with a file in ``configs/policy/``.
POLICY_DIR = Path(__file__).resolve().parents[1] / "configs" / "policy"
POLICIES = ("none", *sorted(p.stem for p in POLICY_DIR.glob("*.yaml") if p.stem != "none"))


def policy_label(name: str) -> str:
    """A policy choice as people read it: the instrument class's own ``label`` ("Credit line"), "No policy"."""
    return "No policy" if name == "none" else REGISTRY[name].label or name


@dataclass(frozen=True)
class Lever:
    """One slider: the config value it sets, how it is labelled, and its range.

    Attributes:
        path: config path it overrides; ``{policy}`` stands for the chosen instrument's name.
        label: short label shown above the slider.
        unit: unit shown after the value.
        lo: smallest slider value, in display units.
        hi: largest slider value, in display units.
        step: slider increment, in display units.
        scale: display value = config value x scale (100 shows a share as a percentage).
    """

    path: str
    label: str
    unit: str
    lo: float
    hi: float
    step: float
    scale: float = 1.0

    def display(self, value: float) -> float:
        """The config value in the slider's units."""
        return round(value * self.scale, 6)

    def config_value(self, shown: float) -> float | int:
        """The slider's value in config units (an int where the config holds an int)."""
        value = shown / self.scale
        return int(round(value)) if float(self.step).is_integer() and self.scale == 1 else round(value, 6)

    def text(self, value: float) -> str:
        """``label: value unit``, the line shown above the slider."""
        shown = self.display(value)
        number = f"{shown:,.0f}" if float(shown).is_integer() else f"{shown:g}"
        return f"{self.label}: {number} {self.unit}".rstrip()


#: Setting name -> slider. Ranges are in display units.
LEVERS: dict[str, Lever] = {
    "n_firms": Lever("firms.n_firms", "Firms at start", "firms", 100, 5000, 100),
    "p_seek_max": Lever("alliances.search.p_seek_max", "Partner search", "% a month at most", 0, 30, 0.5, 100),
    "control_intensity": Lever("alliances.structure.control_intensity", "Control intensity", "x default",
                               0, 3, 0.1),
    "cluster_max_savings": Lever("alliances.types.cluster_max_savings", "Cluster savings", "% of input costs",
                                 0, 30, 1, 100),
    "budget": Lever("policies.{policy}.budget", "Policy budget", "thousand MXN", 0, 5000, 50, 0.001),
    "start_month": Lever("policies.{policy}.start_month", "Policy starts", "month", 0, 119, 1),
    "stop_month": Lever("policies.{policy}.stop_month", "Policy stops", "month", 1, 120, 1),
}


def _get(cfg, path: str):
    for part in path.split("."):
        cfg = cfg[part] if isinstance(cfg, dict) else getattr(cfg, part)
    return cfg


@cache
def default_settings() -> dict:
    """Every setting at its default: the schema's (and the policy files' window and budget), world size aside."""
    cfg = load_config("policy=training")
    settings = {"seed": int(cfg.seed), "crisis": bool(cfg.market.crisis.enabled), "policy": "none"}
    for key, lever in LEVERS.items():
        settings[key] = _get(cfg, lever.path.format(policy="training"))
    settings["n_firms"] = APP_N_FIRMS
    return settings


def world_overrides(settings: dict) -> list[str]:
    """The ``load_config`` overrides that build the world of ``settings`` (missing keys keep their default)."""
    settings = {**default_settings(), **settings}
    policy = settings["policy"]
    if policy not in POLICIES:
        raise ValueError(f"policy={policy!r} is not an instrument; allowed: {', '.join(POLICIES)}")
    out = [f"seed={int(settings['seed'])}"]
    if settings["crisis"]:
        out.append("scenario=crisis")
    if policy != "none":
        out.append(f"policy={policy}")
    for key, lever in LEVERS.items():
        if "{policy}" in lever.path and policy == "none":
            continue
        out.append(f"{lever.path.format(policy=policy)}={settings[key]}")
    return out


class FirmHistory:
    """Each firm's revenue, cash and trust in its partners, month by month (the firm inspector's data).

    One snapshot of arrays per month, indexed by firm row; a row born later is
    missing from earlier snapshots. Trust is the firm's own goodwill and
    competence trust in its current partners (``sim.trust``), NaN while it is
    in no alliance.
    """

    COLUMNS = ("revenue", "cash", "goodwill", "competence", "alliance_id")

    def __init__(self):
        self.months: list[int] = []
        self.alive: list[np.ndarray] = []
        self.values: dict[str, list[np.ndarray]] = {name: [] for name in self.COLUMNS}

    def record(self, model: AllianceModel) -> None:
        """Append the state of every firm at the end of the model's current month."""
        t = model.firms
        n = t.n
        alliance_id = t.alliance_id[:n].copy()
        goodwill = np.full(n, np.nan)
        competence = np.full(n, np.nan)
        rows = np.flatnonzero(t.alive[:n] & (alliance_id >= 0))
        if model.alliances is not None and len(rows):
            table = model.alliances.table
            seats = np.argmax(table.members[alliance_id[rows]] == rows[:, None], axis=1)
            goodwill[rows] = table.goodwill[alliance_id[rows], seats]
            competence[rows] = table.competence[alliance_id[rows], seats]
        # values, then months, then alive: a page reading while PLAY appends (another thread)
        # sees only months whose every value is there, since ``of`` walks ``alive``
        for name, column in (("revenue", t.revenue[:n]), ("cash", t.cash[:n]), ("goodwill", goodwill),
                             ("competence", competence), ("alliance_id", alliance_id)):
            self.values[name].append(np.array(column, dtype=float))
        self.months.append(model.month)
        self.alive.append(t.alive[:n].copy())

    def of(self, row: int) -> pd.DataFrame:
        """One firm's months while it operated: month, revenue, cash, goodwill, competence, alliance_id."""
        kept = [i for i, alive in enumerate(self.alive) if row < len(alive) and alive[row]]
        out = {"month": [self.months[i] for i in kept]}
        for name in self.COLUMNS:
            out[name] = [self.values[name][i][row] for i in kept]
        return pd.DataFrame(out)


class MonthlySeries:
    """The model-level monthly series (``sim.metrics.month_record``) as numpy columns, one month appended at a time.

    ``AllianceModel.series()`` builds a DataFrame from every month at each call,
    which at month 150 costs more than the month itself; the view reads the
    series after every month, so it keeps columns and converts them once a month.
    """

    def __init__(self):
        self._lists: dict[str, list] = {}
        self._arrays: dict[str, np.ndarray] | None = None
        self._lock = threading.Lock()  # PLAY appends on its thread while the page may read on another

    def append(self, record: dict) -> None:
        """Add one month's record."""
        with self._lock:
            for name, value in record.items():
                self._lists.setdefault(name, []).append(value)
            self._arrays = None

    def __len__(self) -> int:
        with self._lock:
            return len(self._lists.get("month", ()))

    def __getitem__(self, name: str) -> np.ndarray:
        with self._lock:
            if self._arrays is None:
                self._arrays = {k: np.asarray(v, dtype=float if k != "month" else np.int64)
                                for k, v in self._lists.items()}
            return self._arrays[name]


class AppModel(AllianceModel):
    """The world of one visitor: the model of the chosen settings, stepped with its twin without alliances.

    Attributes:
        settings: the settings it was built from (every key of :func:`default_settings`).
        twin: the same world with ``alliances.enabled=false``; ``step()`` advances both in lockstep.
        policy_twin: with an instrument chosen, the same world without it (alliances on), stepped in
            lockstep too; None without a policy.
        history: each firm's monthly revenue, cash and trust (:class:`FirmHistory`).
        monthly: this world's monthly series (:class:`MonthlySeries`).
        twin_monthly: the twin's monthly series.
        policy_twin_monthly: the policy twin's monthly series (empty without a policy).
    """

    def __init__(self, seed: int = 0, n_firms: int | None = None, p_seek_max: float | None = None,
                 control_intensity: float | None = None, cluster_max_savings: float | None = None,
                 crisis: bool = False, policy: str = "none", budget: float | None = None,
                 start_month: int | None = None, stop_month: int | None = None):
        given = {"seed": seed, "n_firms": n_firms, "p_seek_max": p_seek_max, "control_intensity": control_intensity,
                 "cluster_max_savings": cluster_max_savings, "crisis": crisis, "policy": policy,
                 "budget": budget, "start_month": start_month, "stop_month": stop_month}
        self.settings = {**default_settings(), **{k: v for k, v in given.items() if v is not None}}
        cfg = load_config(*world_overrides(self.settings))
        super().__init__(cfg)
        twin_cfg = copy.deepcopy(cfg)
        twin_cfg.alliances.enabled = False
        self.twin = AllianceModel(twin_cfg)
        self.policy_twin = None
        if self.settings["policy"] != "none":
            self.policy_twin = AllianceModel(load_config(*world_overrides({**self.settings, "policy": "none"})))
        self.history = FirmHistory()
        self.monthly = MonthlySeries()
        self.twin_monthly = MonthlySeries()
        self.policy_twin_monthly = MonthlySeries()

    def step(self) -> None:
        """One month of every world (this one, its twins), then their series and the firms' history."""
        super().step()
        self.twin.step()
        self.monthly.append(metrics.month_record(self))
        self.twin_monthly.append(metrics.month_record(self.twin))
        if self.policy_twin is not None:
            self.policy_twin.step()
            self.policy_twin_monthly.append(metrics.month_record(self.policy_twin))
        self.history.record(self)

    def row_of(self, firm_id: int) -> int | None:
        """The row of the firm with Mesa ``unique_id`` ``firm_id``, None if there is none."""
        rows = np.flatnonzero(self.firms.view("firm_id") == firm_id)
        return int(rows[0]) if len(rows) else None
