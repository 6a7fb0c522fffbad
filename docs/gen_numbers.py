"""The numbers README.md and docs/ODD.md quote, generated from runs so they cannot drift.

Each quoted number sits in a marked block::

    <!-- numbers:NAME -->
    ...generated text...
    <!-- /numbers -->

``BLOCKS`` maps NAME to a function that renders the block's text from
``docs/numbers.json``; ``SOURCES`` says which experiment run, at which config and
seeds, produces the numbers each block reads. ``docs/numbers.json`` is committed:
it holds, per source, the command's overrides, the seed list, the git commit and
the results. ``tests/test_numbers.py`` checks that every block in the documents is
what ``docs/numbers.json`` renders to (fast: no run), so a hand edit of a number
or a results file that was regenerated without the documents fails the suite.

After the model changes, one command reruns every source and rewrites every block::

    python docs/gen_numbers.py --run            # about 6 minutes on a 2-core machine
    python docs/gen_numbers.py --run uplift     # only some sources
    python docs/gen_numbers.py --write          # rewrite the blocks from docs/numbers.json
    python docs/gen_numbers.py --check          # exit 1, with a diff, if a block is out of date

A new block is a function in ``BLOCKS`` (and, if it needs a new run, an entry in
``SOURCES``) plus its markers in a document.
"""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

NUMBERS = ROOT / "docs" / "numbers.json"
DOCUMENTS = (ROOT / "README.md", ROOT / "docs" / "ODD.md")
BLOCK = re.compile(r"<!-- numbers:(?P<name>[\w-]+) -->\n(?P<body>.*?)<!-- /numbers -->", re.S)

#: Source name -> the overrides of the experiment run whose results it keeps (its experiment file's defaults).
SOURCES = {
    "uplift": ("experiment=uplift", "experiment.progress=false"),
    "validate": ("experiment=validate", "experiment.progress=false"),
    "frontier": ("experiment=uplift_frontier", "experiment.progress=false"),
    # Alliance success in a population of capable firms (capability Beta(5, 2), mean 0.71) and of
    # incapable ones (Beta(1, 9), mean 0.10): the size of capability's effect (ODD 7.7.8).
    "capability_high": ("experiment=validate", "experiment.progress=false", "experiment.n_seeds=10",
                        "experiment.targets=[alliance_relational_failure_60m]",
                        "firms.capability_a=5", "firms.capability_b=2"),
    "capability_low": ("experiment=validate", "experiment.progress=false", "experiment.n_seeds=10",
                       "experiment.targets=[alliance_relational_failure_60m]",
                       "firms.capability_a=1", "firms.capability_b=9"),
    "policy_compare": ("experiment=policy_compare", "experiment.progress=false"),
}

#: Columns of policy_compare's instruments table kept in docs/numbers.json.
POLICY_COLUMNS = ["instrument", "rank", "public_cost", "paid_out"] + [
    f"{k}{s}" for k in ("extra_firm_years", "extra_firms_alive", "cost_per_extra_firm_year",
                        "extra_firm_years_beneficiaries", "extra_firm_years_same_market_others")
    for s in ("", "_lo", "_hi")]


