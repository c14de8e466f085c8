"""sweep_report: every scored SFT checkpoint's scores beside its training and validation loss.

Scores are aggregated as the metrics table does (a task's score, the mean over a task type's
tasks, and the kit's overall score: the plain mean over task names), each with a bootstrap
interval of that checkpoint alone (uncertainty.bootstrap). The loss-selected checkpoint, the
one select_checkpoint chose and the best-scoring one are named, so a user sees at once whether
the lowest validation loss was also the best model.
"""

import math

import numpy as np
import pandas as pd

from shoplora.evaluation.uncertainty import bootstrap, interval

COLUMNS = ["step", "level", "task_type", "n", "score", "ci_low", "ci_high"]


def _tasks_of(step_scores):
    """{task_name: per-task entry} and {task_name: (metric, rows)} of one checkpoint's eval sets."""
    entries, rows = {}, {}
    for s in step_scores:
        for t in s["per_task"]:
            if t["task_name"] in entries:
                raise ValueError(f"task {t['task_name']!r} is scored twice for {s['model']}")
            entries[t["task_name"]] = t
        for r in s.get("rows", []):
            rows.setdefault(r["task_name"], (r["metric"], []))[1].append(r)
    return entries, rows


def _step_rows(step, step_scores, resamples, seed, confidence):
    entries, rows = _tasks_of(step_scores)
    samples = bootstrap(rows, resamples, seed) if resamples else {}

    def row(level, task_type, names):
        score = sum(entries[n]["score"] for n in names) / len(names)
        low = high = math.nan
        if samples and all(n in samples for n in names):
            low, high = interval(np.mean([samples[n] for n in names], axis=0), confidence)
        return [step, level, task_type, sum(entries[n]["n"] for n in names), score, low, high]

    out = []
    for task_type in sorted({e["task_type"] for e in entries.values()}):
        out.append(row("task_type", task_type, sorted(n for n, e in entries.items() if e["task_type"] == task_type)))
    out.append(row("overall", "macro-average", sorted(entries)))
    return out


def losses_at(trainer_state, steps):
    """{step: {"train_loss", "eval_loss"}}: the validation loss at the step, and the last training
    loss logged at or before it (logging_steps may be coarser than eval_steps); None where absent."""
    history = trainer_state.get("log_history", [])
    train = sorted((e["step"], e["loss"]) for e in history if "loss" in e)
    evals = {e["step"]: e["eval_loss"] for e in history if "eval_loss" in e}
    out = {}
    for step in steps:
        logged = [loss for s, loss in train if s <= step]
        out[step] = {"train_loss": logged[-1] if logged else None, "eval_loss": evals.get(step)}
    return out


def sweep_table(scores, trainer_state, selection, resamples=10_000, seed=0, confidence=0.95):
    """(long frame of COLUMNS, summary dict) from evaluate outputs that carry a `step`.

    selection: select_checkpoint's record (which rule chose which step, and the candidates).
    """
    by_step = {}
    for s in scores:
        by_step.setdefault(int(s["step"]), []).append(s)
    if not by_step:
        raise ValueError("no checkpoint was scored")
    rows = [r for step in sorted(by_step) for r in _step_rows(step, by_step[step], resamples, seed, confidence)]
    frame = pd.DataFrame(rows, columns=COLUMNS)
    overall = frame[frame["level"] == "overall"].set_index("step")["score"]
    losses = losses_at(trainer_state, sorted(by_step))
    evaluated = {step: v["eval_loss"] for step, v in losses.items() if v["eval_loss"] is not None}
    best = max(sorted(overall.index), key=lambda step: overall[step])  # ties: the earlier step
    summary = {
        "steps": sorted(by_step),
        "selected": {"step": selection["chosen"]["step"], "by": selection["by"]},
        "lowest_val_loss_step": min(evaluated, key=lambda s: (evaluated[s], s)) if evaluated else None,
        "best_score_step": int(best),
        "best_score": float(overall[best]),
        "losses": [{"step": step, **values} for step, values in losses.items()],
        "confidence": confidence,
        "bootstrap_resamples": resamples,
    }
    return frame, summary


def _span(low, high):
    return "" if isinstance(low, float) and math.isnan(low) else f" [{low:.3f}, {high:.3f}]"


def _loss(value):
    return "" if value is None else f"{value:.4f}"


def to_markdown(frame, summary):
    """One line per checkpoint: losses, overall and per-task-type scores with intervals, marks."""
    types = sorted(frame.loc[frame["level"] == "task_type", "task_type"].unique())
    header = ["step", "train loss", "val loss", "overall", *types, "marks"]
    lines = [
        f"Every scored SFT checkpoint on the eval sets. Overall: the kit's macro-average over task names; "
        f"[..]: {summary['confidence']:.0%} bootstrap interval of that checkpoint. Selected by "
        f"`{summary['selected']['by']}`: step {summary['selected']['step']}; lowest validation loss: step "
        f"{summary['lowest_val_loss_step']}; best overall score: step {summary['best_score_step']} "
        f"({summary['best_score']:.4f}).",
        "",
        "| " + " | ".join(header) + " |",
        "| " + " | ".join("---" for _ in header) + " |",
    ]
    losses = {entry["step"]: entry for entry in summary["losses"]}
    for step in summary["steps"]:
        rows = frame[frame["step"] == step].set_index("task_type")

        def cell(name, rows=rows):
            if name not in rows.index:
                return ""
            r = rows.loc[name]
            return f"{r['score']:.4f}{_span(r['ci_low'], r['ci_high'])}"

        marks = [
            label
            for label, marked in (
                ("lowest val loss", step == summary["lowest_val_loss_step"]),
                (f"selected ({summary['selected']['by']})", step == summary["selected"]["step"]),
                ("best score", step == summary["best_score_step"]),
            )
            if marked
        ]
        cells = [
            str(step),
            _loss(losses[step]["train_loss"]),
            _loss(losses[step]["eval_loss"]),
            cell("macro-average"),
            *(cell(t) for t in types),
            ", ".join(marks),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
