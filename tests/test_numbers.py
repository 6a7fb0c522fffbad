"""The numbers README.md and docs/ODD.md quote are generated: every marked block is what
docs/numbers.json renders to, a hand-edited or stale number is caught, and the generator's run
path produces every field the blocks read (on a shrunken run)."""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.conftest import PROJECT_ROOT


@pytest.fixture(scope="module")
def gen():
    """``docs/gen_numbers.py`` as a module (docs/ is not a package)."""
    spec = importlib.util.spec_from_file_location("gen_numbers", PROJECT_ROOT / "docs" / "gen_numbers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_documents_quote_the_committed_results(gen):
    problems = gen.check()
    assert not problems, ("README.md or docs/ODD.md disagrees with docs/numbers.json; run "
                          "`python docs/gen_numbers.py --write` (or --run after a model change):\n"
                          + "\n".join(problems))


def test_every_block_is_used_and_every_source_is_recorded(gen):
    text = "".join(doc.read_text() for doc in gen.DOCUMENTS)
    used = {m["name"] for m in gen.BLOCK.finditer(text)}
    assert used == set(gen.BLOCKS), f"expected every generated block in a document, missing {set(gen.BLOCKS) - used}"
    numbers = gen.load_numbers()
    for name, overrides in gen.SOURCES.items():
        assert numbers[name]["overrides"] == list(overrides), f"expected {name} recorded with its overrides"
        assert len(numbers[name]["seeds"]) == 2 and "git" in numbers[name]


def test_a_hand_edited_number_is_caught(gen, tmp_path, monkeypatch):
    readme = tmp_path / "README.md"
    text = (PROJECT_ROOT / "README.md").read_text()
    numbers = gen.load_numbers()
    formed = f"{numbers['uplift']['alliances_formed']:,.0f} alliances"
    assert formed in text
    readme.write_text(text.replace(formed, "626 alliances"))
    monkeypatch.setattr(gen, "DOCUMENTS", (readme,))
    assert any("README.md differs" in p for p in gen.check()), "expected the edited number to be reported"


def test_stale_documents_are_caught_when_the_results_change(gen):
    numbers = gen.load_numbers()
    numbers["validate"]["fit"][0]["model"] += 0.5
    assert gen.check(numbers), "expected new results to make the documents out of date"


def test_unknown_block_is_reported(gen):
    _, problems = gen.render("<!-- numbers:nonsense -->\nx\n<!-- /numbers -->\n", gen.load_numbers())
    assert problems and "nonsense" in problems[0]


def test_shrunken_sources_give_every_field_the_blocks_read(gen, monkeypatch):
    monkeypatch.setattr(gen, "SOURCES", {
        "uplift": ("experiment=uplift", "firms.n_firms=100", "months=60", "experiment.n_seeds=2",
                   "alliances.search.p_seek_max=0.2",
                   "experiment.workers=1", "experiment.progress=false"),
        "validate": ("experiment=validate", "firms.n_firms=100", "experiment.n_seeds=2", "experiment.workers=1",
                     "experiment.progress=false"),
        "frontier": ("experiment=uplift_frontier", "firms.n_firms=150", "months=72", "experiment.n_seeds=2",
                     "experiment.workers=1", "experiment.progress=false",
                     "experiment.grid=['alliances.types.bridge_access_gain=0.3,0.6','alliances.search.p_seek_max=0.06']"),
        "policy_compare": ("experiment=policy_compare", "firms.n_firms=150", "months=36", "experiment.n_seeds=2",
                           "experiment.workers=1", "experiment.progress=false", "experiment.policy_start_month=6",
                           "experiment.policy_stop_month=24"),
        **{f"capability_{k}": ("experiment=validate", "firms.n_firms=300", "experiment.n_seeds=2",
                               "experiment.workers=1", "experiment.progress=false", "alliances.search.p_seek_max=0.1",
                               "experiment.targets=[alliance_relational_failure_60m]", *over)
           for k, over in (("high", ("firms.capability_a=5", "firms.capability_b=2")),
                           ("low", ("firms.capability_a=1", "firms.capability_b=9")))}})
    numbers = {name: gen.collect(name) for name in gen.SOURCES}
    json.dumps(numbers, allow_nan=False)  # what --run writes must be strict JSON
    for name, render in gen.BLOCKS.items():
        assert render(numbers).strip(), f"expected block {name} to render from a fresh run"
    from experiments.analysis.targets import load_targets
    assert numbers["uplift"]["seeds"] == [0, 1] and len(numbers["validate"]["fit"]) == len(load_targets())
