"""Calibration with Optuna: shrunken studies run, the loss is what the fit table says, candidates share
seeds, an interrupted study resumes from its stored trials, the result is a usable config, and the
robustness rerun reports a conclusion per trial."""

from __future__ import annotations

import json

import optuna
import pandas as pd
import pytest

from experiments.analysis.targets import load_targets, loss
from experiments.kinds import calibrate
from experiments.replication import exploratory
from sim import load_config
from sim.config import check
from sim.params import FirmsConfig
from sim.schema import ConfigError

#: Two survival targets, two free parameters, 150 firms, seeds 0-1, one process.
SHRUNKEN = ("experiment=calibrate", "firms.n_firms=150", "experiment.n_seeds=2", "experiment.workers=1",
            "experiment.progress=false", "experiment.targets=[survival_12m,survival_60m]",
            "experiment.free_parameters=[firms.mean_margin,firms.p_closure]")


def config(*overrides: str):
    return check(load_config(*SHRUNKEN, *overrides))


def stored_trials(folder) -> list[optuna.trial.FrozenTrial]:
    study = optuna.load_study(study_name=calibrate.STUDY_NAME, storage=f"sqlite:///{folder / 'study.db'}")
    return study.get_trials(deepcopy=False)


def test_shrunken_calibration_writes_best_parameters_fit_and_figures(tmp_path):
    summary = calibrate.run(config("experiment.n_trials=3"), tmp_path)
    best = json.loads((tmp_path / "best_params.json").read_text())
    assert summary["n_trials"] == 3 and set(best["params"]) == {"firms.mean_margin", "firms.p_closure"}
    assert -0.03 <= best["params"]["firms.mean_margin"] <= 0.03, "expected the declared range to be searched"
    fit = pd.read_parquet(tmp_path / "fit.parquet")
    targets = load_targets(["survival_12m", "survival_60m"])
    recomputed = sum(loss(t, float(fit.set_index("target").loc[t.name, "model"])) for t in targets)
    assert best["loss"] == pytest.approx(recomputed), "expected the stored loss to be the fit table's loss"
    trials = pd.read_parquet(tmp_path / "trials.parquet")
    assert best["loss"] == pytest.approx(trials["value"].min())
    first = stored_trials(tmp_path)[0].params
    defaults = FirmsConfig()
    assert first == {"firms.mean_margin": defaults.mean_margin, "firms.p_closure": defaults.p_closure}, (
        f"expected the first trial at the configured (default) values, got {first}")
    report = (tmp_path / "calibration.md").read_text()
    assert report.startswith("# Calibration") and "| `survival_12m` |" in report
    for name in ("optimisation_history", "parameters_vs_loss"):
        assert (tmp_path / "figures" / f"{name}.png").is_file()


def test_every_candidate_runs_on_the_same_seeds(tmp_path):
    """The same parameters asked twice give exactly the same loss (common random numbers)."""
    cfg = config("experiment.n_trials=2")
    free = exploratory.load().free_parameters(cfg.experiment.free_parameters)
    targets = load_targets(cfg.experiment.targets)
    study = calibrate.open_study(tmp_path, 0, free, targets, resume=False)
    point = {"firms.mean_margin": 0.01, "firms.p_closure": 0.002}
    study.enqueue_trial(point)
    study.enqueue_trial(point)
    calibrate.optimise(cfg, study, free, targets)
    values = [t.value for t in calibrate.complete_trials(study)]
    assert len(values) == 2 and values[0] == values[1], f"expected equal losses for equal parameters, got {values}"


def test_resumed_calibration_continues_from_the_stored_trials(tmp_path):
    """n_trials counts every session; a trial left running by an interruption is retried with its parameters;
    the resumed study continues in the new run folder (a copy), leaving the earlier folder untouched."""
    first = tmp_path / "first"
    calibrate.run(config("experiment.n_trials=2"), first)
    before = {t.number: t.params for t in stored_trials(first)}
    # An interrupted session: a trial was asked and never told.
    study = optuna.load_study(study_name=calibrate.STUDY_NAME, storage=f"sqlite:///{first / 'study.db'}")
    interrupted = study.ask({"firms.mean_margin": optuna.distributions.FloatDistribution(-0.03, 0.03),
                             "firms.p_closure": optuna.distributions.FloatDistribution(0.0005, 0.004)})
    summary = calibrate.run(config("experiment.n_trials=4", f"experiment.resume={first}"), tmp_path / "second")
    assert len(stored_trials(first)) == len(before) + 1, "expected the earlier run folder left as it was"
    trials = stored_trials(tmp_path / "second")
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert summary["n_trials"] == 4 and len(done) == 4, f"expected 4 finished trials in all, got {len(done)}"
    for number, params in before.items():
        assert trials[number].params == params, "expected the first session's trials kept as they were"
    assert trials[interrupted.number].state == optuna.trial.TrialState.FAIL
    assert any(t.params == interrupted.params for t in done), "expected the interrupted trial's parameters retried"


def test_resume_refuses_a_study_of_another_problem(tmp_path):
    calibrate.run(config("experiment.n_trials=1"), tmp_path)
    with pytest.raises(ConfigError, match="resume"):
        calibrate.run(config("experiment.n_trials=2", f"experiment.resume={tmp_path}",
                             "experiment.free_parameters=[firms.mean_margin]"), tmp_path / "other")
    with pytest.raises(ConfigError, match="no study.db"):
        calibrate.run(config(f"experiment.resume={tmp_path / 'nowhere'}"), tmp_path / "x")


def test_written_config_is_an_override_group_validate_can_use(tmp_path):
    """write_config writes configs/calibrated/<name>.yaml; calibrated=<name> sets the best parameters."""
    name = "test_written_by_calibrate"
    path = calibrate.CALIBRATED_DIR / f"{name}.yaml"
    try:
        summary = calibrate.run(config("experiment.n_trials=1", f"experiment.write_config={name}"), tmp_path)
        cfg = check(load_config("experiment=validate", f"calibrated={name}"))
        for key, value in summary["best_params"].items():
            group, leaf = key.split(".")
            assert getattr(getattr(cfg, group), leaf) == pytest.approx(value), f"expected {key}={value}"
    finally:
        path.unlink(missing_ok=True)


def test_robustness_reruns_the_uplift_at_the_best_trials(tmp_path):
    summary = calibrate.run(config("experiment.n_trials=2", "experiment.robustness_experiment=uplift",
                                   "experiment.top_k=2", "experiment.robustness_seeds=2"), tmp_path)
    table = pd.read_parquet(tmp_path / "robustness.parquet")
    assert len(table) == 2 and table["conclusion"].str.startswith("uplift ").all()
    assert summary["robustness"]["holds"] == (table["conclusion"].nunique() == 1)
    assert "Does the conclusion hold" in (tmp_path / "calibration.md").read_text()
