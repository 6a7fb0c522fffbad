"""Equal spending: make every instrument spend about the same, by making it less generous.

At an equal cap instruments spend very different sums: a credit line empties its budget
in a few months while a brokerage service limited by the number of seekers spends a
fraction of it. The equal-spend rule:

1. Run every instrument at the equal cap (``experiment.budget``) on the calibration seeds
   (the experiment's first ``CALIBRATION_SEEDS`` seeds); its mean gross outlay there is
   its spending. The target is ``experiment.spend_target`` or, when that is 0, the least
   of these spendings: the instrument limited by its demand sets the level, since no
   instrument can be made to spend more by a cap. An instrument that spends less than a
   configured target stays as it is, and the brief shows its outlay.
2. Every instrument that spends more than the target by more than
   ``experiment.spend_tolerance`` has its generosity (``Policy.generosity``: the grant
   share, the credit line in months, the course places per month, the share of running
   costs co-funded, or for matchmaking the share of eligible seekers served) multiplied
   by a factor in (0, 1], and its cap set to the target. The factor is the smallest at
   which its mean outlay on the calibration seeds still reaches, within the tolerance,
   what it spends at full generosity under that cap (the target, or one in-kind service
   less), found by bisection: the money lasts over the window instead of going to the
   first firms that ask, and no instrument spends above the target.

Packages combine the scaled instruments, so they spend about the sum of their parts.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd

from experiments.replication.compare import run_jobs, with_overrides
from sim.io import ReplicationStore
from sim.policies import REGISTRY

#: Seeds on which spending is calibrated (the experiment's first ones).
CALIBRATION_SEEDS = 4
#: Bisection steps on the generosity factor: it is found to within 1/64.
BISECTION_STEPS = 6


def generosity_value(pol: Any) -> tuple[str, float]:
    """The generosity field of an instrument (``params.grant_share``...) and its value in ``pol``."""
    cls = REGISTRY[pol.kind]
    section, key = cls.generosity.split(".")
    if section == "params":
        return cls.generosity, pol.params.get(key, getattr(cls.Params(), key))
    return cls.generosity, getattr(pol.eligibility, key)


def scaled(pol: Any, factor: float, cap: float | None = None) -> Any:
    """A copy of ``pol`` with its generosity multiplied by ``factor`` (a whole number stays one, at least 1)."""
    new = copy.deepcopy(pol)
    path, value = generosity_value(pol)
    section, key = path.split(".")
    value = max(1, int(round(value * factor))) if isinstance(value, int) else float(value) * factor
    if section == "params":
        new.params[key] = value
    else:
        setattr(new.eligibility, key, value)
    if cap is not None:
        new.budget = float(cap)
    return new


def _outlays(cfg: Any, pols: dict[str, Any], tag: str, store: ReplicationStore | None) -> dict[str, float]:
    """Mean gross outlay of each instrument alone over the calibration seeds."""
    n = min(cfg.experiment.n_seeds, CALIBRATION_SEEDS)
    jobs = [(f"{tag}_{name}", with_overrides(cfg, seed=int(cfg.seed) + k, policies={name: pol}))
            for name, pol in pols.items() for k in range(n)]
    for _, job_cfg in jobs:
        job_cfg.experiment.per_firm = False
    results = run_jobs(jobs, cfg.experiment.workers, cfg.experiment.progress, "spend calibration", store=store)
    failed = [r.error.splitlines()[0] for r in results if r.error]
    if failed:
        raise RuntimeError(f"equal-spend calibration: {len(failed)} runs failed: {failed[0]}")
    spent = {name: [] for name in pols}
    for (arm, _), r in zip(jobs, results):
        name = arm[len(tag) + 1:]
        spent[name].append(sum(p["spent"] for p in r.summary["policies"] if p["instrument"] == name))
    return {name: float(np.mean(v)) for name, v in spent.items()}


def equal_spend(cfg: Any, policies: dict[str, Any], store: ReplicationStore | None = None
                ) -> tuple[dict[str, Any], pd.DataFrame]:
    """The instruments scaled to spend alike (see the module docstring), and how each was scaled."""
    tol = cfg.experiment.spend_tolerance
    at_cap = _outlays(cfg, policies, "cap", store)
    target = cfg.experiment.spend_target or min(at_cap.values())
    lo = {n: 0.0 for n in policies}
    hi = {n: 1.0 for n in policies}
    todo = [n for n in policies if at_cap[n] > target * (1 + tol)]
    # What each can spend under the target as its cap: an in-kind service is delivered whole, so a
    # course or a brokered search may not fit in the last pesos below the target.
    reach = _outlays(cfg, {n: scaled(policies[n], 1.0, target) for n in todo}, "reach", store) if todo else {}
    for step in range(BISECTION_STEPS):
        if not todo:
            break
        mid = {n: (lo[n] + hi[n]) / 2 for n in todo}
        got = _outlays(cfg, {n: scaled(policies[n], mid[n], target) for n in todo}, f"step{step}", store)
        for n in todo:
            if got[n] >= reach[n] * (1 - tol):
                hi[n] = mid[n]
            else:
                lo[n] = mid[n]
    out, rows = {}, []
    for name, pol in policies.items():
        over = at_cap[name] > target * (1 + tol)
        factor = hi[name] if over else 1.0
        out[name] = scaled(pol, factor, target) if over else pol
        path, before = generosity_value(pol)
        rows.append({"instrument": name, "generosity": path, "value_at_cap": before,
                     "value": generosity_value(out[name])[1], "factor": factor, "cap": out[name].budget,
                     "spent_at_equal_cap": at_cap[name], "target": target})
    return out, pd.DataFrame(rows)
