"""Outcome definitions, one name each, used in series, summaries, tables and plots.

- ``survival_Xm``: share of the initial population (rows founded at set-up) still
  alive after X months; INEGI's business-demography survival follows a birth
  cohort the same way.
- ``mean_monthly_revenue``: revenue per living firm, averaged over the months.
- ``births``/``deaths``: entrants and exits over the whole run (all firms).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.alliance_table import END_CAUSES
from sim.demography import EXIT_CAUSES

PANEL_COLUMNS = ["month", "firm_id", "sector", "age_months", "revenue", "costs", "cash",
                 "alliance_id", "allied"]

SURVIVAL_HORIZONS = (12, 24, 36, 60, 120)

ALLIANCE_COLUMNS = ["alliance_id", "members", "size", "type", "formality", "control_behaviour",
                    "control_output", "control_social", "stage", "search_month", "agreed_month",
                    "structuring_month", "start_month", "end_month", "end_cause",
                    "goodwill_initial", "competence_initial", "goodwill_final", "competence_final",
                    "opportunism_detected", "opportunism_undetected", "renegotiations", "evaluations", "repairs",
                    "benefit_total", "cost_total"]


def month_record(model) -> dict:
    """Model-level values of the month just simulated.

    Reads the living firms' rows once (gathered in row order), so its cost follows the
    living population, not every row ever created.
    """
    t = model.firms
    n = t.n
    living = np.flatnonzero(t.alive[:n])
    n_alive = len(living)
    revenue = t.revenue[living]
    allied = model.alliances.table.running(t.alliance_id[living]) if model.alliances else np.zeros(n_alive, bool)
    independent = ~allied
    never_allied = ~t.ever_allied[living]
    n_allied = int(np.count_nonzero(allied))
    rec = {
        "month": model.month,
        "firms_alive": n_alive,
        "births": model._births_this_month,
        "deaths": model._deaths_this_month,
        "initial_cohort_alive": int(np.searchsorted(living, model.n_initial)),
        "mean_revenue": float(revenue.mean()) if n_alive else 0.0,
        "total_revenue": float(revenue.sum()),
        "mean_cash": float(t.cash[living].mean()) if n_alive else 0.0,
        "share_allied": float(n_allied / n_alive) if n_alive else 0.0,
        "mean_revenue_allied": float(revenue[allied].mean()) if n_allied else float("nan"),
        "mean_revenue_independent": float(revenue[independent].mean())
        if n_allied < n_alive else float("nan"),
        "mean_revenue_never_allied": float(revenue[never_allied].mean()) if never_allied.any() else float("nan"),
        "revenue_per_initial_firm": float(t.revenue[: model.n_initial].sum() / model.n_initial),
    }
    proc = model.alliances
    rec["seekers"] = proc.seekers_this_month if proc else 0
    rec["alliances_agreed"] = proc.agreed_this_month if proc else 0
    rec["alliances_formed"] = proc.formed_this_month if proc else 0
    rec["alliances_active"] = int(np.count_nonzero(proc.table.active[: proc.table.n])) if proc else 0
    for cause in END_CAUSES:
        rec[f"ended_{cause}"] = proc.ended_this_month[cause] if proc else 0
    for s, name in enumerate(model.sector_names):
        rec[f"demand_{name}"] = float(model.market.demand[s])
    return rec


def panel_snapshot(model) -> pd.DataFrame:
    """Living firms' state at the current month, one row each."""
    t = model.firms
    rows = model.living_rows
    return pd.DataFrame({
        "month": np.full(len(rows), model.month, dtype=np.int64),
        "firm_id": t.firm_id[rows],
        "sector": t.sector[rows],
        "age_months": model.month - t.birth_month[rows],
        "revenue": t.revenue[rows],
        "costs": t.costs[rows],
        "cash": t.cash[rows],
        "alliance_id": t.alliance_id[rows],
        "allied": model.alliances.table.running(t.alliance_id[rows]) if model.alliances
        else np.zeros(len(rows), dtype=bool),
    })


def firm_table(model) -> pd.DataFrame:
    """One row per firm ever created, with its traits and its fate."""
    t = model.firms
    n = t.n
    alive = t.alive[:n]
    end = np.where(alive, model.month, t.death_month[:n])
    df = pd.DataFrame({
        "firm_id": t.firm_id[:n],
        "initial": np.arange(n) < model.n_initial,
        "sector": t.sector[:n],
        "locality": t.locality[:n],
        "workers": t.workers[:n],
        "founding_workers": t.founding_workers[:n],
        "birth_month": t.birth_month[:n],
        "death_month": t.death_month[:n],
        "exit_cause": np.asarray(EXIT_CAUSES)[t.exit_cause[:n]],
        "alive": alive,
        "age_months": end - t.birth_month[:n],
        "base_revenue": t.base_revenue[:n],
        "input_cost_share": t.input_cost_share[:n],
        "fixed_cost": t.fixed_cost[:n],
        "worker_cost": t.worker_cost[:n],
        "quality": t.quality[:n],
        "belief": t.belief[:n],
        "owner_age": t.owner_age[:n],
        "volatility": t.volatility[:n],
        "exposure": t.exposure[:n],
        "capability": t.capability[:n],
        "cooperativeness": t.cooperativeness[:n],
        "planned": t.planned[:n],
        "ever_allied": t.ever_allied[:n],
    })
    return df


def survival_share(model, months: int) -> float | None:
    """Share of the initial population alive after ``months`` (None if not yet simulated)."""
    if months > model.month:
        return None
    d = model.firms.death_month[: model.n_initial]
    return float(np.mean((d < 0) | (d > months)))


