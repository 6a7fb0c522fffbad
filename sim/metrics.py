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

PANEL_COLUMNS = ["month", "firm_id", "sector", "age_months", "revenue", "costs", "cash",
                 "alliance_id", "allied"]

SURVIVAL_HORIZONS = (12, 24, 36, 60, 120)


def month_record(model) -> dict:
    """Model-level values of the month just simulated."""
    t = model.firms
    n = t.n
    alive = t.alive[:n]
    n_alive = int(alive.sum())
    revenue = t.revenue[:n][alive]
    allied = alive & (t.alliance_id[:n] >= 0)
    rec = {
        "month": model.month,
        "firms_alive": n_alive,
        "births": model._births_this_month,
        "deaths": model._deaths_this_month,
        "initial_cohort_alive": int(alive[: model.n_initial].sum()),
        "mean_revenue": float(revenue.mean()) if n_alive else 0.0,
        "total_revenue": float(revenue.sum()),
        "mean_cash": float(t.cash[:n][alive].mean()) if n_alive else 0.0,
        "share_allied": float(allied.sum() / n_alive) if n_alive else 0.0,
    }
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
        "allied": t.alliance_id[rows] >= 0,
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
        "workers": t.workers[:n],
        "birth_month": t.birth_month[:n],
        "death_month": t.death_month[:n],
        "alive": alive,
        "age_months": end - t.birth_month[:n],
        "base_revenue": t.base_revenue[:n],
        "input_cost_share": t.input_cost_share[:n],
        "fixed_cost": t.fixed_cost[:n],
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
        "share_allied_mean": float(np.mean([r["share_allied"] for r in series])) if series else 0.0,
    }
    for h in SURVIVAL_HORIZONS:
        out[f"survival_{h}m"] = survival_share(model, h)
    return out
