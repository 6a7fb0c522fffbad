"""Mesa's own tools drive the model: keyword parameters, ``rng=``, ``running`` and the DataCollector."""

from __future__ import annotations

import warnings

import mesa
import pandas as pd
import pytest

from sim import AllianceModel, ConfigError, load_config


def full_run(**params) -> AllianceModel:
    model = AllianceModel(**params)
    while model.running:
        model.step()
    return model


def test_batch_run_table_matches_series():
    """batch_run (iterations=2, max_steps=24) gives, row for row, the series of the same model run directly."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Mesa deprecates iterations= in favour of rng=
        rows = mesa.batch_run(AllianceModel, parameters={"n_firms": [60, 120], "months": 24, "seed": 4},
                              iterations=2, max_steps=24, number_processes=1, data_collection_period=1,
                              display_progress=False)
    table = pd.DataFrame(rows)
    assert len(table) == 2 * 2 * 24, f"expected 4 runs of 24 months, got {len(table)} rows"
    for n_firms in (60, 120):
        expected = full_run(n_firms=n_firms, months=24, seed=4).series()
        for iteration in (0, 1):
            got = table[(table.n_firms == n_firms) & (table.iteration == iteration)]
            pd.testing.assert_frame_equal(got[expected.columns].reset_index(drop=True), expected,
                                          check_dtype=False, obj=f"batch_run n_firms={n_firms} it={iteration}")
            assert list(got.Step) == list(range(1, 25)), "expected Mesa's step counter to follow the months"


def test_batch_run_rng_list_gives_one_seed_per_run():
    """rng=[0, 1] is Mesa's way to vary seeds: the runs differ, and each equals the model with that seed."""
    rows = mesa.batch_run(AllianceModel, parameters={"firms.n_firms": 80, "months": 12}, rng=[0, 1],
                          max_steps=100, number_processes=1, display_progress=False)
    table = pd.DataFrame(rows)
    assert list(table.Step) == [12, 12], "expected one end-of-run row per seed, at the horizon (running=False)"
    for seed in (0, 1):
        expected = full_run(**{"firms.n_firms": 80, "months": 12, "seed": seed}).series().iloc[-1]
        assert table.loc[table.rng == seed, "firms_alive"].item() == expected["firms_alive"]
        assert table.loc[table.rng == seed, "total_revenue"].item() == pytest.approx(expected["total_revenue"])
    assert table.total_revenue.nunique() == 2, "expected different worlds for different seeds"


def test_running_turns_false_at_the_horizon():
    model = AllianceModel(n_firms=50, months=5)
    states = []
    for _ in range(6):
        model.step()
        states.append(model.running)
    assert states == [True, True, True, True, False, False], f"expected running to stop at month 5, got {states}"


def test_datacollector_holds_series_under_the_same_names():
    model = full_run(n_firms=80, months=10, seed=2)
    collected = model.datacollector.get_model_vars_dataframe()
    pd.testing.assert_frame_equal(collected.reset_index(drop=True), model.series(), check_dtype=False)


def test_keyword_parameters_equal_command_line_overrides():
    """Leaf, dotted and group names build the config the same overrides build on the command line."""
    by_keywords = AllianceModel(n_firms=70, p_seek_max=0.2, scenario="crisis", seed=3, months=40).cfg
    by_cli = AllianceModel(load_config("firms.n_firms=70", "alliances.search.p_seek_max=0.2", "scenario=crisis",
                                       "seed=3", "months=40")).cfg
    assert by_keywords == by_cli
    assert AllianceModel(**{"firms.n_firms": 70}, rng=9).cfg.seed == 9


@pytest.mark.parametrize("params, fragment", [
    ({"n_firms": 0}, "firms.n_firms=0 is out of range"),
    ({"enabled": False}, "enabled is ambiguous; use one of"),
    ({"n_firm": 10}, "n_firm is not a parameter"),
    ({"seed": 1, "rng": 2}, "give seed or rng, not both"),
    ({"scenario": "nowhere"}, "scenario=nowhere is not a known scenario"),
])
def test_bad_keyword_parameter_is_one_line(params, fragment):
    with pytest.raises(ConfigError) as err:
        AllianceModel(**params)
    assert fragment in str(err.value) and "\n" not in str(err.value), f"expected one line with {fragment!r}"
