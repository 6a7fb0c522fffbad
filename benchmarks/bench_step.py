"""How long a month of the alianzas economy takes per firm, next to Mesa's own Boltzmann example.

A benchmark, not a test: it prints figures and checks nothing. Run it from the repo root:

    python benchmarks/bench_step.py            # N = 1,000, 10,000 and 100,000
    python benchmarks/bench_step.py --quick    # one repeat each, no 100,000 (a few seconds)
    python benchmarks/bench_step.py --json results/bench.json
    python benchmarks/bench_step.py --national            # 5,000,000 firms, every mechanism on
    python benchmarks/bench_step.py --national 1000000    # the same at 1,000,000
    python benchmarks/bench_step.py --all-on              # 1,000,000 firms, every mechanism on
    python benchmarks/bench_step.py --all-on --stock      # the same from a mixed-age stock (firms=stock)

What is timed (``time.perf_counter``, garbage collection left on as in a real run):

- Our model: ``AllianceModel.from_config(load_config("firms.n_firms=N", "months=120",
  "output.panel_every_months=12", "seed=0"))`` is the build; ``run_for(120)`` is the run,
  the whole step including the monthly series and the yearly firm panel. The figure is
  ns per firm-month = run time / (N x 120), with N the initial population (births and
  exits change the living count along the run; its monthly mean is printed beside).
  Where the schema has ``alliances.enabled`` (default true), the baseline sets it to
  false explicitly, and N = 10,000 is measured again with it true (``ratio_alliances``).
- Mesa's packaged ``BoltzmannWealth`` at 10,000 agents on a 100 x 100 grid (one agent per
  cell, the density of the example's default 100 agents on 10 x 10): 20 steps after
  construction, including its DataCollector. The figure is ns per agent-step.

Each figure is the median of 3 fresh models (1 at N = 100,000; 1 everywhere with
``--quick``), after one untimed warm-up run. ``ratio`` is our ns per firm-month at
N = 10,000 over Boltzmann's ns per agent-step: 0.1 means a firm-month costs a tenth of
one Boltzmann agent-step, so lower is cheaper. Per *living* firm-month is the honest unit
(a cohort loses most of its firms, and dead rows cost little): ``ratio_living_alliances``
is the alliances-on cost per living firm-month at N = 10,000 over Boltzmann's. Config composition (Hydra) is not timed.
Times are wall clock: other work on the machine inflates them, the ratio (both sides
measured in the same run) less so.
OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, when set, can slow numpy; they are reported, not changed.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import platform
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import mesa
import numpy as np
from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannScenario, BoltzmannWealth
from mesa.mesa_logging import LOGGER_NAME

from sim import AllianceModel, ConfigError, load_config

MONTHS = 120
MODEL_SIZES = (1_000, 10_000, 100_000)
REFERENCE_SIZE = 10_000
LARGE_SIZE = 100_000
BOLTZMANN_STEPS = 20
REPEATS = 3
OPENBLAS_VARIABLES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


@dataclass
class Measurement:
    """Median build and run times of one set-up, and the run time per unit of work."""

    label: str
    size: int
    unit: str
    units_per_run: int
    repeats: int
    build_s: float
    run_s: float
    note: str = ""
    living_units: float = 0.0

    @property
    def ns_per_living(self) -> float:
        """Run time per living firm-month (the honest unit: a cohort loses most of its firms)."""
        return self.run_s / self.living_units * 1e9 if self.living_units else float("nan")

    @property
    def ns_per_unit(self) -> float:
        """Median run time per firm-month or agent-step, in nanoseconds."""
        return self.run_s / self.units_per_run * 1e9

    def line(self) -> str:
        """One printed row: size, build and run times, and the per-unit figure."""
        living = f"  {self.ns_per_living:8.1f} ns/living {self.unit}" if self.living_units else ""
        return (f"{self.label:<34} N={self.size:>9,}  build {self.build_s:7.3f} s  run {self.run_s:7.3f} s"
                f"  {self.ns_per_unit:8.1f} ns/{self.unit}{living}  ({self.note})")


def model_config(n_firms: int, alliances: bool | None):
    """The benchmark's config; ``alliances`` None leaves the switch out (older schemas)."""
    overrides = [f"firms.n_firms={n_firms}", f"months={MONTHS}", "output.panel_every_months=12", "seed=0"]
    if alliances is not None:
        overrides.append(f"alliances.enabled={str(alliances).lower()}")
    return load_config(*overrides)


def schema_has_alliance_switch() -> bool:
    """True when the config schema accepts ``alliances.enabled``."""
    try:
        load_config("alliances.enabled=true")
    except ConfigError:
        return False
    return True


