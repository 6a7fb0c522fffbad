"""Config groups that mirror a part of the schema hold exactly its parameters at their defaults.

``configs/alliances/default.yaml`` lists every field of ``AlliancesConfig`` so a reader
sees the alliance lifecycle's parameters in one file; the schema in ``sim/params.py``
stays the one source of the defaults, and these tests keep the two from drifting.
"""

from __future__ import annotations

import dataclasses

import yaml
from omegaconf import OmegaConf

from sim import load_config
from sim.alliance_params import AlliancesConfig
from sim.config import CONFIG_DIR

ALLIANCES_YAML = CONFIG_DIR / "alliances" / "default.yaml"


def differences(given: dict, expected: dict, path: str = "alliances") -> list[str]:
    """Every key missing, extra or with another value in ``given``, as ``path: what`` lines."""
    out = []
    for key in sorted(set(given) | set(expected)):
        where = f"{path}.{key}"
        if key not in given:
            out.append(f"{where}: missing (schema default {expected[key]!r})")
        elif key not in expected:
            out.append(f"{where}: not a parameter of the schema")
        elif isinstance(expected[key], dict) and isinstance(given[key], dict):
            out += differences(given[key], expected[key], where)
        elif given[key] != expected[key] or isinstance(given[key], bool) != isinstance(expected[key], bool):
            out.append(f"{where}: {given[key]!r} in the file, {expected[key]!r} in the schema")
    return out


def test_alliances_default_yaml_holds_every_schema_parameter_at_its_default():
    """The file's keys are AlliancesConfig's fields, nested the same way, and each value is the default."""
    found = differences(yaml.safe_load(ALLIANCES_YAML.read_text()), dataclasses.asdict(AlliancesConfig()))
    assert not found, "configs/alliances/default.yaml and AlliancesConfig disagree:\n" + "\n".join(found)


def test_every_alliance_parameter_line_has_a_comment():
    """Each parameter (and each section) of the file carries a one-line comment saying what it is."""
    bare = [line for line in ALLIANCES_YAML.read_text().splitlines()
            if line.strip() and not line.lstrip().startswith("#") and " # " not in line]
    assert not bare, f"expected a comment on every line of {ALLIANCES_YAML.name}, missing on: {bare}"


def test_the_primary_config_selects_the_alliances_group():
    """config.yaml's defaults choose alliances: default, and the composed node equals the schema defaults."""
    defaults = yaml.safe_load((CONFIG_DIR / "config.yaml").read_text())["defaults"]
    assert {"alliances": "default"} in defaults, f"expected 'alliances: default' in the defaults list: {defaults}"
    composed = load_config()
    found = differences(OmegaConf.to_container(composed.alliances), dataclasses.asdict(AlliancesConfig()))
    assert not found, "the composed alliances node differs from the schema:\n" + "\n".join(found)
