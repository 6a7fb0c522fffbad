"""From one machine to a cluster: sweeps through submitit's launcher, replications as submitit jobs,
and a launcher that cannot run reported in one line.

submitit's local cluster stands in for Slurm: it runs each job as its own
process from the same pickled function and inputs that Slurm would receive.
"""

from __future__ import annotations

import pandas as pd
import pytest

from experiments import collect, launchers
from experiments.compare import paired_jobs, run_jobs
from experiments.uplift import ARMS
from sim import load_config
from tests.conftest import PROJECT_ROOT, run_cli

pytest.importorskip("hydra_plugins.hydra_submitit_launcher", reason="the cluster extra is not installed")


def test_sweep_file_runs_through_the_submitit_local_launcher(tmp_path):
    """sweep=trust_rates with hydra/launcher=submitit_local: each job its own process, every job completed."""
    sweep_dir = tmp_path / "sweep"
    done = run_cli(["-m", "sweep=trust_rates", "hydra/launcher=submitit_local", "firms.n_firms=60", "months=12",
                    "experiment.n_seeds=2", "alliances.trust.build_rate=0.05", "alliances.trust.loss_rate=0.2,0.8",
                    f"hydra.sweep.dir={sweep_dir}"], cwd=PROJECT_ROOT, timeout=150)
    assert done.returncode == 0, f"the submitit multirun failed:\n{done.stdout}\n{done.stderr}"
    assert any((sweep_dir / ".submitit").iterdir()), "expected submitit's job folders under the sweep"
    assert collect.main([str(sweep_dir), "--out", str(tmp_path / "table.parquet")]) == 0
    table = pd.read_parquet(tmp_path / "table.parquet").sort_values("job")
    assert list(table["status"]) == ["completed", "completed"], f"expected two completed jobs:\n{table}"
    assert list(table["alliances.trust.loss_rate"]) == [0.2, 0.8]


def test_replications_as_submitit_jobs_equal_local_processes(tmp_path):
    """experiment.executor=submitit (local cluster, 3 replications a job) returns, in order, what local runs return."""
    cfg = load_config("firms.n_firms=60", "months=30", "experiment.n_seeds=2", "experiment.progress=false",
                      "experiment.executor=submitit", "experiment.submitit.cluster=local",
                      "experiment.submitit.replications_per_job=3", f"experiment.submitit.folder={tmp_path}/%j")
    jobs = paired_jobs(cfg, ARMS, 2)
    remote = run_jobs(jobs, progress=False)
    local_cfg = load_config("firms.n_firms=60", "months=30")
    local = run_jobs(paired_jobs(local_cfg, ARMS, 2), workers=1, progress=False)
    assert [(r.arm, r.seed, r.error) for r in remote] == [(r.arm, r.seed, None) for r in local]
    for a, b in zip(remote, local):
        assert a.summary == b.summary, f"expected identical summaries for {a.arm} seed {a.seed}"
    assert len([p for p in tmp_path.iterdir() if p.name != "%j"]) == 2, "expected 4 replications in 2 jobs"


def test_unknown_launcher_is_one_line_with_exit_2(tmp_path):
    done = run_cli(["-m", "hydra/launcher=slurmm", "months=3"], cwd=tmp_path, timeout=60)
    assert done.returncode == 2, f"expected exit 2, got {done.returncode}:\n{done.stderr}"
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "hydra/launcher=slurmm is not a known launcher; allowed:" in lines[0], lines
    assert "slurm" in lines[0] and "submitit_local" in lines[0], f"expected the launchers listed: {lines[0]}"


def test_wrong_launcher_field_is_one_line():
    """A misspelt field is named before the machine is checked for Slurm."""
    with pytest.raises(launchers.ConfigError) as err:
        launchers.check_launcher(["-m", "hydra/launcher=slurm", "hydra.launcher.partiton=short"])
    assert "hydra.launcher.partiton is not a field of this launcher" in str(err.value)


def test_uninstalled_submitit_plugin_names_the_extra():
    line = launchers.launcher_error("slurm", ["basic", "joblib", "slurm"], "Could not find 'submitit_slurm'",
                                    plugin_installed=False)
    assert line == ("hydra/launcher=slurm needs hydra-submitit-launcher, which is not installed; "
                    "install it with: pip install 'alianzas[cluster]'")


def test_slurm_launcher_config_documents_its_fields(monkeypatch):
    """configs/hydra/launcher/slurm.yaml sets partition, time, memory and array parallelism, each commented."""
    monkeypatch.setattr(launchers.shutil, "which", lambda name: f"/usr/bin/{name}")  # as on a login node
    text = (PROJECT_ROOT / "configs" / "hydra" / "launcher" / "slurm.yaml").read_text()
    for key in ("partition:", "timeout_min:", "mem_gb:", "array_parallelism:"):
        line = next((ln for ln in text.splitlines() if ln.startswith(key)), "")
        assert "#" in line, f"expected {key} set and explained in slurm.yaml, got {line!r}"
    assert launchers.chosen_launcher(["-m", "hydra/launcher=slurm"]) == "slurm"
    launchers.check_launcher(["-m", "hydra/launcher=slurm", "hydra.launcher.partition=short"])


def test_submitit_executor_without_submitit_is_one_line(monkeypatch):
    monkeypatch.setattr(launchers, "submitit_installed", lambda: False)
    with pytest.raises(launchers.ConfigError) as err:
        launchers.check_launcher(["experiment=uplift", "experiment.executor=submitit"])
    assert str(err.value).startswith("experiment.executor=submitit needs submitit, which is not installed")


def test_slurm_launcher_without_slurm_is_one_line_with_exit_2(tmp_path, monkeypatch):
    """No sbatch on PATH (not a Slurm login node): one line that says so, exit 2, nothing launched."""
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    done = run_cli(["-m", "sweep=trust_rates", "hydra/launcher=slurm", f"hydra.sweep.dir={tmp_path / 'sweep'}"],
                   cwd=tmp_path, timeout=60)
    assert done.returncode == 2, f"expected exit 2, got {done.returncode}:\n{done.stderr}"
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "needs Slurm, but sbatch is not on PATH" in lines[0], lines
    assert "Traceback" not in done.stderr and not (tmp_path / "sweep").exists()


def test_slurm_jobs_carry_the_experiment_name(tmp_path, monkeypatch):
    """The Slurm launcher's job name is the experiment's (sweep=trust_rates -> trust_rates), not Hydra's "run";
    with sbatch on PATH the launcher is accepted."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra
    from omegaconf import OmegaConf

    from sim.config import CONFIG_DIR

    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
            cfg = compose(config_name="config", overrides=["sweep=trust_rates", "hydra/launcher=slurm"],
                          return_hydra_config=True)
            assert OmegaConf.select(cfg, "hydra.launcher.name") == "trust_rates"
    finally:
        GlobalHydra.instance().clear()
    sbatch = tmp_path / "bin" / "sbatch"
    sbatch.parent.mkdir()
    sbatch.write_text("#!/bin/sh\nexit 1\n")
    sbatch.chmod(0o755)
    monkeypatch.setenv("PATH", f"{sbatch.parent}:/usr/bin:/bin")
    launchers.check_launcher(["-m", "sweep=trust_rates", "hydra/launcher=slurm"])
