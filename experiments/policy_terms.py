"""The terms a policy comparison states: what each instrument was allowed, and what it did with it.

A ministry cannot act on a ranking whose terms it cannot see. For each instrument of each
arm this module states the budget (the cap), the window in months of the run (and,
for a crisis-relative window, in months after the onset), the eligibility rule in words,
what was paid out against the cap and to how many firms; for credit also what was lent,
repaid, still outstanding at the horizon and written off (debt of firms that closed).
Figures come from the arm's ledger (every payment) and from each instrument's end-of-run
record, as means over seeds. It also holds the brief's labels and money format.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

#: Plain names of the instrument kinds, for tables a ministry reads.
LABELS = {
    "formation_grant": "Formation grant",
    "matchmaking": "Matchmaking",
    "training": "Alliance-management training",
    "credit": "Credit line",
    "cluster_programme": "Cluster programme",
    "cash_grant": "Cash grant",
}

#: Ledger columns of one arm's payments in a run folder (``ledger.parquet``), ``seed`` and ``arm`` first.
LEDGER_COLUMNS = ["seed", "arm", "month", "instrument", "firm_id", "amount", "form"]


def label(arm: str) -> str:
    """A plain name for an arm: its instruments' labels joined by ' + '; a name of one's own is shown in words,
    its kind's label first when it starts with one (``credit_solo`` -> ``Credit line: solo``)."""
    def one(name: str) -> str:
        if name in LABELS:
            return LABELS[name]
        kind = next((k for k in LABELS if name.startswith(k + "_")), None)
        return f"{LABELS[kind]}: {name[len(kind) + 1:].replace('_', ' ')}" if kind else name.replace("_", " ")
    return " + ".join(one(part) for part in arm.split("+"))


def money(value: float, currency: str) -> str:
    """``MXN 1,234,567``: the currency and whole units with thousands separators (n/a when undefined)."""
    return f"{currency} {value:,.0f}" if np.isfinite(value) else "n/a"


def money_ci(mean: float, lo: float, hi: float, currency: str) -> str:
    """A money value with its 95% interval, ``MXN 3,671 (2,807 to 5,259)``."""
    if not np.isfinite(mean):
        return "n/a"
    ci = f" ({lo:,.0f} to {hi:,.0f})" if np.isfinite(lo) and np.isfinite(hi) else ""
    return f"{currency} {mean:,.0f}{ci}"


def number_ci(mean: float, lo: float, hi: float, digits: int = 1) -> str:
    """A signed count with its 95% interval, ``+41.4 (+27.2 to +55.6)``."""
    if not np.isfinite(mean):
        return "n/a"
    ci = f" ({lo:+,.{digits}f} to {hi:+,.{digits}f})" if np.isfinite(lo) and np.isfinite(hi) else ""
    return f"{mean:+,.{digits}f}{ci}"


def eligibility_text(el: Any, sector_names: list[str]) -> str:
    """An eligibility rule in words (``all firms`` when nothing restricts it)."""
    parts = []
    if el.min_workers > 0 or el.max_workers < 10:
        parts.append(f"{el.min_workers}-{el.max_workers} workers")
    if el.min_age_months > 0:
        parts.append(f"at least {el.min_age_months} months old")
    if el.max_age_months < 100_000:
        parts.append(f"at most {el.max_age_months} months old")
    if el.sectors:
        parts.append("sector " + ", ".join(sector_names[s] if s < len(sector_names) else str(s) for s in el.sectors))
    if el.min_capability > 0 or el.max_capability < 1:
        parts.append(f"capability {el.min_capability:g}-{el.max_capability:g}")
    if el.allied != "any":
        parts.append(f"{el.allied} firms only")
    if el.share < 1:
        parts.append(f"a random {el.share:.0%} of those")
    return "; ".join(parts) or "all firms"


def window_text(pol: Any, crisis_start: int) -> str:
    """The window in months of the run, ``months 12-71``; a crisis-relative one also after the onset."""
    shift = crisis_start if pol.window_from == "crisis_onset" else 0
    text = f"months {pol.start_month + shift}-{pol.stop_month + shift - 1}"
    if pol.window_from == "crisis_onset":
        text += f" ({pol.start_month} to {pol.stop_month - 1} after the crisis onset in month {crisis_start})"
    return text


