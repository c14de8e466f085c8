import json
import re

from snakemake.exceptions import WorkflowError

# The Snakefile has put this checkout's src/ on the path.
from shoplora.config.ablations import model_name, owns_curated, uses_pt, variant_sections
from shoplora.config.check import ConfigError, check_config
from shoplora.config.schema import results_only
from shoplora.data.stream import sharded_by_file
from shoplora.generation.prompts import plan_problems
from shoplora.io.paths import matching_files
from shoplora.runtime.device import limit_local_gpu_jobs
from shoplora.tasks.records import TaskFormatError, load_tasks
from shoplora.training.checkpoints import planned_steps
from shoplora.verification.plan import gate_providers
from shoplora.verification.plan import plan_problems as gate_plan_problems

# Validates and fills in the schema's defaults, the one place they live.
try:
    check_config(config)
    problems = plan_problems(config, load_tasks(config["seed_tasks"], "seed")) + gate_plan_problems(config)
except (ConfigError, TaskFormatError) as err:
    raise WorkflowError(str(err))
if problems:
    raise WorkflowError("invalid configuration:\n  " + "\n  ".join(problems))

SOURCES = list(config["corpus"]["sources"])
PROVIDERS = list(config["generation"]["providers"])
TASKS = list(config["eval_sets"])
TASK_SETS = list(config["task_sets"])
MODELS = ["base", "finetuned"]
ABLATIONS = list(config["ablations"])
ABLATION_MODELS = [model_name(name) for name in ABLATIONS]
DEV_SETS = list(config["select_checkpoint"]["dev_sets"])
SWEEP = config["evaluate"]["checkpoints"]  # selected | all | [steps]
# The SFT checkpoints' steps, when max_steps makes them known before training (else None).
PLANNED_STEPS = planned_steps(config["train_sft"])
if isinstance(SWEEP, list) and PLANNED_STEPS is not None and set(SWEEP) - set(PLANNED_STEPS):
    raise WorkflowError(
        f"config key evaluate.checkpoints: train_sft saves no checkpoint at steps "
        f"{sorted(set(SWEEP) - set(PLANNED_STEPS))}; it saves at {PLANNED_STEPS}"
    )

# Rules that take seconds on one CPU: a cluster run runs them where Snakemake runs instead of
# queueing an sbatch job (and a node's minimum reservation) for each.
CHEAP_RULES = [
    "parse_generated",
    "review_sheet",
    "sft_checkpoints",
    "select_checkpoint",
    "select_ablation_checkpoint",
    "check_dev_sets",
    "evaluate",
    "evaluate_checkpoint",
    "metrics_table",
    "sweep_report",
    "ablation_table",
    "report",
]
workflow.localrules(*CHEAP_RULES)

# A local run on a GPU machine never starts more GPU jobs at once than it sees GPUs.
limit_local_gpu_jobs(workflow)

# Rules that reach the internet; on clusters with offline compute nodes they stay on the submit host.
NETWORK_RULES = ["fetch_corpus_source", "download_task_set", "prepare_base_model", "generate", "verify", "release"]
if config["cluster"]["network_rules_on_submit_host"]:
    workflow.localrules(*NETWORK_RULES)


wildcard_constraints:
    source="|".join(map(re.escape, SOURCES)) or "NONE",
    provider="|".join(map(re.escape, PROVIDERS)) or "NONE",
    task_set="|".join(map(re.escape, TASK_SETS)) or "NONE",
    task="|".join(map(re.escape, TASKS + DEV_SETS)),
    model="|".join(map(re.escape, MODELS + ABLATION_MODELS)),
    variant="|".join(map(re.escape, ABLATIONS)) or "NONE",
    split="eval|dev",
    step=r"\d+",
    shard=r"\d+",


def corpus_source(wildcards):
    return config["corpus"]["sources"][wildcards.source]


def local_files(spec):
    """A `file` source's files are inputs (edits re-run it); url and hf sources have none."""
    return matching_files(spec["path"]) if spec["kind"] == "file" else []


def corpus_shard_files(wildcards):
    """The local files a shard reads: its share of them when sharded by file, else all."""
    spec = corpus_source(wildcards)
    files = local_files(spec)
    shards = spec["shards"]
    if sharded_by_file(len(files), shards):
        return files[int(wildcards.shard) :: shards]
    return files


def fetched_manifest(wildcards):
    kind = corpus_source(wildcards)["kind"]
    return f"results/downloads/{wildcards.source}.json" if kind in ("url", "hf") else []


def corpus_shards(wildcards):
    shards = corpus_source(wildcards)["shards"]
    return expand("results/corpus/shards/{source}/{shard}.parquet", source=wildcards.source, shard=range(shards))


def task_set_section(wildcards):
    return config["task_sets"][wildcards.task_set]


def task_set_files(wildcards):
    return local_files(task_set_section(wildcards))


def provider_section(wildcards):
    return {**config["generation"]["providers"][wildcards.provider], "name": wildcards.provider}


def provider_results(wildcards):
    """The provider's keys that change what generate writes; its scripts read the tuning
    keys (concurrency, timeouts, retries...) from the config, so they re-run nothing."""
    return results_only(provider_section(wildcards), "generation", "providers", "*")


def local_model_if_needed(wildcards):
    kind = config["generation"]["providers"][wildcards.provider]["kind"]
    return "results/model/base" if kind == "local" else []


def prompt_templates_of_provider(wildcards):
    mix = config["generation"]["providers"][wildcards.provider]["task_mix"]
    folder = config["generation"]["prompt_templates"]
    return [f"{folder}/{task_type}.txt" for task_type, weight in mix.items() if weight > 0]


