"""One run of the model, written as a run folder (series, firm panel, firms, summary)."""

from __future__ import annotations

import time
from pathlib import Path

from experiments.kinds import Outputs
from sim.io import RunFolder
from sim.model import AllianceModel

#: What a single run writes: no report; its monthly series and headline outcomes.
OUTPUTS = Outputs(None, "series", ("mean_monthly_revenue", "revenue_per_initial_firm", "survival_12m", "survival_60m",
                                   "firm_years"))

#: One model run in this process: no seeds, no workers.
REPLICATED = False


def model_runs(cfg) -> int:
    """One model run."""
    return 1


def run(cfg, out_dir: Path) -> dict:
    """Simulate ``cfg.months`` months and write the run folder; return the summary."""
    folder = RunFolder(out_dir, cfg, seed=cfg.seed, kind="single")
    try:
        t0 = time.perf_counter()
        model = AllianceModel.from_config(cfg)
        model.run_for(cfg.months)
        summary = model.summary()
        summary["wall_seconds"] = round(time.perf_counter() - t0, 3)
        if cfg.output.write_files:
            folder.table("series", model.series())
            folder.table("panel", model.panel())
            folder.table("firms", model.firm_table())
            folder.table("ledger", model.ledger.table())
            if model.alliances is not None:
                folder.table("alliances", model.alliance_table())
                folder.table("alliance_ledger", model.alliances.ledger_table())
        folder.json("summary", summary)
    except Exception as err:
        folder.finish("failed", error=f"{type(err).__name__}: {err}")
        raise
    folder.finish("completed")
    return summary
