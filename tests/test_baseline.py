"""The committed numeric baseline: every experiment kind, shrunken on fixed seeds, gives the numbers it gave.

``tests/baseline/baseline.json`` holds, per case of ``tests/baseline/headlines.py``, the
summary at full precision and a hash of every table and report. A refactor must leave
them bit-identical; a change meant to move the numbers rewrites the file with
``python -m tests.baseline.headlines --write`` and says so in its commit message.
"""

from __future__ import annotations

import json

import pytest

from tests.baseline import headlines


@pytest.fixture(scope="module")
def baseline() -> dict:
    return json.loads(headlines.BASELINE.read_text())


def test_baseline_covers_every_experiment_kind_and_a_plain_model_run(baseline):
    """Every experiment kind of the registry (and the plain model run) has a case in the baseline."""
    from experiments.kinds import EXPERIMENTS

    missing = sorted(set(EXPERIMENTS) - set(baseline))
    assert not missing and "model" in baseline, f"expected a baseline case per experiment kind, missing {missing}"


def test_every_case_reproduces_the_committed_baseline_exactly(baseline):
    """Summaries equal to the last bit, tables and reports with the same hashes, on the committed seeds."""
    got = headlines.compute()
    diff = headlines.differences(baseline, got)
    assert not diff, ("expected outputs identical to tests/baseline/baseline.json (rewrite it with "
                      "python -m tests.baseline.headlines --write only for a change meant to move the numbers):\n"
                      + "\n".join(diff[:40]))