def collect(name: str) -> dict:
    """Run one source's experiment in a temporary folder and keep its config, seeds and results."""
    import pandas as pd

    from experiments.run import EXPERIMENTS
    from sim.config import check, load_config
    from sim.io import finite, git_state

    logging.getLogger("MESA").setLevel(logging.WARNING)
    overrides = SOURCES[name]
    cfg = check(load_config(*overrides))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        summary = EXPERIMENTS[cfg.experiment.kind](cfg, folder)
        tables = {p.stem: pd.read_parquet(p) for p in folder.glob("*.parquet")}
    record = {"overrides": list(overrides), "seeds": [int(cfg.seed), int(cfg.seed) + cfg.experiment.n_seeds - 1],
              "n_firms": cfg.firms.n_firms, "months": cfg.months, "git": git_state()}
    if name == "uplift":
        reps = tables["replications"]
        record["estimates"] = json.loads(tables["estimates"].to_json(orient="records"))
        record["alliances_formed"] = float(reps["alliances_formed"].mean())
        record["share_allied_mean"] = float(reps["share_allied_mean"].mean())
        record["alliance_end_share_60m"] = float(reps["alliance_end_share_60m"].mean())
        record["effect_by_group"] = json.loads(tables["effect_by_group"].to_json(orient="records"))
    elif name == "frontier":
        record["frontier"] = json.loads(tables["frontier"].to_json(orient="records"))
        record["grid"] = list(cfg.experiment.grid)
    elif name == "policy_compare":
        record["instruments"] = json.loads(tables["instruments"][POLICY_COLUMNS].to_json(orient="records"))
        record["pairs"] = json.loads(tables["pairs"][["arm_a", "arm_b", "separated"]].to_json(orient="records"))
        record["terms"] = json.loads(tables["terms"][["instrument", "budget", "paid_out", "firms_paid", "lent",
                                                      "repaid", "outstanding", "written_off"]].to_json(orient="records"))
        record["n_seeds"] = summary["n_seeds"]
    else:
        record["fit"] = json.loads(tables["validation"].to_json(orient="records"))
        record["n_pass"] = summary["n_pass"]
        record["n_fail"] = summary["n_fail"]
        record["n_inconclusive"] = summary["n_inconclusive"]
        record["alliance_ends_60m"] = summary.get("alliance_ends_60m", {})
    return finite(record)  # undefined numbers (NaN) as null: docs/numbers.json is strict JSON


# --- rendering -----------------------------------------------------------------------------------

def _effect(row: dict) -> str:
    """``+2.66% (95% CI +2.58 to +2.75)`` for a share, ``-0.09 pp (...)`` for percentage points."""
    pp = row["label"].endswith("(pp)")
    # A difference of two relative effects (naive gap - causal uplift) is in percentage points of them.
    scale, unit = (1.0, " pp") if pp else (100.0, " points") if " - " in row["label"] else (100.0, "%")
    if row["mean"] is None:
        return "not defined"
    text = f"{scale * row['mean']:+.2f}{unit}"
    if row["lo"] is not None and row["hi"] is not None:
        text += f" (95% CI {scale * row['lo']:+.2f} to {scale * row['hi']:+.2f})"
    return text


def _label(row: dict) -> str:
    return re.sub(r"\s*\((share|pp)\)$", "", row["label"])


def _seeds(src: dict) -> str:
    return f"seeds {src['seeds'][0]} to {src['seeds'][1]}, {src['n_firms']:,} firms, {src['months']} months"


def uplift_tour(numbers: dict) -> str:
    """README's tour table of the uplift estimates."""
    src = numbers["uplift"]
    rows = [f"From `python -m experiments.run {' '.join(src['overrides'][:1])}` ({_seeds(src)}):", "",
            "| estimate | value |", "|---|---|"]
    rows += [f"| {_label(r)} | {_effect(r)} |" for r in src["estimates"]]
    return "\n".join(rows)


def uplift_alliances(numbers: dict) -> str:
    """The alliance counts of the uplift run, in a sentence."""
    src = numbers["uplift"]
    return (f"A run forms about {src['alliances_formed']:,.0f} alliances; {_pct(src['share_allied_mean'])} of "
            f"living firms are allied in an average month, and {_pct(src['alliance_end_share_60m'])} of "
            "alliances end within 60 months (any cause).")


def _estimate(numbers: dict, metric: str) -> dict:
    return next(r for r in numbers["uplift"]["estimates"] if r["metric"] == metric)


def selection_share(numbers: dict) -> str:
    """The survey's gap against the effect on the allied, and the share of the gap that is selection."""
    naive, att = _estimate(numbers, "naive_gap")["mean"], _estimate(numbers, "effect_on_allied")["mean"]
    return (f"In the uplift run above, allied firms earn {100 * naive:.1f}% more than firms that never allied "
            f"in the same months (the naive gap), while allying raises the allied firms' own revenue by "
            f"{100 * att:.1f}% (the effect on the allied): {100 * (naive - att) / naive:.0f}% of the survey's "
            "gap is selection.")


