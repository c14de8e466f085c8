"""The dedup benchmark runs (small sizes) and asserts identical decisions itself."""

import subprocess
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.workflow  # runs a bench script


@pytest.mark.parametrize("workers", [1, 2])
def test_dedup_benchmark_runs_and_agrees_with_the_study_loop_and_the_exact_scan(workers):
    bench = [str(REPO / "bench/bench_dedup.py"), "--subset", "30", "--check", "800", "--tasks", "1500"]
    out = subprocess.run(
        [sys.executable, *bench, "--workers", str(workers)],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout
    assert "identical decisions" in out
    assert "speed ratio" in out and f"scale: 1500 tasks with {workers} worker(s)" in out
    assert "check on 800 tasks" in out and "identical decisions and matches" in out