def time_model(label: str, n_firms: int, alliances: bool | None, repeats: int) -> Measurement:
    """Build and run ``repeats`` fresh models of ``n_firms`` for ``MONTHS``; medians."""
    cfg = model_config(n_firms, alliances)
    builds, runs, living = [], [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model = AllianceModel.from_config(cfg)
        t1 = time.perf_counter()
        model.run_for(MONTHS)
        t2 = time.perf_counter()
        builds.append(t1 - t0)
        runs.append(t2 - t1)
        living.append(model.series()["firms_alive"].mean())
    mean_living = statistics.median(living)
    return Measurement(label, n_firms, "firm-month", n_firms * MONTHS, repeats, statistics.median(builds),
                       statistics.median(runs), f"mean living {mean_living:,.0f}", mean_living * MONTHS)


#: Every mechanism on, for the national-scale runs: alliances, a crisis, large-firm entry, five instruments.
EVERYTHING = ("scenario=crisis", "market.competition.enabled=true",
              "policy=[formation_grant,matchmaking,training,credit,cluster_programme]")


def time_national(n_firms: int, label: str = "national", stock: bool = False) -> None:
    """One run of ``n_firms`` with every mechanism on: build, run and peak memory (this process).

    ``stock`` seats a mixed-age stock (``firms=stock``) instead of a birth cohort. Besides
    wall-clock times it prints the process's CPU time, which other work on the machine
    inflates less.
    """
    import resource
    mechanisms = EVERYTHING + (("firms=stock",) if stock else ())
    cfg = load_config(f"firms.n_firms={n_firms}", f"months={MONTHS}", "output.panel_every_months=12", "seed=0",
                      *mechanisms)
    t0, c0 = time.perf_counter(), time.process_time()
    model = AllianceModel.from_config(cfg)
    t1, c1 = time.perf_counter(), time.process_time()
    model.run_for(MONTHS)
    t2, c2 = time.perf_counter(), time.process_time()
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2
    living = model.series()["firms_alive"].mean() * MONTHS
    print(f"{label} run: N={n_firms:,} firms x {MONTHS} months, every mechanism on ({' '.join(mechanisms)})")
    print(f"build {t1 - t0:.1f} s  run {t2 - t1:.1f} s  total {t2 - t0:.1f} s  "
          f"{(t2 - t1) / living * 1e9:.0f} ns/living firm-month  peak memory {peak_gb:.2f} GB")
    print(f"cpu: build {c1 - c0:.1f} s  run {c2 - c1:.1f} s  {(c2 - c1) / living * 1e9:.0f} ns/living firm-month"
          f"  (mean living {living / MONTHS:,.0f})")


def time_boltzmann(n_agents: int, steps: int, repeats: int) -> Measurement:
    """Build ``repeats`` BoltzmannWealth models at one agent per cell and time ``steps`` steps; medians."""
    side = math.isqrt(n_agents)
    builds, runs = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model = BoltzmannWealth(BoltzmannScenario(n=n_agents, width=side, height=side, rng=0))
        t1 = time.perf_counter()
        model.run_for(steps)
        t2 = time.perf_counter()
        builds.append(t1 - t0)
        runs.append(t2 - t1)
    return Measurement(f"mesa BoltzmannWealth {side}x{side}", n_agents, "agent-step", n_agents * steps,
                       repeats, statistics.median(builds), statistics.median(runs), f"{steps} steps")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one repeat each, skip N = 100,000")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--national", nargs="?", type=int, const=5_000_000, metavar="N",
                        help="instead, one run of N firms (default 5,000,000) with every mechanism on: "
                             "time and peak memory")
    parser.add_argument("--all-on", nargs="?", type=int, const=1_000_000, metavar="N",
                        help="the same as --national with N firms, default 1,000,000")
    parser.add_argument("--stock", action="store_true",
                        help="with --national or --all-on: seat a mixed-age stock (firms=stock)")
    args = parser.parse_args()
    logging.getLogger(LOGGER_NAME).setLevel(logging.CRITICAL)
    if args.stock and not (args.national or args.all_on):
        parser.error("--stock goes with --national or --all-on")
    if args.national or args.all_on:
        time_national(args.national or args.all_on, "national" if args.national else "all-on", args.stock)
        return

    repeats = 1 if args.quick else REPEATS
    sizes = [n for n in MODEL_SIZES if not (args.quick and n >= LARGE_SIZE)]
    blas_env = {name: os.environ[name] for name in OPENBLAS_VARIABLES if name in os.environ}
    statistic = "1 run each" if args.quick else f"median of {REPEATS} runs (N = {LARGE_SIZE:,}: 1 run)"
    print(f"alianzas step benchmark: {MONTHS} months, perf_counter, {statistic}; "
          f"Python {platform.python_version()}, numpy {np.__version__}, mesa {mesa.__version__}")
    if blas_env:
        settings = ", ".join(f"{name}={value}" for name, value in blas_env.items())
        print(f"OpenBLAS environment: {settings} (can slow numpy; left as is)")
    else:
        print("OpenBLAS environment: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE not set")

    switch = schema_has_alliance_switch()
    baseline = False if switch else None
    model_tag = "alliances off" if switch else "no alliance switch"
    AllianceModel.from_config(model_config(1_000, baseline)).run_for(12)  # warm-up, untimed

    figures = []
    for n in sizes:
        figures.append(time_model(f"alianzas ({model_tag})", n, baseline, 1 if n >= LARGE_SIZE else repeats))
        print(figures[-1].line(), flush=True)
    with_alliances = time_model("alianzas (alliances on)", REFERENCE_SIZE, True, repeats) if switch else None
    if with_alliances:
        print(with_alliances.line(), flush=True)
    boltzmann = time_boltzmann(REFERENCE_SIZE, BOLTZMANN_STEPS, repeats)
    print(boltzmann.line(), flush=True)

    reference = next(f for f in figures if f.size == REFERENCE_SIZE)
    ratios = {"ratio": reference.ns_per_unit / boltzmann.ns_per_unit}
    if with_alliances:
        ratios["ratio_alliances"] = with_alliances.ns_per_unit / boltzmann.ns_per_unit
        ratios["ratio_living_alliances"] = with_alliances.ns_per_living / boltzmann.ns_per_unit
    for name, value in ratios.items():
        print(f"{name}: {value:.3f}")

    if args.json:
        measured = figures + ([with_alliances] if with_alliances else []) + [boltzmann]
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({
            "months": MONTHS, "boltzmann_steps": BOLTZMANN_STEPS, "statistic": statistic,
            "python": platform.python_version(), "numpy": np.__version__, "mesa": mesa.__version__,
            "openblas_env": blas_env, "measurements": [{**asdict(m), "ns_per_unit": m.ns_per_unit} for m in measured],
            **{name: round(value, 6) for name, value in ratios.items()},
        }, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
