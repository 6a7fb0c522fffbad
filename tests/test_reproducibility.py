"""Reproducibility: same seed same results (in one process or several), independent streams."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from sim import AllianceModel
from sim.rng import STREAM_NAMES, RandomStreams
from tests.conftest import PROJECT_ROOT, SEEDS, run_model, small_config


def _outputs(m: AllianceModel) -> dict:
    return {"summary": m.summary(), "series": m.series(), "firms": m.firm_table(), "panel": m.panel()}


def _assert_same_outputs(a: dict, b: dict, what: str) -> None:
    assert a["summary"] == b["summary"], f"expected identical summaries ({what})"
    for table in ("series", "firms", "panel"):
        assert_frame_equal(a[table], b[table], check_exact=True, obj=f"{table} ({what})")


def test_same_config_and_seed_give_identical_results():
    """Two runs of one config and seed agree value for value in every output."""
    a = _outputs(run_model(small_config(seed=11)))
    b = _outputs(run_model(small_config(seed=11)))
    _assert_same_outputs(a, b, "same seed, same process")


def test_same_seed_identical_for_a_mixed_age_stock_and_scenarios():
    """Reproducibility also holds with the stock population and both scenarios switched on."""
    over = ("firms=stock", "market.crisis.enabled=true", "market.crisis.start_month=6",
            "market.competition.enabled=true", "market.competition.start_month=3")
    a = _outputs(run_model(small_config(*over, seed=2)))
    b = _outputs(run_model(small_config(*over, seed=2)))
    _assert_same_outputs(a, b, "stock population with crisis and competition")


def test_different_seeds_give_different_results():
    """Different seeds give different firms, series and summaries."""
    a = _outputs(run_model(small_config(seed=SEEDS[0])))
    b = _outputs(run_model(small_config(seed=SEEDS[1])))
    assert a["summary"] != b["summary"], "expected different summaries for different seeds"
    assert not a["series"]["mean_revenue"].equals(b["series"]["mean_revenue"]), (
        "expected different revenue series for different seeds")
    assert not np.array_equal(a["firms"]["base_revenue"].to_numpy()[:100],
                              b["firms"]["base_revenue"].to_numpy()[:100]), (
        "expected different initial firms for different seeds")


_CHILD = """
import json, sys
from sim import AllianceModel, load_config
cfg = load_config(*sys.argv[2:])
m = AllianceModel.from_config(cfg)
m.run_for(cfg.months)
out = sys.argv[1]
m.series().to_parquet(out + "_series.parquet")
m.firm_table().to_parquet(out + "_firms.parquet")
print(json.dumps(m.summary()))
"""


def test_identical_results_across_processes(tmp_path):
    """Two separate interpreters (different hash seeds, in parallel) reproduce this process exactly."""
    overrides = ["firms.n_firms=400", "months=30", "seed=21", "scenario=crisis", "market.crisis.start_month=10"]
    here = run_model(small_config(*overrides[3:], n=400, months=30, seed=21))

    def child(k: int):
        env = dict(os.environ, PYTHONHASHSEED=str(k * 7919 + 1))
        return subprocess.run([sys.executable, "-c", _CHILD, str(tmp_path / f"p{k}"), *overrides],
                              cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=120)

    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = list(pool.map(child, [0, 1]))
    for k, p in enumerate(procs):
        assert p.returncode == 0, f"expected child process {k} to succeed, stderr: {p.stderr[-2000:]}"
        summary = json.loads(p.stdout.strip().splitlines()[-1])
        assert summary == json.loads(json.dumps(here.summary())), (
            f"expected process {k} to give exactly this process's summary")
        assert_frame_equal(pd.read_parquet(tmp_path / f"p{k}_series.parquet"), here.series(),
                           check_exact=True, obj=f"series of process {k}")
        assert_frame_equal(pd.read_parquet(tmp_path / f"p{k}_firms.parquet"), here.firm_table(),
                           check_exact=True, obj=f"firm table of process {k}")


@pytest.mark.parametrize("stream", [*STREAM_NAMES, "policy:training"])
def test_extra_draws_from_any_stream_mid_run_change_nothing(stream):
    """Streams hold no position: drawing from one in the middle of a run (alliances and a policy on)
    leaves every output exactly as it was."""
    over = ("policy=training",)
    reference = _outputs(run_model(small_config(*over, seed=7)))
    m = AllianceModel.from_config(small_config(*over, seed=7))
    m.run_for(18)
    m.streams[stream].uniform(m.month + 1, np.arange(5000), "seek", width=3)
    m.streams[stream].normal(m.month, m.firms.firm_id[: m.firms.n])
    m.run_for(18)
    _assert_same_outputs(reference, _outputs(m), f"after extra draws from stream {stream!r}")


def test_the_alliance_process_leaves_demand_births_and_entrants_untouched():
    """Alliances on or off: identical sector demand, births and traits of every firm ever founded."""
    a = run_model(small_config(seed=9))
    b = run_model(small_config("alliances.enabled=false", seed=9))
    cols = ["month", "births"] + [c for c in a.series().columns if c.startswith("demand_")]
    assert_frame_equal(a.series()[cols], b.series()[cols], check_exact=True, obj="demand and births")
    initial = ["firm_id", "sector", "locality", "founding_workers", "quality", "worker_cost", "volatility",
               "cooperativeness"]
    assert_frame_equal(a.firm_table()[initial], b.firm_table()[initial], check_exact=True,
                       obj="traits of every firm (initial and entrants)")


def test_streams_do_not_depend_on_other_streams_use():
    """A stream's draws are the same whether or not other streams were used first, in any order."""
    ids = np.arange(500)
    fresh = RandomStreams(5)["demand"].normal(3, ids)
    used = RandomStreams(5)
    for name in STREAM_NAMES:
        if name != "demand":
            used[name].uniform(3, np.arange(1000))
    assert np.array_equal(used["demand"].normal(3, ids), fresh), (
        "expected 'demand' draws unchanged after drawing from every other stream first")
    partly = RandomStreams(5)
    first = partly["demand"].normal(3, ids[:200])
    partly["firm_shocks"].uniform(3, np.arange(10_000))
    rest = partly["demand"].normal(3, ids[200:])
    assert np.array_equal(np.concatenate([first, rest]), fresh), (
        "expected 'demand' draws unchanged by other streams used in between")


