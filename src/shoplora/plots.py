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
    import numpy as np

    plt = _pyplot()
    rows = table[table["task_type"] != "macro-average"]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(x - 0.2, rows["base"], 0.4, label="base")
    ax.bar(x + 0.2, rows["finetuned"], 0.4, label="fine-tuned")
    ax.set_xticks(x, rows["task_type"], rotation=20, ha="right")
    ax.set_ylabel("score")
    ax.legend()
    _save(plt, fig, out_png)


def placeholder(out_png, message):
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 2))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center")
    _save(plt, fig, out_png)