def summary(model) -> dict:
    """Headline numbers of one run."""
    series = model._series
    out = {
        "seed": int(model.cfg.seed),
        "n_firms_initial": model.n_initial,
        "months": model.month,
        "births": int(sum(r["births"] for r in series)),
        "deaths": int(sum(r["deaths"] for r in series)),
        "firms_alive_end": int(model.firms.view("alive").sum()),
        "mean_monthly_revenue": float(np.mean([r["mean_revenue"] for r in series])) if series else 0.0,
        "revenue_per_initial_firm": float(np.mean([r["revenue_per_initial_firm"] for r in series]))
        if series else 0.0,
        "mean_revenue_allied": _nanmean([r["mean_revenue_allied"] for r in series]),
        "mean_revenue_never_allied": _nanmean([r["mean_revenue_never_allied"] for r in series]),
        "share_allied_mean": float(np.mean([r["share_allied"] for r in series])) if series else 0.0,
    }
    for h in SURVIVAL_HORIZONS:
        out[f"survival_{h}m"] = survival_share(model, h)
    out["crisis_mortality_17m"] = crisis_mortality(model)
    out["firm_years"] = float(sum(r["firms_alive"] for r in series) / 12.0)
    out["total_revenue"] = float(sum(r["total_revenue"] for r in series))
    out["public_cost"] = model.ledger.total()
    out["policies"] = model.policies.report()
    out.update(alliance_summary(model))
    return out


def crisis_mortality(model, window: int = 17) -> float | None:
    """Share of firms alive at the crisis onset that exit within ``window`` months of it
    (INEGI's 2019-2020 study: 20.8% over 17 months); None without a crisis or before the window ends."""
    rows = model.crisis_cohort
    start = model.cfg.market.crisis.start_month
    if rows is None or len(rows) == 0 or model.month < start + window - 1:
        return None
    d = model.firms.death_month[rows]
    return float(np.mean((d >= 0) & (d <= start + window - 1)))


def _nanmean(values: list) -> float | None:
    arr = np.asarray(values, dtype=float)
    return float(np.nanmean(arr)) if np.isfinite(arr).any() else None


def lifetimes(model, initial_only: bool = True) -> pd.DataFrame:
    """Age at exit (observed) or at the horizon (censored) of each firm, with its alliance history.

    ``entry_months`` is the age at which the firm comes under observation: 0 for a firm
    founded in the run, its age at month 0 for a firm of a mixed-age stock (left truncation).
    """
    t = model.firms
    n = model.n_initial if initial_only else t.n
    alive = t.alive[:n]
    end = np.where(alive, model.month, t.death_month[:n])
    birth = t.birth_month[:n]
    return pd.DataFrame({"duration_months": end - birth, "entry_months": np.maximum(-birth, 0), "died": ~alive,
                         "ever_allied": t.ever_allied[:n], "birth_month": birth,
                         "initial": np.arange(n) < model.n_initial})


def alliance_end_share(start: np.ndarray, end: np.ndarray, horizon_month: int, within: int = 60,
                       formed_by: int = 60) -> float | None:
    """Share of alliances formed by month ``formed_by`` that ended within ``within`` months of forming.

    Only alliances whose whole window was observed count (formed by
    ``min(formed_by, horizon - within)``), so a short run is not biased towards
    alliances that ended early; None when no window is complete.
    """
    last = min(formed_by, horizon_month - within)
    sel = (start >= 0) & (start <= last)
    if not sel.any():
        return None
    ended = (end >= 0) & (end - start <= within)
    return float(ended[sel].mean())


def median_duration(start: np.ndarray, end: np.ndarray, horizon_month: int) -> float | None:
    """Kaplan-Meier median alliance duration in months (active alliances are censored); ``start`` of
    alliances that reached implementation."""
    from scipy.stats import CensoredData, ecdf
    if len(start) == 0:
        return None
    ended = end >= 0
    dur = np.where(ended, end - start, horizon_month - start).astype(float) + 0.5
    res = ecdf(CensoredData(uncensored=dur[ended], right=dur[~ended]))
    surv = res.sf
    below = np.flatnonzero(surv.probabilities <= 0.5)
    return float(surv.quantiles[below[0]] - 0.5) if len(below) else None


def alliance_summary(model) -> dict:
    """Alliance outcomes of one run (all zero or None when alliances are disabled)."""
    proc = model.alliances
    if proc is None:
        return {"alliances_formed": 0, "alliances_agreed": 0, "alliance_end_share_60m": None,
                "alliance_median_duration_months": None,
                "alliance_ends_by_cause": dict.fromkeys(END_CAUSES, 0)}
    t = proc.table
    start, end, cause = t.start_month[: t.n], t.end_month[: t.n], t.end_cause[: t.n]
    formed = start >= 0  # reached implementation (talks that broke down never formed)
    return {
        "alliances_formed": int(formed.sum()),
        "alliances_agreed": int(t.n),
        "alliance_end_share_60m": alliance_end_share(start, end, model.month),
        "alliance_median_duration_months": median_duration(start[formed], end[formed], model.month),
        "alliance_ends_by_cause": {c: int((cause == k).sum()) for k, c in enumerate(END_CAUSES)},
        "opportunism_detected": int(t.opportunism_detected[: t.n].sum()),
        "opportunism_undetected": int(t.opportunism_undetected[: t.n].sum()),
        "mean_goodwill_final": float(np.nanmean(proc.alliance_table()["goodwill_final"])) if t.n else None,
    }
