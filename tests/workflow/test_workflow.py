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
    "gather_corpus_source",
    "build_pt_corpus",
    "generate",
    "parse_generated",
    "verify",
    "review_sheet",
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
    # One inference job per model answers all 6 eval sets; each set is scored on its own.
    assert jobs["infer"] == 2 and jobs["evaluate"] == 12 and jobs["download_corpus"] == 2
    # The default (evaluate.checkpoints: selected, select_checkpoint.by: val_loss) sweeps nothing.
    assert set(jobs) == set(RULES) | {"all"}


def test_pt_stage_can_be_switched_off(tmp_path):
    proc = run_snakemake(make_workdir(tmp_path, {"train_pt": {"enabled": False}}), "-n")
    jobs = planned_jobs(proc.stdout)
    assert "train_pt" not in jobs and "train_sft" in jobs


def test_the_quality_gate_can_be_switched_off(tmp_path):
    proc = run_snakemake(make_workdir(tmp_path, {"verify": {"enabled": False}}), "-n")
    jobs = planned_jobs(proc.stdout)
    assert "verify" not in jobs and "review_sheet" not in jobs
    # Curation then reads the parsed tasks straight from parse_generated.
    block = rule_block(proc.stdout, "curate_sft")
    assert "results/generated/local/tasks.jsonl" in block and "results/verified/" not in block, block


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


def dev_set(workdir, rows):
    """A dev set of the given rows of the shipped multiple-choice eval set."""
    lines = (REPO / "resources/eval/multiple-choice.jsonl").read_text().splitlines()
    (workdir / "dev").mkdir(exist_ok=True)
    (workdir / "dev/mc.jsonl").write_text("\n".join(lines[i] for i in rows) + "\n")
    return {"mc_dev": "dev/mc.jsonl"}


SWEEP_RULES = {"infer_checkpoint", "evaluate_checkpoint", "sweep_report", "check_dev_sets"}


# The embedded default's SFT checkpoints: every eval_steps up to max_steps.
_SFT = yaml.safe_load((REPO / "config/config.yaml").read_text())["train_sft"]
SAVED_STEPS = list(range(_SFT["eval_steps"], _SFT["max_steps"] + 1, _SFT["eval_steps"]))


def test_slurm_dry_run_shows_the_sweep_jobs_with_gpu_resources(tmp_path):
    workdir = make_workdir(tmp_path, {"evaluate": {"checkpoints": "all"}})
    config_path = workdir / "config/config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["select_checkpoint"] = {"by": "dev_score", "dev_sets": dev_set(workdir, range(4))}
    config_path.write_text(yaml.safe_dump(config))
    shutil.copytree(REPO / "profiles", workdir / "profiles")
    proc = run_snakemake(workdir, "-n", "--profile", str(REPO / "profiles/slurm"))
    out = proc.stdout + proc.stderr
    jobs = planned_jobs(proc.stdout)
    steps = len(SAVED_STEPS)
    # One inference job per split (every checkpoint, every set); one score per checkpoint and set.
    assert jobs["infer_checkpoint"] == 2
    assert jobs["evaluate_checkpoint"] == steps * (6 + 1)  # eval sets + dev set
    assert jobs["sweep_report"] == jobs["check_dev_sets"] == 1 and "sft_checkpoints" not in jobs
    block = rule_block(out, "infer_checkpoint")
    assert re.search(r"resources:.*\bgpu=1\b", block) and "slurm_partition=gpu" in block, block
    assert "cpus_per_gpu=" in block and "cpus_per_task" not in block
    for rule in ("evaluate_checkpoint", "sweep_report", "check_dev_sets"):
        block = rule_block(out, rule)
        assert "slurm_partition=cpu" in block and not re.search(r"\bgpu=", block), block
    assert "output: results/sweep/eval/predictions\n" in out and "output: results/sweep/dev/predictions\n" in out
    for step in SAVED_STEPS:
        assert f"results/sweep/dev/scores/step-{step}/mc_dev.json" in out


