"""Bad configurations fail early with one clear line; a valid command writes a complete run folder."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import yaml

from sim import ConfigError, load_config
from tests.conftest import run_cli, run_cli_cases

#: (override, name the message must contain) for each kind of mistake.
BAD_OVERRIDES = [
    pytest.param("firms.n_firmz=3", "n_firmz", id="unknown-key"),
    pytest.param("nope=1", "nope", id="unknown-top-level-key"),
    pytest.param("firms.n_firms=abc", "firms.n_firms", id="wrong-type-int"),
    pytest.param("market.crisis.enabled=maybe", "market.crisis.enabled", id="wrong-type-bool"),
    pytest.param("firms.n_firms=-5", "firms.n_firms", id="negative-firm-count"),
    pytest.param("months=0", "months", id="zero-months"),
    pytest.param("firms.share_planned=1.5", "firms.share_planned", id="share-above-1"),
    pytest.param("firms.p_closure=1.5", "firms.p_closure", id="probability-above-1"),
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
    """Every bad command of CLI_BAD, run once: unknown-key as a real command (a fresh interpreter, where
    anything else printed at start-up would show), the others through the same entry point in this process."""
    return run_cli_cases({case: [arg] for case, (arg, _) in CLI_BAD.items()}, tmp_path_factory,
                         in_subprocess=("unknown-key",))


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
    assert len(manifest["git"]["commit"] or "") == 40, "expected the checkout's commit in the manifest"
    assert manifest["started"] and manifest["ended"], "expected start and end times in the manifest"
    assert manifest["started"] <= manifest["ended"], "expected the run to end after it started"
    for pkg in ("python", "alianzas", "mesa", "numpy", "pandas", "hydra-core"):
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


# ------------------------------------------------------------------ every bad input of issue 12
#: (command line, text the single stderr line must contain): each once passed the check, crashed or was accepted.
ISSUE_BAD_INPUTS = [
    pytest.param(["market.competition.sectors=[abc]"], "market.competition.sectors", id="text-sector-index"),
    pytest.param(["market.competition.sectors=[2.5]"], "market.competition.sectors", id="fractional-sector-index"),
    pytest.param(["firms.sector_shares=[a,b,c]"], "firms.sector_shares", id="text-shares"),
    pytest.param(["firms.sector_shares=[nan,0.5,0.5]"], "firms.sector_shares", id="nan-share"),
    pytest.param(["firms.sector_names=[a,a,b]"], "firms.sector_names", id="duplicate-sector-names"),
    pytest.param(["firms.sector_names=[a,'',b]"], "firms.sector_names", id="empty-sector-name"),
    pytest.param(["+policies.x=3"], "policies.x", id="policy-not-a-mapping"),
    pytest.param(["+policies.x={}"], "kind", id="policy-without-kind"),
    pytest.param(["policy=training", "policies.training.eligibility.min_workers=5",
                  "policies.training.eligibility.max_workers=2"], "min_workers", id="eligibility-min-above-max"),
    pytest.param(["policy=training", "policies.training.eligibility.min_age_months=50",
                  "policies.training.eligibility.max_age_months=10"], "min_age_months", id="age-min-above-max"),
    pytest.param(["policy=credit", "months=6"], "policies.credit.start_month", id="window-after-horizon"),
    pytest.param(["scenario=crisis", "months=12"], "market.crisis.start_month", id="crisis-after-horizon"),
    pytest.param(["=3"], "=3", id="no-parameter-name"),
    pytest.param(["scenario=glob(*)"], "scenario=glob(*)", id="glob-sweep"),
    pytest.param(["seed=interval(0,1)"], "seed=interval(0,1)", id="interval-sweep"),
    pytest.param(["market.crisis.enabled=2"], "market.crisis.enabled", id="number-as-switch"),
    pytest.param(["experiment.name=a/b"], "experiment.name", id="name-with-slash"),
    pytest.param(["experiment.name=../../.."], "experiment.name", id="name-escaping-results"),
    pytest.param(["experiment.kind=uplift"], "experiment=uplift", id="kind-without-its-group"),
    pytest.param(["-m", "hydra.sweeper.params.firms.n_firms=0,5"], "firms.n_firms", id="sweeper-params-on-cli"),
    pytest.param(["+hydra.callbacks.x._target_=builtins.open", "+hydra.callbacks.x.file=/tmp/x"], "_target_",
                 id="callback-target"),
    pytest.param(["hydra.job_logging.root.level=INFO"], "hydra.job_logging", id="logging-config"),
    pytest.param(["--config-dir=/tmp"], "--config-dir", id="config-dir-option"),
    pytest.param(["months=100000", "births.rate_monthly=1.0"], "GB", id="memory-preflight"),
]


@pytest.mark.parametrize("args, named", ISSUE_BAD_INPUTS)
def test_every_bad_input_of_the_issue_stops_in_one_line_before_anything_runs(args, named, tmp_path, capsys):
    """Each input is refused with exit code 2 and one stderr line naming it; no run folder is created."""
    from experiments.run import main
    code = main([*args, f"output.root={tmp_path / 'results'}"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2, f"expected exit code 2 for {args}, got {code}; stderr: {err}"
    assert len(err) == 1 and err[0].startswith("alianzas: configuration error:"), f"expected one line: {err}"
    assert named in err[0], f"expected the line to name {named!r}: {err[0]}"
    assert not (tmp_path / "results").exists(), "expected nothing written for a refused command"


def test_an_unwritable_results_root_is_one_line(tmp_path, capsys):
    """A results root that cannot be created (here under a plain file) stops with one line, exit 2."""
    from experiments.run import main
    (tmp_path / "file").write_text("")
    assert main(["firms.n_firms=30", "months=3", f"output.root={tmp_path / 'file' / 'results'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "output.root" in err[0], err


def test_more_workers_than_cores_is_capped_with_a_warning(capsys):
    """experiment.workers above the machine's cores is accepted with one warning naming the cap."""
    from experiments.compare import available_cores, n_workers
    from experiments.run import plan
    plan(["experiment=uplift", "experiment.workers=1000"])
    assert "experiment.workers=1000 is more than" in capsys.readouterr().err, "expected a warning line"
    assert n_workers(1000) == available_cores(), "expected the worker count capped at the cores"


def test_a_folder_inside_a_checkout_is_not_a_checkout():
    """An installed copy under a checkout (a venv's site-packages in .venv/) must not borrow its commit."""
    from sim.io import NOT_A_CHECKOUT, PROJECT_ROOT, git_state

    assert git_state(PROJECT_ROOT / "sim") == {"commit": None, "dirty": None, "note": NOT_A_CHECKOUT}
    assert len(git_state()["commit"]) == 40
