"""The documentation follows the code: the ODD parameter tables match the schema,
every experiment, policy instrument and sweep is documented where users look for it, and
the README's test command is the one CI runs."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from experiments.kinds import EXPERIMENTS
from sim.policies import REGISTRY

ROOT = Path(__file__).resolve().parents[1]
DOCS = ("README.md", "docs/ODD.md")


def load_generator():
    """``docs/gen_param_table.py`` as a module (docs/ is not a package)."""
    spec = importlib.util.spec_from_file_location("gen_param_table", ROOT / "docs" / "gen_param_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def in_code_span(text: str, name: str) -> bool:
    """Whether ``name`` appears as a whole word inside a markdown code span (`...`)."""
    word = re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w-])")
    return any(word.search(span) for span in re.findall(r"`([^`\n]+)`", text))


def test_odd_parameter_tables_match_the_schema():
    """The block between the params markers in docs/ODD.md is what the generator makes from
    sim/params.py and sim/policies/ now, and every row has a source or status."""
    problems = load_generator().check()
    assert not problems, ("docs/ODD.md disagrees with the parameter schema; run "
                          "`python docs/gen_param_table.py --write` and fill in any MISSING source:\n"
                          + "\n".join(problems))


def test_generator_covers_every_schema_field():
    """Every leaf field reachable from Config, every PolicyConfig field and every instrument
    parameter has exactly one row in the generated tables."""
    from dataclasses import fields

    gen = load_generator()
    block, _ = gen.generate("")
    paths = re.findall(r"^\| `([^`]+)` \|", block, flags=re.M)
    main_paths = [p for p in paths if p not in REGISTRY]  # instrument rows start with their kind
    assert len(main_paths) == len(set(main_paths)), "expected each config path once in the main table"
    for kind, cls in REGISTRY.items():
        for f in fields(cls.Params):
            assert f"| `{kind}` | `{f.name}` |" in block, f"expected a row for instrument parameter {kind}.{f.name}"
    for name in ("seed", "firms.p_closure", "alliances.search.min_age_months", "policies.<name>.budget",
                 "policies.<name>.eligibility.share", "experiment.kind"):
        assert name in main_paths, f"expected a row for {name}"


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("kind", EXPERIMENTS)
def test_every_experiment_kind_is_documented(doc, kind):
    """Each experiment kind of the registry is named (in code) in README.md and docs/ODD.md."""
    text = (ROOT / doc).read_text()
    assert in_code_span(text, kind), f"expected experiment kind {kind!r} in a code span of {doc}"


@pytest.mark.parametrize("doc", DOCS)
@pytest.mark.parametrize("kind", sorted(REGISTRY))
def test_every_policy_kind_is_documented(doc, kind):
    """Each registered policy instrument is named (in code) in README.md and docs/ODD.md."""
    text = (ROOT / doc).read_text()
    assert in_code_span(text, kind), f"expected policy kind {kind!r} in a code span of {doc}"


@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "configs" / "sweep").glob("*.yaml")))
def test_every_sweep_file_is_documented(name):
    """Each sweep under configs/sweep/ is named as sweep=<name> in README.md and docs/ODD.md."""
    for doc in DOCS:
        assert f"sweep={name}" in (ROOT / doc).read_text(), f"expected sweep={name} in {doc}"


def test_readme_test_command_is_the_one_ci_runs():
    """The command after "Run the tests" in the README is the last line of ``.ci/run``."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"Run the tests[^\n]*\n+```bash\n(.+?)\n```", readme)
    assert block, "expected a bash block after 'Run the tests' in the README"
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert block.group(1).strip() == ci, f"README runs {block.group(1)!r}, .ci/run runs {ci!r}"


def readme_layout() -> str:
    """The code block under the README's "## Layout" heading."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"^## Layout\n+```\n(.*?)^```", readme, flags=re.M | re.S)
    assert block, "expected a code block under '## Layout' in the README"
    return block.group(1)


def test_readme_layout_names_every_top_folder_and_every_subpackage():
    """The README's map keeps up with the tree: every top-level folder of the checkout, every subpackage of sim/
    and experiments/ and every module at the top of experiments/ (its commands) is named, and every folder the
    map names exists."""
    layout = readme_layout()
    top = {line.split()[0] for line in layout.splitlines() if line[:1].strip()}
    tracked = {p.name + "/" for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
               and p.name not in ("site", "build") and not p.name.endswith(".egg-info")}
    assert top >= tracked, f"expected the layout to list every top-level folder, missing {sorted(tracked - top)}"
    assert all((ROOT / name).is_dir() for name in top), f"expected every listed folder to exist: {sorted(top)}"
    indented = set(re.findall(r"^  (\S+/)", layout, flags=re.M))  # experiments/'s roles, one line each
    for package in ("sim", "experiments"):
        subpackages = {p.parent.name + "/" for p in (ROOT / package).glob("*/__init__.py")}
        missing = {s for s in subpackages if s not in layout}
        assert not missing, f"expected the layout to name every subpackage of {package}/, missing {sorted(missing)}"
    for name in indented:
        assert (ROOT / "experiments" / name).is_dir(), f"the layout lists experiments/{name}, which does not exist"
    commands = {p.name for p in (ROOT / "experiments").glob("*.py") if p.name != "__init__.py"}
    unnamed = {c for c in commands if c not in layout}
    assert not unnamed, f"expected the layout to name every module at the top of experiments/, missing {unnamed}"
