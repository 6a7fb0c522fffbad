"""Policy instruments, looked up by their ``kind`` name (model brief section 6; 002, section 4.3).

``REGISTRY`` is the one list of instruments: every ``Policy`` subclass with a
``kind`` defined in a module of this package, keyed by that kind, in the order
of the module names. The schema names no instrument; ``sim.validation`` checks
``policies.<name>.kind``, ``experiment.instruments`` and ``experiment.instrument``
against this registry. Adding an instrument means one module here (its class
and ``Params`` dataclass), one YAML file ``configs/policy/<kind>.yaml`` and one
direction-of-effect test; no list elsewhere names it.
"""

from __future__ import annotations

import importlib
import pkgutil

from sim.policies.base import Policy


def _instruments() -> dict[str, type[Policy]]:
    """Import every module of this package; its ``Policy`` subclasses that name a kind, by kind."""
    found: dict[str, type[Policy]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for cls in vars(module).values():
            if isinstance(cls, type) and issubclass(cls, Policy) and cls.kind and cls.__module__ == module.__name__:
                if cls.kind in found:
                    raise TypeError(f"instrument kind {cls.kind!r} is defined twice: {found[cls.kind].__name__} "
                                    f"and {cls.__name__}")
                found[cls.kind] = cls
    return found


REGISTRY: dict[str, type[Policy]] = _instruments()


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
