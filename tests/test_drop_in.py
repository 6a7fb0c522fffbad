"""A kind is one module: a copy of an existing kind under a new name, dropped into a copy of the checkout, is
picked up by the config, ``alianzas params``, the ODD parameter table, the app and the reports with no other edit.

Each registry is tested the same way: the checkout's code and configs are copied to a
temporary folder, one module (and, for an instrument, its config file) is copied there
under a new name with only that name changed, and commands run in the copy (whose
packages come first on ``sys.path``) must know the new kind.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.conftest import copy_checkout, run_in


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """A copy of the checkout's code, configs and docs."""
    return copy_checkout(tmp_path_factory.mktemp("checkout"))


def copy_kind(root, source: str, target: str, old: str, new: str) -> None:
    """Copy the file ``source`` to ``target`` (paths in the checkout ``root``), renaming the kind ``old`` to ``new``."""
    text = (root / source).read_text().replace(f'"{old}"', f'"{new}"').replace(f"kind: {old}", f"kind: {new}")
    (root / target).write_text(text)


def test_an_experiment_kind_dropped_into_kinds_is_known_everywhere(checkout):
    """experiments/kinds/one_world.py (a copy of single.py): the config accepts experiment.kind=one_world, the
    reference and the ODD table list it, and the command runs it."""
    copy_kind(checkout, "experiments/kinds/single.py", "experiments/kinds/one_world.py", "single", "one_world")
    listed = run_in(checkout, "-m", "experiments.cli", "params", "experiment.kind")
    assert "one_world" in listed, f"expected alianzas params to list one_world, got {listed!r}"
    assert "one_world" in run_in(checkout, "docs/gen_param_table.py"), "expected the ODD table to list one_world"
    out = checkout / "results"
    run_in(checkout, "-m", "experiments.run", "experiment.kind=one_world", "experiment.name=one_world",
           "firms.n_firms=30", "months=3", f"output.root={out}")
    manifest = json.loads(next(out.glob("runs/*one_world*/manifest.json")).read_text())
    assert manifest["status"] == "completed", f"expected the one_world run to complete, got {manifest}"


def test_an_alliance_type_dropped_into_alliance_types_is_known_everywhere(checkout):
    """sim/alliance_types/joint_buying.py (a copy of cluster.py, its own order and colour): the config accepts it in
    types_enabled, the model runs with it, and the app draws its ties in its colour."""
    path = checkout / "sim/alliance_types/joint_buying.py"
    copy_kind(checkout, "sim/alliance_types/cluster.py", path.relative_to(checkout), "cluster", "joint_buying")
    path.write_text(path.read_text().replace("    order = 0\n", "    order = 3\n")
                    .replace('colour = "#D55E00"', 'colour = "#0072B2"'))
    script = textwrap.dedent("""
        from experiments.app import panels
        from experiments.app.model import AppModel
        from sim import AllianceModel, load_config
        cfg = load_config("firms.n_firms=300", "months=40",
                          "alliances.structure.types_enabled=[cluster,bridge,innovation,joint_buying]")
        m = AllianceModel.from_config(cfg)
        m.run_for(40)
        kinds = set(m.alliance_table()["type"])
        app = AppModel()
        for _ in range(3):
            app.step()
        series = {s["name"]: s for s in panels.network_option(app)["series"]}
        print(sorted(kinds), series["joint_buying tie"]["lineStyle"]["color"])
    """)
    out = run_in(checkout, "-c", script)
    assert "#0072B2" in out, f"expected the app to draw joint_buying ties in its own colour, got {out!r}"


def test_a_policy_instrument_dropped_into_policies_is_known_everywhere(checkout):
    """sim/policies/seed_grant.py and configs/policy/seed_grant.yaml (copies of the formation grant's): the config
    accepts policy=seed_grant, the reference and the ODD table list its parameters, the app offers it and a
    policy comparison names it in its brief."""
    copy_kind(checkout, "sim/policies/formation_grant.py", "sim/policies/seed_grant.py", "formation_grant",
              "seed_grant")
    copy_kind(checkout, "configs/policy/formation_grant.yaml", "configs/policy/seed_grant.yaml", "formation_grant",
              "seed_grant")
    yaml = checkout / "configs/policy/seed_grant.yaml"
    yaml.write_text(yaml.read_text().replace("@package policies.formation_grant", "@package policies.seed_grant"))
    assert "seed_grant" in run_in(checkout, "-m", "experiments.cli", "params", "policies.<name>.params")
    assert "| `seed_grant` |" in run_in(checkout, "docs/gen_param_table.py"), "expected ODD rows for seed_grant"
    offered = run_in(checkout, "-c", "from experiments.app.model import POLICIES; print(POLICIES)")
    assert "seed_grant" in offered, f"expected the app to offer seed_grant, got {offered!r}"
    out = checkout / "results"
    run_in(checkout, "-m", "experiments.run", "experiment=policy_compare", "experiment.instruments=[seed_grant]",
           "firms.n_firms=100", "months=36", "experiment.policy_stop_month=30", "experiment.n_seeds=2",
           "experiment.workers=1", "experiment.progress=false", f"output.root={out}")
    brief = next(out.glob("runs/*policy_compare*/policy_brief.md")).read_text()
    assert "seed grant" in brief.lower(), "expected the policy brief to name the seed grant"