def uplift_who_benefits(numbers: dict) -> str:
    """The effect on the allied by alliance type, in a sentence."""
    rows = [r for r in numbers["uplift"]["effect_by_group"] if r["dimension"] == "alliance type"]
    parts = [f"{100 * r['mean']:+.1f}% in {r['group']} months (95% CI {100 * r['lo']:+.1f} to {100 * r['hi']:+.1f})"
             if None not in (r["mean"], r["lo"], r["hi"]) else f"not defined in {r['group']} months (too few)"
             for r in rows]
    return "By alliance type, the effect on the allied is " + ", ".join(parts) + "."


def alliance_ends(numbers: dict) -> str:
    """Alliance ends within 60 months by kind (cumulative incidence, partner exit competing), in a sentence."""
    src = numbers["validate"]
    ends = src.get("alliance_ends_60m") or {}
    if not ends:
        return "The validation run recorded no alliance ends."
    parts = [f"{name} {m:.2f} (95% CI {lo:.2f} to {hi:.2f})" for name, (m, lo, hi) in ends.items()]
    return (f"Within 60 months of forming (validation run, {_seeds(src)}; cumulative incidence with a partner's "
            "exit as a competing risk), alliances end for " + "; ".join(parts) + ".")


def capability_effect(numbers: dict) -> str:
    """Alliance success (no relational or performance end within 60 months) with capable and incapable
    firms, and their ratio, against Dyer, Kale and Singh's (2001) about 1.25."""
    def success(name: str) -> tuple[float, float, float]:
        row = next(r for r in numbers[name]["fit"] if r["target"] == "alliance_relational_failure_60m")
        lo, hi = (row[k] if row[k] is not None else row["model"] for k in ("ci_lo", "ci_hi"))  # one seed: no CI
        return 1 - row["model"], 1 - hi, 1 - lo
    (hi, hi_lo, hi_hi), (lo, lo_lo, lo_hi) = success("capability_high"), success("capability_low")
    src = numbers["capability_high"]
    return (f"From `experiment=validate experiment.targets=[alliance_relational_failure_60m]` ({_seeds(src)}): "
            f"with capable firms (capability mean 0.71) {100 * hi:.1f}% of alliances see no relational or "
            f"performance end within 60 months (95% CI {100 * hi_lo:.1f} to {100 * hi_hi:.1f}), with incapable "
            f"ones (mean 0.10) {100 * lo:.1f}% ({100 * lo_lo:.1f} to {100 * lo_hi:.1f}): a success ratio of "
            f"{hi / lo:.2f}, against about 1.25 for firms with a dedicated alliance function (Dyer, Kale and "
            "Singh 2001).")


def frontier_verdict(numbers: dict) -> str:
    """Where the effect on the allied comes closest to 20% on the frontier grid, and at the defaults."""
    src = numbers["frontier"]
    rows = src["frontier"]
    keys = [g.split("=", 1)[0] for g in src["grid"]]
    best = max(rows, key=lambda r: r["effect_lo"] if r["effect_lo"] is not None else -1.0)
    reach = sum(bool(r["reaches_target"]) for r in rows)
    at = ", ".join(f"`{k}` = {best[k]:g}" for k in keys)
    lo_naive, hi_naive = min(r["naive_gap"] for r in rows), max(r["naive_gap"] for r in rows)
    return (f"From `python -m experiments.run experiment=uplift_frontier` ({_seeds(src)}): {reach} of {len(rows)} "
            f"grid points reach an effect on the allied of 20% with confidence. The largest is "
            f"{100 * best['effect_on_allied']:.1f}% (CI lower bound {100 * best['effect_lo']:.1f}%), at {at}, where "
            f"the average effect over all firms is {100 * best['uplift_revenue']:.1f}%; the naive gap spans "
            f"{100 * lo_naive:.0f}-{100 * hi_naive:.0f}% across the grid.")


def _pct(x) -> str:
    return "an undefined share" if x is None else f"{100 * x:.0f}%"


def _fit(numbers: dict, target: str) -> dict:
    return next(r for r in numbers["validate"]["fit"] if r["target"] == target)


