"""LLaMA-Factory YAML for the train_pt, train_sft and merge stages, built from config."""

from pathlib import Path

DEEPSPEED_CONFIG = "shoplora_deepspeed.json"
# Keys shoplora sets itself; anything in a stage's `extra` section is passed through unchanged.
LORA_KEYS = ("lora_rank", "lora_alpha", "lora_dropout", "lora_target")
TRAIN_KEYS = (
    "learning_rate",
    "lr_scheduler_type",
    "warmup_steps",
    "cutoff_len",
    "per_device_train_batch_size",
    "per_device_eval_batch_size",
    "gradient_accumulation_steps",
    "logging_steps",
    "eval_steps",
    "save_steps",
    "max_steps",
    "num_train_epochs",
    "bf16",
    "fp16",
    "seed",
    "report_to",
    "plot_loss",
)


# Each tokenisation worker packs its share of the rows on its own (pre-training concatenates
# texts into blocks and drops the last partial one), so a small set keeps one worker: split
# over many, its few blocks would be lost.
ROWS_PER_TOKENISATION_WORKER = 10_000


def tokenisation_workers(cpus, rows):
    """LLaMA-Factory's preprocessing_num_workers for a job with `cpus` CPUs and a dataset of
    `rows` rows (the smaller of train and validation)."""
    return max(1, min(cpus, rows // ROWS_PER_TOKENISATION_WORKER))


def _common(stage_cfg, model_dir, template, dataset_dir, output_dir, cpus=1, rows=0):
    """cpus: the job's CPUs, for tokenisation (see tokenisation_workers) and the data loader
    (two CPUs stay with the trainer: on a 2-CPU laptop a loader process made SFT steps 5%
    slower). rows: the dataset's rows (the smaller split)."""
    cfg = {
        "model_name_or_path": str(model_dir),
        "template": template,
        "trust_remote_code": False,
        "do_train": True,
        "finetuning_type": "lora",
        "dataset_dir": str(dataset_dir),
        "output_dir": str(output_dir),
        # Resume from the newest checkpoint after preemption instead of starting over.
        "overwrite_output_dir": False,
        "overwrite_cache": True,
        "eval_strategy": "steps",
        "save_strategy": "steps",
        "save_only_model": False,
        "preprocessing_num_workers": tokenisation_workers(cpus, rows),
        "dataloader_num_workers": max(0, cpus - 2),
    }
    cfg.update({k: stage_cfg[k] for k in LORA_KEYS + TRAIN_KEYS if k in stage_cfg})
    if cfg.get("max_steps") is None:  # the schema allows a positive integer or null only
        cfg.pop("max_steps", None)
    # Every evaluated step needs a checkpoint so select_checkpoint can choose any of them.
    cfg["save_steps"] = cfg.get("eval_steps", cfg.get("save_steps"))
    if stage_cfg["deepspeed_stage"]:
        cfg["deepspeed"] = str(Path(output_dir) / DEEPSPEED_CONFIG)
    return cfg


def pt_yaml(stage_cfg, model_dir, template, dataset_dir, output_dir, cpus=1, rows=0):
    cfg = _common(stage_cfg, model_dir, template, dataset_dir, output_dir, cpus, rows)
    cfg.update(stage="pt", dataset="shoplora_pt_train", eval_dataset="shoplora_pt_val")
    cfg.update(stage_cfg["extra"])
    return cfg


def sft_yaml(stage_cfg, model_dir, template, dataset_dir, output_dir, pt_adapter=None, cpus=1, rows=0):
    cfg = _common(stage_cfg, model_dir, template, dataset_dir, output_dir, cpus, rows)
    cfg.update(
        stage="sft",
        dataset="shoplora_sft_train",
        eval_dataset="shoplora_sft_val",
        train_on_prompt=stage_cfg["train_on_prompt"],
    )
    if pt_adapter:
        # Continue training the post-pretraining adapter rather than stacking a new one.
        cfg["adapter_name_or_path"] = str(pt_adapter)
    cfg.update(stage_cfg["extra"])
    return cfg


def export_yaml(model_dir, adapter_dir, template, export_dir, export_size=5, device="cpu"):
    """device: where the job runs, "cuda" or "cpu"; the merge runs on the GPU the job reserved."""
    return {
        "model_name_or_path": str(model_dir),
        "adapter_name_or_path": str(adapter_dir),
        "template": template,
        "finetuning_type": "lora",
        "trust_remote_code": False,
        "export_dir": str(export_dir),
        "export_size": export_size,
        "export_device": "auto" if device == "cuda" else "cpu",
        "export_legacy_format": False,
    }
