"""A killed run keeps what finished, says it was interrupted, leaves no process behind, and resumes exactly.

Faults are injected into real subprocesses with a ``sitecustomize`` module
(``tests.conftest.fault_env``): a worker that kills itself (SIGKILL) on one
replication, a run slowed down so that it can be signalled while its workers
run, a sweep job whose disk is full. Every world is tiny (60 firms, 24 months).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pandas as pd
import pytest

from experiments import collect
from experiments.run import main, run_experiment
from experiments.status import status_lines
from sim import check, load_config
from tests.conftest import fault_env, run_cli

TINY = ("experiment=uplift", "firms.n_firms=60", "months=24", "experiment.n_seeds=4", "experiment.progress=false")

#: A worker running the alliances arm of seed 2 kills itself, as the out-of-memory killer would.
KILL_WORKER_AT_SEED_2 = """
import os, signal
import sim.model as model
_run_for = model.AllianceModel.run_for
def run_for(self, months):
    if os.environ.get("ALIANZAS_FAULT") and self.cfg.seed == 2 and self.cfg.alliances.enabled:
        os.kill(os.getpid(), signal.SIGKILL)
    return _run_for(self, months)
model.AllianceModel.run_for = run_for
"""

#: Every model run of seed 1 and above takes two extra seconds, so a signal reaches the run mid-way.
SLOW_RUNS = """
import time
import sim.model as model
_run_for = model.AllianceModel.run_for
def run_for(self, months):
    if self.cfg.seed >= 1:
        time.sleep(2.0)
    return _run_for(self, months)
