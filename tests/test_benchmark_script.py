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
    figures = json.loads(out.read_text())
    for key in ("ratio", "ratio_alliances"):
        assert math.isfinite(figures[key]) and figures[key] > 0, f"expected a positive {key}, got {figures.get(key)}"
