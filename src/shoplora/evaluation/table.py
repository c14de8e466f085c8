"""metrics_table: base vs fine-tuned per task type and per task name, and the macro-average."""

import math

import pandas as pd

MODELS = ("base", "finetuned")
EXTRAS = ("bleu4", "rougel")  # the study's extra generation columns
COLUMNS = [
    "level",
    "task_type",
    "task_name",
    "metric",
    "n",
    "base",
    "finetuned",
    "delta",
    "base_parse_failure_rate",
    "finetuned_parse_failure_rate",
] + [f"{m}_{e}" for e in EXTRAS for m in MODELS]


def _pair_by_task(scores):
    """{(task_type, task_name, metric): {model: per-task entry}} from evaluate outputs."""
    tasks = {}
    for s in scores:
        for t in s["per_task"]:
            key = (t["task_type"], t["task_name"], t["metric"])
            if s["model"] in tasks.setdefault(key, {}):
                raise ValueError(f"task {t['task_name']!r} is scored twice for {s['model']}")
            tasks[key][s["model"]] = t
    for (task_type, task_name, _), pair in tasks.items():
        if set(pair) != set(MODELS):
            raise ValueError(
                f"task {task_name!r} ({task_type}): scores for {sorted(pair)} only; need base and finetuned"
            )
    return tasks


def _row(level, task_type, task_name, metric, entries):
    """One table row from the per-task entries it covers: task scores averaged, counts pooled."""
    row = {
        "level": level,
        "task_type": task_type,
        "task_name": task_name,
        "metric": metric,
        "n": sum(e["base"]["n"] for e in entries),
    }
    for m in MODELS:
        row[m] = sum(e[m]["score"] for e in entries) / len(entries)
        row[f"{m}_parse_failure_rate"] = sum(e[m]["parse_failures"] for e in entries) / row["n"]
        for extra in EXTRAS:
            vals = [e[m][extra] for e in entries if extra in e[m]]
            row[f"{m}_{extra}"] = sum(vals) / len(vals) if vals else math.nan
    row["delta"] = row["finetuned"] - row["base"]
    return row


def summary_table(scores):
    """`scores`: evaluate outputs ({model, parse_mode, per_task: [...]}) of both models."""
    tasks = _pair_by_task(scores)
    rows = []
    for task_type in sorted({k[0] for k in tasks}):
        keys = sorted(k for k in tasks if k[0] == task_type)
        entries = [tasks[k] for k in keys]
        metrics = "/".join(sorted({k[2] for k in keys}))
        rows.append(_row("task_type", task_type, "", metrics, entries))
        rows += [_row("task_name", task_type, k[1], k[2], [tasks[k]]) for k in keys]
    if tasks:
        # Official ShopBench: each task's mean, then the average over tasks.
        rows.append(_row("overall", "macro-average", "", "", list(tasks.values())))
    return pd.DataFrame(rows, columns=COLUMNS)


def to_records(frame):
    """Rows for JSON: empty cells (e.g. the generation-only columns elsewhere) become null."""
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


def _cell(v):
    if isinstance(v, float):
        return "" if math.isnan(v) else f"{v:.4f}"
    return str(v)


def _markdown_rows(frame, columns):
    lines = ["| " + " | ".join(columns) + " |", "| " + " | ".join("---" for _ in columns) + " |"]
    for row in frame[columns].itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return lines


def to_markdown(frame, parse_mode):
    main = [c for c in COLUMNS if c != "level" and not c.endswith(EXTRAS)]
    shown = frame.assign(
        task_name=[
            f"**{t}**" if lvl != "task_name" else n
            for lvl, t, n in zip(frame["level"], frame["task_type"], frame["task_name"])
        ]
    )
    lines = [
        f"Answers parsed in **{parse_mode}** mode. Bold rows: per task type (mean over its tasks) "
        "and the macro-average over tasks.",
        "",
    ] + _markdown_rows(shown, main)
    generation = frame[(frame["task_type"] == "generation")]
    if len(generation):
        extra = ["task_type", "task_name"] + [f"{m}_{e}" for e in EXTRAS for m in MODELS]
        lines += ["", "Generation tasks, the study's extra columns (BLEU-4, ROUGE-L):", ""]
        lines += _markdown_rows(generation, extra)
    return "\n".join(lines) + "\n"