def test_a_listed_sweep_step_must_be_a_saved_one(tmp_path):
    (tmp_path / "ok").mkdir()
    (tmp_path / "bad").mkdir()
    listed = run_snakemake(make_workdir(tmp_path / "ok", {"evaluate": {"checkpoints": SAVED_STEPS[1::2]}}), "-n")
    jobs = planned_jobs(listed.stdout)
    assert jobs["infer_checkpoint"] == 1 and "check_dev_sets" not in jobs
    assert jobs["evaluate_checkpoint"] == len(SAVED_STEPS[1::2]) * 6
    bad = {"evaluate": {"checkpoints": [SAVED_STEPS[0], SAVED_STEPS[0] + 1]}}
    proc = run_snakemake(make_workdir(tmp_path / "bad", bad), "-n", check=False)
    assert proc.returncode != 0
    message = f"train_sft saves no checkpoint at steps [{SAVED_STEPS[0] + 1}]; it saves at {SAVED_STEPS}"
    assert f"evaluate.checkpoints: {message}" in proc.stdout + proc.stderr


def test_dev_score_needs_a_dev_set(tmp_path):
    proc = run_snakemake(make_workdir(tmp_path, {"select_checkpoint": {"by": "dev_score"}}), "-n", check=False)
    assert proc.returncode != 0
    assert (
        "config key select_checkpoint.dev_sets: `by: dev_score` needs at least one dev set" in proc.stdout + proc.stderr
    )


def test_training_for_epochs_plans_the_sweep_once_training_has_finished(tmp_path):
    overrides = {"evaluate": {"checkpoints": "all"}, "train_sft": {"max_steps": None, "num_train_epochs": 1}}
    jobs = planned_jobs(run_snakemake(make_workdir(tmp_path, overrides), "-n").stdout)
    # The steps depend on the dataset's size: the sweep's jobs join the DAG after sft_checkpoints.
    assert jobs["sft_checkpoints"] == 1 and jobs["sweep_report"] == 1 and "infer_checkpoint" not in jobs


def test_an_overlapping_dev_set_stops_before_any_sweep_job(tmp_path):
    leaking = make_workdir(tmp_path, {"evaluate": {"checkpoints": "all"}})
    config = yaml.safe_load((leaking / "config/config.yaml").read_text())
    config["select_checkpoint"] = {"by": "dev_score", "dev_sets": dev_set(leaking, [1, 4])}
    (leaking / "config/config.yaml").write_text(yaml.safe_dump(config))
    proc = run_snakemake(leaking, "--cores", "1", "results/sweep/dev/overlap_check.json", check=False)
    assert proc.returncode != 0
    log = (leaking / "logs/check_dev_sets.log").read_text()
    assert "select_checkpoint.dev_sets overlap the eval sets in 2 of 2 rows" in log
    assert "same_id" in log and not (leaking / "results/sweep/dev/overlap_check.json").exists()


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


def test_every_gpu_rule_gets_a_gpu_on_the_cluster_and_stops_without_cuda():
    """Each rule declaring gpu= is sent to the GPU partition with a GPU by profiles/slurm (and
    only those are), and its script checks CUDA before any work (runtime.device.check_job_cuda)."""
    text = "\n".join(p.read_text() for p in sorted((REPO / "workflow/rules").glob("*.smk")))
    blocks = re.split(r"^ *(?:rule|checkpoint) (\w+):\n", text, flags=re.MULTILINE)[1:]
    gpu_rules = {}
    for name, body in zip(blocks[::2], blocks[1::2]):
        if re.search(r"^\s+gpu=\d+,", body, re.MULTILINE):
            gpu_rules[name] = re.search(r'script:\s*"\.\./scripts/([\w.]+)"', body).group(1)
    assert {"train_pt", "train_sft", "merge", "infer", "infer_checkpoint"} <= set(gpu_rules)
    resources = yaml.safe_load((REPO / "profiles/slurm/config.yaml").read_text())["set-resources"]
    for rule, script in gpu_rules.items():
        assert resources[rule]["slurm_partition"] == "gpu" and resources[rule]["gpu"] >= 1, rule
        assert "check_job_cuda(snakemake)" in (REPO / "workflow/scripts" / script).read_text(), script
    assert {rule for rule, r in resources.items() if r.get("gpu")} == set(gpu_rules)
