"""Sweep files compose and run, shrunken, as real Hydra multiruns; collect turns a sweep into one table.

The multirun tests start ``python -m experiments.run -m sweep=<name>`` as a
subprocess, on a reduced grid (the first and last value of each swept
parameter, given on the command line, which replaces the file's values). One
of them runs the default joblib launcher on every core; the others set
``hydra.launcher.n_jobs=1`` (joblib then runs the jobs in its own process),
which keeps the suite fast. tests/test_cluster.py runs one through submitit.
"""

from __future__ import annotations

import itertools
import json
import math
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import OmegaConf

from experiments import collect
from experiments.run import preflight
from sim import ConfigError, load_config
from sim.config import CONFIG_DIR
from sim.params import register_schema
from tests.conftest import PROJECT_ROOT, fault_env, run_cli

SWEEP_FILES = sorted(p.stem for p in (CONFIG_DIR / "sweep").glob("*.yaml"))

#: A small world for every sweep job; alliances form from month 24, so 36 months see some.
SHRINK = ("firms.n_firms=80", "months=36", "experiment.n_seeds=2",
          "alliances.search.p_seek_max=0.2")  # enough alliances in so small a world for every outcome

#: The experiment each sweep file runs (uplift unless listed).
SWEEP_KIND = {"policy_budget": "policy_compare"}

#: Outcome columns each experiment's collected table must hold, finite.
OUTCOMES = {"uplift": ("uplift_revenue", "uplift_revenue_lo", "uplift_revenue_hi", "naive_gap"),
            "policy_compare": ("instruments.credit.public_cost", "instruments.credit.extra_firm_years",
                               "instruments.training.public_cost")}

#: The sweep that runs with the default joblib settings (every core).
PARALLEL_SWEEP = "compatibility_control"


def sweep_config(name: str):
    """A sweep file composed with the primary config, Hydra's own node included."""
    register_schema()
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            return compose(config_name="config", overrides=[f"sweep={name}"], return_hydra_config=True)
    finally:
        GlobalHydra.instance().clear()


def swept_values(name: str) -> dict[str, list[str]]:
    """Parameter -> values swept by the file's ``hydra.sweeper.params``."""
    params = sweep_config(name).hydra.sweeper.params
    parsed = OverridesParser.create().parse_overrides([f"{k}={v}" for k, v in params.items()])
    return {ov.get_key_element(): list(ov.sweep_string_iterator()) for ov in parsed}


def run_sweep(name: str, sweep_dir, *overrides: str):
    """Run the sweep as a multirun subprocess writing into ``sweep_dir``; fail with its output if it fails."""
    done = run_cli(["-m", f"sweep={name}", *SHRINK, f"hydra.sweep.dir={sweep_dir}", *overrides], cwd=PROJECT_ROOT,
                   timeout=150)
    assert done.returncode == 0, f"the multirun exited with {done.returncode}:\n{done.stdout}\n{done.stderr}"
    assert_sweep_console(done, sweep_dir, failed=0)
    return done


def assert_sweep_console(done, sweep_dir, failed: int) -> None:
    """The terminal shows one progress bar and a closing summary, and no job's own output, which goes to each
    job's job.log with its JSON headline numbers."""
    terminal = done.stdout + done.stderr
    assert '"run_folder"' not in terminal and "[HYDRA]" not in terminal, f"expected no job output:\n{terminal}"
    jobs = [p for p in sweep_dir.iterdir() if (p / "manifest.json").is_file()]
    assert "sweep jobs: 100%" in done.stderr and f"{len(jobs)}/{len(jobs)}" in done.stderr, done.stderr
    assert (f"sweep finished: {len(jobs) - failed} of {len(jobs)} jobs completed, {failed} did not complete"
            in done.stderr), done.stderr
    assert f"sweep folder: {sweep_dir}" in done.stderr
    assert f"python -m experiments.collect {sweep_dir}" in done.stderr
    for job in jobs:
        log = (job / "job.log").read_text()
        if json.loads((job / "manifest.json").read_text())["status"] == "completed":
            assert f'"run_folder": "{job}"' in log, f"expected the job's JSON in its own log {job}/job.log"


