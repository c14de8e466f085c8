"""The model card: the Hub's front matter (base model, datasets, `model-index` with the scores)
and a body with the training settings, the metrics table with its intervals, the curation funnel
and the limits of what was measured."""

import yaml

# The ShopBench metric of each task type, as the Hub names metrics (model-index `type`).
HUB_METRIC = {"accuracy": "accuracy", "ndcg": "ndcg", "hit rate@3": "hit_rate_at_3", "micro f1": "f1"}
LORA_KEYS = ("lora_rank", "lora_alpha", "lora_dropout", "lora_target")
TRAIN_KEYS = (
    "learning_rate", "lr_scheduler_type", "warmup_steps", "num_train_epochs", "max_steps",
    "per_device_train_batch_size", "gradient_accumulation_steps", "cutoff_len", "bf16", "fp16", "seed",
)  # fmt: skip


def base_model_id(base_meta):
    """The base model as the Hub names it, or the package/folder it came from."""
    if base_meta["kind"] == "hf":
        return base_meta["hf_id"]
    if base_meta["kind"] == "gguf_package":
        return f"{base_meta['package']} ({base_meta['gguf_file']})"
    return base_meta["path"]


def model_index(name, rows, eval_name="shoplora eval sets"):
    """model-index entries, one per task type and one overall, with the fine-tuned model's scores."""
    results = []
    for row in rows:
        if row["level"] not in ("task_type", "overall") or row.get("finetuned") is None:
            continue
        metric = row.get("metric") or "score"
        label = row["task_type"] if row["level"] == "task_type" else "overall (macro-average over task names)"
        results.append(
            {
                "task": {"type": "text-generation", "name": f"ShopBench {label}"},
                "dataset": {"type": "shopbench", "name": eval_name, "split": "test"},
                "metrics": [
                    {
                        "type": HUB_METRIC.get(metric, "score"),
                        "name": f"{label} ({metric})" if row["level"] == "task_type" else label,
                        "value": round(float(row["finetuned"]), 4),
                        "verified": False,
                    }
                ],
            }
        )
    return [{"name": name, "results": results}]


def _settings_table(settings, keys):
    lines = ["| setting | value |", "| --- | --- |"]
    lines += [f"| {k} | {settings[k]} |" for k in keys if k in settings and settings[k] is not None]
    return "\n".join(lines)


def _scores_table(rows, confidence):
    lines = [
        f"| task type | metric | n | base | fine-tuned | delta [{confidence:.0%} CI] |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        if row["level"] not in ("task_type", "overall"):
            continue
        mark = " *" if str(row.get("significant")).lower() == "true" else ""
        scores = f"{row['base']:.4f} | {row['finetuned']:.4f} | {row['delta']:+.4f}"
        interval = f"[{row['delta_ci_low']:.3f}, {row['delta_ci_high']:.3f}]{mark}"
        lines.append(f"| {row['task_type']} | {row.get('metric') or ''} | {row['n']} | {scores} {interval} |")
    return "\n".join(lines)


def _funnel_table(curation):
    lines = ["| source | rows in | kept | dropped | reasons |", "| --- | --- | --- | --- | --- |"]
    for source, counts in {**curation["per_source"], "total": curation["total"]}.items():
        reasons = ", ".join(f"{k}: {v}" for k, v in sorted(counts["reasons"].items())) or "-"
        lines.append(f"| {source} | {counts['rows_in']} | {counts['kept']} | {counts['dropped']} | {reasons} |")
    return "\n".join(lines)


def _chosen_sentence(chosen):
    if chosen.get("dev_score") is not None:
        score = chosen["dev_score"]
        return f"The checkpoint with the best dev-set score was kept (step {chosen['step']}, score {score:.4f})."
    loss = chosen["eval_loss"]
    return f"The checkpoint with the lowest validation loss was kept (step {chosen['step']}, loss {loss:.4f})."


def render_model_card(facts):
    """facts: name, base (base model meta), datasets (Hub ids or []), sft and pt (their
    LLaMA-Factory settings; pt may be None), chosen (selected checkpoint), summary (summary.json),
    curation (curation_report.json), license (or None), kind ("merged model" or "LoRA adapter")."""
    summary = facts["summary"]
    front = {
        "base_model": facts["base"].get("hf_id") if facts["base"]["kind"] == "hf" else None,
        "library_name": "peft" if facts["kind"] == "LoRA adapter" else "transformers",
        "license": facts.get("license"),
        "tags": ["shoplora", "lora", "llama-factory", "e-commerce", "shopbench"],
        "datasets": facts.get("datasets") or None,
        "model-index": model_index(facts["name"], summary["rows"]),
    }
    front = {k: v for k, v in front.items() if v is not None}
    base, chosen = facts["base"], facts["chosen"]
    commit = f" at commit `{base['commit']}`" if base.get("commit") else ""
    stages = (
        "LoRA post-pretraining on the product corpus, then supervised fine-tuning"
        if facts["pt"]
        else ("supervised fine-tuning")
    )
    parts = [
        "---\n" + yaml.safe_dump(front, sort_keys=False, allow_unicode=True) + "---",
        f"# {facts['name']} ({facts['kind']})",
        f"`{base_model_id(base)}`{commit}, tuned by shoplora for online-shopping "
        f"concepts (Amazon KDD Cup 2024 ShopBench tasks): {stages}, with LLaMA-Factory "
        f"(template `{base['template']}`). {_chosen_sentence(chosen)}",
        "## Scores",
        f"Parsed in **{summary['parse_mode']}** mode, macro-averaged over task names as the KDD Cup kit "
        f"does. Intervals: {summary['confidence']:.0%} paired bootstrap over the eval rows "
        f"({summary['bootstrap_resamples']} resamples); `*`: the delta's interval excludes 0.",
        _scores_table(summary["rows"], summary["confidence"]),
        "## Training",
        "LoRA:\n\n" + _settings_table(facts["sft"], LORA_KEYS),
        "Supervised fine-tuning:\n\n" + _settings_table(facts["sft"], TRAIN_KEYS),
    ]
    if facts["pt"]:
        parts.append("Post-pretraining:\n\n" + _settings_table(facts["pt"], TRAIN_KEYS))
    parts += [
        "## Data",
        "Generated tasks were de-duplicated (ROUGE-L) and null-filtered; every row in is kept or dropped "
        "with a reason:",
        _funnel_table(facts["curation"]),
        "## Limits",
        "- The scores are on the eval sets this run was given, not on the KDD Cup's hidden test set; "
        "with few rows per task type the intervals above are wide.\n"
        "- Generated tasks were checked for structure, duplicates and overlap with the eval sets, "
        "not for whether each answer is right.\n"
        "- Answers were parsed leniently unless the table says strict; the kit's strict parser scores "
        "some answers lower.",
    ]
    return "\n\n".join(parts) + "\n"


def default_name(base_meta):
    """The release's name when release.name is null: the base model's name with -shoplora."""
    if base_meta["kind"] == "hf":
        stem = base_meta["hf_id"].split("/")[-1]
    elif base_meta["kind"] == "gguf_package":
        stem = base_meta["gguf_file"].split(".")[0]  # SmolLM2-135M-Instruct.Q4_1.gguf
    else:
        stem = base_meta["path"].rstrip("/").split("/")[-1]
    return f"{stem}-shoplora"
