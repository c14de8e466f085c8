"""report: train and validation loss curves with the chosen checkpoint marked."""

import json
from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display on cluster nodes
    import matplotlib.pyplot as plt

    return plt


def _save(plt, fig, out_png):
    fig.tight_layout()
    fig.savefig(out_png, dpi=100)
    plt.close(fig)


def loss_curves(trainer_state_path, out_png, title, chosen_step=None):
    plt = _pyplot()
    history = json.loads(Path(trainer_state_path).read_text()).get("log_history", [])
    train = [(e["step"], e["loss"]) for e in history if "loss" in e]
    val = [(e["step"], e["eval_loss"]) for e in history if "eval_loss" in e]
    fig, ax = plt.subplots(figsize=(6, 4))
    if train:
        ax.plot(*zip(*train), label="train loss")
    if val:
        ax.plot(*zip(*val), marker="o", label="validation loss")
    if chosen_step is not None:
        ax.axvline(chosen_step, color="red", linestyle="--", label=f"chosen checkpoint (step {chosen_step})")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title(title)
    ax.legend()
    _save(plt, fig, out_png)


def score_bars(table, out_png):
    """Base vs fine-tuned bars: per task type on top, per task name below."""
    import numpy as np

    plt = _pyplot()
    panels = [
        (table[table["level"] == "task_type"], "task_type", "per task type"),
        (table[table["level"] == "task_name"], "task_name", "per task"),
    ]
    fig, axes = plt.subplots(2, 1, figsize=(max(7, 0.45 * len(panels[1][0])), 8))
    for ax, (rows, label, title) in zip(axes, panels):
        x = np.arange(len(rows))
        for offset, model, name in ((-0.2, "base", "base"), (0.2, "finetuned", "fine-tuned")):
            ax.bar(x + offset, rows[model], 0.4, label=name, yerr=_error_bars(rows, model), capsize=2)
        ax.set_xticks(x, rows[label], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel("score")
        ax.set_title(title)
        ax.legend()
    _save(plt, fig, out_png)


def _error_bars(rows, model):
    """Distances from the score to its confidence interval's ends, or None without intervals."""
    low, high = rows.get(f"{model}_ci_low"), rows.get(f"{model}_ci_high")
    if low is None or low.isna().all():
        return None
    scores = rows[model].astype(float)
    return [(scores - low.astype(float)).clip(lower=0).fillna(0), (high.astype(float) - scores).clip(lower=0).fillna(0)]


def placeholder(out_png, message):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    _save(plt, fig, out_png)


def sweep_figure(frame, summary, trainer_state_path, out_png):
    """Score against step (overall with its interval, each task type) above the training and
    validation loss on the same step axis; the loss-selected and best-scoring steps marked."""
    plt = _pyplot()
    history = json.loads(Path(trainer_state_path).read_text()).get("log_history", [])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 7), sharex=True, height_ratios=[3, 2])
    overall = frame[frame["level"] == "overall"].sort_values("step")
    top.plot(overall["step"], overall["score"], marker="o", color="black", linewidth=2, label="overall (kit)")
    if not overall["ci_low"].isna().all():
        top.fill_between(overall["step"], overall["ci_low"], overall["ci_high"], color="black", alpha=0.12)
    for task_type, rows in frame[frame["level"] == "task_type"].groupby("task_type"):
        rows = rows.sort_values("step")
        top.plot(rows["step"], rows["score"], marker=".", linewidth=1, alpha=0.8, label=task_type)
    best = summary["best_score_step"]
    top.plot(
        [best], [summary["best_score"]], "*", markersize=16, color="gold", markeredgecolor="black",
        label=f"best overall score (step {best})",
    )  # fmt: skip
    top.set_ylabel("score")
    top.set_title("Checkpoint sweep: scores on the eval sets and training losses")
    top.legend(fontsize=7, loc="best")
    train = [(e["step"], e["loss"]) for e in history if "loss" in e]
    val = [(e["step"], e["eval_loss"]) for e in history if "eval_loss" in e]
    if train:
        bottom.plot(*zip(*train), label="train loss")
    if val:
        bottom.plot(*zip(*val), marker="o", label="validation loss")
    bottom.set_xlabel("step")
    bottom.set_ylabel("loss")
    lowest, chosen, by = summary["lowest_val_loss_step"], summary["selected"]["step"], summary["selected"]["by"]
    for ax in (top, bottom):
        named = ax is bottom  # each line once in the legends
        if lowest is not None:
            ax.axvline(lowest, color="red", linestyle="--", label=f"lowest val loss (step {lowest})" if named else None)
        if by != "val_loss":
            label = f"selected by {by} (step {chosen})" if named else None
            ax.axvline(chosen, color="blue", linestyle=":", label=label)
    bottom.legend(fontsize=7, loc="best")
    _save(plt, fig, out_png)


def ablation_bars(table, out_png):
    """Each variant's difference to the full recipe, per task type and overall, with its interval."""
    import numpy as np

    plt = _pyplot()
    variants = list(dict.fromkeys(table["variant"]))
    groups = list(dict.fromkeys(table["task_type"]))
    width = 0.8 / max(1, len(variants))
    fig, ax = plt.subplots(figsize=(max(7, 1.2 * len(groups)), 4.5))
    x = np.arange(len(groups))
    for i, variant in enumerate(variants):
        rows = table[table["variant"] == variant].set_index("task_type").reindex(groups)
        offset = (i - (len(variants) - 1) / 2) * width
        ax.bar(x + offset, rows["delta"], width, yerr=_error_bars(rows, "delta"), capsize=2, label=variant)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(x, groups, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("variant minus full recipe")
    ax.set_title("Ablations: what removing each stage costs")
    ax.legend(fontsize=8)
    _save(plt, fig, out_png)
