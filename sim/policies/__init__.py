"""Policy instruments, looked up by their ``kind`` name (model brief section 6; 002, section 4.3).

Adding an instrument means one class (with its ``Params`` dataclass), one entry
here, one YAML file under ``configs/policy/`` and one direction-of-effect test.
"""

from __future__ import annotations

from sim.policies.base import Policy
from sim.policies.cluster_programme import ClusterProgramme
from sim.policies.credit import Credit
from sim.policies.formation_grant import FormationGrant
from sim.policies.matchmaking import Matchmaking
from sim.policies.training import Training

REGISTRY: dict[str, type[Policy]] = {cls.kind: cls for cls in
                                     (FormationGrant, Matchmaking, Training, Credit, ClusterProgramme)}


class PolicySet:
    """The run's instruments; calls a named hook on each in config order."""

    def __init__(self, model, policies_cfg: dict):
        self.items: list[Policy] = []
        for name, pcfg in policies_cfg.items():
            cls = REGISTRY[pcfg.kind]
            policy = cls(name, pcfg, cls.parse_params(pcfg.params, f"policies.{name}.params"))
            policy.setup(model)
            self.items.append(policy)

    def run(self, hook: str, *args) -> None:
        """Call ``hook`` on every instrument that implements it."""
        for policy in self.items:
            method = getattr(policy, hook, None)
            if method is not None:
                method(*args)

    def report(self) -> list[dict]:
        """Each instrument's end-of-run record (budget, spent, ...)."""
        return [p.finish() for p in self.items]
