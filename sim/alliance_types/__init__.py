"""The alliance types, one class each, behind one registry (model brief section 4; 001).

``REGISTRY`` maps a type's name to its ``AllianceType``: every subclass defined in a module of
this package, in the order of their ``order`` attribute, which gives each type its code
(``AllianceTable.kind``). Adding a type means one module here (its class), its parameters in
``alliances.types`` (``configs/alliances/``) and one direction-of-effect test; the functions
below run every type's rules on whole arrays, so the lifecycle and the partner search never
name a type. Every type also carries monthly performance risk (lognormal noise shared by the
members) and loses ``harm`` of a member's benefit per opportunistic partner; benefits are
measured as contribution to profit so they compare with costs.
"""

from __future__ import annotations

import importlib
import pkgutil

import numpy as np

from sim.alliance_types.base import AllianceType
from sim.alliance_types.cluster import cluster_saving


def _types() -> dict[str, AllianceType]:
    """One instance of every ``AllianceType`` subclass defined in a module of this package, by name,
    in ``order``; each gets its code (its position)."""
    found: list[type[AllianceType]] = []
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        found += [cls for cls in vars(module).values() if isinstance(cls, type) and issubclass(cls, AllianceType)
                  and cls is not AllianceType and cls.__module__ == module.__name__]
    found.sort(key=lambda cls: cls.order)
    for attr in ("name", "order"):
        values = [getattr(cls, attr) for cls in found]
        if len(set(values)) < len(values):
            raise TypeError(f"two alliance types share a {attr}: {values}")
    out = {}
    for code, cls in enumerate(found):
        kind = cls()
        kind.code = code
        out[kind.name] = kind
    return out


REGISTRY: dict[str, AllianceType] = _types()
ALLIANCE_TYPES: tuple[str, ...] = tuple(REGISTRY)
TYPE: dict[str, int] = {name: kind.code for name, kind in REGISTRY.items()}

__all__ = ["ALLIANCE_TYPES", "REGISTRY", "TYPE", "AllianceType", "cluster_saving", "need", "partner_strength",
           "expected_benefit", "at_agreement", "apply_benefits", "realized_benefit", "payoff_delay", "local",
           "joinable"]


def _by_kind(kind: np.ndarray):
    """(type, positions) for each type present in ``kind``."""
    for t in REGISTRY.values():
        pos = np.flatnonzero(kind == t.code)
        if len(pos):
            yield t, pos


def need(gaps: np.ndarray, enabled: list) -> np.ndarray:
    """Need for each type (columns in registry order) from resource gaps; -inf for types not enabled."""
    return np.stack([t.need(gaps) if t.name in enabled else np.full(len(gaps), -np.inf)
                     for t in REGISTRY.values()], axis=1)


def partner_strength(firms, other: np.ndarray, kind: np.ndarray, tc) -> np.ndarray:
    """What each candidate brings to the alliance type its judge seeks (shapes broadcast)."""
    kind = np.broadcast_to(kind, other.shape)
    return np.select([kind == t.code for t in REGISTRY.values()],
                     [t.partner_strength(firms, other, tc) for t in REGISTRY.values()], 0.0)


def local(kind: np.ndarray) -> np.ndarray:
    """Whether partners for each wanted type come from the seeker's own local market."""
    return np.isin(kind, [t.code for t in REGISTRY.values() if t.local])


def joinable(kind: np.ndarray) -> np.ndarray:
    """Whether a running alliance of each type with a free seat takes new members."""
    return np.isin(kind, [t.code for t in REGISTRY.values() if t.joinable])


def payoff_delay(kind: np.ndarray, tc) -> np.ndarray:
    """Months after implementation before each alliance's benefits are due."""
    return np.select([kind == t.code for t in REGISTRY.values()], [t.payoff_delay(tc) for t in REGISTRY.values()],
                     0)


def expected_benefit(firms, t, rows: np.ndarray, tc) -> np.ndarray:
    """Each member's expected monthly profit contribution at formation (rows x seats; 0 on empty seats)."""
    members = t.members[rows]
    valid = members >= 0
    out = np.zeros(members.shape)
    for kind, pos in _by_kind(t.kind[rows]):
        out[pos] = kind.expected_benefit(firms, members[pos], valid[pos], tc)
    return np.where(valid, out, 0.0)


def at_agreement(t, rows: np.ndarray, month: int, draws, tc) -> None:
    """Type-specific state of alliances agreed this month."""
    for kind, pos in _by_kind(t.kind[rows]):
        kind.at_agreement(t, rows[pos], month, draws, tc)


def apply_benefits(model, t, act: np.ndarray, harm: np.ndarray, draws) -> np.ndarray:
    """Set this month's input-cost factors, demand boosts and productivity gains of members of the
    running alliances ``act``; return, per seat, what was delivered relative to expectation."""
    noise = model.cfg.alliances.types.performance_noise
    # Performance risk keyed by the alliance's initiating firm and the month (stream alliance_outcomes).
    perf = np.exp(noise * draws.normal(model.month, t.initiator_id[act], "performance") - 0.5 * noise * noise)
    members = t.members[act]
    valid = members >= 0
    delivered = np.ones(members.shape)
    for kind, pos in _by_kind(t.kind[act]):
        delivered[pos] = kind.apply(model, t, act[pos], members[pos], valid[pos], perf[pos, None], harm[pos],
                                    draws)
    return delivered


def realized_benefit(firms, t, act: np.ndarray) -> np.ndarray:
    """Each member's profit contribution from its alliance this month, after trading (rows x seats)."""
    members = t.members[act]
    out = np.zeros(members.shape)
    for kind, pos in _by_kind(t.kind[act]):
        out[pos] = kind.realized_benefit(firms, t, act[pos], members[pos])
    return out
