"""The building blocks of the parameter schema: a field with its unit, range and meaning, and the error a
mistake in the configuration raises.

``sim.params`` and ``sim.alliance_params`` declare every parameter with :func:`param`;
``sim.field_checks`` and ``sim.validation`` check values against the metadata it
records, and ``sim.param_docs`` lists it. This module imports nothing of the project.
"""

from __future__ import annotations

import re
from dataclasses import field
from typing import Any

#: A name that is one path component (a run folder label): no '/', no leading dot.
SAFE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$")


class ConfigError(ValueError):
    """A user mistake in the configuration, reported as one line before the run."""


def param(default: Any, lo: float | None = None, hi: float | None = None, unit: str = "",
          doc: str = "", choices: tuple | None = None, item_lo: float | None = None,
          item_hi: float | None = None, item_type: type | None = None, kinds: str | None = None):
    """A schema field with its default, unit and allowed range (``lo <= value <= hi``).

    A list field names the type of its items (``item_type``: str, int or float) and may bound them.
    ``kinds`` names the registry whose kind names the field (or each item of a list) must be,
    besides any ``choices``: ``"instrument"`` (``sim.policies.REGISTRY``) or ``"experiment"``
    (``experiments.kinds.EXPERIMENTS``, added to ``sim.validation.KINDS`` when that package is imported).
    """
    meta = {"lo": lo, "hi": hi, "unit": unit, "doc": doc, "choices": choices,
            "item_lo": item_lo, "item_hi": item_hi, "item_type": item_type, "kinds": kinds}
    if isinstance(default, list):
        return field(default_factory=lambda d=default: list(d), metadata=meta)
    return field(default=default, metadata=meta)

