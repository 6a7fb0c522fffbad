"""Who gains from an instrument, and what its beneficiaries take from the firms beside them.

Every arm of a replication holds the same firms (same ids, same entrants) drawing the same
numbers (``sim.rng``), so a firm's months in the no-policy arm are its counterfactual
months under the instrument. Firms are split three ways: **beneficiaries** (paid anything
by the arm: a grant, a course, a loan, a brokered search), **non-beneficiaries in the same
local markets** (same sector and locality as some beneficiary: the rivals whose customers a
helped firm may take, ODD 7.3.1) and **other firms**. Per group: extra firm-years (months
alive over 12, arm minus baseline) and extra revenue. The **gross** effect is the
beneficiaries'; the **net** effect is every firm's, which equals the difference of the two
worlds' totals. The difference between them is displacement (and spillover elsewhere).
The same per-firm differences say *who* benefits: the beneficiaries' extra firm-years by
size class, sector, capability tercile and alliance status.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.replication.counterfactuals import SIZE_CLASSES
from sim import metrics

#: Per-firm fields kept from an arm's firm months (``experiments.replication.compare.FirmMonths``).
TRAITS = ("firm_id", "sector", "locality", "workers", "capability", "ever_allied")
GROUPS = ("beneficiaries", "same_market_others", "other_markets")


class FirmTotals:
    """Every firm's months alive and revenue over the run, summed month by month (a model observer).

    What displacement needs from the per-firm counterfactuals, in memory that grows with the
    firms and not with firms x months (``experiments.replication.compare.FirmMonths`` keeps every month).
    """

    def __init__(self, model):
        self.model = model
        self.months_alive = np.zeros(0, dtype=np.int32)
        self.revenue = np.zeros(0)

    @classmethod
    def observe(cls, model) -> FirmTotals:
        """A recorder of ``model``, registered as its observer before the run."""
        recorder = cls(model)
        model.observers.append(recorder.record)
        return recorder

    def record(self, model=None) -> None:
        """Add this month (called at the end of each month)."""
        f, n = self.model.firms, self.model.firms.n
        if len(self.revenue) < n:  # entrants: rows are appended, never reused
            self.months_alive = np.concatenate([self.months_alive, np.zeros(n - len(self.revenue), np.int32)])
            self.revenue = np.concatenate([self.revenue, np.zeros(n - len(self.revenue))])
        alive = f.alive[:n]
        self.months_alive[alive] += 1
        self.revenue[alive] += f.revenue[:n][alive]

    def result(self) -> dict:
        """Per-firm totals and the firms' traits at the horizon, as numpy arrays."""
        n = self.model.firms.n
        table = metrics.firm_table(self.model)
        return {"months_alive": self.months_alive[:n].copy(), "revenue": self.revenue[:n].copy(),
                **{k: table[k].to_numpy() for k in TRAITS}}


def _paired(arm: dict, base: dict) -> pd.DataFrame:
    """Both arms' firms by id (a firm missing from one arm counts zero months there), baseline traits."""
    a = pd.DataFrame({"firm_id": arm["firm_id"], "months_arm": arm["months_alive"], "revenue_arm": arm["revenue"]})
    b = pd.DataFrame({k: base[k] for k in TRAITS} | {"months_base": base["months_alive"],
                                                     "revenue_base": base["revenue"]})
    both = b.merge(a, on="firm_id", how="outer")
    for k in ("months_arm", "months_base", "revenue_arm", "revenue_base"):
        both[k] = both[k].fillna(0.0)
    both["extra_firm_years"] = (both["months_arm"] - both["months_base"]) / 12.0
    both["extra_revenue"] = both["revenue_arm"] - both["revenue_base"]
    return both


def split(arm: dict, base: dict, paid_ids: np.ndarray) -> pd.DataFrame:
    """Per firm: its group (``GROUPS``), traits and extra firm-years and revenue."""
    both = _paired(arm, base)
    ben = both["firm_id"].isin(paid_ids).to_numpy()
    market = both["sector"].fillna(-1).to_numpy(np.int64) * 1_000_003 + both["locality"].fillna(-1).to_numpy(np.int64)
    touched = np.isin(market, market[ben])
    both["group"] = np.where(ben, GROUPS[0], np.where(touched, GROUPS[1], GROUPS[2]))
    return both


def displacement_row(firms: pd.DataFrame) -> dict:
    """Extra firm-years and revenue of each group, and net (every firm), for one arm and seed."""
    row = {}
    for g in GROUPS:
        d = firms[firms["group"] == g]
        row[f"firms_{g}"] = float(len(d))
        row[f"extra_firm_years_{g}"] = float(d["extra_firm_years"].sum())
        row[f"extra_revenue_{g}"] = float(d["extra_revenue"].sum())
    row["extra_firm_years_net"] = float(firms["extra_firm_years"].sum())
    row["extra_revenue_net"] = float(firms["extra_revenue"].sum())
    return row


def beneficiary_groups(firms: pd.DataFrame, sector_names: list[str]) -> list[dict]:
    """The beneficiaries' extra firm-years by size class, sector, capability tercile and alliance status."""
    ben = firms[firms["group"] == GROUPS[0]]
    cap = firms["capability"].dropna().to_numpy(float)
    cuts = np.quantile(cap, [1 / 3, 2 / 3]) if len(cap) else np.array([1 / 3, 2 / 3])
    tercile = np.searchsorted(cuts, ben["capability"].to_numpy(float), side="right")
    workers, sector = ben["workers"].to_numpy(float), ben["sector"].to_numpy(float)
    groups = [("size class", name, (workers >= lo) & (workers <= hi)) for name, (lo, hi) in SIZE_CLASSES.items()]
    groups += [("sector", name, sector == s) for s, name in enumerate(sector_names)]
    groups += [("capability tercile", name, tercile == k) for k, name in enumerate(("low", "middle", "high"))]
    allied = ben["ever_allied"].fillna(False).to_numpy(bool)
    groups += [("alliance status (no policy)", "ever allied", allied), ("alliance status (no policy)", "never allied",
                                                                       ~allied)]
    return [{"dimension": dim, "group": name, "beneficiaries": int(mask.sum()),
             "extra_firm_years": float(ben["extra_firm_years"].to_numpy()[mask].sum())} for dim, name, mask in groups]
