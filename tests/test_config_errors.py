"""Bad configurations fail early with one clear line; a valid command writes a complete run folder."""

from __future__ import annotations

import json
import math
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
import yaml

from sim import ConfigError, load_config
from tests.conftest import run_cli

#: (override, name the message must contain) for each kind of mistake.
BAD_OVERRIDES = [
    pytest.param("firms.n_firmz=3", "n_firmz", id="unknown-key"),
    pytest.param("nope=1", "nope", id="unknown-top-level-key"),
    pytest.param("firms.n_firms=abc", "firms.n_firms", id="wrong-type-int"),
    pytest.param("market.crisis.enabled=maybe", "market.crisis.enabled", id="wrong-type-bool"),
    pytest.param("firms.n_firms=-5", "firms.n_firms", id="negative-firm-count"),
    pytest.param("months=0", "months", id="zero-months"),
    pytest.param("firms.share_planned=1.5", "firms.share_planned", id="share-above-1"),
    pytest.param("firms.p_extra_worker=1.5", "firms.p_extra_worker", id="probability-above-1"),
    pytest.param("births.rate_monthly=-0.1", "births.rate_monthly", id="negative-rate"),
    pytest.param("firms.sector_shares=[0.5,1.2,-0.7]", "firms.sector_shares", id="share-item-outside-0-1"),
    pytest.param("firms.sector_shares=[0.5,0.3,0.1]", "firms.sector_shares", id="shares-not-summing-to-1"),
    pytest.param("firms.initial_population=foo", "firms.initial_population", id="not-a-choice"),
    pytest.param("scenario=nope", "scenario", id="unknown-scenario"),
]


@pytest.mark.parametrize("override, name", BAD_OVERRIDES)
def test_load_config_rejects_bad_value_naming_the_parameter(override, name):
    """load_config raises ConfigError with a one-line message that names the parameter."""
    with pytest.raises(ConfigError) as info:
        load_config(override)
    msg = str(info.value)
    assert name in msg, f"expected the message to name {name!r}, got: {msg}"
    assert "\n" not in msg, f"expected a one-line message, got: {msg!r}"


def test_out_of_range_message_states_the_allowed_range():
    """An out-of-range value's message gives the value and the allowed interval."""
    with pytest.raises(ConfigError) as info:
        load_config("firms.share_planned=1.5")
    msg = str(info.value)
    assert "1.5" in msg and "[0, 1]" in msg, f"expected the value 1.5 and the range [0, 1] in: {msg}"


def test_unknown_scenario_lists_the_known_ones():
    """An unknown scenario's message lists the scenarios that exist."""
    with pytest.raises(ConfigError) as info:
        load_config("scenario=nope")
    msg = str(info.value)
    for known in ("baseline", "crisis", "large_firm_entry"):
        assert known in msg, f"expected the known scenario {known!r} listed in: {msg}"


def test_added_unknown_key_is_rejected_too():
    """A misspelt key added with Hydra's ``+`` prefix is still not a parameter of the model."""
    with pytest.raises(ConfigError) as info:
        load_config("+firms.n_firmz=3")
    assert "n_firmz" in str(info.value), f"expected the message to name n_firmz, got: {info.value}"


def test_valid_overrides_are_applied():
    """A valid override changes exactly the named value (the errors above are not blanket failures)."""
    cfg = load_config("firms.n_firms=123", "firms.share_planned=0.0", "scenario=crisis")
    assert cfg.firms.n_firms == 123 and cfg.firms.share_planned == 0.0, "expected the overrides applied"
    assert cfg.market.crisis.enabled is True, "expected scenario=crisis to switch the crisis on"


# ------------------------------------------------------------------ command line
CLI_BAD = {
    "unknown-key": ("firms.n_firmz=3", "n_firmz"),
    "wrong-type": ("firms.n_firms=abc", "firms.n_firms"),
    "negative-firm-count": ("firms.n_firms=-5", "firms.n_firms"),
    "share-above-1": ("firms.share_planned=1.5", "firms.share_planned"),
    "shares-not-summing-to-1": ("firms.sector_shares=[0.5,0.3,0.1]", "firms.sector_shares"),
    "unknown-scenario": ("scenario=nope", "scenario"),
    "sweep-without-m": ("seed=1,2", None),
}


@pytest.fixture(scope="module")
def cli_bad_runs(tmp_path_factory):
    """Every bad command of CLI_BAD, run once, two at a time (each is a fresh interpreter)."""
    def one(case):
        cwd = tmp_path_factory.mktemp(case)
        return case, (run_cli([CLI_BAD[case][0], f"hydra.run.dir={cwd / 'run'}"], cwd=cwd), cwd)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, CLI_BAD))


