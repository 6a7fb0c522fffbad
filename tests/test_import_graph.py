"""The package's modules import each other without a cycle, and the schema imports no policy.

The graph is read from the source with ``ast``: a node per module of ``sim/``,
``agents/`` and ``experiments/`` (a package is its ``__init__``), an edge per
``import`` or ``from ... import`` of another of these modules, wherever it
stands. Imports inside functions count too: an import moved into a function
to get past a cycle (as ``sim.params`` once imported ``sim.policies``) is still
a cycle in the design, only deferred to the first call. Two kinds of import are
not edges: the parent package that Python loads before any submodule (counting
it would make every ``sim.x`` that ``sim/__init__`` imports look cyclic), and
modules named in a string for ``importlib`` (the experiment registry's lazy
entries), which load only when a run of that kind starts.
"""

from __future__ import annotations

import ast
import graphlib

import pytest

from tests.conftest import PROJECT_ROOT

PACKAGES = ("sim", "agents", "experiments")


def module_files() -> dict[str, object]:
    """Dotted module name -> source path, for every module of PACKAGES."""
    found = {}
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imported_modules(name: str, path, known: set[str]) -> set[str]:
    """The modules of ``known`` that the module ``name`` (source at ``path``) imports, anywhere in its body."""
    is_package = path.name == "__init__.py"
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names if alias.name in known}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from the module's own package, up level - 1
                base = name.split(".")[: None if is_package else -1]
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                if submodule in known:  # from sim import metrics: the submodule
                    out.add(submodule)
                elif source in known:   # from sim.params import param: the module itself
                    out.add(source)
    out.discard(name)
    return out


@pytest.fixture(scope="module")
def import_graph() -> dict[str, set[str]]:
    files = module_files()
    return {name: imported_modules(name, path, set(files)) for name, path in files.items()}


def test_the_graph_sees_the_imports_it_must(import_graph):
    """The reader finds known edges (module level, from a package, inside a function), so an empty graph
    cannot pass the cycle test by accident."""
    assert "sim.params" in import_graph["sim.policies.base"], "expected sim.policies.base -> sim.params"
    assert "sim.metrics" in import_graph["experiments.replication.compare"], (
        "expected 'from sim import metrics' as an edge")
    assert "experiments.collect" in import_graph["experiments.run"], (
        "expected the import inside finish_sweep as an edge")
    assert len(import_graph) > 40, f"expected every module of {PACKAGES}, found {len(import_graph)}"


def test_sim_agents_and_experiments_import_no_cycle(import_graph):
    """Module-level and function-level imports among sim/, agents/ and experiments/ form no cycle."""
    try:
        list(graphlib.TopologicalSorter(import_graph).static_order())
    except graphlib.CycleError as err:
        pytest.fail(f"expected no import cycle, found {' -> '.join(err.args[1])}")


def test_the_schema_imports_no_policy_or_experiment_module(import_graph):
    """sim.params is the schema only: it imports no policy, no experiment and no validation module."""
    banned = {m for m in import_graph if m.startswith(("sim.policies", "experiments", "sim.validation"))}
    assert not import_graph["sim.params"] & banned, (
        f"expected sim.params to import none of these, got {sorted(import_graph['sim.params'] & banned)}")


def test_the_model_imports_no_experiment_module(import_graph):
    """sim/ and agents/ never import experiments/, by an import statement or by a module name handed to importlib:
    the model does not depend on its entry points (experiment kinds add themselves to the schema's registries)."""
    model = {m: deps for m, deps in import_graph.items() if m.split(".")[0] in ("sim", "agents")}
    offenders = {m: sorted(d for d in deps if d.split(".")[0] == "experiments") for m, deps in model.items()}
    offenders = {m: deps for m, deps in offenders.items() if deps}
    assert not offenders, f"expected no import of experiments from sim/ or agents/, got {offenders}"
    files = module_files()
    by_name = [m for m in model if any(f'{call}("experiments' in files[m].read_text()
                                       for call in ("import_module", "__import__"))]
    assert not by_name, f"expected no importlib loading of experiments from sim/ or agents/, got {by_name}"