def crisis_mortality(numbers: dict) -> str:
    """The crisis mortality of the validation run, with its interval and INEGI's figure."""
    src, r = numbers["validate"], _fit(numbers, "crisis_mortality_17m")
    return (f"The validation run (`experiment=validate`, seeds {src['seeds'][0]}-{src['seeds'][1]}, "
            f"N = {src['n_firms']:,}) gives {r['model']:.3f} (95% CI {r['ci_lo']:.3f} to {r['ci_hi']:.3f}); "
            f"INEGI 20.8%, band {r['band']}: {r['verdict']}.")


def _num(x) -> str:
    return "-" if x is None else f"{x:.3g}"


def _verdicts(src: dict) -> str:
    """``14 of 14 targets pass`` or ``12 of 14 targets pass, 1 fails, 1 is inconclusive``."""
    n, fail, unsure = len(src["fit"]), src.get("n_fail", 0), src.get("n_inconclusive", 0)
    text = f"{src['n_pass']} of {n} targets pass (the whole 95% interval inside the band)"
    if fail:
        text += f", {fail} {'fails' if fail == 1 else 'fail'}"
    if unsure:
        text += f", {unsure} {'is' if unsure == 1 else 'are'} inconclusive (the interval straddles a bound)"
    return text


def validation_lead(numbers: dict) -> str:
    """The sentence above the validation table, true to it."""
    src = numbers["validate"]
    fail, unsure = src.get("n_fail", 0), src.get("n_inconclusive", 0)
    if not fail and not unsure:
        return "At the defaults every target passes, and the report would say FAIL or inconclusive if one did not:"
    return (f"At the defaults {fail} {'target fails' if fail == 1 else 'targets fail'} and {unsure} "
            f"{'is' if unsure == 1 else 'are'} inconclusive, and the report says so:")


def validation_table(numbers: dict) -> str:
    """Every target's model value with its interval, band and verdict, from the validation run."""
    src = numbers["validate"]
    rows = [f"From `python -m experiments.run experiment=validate` ({_seeds(src)} for the cohort targets; "
            f"each target under its own run conditions): {_verdicts(src)}.", "",
            "| target | role | model (95% CI) | literature | band | verdict |", "|---|---|---|---|---|---|"]
    for r in src["fit"]:
        rows.append(f"| `{r['target']}` | {r['role']} | {_num(r['model'])} ({_num(r['ci_lo'])} to "
                    f"{_num(r['ci_hi'])}) | {_num(r['value'])} | {r['band']} | "
                    f"{'**FAIL**' if r['verdict'] == 'FAIL' else r['verdict']} |")
    return "\n".join(rows)


def _ci(mean, lo, hi, digits: int = 1, sign: str = "+") -> str:
    """``+41.4 (+27.2 to +55.6)``; without an interval when it is undefined."""
    if mean is None:
        return "n/a"
    ci = f" ({lo:{sign},.{digits}f} to {hi:{sign},.{digits}f})" if lo is not None and hi is not None else ""
    return f"{mean:{sign},.{digits}f}{ci}"


