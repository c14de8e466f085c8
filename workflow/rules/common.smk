import re

from snakemake.exceptions import WorkflowError

# The Snakefile has put this checkout's src/ on the path.
from shoplora.config.check import ConfigError, check_config

# Validates and fills in the schema's defaults, the one place they live.
try:
    check_config(config)
except ConfigError as err:
    raise WorkflowError(str(err))

SOURCES = list(config["corpus"]["sources"])
PROVIDERS = list(config["generation"]["providers"])
TASKS = list(config["eval_sets"])
TASK_SETS = list(config["task_sets"])
MODELS = ["base", "finetuned"]

# Rules that reach the internet; on clusters with offline compute nodes they stay on the submit host.
NETWORK_RULES = ["download_corpus", "download_task_set", "prepare_base_model", "generate"]
if config["cluster"]["network_rules_on_submit_host"]:
    workflow.localrules(*NETWORK_RULES)


wildcard_constraints:
    source="|".join(map(re.escape, SOURCES)) or "NONE",
    provider="|".join(map(re.escape, PROVIDERS)) or "NONE",
    task_set="|".join(map(re.escape, TASK_SETS)) or "NONE",
    task="|".join(map(re.escape, TASKS)),
    model="base|finetuned",


def corpus_source(wildcards):
    return config["corpus"]["sources"][wildcards.source]


def local_files(spec):
    """A `file` source's files are inputs (edits re-run it); url and hf sources have none."""
    import glob

    return sorted(glob.glob(spec["path"])) if spec["kind"] == "file" else []


def corpus_files(wildcards):
    return local_files(corpus_source(wildcards))


def task_set_section(wildcards):
    return config["task_sets"][wildcards.task_set]


def task_set_files(wildcards):
    return local_files(task_set_section(wildcards))


def provider_section(wildcards):
    return {**config["generation"]["providers"][wildcards.provider], "name": wildcards.provider}


def local_model_if_needed(wildcards):
    kind = config["generation"]["providers"][wildcards.provider]["kind"]
    return "results/model/base" if kind == "local" else []


def prompt_templates_of_provider(wildcards):
    mix = config["generation"]["providers"][wildcards.provider]["task_mix"]
    folder = config["generation"]["prompt_templates"]
    return [f"{folder}/{task_type}.txt" for task_type, weight in mix.items() if weight > 0]


def pt_adapter_if_enabled(wildcards):
    return "results/train/pt/adapter" if config["train_pt"]["enabled"] else []


def eval_set(wildcards):
    return config["eval_sets"][wildcards.task]


def loss_curve_inputs(wildcards):
    states = {"sft": "results/train/sft/trainer_state.json"}
    if config["train_pt"]["enabled"]:
        states["pt"] = "results/train/pt/trainer_state.json"
    return states


def all_outputs():
    return [
        "results/metrics/summary.md",
        "results/metrics/summary.csv",
        "results/metrics/summary.json",
        "results/curated/curation_report.json",
        "results/report/loss_pt.png",
        "results/report/loss_sft.png",
        "results/report/scores.png",
    ]
