"""The state of a run or sweep folder, read honestly: ``python -m experiments.status <folder>``.

A manifest says ``running`` from the moment a run starts; if its process is
killed it cannot say anything else. This view reads such a run as
``interrupted`` (its pid is gone on this machine, or its heartbeat stopped; see
``sim.supervision.effective_status``), and counts the replications a run has saved, so
one can see what a ``resume=<folder>`` would still have to do.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from experiments.collect import read_sweep
from sim.io import ReplicationStore, read_manifest
from sim.supervision import effective_status


def run_line(folder: Path, manifest: dict) -> str:
    """One line for a run folder: status, experiment, seed, times, saved replications, error."""
    status = effective_status(manifest)
    counts = {}
    for saved in ReplicationStore(folder / "replications").statuses().values():
        counts[saved] = counts.get(saved, 0) + 1
    parts = [f"{folder}: {status}", f"{manifest.get('kind')} seed {manifest.get('seed')}",
             f"started {manifest.get('started')}"]
    if manifest.get("ended"):
        parts.append(f"ended {manifest['ended']}")
    elif manifest.get("heartbeat"):
        parts.append(f"last heartbeat {manifest['heartbeat']} (pid {manifest.get('pid')} on {manifest.get('host')})")
    if counts:
        parts.append("replications saved: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    if manifest.get("error"):
        parts.append(f"error: {manifest['error']}")
    return "; ".join(parts)


def status_lines(folder: Path) -> list[str]:
    """Lines describing a run folder, or a sweep folder and each of its jobs."""
    try:
        manifest = read_manifest(folder)
    except ValueError as err:
        manifest = {"kind": "sweep"} if (folder / "multirun.yaml").is_file() else None
        if manifest is None:
            return [f"{folder}: unreadable ({err})"]
    if manifest.get("kind") != "sweep":
        return [run_line(folder, manifest)]
    records = read_sweep(folder)
    done = sum(r.status in ("completed", "completed_with_failures") for r in records)
    lines = [f"{folder}: sweep {effective_status(manifest) if 'status' in manifest else 'unknown'}; "
             f"{done} of {len(records)} jobs completed"]
    for r in records:
        lines.append(f"  job {r.job} {r.run_folder.name}: {r.status}" + (f": {r.error}" if r.error else ""))
    return lines


def main(argv: list[str] | None = None) -> int:
    """Print the status of each folder given; 2 if one is not a folder."""
    parser = argparse.ArgumentParser(prog="python -m experiments.status", description=__doc__.splitlines()[0])
    parser.add_argument("folders", type=Path, nargs="+", help="run or sweep folders")
    args = parser.parse_args(argv)
    code = 0
    for folder in args.folders:
        if not folder.is_dir():
            print(f"alianzas: status: {folder} is not a folder", file=sys.stderr)
            code = 2
            continue
        print("\n".join(status_lines(folder)))
    return code


if __name__ == "__main__":
    raise SystemExit(main())
