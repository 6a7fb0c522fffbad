"""The benchmark script still runs and reports its figures (a smoke test: no timing is asserted)."""

import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_step_quick_reports_both_ratios(tmp_path):
    """``bench_step.py --quick`` prints the ratio lines and writes finite, positive figures."""
    out = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_step.py"), "--quick", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("ratio: ") for line in lines), done.stdout
    assert any(line.startswith("ratio_alliances: ") for line in lines), done.stdout
    assert any(line.startswith("ratio_living_alliances: ") for line in lines), done.stdout
    figures = json.loads(out.read_text())
    assert figures["ratio_living_alliances"] > figures["ratio_alliances"], \
        "expected the cost per living firm-month above the cost per initial firm-month (firms die)"
    for key in ("ratio", "ratio_alliances", "ratio_living_alliances"):
        assert math.isfinite(figures[key]) and figures[key] > 0, f"expected a positive {key}, got {figures.get(key)}"


def test_national_option_runs_every_mechanism_and_reports_peak_memory():
    """``--national 3000`` (a small stand-in for 5,000,000) prints time and peak memory."""
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_step.py"), "--national", "3000"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "peak memory" in done.stdout and "every mechanism on" in done.stdout, done.stdout


def test_all_on_option_with_a_stock_reports_time_cpu_and_memory():
    """``--all-on 3000 --stock`` (a stand-in for 1,000,000) seats a stock and prints wall, CPU and memory."""
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_step.py"), "--all-on", "3000", "--stock"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("all-on run: N=3,000 firms") and "firms=stock" in lines[0], done.stdout
    assert "peak memory" in lines[1] and lines[2].startswith("cpu: build"), done.stdout


def test_stock_option_alone_is_refused_in_one_line():
    """``--stock`` without a national or all-on run exits 2 naming the option."""
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_step.py"), "--stock"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--stock goes with --national or --all-on" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_app_capacity_reports_costs_and_a_class(tmp_path):
    """benchmarks/app_capacity.py (a measurement, not a timed test): a tiny class runs and every figure is there."""
    import json

    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "app_capacity.py"), "--firms", "100",
                           "--months", "12", "--visitors", "2", "--seconds", "3", "--policy", "credit"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["alone"]["month_ms"] > 0 and record["alone"]["redraw_kb"] > 0
    assert record["visitors_per_core_at_speed"] >= 0 and record["class"]["visitors"] == 2
    assert record["class"]["months_per_second_max"] > 0