def ledger_frame(results: list) -> pd.DataFrame:
    """Every arm's payments of every seed as one table (``LEDGER_COLUMNS``)."""
    frames = [pd.DataFrame(r.ledger).assign(seed=r.seed, arm=r.arm) for r in results if r.error is None and r.ledger]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            LEDGER_COLUMNS, ("int64", str, "int64", str, "int64", float, str))})
    return pd.concat(frames, ignore_index=True)[LEDGER_COLUMNS]


def fiscal_terms(results: list, ledger: pd.DataFrame, policies: dict[str, Any], cfg: Any) -> pd.DataFrame:
    """One row per (arm, instrument): the stated terms and what was paid, means over seeds."""
    crisis_start = cfg.market.crisis.start_month
    records = {(r.arm, r.seed): {p["instrument"]: p for p in r.summary.get("policies", [])}
               for r in results if r.error is None and r.arm != "baseline"}
    paid = ledger[ledger["form"] != "repayment"]
    by = ["arm", "instrument", "seed"]
    per_seed = pd.DataFrame({
        "paid_out": paid.groupby(by)["amount"].sum(),
        "firms_paid": paid.groupby(by)["firm_id"].nunique(),
        "lent": ledger[ledger["form"] == "loan"].groupby(by)["amount"].sum(),
        "repaid": -ledger[ledger["form"] == "repayment"].groupby(by)["amount"].sum(),
    })
    rows = []
    arms = list(dict.fromkeys(arm for arm, _ in records))
    for arm in arms:
        seeds = [s for a, s in records if a == arm]
        for name in records[(arm, seeds[0])]:
            pol = policies[name]
            vals = {k: [] for k in ("paid_out", "firms_paid", "lent", "repaid", "outstanding", "written_off")}
            for s in seeds:
                got = per_seed.loc[(arm, name, s)] if (arm, name, s) in per_seed.index else None
                for k in ("paid_out", "firms_paid", "lent", "repaid"):
                    vals[k].append(float(got[k]) if got is not None and np.isfinite(got[k]) else 0.0)
                rec = records[(arm, s)].get(name, {})
                vals["outstanding"].append(float(rec.get("debt_outstanding", 0.0)))
                vals["written_off"].append(float(rec.get("debt_written_off", 0.0)))
            row = {"arm": arm, "instrument": name, "kind": pol.kind, "budget": float(pol.budget),
                   "window": window_text(pol, crisis_start),
                   "eligibility": eligibility_text(pol.eligibility, list(cfg.firms.sector_names)),
                   **{k: float(np.mean(v)) for k, v in vals.items()}}
            row["share_of_cap"] = row["paid_out"] / row["budget"] if row["budget"] > 0 else float("nan")
            rows.append(row)
    return pd.DataFrame(rows)


def terms_markdown(terms: pd.DataFrame, currency: str) -> list[str]:
    """The brief's table of terms: one row per instrument of each arm, credit's repayment beside it."""
    rows = []
    for r in terms.itertuples():
        rows.append({
            "arm": label(r.arm), "instrument": LABELS.get(r.kind, r.kind) + ("" if r.instrument == r.kind
                                                                            else f" ({r.instrument})"),
            f"budget ({currency})": f"{r.budget:,.0f}", "window": r.window, "eligibility": r.eligibility,
            f"paid out ({currency}, mean)": f"{r.paid_out:,.0f}", "share of cap": f"{r.share_of_cap:.0%}",
            "firms paid (mean)": f"{r.firms_paid:,.0f}",
        })
    lines = [pd.DataFrame(rows).to_markdown(index=False), ""]
    credit = terms[terms["kind"] == "credit"]
    if len(credit):
        lines += ["Credit, means over seeds: lent is paid out as loans; repaid includes interest; outstanding is "
                  "owed by firms alive at the horizon; written off is owed by firms that closed.", ""]
        lines += [pd.DataFrame([{
            "arm": label(r.arm), f"lent ({currency})": f"{r.lent:,.0f}", f"repaid ({currency})": f"{r.repaid:,.0f}",
            f"outstanding ({currency})": f"{r.outstanding:,.0f}", f"written off ({currency})": f"{r.written_off:,.0f}",
        } for r in credit.itertuples()]).to_markdown(index=False), ""]
    return lines
