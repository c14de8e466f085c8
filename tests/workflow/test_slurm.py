"""The Slurm profile against a real slurmctld/slurmd on localhost (ci/slurm-local.sh start).

Runs the whole small workflow through `--profile profiles/slurm` (with a test override for
this machine's 2 CPUs and short status checks). From slurmctld's own job records it proves
that every job went through sbatch and that the GPU rules, and only they, asked for GPUs in
the gpu partition. It compares the results with the local run of the same config, and
cancels a running job with scancel to show the profile's retry runs it again to success.
"""

import functools
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import time

import pandas as pd
import pytest
import yaml

from conftest import BIN, REPO, make_small_workdir, make_workdir, read_jsonl, run_snakemake

EVAL_SETS = ("multiple-choice", "ranking", "generation")
GPU_RULES = {"train_pt", "train_sft", "merge", "infer"}
CPU_RULES = {
    "download_corpus",
    "gather_corpus_source",
    "build_pt_corpus",
    "prepare_base_model",
    "generate",
    "verify",
    "curate_sft",
    "build_datasets",
}
# Seconds of work each: they run where Snakemake runs, never as an sbatch job.
LOCAL_RULES = {"parse_generated", "review_sheet", "select_checkpoint", "evaluate", "metrics_table", "report"}
pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True, scope="session")
def running_slurm():
    """Skip without a running Slurm. Asked only when a test here runs, not at collection:
    `sinfo` without a controller waits about 9 s, which every other tier would pay. Session
    scope puts it before `finished_run`, so no workflow runs for a test that is skipped."""
    if not _slurm_answers():
        pytest.skip("no running Slurm (start one with ci/slurm-local.sh start)")


@functools.cache
def _slurm_answers():
    return shutil.which("sinfo") is not None and subprocess.run(["sinfo"], capture_output=True).returncode == 0


def slurm_jobs():
    out = subprocess.run(["scontrol", "show", "job", "-o"], capture_output=True, text=True).stdout
    jobs = []
    for line in out.splitlines():
        fields = dict(part.split("=", 1) for part in line.split() if "=" in part)
        if "JobId" in fields:  # not the "No jobs in the system" line of an empty queue
            jobs.append(fields)
    return jobs


def rule_of(job):
    """The rule name in the plugin's job comment: rule_<name> or rule_<name>_wildcards_..."""
    match = re.match(r"rule_(\w+?)(?:_wildcards_.*)?$", job.get("Comment", ""))
    return match.group(1) if match else None


def profile_for_this_machine(tmp_path):
    """The repo's profile with only what this 2-CPU machine without accounting needs changed."""
    profile = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    profile["default-resources"].update(mem_mb=1500, runtime=30)
    for resources in profile["set-resources"].values():
        resources.update(mem_mb=3000, runtime=30)
        if "cpus_per_gpu" in resources:
            resources["cpus_per_gpu"] = 1
    for rule in ("generate", "verify"):  # their 8 threads would not fit
        profile["set-resources"][rule]["cpus_per_task"] = 2
    profile.update(
        {
            "slurm-no-account": True,
            "slurm-status-command": "squeue",
            "slurm-init-seconds-before-status-checks": 2,
            "seconds-between-status-checks": 2,
            "latency-wait": 5,
            "jobs": 4,
        }
    )
    folder = tmp_path / "profile"
    folder.mkdir()
    (folder / "config.yaml").write_text(yaml.safe_dump(profile))
    return folder