def test_there_are_sweep_files():
    """configs/sweep/ holds the sweeps the issue asks for."""
    assert {"compatibility_control", "trust_rates", "cluster_savings"} <= set(SWEEP_FILES), (
        f"expected the three required sweeps, found {SWEEP_FILES}")


@pytest.mark.parametrize("name", SWEEP_FILES)
def test_sweep_file_sweeps_its_experiment_and_names_no_launcher(name):
    """The file selects multirun, its experiment in one process and a grid; the launcher is the primary
    config's default (joblib on local cores), since a sweep file names no launcher or launcher option."""
    cfg = sweep_config(name)
    assert str(cfg.hydra.mode).endswith("MULTIRUN"), f"{name}: expected hydra.mode MULTIRUN, got {cfg.hydra.mode}"
    assert cfg.hydra.launcher._target_.endswith("JoblibLauncher"), f"{name}: expected the default joblib launcher"
    raw = OmegaConf.load(CONFIG_DIR / "sweep" / f"{name}.yaml")
    assert "launcher" not in raw.get("hydra", {}), f"{name}: expected no hydra.launcher options in the file"
    assert not [d for d in raw.get("defaults", []) if "launcher" in str(d)], f"{name}: expected no launcher choice"
    kind = SWEEP_KIND.get(name, "uplift")
    assert cfg.experiment.kind == kind, f"{name}: expected the {kind} experiment, got {cfg.experiment.kind}"
    assert cfg.experiment.workers == 1 and not cfg.experiment.progress, (
        f"{name}: expected experiment.workers=1 and progress=false (the launcher parallelises jobs)")
    assert swept_values(name), f"{name}: expected hydra.sweeper.params to sweep at least one parameter"


@pytest.mark.parametrize("name", SWEEP_FILES)
def test_every_grid_point_of_a_sweep_file_is_a_valid_configuration(name):
    """Each combination of the file's swept values composes and passes the schema's ranges.

    The preflight of experiments.run validates the command line, not the
    values inside a sweep file, so a bad value there would only fail its job.
    """
    grid = swept_values(name)
    for values in itertools.product(*grid.values()):
        combo = [f"{k}={v}" for k, v in zip(grid, values)]
        try:
            load_config(f"sweep={name}", *combo)
        except ConfigError as err:
            pytest.fail(f"{name}: grid point {combo} is rejected: {err}")


def test_preflight_accepts_a_sweep_file_and_rejects_an_unknown_one():
    """sweep=<name> passes the preflight, every grid point validated; an unknown name fails it in one line
    listing the sweeps."""
    n_points = math.prod(len(v) for v in swept_values(SWEEP_FILES[0]).values())
    assert preflight(["-m", f"sweep={SWEEP_FILES[0]}"]) == n_points, (
        f"expected the {n_points} grid points of {SWEEP_FILES[0]} to validate")
    with pytest.raises(ConfigError) as info:
        preflight(["-m", "sweep=nope"])
    for name in SWEEP_FILES:
        assert name in str(info.value), f"expected the known sweep {name!r} in: {info.value}"


def test_preflight_rejects_an_out_of_range_sweep_value_given_on_the_command_line():
    """A swept value on the command line is validated before any job starts."""
    with pytest.raises(ConfigError) as info:
        preflight(["-m", "sweep=trust_rates", "alliances.trust.loss_rate=0.4,1.5"])
    assert "alliances.trust.loss_rate" in str(info.value) and "1.5" in str(info.value), (
        f"expected the message to name the parameter and the value 1.5, got: {info.value}")


