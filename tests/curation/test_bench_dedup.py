"""The dedup benchmark runs (small sizes) and asserts identical decisions itself."""

import subprocess
import sys

from conftest import REPO


def test_dedup_benchmark_runs_and_agrees_with_the_study_loop():
    out = subprocess.run(
        [sys.executable, str(REPO / "bench/bench_dedup.py"), "--subset", "30", "--n", "1500"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout
    assert "identical decisions" in out
    assert "speed ratio" in out and "scale: 1500 tasks" in out