def test_streams_are_distinct_and_seeded_by_root_seed():
    """Different names give different draws; the same name and seed give the same draws."""
    ids = np.arange(8)
    draws = {name: RandomStreams(9)[name].uniform(1, ids) for name in STREAM_NAMES}
    for i, a in enumerate(STREAM_NAMES):
        for b in STREAM_NAMES[i + 1:]:
            assert not np.array_equal(draws[a], draws[b]), f"expected streams {a!r} and {b!r} to differ"
    assert np.array_equal(RandomStreams(9)["births"].uniform(1, ids), draws["births"]), (
        "expected the same stream name and seed to give the same draws")
    assert not np.array_equal(RandomStreams(10)["births"].uniform(1, ids), draws["births"]), (
        "expected another root seed to give other draws")
    s = RandomStreams(9)
    assert s["births"] is s["births"], "expected one stream object per name (created once, then reused)"


@settings(max_examples=10, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(min_value=0, max_value=2**63 - 1),
       population=st.sampled_from(["default", "stock"]),
       months=st.integers(min_value=1, max_value=24))
def test_firm_table_invariants_hold_for_any_seed(seed, population, months):
    """After a short run: alive iff death_month == -1, ages >= 0, living firms' cash >= 0."""
    m = run_model(small_config(f"firms={population}", n=150, months=months, seed=seed))
    t = m.firms
    alive, death = t.view("alive"), t.view("death_month")
    assert np.array_equal(alive, death == -1), "expected alive iff death_month == -1"
    assert np.all(death[~alive] <= m.month) and np.all(death[~alive] >= 1), (
        "expected every exit month within the simulated months")
    ft = m.firm_table()
    assert (ft["age_months"] >= 0).all(), "expected every firm's age >= 0"
    assert np.all(t.view("cash")[alive] >= 0), "expected living firms' cash >= 0 after the exit phase"
    assert len(m.agents) == int(alive.sum()), "expected one Mesa agent per living firm"
    assert len(ft) == t.n == len(m.firm_objects), "expected one firm-table row and Firm object per row"