def test_whole_workflow_on_a_real_slurm(tmp_path, finished_run):
    profile = profile_for_this_machine(tmp_path)
    (tmp_path / "cluster").mkdir()
    # Every rule of the DAG, on three of the six eval sets to keep the test short.
    cluster = make_small_workdir(tmp_path / "cluster", EVAL_SETS)
    # The products source read by two shard jobs: the PT corpus must equal the unsharded local run's.
    config = yaml.safe_load((cluster / "config/config.yaml").read_text())
    config["corpus"]["sources"]["products"]["shards"] = 2
    config["cluster"]["require_cuda"] = False  # this cluster's GPUs are stand-ins (ci/slurm-local.sh)
    (cluster / "config/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    before = {j["JobId"] for j in slurm_jobs()}
    cancelled = []

    def cancel_model_preparation():
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not cancelled:
            for job in slurm_jobs():
                if (
                    job["JobId"] not in before
                    and rule_of(job) == "prepare_base_model"
                    and job.get("JobState") == "RUNNING"
                ):
                    subprocess.run(["scancel", job["JobId"]], check=True)
                    cancelled.append(job["JobId"])
                    return
            time.sleep(0.5)

    watcher = threading.Thread(target=cancel_model_preparation, daemon=True)
    watcher.start()
    proc = run_snakemake(cluster, "--profile", str(profile), check=False, timeout=2400)
    watcher.join(timeout=5)
    if proc.returncode != 0:  # a cancelled job the retry did not catch is re-run by the next invocation
        proc = run_snakemake(cluster, "--profile", str(profile), timeout=2400)

    jobs = [j for j in slurm_jobs() if j["JobId"] not in before]
    by_rule = {}
    for job in jobs:
        by_rule.setdefault(rule_of(job), []).append(job)
    assert set(by_rule) == GPU_RULES | CPU_RULES, f"rules seen by Slurm: {sorted(by_rule, key=str)}"
    assert sum(j["JobState"] == "COMPLETED" for j in by_rule["infer"]) == 2  # one job per model, all sets
    for rule in LOCAL_RULES:
        assert f"localrule {rule}:" in proc.stdout + proc.stderr, rule
    shard_jobs = [j for j in by_rule["download_corpus"] if j["JobState"] == "COMPLETED"]
    assert len(shard_jobs) == 3, by_rule["download_corpus"]  # products in 2 shards, reviews in 1
    for rule, rule_jobs in by_rule.items():
        for job in rule_jobs:
            asked_gpus = job.get("TresPerJob", "")
            if rule in GPU_RULES:
                assert asked_gpus == "gres:gpu:1" and job["Partition"] == "gpu", (rule, job)
            else:
                assert "gpu" not in asked_gpus and job["Partition"] == "cpu", (rule, job)

    assert cancelled, "prepare_base_model was never seen running"
    assert {j["JobId"]: j["JobState"] for j in jobs}[cancelled[0]] == "CANCELLED"
    assert any(j["JobState"] == "COMPLETED" for j in by_rule["prepare_base_model"])

    # Same results as the local run where the stages are deterministic.
    for path in ("results/corpus/pt_corpus.parquet", "results/datasets/pt_train.parquet"):
        pd.testing.assert_frame_equal(pd.read_parquet(finished_run / path), pd.read_parquet(cluster / path))
    assert (cluster / "results/model/base/config.json").read_text() == (
        finished_run / "results/model/base/config.json"
    ).read_text()
    for task in EVAL_SETS:  # greedy, same model, one thread
        path = f"results/predictions/base/{task}.jsonl"
        assert [r["response"] for r in read_jsonl(cluster / path)] == [
            r["response"] for r in read_jsonl(finished_run / path)
        ]
    local_table = pd.read_csv(finished_run / "results/metrics/summary.csv").query("level != 'overall'")
    local_table = local_table[local_table["task_type"].isin(EVAL_SETS)].reset_index(drop=True)
    cluster_table = pd.read_csv(cluster / "results/metrics/summary.csv").query("level != 'overall'")
    cluster_table = cluster_table.reset_index(drop=True)
    for column in ("level", "task_type", "task_name", "n", "base"):
        assert cluster_table[column].fillna("").tolist() == local_table[column].fillna("").tolist(), column
    assert (cluster / "results/report/scores.png").exists()


def test_network_rules_stay_on_the_submit_host_when_asked(tmp_path):
    profile = profile_for_this_machine(tmp_path)
    (tmp_path / "work").mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(REPO / "resources/corpus"))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/products.jsonl"
    overrides = {
        "cluster": {"network_rules_on_submit_host": True},
        "corpus": {"sources": {"products": {"kind": "url", "url": url, "shards": 2}}},
    }
    workdir = make_workdir(tmp_path / "work", overrides)
    config = yaml.safe_load((workdir / "config/config.yaml").read_text())
    del config["corpus"]["sources"]["products"]["path"]  # a url source has no path
    (workdir / "config/config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    before = {j["JobId"] for j in slurm_jobs()}
    try:
        proc = run_snakemake(workdir, "--profile", str(profile), "results/corpus/pt_corpus.parquet", timeout=600)
    finally:
        server.shutdown()
    rules = sorted(rule_of(j) for j in slurm_jobs() if j["JobId"] not in before)
    # The download stays on this host; reading its shards is submitted like any other job.
    assert (
        rules
        == ["build_pt_corpus", "download_corpus", "download_corpus", "download_corpus"] + ["gather_corpus_source"] * 2
    ), rules
    assert "localrule fetch_corpus_source:" in proc.stdout + proc.stderr
    assert (workdir / "results/corpus/pt_corpus.parquet").exists()


STEP_SNAKEFILE = """
rule exchange:
    output:
        expand("exchange/rank-{{rank}}.json", rank=[0, 1]),
    resources:
        tasks=2,
        mpi="srun",
    shell:
        "mkdir -p exchange && {python} {helper} launch exchange"
"""


def test_a_job_starts_a_two_task_step_whose_processes_exchange_a_tensor(tmp_path):
    """Multi-node training's launch, on one node: a job with the jobstep plugin's MPI resource (as
    the profile gives a multi-node training rule) runs unwrapped and starts its own 2-task srun
    step; the two processes rendezvous and exchange tensors with gloo."""
    import sys

    profile = profile_for_this_machine(tmp_path)
    work = tmp_path / "step"
    work.mkdir()
    helper = REPO / "tests/helpers/two_task_step.py"
    (work / "Snakefile").write_text(STEP_SNAKEFILE.format(python=sys.executable, helper=helper))
    before = {j["JobId"] for j in slurm_jobs()}
    proc = subprocess.run(
        [str(BIN / "snakemake"), "--profile", str(profile)], cwd=work, capture_output=True, text=True, timeout=600,
        env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    records = sorted(
        (json.loads((work / f"exchange/rank-{r}.json").read_text()) for r in (0, 1)), key=lambda r: r["rank"]
    )
    assert [r["rank"] for r in records] == [0, 1] and all(r["world"] == 2 for r in records)
    assert all(r["sum"] == 3.0 for r in records)  # each rank received the other's tensor
    pids = sorted(r["pid"] for r in records)
    assert pids[0] != pids[1] and all(sorted(r["pids"]) == pids for r in records)
    [job] = [j for j in slurm_jobs() if j["JobId"] not in before]
    assert rule_of(job) == "exchange" and job["JobState"] == "COMPLETED" and job["NumTasks"] == "2", job