def policy_table(numbers: dict) -> str:
    """policy_compare's ranking at the defaults: every instrument, ranked or with no detectable gain."""
    src = numbers["policy_compare"]
    rows = sorted(src["instruments"], key=lambda r: (r["rank"] is None, r["rank"] or 0, -(r["extra_firm_years"] or 0)))
    lines = [f"From `python -m experiments.run experiment=policy_compare` ({_seeds(src)}; windows [12, 72), "
             "equal cap MXN 1,000,000):", "",
             "| rank | instrument | public cost (MXN) | extra firm-years, net | of which beneficiaries | "
             "their rivals in the same local markets | extra firms alive at 120 months | MXN per extra firm-year |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cost = (_ci(r["cost_per_extra_firm_year"], r["cost_per_extra_firm_year_lo"], r["cost_per_extra_firm_year_hi"],
                    0, "") if r["rank"] is not None else "no detectable gain")
        lines.append(f"| {'-' if r['rank'] is None else int(r['rank'])} | `{r['instrument']}` | "
                     f"{r['public_cost']:,.0f} | "
                     + " | ".join(_ci(r[k], r[f"{k}_lo"], r[f"{k}_hi"])
                                  for k in ("extra_firm_years", "extra_firm_years_beneficiaries",
                                            "extra_firm_years_same_market_others", "extra_firms_alive"))
                     + f" | {cost} |")
    ranked = {r["instrument"] for r in rows if r["rank"] is not None}
    open_pairs = [f"`{p['arm_a']}` and `{p['arm_b']}`" for p in src["pairs"]
                  if not p["separated"] and p["arm_a"] in ranked and p["arm_b"] in ranked]
    lines += ["", ("Instruments sharing a rank cannot be told apart at these seeds (the paired difference's interval "
                   "includes zero): " + "; ".join(open_pairs) + ".") if open_pairs else
              "Every pair of ranked instruments is told apart at these seeds."]
    credit = next((t for t in src["terms"] if t["instrument"] == "credit"), None)
    if credit:
        lines += ["", f"Credit lent MXN {credit['lent']:,.0f} to {credit['firms_paid']:,.0f} firms a run; "
                      f"MXN {credit['repaid']:,.0f} came back, {credit['outstanding']:,.0f} was still owed at the "
                      f"horizon and {credit['written_off']:,.0f} was written off with the firms that closed."]
    return "\n".join(lines)


def _instrument(src: dict, name: str) -> dict:
    return next(r for r in src["instruments"] if r["instrument"] == name)


def _per_firm_year(r: dict) -> str:
    if r["rank"] is None:
        return "no detectable gain in firm-years"
    return f"MXN {r['cost_per_extra_firm_year']:,.0f} per extra firm-year"


def policy_choices(numbers: dict) -> str:
    """Section 10's bullets on why the instruments do what they do, with the policy_compare run's numbers."""
    src = numbers["policy_compare"]
    credit, training = _instrument(src, "credit"), _instrument(src, "training")
    match, grant = _instrument(src, "matchmaking"), _instrument(src, "formation_grant")
    ct = next(t for t in src["terms"] if t["instrument"] == "credit")
    tt = next(t for t in src["terms"] if t["instrument"] == "training")
    mt = next(t for t in src["terms"] if t["instrument"] == "matchmaking")
    return "\n".join([
        f"**Policy instruments** (`experiment=policy_compare`, {_seeds(src)}, cap MXN 1 million each, months "
        "[12, 72); section 11.5)", "",
        "- **Credit is mostly written off.** The firms that draw on the line are those whose cash is negative, "
        f"most of which are doomed: the line lends MXN {ct['lent']:,.0f} (to about {ct['firms_paid']:,.0f} firms "
        f"per run), {100 * ct['repaid'] / max(ct['lent'], 1.0):.1f}% of it comes back and MXN {ct['written_off']:,.0f}, with "
        "its interest, is lost when the borrowers close. It buys firm-years "
        f"({_ci(credit['extra_firm_years'], credit['extra_firm_years_lo'], credit['extra_firm_years_hi'])}, "
        f"{_per_firm_year(credit)}) by postponing closures, partly at the expense of the borrowers' rivals "
        f"({_ci(credit['extra_firm_years_same_market_others'], credit['extra_firm_years_same_market_others_lo'], credit['extra_firm_years_same_market_others_hi'])}), "
        "and few extra firms are alive at the horizon "
        f"({_ci(credit['extra_firms_alive'], credit['extra_firms_alive_lo'], credit['extra_firms_alive_hi'])}).",
        "- **Training has a small or negative effect.** Capability raises the trust a firm's partners place in "
        "it, its attractiveness as a partner and its renegotiation success, but not whether it seeks, whether it "
        "finds a partner (nearly every seeker does) or whether it survives; partner exits, which training does "
        f"not touch, end most alliances. MXN {tt['paid_out']:,.0f} of courses (about {tt['firms_paid']:,.0f} "
        f"trainees) buys {_ci(training['extra_firm_years'], training['extra_firm_years_lo'], training['extra_firm_years_hi'])} "
        f"firm-years: {_per_firm_year(training)}.",
        "- **Matchmaking is cheap because it serves only seekers.** It spends MXN "
        f"{mt['paid_out']:,.0f} of its budget, on about {mt['firms_paid']:,.0f} seekers, for "
        f"{_ci(match['extra_firm_years'], match['extra_firm_years_lo'], match['extra_firm_years_hi'])} firm-years "
        f"({_per_firm_year(match)}).",
        "- **The formation grant adds alliances more than survival.** Counting the grant towards the cash a firm "
        "needs before it seeks (since `c93f31d`), rather than cutting that buffer by the grant's share, cut its "
        f"effect on formation from about +25% to about +5% (as reported by that commit). It spends MXN {grant['public_cost']:,.0f} for "
        f"{_ci(grant['extra_firm_years'], grant['extra_firm_years_lo'], grant['extra_firm_years_hi'])} firm-years "
        f"({_per_firm_year(grant)}).",
    ])


