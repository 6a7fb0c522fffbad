"""The policy brief's sections in markdown, and its figures, from the tables of ``experiment=policy_compare``.

Each function turns one table of the comparison (ranking, displacement, packages,
beneficiaries, unresolved pairs, equal spending, the response to the budget) into the
lines of its section of ``policy_brief.md``; ``experiments.kinds.policy_compare`` runs
the arms and puts the sections together. Instruments are named by their display
names (``experiments.analysis.policy_terms.label``), money in the configured currency.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analysis import plots
from experiments.analysis.policy_terms import label, money, money_ci, number_ci
from experiments.replication.compare import mean_ci


def ranking_lines(table: pd.DataFrame, pairs: pd.DataFrame, unresolved: pd.DataFrame, currency: str) -> list[str]:
    """Plain-language ranking: tied ranks where the seeds cannot tell arms apart, and the arms with no gain."""
    ranked = table.dropna(subset=["rank"]).sort_values(["rank", "yield"], ascending=[True, False])
    lines = []
    if ranked.empty:
        lines.append("No arm adds firm-years significantly above zero at these budgets and this number of seeds: "
                     "none can be ranked by cost per extra surviving firm-year.")
    ties = ranked["rank"].value_counts()
    for r in ranked.itertuples():
        tie = "=" if ties[r.rank] > 1 else ""
        lines.append(f"{int(r.rank)}{tie}. **{label(r.instrument)}**: {money(r.cost_per_extra_firm_year, currency)} "
                     f"per extra firm-year (95% CI {r.cost_per_extra_firm_year_lo:,.0f} to "
                     f"{r.cost_per_extra_firm_year_hi:,.0f}); {r.extra_firm_years:+,.1f} firm-years in all "
                     f"for {money(r.public_cost, currency)}.")
    if (ties > 1).any():
        lines += ["", "Arms sharing a rank (=) cannot be told apart at this number of seeds: the 95% interval of "
                      "their paired difference in firm-years per million includes zero."]
    none = table[table["rank"].isna()]
    if len(none):
        lines += ["", "No detectable gain (the 95% interval of extra firm-years includes zero or is below it): "
                  + "; ".join(f"{label(r.instrument)} ({money(r.public_cost, currency)} spent)"
                              for r in none.itertuples()) + "."]
    if len(unresolved):
        lines += ["", f"Unresolved pairs ({len(unresolved)} of {len(pairs)}): "
                  + "; ".join(f"{label(r.arm_a)} vs {label(r.arm_b)}" for r in unresolved.itertuples())
                  + ". More seeds (`experiment.max_seeds`) would be needed to tell them apart."]
    return lines


def ranking_table(table: pd.DataFrame, currency: str) -> str:
    """The ranking as a readable table: every arm, ranked or with 'no detectable gain'."""
    order = table.assign(_r=table["rank"].fillna(np.inf)).sort_values(["_r", "yield"], ascending=[True, False])
    has_gross = "extra_firm_years_beneficiaries" in table.columns
    rows = []
    for r in order.itertuples():
        row = {"rank": "-" if np.isnan(r.rank) else f"{int(r.rank)}", "arm": label(r.instrument),
               f"public cost ({currency})": f"{r.public_cost:,.0f}",
               "extra firm-years, net": number_ci(r.extra_firm_years, r.extra_firm_years_lo, r.extra_firm_years_hi)}
        if has_gross:
            row["of which beneficiaries (gross)"] = number_ci(r.extra_firm_years_beneficiaries,
                                                              r.extra_firm_years_beneficiaries_lo,
                                                              r.extra_firm_years_beneficiaries_hi)
        row["extra firms alive at the horizon"] = number_ci(r.extra_firms_alive, r.extra_firms_alive_lo,
                                                            r.extra_firms_alive_hi)
        row[f"extra revenue ({currency})"] = f"{r.extra_revenue:+,.0f}"
        row[f"cost per extra firm-year ({currency})"] = (
            money_ci(r.cost_per_extra_firm_year, r.cost_per_extra_firm_year_lo, r.cost_per_extra_firm_year_hi, "")
            .strip() if r.extra_firm_years_significant else "no detectable gain")
        rows.append(row)
    return pd.DataFrame(rows).to_markdown(index=False)


def displacement_lines(table: pd.DataFrame, currency: str) -> list[str]:
    """Extra firm-years and revenue among beneficiaries, their same-market rivals, other firms and in all."""
    if "extra_firm_years_net" not in table.columns:
        return []
    names = {"beneficiaries": "beneficiaries (gross)", "same_market_others": "others in the same local markets",
             "other_markets": "firms in other markets", "net": "all firms (net)"}
    rows = []
    for r in table.to_dict("records"):
        for g, text in names.items():
            rows.append({"arm": label(r["instrument"]), "firms": text,
                         "extra firm-years": number_ci(r[f"extra_firm_years_{g}"], r[f"extra_firm_years_{g}_lo"],
                                                       r[f"extra_firm_years_{g}_hi"]),
                         f"extra revenue ({currency})": number_ci(r[f"extra_revenue_{g}"],
                                                                  r[f"extra_revenue_{g}_lo"],
                                                                  r[f"extra_revenue_{g}_hi"], 0)})
    return ["## Displacement: who gains and who pays", "",
            "Beneficiaries are the firms the arm paid (grant, course, loan, brokered search); their rivals are "
            "the other firms of the same sector and locality. The ranking uses the net effect on every firm.", "",
            pd.DataFrame(rows).to_markdown(index=False), ""]


def beneficiary_table(groups: pd.DataFrame) -> pd.DataFrame:
    """Who benefits: per arm and group, beneficiaries and their extra firm-years (means over seeds, 95% CI)."""
    rows = []
    for (arm, dim, grp), d in groups.groupby(["instrument", "dimension", "group"], sort=False):
        per = d["extra_firm_years"] / d["beneficiaries"].where(d["beneficiaries"] > 0)
        m, lo, hi = mean_ci(per.astype(float))
        rows.append({"instrument": arm, "dimension": dim, "group": grp,
                     "beneficiaries": float(d["beneficiaries"].mean()),
                     "extra_firm_years": float(d["extra_firm_years"].mean()),
                     "per_beneficiary": m, "per_beneficiary_lo": lo, "per_beneficiary_hi": hi})
    return pd.DataFrame(rows)


def draw_figures(table: pd.DataFrame, who: pd.DataFrame, figs: Path, n_paired: int, currency: str) -> pd.DataFrame:
    """The estimates with their CIs, and who benefits from the best-ranked arm; returns the who-benefits
    rows the brief shows (the arms with a gain; every arm is in beneficiaries.parquet)."""
    title = f"{n_paired} seeds, 95% CIs"
    for key, xlabel in (("extra_firm_years", "extra firm-years vs no policy (net, every firm)"),
                        ("extra_revenue", f"extra revenue vs no policy ({currency})"),
                        ("cost_per_extra_firm_year", f"public cost per extra firm-year ({currency})")):
        est = table.rename(columns={key: "mean", f"{key}_lo": "lo", f"{key}_hi": "hi"})
        est = est.assign(label=est["instrument"].map(label)).dropna(subset=["mean"])
        if len(est):
            plots.estimates_with_ci(est, figs / f"{key}.png", title, xlabel)
    gainers = list(table.dropna(subset=["rank"]).sort_values(["rank", "yield"], ascending=[True, False])["instrument"])
    shown = who[who["instrument"].isin(gainers)] if len(who) else who
    if gainers and len(shown):
        est = shown[shown["instrument"] == gainers[0]].rename(
            columns={"per_beneficiary": "mean", "per_beneficiary_lo": "lo", "per_beneficiary_hi": "hi"})
        est = est.assign(label=[f"{d}: {g}" for d, g in zip(est["dimension"], est["group"])]).dropna(subset=["mean"])
        if len(est):
            plots.estimates_with_ci(est, figs / "who_benefits.png", f"Who benefits: {label(gainers[0])}",
                                    "extra firm-years per beneficiary")
    return shown


def package_lines(packages: pd.DataFrame, currency: str) -> list[str]:
    """Each package's interaction (package minus the sum of its parts) with its CI; nothing without packages."""
    if packages.empty:
        return []
    return ["## Packages: more or less than the sum of their parts?", "",
            "Interaction = the package's extra outcome minus the sum of its parts' extra outcomes, per seed; "
            "an interval that excludes zero means the instruments reinforce (above zero) or undercut each "
            "other (below zero).", "",
            pd.DataFrame([{"package": label(r.package), "seeds": r.n_seeds,
                           "interaction in extra firm-years": number_ci(
                               r.extra_firm_years_interaction, r.extra_firm_years_interaction_lo,
                               r.extra_firm_years_interaction_hi),
                           f"interaction in extra revenue ({currency})": number_ci(
                               r.extra_revenue_interaction, r.extra_revenue_interaction_lo,
                               r.extra_revenue_interaction_hi, 0)}
                          for r in packages.itertuples()]).to_markdown(index=False), ""]


