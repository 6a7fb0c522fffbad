"""Checks of single values against their schema fields: type, range, choices and list items.

Each field of the dataclasses in ``sim/params.py`` carries its allowed range or
choices in its metadata (``param``); :func:`check_fields` walks a config object
or an instrument's ``Params`` and reports the first value outside them in one
line. It imports nothing but the schema, so the policy instruments can check
their parameters with it while ``sim.validation``, which adds the rules that
tie several parameters together and the registries of kinds, imports them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import MISSING, fields, is_dataclass
from typing import Any

from sim.params import Config, PolicyConfig
from sim.schema import ConfigError

#: Kind of registry -> the names it holds (``param(kinds=...)``); sim.validation passes the real ones.
Registries = Mapping[str, Iterable[str]]


def allowed_choices(meta: dict, registries: Registries | None) -> tuple | None:
    """The values a field (or each item of a list field) may take: its ``choices``, plus the names of the
    registry its ``kinds`` names; None when no choice applies, or when the registry is not given here."""
    kinds = meta.get("kinds")
    if kinds is None:
        return meta.get("choices")
    if registries is None or kinds not in registries:
        return None
    return tuple(meta.get("choices") or ()) + tuple(registries[kinds])


def _describe(meta: dict, choices: tuple | None = None) -> str:
    if choices:
        return "one of " + ", ".join(map(str, choices))
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and hi is not None:
        return f"a value in [{lo}, {hi}]"
    if lo is not None:
        return f"a value >= {lo}"
    if hi is not None:
        return f"a value <= {hi}"
    return "any value"


def _check_field(path: str, value: Any, meta: dict, registries: Registries | None = None) -> None:
    unit = f" ({meta['unit']})" if meta.get("unit") else ""
    choices = allowed_choices(meta, registries)
    if choices is not None and isinstance(value, (list, tuple)):
        for item in value:
            if item not in choices:
                raise ConfigError(f"{path} contains {item!r}; allowed: {', '.join(map(str, choices))}")
    elif choices is not None and value not in choices:
        raise ConfigError(f"{path}={value!r} is not allowed; expected {_describe(meta, choices)}")
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, (int, float)):
        lo, hi = meta.get("lo"), meta.get("hi")
        if (isinstance(value, float) and not math.isfinite(value)) or \
                (lo is not None and value < lo) or (hi is not None and value > hi):
            raise ConfigError(f"{path}={value!r} is out of range; allowed: {_describe(meta)}{unit}")
    if isinstance(value, (list, tuple)):
        ilo, ihi, itype = meta.get("item_lo"), meta.get("item_hi"), meta.get("item_type")
        for k, item in enumerate(value):
            if itype is not None and not _is_item(item, itype):
                raise ConfigError(f"{path}[{k}]={item!r} is not allowed; expected each item "
                                  f"{_ITEM_WORDS[itype]}{unit}")
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                if not math.isfinite(item) or (ilo is not None and item < ilo) or (ihi is not None and item > ihi):
                    raise ConfigError(f"{path}[{k}]={item!r} is out of range; allowed: "
                                      f"each item in [{ilo}, {ihi}]{unit}")


_ITEM_WORDS = {str: "a text", int: "a whole number", float: "a number"}


def _is_item(item: Any, itype: type) -> bool:
    """Whether a list item has the schema's item type (a bool is not a number; an int is a float)."""
    if isinstance(item, bool):
        return False
    if itype is float:
        return isinstance(item, (int, float))
    return isinstance(item, itype)


def schema_field(path: str):
    """The schema field at a dotted path (``policies.<name>.`` paths use PolicyConfig), or None."""
    parts = path.lstrip("+~").split(".")
    if parts[0] == "policies" and len(parts) > 2:
        schema, parts = PolicyConfig, parts[2:]
    else:
        schema = Config
    found = None
    for k, part in enumerate(parts):
        if schema is None or not is_dataclass(schema):
            return None
        match = next((f for f in fields(schema) if f.name == part), None)
        if match is None:
            return None
        found = match
        default = match.default_factory() if match.default_factory is not MISSING else None
        schema = type(default) if is_dataclass(default) else None
        if k < len(parts) - 1 and schema is None:
            return None
    return found


def check_raw_value(path: str, value: Any) -> None:
    """Reject a command-line value that the config library would silently coerce (``2`` for a switch)."""
    f = schema_field(path)
    if f is None or value is None:
        return
    if f.type in (bool, "bool") and not isinstance(value, bool):
        raise ConfigError(f"{path.lstrip('+~')}={value!r} is not allowed; expected true or false")


def check_fields(cfg: Any, schema: type = Config, path: str = "", registries: Registries | None = None) -> None:
    """Check every value of ``cfg`` against the ranges and choices of ``schema``, field by field.

    A field that names a registry (``param(kinds=...)``) is checked against ``registries``
    when given (``sim.validation`` gives them), else only against its own choices.

    Raises:
        ConfigError: one line naming the parameter, the value given and what is allowed.
    """
    known = {f.name for f in fields(schema)}
    extra = sorted(set(vars(cfg)) - known) if is_dataclass(cfg) else []
    if extra:
        raise ConfigError(f"{path}{extra[0]} is not a parameter of this model; allowed names under "
                          f"{path.rstrip('.') or 'the top level'}: {', '.join(sorted(known))}")
    for f in fields(schema):
        key = f"{path}{f.name}"
        value = getattr(cfg, f.name) if not isinstance(cfg, dict) else cfg[f.name]
        if f.name == "policies" and schema is Config:
            for name, pol in value.items():
                check_fields(pol, PolicyConfig, f"policies.{name}.", registries)
            continue
        if is_dataclass(f.type) or (f.default_factory is not MISSING and is_dataclass(f.default_factory())):
            sub_schema = f.type if is_dataclass(f.type) else type(f.default_factory())
            check_fields(value, sub_schema, key + ".", registries)
        else:
            _check_field(key, value, f.metadata, registries)
