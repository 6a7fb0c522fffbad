"""Fuzz every schema leaf with bad values: each is accepted or refused in one line naming it, never a traceback.

Two drivers. ``test_every_leaf_...`` applies each override to a composed
config the way Hydra applies a value override (``OmegaConf.update`` after
Hydra's own override parser), then runs the same checks as ``load_config``
(``sim.config.check``): fast enough to try hundreds of inputs. The second
sends a smaller sample through the real preflight of the command line
(``experiments.runtime.preflight.plan``: parser, raw-value checks, composition, memory).
"""

from __future__ import annotations

import copy
import math
import os
from dataclasses import MISSING, fields, is_dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf, open_dict
from omegaconf.errors import OmegaConfBaseException

from experiments.runtime import preflight
from sim import ConfigError, check, load_config
from sim.config import config_error_line
from sim.params import Config, PolicyConfig

#: Inputs per run of the fast driver (the real-preflight driver a twentieth, at least 10); raise it for a long fuzz:
#: ALIANZAS_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest -q -s tests/test_bad_input_fuzz.py
EXAMPLES = int(os.environ.get("ALIANZAS_FUZZ_EXAMPLES", "200"))

#: The policy every fuzzed config carries, so PolicyConfig leaves are fuzzed too.
POLICY = "training"


def leaves(schema: type = Config, prefix: str = "") -> list[tuple[str, type, dict]]:
    """(dotted path, type, metadata) of every leaf of the schema, PolicyConfig leaves under policies.<POLICY>."""
    out = []
    for f in fields(schema):
        default = f.default_factory() if f.default_factory is not MISSING else f.default
        if is_dataclass(default):
            out += leaves(type(default), f"{prefix}{f.name}.")
        elif f.name == "policies" and schema is Config:
            out += leaves(PolicyConfig, f"policies.{POLICY}.")
        elif f.name != "params":  # an instrument's params are checked by its own Params schema
            out.append((f"{prefix}{f.name}", type(default), dict(f.metadata)))
    return out


LEAVES = leaves()
JUNK = ["abc", "''", "[]", "{}", "[abc]", "[[1]]", "{a:1}", "null", "nan", "inf", "-inf", "1e400", "true", "2",
        "-1", "0", "2.5", "[nan]", "[2.5]", "[true]", "'a/b'", "..", "[a,a]", "['']", "{kind:x}"]


def bad_values(kind: type, meta: dict) -> list[str]:
    """Values aimed at one leaf: outside its range, of the wrong type, not among its choices."""
    out = list(JUNK)
    lo, hi = meta.get("lo"), meta.get("hi")
    if kind in (int, float):
        out += [repr(lo - 1) if lo is not None else "-1e30", repr(hi + 1) if hi is not None else "1e30",
                repr(hi * 10 + 0.5) if hi is not None else "0.5"]
    if meta.get("choices"):
        out += [f"{meta['choices'][0]}x", f"[{meta['choices'][0]}]"]
    return out


CASES = [(path, value) for path, kind, meta in LEAVES for value in bad_values(kind, meta)]


@pytest.fixture(scope="module")
def base():
    """The composed default config with one policy, as Hydra hands it over before value overrides."""
    return load_config(f"policy={POLICY}")


def apply_override(base, override: str):
    """Parse ``override`` as the command line does and apply it as Hydra applies a value override; check it."""
    (choices,) = preflight.override_choices([override])  # Hydra's parser and the raw-value checks of the preflight
    cfg = copy.deepcopy(base)
    for line in choices:
        from hydra.core.override_parser.overrides_parser import OverridesParser
        (ov,) = OverridesParser.create().parse_overrides([line])
        try:
            with open_dict(cfg) if ov.is_add() else _nothing():
                OmegaConf.update(cfg, ov.key_or_group, ov.value(), merge=True)
            check(cfg)
        except OmegaConfBaseException as err:
            raise ConfigError(config_error_line(err)) from None


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


TALLY = {"tried": 0, "accepted": 0, "refused": 0}
ACCEPTED: set[str] = set()


def assert_one_line_naming(path: str, override: str, outcome: Exception | None) -> None:
    if outcome is None:
        TALLY["accepted"] += 1
        ACCEPTED.add(override)
        return
    TALLY["refused"] += 1
    assert isinstance(outcome, ConfigError), (
        f"{override}: expected a ConfigError, got {type(outcome).__name__}: {outcome}")
    msg = str(outcome)
    assert "\n" not in msg and msg.strip(), f"{override}: expected one non-empty line, got {msg!r}"
    assert path.rsplit(".", 1)[-1] in msg, f"{override}: expected the message to name {path}, got: {msg}"


def test_the_fuzz_covers_every_schema_leaf(base):
    """The fuzzed leaves are exactly the leaves of a composed config (a new parameter is fuzzed without an edit)."""
    def flat(node, prefix=""):
        out = set()
        for key, value in node.items():
            if isinstance(value, dict) and key != "params":
                out |= flat(value, f"{prefix}{key}.")
            elif key != "params":
                out.add(f"{prefix}{key}")
        return out

    composed = flat(OmegaConf.to_container(base))
    assert {p for p, _, _ in LEAVES} == composed, "expected the fuzz to cover every leaf of the composed config"


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                    HealthCheck.too_slow])
@given(case=st.sampled_from(CASES) | st.tuples(st.sampled_from([p for p, _, _ in LEAVES]),
                                                st.text(st.characters(min_codepoint=32, max_codepoint=126),
                                                        max_size=10)))
def test_every_leaf_refuses_bad_values_in_one_line(base, case):
    """A bad value for any leaf is refused with one line naming it; nothing raises anything else."""
    path, value = case
    override = f"{path}={value}"
    TALLY["tried"] += 1
    try:
        apply_override(base, override)
        outcome = None
    except Exception as err:  # every other exception type is the failure this test looks for
        outcome = err
    assert_one_line_naming(path, override, outcome)


@settings(max_examples=max(EXAMPLES // 20, 10), deadline=None)
@given(case=st.sampled_from(CASES))
def test_bad_values_through_the_real_preflight_never_raise_anything_else(case):
    """The command line's own preflight (parser, composition, checks, memory) gives the same one-line refusals."""
    path, value = case
    override = f"{path}={value}"
    TALLY["tried"] += 1
    try:
        preflight.plan([f"policy={POLICY}", override])
        outcome = None
    except Exception as err:
        outcome = err
    assert_one_line_naming(path, override, outcome)


def test_fuzz_tally(capsys):
    """How many inputs the fuzz tried (printed with -s; a record for the report, and a check it ran)."""
    with capsys.disabled():
        print(f"\nbad-input fuzz: {TALLY['tried']} inputs over {len(LEAVES)} leaves, {TALLY['refused']} refused "
              f"in one line, {TALLY['accepted']} accepted as valid, 0 tracebacks")
        if os.environ.get("ALIANZAS_FUZZ_EXAMPLES"):  # a long fuzz lists what it accepted, for review
            print("accepted:", " ".join(sorted(ACCEPTED)))
    assert TALLY["tried"] > 0 and TALLY["refused"] > TALLY["accepted"], TALLY
    assert not math.isnan(TALLY["tried"])
