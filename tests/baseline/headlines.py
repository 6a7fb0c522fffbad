"""The committed numeric baseline: headline numbers of every experiment kind on fixed seeds.

Each case runs one experiment file per experiment kind of ``configs/experiment/``
(both methods of ``sensitivity``; ``policy_targeting`` is ``policy_compare`` with
named arms and is left out to keep the test short), and one plain model
run with every policy instrument switched on), shrunken to a few seeds, firms and
months so that all of them take well under a minute, in a temporary run folder. It
records the case's ``summary.json`` at full precision (floats as Python's ``repr``,
which round-trips exactly) and a SHA-256 of every table it writes (each column's
raw bytes, or the ``repr`` of its values when they are Python objects), of every
saved replication and of every markdown report. ``tests/test_baseline.py`` reruns
the cases and compares with ``baseline.json`` exactly, so "outputs bit-identical"
after a refactor is a test, not a claim.

Update the file only when a change is meant to move the numbers, and say so in the
commit message::

    .venv/bin/python -m tests.baseline.headlines --write   # rewrite tests/baseline/baseline.json
    .venv/bin/python -m tests.baseline.headlines           # compare, print what differs

Keys that depend on the machine or the clock (wall time, run folder paths) are left out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

BASELINE = Path(__file__).with_name("baseline.json")

#: Every case: a few firms, months and seeds, one process, no progress bar.
SHRINK = ("firms.n_firms=100", "months=48", "seed=3", "experiment.n_seeds=2", "experiment.workers=1",
          "experiment.progress=false")

#: Experiment file -> the overrides beyond SHRINK that it needs to reach its headline numbers.
CASES: dict[str, tuple[str, ...]] = {
    "single": ("scenario=crisis", "market.crisis.start_month=12"),
    "uplift": ("months=60",),
    "uplift_frontier": ("experiment.grid=['alliances.types.bridge_access_gain=0.15,0.6']",),
    "compatibility_vs_contracts": ("months=72",),
    "policy_compare": ("months=36", "experiment.policy_stop_month=30"),
    "validate": ("experiment.targets=[survival_12m,crisis_mortality_17m]",),
    "calibrate": ("experiment.n_trials=2", "experiment.n_seeds=1", "experiment.targets=[survival_12m]"),
    "sensitivity": ("experiment.n_samples=2", "experiment.n_seeds=1", "experiment.n_bootstrap=20",
                    "experiment.uncertainties=[firms.mean_margin,firms.p_closure]"),
    "sensitivity_sobol": ("experiment.n_samples=2", "experiment.n_seeds=1", "experiment.n_bootstrap=20",
                          "experiment.uncertainties=[firms.mean_margin,firms.p_closure]"),
}

#: A plain model run (no run folder) with every instrument on, inside a crisis: the step itself.
MODEL_RUN = ("firms.n_firms=300", "months=48", "seed=5", "scenario=crisis", "market.crisis.start_month=20",
             "policy=[formation_grant,matchmaking,training,credit,cluster_programme,cash_grant]")

#: Summary keys that depend on the machine or the clock, not on the model.
VOLATILE = ("wall_seconds", "run_folder", "elapsed_seconds", "seconds")


def table_hash(df: pd.DataFrame) -> str:
    """SHA-256 of a table's column names, dtypes and values, bit for bit (floats by their bytes)."""
    h = hashlib.sha256()
    h.update(repr([(str(c), str(t)) for c, t in df.dtypes.items()]).encode())
    h.update(repr(list(map(str, df.index.names))).encode())
    for _, col in df.reset_index().items():
        values = col.to_numpy()
        if values.dtype.kind in "biufcmM":
            h.update(np.ascontiguousarray(values).tobytes())
        else:
            h.update(repr(values.tolist()).encode())
    return h.hexdigest()


def exact(value):
    """A JSON value with floats written as their exact ``repr`` (NaN and infinities by name)."""
    if isinstance(value, dict):
        return {str(k): exact(v) for k, v in value.items() if not str(k).endswith(VOLATILE)}
    if isinstance(value, (list, tuple)):
        return [exact(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return repr(float(value)) if math.isfinite(value) else str(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


def folder_record(folder: Path) -> dict:
    """Summary, table hashes and report hashes of one run folder."""
    record = {"summary": exact(json.loads((folder / "summary.json").read_text()))}
    tables = {}
    for path in sorted(folder.rglob("*.parquet")):
        tables[path.relative_to(folder).as_posix()] = table_hash(pd.read_parquet(path))
    record["tables"] = tables
    # A report may name its own folder (calibration names its study file): hashed without it.
    record["reports"] = {p.name: hashlib.sha256(p.read_text().replace(str(folder), "<run folder>").encode()).hexdigest()
                         for p in sorted(folder.glob("*.md"))}
    return record


def run_case(name: str, overrides: tuple[str, ...], root: Path) -> dict:
    """Run one experiment file shrunken in a folder under ``root``; return its record."""
    from experiments.run import run_experiment
    from sim import load_config
    from sim.config import check

    cfg = check(load_config(f"experiment={name}", *SHRINK, *overrides))
    folder = root / name
    run_experiment(cfg, folder)
    return folder_record(folder)


def model_record() -> dict:
    """Summary and table hashes of a plain model run with every instrument on."""
    from sim import AllianceModel, load_config

    cfg = load_config(*MODEL_RUN)
    m = AllianceModel.from_config(cfg)
    m.run_for(cfg.months)
    tables = {"series": m.series(), "firms": m.firm_table(), "panel": m.panel(), "ledger": m.ledger.table(),
              "alliances": m.alliance_table(), "alliance_ledger": m.alliances.ledger_table()}
    return {"summary": exact(m.summary()), "tables": {k: table_hash(v) for k, v in tables.items()}}


def compute(names: list[str] | None = None) -> dict:
    """Every case's record (or only those named), in a temporary folder."""
    import logging

    logging.getLogger("MESA").setLevel(logging.WARNING)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        if names is None or "model" in names:
            out["model"] = model_record()
        for name, overrides in CASES.items():
            if names is None or name in names:
                out[name] = run_case(name, overrides, Path(tmp))
    return out


def differences(expected: dict, got: dict, path: str = "") -> list[str]:
    """Every key path where ``got`` differs from ``expected``, with both values."""
    if isinstance(expected, dict) and isinstance(got, dict):
        out = []
        for key in sorted(set(expected) | set(got)):
            if key not in got:
                out.append(f"{path}{key}: missing (expected {expected[key]!r})")
            elif key not in expected:
                out.append(f"{path}{key}: new (got {got[key]!r})")
            else:
                out += differences(expected[key], got[key], f"{path}{key}.")
        return out
    return [] if expected == got else [f"{path.rstrip('.')}: expected {expected!r}, got {got!r}"]


def main(argv: list[str] | None = None) -> int:
    """Compare the cases with the committed baseline, or rewrite it with ``--write``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite tests/baseline/baseline.json")
    args = parser.parse_args(argv)
    got = compute()
    if args.write:
        BASELINE.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n")
        print(f"wrote {BASELINE} ({len(got)} cases)")
        return 0
    diff = differences(json.loads(BASELINE.read_text()), got)
    print("\n".join(diff) or "identical to the baseline")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main())