def beneficiary_lines(shown: pd.DataFrame) -> list[str]:
    """The who-benefits table of the arms with a gain; nothing when no arm has one."""
    rows = [{"arm": label(r.instrument), "group": f"{r.dimension}: {r.group}",
             "beneficiaries": f"{r.beneficiaries:,.0f}",
             "extra firm-years per beneficiary": number_ci(r.per_beneficiary, r.per_beneficiary_lo,
                                                           r.per_beneficiary_hi, 2)}
            for r in shown.itertuples() if r.beneficiaries > 0]
    if not rows:
        return []
    return ["## Who benefits", "", "Beneficiaries of the arms with a gain, by group (traits in the world without "
            "the policy): mean number per seed and their extra firm-years per beneficiary (every arm in "
            "`beneficiaries.parquet`).", "", pd.DataFrame(rows).to_markdown(index=False), ""]


def pair_lines(pairs: pd.DataFrame) -> list[str]:
    """Every pair's paired difference in yield, and whether it is told apart."""
    body = pd.DataFrame([{"arms": f"{label(r.arm_a)} vs {label(r.arm_b)}", "seeds": r.n_seeds,
                          "difference": number_ci(r.difference, r.lo, r.hi, 2),
                          "separated": "yes" if r.separated else "no"}
                         for r in pairs.itertuples()]).to_markdown(index=False) if len(pairs) else "One arm only."
    return ["## Pairs of arms", "", "Difference in extra firm-years per million spent (first minus second arm), "
            "paired over the same seeds; separated when the 95% interval excludes zero.", "", body, ""]