model.AllianceModel.run_for = run_for
"""


def run_folder_of(root: Path) -> Path:
    """The one run folder under ``<root>/runs``."""
    folders = sorted((root / "runs").iterdir())
    assert len(folders) == 1, f"expected one run folder, found {folders}"
    return folders[0]


def tagged_processes(tag: str) -> list[int]:
    """Pids of live processes whose environment carries ``tag`` (every process a command started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if tag.encode() in environ and state != "Z":
            found.append(int(entry.name))
    return found


def run_main(args: list[str]) -> int:
    """``experiments.run.main`` in this process (only for commands refused before Hydra starts)."""
    return main(args)


def wait_until(predicate, timeout: float, step: float = 0.2) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run, in this process on one worker (the numbers do not depend on the worker count)."""
    folder = tmp_path_factory.mktemp("reference") / "run"
    run_experiment(check(load_config(*TINY, "experiment.workers=1")), folder)
    return folder


def test_a_killed_worker_loses_only_its_runs_and_resume_gives_the_uninterrupted_numbers(reference, tmp_path):
    """Kill a worker mid-experiment: the run fails in one line with what finished saved; resume=<folder>
    reruns only the rest and its tables equal the uninterrupted run's exactly."""
    env = fault_env(tmp_path / "faults", KILL_WORKER_AT_SEED_2) | {"ALIANZAS_FAULT": "1"}
    first = run_cli([*TINY, "experiment.workers=2", f"output.root={tmp_path}"], cwd=tmp_path, env=env)
    assert first.returncode == 1, f"expected exit 1 after a worker died, got {first.returncode}: {first.stderr}"
    assert "Traceback" not in first.stderr, f"expected no traceback: {first.stderr[-1500:]}"
    assert "worker process died" in first.stderr, f"expected the dead worker named: {first.stderr[-800:]}"
    folder = run_folder_of(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "worker process died" in manifest["error"], manifest
    saved = {p.stem: json.loads(p.read_text())["status"] for p in (folder / "replications").glob("*.json")}
    assert "alliances_seed2" not in saved, f"expected the killed run not saved, got {saved}"
    assert 1 <= len(saved) < 8, f"expected some but not all 8 runs saved, got {sorted(saved)}"
    before = {k: (folder / "replications" / f"{k}.json").stat().st_mtime_ns for k in saved}

    second = run_cli([f"resume={folder}"], cwd=tmp_path)
    assert second.returncode == 0, f"expected the resume to complete: {second.stderr[-1500:]}"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "completed", manifest
    assert [a["status"] for a in manifest["attempts"]] == ["failed"], "expected the first attempt kept"
    after = {k: (folder / "replications" / f"{k}.json").stat().st_mtime_ns for k in saved}
    assert after == before, "expected the runs saved by the first attempt not to run again"
    for table in ("replications", "estimates"):
        resumed = pd.read_parquet(folder / f"{table}.parquet")
        uninterrupted = pd.read_parquet(reference / f"{table}.parquet")
        pd.testing.assert_frame_equal(resumed, uninterrupted, check_exact=True, obj=table)
    resumed_summary = json.loads((folder / "summary.json").read_text())
    assert resumed_summary == json.loads((reference / "summary.json").read_text()), "expected the same summary"


def test_resume_refuses_a_changed_configuration(reference, tmp_path, capsys):
    """A resume replays the run's own configuration: a changed model value, or a changed recorded hash, stops it
    with one line and exit code 2."""
    manifest = json.loads((reference / "manifest.json").read_text())
    manifest["overrides"] = list(TINY) + ["experiment.workers=1"]  # as the command line would have recorded them
    (reference / "manifest.json").write_text(json.dumps(manifest))
    assert run_main([f"resume={reference}", "firms.n_firms=61"]) == 2
    assert "firms.n_firms" in capsys.readouterr().err, "expected the changed parameter named"
    folder = tmp_path / "copy"
    folder.mkdir()
    for path in reference.iterdir():
        if path.is_file():
            (folder / path.name).write_bytes(path.read_bytes())
    manifest.update(config_hash="0" * 64, status="failed")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    assert run_main([f"resume={folder}"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "no longer matches" in lines[0], lines
    assert run_main([f"resume={tmp_path / 'nothing'}"]) == 2
    assert "not a run or sweep folder" in capsys.readouterr().err


def test_an_interrupt_in_process_records_interrupted(tmp_path):
    """Ctrl-C (KeyboardInterrupt) inside an experiment ends it as interrupted, not running."""
    cfg = check(load_config(*TINY, "experiment.workers=1"))
    folder = tmp_path / "run"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("experiments.uplift.paired_table", interrupted)
        with pytest.raises(KeyboardInterrupt):
            run_experiment(cfg, folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["ended"], manifest


@pytest.mark.parametrize("how, sweep", [("SIGTERM", False), ("SIGKILL", False), ("SIGTERM", True)],
                         ids=["run-SIGTERM", "run-SIGKILL", "sweep-SIGTERM"])
def test_a_signalled_run_is_interrupted_and_leaves_no_process(how, sweep, tmp_path):
    """SIGTERM: workers stop, the manifest says interrupted. SIGKILL: nothing can be written, but the
    status view reads the run as interrupted, and the workers and forkserver exit on their own. A sweep on
    joblib's worker processes: the launcher and every job end, each job reads as interrupted."""
    tag = f"ALIANZAS_TEST_TAG={uuid.uuid4().hex}"
    env = {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}
    env |= fault_env(tmp_path / "faults", SLOW_RUNS) | dict([tag.split("=", 1)])
    args = ["-m", "seed=0,1", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "experiment.workers=1"] if sweep \
        else ["experiment.workers=2"]
    proc = subprocess.Popen([sys.executable, "-m", "experiments.run", *TINY, *args, f"output.root={tmp_path}"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    saved = "sweeps/*/*/replications/*.json" if sweep else "runs/*/replications/*.json"
    try:
        assert wait_until(lambda: list(tmp_path.glob(saved)), 90), (
            "expected a replication saved before the signal")
        assert len(tagged_processes(tag)) >= 3, "expected the run and its workers alive before the signal"
        proc.send_signal(getattr(signal, how))
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        stderr = proc.stderr.read()
    folder = next((tmp_path / "sweeps").iterdir()) if sweep else run_folder_of(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text())
    if sweep:
        assert code == 143 and manifest["status"] == "interrupted", f"expected the sweep interrupted: {manifest}"
        # A job the launcher had not yet started when the signal came reads as not started (a race of
        # the test, not a fault); at least the job that was running reads as interrupted.
        jobs = [line for line in status_lines(folder)[1:] if "missing" not in line]
        assert jobs and all(": interrupted" in line or ": not_started" in line for line in jobs), status_lines(folder)
        assert any(": interrupted" in line for line in jobs), status_lines(folder)
    elif how == "SIGKILL":
        assert code == -signal.SIGKILL and manifest["status"] == "running", "expected SIGKILL to write nothing"
    else:
        assert code == 143, f"expected exit code 143 (128 + SIGTERM), got {code}"
        assert manifest["status"] == "interrupted" and manifest["ended"], f"expected interrupted: {manifest}"
        assert "resume=" in stderr and "Traceback" not in stderr, stderr[-1500:]
    assert status_lines(folder)[0].startswith(f"{folder}: {'sweep ' if sweep else ''}interrupted"), status_lines(folder)
    assert wait_until(lambda: not tagged_processes(tag), 20), (
        f"expected no process of the run left, found {tagged_processes(tag)}")


def test_a_sweep_resumes_only_its_failed_job_keyed_by_overrides(tmp_path):
    """A sweep with a failed job exits 1; resume=<sweep> reruns that job only (found by its overrides, though
    Hydra numbers jobs from 0 again), and collect then tables every job completed."""
    fault = """
import os
import experiments.compare as compare
_run_jobs = compare.run_jobs
def run_jobs(jobs, *args, **kwargs):
    if os.environ.get("ALIANZAS_FAULT") and jobs and jobs[0][1].seed == 1:
        raise OSError(28, "No space left on device")
    return _run_jobs(jobs, *args, **kwargs)
compare.run_jobs = run_jobs
"""
    env = fault_env(tmp_path / "faults", fault) | {"ALIANZAS_FAULT": "1"}
    args = ["-m", "seed=0,1", "experiment=uplift", "firms.n_firms=60", "months=12", "experiment.n_seeds=2",
            "experiment.workers=1", "experiment.progress=false", "hydra.launcher.n_jobs=1", f"output.root={tmp_path}"]
    first = run_cli(args, cwd=tmp_path, env=env, timeout=150)
    assert first.returncode == 1 and "1 of 2 jobs completed, 1 did not complete" in first.stderr, first.stderr[-1500:]
    (sweep,) = (tmp_path / "sweeps").iterdir()
    records = {r.config["seed"]: r for r in collect.read_sweep(sweep)}
    assert records[0].status == "completed" and records[1].status == "failed", records
    good_started = json.loads((records[0].run_folder / "manifest.json").read_text())["started"]

    second = run_cli([f"resume={sweep}"], cwd=tmp_path, env=fault_env(tmp_path / "faults", fault), timeout=150)
    assert second.returncode == 0, second.stderr[-1500:]
    records = {r.config["seed"]: r for r in collect.read_sweep(sweep)}
    assert {s: r.status for s, r in records.items()} == {0: "completed", 1: "completed"}, records
    assert json.loads((records[0].run_folder / "manifest.json").read_text())["started"] == good_started, (
        "expected the completed job not to run again")
    assert len([p for p in sweep.iterdir() if p.is_dir()]) == 2, "expected the rerun in the job's own folder"
    assert json.loads((sweep / "manifest.json").read_text())["status"] == "completed"
