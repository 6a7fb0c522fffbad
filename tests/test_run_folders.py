"""Run folders belong to one run: created exclusively, written atomically with the user's umask, status honest.

These tests run in this process (no subprocess, no model run beyond a tiny
one), so they are fast; the end-to-end kills and resumes are in test_resume.py.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from experiments import collect, run
from experiments.kinds import EXPERIMENTS
from experiments.replication.compare import ArmResult
from experiments.runtime import preflight
from sim import check, load_config
from sim.files import atomic_write, write_json
from sim.io import ReplicationStore, RunFolder, RunFolderError, create_unique_folder
from sim.supervision import effective_status

TINY = ("firms.n_firms=30", "months=3")


def test_runs_started_in_the_same_second_get_their_own_folders(tmp_path, monkeypatch):
    """Eight runs with the same experiment, seed and timestamp each get a folder of their own (suffixes)."""
    monkeypatch.setattr(run, "_stamp", lambda: "2026-01-01_00-00-00")
    args = [*TINY, f"output.root={tmp_path}"]
    run.prepare(args)  # composes once, so the threads below race on the folder only
    with ThreadPoolExecutor(max_workers=8) as pool:
        folders = list(pool.map(lambda _: create_unique_folder(tmp_path / "runs", "2026-01-01_00-00-00_single_seed0"),
                                range(8)))
    names = sorted(f.name for f in folders)
    assert len(set(names)) == 8, f"expected 8 distinct folders, got {names}"
    assert "2026-01-01_00-00-00_single_seed0-2" in names and "2026-01-01_00-00-00_single_seed0-9" in names, names
    second = run.prepare(args)
    assert second.folder.name == "2026-01-01_00-00-00_single_seed0-10", f"expected the next suffix, got {second.folder}"
    assert second.hydra_args[-1] == f"hydra.run.dir={second.folder}", second.hydra_args


def test_a_folder_holding_a_run_is_never_written_by_another(tmp_path):
    """A second RunFolder on a folder with a manifest raises, and leaves the first run's files untouched."""
    cfg = check(load_config(*TINY))
    first = RunFolder(tmp_path, cfg, seed=0, kind="single")
    first.finish("completed")
    before = (tmp_path / "manifest.json").read_bytes()
    with pytest.raises(RunFolderError, match="already holds a run"):
        RunFolder(tmp_path, check(load_config(*TINY, "seed=5")), seed=5, kind="single")
    assert (tmp_path / "manifest.json").read_bytes() == before, "expected the first manifest untouched"
    assert "seed: 0" in (tmp_path / "config.yaml").read_text(), "expected the first config untouched"


