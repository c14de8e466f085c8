"""The whole DAG on a small config in a temporary directory: real model, server, training."""

import json
import shutil

import pandas as pd
import pytest
import yaml

from shoplora.generation.parse import RESPONSE_REASONS

from conftest import DEV_ROWS, EVAL_PER_TYPE, planned_jobs, read_jsonl, run_snakemake

pytestmark = pytest.mark.slow

EVAL_SETS = ("multiple-choice", "ranking", "retrieval", "named_entity_recognition", "generation", "classification")


def test_table_holds_base_and_finetuned_for_all_task_types(finished_run):
    table = pd.read_csv(finished_run / "results/metrics/summary.csv", keep_default_na=False)
    expected = {"multiple-choice", "ranking", "retrieval", "named_entity_recognition", "generation", "classification"}
    types = table[table["level"] == "task_type"]
    assert set(types["task_type"]) == expected and (types["n"] == EVAL_PER_TYPE).all()
    tasks = table[table["level"] == "task_name"]
    assert len(tasks) >= len(expected) and (tasks["task_name"] != "").all()
    for _, group in tasks.groupby("task_type"):
        assert group["n"].sum() == EVAL_PER_TYPE
    assert table[["base", "finetuned"]].astype(float).apply(lambda c: c.between(0, 1)).all().all()
    assert (table["delta"] - (table["finetuned"] - table["base"])).abs().max() < 1e-12
    macro = table[table["task_type"] == "macro-average"].iloc[0]
    assert macro["base"] == pytest.approx(tasks["base"].mean())
    md = (finished_run / "results/metrics/summary.md").read_text()
    assert "lenient" in md and "| **named_entity_recognition** |" in md and "BLEU-4" in md
    # Every row carries its paired-bootstrap intervals around the scores, and the mark.
    for model in ("base", "finetuned"):
        low, high = table[f"{model}_ci_low"].astype(float), table[f"{model}_ci_high"].astype(float)
        assert (low <= table[model].astype(float) + 1e-12).all() and (table[model].astype(float) <= high + 1e-12).all()
    delta_low, delta_high = table["delta_ci_low"].astype(float), table["delta_ci_high"].astype(float)
    assert table["significant"].astype(str).eq(((delta_low > 0) | (delta_high < 0)).astype(str)).all()
    summary = json.loads((finished_run / "results/metrics/summary.json").read_text())
    assert summary["overall"]["base"] == pytest.approx(macro["base"]) and summary["bootstrap_resamples"] == 10_000
    assert "paired-bootstrap interval" in md