def pt_adapter_if_enabled(wildcards):
    return "results/train/pt/adapter" if config["train_pt"]["enabled"] else []


def model_dir(wildcards):
    """base and finetuned live in results/model/, an ablation's model with its variant."""
    if wildcards.model in MODELS:
        return f"results/model/{wildcards.model}"
    return f"results/ablations/{wildcards.model.removeprefix(model_name(''))}/model"


GATE = config["verify"]["enabled"] and bool(PROVIDERS)


def generated_inputs(curate_section):
    """The generated tasks and summaries that curation reads (none with generated_tasks false):
    the tasks the quality gate kept when it is enabled, else the parsed ones."""
    if not curate_section["generated_tasks"]:
        return {"generated": [], "parse_summaries": [], "gate_summaries": []}
    stage = "verified" if GATE else "generated"
    return {
        "generated": expand("results/{stage}/{provider}/tasks.jsonl", stage=stage, provider=PROVIDERS),
        "parse_summaries": expand("results/generated/{provider}/parse_summary.json", provider=PROVIDERS),
        "gate_summaries": expand("results/verified/{provider}/summary.json", provider=PROVIDERS) if GATE else [],
    }


def gate_provider_results(wildcards):
    """The gate providers' keys that change what verify writes (tuning keys re-run nothing)."""
    return {role: results_only(p, "generation", "providers", "*") for role, p in gate_providers(config).items()}


def gate_model_if_needed(wildcards):
    local = any(p["kind"] == "local" for p in gate_providers(config).values())
    return "results/model/base" if local else []


def judge_prompt_files(wildcards):
    mix = config["generation"]["providers"][wildcards.provider]["task_mix"]
    folder = config["verify"]["judge_prompts"]
    return [f"{folder}/{task_type}.txt" for task_type, weight in mix.items() if weight > 0]


def review_verdicts_file(wildcards):
    return config["review"]["verdicts"] or []


def ablation_generated_inputs(wildcards):
    return generated_inputs(variant_sections(config, wildcards.variant)["curate"])


def ablation_curate_results(wildcards):
    return results_only(variant_sections(config, wildcards.variant)["curate"], "curate")


def ablation_sft_data(wildcards):
    """The variant's SFT datasets: its own when it curates differently, else the full recipe's."""
    folder = (
        f"results/ablations/{wildcards.variant}/datasets"
        if owns_curated(config, wildcards.variant)
        else "results/datasets"
    )
    return {
        "info": f"{folder}/dataset_info.json",
        "train": f"{folder}/sft_train.parquet",
        "val": f"{folder}/sft_val.parquet",
    }


def ablation_pt_adapter(wildcards):
    """The full recipe's post-pretraining adapter, shared by every variant that keeps it."""
    return "results/train/pt/adapter" if uses_pt(config, wildcards.variant) else []


def eval_set(wildcards):
    return config["eval_sets"][wildcards.task]


def sft_steps():
    """Every saved SFT checkpoint's step: planned from the config, or (training for epochs)
    read once training has finished, through the sft_checkpoints checkpoint."""
    if PLANNED_STEPS is not None:
        return PLANNED_STEPS
    with open(checkpoints.sft_checkpoints.get().output.steps) as f:
        return json.load(f)["steps"]


def sweep_steps():
    return SWEEP if isinstance(SWEEP, list) else sft_steps()


def sweep_sets(wildcards):
    """{name: file} of the split's sets: the eval sets, or the dev sets."""
    return config["eval_sets"] if wildcards.split == "eval" else config["select_checkpoint"]["dev_sets"]


def sweep_set_files(wildcards):
    return list(sweep_sets(wildcards).values())


def dev_check_if_dev(wildcards):
    """Dev-set jobs wait for the overlap check, so no GPU time is spent on a leaking dev set."""
    return "results/sweep/dev/overlap_check.json" if wildcards.split == "dev" else []


def sweep_eval_scores(wildcards):
    return expand("results/sweep/eval/scores/step-{step}/{task}.json", step=sweep_steps(), task=TASKS)


def selection_inputs(wildcards):
    if config["select_checkpoint"]["by"] != "dev_score":
        return {}
    return {"dev_scores": expand("results/sweep/dev/scores/step-{step}/{task}.json", step=sft_steps(), task=DEV_SETS)}


def loss_curve_inputs(wildcards):
    states = {"sft": "results/train/sft/trainer_state.json"}
    if config["train_pt"]["enabled"]:
        states["pt"] = "results/train/pt/trainer_state.json"
    return states


def release_train_configs(wildcards):
    configs = {"sft_config": "results/train/sft/train_sft.yaml"}
    if config["train_pt"]["enabled"]:
        configs["pt_config"] = "results/train/pt/train_pt.yaml"
    return configs


def all_outputs():
    return (
        [
            "results/metrics/summary.md",
            "results/metrics/summary.csv",
            "results/metrics/summary.json",
            "results/curated/curation_report.json",
            "results/report/loss_pt.png",
            "results/report/loss_sft.png",
            "results/report/scores.png",
        ]
        + (["results/review/sheet.csv"] if GATE else [])
        + (SWEEP_OUTPUTS if SWEEP != "selected" else [])
        + (ABLATION_OUTPUTS if ABLATIONS else [])
    )


SWEEP_OUTPUTS = [
    "results/sweep/sweep.md",
    "results/sweep/sweep.csv",
    "results/sweep/sweep.json",
    "results/report/sweep.png",
]


ABLATION_OUTPUTS = [
    "results/metrics/ablations.md",
    "results/metrics/ablations.csv",
    "results/metrics/ablations.json",
    "results/report/ablations.png",
]
