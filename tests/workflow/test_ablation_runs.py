"""Ablation variants in the workflow: shared upstream jobs, and training data that differs
only in what each variant removes."""

import json

import pandas as pd
import yaml

from conftest import REPO, make_workdir, planned_jobs, read_jsonl, run_snakemake
from helpers.fake_openai import FakeOpenAI

ABLATIONS = yaml.safe_load((REPO / "config/ablation.yaml").read_text())


def test_variants_share_every_upstream_job_and_train_their_own_models(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "ablation").mkdir()
    full = planned_jobs(run_snakemake(make_workdir(tmp_path / "full"), "-n").stdout)
    proc = run_snakemake(make_workdir(tmp_path / "ablation", ABLATIONS), "-n")
    jobs = planned_jobs(proc.stdout)
    variants = len(ABLATIONS["ablations"])
    # Nothing upstream runs twice: one generation, one post-pretraining, one base model.
    for rule in ("generate", "train_pt", "prepare_base_model", "curate_sft", "build_datasets", "train_sft", "merge"):
        assert jobs[rule] == full[rule] == 1, rule
    # no_pt reuses the full recipe's curated tasks; the two curation variants curate their own.
    assert jobs["curate_ablation"] == jobs["build_ablation_datasets"] == 2
    assert jobs["train_ablation_sft"] == jobs["merge_ablation"] == jobs["select_ablation_checkpoint"] == variants
    tasks = len(yaml.safe_load((REPO / "config/config.yaml").read_text())["eval_sets"])
    assert jobs["infer"] == full["infer"] + variants  # one job per model
    assert jobs["evaluate"] == full["evaluate"] + variants * tasks
    assert jobs["ablation_table"] == 1
    [no_pt] = [
        block
        for block in proc.stdout.split("\n\n")
        if "rule train_ablation_sft:" in block and "wildcards: variant=no_pt\n" in block
    ]
    assert "results/datasets/sft_train.parquet" in no_pt and "results/train/pt/adapter" not in no_pt


def test_off_by_default():
    jobs = planned_jobs(run_snakemake(REPO, "-n").stdout)
    assert not {j for j in jobs if "ablation" in j}


def test_each_variants_training_data_differs_only_in_what_it_removes(tmp_path):
    server = FakeOpenAI().start()
    try:
        hosted = {
            "kind": "openai",
            "model": "m",
            "base_url": server.base_url,
            "num_requests": 3,
            "seed_examples_per_prompt": 2,
            "tasks_per_request": 4,
            "task_mix": {"generation": 1},  # the fake server writes generation tasks
        }
        workdir = make_workdir(tmp_path, ABLATIONS)
        # A task set with a near-duplicate of each of two seeds (one word changed) and a new task.
        seeds = read_jsonl(REPO / "resources/seed/seed_tasks.jsonl")[:2]
        extra = [{**t, "input_field": t["input_field"].replace(" ", " really ", 1)} for t in seeds]
        extra.append({**seeds[0], "input_field": "Name one thing a good kettle needs."})
        (workdir / "extra.jsonl").write_text("".join(json.dumps(t) + "\n" for t in extra))
        config = yaml.safe_load((workdir / "config/config.yaml").read_text())
        config["generation"]["providers"] = {"hosted": hosted}  # no local model needed
        config["task_sets"] = {"extra": {"kind": "file", "path": "extra.jsonl"}}
        (workdir / "config/config.yaml").write_text(yaml.safe_dump(config))
        targets = ["results/datasets/sft_train.parquet"] + [
            f"results/ablations/{v}/datasets/sft_train.parquet" for v in ("no_generated", "no_near_dedup")
        ]
        run_snakemake(workdir, "--cores", "2", *targets)
    finally:
        server.shutdown()
    full = read_jsonl(workdir / "results/curated/sft_tasks.jsonl")
    dropped = pd.read_parquet(workdir / "results/curated/dropped.parquet")
    near = set(dropped[dropped["reason"] == "near_duplicate"]["id"])
    assert len(near) == 2 and any(t["source"].startswith("generated:") for t in full)  # both remove something

    no_generated = read_jsonl(workdir / "results/ablations/no_generated/curated/sft_tasks.jsonl")
    assert no_generated == [t for t in full if not t["source"].startswith("generated:")]

    no_near_dedup = read_jsonl(workdir / "results/ablations/no_near_dedup/curated/sft_tasks.jsonl")
    ids = [t["id"] for t in no_near_dedup]
    assert set(ids) - {t["id"] for t in full} == near and [i for i in ids if i not in near] == [t["id"] for t in full]

    # Each variant's datasets hold exactly its curated tasks, and only the SFT splits.
    for variant, tasks in (("no_generated", no_generated), ("no_near_dedup", no_near_dedup)):
        folder = workdir / "results/ablations" / variant / "datasets"
        rows = pd.concat([pd.read_parquet(folder / f"sft_{split}.parquet") for split in ("train", "val")])
        assert sorted(rows["id"]) == sorted(t["id"] for t in tasks)
        info = json.loads((folder / "dataset_info.json").read_text())
        assert set(info) == {"shoplora_sft_train", "shoplora_sft_val"}