def equal_spend_lines(spend: pd.DataFrame, table: pd.DataFrame, n_calibration: int, currency: str) -> list[str]:
    """How each instrument's generosity was scaled for equal spending, and what it then paid out."""
    paid = table.set_index("instrument")["paid_out"]
    return ["## Equal spending", "", "Each instrument's generosity was multiplied by the factor below (found by "
            f"bisection on the first {n_calibration} seeds) and its cap set to the target, so the money lasts over "
            "the window.", "",
            pd.DataFrame([{"instrument": label(r.instrument), "generosity": r.generosity,
                           "at equal cap": f"{r.value_at_cap:g}", "scaled": f"{r.value:g}", "factor": f"{r.factor:.3f}",
                           f"spent at equal cap ({currency})": f"{r.spent_at_equal_cap:,.0f}",
                           f"paid out here ({currency})": f"{paid.get(r.instrument, np.nan):,.0f}"}
                          for r in spend.itertuples()]).to_markdown(index=False), ""]


def budget_curve_lines(curve: pd.DataFrame, figs: Path, currency: str) -> list[str]:
    """The brief's section on the response to money: a table and a figure with 95% bands."""
    wide = curve.pivot(index="budget", columns="instrument", values="extra_firm_years")
    for bound in ("lo", "hi"):
        part = curve.pivot(index="budget", columns="instrument", values=f"extra_firm_years_{bound}")
        wide = wide.join(part.add_suffix(f"_{bound}"))
    names = {arm: label(arm) for arm in curve["instrument"].unique()}
    wide = wide.rename(columns=lambda c: names.get(c, c) if not c.endswith(("_lo", "_hi"))
                       else names.get(c[:-3], c[:-3]) + c[-3:])
    path = plots.response_curves(wide.reset_index().rename(columns={"budget": f"budget ({currency})"}),
                                 f"budget ({currency})", list(names.values()), figs / "budget_response.png",
                                 "extra firm-years (net) against no policy",
                                 "Response to the budget (95% bands over seeds)")
    rows = ["| instrument | budget | public cost | extra firm-years, net |", "|---|---|---|---|"]
    rows += [f"| {label(r.instrument)} | {money(r.budget, currency)} | {money(r.public_cost, currency)} | "
             f"{number_ci(r.extra_firm_years, r.extra_firm_years_lo, r.extra_firm_years_hi)} |"
             for r in curve.itertuples()]
    return ["## Response to the budget", "",
            "Each arm again at every budget of `experiment.budget_curve`, on the same seeds and against the same "
            "worlds without policy; an instrument that cannot spend more than it does shows a flat curve.", "",
            *rows, "", f"The figure is `figures/{path.name}`.", ""]

