"""Survival calibration: how the firm economy's defaults were fitted to INEGI's survival pattern.

The model brief asks the default scenario to reproduce the steep early mortality
of Mexican micro firms: about 64% of a birth cohort alive after one year and 30%
after five (INEGI business demography, 1989-2009 cohorts). Five parameters of
``FirmsConfig`` (``sim/params.py``) carry that calibration; they are assumptions,
not measurements:

- ``firms.mean_margin`` and ``firms.sd_margin``: how profitable firms are expected
  to be at launch (they set each firm's fixed cost);
- ``firms.median_initial_cash_months``: the start-up cash buffer;
- ``firms.cash_target_months``: the buffer above which the owner draws cash;
- ``firms.median_volatility``: the size of a firm's own revenue shocks.

The script repeats the procedure that set the defaults (steps 1 and 3) and
adds a refinement (step 2):

1. Grid search: every combination of the values in ``GRID`` is run for
   ``--grid-seeds`` seeds (the same seed list at every point, so points are
   compared on common random numbers), ``--n-firms`` firms and 60 months with
   the firm panel off, in the firm economy without alliances
   (``GRID_OVERRIDES``), where the calibration was done before the alliance
   lifecycle existed. Points are ranked by the squared distance of the mean
   survival to the targets, ``(s12 - 0.64)^2 + (s60 - 0.30)^2``, and the best
   rows are printed with the standard errors of their means.
2. Refinement: three seeds cannot tell the leading points apart, so the best
   ``--refine`` points are run again on the ``--seeds`` seeds and re-ranked.
3. Check: the current defaults (no lever overridden) are run for ``--seeds``
   seeds over 120 months, and the mean and the standard deviation across seeds
   (``ddof=1``) of ``survival_12m``, ``survival_60m`` and ``survival_120m`` are
   printed, with the restricted mean lifetime of the initial cohort over the 120
   months. This is done twice when the defaults switch alliances on: for the
   default world as it is, and for the same world without alliances (the
   economy the levers were fitted to) ("Proposal of a Model of Strategic Alliances to Strengthen
   Microenterprises" reports that micro firms last about five years on average).

Survival is the share of the initial cohort alive after X months
(``sim.metrics.survival_share``). Two targets and five levers: many points fit
about equally well, so the defaults are one good fit among several, not an
estimate (docs/ODD.md, section 9).

Usage::

    python -m experiments.calibrate_survival                  # grid search, then the check
    python -m experiments.calibrate_survival --check-only     # only check the defaults
    python -m experiments.calibrate_survival --seeds 10 --n-firms 2000 --grid-seeds 3 --top 10
    python -m experiments.calibrate_survival --check-only alliances.enabled=false   # extra overrides

Extra ``key=value`` arguments are Hydra overrides applied to every run (grid and
check) after ``GRID_OVERRIDES``, for example to calibrate a scenario other than
the default, or the world with alliances (``alliances.enabled=true``).
"""

from __future__ import annotations

import argparse
import itertools
import logging
import time
from collections.abc import Sequence

import numpy as np
import pandas as pd

from sim import AllianceModel, load_config

#: INEGI survival of a birth cohort (model brief section 2): share alive after 12 and 60 months.
TARGETS = {"survival_12m": 0.64, "survival_60m": 0.30}

#: The calibration levers and the values tried for each (243 points). The defaults in
#: sim/params.py (0.0, 0.12, 2.0, 2.0, 0.30) sit at the centre of the grid.
GRID: dict[str, tuple[float, ...]] = {
    "firms.mean_margin": (-0.05, 0.0, 0.05),
    "firms.sd_margin": (0.08, 0.12, 0.16),
    "firms.median_initial_cash_months": (1.0, 2.0, 4.0),
    "firms.cash_target_months": (1.0, 2.0, 4.0),
    "firms.median_volatility": (0.20, 0.30, 0.40),
}

#: The grid runs the firm economy without alliances, as the calibration was done.
GRID_OVERRIDES = ("alliances.enabled=false",)

GRID_MONTHS = 60
CHECK_MONTHS = 120
CHECK_OUTCOMES = ("survival_12m", "survival_60m", "survival_120m", "mean_life_months")


def run_point(overrides: Sequence[str], seeds: Sequence[int], months: int) -> pd.DataFrame:
    """Run one configuration for each seed; one row of summary outcomes per seed."""
    cfg = load_config(*overrides, f"months={months}", "output.panel_every_months=0",
                      "output.write_files=false")
    rows = []
    for seed in seeds:
        cfg.seed = int(seed)
        model = AllianceModel.from_config(cfg)
        model.run_for(months)
        out = model.summary()
        firms = model.firm_table()
        # Ages of the initial cohort are capped at the horizon, so their mean is the
        # restricted mean lifetime over `months`.
        out["mean_life_months"] = float(firms.loc[firms["initial"], "age_months"].mean())
        rows.append(out)
    return pd.DataFrame(rows)


def distance(s12: float, s60: float) -> float:
    """Squared distance of a point's mean survival to the INEGI targets."""
    return (s12 - TARGETS["survival_12m"]) ** 2 + (s60 - TARGETS["survival_60m"]) ** 2


