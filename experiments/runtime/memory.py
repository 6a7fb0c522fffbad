"""The memory a command will need at its peak, estimated before it runs, so a run that cannot fit is refused.

One model run holds its firm table (every column, per allocated row, births
included), its yearly panel and its monthly series; an experiment holds one run per
worker plus the results it keeps. The figures per row come from peaks measured at
100,000-200,000 and 5,000,000 firms (performance notes in the README).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from experiments.kinds import model_runs, replicated
from experiments.replication.compare import available_cores
from sim.schema import ConfigError

#: Memory model of one model run, from peaks measured at 100k-200k firms and 5M firms (performance notes).
BYTES_BASE = 200e6         # interpreter, numpy, pandas, mesa
BYTES_PER_FIRM_ROW = 750   # every column of the firm table, per allocated row, with step temporaries
BYTES_PER_PANEL_ROW = 100  # one living firm in one panel snapshot (about half the firms are alive on average)
BYTES_PER_MONTH = 600      # one row of the monthly series and its demand paths
BYTES_PER_JOB = 8000       # one job's config object in the parent's job list


def available_memory() -> int | None:
    """Bytes of memory this process can still use: MemAvailable, or a lower cgroup limit (None if unknown)."""
    avail = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                avail = int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        used = int(Path("/sys/fs/cgroup/memory.current").read_text().strip())
        if limit.isdigit():
            avail = min(avail or int(limit), int(limit) - used)
    except (OSError, ValueError):
        pass
    return avail


def run_bytes(cfg: Any) -> float:
    """Estimated peak bytes of one model run of ``cfg`` (firm table, panel, series, interpreter)."""
    rows = cfg.firms.n_firms * (1.5 + cfg.births.rate_monthly * cfg.months)
    if cfg.firms.initial_population == "stock":
        rows += cfg.firms.n_firms * cfg.births.rate_monthly * cfg.firms.stock_burn_in_months
    every = cfg.output.panel_every_months
    panel = 0.5 * cfg.firms.n_firms * (cfg.months // every + 1) if every else 0
    return BYTES_BASE + rows * BYTES_PER_FIRM_ROW + panel * BYTES_PER_PANEL_ROW + cfg.months * BYTES_PER_MONTH


def peak_bytes(cfg: Any) -> float:
    """Estimated peak bytes of an experiment: its workers' model runs plus the results it holds."""
    one = run_bytes(cfg)
    jobs = model_runs(cfg)
    if not replicated(cfg):
        return one
    workers = min(cfg.experiment.workers or available_cores(), available_cores(), jobs)
    held = jobs * (BYTES_PER_JOB + cfg.months * 8 * 8 + cfg.firms.n_firms * 4 * 8)
    return one * (workers + (1 if workers > 1 else 0)) - (BYTES_BASE if workers == 1 else 0) + held


def check_memory(configs: list[Any], multirun: bool, node: Any) -> None:
    """Refuse a run whose estimated peak memory exceeds what is available; cap workers with a warning."""
    for cfg in configs[:1] if not multirun else configs:
        requested = cfg.experiment.workers
        if requested > available_cores() and replicated(cfg):
            print(f"alianzas: warning: experiment.workers={requested} is more than the {available_cores()} "
                  f"cores of this machine; using {available_cores()}", file=sys.stderr)
            break
    avail = available_memory()
    if avail is None or not configs:
        return
    parallel = 1
    if multirun and node is not None and "n_jobs" in node.launcher:
        parallel = max(1, min(int(node.launcher.n_jobs or 1), available_cores(), len(configs)))
    need = max(peak_bytes(c) for c in configs) * parallel
    if need > avail:
        cfg = max(configs, key=peak_bytes)
        raise ConfigError(
            f"this run needs about {need / 1e9:.1f} GB of memory at its peak ({cfg.firms.n_firms:,} firms, "
            f"{cfg.months:,} months, births.rate_monthly={cfg.births.rate_monthly}, {model_runs(cfg):,} model runs"
            f"{f', {parallel} sweep jobs at once' if parallel > 1 else ''}), more than the "
            f"{avail / 1e9:.1f} GB available; allowed: fewer firms, months, births, seeds or workers")