@pytest.mark.parametrize("name", SWEEP_FILES)
def test_sweep_runs_as_multirun_and_collects_one_row_per_job(name, tmp_path):
    """A shrunken multirun writes one run folder per job; collect gives one row each with the swept columns."""
    grid = {k: [v[0], v[-1]] for k, v in swept_values(name).items()}
    launcher = [] if name == PARALLEL_SWEEP else ["hydra.launcher.n_jobs=1"]
    run_sweep(name, tmp_path / "sweep", *[f"{k}={','.join(v)}" for k, v in grid.items()], *launcher)

    kind = SWEEP_KIND.get(name, "uplift")
    heatmap = ["--heatmap", *list(grid)[:2], "uplift_revenue"] if len(grid) >= 2 and kind == "uplift" else []
    if kind == "policy_compare":  # a budget-response curve drawn from the collected table
        heatmap = ["--curve", list(grid)[0], "public_cost"]
    assert collect.main([str(tmp_path / "sweep"), "--out", str(tmp_path / "table.parquet"), *heatmap]) == 0
    table = pd.read_parquet(tmp_path / "table.parquet")
    n_jobs = math.prod(len(v) for v in grid.values())
    assert sorted(table["job"]) == list(range(n_jobs)), f"expected jobs 0..{n_jobs - 1}, got {list(table['job'])}"
    assert (table["status"] == "completed").all(), f"expected every job completed, got {table[['job', 'status']]}"
    config_roots = {"seed", "months", "firms", "births", "market", "alliances", "output", "experiment", "policies"}
    varying = [c for c in table.columns if c in grid or c.split(".")[0] in config_roots and "." in c]
    assert sorted(varying) == sorted(grid), f"expected exactly the swept columns {sorted(grid)}, got {varying}"
    for key, values in grid.items():
        assert sorted(table[key].unique()) == sorted(float(v) for v in values), (
            f"expected {key} to take the values {values}, got {sorted(table[key].unique())}")
    for col in OUTCOMES[kind]:
        assert table[col].map(math.isfinite).all(), f"expected a finite {col} for every job, got {table[col]}"
    if heatmap and kind == "uplift":
        assert (tmp_path / "table_uplift_revenue.png").is_file(), "expected the heatmap next to the table"
    if kind == "policy_compare":
        assert (tmp_path / "table_public_cost_curve.png").is_file(), "expected the response curve next to the table"


def test_preflight_rejects_an_out_of_range_value_in_the_sweep_grid():
    """Values of hydra.sweeper.params (a sweep file's grid, or one given on the command line) are validated too."""
    with pytest.raises(ConfigError) as info:
        preflight(["-m", "sweep=trust_rates", "hydra.sweeper.params={alliances.trust.loss_rate:'0.4,1.5'}"])
    assert "alliances.trust.loss_rate=1.5" in str(info.value), f"expected the bad grid value named: {info.value}"


@pytest.fixture(scope="module")
def sweep_with_a_bad_job(tmp_path_factory):
    """trust_rates on two loss rates; the job with loss rate 0.8 finds the disk full once it has started,
    a failure at run time that no preflight can see."""
    base = tmp_path_factory.mktemp("bad")
    sweep_dir = base / "sweep"
    env = fault_env(base / "faults", FULL_DISK_AT_LOSS_RATE_08)
    done = run_cli(["-m", "sweep=trust_rates", *SHRINK, f"hydra.sweep.dir={sweep_dir}", "alliances.trust.build_rate=0.05",
                    "hydra.launcher.n_jobs=1", "alliances.trust.loss_rate=0.4,0.8"], cwd=PROJECT_ROOT, timeout=150,
                   env=env)
    return sweep_dir, done


#: A sitecustomize that makes the replications of any run with alliances.trust.loss_rate=0.8 hit a full disk.
FULL_DISK_AT_LOSS_RATE_08 = """
import experiments.compare as compare
_run_jobs = compare.run_jobs
def run_jobs(jobs, *args, **kwargs):
    if jobs and jobs[0][1].alliances.trust.loss_rate == 0.8:
        raise OSError(28, "No space left on device")
    return _run_jobs(jobs, *args, **kwargs)
compare.run_jobs = run_jobs
"""


