"""The corpus benchmarks run (small sizes) and report every figure their goals need."""

import re
import subprocess
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.workflow  # runs the bench scripts


def test_corpus_reading_benchmark_runs_and_measures_every_reader(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(REPO / "bench/bench_corpus.py"), "--sizes-mb", "4", "8", "--folder", str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    out = proc.stdout
    assert proc.returncode in (0, 1), proc.stderr  # 1: a goal not met, which small files do not show
    for name in ("meta_4mb.jsonl", "reviews_4mb.jsonl", "meta_8mb.jsonl"):
        assert name in out
    for reader in ("shoplora file", "shoplora url", "DuckDB", "pandas (before)"):
        assert re.search(rf"{re.escape(reader)}\s+[\d.]+ s\s+[\d.]+ MB/s\s+peak RSS\s+[\d.]+ GiB\s+rows (\d+)", out)
    # Every reader keeps the same number of rows: max_rows (20,000) or the whole file.
    assert len(set(re.findall(r"rows (\d+)", out.split("reviews_4mb")[0]))) == 1
    assert "(goal <= 1.5 GiB)" in out and "(goal >= 0.5)" in out


def test_minhash_benchmark_finds_the_planted_copies():
    out = subprocess.run(
        [sys.executable, str(REPO / "bench/bench_minhash.py"), "--texts", "4000"],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
    ).stdout
    assert "4000 texts" in out and "200 planted near-copies" in out
    assert re.search(r"recall of planted near-copies [\d.]+ \(goal >= 0.95\): MET", out)
