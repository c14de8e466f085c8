"""Workflow checks without running jobs: the plan, lint, and the DAG pictures."""

import re
import shutil
import subprocess

import pytest
import yaml

from conftest import BIN, REPO, make_workdir, planned_jobs, run_snakemake

RULES = [
    "prepare_base_model",
    "download_corpus",
    "build_pt_corpus",
    "generate",
    "parse_generated",
    "curate_sft",
    "build_datasets",
    "train_pt",
    "train_sft",
    "select_checkpoint",
    "merge",
    "infer",
    "evaluate",
    "metrics_table",
    "report",
]


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


def rule_block(out, rule, local=False):
    """The dry run's block for a rule's first job: from `rule NAME:` to the blank line."""
    start = out.index(f"{'localrule' if local else 'rule'} {rule}:")
    return out[start:].split("\n\n")[0]


def test_slurm_profile_dry_run_shows_per_rule_resources(tmp_path):
    workdir = make_workdir(tmp_path)
    shutil.copytree(REPO / "profiles", workdir / "profiles")  # profiles/default is loaded as well
    proc = run_snakemake(workdir, "-n", "--profile", str(REPO / "profiles/slurm"))
    out = proc.stdout + proc.stderr
    for rule in ("train_pt", "train_sft", "merge", "infer"):
        block = rule_block(out, rule)
        assert re.search(r"resources:.*\bgpu=1\b", block), block
        assert "slurm_partition=gpu" in block and "cpus_per_gpu=" in block
        # cpus_per_task would win over cpus_per_gpu in the plugin's sbatch line.
        assert "cpus_per_task" not in block
    for rule in ("build_pt_corpus", "curate_sft", "evaluate"):
        block = rule_block(out, rule)
        assert "slurm_partition=cpu" in block and not re.search(r"\bgpu=", block), block


def test_default_profile_does_not_undo_the_slurm_profile(tmp_path):
    """Snakemake reads profiles/default as the workflow profile on top of --profile."""
    default = yaml.safe_load((REPO / "profiles/default/config.yaml").read_text())
    slurm = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())
    for key, value in default.items():
        assert key in ("printshellcmds", "show-failed-logs", "rerun-incomplete", "keep-going"), (
            f"profiles/default sets {key!r}, which would override the cluster profile"
        )
        assert slurm.get(key, value) == value, f"profiles/default overrides {key!r} of profiles/slurm"
    # And in practice: the dry run through both keeps the Slurm profile's resources.
    workdir = make_workdir(tmp_path)
    shutil.copytree(REPO / "profiles", workdir / "profiles")
    out = run_snakemake(workdir, "-n", "--profile", str(REPO / "profiles/slurm")).stdout
    assert "mem_mb=128000" in rule_block(out, "train_sft")
    assert "runtime=720" in rule_block(out, "generate")


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