def test_a_bad_job_fails_alone_and_collect_names_it(sweep_with_a_bad_job, tmp_path, capsys):
    """The good job's run folder is complete; the bad one is logged and marked failed, and collect reports it."""
    sweep_dir, done = sweep_with_a_bad_job
    assert done.returncode == 1, f"expected exit code 1 for a sweep with a failed job, got {done.returncode}"
    assert_sweep_console(done, sweep_dir, failed=1)
    bad = next(p for p in sweep_dir.iterdir() if "loss_rate=0.8" in p.name)
    assert "job 1 failed" in (bad / "job.log").read_text(), "expected the failed job logged in its own job.log"
    assert f"did not complete: {bad.name}: failed" in done.stderr and "No space left" in done.stderr, (
        f"expected the sweep to list its failed job:\n{done.stderr}")
    assert f"python -m experiments.run resume={sweep_dir}" in done.stderr, "expected how to rerun the failed job"

    assert collect.main([str(sweep_dir), "--out", str(tmp_path / "table.parquet")]) == 0
    printed = capsys.readouterr().out
    table = pd.read_parquet(tmp_path / "table.parquet").set_index("job")
    assert list(table["status"]) == ["completed", "failed"], f"expected one good and one failed job:\n{table}"
    assert list(table["alliances.trust.loss_rate"]) == [0.4, 0.8], "expected the swept loss rates as a column"
    good = json.loads((Path(table.loc[0, "run_folder"]) / "manifest.json").read_text())
    assert good["status"] == "completed" and (Path(table.loc[0, "run_folder"]) / "summary.json").is_file(), (
        f"expected job 0 completed with a summary, got {good['status']}")
    assert "No space left" in table.loc[1, "error"], f"expected the write error, got {table.loc[1]}"
    assert math.isfinite(table.loc[0, "uplift_revenue"]), "expected outcomes for the good job"
    assert "job 1" in printed, f"expected collect to name the failed job:\n{printed}"


def test_collect_reports_a_planned_job_whose_folder_is_gone(sweep_with_a_bad_job, tmp_path, capsys):
    """A job the sweep planned but that left no folder is a 'missing' row with its swept values."""
    sweep_dir = tmp_path / "sweep"
    shutil.copytree(sweep_with_a_bad_job[0], sweep_dir)
    shutil.rmtree(next(p for p in sweep_dir.iterdir() if "loss_rate=0.4" in p.name))
    assert collect.main([str(sweep_dir)]) == 0
    table = pd.read_parquet(sweep_dir / "table.parquet").set_index("job")
    assert table.loc[0, "status"] == "missing" and table.loc[0, "alliances.trust.loss_rate"] == 0.4, (
        f"expected job 0 missing with loss rate 0.4, got {table.loc[0].to_dict()}")
    assert "job 0" in capsys.readouterr().out, "expected collect to name the missing job"


def test_summary_outcomes_become_flat_columns():
    """CIs split into _lo/_hi after their estimate, nested dicts get dotted keys, other lists are counted."""
    summary = {"n_seeds": 3, "uplift_revenue": 0.1, "failed_runs": ["seed 2"], "uplift_revenue_ci": [0.0, 0.2],
               "instruments": {"credit": {"public_cost": 5.0}}}
    assert collect.outcome_columns(summary) == {
        "n_seeds": 3, "uplift_revenue": 0.1, "uplift_revenue_lo": 0.0, "uplift_revenue_hi": 0.2,
        "n_failed_runs": 1, "instruments.credit.public_cost": 5.0}
    assert list(collect.outcome_columns(summary))[:4] == ["n_seeds", "uplift_revenue", "uplift_revenue_lo",
                                                          "uplift_revenue_hi"]


def test_a_command_line_sweep_without_a_sweep_file_is_collected(tmp_path):
    """-m with values on the command line only (no sweep file): one row per job, the swept columns vary."""
    done = run_cli(["-m", "seed=0,1", "scenario=baseline,crisis", "market.crisis.start_month=3", "firms.n_firms=60",
                    "months=6", "hydra.launcher.n_jobs=1",
                    f"hydra.sweep.dir={tmp_path / 'sweep'}"], cwd=PROJECT_ROOT, timeout=150)
    assert done.returncode == 0, done.stderr
    assert collect.main([str(tmp_path / "sweep")]) == 0
    table = pd.read_parquet(tmp_path / "sweep" / "table.parquet")
    assert len(table) == 4 and (table["status"] == "completed").all(), f"expected 4 completed jobs:\n{table}"
    assert {"seed", "market.crisis.enabled"} <= set(table.columns), f"expected the swept columns: {list(table.columns)}"