def test_every_stage_left_its_outputs(finished_run):
    r = finished_run / "results"
    corpus_summary = json.loads((r / "corpus/summary.json").read_text())
    corpus = corpus_summary["total"]
    assert corpus["rows_in"] == corpus["kept"] + corpus["dropped"] and corpus["dropped"] >= 2
    before = corpus_summary["before_corpus"]["total"]  # rows read from the sources, all accounted for
    assert before["rows_in"] == before["reasons"]["other_language"] + before["reasons"]["not_sampled"] + before["kept"]
    assert before["kept"] == corpus["rows_in"]
    assert corpus["reasons"]["near_duplicate"] >= 1  # the shipped reseller copy of a listing
    raw = read_jsonl(r / "generated/local/raw.jsonl")
    assert len(raw) == 2 and all(x["status"] == "success" for x in raw)
    curation = json.loads((r / "curated/curation_report.json").read_text())
    assert curation["total"]["rows_in"] == curation["total"]["kept"] + curation["total"]["dropped"]
    # Generation yields tasks: the grammar-constrained local model writes parseable, valid ones,
    # and the report follows them per task type from request to curation.
    funnel = curation["generated"]["local"]
    assert sum(c["valid"] for c in funnel.values()) >= 2
    generated_in = curation["per_source"]["generated:local"]["rows_in"]
    assert generated_in == sum(c["valid"] for c in funnel.values())
    for counts in funnel.values():
        gate = counts["gate"]  # the quality gate, in flag mode on the default: it drops nothing
        assert counts["valid"] == gate["kept"] + sum(gate["dropped_by_reason"].values()) == gate["kept"]
        assert gate["kept"] == counts["kept"] + sum(counts["curation_drops"].values())
        assert counts["read"] == counts["valid"] + sum(
            n for reason, n in counts["parse_failures"].items() if reason not in RESPONSE_REASONS
        )
    # Every generated task has the gate's verdicts, from real requests to the local server.
    generated = read_jsonl(r / "generated/local/tasks.jsonl")
    verdicts = read_jsonl(r / "verified/local/verdicts.jsonl")
    assert [v["id"] for v in verdicts] == [t["id"] for t in generated]
    assert len(pd.read_csv(r / "verified/local/verdicts.csv")) == len(generated)
    for verdict in verdicts:
        assert (verdict["judge"] is None) != (verdict["judge_error"] is None)
        if verdict["task_type"] != "generation":
            assert len(verdict["answers"]) + verdict["answers_failed"] == 3
    assert sum(v["judge"] is not None for v in verdicts) >= len(verdicts) // 2
    sheet = pd.read_csv(r / "review/sheet.csv", keep_default_na=False)
    assert set(sheet["id"]) <= {v["id"] for v in verdicts} and (sheet["human_verdict"] == "").all()
    assert sheet.groupby("task_type").size().max() <= 10
    datasets = json.loads((r / "datasets/summary.json").read_text())["total"]
    assert datasets["rows_in"] == curation["total"]["kept"] == datasets["kept"] + datasets["dropped"]
    sft = pd.read_parquet(r / "datasets/sft_train.parquet")
    assert sft["output"].map(type).eq(str).all()
    choice = json.loads((r / "train/sft/selected_checkpoint.json").read_text())
    assert [c["step"] for c in choice["candidates"]] == [2, 4] and choice["by"] == "dev_score"
    assert yaml.safe_load((r / "train/sft/train_sft.yaml").read_text())["adapter_name_or_path"].endswith(
        "train/pt/adapter"
    )
    merged = json.loads((r / "model/finetuned/shoplora_model.json").read_text())
    assert merged["template"] == "smollm2" and merged["chosen_checkpoint"]["step"] == choice["chosen"]["step"]
    for name in ("loss_pt.png", "loss_sft.png", "scores.png"):
        assert (r / "report" / name).read_bytes()[:4] == b"\x89PNG"
    # Every weight file is as readable as the JSON beside it (safetensors writes 0600).
    shared = (r / "metrics/summary.json").stat().st_mode & 0o777
    weights = {p: p.stat().st_mode & 0o777 for p in r.rglob("*.safetensors")}
    assert len(weights) >= 6 and set(weights.values()) == {shared}, weights


