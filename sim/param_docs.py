"""The parameter schema read as rows: config path, default, unit, allowed values, meaning.

``sim.params`` holds every default with its unit, range and one-line meaning in
field metadata. This module walks that schema so three readers see the same
rows without repeating it: ``alianzas params [prefix]`` (the command-line
reference), the keyword parameters of ``AllianceModel`` (a leaf name such as
``n_firms`` resolves to its dotted path ``firms.n_firms``), and
``docs/gen_param_table.py`` (the table in ``docs/ODD.md``).
"""

from __future__ import annotations

from dataclasses import MISSING as NO_DEFAULT
from dataclasses import Field, dataclass, fields, is_dataclass

from sim import params
from sim.schema import ConfigError
from sim.validation import choices_of


@dataclass(frozen=True)
class ParamRow:
    """One parameter as the reference lists it.

    Attributes:
        path: dotted config path (``policies.<name>.`` for per-instrument fields).
        default: the default, as written in the table.
        unit: unit of the value ("-" when it has none).
        allowed: what ``sim.validation.validate`` accepts.
        meaning: the schema's one-line description.
    """

    path: str
    default: str
    unit: str
    allowed: str
    meaning: str


def number(x: float) -> str:
    """A number as the table writes it: 18000, 0.25, 1e5, 4e6, 2^63-1."""
    if x == 2**63 - 1:
        return "2^63-1"
    if float(x).is_integer() and abs(x) >= 1e5:
        digits = str(abs(int(x)))
        mantissa = digits.rstrip("0")
        exponent = len(digits) - 1
        lead = mantissa[0] + ("." + mantissa[1:] if len(mantissa) > 1 else "")
        return ("-" if x < 0 else "") + f"{lead}e{exponent}"
    if float(x).is_integer():
        return str(int(x))
    return f"{x:g}"


def value(v) -> str:
    """A default value as the table writes it."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return f"`{v}`"
    if isinstance(v, list):
        return "[" + ", ".join(str(x) if isinstance(x, str) else number(x) for x in v) + "]" if v else "[] (empty)"
    if isinstance(v, dict):
        return "{} (empty)" if not v else str(v)
    return number(v)


def allowed(meta: dict, default) -> str:
    """What ``sim.validation.validate`` accepts for one field (cross-field rules are in the prose)."""
    choices = choices_of(meta)
    if choices:
        return "one of " + ", ".join(f"`{c}`" for c in choices)
    if isinstance(default, bool):
        return "true/false"
    if isinstance(default, list):
        lo, hi = meta.get("item_lo"), meta.get("item_hi")
        return f"each item in [{number(lo)}, {number(hi)}]" if lo is not None and hi is not None else "any"
    lo, hi = meta.get("lo"), meta.get("hi")
    if lo is not None and hi is not None:
        return f"[{number(lo)}, {number(hi)}]"
    if lo is not None:
        return f">= {number(lo)}"
    if hi is not None:
        return f"<= {number(hi)}"
    return "any"


def default_of(f: Field):
    """The default of a dataclass field (calling its factory when it has one)."""
    return f.default if f.default is not NO_DEFAULT else f.default_factory()


def sub_schema(f: Field):
    """The dataclass a field nests, or None for a leaf."""
    if is_dataclass(f.type):
        return f.type
    if f.default_factory is not NO_DEFAULT:
        d = f.default_factory()
        if is_dataclass(d):
            return type(d)
    return None


def walk(schema=params.Config, prefix: str = "", seen: set | None = None) -> list[tuple[str, Field]]:
    """(config path, field) for every leaf of ``schema``; ``seen`` collects the dataclasses visited."""
    seen = set() if seen is None else seen
    seen.add(schema)
    out = []
    for f in fields(schema):
        nested = sub_schema(f)
        if nested is not None:
            out += walk(nested, f"{prefix}{f.name}.", seen)
            continue
        out.append((f"{prefix}{f.name}", f))
        if schema is params.Config and f.name == "policies":
            out += walk(params.PolicyConfig, "policies.<name>.", seen)
    return out


def rows(prefix: str = "") -> list[ParamRow]:
    """Every parameter whose config path starts with ``prefix``, in schema order."""
    out = []
    for path, f in walk():
        if path.startswith(prefix):
            meta, d = f.metadata, default_of(f)
            out.append(ParamRow(path, value(d), meta.get("unit") or "-", allowed(meta, d), meta.get("doc", "")))
    return out


def resolve_name(name: str) -> str:
    """The dotted config path a keyword parameter stands for: itself, or the one leaf with that name.

    Raises:
        ConfigError: the name is no parameter, or a leaf name shared by several paths.
    """
    paths = [path for path, _ in walk() if "<name>" not in path]
    if name in paths or name == "policies" or name.startswith("policies."):
        return name
    matches = [p for p in paths if p.rsplit(".", 1)[-1] == name]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise ConfigError(f"{name} is ambiguous; use one of {', '.join(matches)}")
    raise ConfigError(f"{name} is not a parameter of this model; see `alianzas params` for the names")


def instrument_rows(prefix: str = "") -> list[ParamRow]:
    """Each instrument's own parameters (``policies.<name>.params.<field>``), its kind first in the meaning."""
    from sim.policies import REGISTRY

    out = []
    for kind, cls in REGISTRY.items():
        for f in fields(cls.Params):
            path = f"policies.<name>.params.{f.name}"
            if path.startswith(prefix):
                meta, d = f.metadata, default_of(f)
                out.append(ParamRow(path, value(d), meta.get("unit") or "-", allowed(meta, d),
                                    f"[kind {kind}] {meta.get('doc', '')}"))
    return out
