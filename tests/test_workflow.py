"""Workflow checks without running jobs: the plan, lint, and the DAG pictures."""

import re
import shutil
import subprocess

import pytest

from conftest import BIN, REPO, make_workdir, run_snakemake

RULES = ["prepare_base_model", "download_corpus", "build_pt_corpus", "generate", "parse_generated",
         "curate_sft", "build_datasets", "train_pt", "train_sft", "select_checkpoint", "merge",
         "infer", "evaluate", "metrics_table", "report"]


def planned_jobs(output):
    """{rule: count} from the job-stats table of a dry run."""
    table = output.split("Job stats:")[1].split("total")[0]
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\w+)\s+(\d+)\s*$", table, re.MULTILINE)}


def test_dry_run_plans_every_rule(tmp_path):
    proc = run_snakemake(make_workdir(tmp_path), "-n")
    jobs = planned_jobs(proc.stdout)
    assert set(RULES) <= set(jobs)
    assert jobs["infer"] == jobs["evaluate"] == 12 and jobs["download_corpus"] == 2


def test_pt_stage_can_be_switched_off(tmp_path):
    proc = run_snakemake(make_workdir(tmp_path, {"train_pt": {"enabled": False}}), "-n")
    jobs = planned_jobs(proc.stdout)
    assert "train_pt" not in jobs and "train_sft" in jobs


def test_lint_is_clean():
    proc = subprocess.run([str(BIN / "snakemake"), "--lint"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Congratulations, your workflow is in a good condition" in proc.stdout + proc.stderr


def test_slurm_profile_dry_run_shows_gpu_resources(tmp_path):
    workdir = make_workdir(tmp_path)
    proc = run_snakemake(workdir, "-n", "--profile", str(REPO / "profiles/slurm"))
    out = proc.stdout + proc.stderr
    train = out[out.index("rule train_sft:"):]
    assert re.search(r"resources:.*gpu=1", train.split("\n\n")[0])
    assert "slurm_partition=gpu" in train.split("\n\n")[0]


@pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz 'dot' not installed (apt-get install graphviz)")
def test_make_dag_writes_svg_and_mermaid(tmp_path):
    proc = subprocess.run(["make", "dag"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("rulegraph.svg", "jobs.svg"):
        assert (REPO / "dag" / name).read_text().lstrip().startswith(("<?xml", "<svg"))
    for name in ("rulegraph.mmd", "jobs.mmd"):
        text = (REPO / "dag" / name).read_text()
        assert "flowchart" in text or "graph" in text
        assert "train_sft" in text