def test_rerun_with_nothing_changed_runs_no_job(finished_run):
    proc = run_snakemake(finished_run, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


# A valid new value for every key the schema marks `x-tuning` (speed, memory, patience).
TUNING_CHANGES = {
    ("corpus", "read_memory_mb"): 512,
    ("generation", "providers", "*", "proxy"): "http://127.0.0.1:9",
    ("generation", "providers", "*", "max_concurrency"): 3,
    ("generation", "providers", "*", "requests_per_minute"): 1000,
    ("generation", "providers", "*", "tokens_per_minute"): 100000,
    ("generation", "providers", "*", "max_retries"): 7,
    ("generation", "providers", "*", "backoff_base_s"): 2.0,
    ("generation", "providers", "*", "backoff_cap_s"): 30.0,
    ("generation", "providers", "*", "stream"): False,
    ("generation", "providers", "*", "timeouts"): {"read": 30, "total": 900},
    ("curate", "workers"): 2,
    ("infer", "batch_size"): 4,
    ("infer", "token_budget"): 128,
    ("infer", "vllm"): {"gpu_memory_utilization": 0.5, "enforce_eager": True},
}


# verify.providers share generation.providers' definition (one $defs entry), so they have the
# same tuning keys; the finished run has no verify-only provider to change them on.
PROVIDER_TUNING = {path[3:] for path in TUNING_CHANGES if path[:2] == ("generation", "providers")}
GATE_PROVIDER_TUNING = {("verify", "providers", "*", *key) for key in PROVIDER_TUNING}


def plan_with(finished_run, tmp_path, path, value):
    """The dry run's jobs with one key changed: a second config file on top of the run's own
    (Snakemake merges them; `--config` would turn nested numbers into strings)."""
    config = yaml.safe_load((finished_run / "config/config.yaml").read_text())
    override = value
    for key in reversed(path[1:]):
        names = config["generation"]["providers"] if key == "*" else [key]
        override = {name: override for name in names}
    extra = tmp_path / f"{'.'.join(path).replace('*', 'each')}.yaml"
    extra.write_text(yaml.safe_dump({path[0]: override}))
    proc = run_snakemake(finished_run, "-n", "--configfile", "config/config.yaml", str(extra))
    if "Nothing to be done" in proc.stdout + proc.stderr:
        return True, {}
    return False, planned_jobs(proc.stdout)


def test_a_tuning_key_change_reruns_no_job(finished_run, tmp_path):
    """Keys that change how a job runs, never what it writes, are not params: on a finished
    run, changing any of them plans no job (a cluster does not re-train for a timeout)."""
    from shoplora.config.schema import tuning_keys

    assert set(tuning_keys()) == set(TUNING_CHANGES) | GATE_PROVIDER_TUNING, "give each tuning key a new value here"
    for path, value in TUNING_CHANGES.items():
        nothing, jobs = plan_with(finished_run, tmp_path, path, value)
        assert nothing, (path, jobs)
    # The same way, a key that changes results plans its stage and what follows.
    nothing, jobs = plan_with(finished_run, tmp_path, ("curate", "near_duplicate_threshold"), 0.5)
    assert not nothing and "curate_sft" in jobs and "generate" not in jobs


def test_dedup_threshold_change_reruns_curation_but_never_generation(finished_run):
    config_path = finished_run / "config/config.yaml"
    original = config_path.read_text()
    config = yaml.safe_load(original)
    config["curate"]["near_duplicate_threshold"] = 0.5
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    try:
        jobs = planned_jobs(run_snakemake(finished_run, "-n").stdout)
    finally:
        config_path.write_text(original)
    assert {"curate_sft", "build_datasets", "train_sft", "merge", "metrics_table"} <= set(jobs)
    assert not {
        "generate",
        "parse_generated",
        "download_corpus",
        "gather_corpus_source",
        "build_pt_corpus",
        "prepare_base_model",
    } & set(jobs)
    assert jobs["infer"] == 1  # only the fine-tuned model's predictions


def test_snakemake_report_contains_table_and_plots(finished_run):
    run_snakemake(finished_run, "--report", "report.html")
    html = (finished_run / "report.html").read_text(errors="replace")
    for name in (
        "summary.md",
        "loss_sft.png",
        "scores.png",
        "curation_report.json",
        "sweep.md",
        "sweep.png",
        "verdicts.csv",
        "review.html",
    ):
        assert name in html


def test_checkpoint_sweep_scores_every_checkpoint_as_direct_scoring_does(finished_run):
    r = finished_run / "results"
    sweep = json.loads((r / "sweep/sweep.json").read_text())
    choice = json.loads((r / "train/sft/selected_checkpoint.json").read_text())
    assert sweep["steps"] == [2, 4] and sweep["selected"] == {"step": choice["chosen"]["step"], "by": "dev_score"}
    state = json.loads((r / "train/sft/trainer_state.json").read_text())
    losses = {e["step"]: e["eval_loss"] for e in state["log_history"] if "eval_loss" in e}
    assert sweep["lowest_val_loss_step"] == min(losses, key=lambda s: (losses[s], s))
    assert [entry["eval_loss"] for entry in sweep["losses"]] == [losses[2], losses[4]]
    # The chosen checkpoint, swept as base model + adapter, against the merged fine-tuned model
    # inferred and scored by the main DAG: the same answers and the same scores.
    step = choice["chosen"]["step"]
    for task in EVAL_SETS:
        swept = read_jsonl(r / f"sweep/eval/predictions/step-{step}/{task}.jsonl")
        direct = read_jsonl(r / f"predictions/finetuned/{task}.jsonl")
        assert [p["response"] for p in swept] == [p["response"] for p in direct], task
        swept_score = json.loads((r / f"sweep/eval/scores/step-{step}/{task}.json").read_text())
        direct_score = json.loads((r / f"scores/finetuned/{task}.json").read_text())
        assert swept_score["per_task"] == direct_score["per_task"] and swept_score["step"] == step
    table = pd.read_csv(r / "sweep/sweep.csv")
    summary = pd.read_csv(r / "metrics/summary.csv", keep_default_na=False)
    overall = table[(table["step"] == step) & (table["level"] == "overall")].iloc[0]
    assert overall["score"] == pytest.approx(float(summary[summary["level"] == "overall"].iloc[0]["finetuned"]))
    assert overall["ci_low"] <= overall["score"] <= overall["ci_high"]
    best = table[table["level"] == "overall"].sort_values(["score", "step"], ascending=[False, True]).iloc[0]
    assert sweep["best_score_step"] == best["step"]
    assert f"best overall score: step {sweep['best_score_step']}" in (r / "sweep/sweep.md").read_text()
    assert (r / "report/sweep.png").read_bytes()[:4] == b"\x89PNG"


def test_dev_score_chooses_the_best_dev_checkpoint(finished_run):
    r = finished_run / "results"
    assert json.loads((r / "sweep/dev/overlap_check.json").read_text())["overlaps"] == 0
    choice = json.loads((r / "train/sft/selected_checkpoint.json").read_text())
    for candidate in choice["candidates"]:
        tasks = [
            t
            for name in DEV_ROWS
            for t in json.loads((r / f"sweep/dev/scores/step-{candidate['step']}/dev_{name}.json").read_text())[
                "per_task"
            ]
        ]
        assert candidate["dev_score"] == pytest.approx(sum(t["score"] for t in tasks) / len(tasks))
    best = max(c["dev_score"] for c in choice["candidates"])
    assert choice["chosen"]["dev_score"] == best
    merged = json.loads((r / "model/finetuned/shoplora_model.json").read_text())
    assert merged["chosen_checkpoint"] == choice["chosen"]


def test_sweep_steps_found_after_training_for_epochs(finished_run, tmp_path):
    """Training for epochs, the steps come from the sft_checkpoints checkpoint once training is done."""
    workdir = tmp_path / "work"
    shutil.copytree(finished_run, workdir, symlinks=True, ignore=shutil.ignore_patterns(".snakemake"))
    config_path = workdir / "config/config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["train_sft"].update(max_steps=None, num_train_epochs=1)
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    for name in ("sweep.json", "sweep.csv", "sweep.md"):
        (workdir / "results/sweep" / name).unlink()
    (workdir / "results/sweep/eval/scores/step-4/ranking.json").unlink()
    # Modification times only: the config change would otherwise retrain, which this test is not about.
    proc = run_snakemake(workdir, "results/sweep/sweep.json", "--cores", "2", "--rerun-triggers", "mtime")
    out = proc.stdout + proc.stderr
    assert "checkpoint sft_checkpoints:" in out and "train_sft" not in out
    assert out.count("rule infer_checkpoint:") == 0 and out.count("rule evaluate_checkpoint:") == 1
    assert json.loads((workdir / "results/train/sft/checkpoints.json").read_text()) == {"steps": [2, 4]}
    assert json.loads((workdir / "results/sweep/sweep.json").read_text()) == json.loads(
        (finished_run / "results/sweep/sweep.json").read_text()
    )


@pytest.mark.parametrize("model", ["base", "finetuned"])
def test_one_inference_job_per_model_answers_as_one_job_per_set_did(finished_run, model):
    """The infer job loads the model once and answers all sets in one run; loading it again for
    each set alone (the former one job per set) gives the same prediction records."""
    from shoplora.config.schema import section_defaults
    from shoplora.inference.eval_set import generator_for, predict_eval_set

    config = yaml.safe_load((finished_run / "config/config.yaml").read_text())
    cfg = section_defaults("infer", **config["infer"])
    model_dir = finished_run / "results/model" / model
    for task, path in config["eval_sets"].items():
        alone = generator_for(model_dir, config["base_model"]["template"], cfg)
        expected = predict_eval_set(alone, finished_run / path, f"eval:{task}", cfg)
        assert read_jsonl(finished_run / f"results/predictions/{model}/{task}.jsonl") == expected, task


def test_a_job_given_a_gpu_it_cannot_use_stops_at_once(finished_run, tmp_path):
    """CUDA_VISIBLE_DEVICES names a device this machine does not have: the infer job stops
    before loading anything, naming the job; the same job without a reservation runs on the CPU."""
    workdir = tmp_path / "work"
    shutil.copytree(
        finished_run,
        workdir,
        symlinks=True,
        ignore=shutil.ignore_patterns(".snakemake", "logs", "model", "train", "sweep"),
    )
    for folder in ("model", "train", "sweep"):  # read only; linked, not copied
        (workdir / "results" / folder).symlink_to(finished_run / "results" / folder)
    target = "results/predictions/base/ranking.jsonl"
    proc = run_snakemake(
        workdir, target, "--cores", "1", "--forcerun", "infer", "--rerun-triggers", "mtime",
        check=False, env={"CUDA_VISIBLE_DEVICES": "0"},
    )  # fmt: skip
    assert proc.returncode != 0
    log = (workdir / "logs/infer/base.log").read_text()
    assert "rule infer (model=base): the job reserved gpu=1 but torch.cuda.is_available() is False" in log
    assert "infer:" not in log  # nothing was answered
    assert not (workdir / target).exists()