def test_an_existing_non_empty_output_folder_is_refused(tmp_path, capsys):
    """hydra.run.dir naming a folder that already has files stops the command with one line, exit 2."""
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "summary.json").write_text("{}")
    assert run.main([*TINY, f"hydra.run.dir={tmp_path / 'old'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "already exists" in err[0] and "resume=" in err[0], err


def test_output_stays_under_the_results_root(tmp_path):
    """Runs go to <output.root>/runs/, sweeps to <output.root>/sweeps/; folder names are one path component."""
    single = run.prepare([*TINY, f"output.root={tmp_path / 'res'}", "experiment.name=my-label"])
    assert single.folder.parent == tmp_path / "res" / "runs" and "_my-label_seed0" in single.folder.name
    sweep = run.prepare(["-m", "seed=0,1", *TINY, f"output.root={tmp_path / 'res'}"])
    assert sweep.folder.parent == tmp_path / "res" / "sweeps", sweep.folder
    manifest = json.loads((sweep.folder / "manifest.json").read_text())
    assert manifest["kind"] == "sweep" and manifest["n_jobs"] == 2 and manifest["status"] == "running", manifest
    for bad in ("a/b", "../../..", ".hidden", ""):
        with pytest.raises(run.ConfigError, match="experiment.name"):
            run.prepare([*TINY, f"output.root={tmp_path}", f"experiment.name={bad}"])


def test_files_are_written_with_the_users_umask(tmp_path):
    """Results are readable by the group and others under umask 022, and private under umask 077."""
    for umask, mode in ((0o022, 0o644), (0o077, 0o600)):
        old = os.umask(umask)
        try:
            path = write_json(tmp_path / f"summary_{umask:o}.json", {"a": 1})
        finally:
            os.umask(old)
        got = stat.S_IMODE(path.stat().st_mode)
        assert got == mode, f"expected mode {mode:o} under umask {umask:o}, got {got:o}"


def test_manifest_and_summary_are_fsynced_and_a_failed_write_leaves_nothing(tmp_path, monkeypatch):
    """JSON writes flush to disk before the rename; a writer that fails removes its temporary file."""
    synced = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    write_json(tmp_path / "manifest.json", {"status": "running"})
    assert len(synced) >= 1, "expected an fsync of the manifest before its rename"

    def broken(path):
        path.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        atomic_write(tmp_path / "summary.json", broken)
    leftovers = sorted(p.name for p in tmp_path.iterdir())
    assert leftovers == ["manifest.json"], f"expected no temp file and no summary, found {leftovers}"


def test_a_running_manifest_whose_process_is_gone_reads_as_interrupted():
    """A dead pid on this host, or a heartbeat that stopped, makes 'running' read as 'interrupted'."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    now = datetime.now(UTC)
    alive = {"status": "running", "pid": os.getpid(), "host": socket.gethostname(), "heartbeat": now.isoformat()}
    assert effective_status(alive) == "running", "expected a live run to read as running"
    dead = alive | {"pid": int(done.stdout)}
    assert effective_status(dead) == "interrupted", "expected a run whose pid is gone to read as interrupted"
    stale = alive | {"host": "elsewhere", "heartbeat": (now - timedelta(minutes=10)).isoformat()}
    assert effective_status(stale) == "interrupted", "expected a stopped heartbeat to read as interrupted"
    assert effective_status(alive | {"status": "completed"}) == "completed"


def test_replications_round_trip_exactly(tmp_path):
    """A saved replication reads back with the same numbers, NaN and arrays included; failed ones do not load."""
    import numpy as np
    store = ReplicationStore(tmp_path)
    rec = ArmResult(arm="a", seed=3, summary={"x": 0.1 + 0.2, "n": np.int64(7), "u": float("nan"), "none": None,
                                              "nested": {"k": 1}},
                    series={"month": np.arange(4), "v": np.array([0.1, np.nan, 1e-300, 2.5])},
                    lifetimes={"died": np.array([True, False])},
                    firm_months={"revenue": np.array([[1.5, np.nan]], dtype=np.float32),
                                 "kind": np.array([[0, -1]], dtype=np.int8)})
    store.save("a_seed3", rec)
    back = store.load("a_seed3", ArmResult)
    assert back.summary["x"] == 0.1 + 0.2 and back.summary["n"] == 7 and np.isnan(back.summary["u"])
    assert back.summary["none"] is None and back.summary["nested"] == {"k": 1}
    np.testing.assert_array_equal(back.series["v"], rec.series["v"])
    assert back.lifetimes["died"].dtype == bool
    np.testing.assert_array_equal(back.firm_months["revenue"], rec.firm_months["revenue"])
    assert back.firm_months["kind"].dtype == np.int8
    store.save("a_seed4", ArmResult(arm="a", seed=4, error="boom"))
    assert store.load("a_seed4", ArmResult) is None, "expected a failed replication to be rerun, not loaded"
    assert store.statuses() == {"a_seed3": "completed", "a_seed4": "failed"}


@pytest.fixture(scope="module")
def small_sweep(tmp_path_factory):
    """A two-job sweep folder written in this process (folder layout as the launcher makes it)."""
    root = tmp_path_factory.mktemp("sweep")
    sweep = root / "sweep"
    for seed in (0, 1):
        job = sweep / f"seed={seed}-0000000{seed}"
        (job / ".hydra").mkdir(parents=True)
        (job / ".hydra" / "overrides.yaml").write_text(f"- seed={seed}\n")
        cfg = check(load_config(*TINY, f"seed={seed}"))
        run.run_experiment(cfg, job)
    return sweep


def test_collect_tables_the_rest_when_a_job_file_is_unreadable(small_sweep, tmp_path, capsys):
    """A corrupt manifest makes its job 'unreadable' with the reason; the other job is tabled; --out x.csv is CSV."""
    import shutil
    sweep = tmp_path / "sweep"
    shutil.copytree(small_sweep, sweep)
    bad = next(p for p in sweep.iterdir() if p.name.startswith("seed=1"))
    (bad / "manifest.json").write_text("{not json")
    assert collect.main([str(sweep), "--out", str(tmp_path / "x.csv")]) == 0
    table = pd.read_csv(tmp_path / "x.csv")
    assert sorted(table["status"]) == ["completed", "unreadable"], table[["status", "error"]]
    row = table[table["status"] == "unreadable"].iloc[0]
    assert "manifest.json" in row["error"] and "unreadable" in row["error"], row["error"]
    assert table["n_firms_initial"].notna().sum() == 1, "expected the readable job's outcomes tabled"
    assert "unreadable" in capsys.readouterr().out, "expected collect to name the unreadable job"


def test_collect_shows_a_job_whose_process_died_as_interrupted(small_sweep, tmp_path):
    """A job manifest left 'running' by a killed process is collected as interrupted, never running."""
    import shutil
    sweep = tmp_path / "sweep"
    shutil.copytree(small_sweep, sweep)
    job = next(p for p in sweep.iterdir() if p.name.startswith("seed=0"))
    manifest = json.loads((job / "manifest.json").read_text())
    manifest.update(status="running", ended=None, pid=2**22 + 12345, host=socket.gethostname())
    (job / "manifest.json").write_text(json.dumps(manifest))
    statuses = {r.config.get("seed"): r.status for r in collect.read_sweep(sweep)}
    assert statuses == {0: "interrupted", 1: "completed"}, statuses


KIND_ARGS = {
    "single": ("experiment=single",),
    "uplift": ("experiment=uplift",),
    "uplift_frontier": ("experiment=uplift_frontier", "experiment.grid=['alliances.search.p_seek_max=0.03,0.12']"),
    "compatibility_vs_contracts": ("experiment=compatibility_vs_contracts",),
    "policy_compare": ("experiment=policy_compare", "experiment.instruments=[training]", "months=13"),
    "validate": ("experiment=validate", "experiment.targets=[survival_12m]"),
    "calibrate": ("experiment=calibrate", "experiment.targets=[survival_12m]", "experiment.n_trials=1",
                  "experiment.free_parameters=[firms.p_closure]"),
    "sensitivity": ("experiment=sensitivity", "experiment.uncertainties=[alliances.types.cluster_max_savings]"),
}


@pytest.mark.parametrize("kind", sorted(KIND_ARGS))
def test_every_experiment_kind_records_failed_with_a_one_line_reason(kind, tmp_path, monkeypatch):
    """When every model run crashes, each kind ends 'failed' with a one-line error (never 'running') and counts
    no seed as done."""
    assert set(KIND_ARGS) == set(EXPERIMENTS), "expected a case for every experiment kind"
    cfg = check(load_config(*KIND_ARGS[kind], "firms.n_firms=30", "experiment.n_seeds=2", "experiment.workers=1",
                            "experiment.progress=false", *(() if kind == "policy_compare" else ("months=3",))))

    def crash(self, months):
        raise RuntimeError("simulated crash\nsecond line")

    monkeypatch.setattr("sim.model.AllianceModel.run_for", crash)
    try:
        run.run_experiment(cfg, tmp_path)
    except Exception:
        pass
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "failed", f"{kind}: expected failed, got {manifest['status']}"
    assert manifest["error"] and "\n" not in manifest["error"], f"{kind}: expected a one-line error: {manifest}"
    summary = tmp_path / "summary.json"
    assert not summary.exists() or json.loads(summary.read_text()).get("n_seeds", 0) == 0, (
        f"{kind}: expected no seed counted as done")


def test_counts_report_only_the_seeds_that_succeeded(tmp_path, monkeypatch):
    """With one of two seeds crashing, policy_compare reports one paired seed, not two, and lists the failures."""
    cfg = check(load_config("experiment=policy_compare", "experiment.instruments=[training]", "months=13",
                            "firms.n_firms=30", "experiment.n_seeds=2", "experiment.workers=1",
                            "experiment.progress=false"))
    from sim.model import AllianceModel
    real = AllianceModel.run_for

    def crash_seed_1(self, months):
        if self.cfg.seed == 1:
            raise RuntimeError("simulated crash")
        return real(self, months)

    monkeypatch.setattr(AllianceModel, "run_for", crash_seed_1)
    summary = run.run_experiment(cfg, tmp_path)
    assert summary["n_seeds"] == 1 and summary["n_seeds_planned"] == 2, summary
    assert len(summary["failed_runs"]) == 2, "expected both arms of seed 1 listed as failed"
    assert json.loads((tmp_path / "manifest.json").read_text())["status"] == "completed_with_failures"


def test_a_sweep_file_with_callbacks_or_another_launcher_is_refused():
    """Code-loading settings are refused from a sweep file's composed Hydra node as well."""
    from omegaconf import OmegaConf
    good = {"callbacks": {}, "launcher": {"_target_": preflight.LAUNCHERS[1]},
            "sweeper": {"_target_": preflight.SWEEPERS[0]}}
    preflight.check_hydra_node(OmegaConf.create(good))
    for bad, named in (({"callbacks": {"x": {"_target_": "builtins.open"}}}, "hydra.callbacks"),
                       ({"launcher": {"_target_": "os.system"}}, "hydra.launcher"),
                       ({"sweeper": {"_target_": "my.Sweeper"}}, "hydra.sweeper")):
        with pytest.raises(run.ConfigError, match=named):
            preflight.check_hydra_node(OmegaConf.create(good | bad))
