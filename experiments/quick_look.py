"""Quick looks said out loud: a run with fewer seeds or firms than its experiment's defaults says so.

Shrinking an experiment (``experiment.n_seeds=2 firms.n_firms=300``) is the right way to
try a command, but its intervals are wide and its verdicts often ``inconclusive``;
nothing in the numbers themselves says that the run was small. Every experiment kind
runs through one wrapper of ``experiments.registry``, which calls :func:`announce`
before the run (one line on stderr) and :func:`stamp` after it (a line at the top of
the run's report and a ``quick_look`` entry in ``summary.json``).

The reference is the experiment file the run came from: ``configs/experiment/<name>.yaml``
when ``experiment.name`` names one (``policy_targeting``, ``sensitivity_sobol``), else the
file of its kind (a sweep job of ``sweep=trust_rates`` is an ``uplift`` with 8 seeds, a
quick look next to the uplift's 30).
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

#: The markdown report each experiment kind writes at the top of its run folder (single writes none).
REPORTS = {"uplift": "report.md", "uplift_frontier": "report.md", "compatibility_vs_contracts": "report.md",
           "policy_compare": "policy_brief.md", "validate": "validation.md", "calibrate": "calibration.md",
           "sensitivity": "sensitivity.md"}
MARK = "> **Quick look.**"


@functools.lru_cache(maxsize=32)
def defaults_of(name: str) -> tuple[int | None, int]:
    """(seeds, initial firms) of ``configs/experiment/<name>.yaml`` as composed; seeds None for ``single``."""
    from sim.config import load_config

    cfg = load_config(f"experiment={name}")
    seeds = None if cfg.experiment.kind == "single" else int(cfg.experiment.n_seeds)
    return seeds, int(cfg.firms.n_firms)


def reference_name(cfg: Any) -> str:
    """The experiment file whose defaults ``cfg`` is compared with."""
    from sim.config import CONFIG_DIR

    name = str(cfg.experiment.name)
    return name if (CONFIG_DIR / "experiment" / f"{name}.yaml").is_file() else str(cfg.experiment.kind)


def message(cfg: Any) -> str | None:
    """One sentence when ``cfg`` runs fewer seeds or firms than its experiment's defaults, else None."""
    name = reference_name(cfg)
    seeds, firms = defaults_of(name)
    short = []
    if seeds is not None and int(cfg.experiment.n_seeds) < seeds:
        short.append(f"{cfg.experiment.n_seeds} seeds (default {seeds})")
    if int(cfg.firms.n_firms) < firms:
        short.append(f"{int(cfg.firms.n_firms):,} firms (default {firms:,})")
    if not short:
        return None
    return (f"quick look: {' and '.join(short)} for experiment={name}; intervals are wide and verdicts may be "
            "inconclusive; run with the defaults before quoting a number.")


def announce(cfg: Any) -> str | None:
    """Print the quick-look line on stderr (where a sweep job's screen is its log); return it."""
    text = message(cfg)
    if text:
        print(f"alianzas: {text}", file=sys.stderr, flush=True)
    return text


def stamp(cfg: Any, folder: Path, summary: dict) -> dict:
    """Put the quick-look line at the top of the run's report and into its summary (and ``summary.json``)."""
    text = message(cfg)
    if not text:
        return summary
    folder = Path(folder)
    report = folder / REPORTS.get(str(cfg.experiment.kind), "")
    if report.is_file():
        from sim.io import atomic_write

        lines = report.read_text().splitlines()
        if not any(line.startswith(MARK) for line in lines[:4]):
            head = 1 if lines and lines[0].startswith("# ") else 0
            banner = f"{MARK} {text[len('quick look: '):][:1].upper()}{text[len('quick look: ') + 1:]}"
            lines = [*lines[:head], "", banner, *lines[head:]]
            atomic_write(report, lambda p: p.write_text("\n".join(lines) + "\n"))
    if isinstance(summary, dict):
        summary = {"quick_look": text, **summary}
        if (folder / "summary.json").is_file():
            from sim.io import finite, write_json

            saved = json.loads((folder / "summary.json").read_text())
            write_json(folder / "summary.json", finite({"quick_look": text, **saved}))
    return summary