def _assert_config_error_exit(proc, name: str | None, cwd) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2, f"expected exit code 2, got {proc.returncode}; stderr: {proc.stderr[-1500:]}"
    assert "Traceback" not in proc.stderr, f"expected no traceback, got: {proc.stderr[-1500:]}"
    assert len(lines) == 1, f"expected exactly one line on stderr, got {len(lines)}: {proc.stderr!r}"
    assert lines[0].startswith("alianzas: configuration error:"), (
        f"expected the line to start with 'alianzas: configuration error:', got: {lines[0]}")
    if name is not None:
        assert name in lines[0], f"expected the line to name {name!r}, got: {lines[0]}"
    assert not (cwd / "run").exists(), "expected no run folder for a rejected configuration"


@pytest.mark.parametrize("case", [c for c in CLI_BAD if c != "sweep-without-m"])
def test_cli_bad_config_exits_2_with_one_line(case, cli_bad_runs):
    """The command line rejects each bad value with exit code 2 and one stderr line naming it."""
    proc, cwd = cli_bad_runs[case]
    _assert_config_error_exit(proc, CLI_BAD[case][1], cwd)


def test_cli_sweep_values_without_multirun_are_rejected(cli_bad_runs):
    """Several values for one parameter without -m stop with exit code 2 and one line."""
    proc, cwd = cli_bad_runs["sweep-without-m"]
    _assert_config_error_exit(proc, None, cwd)
    assert "-m" in proc.stderr, f"expected the message to suggest -m, got: {proc.stderr}"


def _run_ok(tmp_path, *args):
    run_dir = tmp_path / "run"
    proc = run_cli([*args, f"hydra.run.dir={run_dir}"], cwd=tmp_path)
    assert proc.returncode == 0, f"expected exit code 0, got {proc.returncode}; stderr: {proc.stderr[-2000:]}"
    return run_dir


def test_cli_tiny_run_writes_a_complete_run_folder(tmp_path):
    """A valid tiny run exits 0 and writes config, manifest, summary and the three tables."""
    run_dir = _run_ok(tmp_path, "firms.n_firms=50", "months=6", "seed=4")
    for name in ("config.yaml", "manifest.json", "summary.json", "series.parquet", "panel.parquet",
                 "firms.parquet"):
        assert (run_dir / name).is_file(), f"expected {name} in the run folder"
    assert not list(run_dir.glob(".*.tmp")), "expected no temporary files left behind"

    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["status"] == "completed", f"expected status 'completed', got {manifest['status']!r}"
    assert manifest["seed"] == 4, f"expected seed 4 in the manifest, got {manifest['seed']}"
    assert "commit" in manifest["git"], "expected a git commit key in the manifest"
    assert manifest["started"] and manifest["ended"], "expected start and end times in the manifest"
    assert manifest["started"] <= manifest["ended"], "expected the run to end after it started"
    for pkg in ("python", "mesa", "numpy", "pandas", "hydra-core"):
        assert manifest["packages"].get(pkg), f"expected the version of {pkg} in the manifest"

    summary = json.loads((run_dir / "summary.json").read_text())
    for key in ("n_firms_initial", "months", "survival_12m", "survival_60m", "births", "deaths",
                "mean_monthly_revenue"):
        assert key in summary, f"expected {key!r} in summary.json"
    assert summary["n_firms_initial"] == 50 and summary["months"] == 6, "expected N=50 and 6 months"
    assert summary["survival_12m"] is None, "expected survival_12m null for a 6-month run"

    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["firms"]["n_firms"] == 50 and config["seed"] == 4, "expected the resolved overrides"
    series = pd.read_parquet(run_dir / "series.parquet")
    firms = pd.read_parquet(run_dir / "firms.parquet")
    assert list(series["month"]) == list(range(1, 7)), "expected one series row per month 1..6"
    assert len(firms) == 50 + summary["births"], "expected one firms row per firm ever created"
    assert int(series["deaths"].sum()) == summary["deaths"], "expected summary deaths == sum of series"


def test_cli_sixty_month_run_reports_survival_numbers(tmp_path):
    """A 60-month run reports survival_12m and survival_60m as numbers in [0, 1]."""
    run_dir = _run_ok(tmp_path, "firms.n_firms=100", "months=60")
    summary = json.loads((run_dir / "summary.json").read_text())
    for key in ("survival_12m", "survival_60m"):
        v = summary[key]
        assert isinstance(v, float) and math.isfinite(v) and 0.0 <= v <= 1.0, (
            f"expected {key} a number in [0, 1], got {v!r}")
    assert summary["survival_60m"] <= summary["survival_12m"], "expected survival to fall with the horizon"


def test_empty_alliance_type_list_is_rejected():
    """No alliance type at all is a mistake with a pointer to the real switch (alliances.enabled)."""
    with pytest.raises(ConfigError) as info:
        load_config("alliances.structure.types_enabled=[]")
    assert "alliances.structure.types_enabled" in str(info.value) and "alliances.enabled=false" in str(info.value)
