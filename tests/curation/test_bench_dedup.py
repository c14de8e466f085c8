"""The dedup benchmark runs (small sizes) and asserts identical decisions itself."""

import subprocess
import sys

from conftest import REPO


def test_dedup_benchmark_runs_and_agrees_with_the_study_loop_and_the_exact_scan():
    out = subprocess.run(
        [sys.executable, str(REPO / "bench/bench_dedup.py"), "--subset", "30", "--check", "800", "--tasks", "1500"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout
    assert "identical decisions" in out
    assert "speed ratio" in out and "scale: 1500 tasks" in out
    assert "check on 800 tasks" in out and "identical decisions and matches" in out
