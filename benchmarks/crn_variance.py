"""How much common random numbers buy: paired standard errors and arm correlations across seeds.

Runs the policy comparison's arms (no policy and each instrument at equal budget) and the
uplift's arms (alliances on and off) over a seed list and prints, per outcome, the standard
error of the paired difference, the standard error an unpaired design would have, their ratio
squared (the variance-reduction factor) and the correlation of the two arms across seeds.
Used to state the before/after gain of keyed random draws; not a test.

    .venv/bin/python benchmarks/crn_variance.py --seeds 10 --firms 1000
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from experiments.kinds.policy_compare import instrument_arms
from experiments.replication.compare import paired_jobs, run_jobs
from sim.config import check, load_config

OUTCOMES = ("firm_years", "total_revenue", "firms_alive_end", "alliances_formed", "mean_monthly_revenue")


def paired_stats(a: np.ndarray, b: np.ndarray) -> dict:
    """Paired and unpaired standard errors of mean(a - b), their variance ratio, and corr(a, b)."""
    n = len(a)
    se_paired = float(np.std(a - b, ddof=1) / np.sqrt(n))
    se_unpaired = float(np.sqrt((np.var(a, ddof=1) + np.var(b, ddof=1)) / n))
    corr = float(np.corrcoef(a, b)[0, 1]) if np.std(a) > 0 and np.std(b) > 0 else float("nan")
    return {"se_paired": se_paired, "se_unpaired": se_unpaired, "corr": corr,
            "variance_reduction": (se_unpaired / se_paired) ** 2 if se_paired > 0 else float("inf")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--firms", type=int, default=1000)
    ap.add_argument("--months", type=int, default=120)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=None, help="write the figures as JSON here")
    args = ap.parse_args()
    cfg = check(load_config("experiment=policy_compare", f"firms.n_firms={args.firms}", f"months={args.months}"))
    arms = instrument_arms(cfg)
    arms["no_alliances"] = {"policies": {}, "alliances.enabled": False}
    results = run_jobs(paired_jobs(cfg, arms, args.seeds), args.workers, progress=False)
    by = {(r.arm, r.seed): r.summary for r in results if r.error is None}
    seeds = sorted({s for _, s in by})
    report = {}
    for arm in arms:
        if arm == "baseline":
            continue
        report[arm] = {}
        for key in OUTCOMES:
            a = np.array([by[("baseline" if arm == "no_alliances" else arm, s)][key] for s in seeds], float)
            b = np.array([by[("no_alliances" if arm == "no_alliances" else "baseline", s)][key] for s in seeds],
                         float)
            report[arm][key] = paired_stats(a, b)
    for arm, outs in report.items():
        print(f"{arm} vs {'alliances off' if arm == 'no_alliances' else 'no policy'}:")
        for key, s in outs.items():
            print(f"  {key:22s} se_paired {s['se_paired']:12.4g}  se_unpaired {s['se_unpaired']:12.4g}  "
                  f"corr {s['corr']:+.3f}  variance_reduction {s['variance_reduction']:8.2f}")
    if args.out:
        with open(args.out, "w") as fh:
            json.dump({"seeds": seeds, "firms": args.firms, "months": args.months, "arms": report}, fh, indent=1)


if __name__ == "__main__":
    main()
