"""How long planning the whole DAG takes (snakemake -n), against Snakemake's bare start-up.

The goal: the full plan prints in under 5 seconds on 2 cores.
"""

import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")


def best_of(cmd, runs=3):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=REPO, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


if __name__ == "__main__":
    baseline = best_of([SNAKEMAKE, "--version"])
    plan = best_of([SNAKEMAKE, "-n", "--cores", "2", "--forceall"])
    print(f"snakemake --version: {baseline:.2f} s")
    print(f"snakemake -n (full plan): {plan:.2f} s  goal < 5 s: {'met' if plan < 5 else 'NOT met'}")
    print(f"ratio plan / start-up: {plan / baseline:.2f}")