#: Block name -> renderer of its text from docs/numbers.json.
BLOCKS = {"uplift_tour": uplift_tour, "uplift_alliances": uplift_alliances, "crisis_mortality": crisis_mortality,
          "validation_table": validation_table, "validation_lead": validation_lead, "selection_share": selection_share,
          "uplift_who_benefits": uplift_who_benefits, "frontier_verdict": frontier_verdict,
          "alliance_ends": alliance_ends, "capability_effect": capability_effect,
          "policy_table": policy_table, "policy_choices": policy_choices}


def load_numbers() -> dict:
    """The committed results (``docs/numbers.json``)."""
    return json.loads(NUMBERS.read_text())


def render(text: str, numbers: dict) -> tuple[str, list[str]]:
    """``text`` with every marked block regenerated, and the problems found (unknown block names)."""
    problems = []

    def fresh(match: re.Match) -> str:
        name = match["name"]
        if name not in BLOCKS:
            problems.append(f"unknown numbers block {name!r}; known: {', '.join(BLOCKS)}")
            return match[0]
        return f"<!-- numbers:{name} -->\n{BLOCKS[name](numbers)}\n<!-- /numbers -->"

    return BLOCK.sub(fresh, text), problems


def check(numbers: dict | None = None) -> list[str]:
    """Problems that make a document disagree with ``docs/numbers.json`` (empty when all agree)."""
    numbers = numbers if numbers is not None else load_numbers()
    problems = []
    for doc in DOCUMENTS:
        text = doc.read_text()
        new, found = render(text, numbers)
        problems += [f"{doc.name}: {p}" for p in found]
        if new != text:
            diff = difflib.unified_diff(text.splitlines(), new.splitlines(), f"{doc.name} (current)",
                                        "rendered from docs/numbers.json", lineterm="", n=0)
            problems.append(f"{doc.name} differs from docs/numbers.json:\n" + "\n".join(diff))
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--run", nargs="*", metavar="SOURCE", help=f"rerun sources ({', '.join(SOURCES)}; all when "
                                                                  "none named), then rewrite the blocks")
    mode.add_argument("--write", action="store_true", help="rewrite the blocks from docs/numbers.json")
    mode.add_argument("--check", action="store_true", help="exit 1 if a block is out of date")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for p in problems:
            print(p, file=sys.stderr)
        return 1 if problems else 0
    numbers = load_numbers() if NUMBERS.is_file() else {}
    if args.run is not None:
        unknown = [s for s in args.run if s not in SOURCES]
        if unknown:
            print(f"gen_numbers: unknown source(s) {', '.join(unknown)}; allowed: {', '.join(SOURCES)}",
                  file=sys.stderr)
            return 2
        for name in args.run or list(SOURCES):
            print(f"running {name}: {' '.join(SOURCES[name])}", file=sys.stderr)
            numbers[name] = collect(name)
        NUMBERS.write_text(json.dumps(numbers, indent=1, allow_nan=False) + "\n")
    for doc in DOCUMENTS:
        new, problems = render(doc.read_text(), numbers)
        for p in problems:
            print(f"{doc.name}: {p}", file=sys.stderr)
        doc.write_text(new)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