def grid_search(base: Sequence[str], seeds: Sequence[int],
                points: Sequence[dict] | None = None) -> pd.DataFrame:
    """Mean survival over ``seeds`` and distance of every grid point (or of ``points``), best first.

    ``se_12m`` and ``se_60m`` are standard errors of the means across seeds: two points
    whose survival differs by less than about twice these are not told apart.
    """
    if points is None:
        points = [dict(zip(GRID, values)) for values in itertools.product(*GRID.values())]
    records = []
    for point in points:
        runs = run_point([*base, *(f"{k}={v}" for k, v in point.items())], seeds, GRID_MONTHS)
        s12, s60 = runs["survival_12m"].mean(), runs["survival_60m"].mean()
        se = runs[["survival_12m", "survival_60m"]].std() / np.sqrt(len(runs)) if len(runs) > 1 else {}
        records.append({**point, "survival_12m": s12, "survival_60m": s60,
                        "se_12m": se.get("survival_12m", np.nan), "se_60m": se.get("survival_60m", np.nan),
                        "distance": distance(s12, s60)})
    return pd.DataFrame(records).sort_values("distance", kind="stable").reset_index(drop=True)


def show(table: pd.DataFrame, n: int) -> None:
    """Print the first ``n`` rows of a ranked grid, lever names without their ``firms.`` prefix."""
    shown = table.head(n).rename(columns=lambda c: c.removeprefix("firms."))
    print(shown.to_string(float_format=lambda x: f"{x:.4g}"))


def check_defaults(base: Sequence[str], seeds: Sequence[int]) -> pd.DataFrame:
    """Per-seed survival of the configuration ``base`` over ``CHECK_MONTHS`` months."""
    runs = run_point(base, seeds, CHECK_MONTHS)
    return runs[["seed", *CHECK_OUTCOMES]]


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m experiments.calibrate_survival",
        description="Grid search of the survival calibration levers, then a check of the defaults.")
    parser.add_argument("--seeds", type=int, default=10,
                        help="seeds 0..N-1 for the check of the defaults (default 10)")
    parser.add_argument("--grid-seeds", type=int, default=3,
                        help="seeds 0..N-1 at every grid point (default 3)")
    parser.add_argument("--n-firms", type=int, default=2000, help="initial firms per run (default 2000)")
    parser.add_argument("--top", type=int, default=10, help="grid rows to print (default 10)")
    parser.add_argument("--refine", type=int, default=5,
                        help="re-rank this many best grid points on the --seeds seeds (default 5; 0 skips)")
    parser.add_argument("--check-only", action="store_true", help="skip the grid; only check the defaults")
    parser.add_argument("--out", default=None, help="also write the ranked grid to this CSV file")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides applied to every run")
    return parser.parse_args(argv)


def print_check(title: str, overrides: Sequence[str], seeds: Sequence[int]) -> None:
    """Run ``check_defaults`` and print the mean, sd, min and max of each outcome."""
    print(title)
    t0 = time.perf_counter()
    runs = check_defaults(overrides, seeds)
    stats = runs[list(CHECK_OUTCOMES)].agg(["mean", "std", "min", "max"]).T
    stats.columns = ["mean", "sd", "min", "max"]
    stats = stats.map(lambda x: f"{x:.3f}")
    stats["target"] = [f"{TARGETS[k]:.2f}" if k in TARGETS else "" for k in stats.index]
    print(stats.to_string())
    print(f"({time.perf_counter() - t0:.0f} s; sd across seeds with ddof=1; mean_life_months is the "
          f"initial cohort's mean lifetime capped at {CHECK_MONTHS} months)")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the grid search (unless ``--check-only``) and the check of the defaults."""
    logging.getLogger("MESA").setLevel(logging.WARNING)
    args = parse_args(argv)
    base = [f"firms.n_firms={args.n_firms}", *args.overrides]
    grid_base = [f"firms.n_firms={args.n_firms}", *GRID_OVERRIDES, *args.overrides]
    pd.set_option("display.width", 160)
    pd.set_option("display.max_columns", 20)
    targets = ", ".join(f"{k} {v:.2f}" for k, v in TARGETS.items())

    if not args.check_only:
        n_points = int(np.prod([len(v) for v in GRID.values()]))
        print(f"Grid search: {n_points} points x {args.grid_seeds} seeds, N={args.n_firms}, "
              f"{GRID_MONTHS} months, overrides {' '.join(grid_base[1:])}; targets {targets}")
        t0 = time.perf_counter()
        table = grid_search(grid_base, range(args.grid_seeds))
        print(f"best {args.top} of {len(table)} points ({time.perf_counter() - t0:.0f} s):")
        show(table, args.top)
        if args.out:
            table.to_csv(args.out, index=False)
            print(f"ranked grid written to {args.out}")
        if args.refine:
            # A few seeds cannot separate the best points; rank the leaders again on more seeds.
            leaders = table.head(args.refine)[list(GRID)].to_dict("records")
            refined = grid_search(grid_base, range(args.seeds), leaders)
            print(f"\nbest {len(leaders)} points re-run on {args.seeds} seeds, {GRID_MONTHS} months:")
            show(refined, len(refined))
        print()

    extra = f", overrides {' '.join(args.overrides)}" if args.overrides else ""
    print_check(f"Check of the current defaults: {args.seeds} seeds, N={args.n_firms}, "
                f"{CHECK_MONTHS} months{extra}", base, range(args.seeds))
    if load_config(*base).alliances.enabled:
        print()
        print_check(f"The same without alliances ({' '.join(GRID_OVERRIDES)}), the economy the levers "
                    f"were fitted to:", [*base, *GRID_OVERRIDES], range(args.seeds))


if __name__ == "__main__":
    main()
