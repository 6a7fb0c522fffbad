"""A sweep's run folders as one tidy table: one row per job of a Hydra multirun.

``python -m experiments.collect <sweep_dir> [--out table.parquet] [--heatmap X Y VALUE]``

Every job of ``python -m experiments.run -m ...`` writes its own run folder,
``<sweep_dir>/<job>/``, named after its overrides (see ``results/README.md``).
Jobs are keyed by their override set (Hydra's ``.hydra/overrides.yaml``), not by
Hydra's job number, which a resumed sweep starts from 0 again. The table has one
row per job the sweep planned:

- ``run_folder``, ``job`` (its place in the plan), ``status`` and ``error``. The
  status is the one in ``manifest.json`` (``completed``,
  ``completed_with_failures``, ``failed``, ``interrupted``, ``running``), read
  as ``interrupted`` when the job's process is gone (``sim.supervision.effective_status``);
  ``unreadable`` when a file of the job is corrupt (the other jobs are still
  tabled); ``not_started`` when the job's configuration was rejected before
  its run folder was written (the error is then read from Hydra's ``run.log``);
  ``missing`` when the sweep planned the job but left no folder for it.
- The configuration values that vary across jobs, under dotted keys
  (``alliances.search.weight_compatibility``), read from the run's ``config.yaml``,
  or from Hydra's ``.hydra/config.yaml`` when the run never started.
- The outcomes in ``summary.json``: scalars as they are; ``<name>_ci`` pairs as
  ``<name>_lo`` and ``<name>_hi``; nested dicts under dotted keys; other lists
  (``failed_runs``) as their length, ``n_<name>``.

A sweep that lost some jobs still gives a table of the others; the lost ones are
listed on the terminal. ``--heatmap`` draws ``experiments.analysis.plots.heatmap`` from
the table (never from a live model), next to the table.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

# The basic sweeper's own expansion, so planned job numbers match Hydra's exactly (no public API for it).
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf import OmegaConf

from experiments.analysis import plots
from sim.files import read_record, write_table
from sim.supervision import effective_status

#: Statuses of a job whose outcomes can be used.
USABLE = ("completed", "completed_with_failures")


@dataclass
class JobRecord:
    """What one job of a sweep left behind.

    Attributes:
        job: the job's place in the sweep's plan (Hydra's job number if the plan is unknown).
        run_folder: the job's folder (it may not exist for a missing job).
        status: manifest status, ``not_started`` or ``missing``.
        error: the first line of the job's error, if any.
        config: the job's configuration under dotted keys.
        outcomes: the job's summary as flat columns (empty without ``summary.json``).
    """

    job: int
    run_folder: Path
    status: str
    error: str | None = None
    config: dict = field(default_factory=dict)
    outcomes: dict = field(default_factory=dict)


def flatten(tree: dict, prefix: str = "") -> dict:
    """Nested dicts as one dict with dotted keys; leaves (lists included) kept as they are."""
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def outcome_columns(summary: dict) -> dict:
    """A ``summary.json`` as flat scalar columns: CIs split into _lo/_hi, other lists counted."""
    flat = flatten(summary)
    out = {}
    for key, value in flat.items():
        if key.endswith("_ci") and isinstance(value, list) and len(value) == 2:
            if key[:-3] not in flat:  # an interval without its estimate keeps its own place
                out[f"{key[:-3]}_lo"], out[f"{key[:-3]}_hi"] = value
        elif isinstance(value, list):
            leaf = key.rsplit(".", 1)
            out[".".join([*leaf[:-1], f"n_{leaf[-1]}"])] = len(value)
        else:
            out[key] = value
            ci = flat.get(f"{key}_ci")
            if isinstance(ci, list) and len(ci) == 2:  # each interval right after its estimate
                out[f"{key}_lo"], out[f"{key}_hi"] = ci
    return out


def planned_jobs(sweep_dir: Path) -> list[list[str]] | None:
    """Every job's overrides in job order, as Hydra's basic sweeper planned them (None if unknown)."""
    path = sweep_dir / "multirun.yaml"
    if not path.is_file():
        return None
    hydra = OmegaConf.load(path).hydra
    if not str(hydra.sweeper.get("_target_", "")).endswith("BasicSweeper"):
        return None
    grid = hydra.sweeper.get("params")  # None when the sweep is given on the command line only
    params = OmegaConf.to_container(grid, resolve=False) if grid is not None else {}
    # The sweeper puts the file's sweep first and the command line after it (which wins).
    lines = [f"{k}={v}" for k, v in params.items()] + list(hydra.overrides.task)
    try:
        overrides = OverridesParser.create().parse_overrides(lines)
        return BasicSweeper.split_arguments(overrides, None)[0]
    except HydraException:  # e.g. a glob() sweep, which needs the config repository to expand
        return None


def job_overrides(folder: Path) -> list[str]:
    """The overrides a job folder ran with (Hydra's ``.hydra/overrides.yaml``; ValueError if unreadable)."""
    return [str(o) for o in read_record(folder / ".hydra" / "overrides.yaml", yaml.safe_load, list)]


def override_key(overrides: list[str]) -> frozenset:
    """A job's identity: its set of overrides, normalised (``+``/``~`` prefixes and spacing dropped)."""
    return frozenset(o.strip().lstrip("+~").replace(" ", "") for o in overrides)


def job_folders(sweep_dir: Path) -> list[tuple[frozenset | None, int | None, Path]]:
    """(override set, Hydra job number, folder) of every job folder under ``sweep_dir`` (None where unreadable)."""
    out = []
    for folder in sorted(p for p in sweep_dir.iterdir() if p.is_dir()):
        if not (folder / ".hydra").is_dir() and not (folder / "manifest.json").is_file():
            continue
        try:
            key = override_key(job_overrides(folder))
        except ValueError:
            key = None
        try:
            num = int(OmegaConf.load(folder / ".hydra" / "hydra.yaml").hydra.job.num)
        except Exception:  # absent or corrupt: the job is still listed, by its folder
            num = int(folder.name) if folder.name.isdigit() else None
        out.append((key, num, folder))
    return out


def logged_error(folder: Path) -> str | None:
    """The last ERROR line of the job's Hydra log, if it has one, without the log prefix."""
    lines = [ln for log in sorted(folder.glob("*.log")) for ln in log.read_text(errors="replace").splitlines()
             if "[ERROR]" in ln]
    if not lines:
        return None
    # experiments.run logs "job <n> failed (<folder>): <error>"; the row already says job and folder.
    return re.sub(r"^job \S+ failed \([^)]*\): ", "", lines[-1].split("[ERROR] - ", 1)[-1])


def read_job(job: int, folder: Path) -> JobRecord:
    """The status, configuration and outcomes a job folder holds (``unreadable`` if a file is corrupt)."""
    try:
        return _read_job(job, folder)
    except ValueError as err:
        return JobRecord(job, folder, "unreadable", str(err).splitlines()[0])


def _read_job(job: int, folder: Path) -> JobRecord:
    manifest_path, summary_path = folder / "manifest.json", folder / "summary.json"
    config_path = folder / "config.yaml" if (folder / "config.yaml").is_file() else folder / ".hydra" / "config.yaml"
    try:
        config = flatten(OmegaConf.to_container(OmegaConf.load(config_path), resolve=True)) \
            if config_path.is_file() else {}
    except Exception as err:  # OmegaConf and yaml raise several kinds for a corrupt file
        raise ValueError(f"{config_path.name}: unreadable ({type(err).__name__})") from None
    if manifest_path.is_file():
        manifest = read_record(manifest_path)
        status, error = effective_status(manifest), manifest.get("error")
    else:
        status, error = "not_started", logged_error(folder)
    outcomes = outcome_columns(read_record(summary_path)) if summary_path.is_file() else {}
    return JobRecord(job, folder, status, error.splitlines()[0] if error else None, config, outcomes)


def cell_value(value):
    """A config value as a comparable table cell: lists and dicts as JSON text."""
    return json.dumps(value) if isinstance(value, (list, dict)) else value


def missing_job(job: int, folder: Path, overrides: list[str]) -> JobRecord:
    """A planned job that left no folder; its swept values come from its overrides."""
    config = {}
    for line in overrides:
        key, _, value = line.partition("=")
        try:
            config[key.lstrip("+~")] = yaml.safe_load(value)
        except yaml.YAMLError:
            config[key.lstrip("+~")] = value
    return JobRecord(job, folder, "missing", "no run folder", config)


def read_sweep(sweep_dir: Path) -> list[JobRecord]:
    """Every job the sweep planned or left a folder for, keyed by override set, in planned order.

    A job's number is its place in the sweep's plan (``multirun.yaml``), found
    by its overrides, not by Hydra's job number, which a resumed sweep restarts
    from 0. Folders the plan does not know follow, by Hydra's number.
    """
    found = job_folders(sweep_dir)
    try:
        plan = planned_jobs(sweep_dir) or []
    except Exception:  # a corrupt multirun.yaml: table the folders that exist
        plan = []
    by_key = {key: (num, folder) for key, num, folder in found if key is not None}
    records, used = [], set()
    for job, overrides in enumerate(plan):
        key = override_key(overrides)
        if key in by_key:
            records.append(read_job(job, by_key[key][1]))
            used.add(by_key[key][1])
        else:
            records.append(missing_job(job, sweep_dir / f"job{job}", overrides))
    extra = sorted((f for f in found if f[2] not in used), key=lambda f: (f[1] is None, f[1] or 0, f[2].name))
    for k, (_, num, folder) in enumerate(extra):
        job = num if num is not None and not plan else len(plan) + k
        records.append(read_job(job, folder))
    return records


def varying_keys(records: list[JobRecord]) -> list[str]:
    """Config keys with more than one distinct value across the jobs (missing values ignored)."""
    present = [r for r in records if r.status != "missing"]
    keys = {k for r in present for k in r.config} if present else {k for r in records for k in r.config}
    distinct: dict[str, set] = {k: set() for k in keys}
    for r in records:
        for key in keys & r.config.keys():
            if r.config[key] is not None:
                distinct[key].add(cell_value(r.config[key]))
    return sorted(k for k, values in distinct.items() if len(values) > 1)


def tidy_table(records: list[JobRecord], varying: list[str]) -> pd.DataFrame:
    """One row per job: run folder, job, status, error, the ``varying`` config keys, the outcomes."""
    rows = []
    for r in records:
        row = {"run_folder": str(r.run_folder), "job": r.job, "status": r.status, "error": r.error}
        row.update({k: cell_value(r.config.get(k)) for k in varying})
        row.update(r.outcomes)
        rows.append(row)
    return pd.DataFrame(rows)


def problems(records: list[JobRecord]) -> list[str]:
    """One line per job that failed, never ran, left no summary or lost replications."""
    lines = []
    for r in records:
        where = f"job {r.job} ({r.run_folder})"
        if r.status not in USABLE:
            lines.append(f"{where}: {r.status}" + (f": {r.error}" if r.error else ""))
        elif not r.outcomes:
            lines.append(f"{where}: {r.status} but no summary.json")
        elif r.status == "completed_with_failures":
            lines.append(f"{where}: completed, but {r.outcomes.get('n_failed_runs', 'some')} replications failed")
    return lines


def find_column(table: pd.DataFrame, name: str) -> str:
    """A column by its full name or by a unique dotted suffix (``weight_compatibility``)."""
    if name in table.columns:
        return name
    matches = [c for c in table.columns if c.endswith("." + name)]
    if len(matches) != 1:
        raise KeyError(f"{name!r} names {'no' if not matches else 'several'} columns of the table "
                       f"({', '.join(matches) or ', '.join(map(str, table.columns))})")
    return matches[0]


def draw_heatmap(table: pd.DataFrame, x: str, y: str, value: str, path: Path, varying: list[str]) -> Path:
    """``value`` over the swept ``x`` and ``y``; cells whose 95% CI excludes 0 are outlined."""
    x, y, value = find_column(table, x), find_column(table, y), find_column(table, value)
    data = table[np.isfinite(pd.to_numeric(table[value], errors="coerce"))]
    if data.empty:
        raise ValueError(f"no run has a finite {value}; nothing to draw")
    lo, hi = f"{value}_lo", f"{value}_hi"
    mark, note = None, ""
    if lo in data and hi in data:
        mark = (data[lo] > 0) | (data[hi] < 0)
        note = "; outlined: 95% CI excludes 0"
    others = [c for c in varying if c not in (x, y)]
    if others:
        note += f"; mean over {', '.join(others)}"
    title = f"{value} ({len(data)} of {len(table)} runs{note})"
    return plots.heatmap(data, x, y, value, path, title, mark=mark)


def main(argv: list[str] | None = None) -> int:
    """Collect a sweep folder into a parquet or CSV table (and a heatmap); return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m experiments.collect", description=__doc__.splitlines()[0])
    parser.add_argument("sweep_dir", type=Path, help="folder of a multirun (holds one folder per job)")
    parser.add_argument("--out", type=Path, help="table to write, parquet or .csv (default: <sweep_dir>/table.parquet)")
    parser.add_argument("--heatmap", nargs=3, metavar=("X", "Y", "VALUE"),
                        help="draw VALUE over X and Y (full column names or unique suffixes)")
    parser.add_argument("--curve", nargs=2, metavar=("X", "VALUE"),
                        help="draw every column ending in VALUE over X (e.g. a budget-response curve)")
    args = parser.parse_args(argv)
    if not args.sweep_dir.is_dir():
        print(f"alianzas: collect: {args.sweep_dir} is not a folder", file=sys.stderr)
        return 2
    records = read_sweep(args.sweep_dir)
    if not records:
        print(f"alianzas: collect: no job folders in {args.sweep_dir}", file=sys.stderr)
        return 2
    varying = varying_keys(records)
    table = tidy_table(records, varying)
    out = args.out or args.sweep_dir / "table.parquet"
    write_table(out, table)
    counts = table["status"].value_counts()
    print(f"collected {len(table)} jobs from {args.sweep_dir}: "
          + ", ".join(f"{n} {s}" for s, n in counts.items()))
    print(f"varying: {', '.join(varying) or 'nothing (one configuration)'}")
    print(f"table: {out}")
    for line in problems(records):
        print(line)
    if args.heatmap:
        x, y, value = args.heatmap
        try:
            path = draw_heatmap(table, x, y, value, out.parent / f"{out.stem}_{value}.png",
                                varying)
        except (KeyError, ValueError) as err:
            print(f"alianzas: collect: {err.args[0]}", file=sys.stderr)
            return 2
        print(f"heatmap: {path}")
    if args.curve:
        x, value = args.curve
        try:
            path = draw_curves(table, x, value, out.parent / f"{out.stem}_{value}_curve.png")
        except (KeyError, ValueError) as err:
            print(f"alianzas: collect: {err.args[0]}", file=sys.stderr)
            return 2
        print(f"curve: {path}")
    return 0


def draw_curves(table: pd.DataFrame, x: str, value: str, path: Path) -> Path:
    """Every outcome column ending in ``value`` (one per instrument, say) over the swept ``x``."""
    x = find_column(table, x)
    columns = [c for c in table.columns if c.endswith(value) and not c.endswith(("_lo", "_hi")) and c != x]
    columns = [c for c in columns if np.isfinite(pd.to_numeric(table[c], errors="coerce")).any()]
    if not columns:
        raise ValueError(f"no column ends in {value!r}")
    return plots.response_curves(table, x, columns, path, value, f"{value} over {x} (95% bands)")


if __name__ == "__main__":
    raise SystemExit(main())
